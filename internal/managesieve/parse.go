package managesieve

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// ArgKind tells a command argument's form.
type ArgKind uint8

const (
	ArgAtom   ArgKind = iota + 1 // a bare word (command names are atoms)
	ArgString                    // quoted or literal (RFC 5804 §4 "string")
	ArgNumber                    // number (RFC 5804 §4: 0..4294967295)
)

// Arg is one argument of a command.
type Arg struct {
	Kind ArgKind
	Str  string // atom text or string contents
	Num  uint32
}

// Command is one parsed client command: its name (upper-cased) and
// arguments.
type Command struct {
	Name string
	Args []Arg
}

// MaxQuoted is the RFC 5804 §4 limit on a quoted string (1024 octets,
// errata 2655). Longer text must be sent as a literal.
const MaxQuoted = 1024

// SyntaxError is a malformed command; the reader has skipped the rest
// of the line, so the session can answer NO and go on.
type SyntaxError struct {
	Msg string
	eol bool // the line end was consumed already: skip nothing
}

func (e *SyntaxError) Error() string { return e.Msg }

// LimitError is a named limit reached by a command (line_length, or a
// literal over its limit whose bytes were skipped). Fatal means the
// connection cannot be kept in step and must end with BYE.
type LimitError struct {
	Limit string // config key
	Fatal bool
	Msg   string
}

func (e *LimitError) Error() string { return e.Msg }

// Reader reads commands from a client. It never writes: a literal is
// accepted without a continuation whether it is {n} or {n+} (RFC 5804
// §4 literal-c2s is "{n+}"; clients that send "{n}" and do not wait,
// like sieve-connect, are served the same).
type Reader struct {
	br *bufio.Reader
	// MaxLine bounds the bytes of one command outside literals
	// ([limits] line_length).
	MaxLine int
	// MaxLiteral bounds one literal ([sieve] max_script_size). A larger
	// literal of at most MaxSkip bytes is read and dropped, and the
	// command fails with a LimitError; a larger one still is fatal.
	MaxLiteral int64
	// LiteralLimit names MaxLiteral's config key.
	LiteralLimit string
	// MaxSkip is [limits] literal_size.
	MaxSkip int64

	n int // bytes of the current command outside literals
}

// NewReader returns a Reader on br with the given limits.
func NewReader(br *bufio.Reader, maxLine int, maxLiteral int64, literalLimit string, maxSkip int64) *Reader {
	return &Reader{br: br, MaxLine: maxLine, MaxLiteral: maxLiteral, LiteralLimit: literalLimit, MaxSkip: maxSkip}
}

// Reset points the reader at a new buffer (after STARTTLS).
func (r *Reader) Reset(br *bufio.Reader) { r.br = br }

// ReadCommand reads one command up to its CRLF. I/O errors are returned
// as they are; a *SyntaxError or non-fatal *LimitError leaves the reader
// at the start of the next command.
func (r *Reader) ReadCommand() (*Command, error) {
	var name string
	for name == "" {
		r.n = 0
		var err error
		if name, err = r.atom(); err != nil {
			return nil, r.fail(err)
		}
		if name == "" {
			// An empty line: nothing to do (Dovecot ignores it
			// too); anything else is not a command.
			if err := r.expectEOL(); err != nil {
				return nil, r.fail(err)
			}
		}
	}
	cmd := &Command{Name: strings.ToUpper(name)}
	for {
		c, err := r.peek()
		if err != nil {
			return nil, err
		}
		if c == '\r' || c == '\n' {
			if err := r.expectEOL(); err != nil {
				return nil, r.fail(err)
			}
			return cmd, nil
		}
		if c != ' ' {
			return nil, r.fail(&SyntaxError{Msg: fmt.Sprintf("Expected a space, got %q", c)})
		}
		r.next()
		for {
			// Tolerate several spaces, as Dovecot does.
			c, err = r.peek()
			if err != nil {
				return nil, err
			}
			if c != ' ' {
				break
			}
			r.next()
		}
		if c == '\r' || c == '\n' {
			continue
		}
		a, err := r.arg()
		if err != nil {
			return nil, r.fail(err)
		}
		cmd.Args = append(cmd.Args, a)
	}
}

// ReadResponse reads one SASL client response line (RFC 5804 §2.1): a
// string, or "*" (quoted or bare) to cancel. ok false means cancelled.
func (r *Reader) ReadResponse() (resp string, ok bool, err error) {
	r.n = 0
	c, err := r.peek()
	if err != nil {
		return "", false, err
	}
	var a Arg
	if c == '*' {
		r.next()
		a = Arg{Kind: ArgAtom, Str: "*"}
	} else if a, err = r.arg(); err != nil {
		return "", false, r.fail(err)
	}
	if err := r.expectEOL(); err != nil {
		return "", false, r.fail(err)
	}
	if a.Str == "*" && a.Kind != ArgNumber {
		return "", false, nil
	}
	if a.Kind != ArgString {
		return "", false, &SyntaxError{Msg: "Expected a string"}
	}
	return a.Str, true, nil
}

// fail skips the rest of the line after a recoverable error.
func (r *Reader) fail(err error) error {
	var se *SyntaxError
	var le *LimitError
	if (errors.As(err, &se) && !se.eol) || (errors.As(err, &le) && !le.Fatal) {
		if serr := r.skipLine(); serr != nil {
			return serr
		}
	}
	return err
}

func (r *Reader) peek() (byte, error) {
	b, err := r.br.Peek(1)
	if err != nil {
		return 0, err
	}
	return b[0], nil
}

func (r *Reader) next() (byte, error) {
	c, err := r.br.ReadByte()
	if err != nil {
		return 0, err
	}
	r.n++
	if r.MaxLine > 0 && r.n > r.MaxLine {
		return 0, &LimitError{Limit: "limits.line_length", Msg: "Command line exceeds limits.line_length"}
	}
	return c, nil
}

// skipLine drops bytes up to and including the next LF, without limit
// on the length (a bounded buffer is reused).
func (r *Reader) skipLine() error {
	for {
		_, err := r.br.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			continue
		}
		return err
	}
}

func (r *Reader) expectEOL() error {
	c, err := r.next()
	if err != nil {
		return err
	}
	if c == '\r' {
		if c, err = r.next(); err != nil {
			return err
		}
	}
	if c != '\n' {
		return &SyntaxError{Msg: "Expected end of line"}
	}
	r.n = 0
	return nil
}

func isAtomChar(c byte) bool {
	return c > ' ' && c < 0x7f && c != '"' && c != '{' && c != '}' && c != '(' && c != ')'
}

func (r *Reader) atom() (string, error) {
	var sb strings.Builder
	for {
		c, err := r.peek()
		if err != nil {
			if sb.Len() > 0 && err == io.EOF {
				return "", io.ErrUnexpectedEOF
			}
			return "", err
		}
		if !isAtomChar(c) {
			return sb.String(), nil
		}
		if _, err := r.next(); err != nil {
			return "", err
		}
		sb.WriteByte(c)
	}
}

func (r *Reader) arg() (Arg, error) {
	c, err := r.peek()
	if err != nil {
		return Arg{}, err
	}
	switch {
	case c == '"':
		s, err := r.quoted()
		return Arg{Kind: ArgString, Str: s}, err
	case c == '{':
		s, err := r.literal()
		return Arg{Kind: ArgString, Str: s}, err
	case c >= '0' && c <= '9':
		w, err := r.atom()
		if err != nil {
			return Arg{}, err
		}
		v, perr := strconv.ParseUint(w, 10, 32)
		if perr != nil {
			return Arg{}, &SyntaxError{Msg: "Invalid number: " + clip(w)}
		}
		return Arg{Kind: ArgNumber, Num: uint32(v), Str: w}, nil
	case isAtomChar(c):
		w, err := r.atom()
		return Arg{Kind: ArgAtom, Str: w}, err
	default:
		return Arg{}, &SyntaxError{Msg: fmt.Sprintf("Unexpected character %q", c)}
	}
}

// quoted reads RFC 5804 §4 quoted: QUOTED-CHAR is any UTF-8 character
// but NUL, CR, LF, with "\\" and "\"" escaped.
func (r *Reader) quoted() (string, error) {
	r.next() // the opening quote
	var sb strings.Builder
	for {
		c, err := r.next()
		if err != nil {
			return "", eofIsUnexpected(err)
		}
		switch c {
		case '"':
			return sb.String(), nil
		case '\\':
			if c, err = r.next(); err != nil {
				return "", eofIsUnexpected(err)
			}
			if c != '\\' && c != '"' {
				return "", &SyntaxError{Msg: "Invalid escape in a quoted string"}
			}
		case 0, '\r', '\n':
			if c != 0 {
				// The line ended inside the string: after a LF, do
				// not skip the next line.
				return "", &SyntaxError{Msg: "Unterminated quoted string", eol: c == '\n'}
			}
			return "", &SyntaxError{Msg: "NUL in a quoted string"}
		}
		sb.WriteByte(c)
		if sb.Len() > MaxQuoted {
			return "", &SyntaxError{Msg: "Quoted string longer than 1024 octets: send a literal (RFC 5804 §4)"}
		}
	}
}

func eofIsUnexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// literal reads "{" number ["+"] "}" CRLF and the octets.
func (r *Reader) literal() (string, error) {
	r.next() // {
	var digits strings.Builder
	for {
		c, err := r.next()
		if err != nil {
			return "", eofIsUnexpected(err)
		}
		if c >= '0' && c <= '9' && digits.Len() < 20 {
			digits.WriteByte(c)
			continue
		}
		if c == '+' {
			if c, err = r.next(); err != nil {
				return "", eofIsUnexpected(err)
			}
		}
		if c != '}' || digits.Len() == 0 {
			return "", &SyntaxError{Msg: "Invalid literal"}
		}
		break
	}
	n, err := strconv.ParseInt(digits.String(), 10, 64)
	if err != nil {
		return "", &SyntaxError{Msg: "Invalid literal length"}
	}
	if err := r.expectEOL(); err != nil {
		return "", err
	}
	if r.MaxLiteral > 0 && n > r.MaxLiteral {
		if r.MaxSkip > 0 && n > r.MaxSkip {
			return "", &LimitError{Limit: "limits.literal_size", Fatal: true,
				Msg: fmt.Sprintf("Literal of %d octets exceeds limits.literal_size", n)}
		}
		if _, err := io.CopyN(io.Discard, r.br, n); err != nil {
			return "", eofIsUnexpected(err)
		}
		return "", &LimitError{Limit: r.LiteralLimit,
			Msg: fmt.Sprintf("Literal of %d octets exceeds %s (%d)", n, r.LiteralLimit, r.MaxLiteral)}
	}
	buf := make([]byte, 0, min(n, 64<<10))
	w := bytesWriter{&buf}
	if _, err := io.CopyN(w, r.br, n); err != nil {
		return "", eofIsUnexpected(err)
	}
	return string(buf), nil
}

type bytesWriter struct{ b *[]byte }

func (w bytesWriter) Write(p []byte) (int, error) {
	*w.b = append(*w.b, p...)
	return len(p), nil
}

// Quote renders s as a ManageSieve string: quoted when it fits (at most
// 1024 octets, no CR, LF or NUL), else a literal-s2c "{n}\r\n..."
// (RFC 5804 §4).
func Quote(s string) string {
	if len(s) <= MaxQuoted && !strings.ContainsAny(s, "\r\n\x00") {
		var sb strings.Builder
		sb.Grow(len(s) + 2)
		sb.WriteByte('"')
		for i := 0; i < len(s); i++ {
			if s[i] == '"' || s[i] == '\\' {
				sb.WriteByte('\\')
			}
			sb.WriteByte(s[i])
		}
		sb.WriteByte('"')
		return sb.String()
	}
	return "{" + strconv.Itoa(len(s)) + "}\r\n" + s
}

// clip shortens client text for an error message.
func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}
