package smtp

import (
	"io"

	"github.com/emersion/go-sasl"
)

var (
	ErrAuthFailed = &SMTPError{
		Code:         535,
		EnhancedCode: EnhancedCode{5, 7, 8},
		Message:      "Authentication failed",
	}
	ErrAuthRequired = &SMTPError{
		Code:         502,
		EnhancedCode: EnhancedCode{5, 7, 0},
		Message:      "Please authenticate first",
	}
	ErrAuthUnsupported = &SMTPError{
		Code:         502,
		EnhancedCode: EnhancedCode{5, 7, 0},
		Message:      "Authentication not supported",
	}
	ErrAuthUnknownMechanism = &SMTPError{
		Code:         504,
		EnhancedCode: EnhancedCode{5, 7, 4},
		Message:      "Unsupported authentication mechanism",
	}
)

// A SMTP server backend.
type Backend interface {
	NewSession(c *Conn) (Session, error)
}

// BackendFunc is an adapter to allow the use of an ordinary function as a
// Backend.
type BackendFunc func(c *Conn) (Session, error)

var _ Backend = (BackendFunc)(nil)

// NewSession calls f(c).
func (f BackendFunc) NewSession(c *Conn) (Session, error) {
	return f(c)
}

// Session is used by servers to respond to an SMTP client.
//
// The methods are called when the remote client issues the matching command.
type Session interface {
	// Discard currently processed message.
	Reset()

	// Free all resources associated with session.
	Logout() error

	// Set return path for currently processed message.
	Mail(from string, opts *MailOptions) error
	// Add recipient for currently processed message.
	Rcpt(to string, opts *RcptOptions) error
	// Set currently processed message contents and send it.
	//
	// r must be consumed before Data returns.
	Data(r io.Reader) error
}

// LMTPSession is an add-on interface for Session. It can be implemented by
// LMTP servers to provide extra functionality.
type LMTPSession interface {
	Session

	// LMTPData is the LMTP-specific version of Data method.
	// It can be optionally implemented by the backend to provide
	// per-recipient status information when it is used over LMTP
	// protocol.
	//
	// LMTPData implementation sets status information using passed
	// StatusCollector by calling SetStatus once per each AddRcpt
	// call, even if AddRcpt was called multiple times with
	// the same argument. SetStatus must not be called after
	// LMTPData returns.
	//
	// Return value of LMTPData itself is used as a status for
	// recipients that got no status set before using StatusCollector.
	LMTPData(r io.Reader, status StatusCollector) error
}

// StatusCollector allows a backend to provide per-recipient status
// information.
type StatusCollector interface {
	SetStatus(rcptTo string, err error)
}

// AuthSession is an add-on interface for Session. It provides support for the
// AUTH extension.
type AuthSession interface {
	Session

	AuthMechanisms() []string
	Auth(mech string) (sasl.Server, error)
}

// BARID: the add-on interfaces below are barid's extension of
// go-smtp v0.25.1 for its submission server (see BARID.md).

// EHLOSession is an add-on interface for Session. Keywords returns extra
// EHLO keywords (with their parameters) to announce after the built-in
// ones; it is called for every EHLO, so the list may change with the
// session's state (RFC 4468 §3: BURL's parameters change after AUTH).
type EHLOSession interface {
	Session

	EHLOKeywords() []string
}

// EHLOFilterSession is an add-on interface for Session. FilterEHLO gets
// the built-in EHLO keywords (PIPELINING, 8BITMIME, SIZE, DSN, ... with
// their parameters, before EHLOKeywords' are appended) and returns the
// ones to announce: it may drop keywords or change their parameters.
// It is called for every EHLO. barid's submission server announces only
// what its relay can carry (8BITMIME, SMTPUTF8, DSN, the smaller SIZE).
// Dropping a keyword does not make MAIL or RCPT refuse its parameters:
// the Session does that in Mail and Rcpt.
type EHLOFilterSession interface {
	Session

	FilterEHLO(keywords []string) []string
}

// BURLSession is an add-on interface for Session. It provides the BURL
// command of RFC 4468 (message submission from a URL): each BURL adds the
// content a URL names to the message as one chunk, like BDAT (RFC 3030),
// and BURL and BDAT chunks may be mixed in one transaction.
type BURLSession interface {
	Session

	// ParseBURL parses the argument of a BURL command (RFC 4468 §3.3:
	// absolute-URI [SP end-marker]). An error is a syntax error: it is
	// sent (an *SMTPError as it is, otherwise as 501 5.5.4) and the
	// transaction is left as it was.
	ParseBURL(arg string) (url string, last bool, err error)
	// BURL fetches what url names. The Conn reads r to its end (size
	// bytes, checked against MaxMessageBytes first) into the message
	// and closes it. An error (an *SMTPError is sent as it is, anything
	// else as 554 5.6.6) fails the message transfer: the transaction is
	// reset, as after a failed BDAT chunk.
	BURL(url string) (r io.ReadCloser, size int64, err error)
}
