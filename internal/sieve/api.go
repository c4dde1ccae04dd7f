package sieve

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Default limits (Options fields left at zero take these).
const (
	DefaultMaxScriptSize   = 1 << 20 // bytes; Pigeonhole's sieve_max_script_size default is 1M
	DefaultMaxActions      = 32      // Pigeonhole sieve_max_actions
	DefaultMaxRedirects    = 4       // Pigeonhole sieve_max_redirects
	DefaultMaxIncludeDepth = 10      // Pigeonhole sieve_include max_nesting_depth
	DefaultCPUTime         = 30 * time.Second
	DefaultMaxNesting      = 32 // block/test nesting depth
	DefaultMaxIncludes     = 255
	DefaultMaxVariableSize = 4096
	// DefaultMaxNotifications bounds the recipients of notify actions in
	// one run (RFC 5435 §8: it must be possible to limit them);
	// Pigeonhole allows 8 recipients to one mailto URI.
	DefaultMaxNotifications = 8
)

// Named limit errors. A CompileError or RuntimeError wraps one of these
// (errors.Is) when a limit was the cause.
var (
	ErrScriptTooLarge       = errors.New("sieve: script exceeds max_script_size")
	ErrTooManyActions       = errors.New("sieve: script exceeds max_actions")
	ErrTooManyRedirects     = errors.New("sieve: script exceeds max_redirects")
	ErrIncludeTooDeep       = errors.New("sieve: include exceeds max_include_depth")
	ErrCPUTime              = errors.New("sieve: script exceeds cpu_time")
	ErrNestingTooDeep       = errors.New("sieve: script exceeds max_nesting_depth")
	ErrTooManyIncludes      = errors.New("sieve: script exceeds max_includes")
	ErrIncludeLoop          = errors.New("sieve: include loop")
	ErrActionConflict       = errors.New("sieve: conflicting actions")
	ErrMissingIncludeLoader = errors.New("sieve: include without a script loader")
	ErrTooManyNotifications = errors.New("sieve: script exceeds max_notifications")
)

// Options are the limits and the enabled extensions of a compilation.
// Zero values take the defaults above.
type Options struct {
	MaxScriptSize   int           // bytes of one script (ErrScriptTooLarge)
	MaxActions      int           // actions in one result (ErrTooManyActions)
	MaxRedirects    int           // redirect actions in one result (ErrTooManyRedirects)
	MaxIncludeDepth int           // nesting of include (ErrIncludeTooDeep)
	CPUTime         time.Duration // wall-clock budget of one Execute (ErrCPUTime)
	// Extensions are the enabled capability names; nil = all supported.
	Extensions []string
	// MaxNestingDepth bounds block and test nesting (ErrNestingTooDeep).
	MaxNestingDepth int
	// SpamHeader and VirusHeader name the headers spamtest and virustest
	// read (RFC 5235 §3). Empty: "X-Spam-Score" and "X-Virus-Score".
	SpamHeader, VirusHeader string
	// MaxVariableSize bounds the value of one variable in bytes; longer
	// values are cut (RFC 5229 §6 allows this; Pigeonhole's
	// sieve_variables_max_variable_size, default 4096).
	MaxVariableSize int
	// SpamMax is the score that means "definitely spam" for spamtest
	// (the header holds a number 0..SpamMax). Zero: 10.
	SpamMax float64
	// VirusMax is the score of "definitely infected" for virustest.
	// Zero: 5.
	VirusMax float64
	// MaxNotifications bounds the recipients of all notify actions of
	// one run (ErrTooManyNotifications; RFC 5435 §8).
	MaxNotifications int
}

func (o Options) withDefaults() Options {
	if o.MaxScriptSize <= 0 {
		o.MaxScriptSize = DefaultMaxScriptSize
	}
	if o.MaxActions <= 0 {
		o.MaxActions = DefaultMaxActions
	}
	if o.MaxRedirects <= 0 {
		o.MaxRedirects = DefaultMaxRedirects
	}
	if o.MaxIncludeDepth <= 0 {
		o.MaxIncludeDepth = DefaultMaxIncludeDepth
	}
	if o.CPUTime <= 0 {
		o.CPUTime = DefaultCPUTime
	}
	if o.MaxNestingDepth <= 0 {
		o.MaxNestingDepth = DefaultMaxNesting
	}
	if o.MaxVariableSize <= 0 {
		o.MaxVariableSize = DefaultMaxVariableSize
	}
	if o.SpamHeader == "" {
		o.SpamHeader = "X-Spam-Score"
	}
	if o.VirusHeader == "" {
		o.VirusHeader = "X-Virus-Score"
	}
	if o.SpamMax <= 0 {
		o.SpamMax = 10
	}
	if o.VirusMax <= 0 {
		o.VirusMax = 5
	}
	if o.MaxNotifications <= 0 {
		o.MaxNotifications = DefaultMaxNotifications
	}
	return o
}

// IncludeLoader returns the source of a script for include (RFC 6609):
// a personal script when global is false, else a global one. It returns
// an error wrapping fs.ErrNotExist when there is no such script.
type IncludeLoader func(name string, global bool) ([]byte, error)

// Diag is one compile error at a 1-based line and column.
type Diag struct {
	Line, Col int
	Msg       string
	Err       error // a named limit error, or nil
}

// CompileError lists the errors of a script that did not compile.
type CompileError struct {
	Name   string
	Errors []Diag
}

func (e *CompileError) Error() string {
	var b strings.Builder
	for i, d := range e.Errors {
		if i > 0 {
			b.WriteString("\n")
		}
		fmt.Fprintf(&b, "%s: line %d: error: %s", e.Name, d.Line, d.Msg)
	}
	return b.String()
}

// Unwrap gives the named limit errors among the diagnostics.
func (e *CompileError) Unwrap() []error {
	var errs []error
	for _, d := range e.Errors {
		if d.Err != nil {
			errs = append(errs, d.Err)
		}
	}
	return errs
}

// RuntimeError is a failure while executing a script: the result then
// falls back to an implicit keep (RFC 5228 §2.10.6).
type RuntimeError struct {
	Script string
	Line   int
	Msg    string
	Err    error
}

func (e *RuntimeError) Error() string {
	return fmt.Sprintf("%s: line %d: runtime error: %s", e.Script, e.Line, e.Msg)
}
func (e *RuntimeError) Unwrap() error { return e.Err }

// Envelope is the SMTP/LMTP envelope of the message for one recipient.
type Envelope struct {
	From   string // reverse-path; "" is the null sender
	To     string // the recipient, may carry +detail
	OrigTo string // ORCPT if known
	Auth   string // authenticated submitter, if any
}

// Message is the message being delivered.
type Message interface {
	// Header returns the raw unfolded values of every field with that
	// name (case-insensitive), in order.
	Header(name string) []string
	Size() int64
	Raw() ([]byte, error)
}

// Env is everything Execute needs besides the script.
type Env struct {
	Envelope Envelope
	Msg      Message
	Now      time.Time
	// MailboxExists answers mailboxexists and fileinto :create checks.
	MailboxExists func(name string) bool
	// SpecialUseExists tells whether a mailbox with a special-use flag
	// (RFC 6154, e.g. "\\Junk") exists; optional.
	SpecialUseExists func(use string) bool
	// UserAddresses are the user's own addresses (vacation :addresses
	// is added to them).
	UserAddresses []string
	// Location is the "location" environment item ("MDA").
	Location string
	// Duplicate answers the duplicate test (RFC 7352): it reports
	// whether id was recorded within period. It must not record it:
	// Result.Duplicates lists the ids to record after a successful
	// delivery. Optional: nil means never a duplicate.
	Duplicate func(id string, period time.Duration) bool
}

// Result is what a script decided.
type Result struct {
	Actions []Action
	// ImplicitKeep is true when the message must also be filed into
	// INBOX because no action cancelled the implicit keep.
	ImplicitKeep bool
	// KeepFlags are the flags for the implicit keep (imap4flags).
	KeepFlags []string
	// EditedHeader, when not nil, is the message header after editheader
	// (RFC 5293) changes, to be stored instead of the original header
	// (with the blank line that ends it).
	EditedHeader []byte
	// Message, when not nil, is the whole message replace or enclose
	// (RFC 5703 §5-6) made, header edits included, to be stored
	// instead of the delivered one (EditedHeader is then nil).
	Message []byte
	// Duplicates are the ids the duplicate test looked up, to record
	// when the delivery succeeded (RFC 7352 §3).
	Duplicates []DuplicateMark
}

// Action is one thing a script asked for.
type Action interface{ isAction() }

// Keep files the message into INBOX (RFC 5228 §4.3).
type Keep struct{ Flags []string }

// FileInto files the message into a mailbox (RFC 5228 §4.1).
type FileInto struct {
	Mailbox    string
	Create     bool // :create (RFC 5490 §3.2)
	Copy       bool // :copy (RFC 3894)
	Flags      []string
	SpecialUse string // :specialuse (RFC 8579)
}

// Redirect forwards the message (RFC 5228 §4.2).
type Redirect struct {
	Address string
	Copy    bool
	// Message, when not nil, is the message replace (RFC 5703 §5) made
	// before the redirect ran, to send instead of the delivered one.
	Message []byte
}

// Discard drops the message silently (RFC 5228 §4.4).
type Discard struct{}

// Reject refuses the message (RFC 5429); Extended is ereject.
type Reject struct {
	Reason   string
	Extended bool
}

// Vacation is an auto-reply request (RFC 5230). The caller decides
// whether to send it (ShouldAutoReply and the per-sender period).
type Vacation struct {
	Handle    string
	Period    time.Duration
	Subject   string
	From      string
	Reason    string
	Mime      bool
	Addresses []string
}

func (Keep) isAction()     {}
func (FileInto) isAction() {}
func (Redirect) isAction() {}
func (Discard) isAction()  {}
func (Reject) isAction()   {}
func (Vacation) isAction() {}
