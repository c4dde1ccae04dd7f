package submission

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/emersion/go-smtp"
)

// errNoRelay: submission.relay is empty. Postfix answers a
// configuration error the same way ("451 4.3.5 Server configuration
// error"): temporary, so the client keeps the message.
var errNoRelay = &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 5},
	Message: "Submission is not configured: no relay (set [submission] relay); message not accepted"}

// dialRelay opens an SMTP session with the smarthost: EHLO as our host
// name, then STARTTLS as RelayTLS says (RFC 3207).
func (s *Server) dialRelay(ctx context.Context) (*smtp.Client, net.Conn, error) {
	if s.cfg.Relay == "" {
		return nil, nil, errNoRelay
	}
	d := net.Dialer{Timeout: 30 * time.Second}
	nc, err := d.DialContext(ctx, "tcp", s.cfg.Relay)
	if err != nil {
		return nil, nil, relayUnavailable(err)
	}
	// A relay that accepts but does not answer is given up when ctx
	// ends (the session's, or a probe's on Close), not only after
	// RelayTimeout.
	stop := context.AfterFunc(ctx, func() { nc.Close() })
	defer stop()
	c := smtp.NewClient(nc)
	c.CommandTimeout = s.cfg.RelayTimeout
	c.SubmissionTimeout = s.cfg.RelayTimeout
	if err := c.Hello(s.cfg.Hostname); err != nil {
		c.Close()
		return nil, nil, relayError(err)
	}
	mode := s.cfg.RelayTLS
	if mode != "none" {
		if ok, _ := c.Extension("STARTTLS"); ok {
			tc := &tls.Config{}
			if s.cfg.RelayTLSConfig != nil {
				tc = s.cfg.RelayTLSConfig.Clone()
			}
			if tc.ServerName == "" {
				tc.ServerName, _, _ = net.SplitHostPort(s.cfg.Relay)
			}
			// "may" and "encrypt" encrypt without authenticating the
			// relay (Postfix's levels of the same names).
			tc.InsecureSkipVerify = mode != "verify"
			if err := c.StartTLS(tc); err != nil {
				c.Close()
				return nil, nil, relayUnavailable(fmt.Errorf("STARTTLS: %w", err))
			}
		} else if mode == "encrypt" || mode == "verify" {
			c.Close()
			return nil, nil, relayUnavailable(errors.New("the relay does not offer STARTTLS (submission.relay_tls = " + mode + ")"))
		}
	}
	return c, nc, nil
}

// relayUnavailable is a failure to reach the relay: temporary
// (RFC 3463 X.4.1 "No answer from host", as Dovecot's "4.4.0 Failed to
// establish relay connection").
func relayUnavailable(err error) error {
	return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 4, 1},
		Message: "Relay unavailable: " + err.Error()}
}

// relayError passes an error of the relay back to the client: an SMTP
// reply with its code and text (RFC 6409 §5: the MSA reports the
// relay's refusal), anything else (a lost connection, a timeout) as a
// temporary failure.
func relayError(err error) error {
	var se *smtp.SMTPError
	if errors.As(err, &se) {
		e := *se
		if e.EnhancedCode == smtp.NoEnhancedCode {
			e.EnhancedCode = smtp.EnhancedCodeNotSet // go-smtp then sends X.0.0
		}
		return &e
	}
	return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 4, 2},
		Message: "Relay connection failed: " + err.Error()}
}

// relayOK is the relay's 250 after the message, passed back to the
// client as it is (e.g. "2.0.0 Ok: queued as 4ZfR…"). go-smtp sends a
// Data error's code and text unchanged, so a 250 travels that way.
func relayOK(text string) error {
	code := smtp.EnhancedCode{2, 0, 0}
	if f, rest, ok := strings.Cut(text, " "); ok {
		if ec, ok := parseEnhanced(f); ok && ec[0] == 2 {
			code, text = ec, rest
		}
	}
	return &smtp.SMTPError{Code: 250, EnhancedCode: code, Message: text}
}

func parseEnhanced(s string) (smtp.EnhancedCode, bool) {
	p := strings.Split(s, ".")
	if len(p) != 3 {
		return smtp.EnhancedCode{}, false
	}
	var ec smtp.EnhancedCode
	for i, x := range p {
		n, err := strconv.Atoi(x)
		if err != nil || n < 0 || n > 999 {
			return smtp.EnhancedCode{}, false
		}
		ec[i] = n
	}
	return ec, true
}
