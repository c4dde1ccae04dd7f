package wire

import (
	"bufio"
	"errors"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"barid/internal/imap"
)

// Defaults used for Options fields that are zero or negative.
const (
	DefaultMaxLineLength         = 64 << 10 // Dovecot's imap_max_line_length default
	DefaultMaxLiteralSize        = 64 << 20
	DefaultMaxDepth              = 64
	DefaultMaxStringLiteral      = 64 << 10
	DefaultMaxStringLiteralTotal = 1 << 20
)

// Options configures a Decoder. Zero fields take the Default* values.
type Options struct {
	// MaxSkip, if > 0, caps the bytes DiscardLine skips after an error;
	// past it DiscardLine fails with a fatal line_length LimitError, so a
	// client cannot make the server read an endless bad line. 0 = no cap.
	MaxSkip int64
	// MaxLineLength caps the bytes of one command, from ResetLine to its
	// final CRLF, not counting literal payloads. Limit name "line_length".
	MaxLineLength int
	// MaxLiteralSize caps any literal, including APPEND message literals.
	// Limit name "literal_size".
	MaxLiteralSize int64
	// MaxDepth caps parenthesis nesting in ExpectList. Limit name
	// "nesting_depth".
	MaxDepth int
	// MaxStringLiteral caps a literal read into memory as a string (by
	// String, AString, NString, ListMailbox; not by Literal). Limit name
	// "string_literal".
	MaxStringLiteral int64
	// MaxStringLiteralTotal caps the sum of the string literals read
	// into memory for one command (since ResetLine), so that a command
	// cannot hold many MaxStringLiteral-sized strings. Limit name
	// "string_literal_total".
	MaxStringLiteralTotal int64

	// Continue is called when a literal header has been read and before
	// its bytes are. For a synchronizing literal {N} the server writes
	// "+ Ready" and flushes. For a non-synchronizing literal {N+}
	// (RFC 7888) nonSync is true and Continue must not write; it may
	// refuse (for example LITERAL- above 4096 bytes). If Continue returns
	// an error the decoder stops with that error. The size limits are
	// checked before Continue is called, so an over-limit synchronizing
	// literal is refused without ever sending "+". Nil means no hook.
	Continue func(size int64, nonSync bool) error
}

// byte classes
const (
	clsAtom    = 1 << iota // ATOM-CHAR
	clsAString             // ASTRING-CHAR = ATOM-CHAR / resp-specials
	clsList                // list-char = ATOM-CHAR / list-wildcards / resp-specials
	clsTag                 // ASTRING-CHAR except "+"
	clsDigit               // DIGIT
	clsSeq                 // DIGIT / ":" / "*" / ","
	clsDate                // date-text: DIGIT / ALPHA / "-"
	clsQuoted              // QUOTED-CHAR without escapes: any byte but " \ CR LF NUL
	clsText                // TEXT-CHAR plus 8-bit: any byte but CR LF NUL
	clsName                // ATOM-CHAR except "["
)

var classes = func() (t [256]uint16) {
	for i := range 256 {
		c := byte(i)
		if imap.IsAtomChar(c) {
			t[i] |= clsAtom | clsAString | clsList | clsTag
			if c != '[' {
				t[i] |= clsName
			}
		}
		if c >= '0' && c <= '9' {
			t[i] |= clsDigit | clsSeq | clsDate
		}
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '-' {
			t[i] |= clsDate
		}
		if c != '"' && c != '\\' && c != '\r' && c != '\n' && c != 0 {
			t[i] |= clsQuoted
		}
		if c != '\r' && c != '\n' && c != 0 {
			t[i] |= clsText
		}
	}
	t[']'] |= clsAString | clsList | clsTag
	t['%'] |= clsList
	t['*'] |= clsList | clsSeq
	t[':'] |= clsSeq
	t[','] |= clsSeq
	t['+'] &^= clsTag
	return t
}()

// Decoder decodes client commands. See the package documentation.
type Decoder struct {
	r    *bufio.Reader
	opts Options

	err   error
	fatal bool // err cannot be recovered from by DiscardLine

	lineLen  int64 // bytes of the current command, literal payloads excluded
	depth    int   // current list nesting
	strTotal int64 // string-literal bytes read into memory this command

	litLeft int64  // unread payload bytes of the current literal
	litGen  uint64 // generation of the reader returned by Literal

	// A literal header was consumed but its payload not started (size
	// check or Continue failed): DiscardLine needs to know.
	pendHdr     bool
	pendSize    int64
	pendNonSync bool

	// eol is set once the command's final CRLF was consumed (or the
	// rest of the line discarded); ResetLine clears it. DiscardLine is a
	// no-op at eol, so it never eats a pipelined next command.
	eol bool
	// skipped counts bytes DiscardLine skipped (see Options.MaxSkip).
	skipped int64

	scratch []byte
}

// NewDecoder returns a Decoder reading from r.
func NewDecoder(r *bufio.Reader, opts Options) *Decoder {
	if opts.MaxLineLength <= 0 {
		opts.MaxLineLength = DefaultMaxLineLength
	}
	if opts.MaxLiteralSize <= 0 {
		opts.MaxLiteralSize = DefaultMaxLiteralSize
	}
	if opts.MaxDepth <= 0 {
		opts.MaxDepth = DefaultMaxDepth
	}
	if opts.MaxStringLiteral <= 0 {
		opts.MaxStringLiteral = DefaultMaxStringLiteral
	}
	if opts.MaxStringLiteralTotal <= 0 {
		opts.MaxStringLiteralTotal = DefaultMaxStringLiteralTotal
	}
	return &Decoder{r: r, opts: opts}
}

// Err returns the first error the decoder met: a *SyntaxError, a
// *LimitError, an error returned by Options.Continue, or a read error.
// At a clean end of input between commands it is io.EOF; in the middle
// of a command, io.ErrUnexpectedEOF.
func (d *Decoder) Err() error { return d.err }

// ResetLine starts a new command: it resets the line-length counter, the
// nesting depth and the string-literal total. Call it before reading the
// tag of each command. It does not clear Err.
func (d *Decoder) ResetLine() {
	d.eol = false
	d.lineLen = 0
	d.depth = 0
	d.strTotal = 0
}

func (d *Decoder) setErr(err error) {
	if d.err == nil {
		d.err = err
	}
}

func (d *Decoder) setReadErr(err error) {
	if err == io.EOF && (d.lineLen > 0 || d.litLeft > 0 || d.pendHdr) {
		err = io.ErrUnexpectedEOF
	}
	d.setErr(err)
	d.fatal = true
}

func (d *Decoder) syntax(msg string) bool {
	d.setErr(&SyntaxError{Msg: msg})
	return false
}

// expected records a syntax error "expected <what>, got <next>".
func (d *Decoder) expected(what string) bool {
	if d.err != nil {
		return false
	}
	return d.syntax("expected " + what + ", got " + d.describeNext())
}

func (d *Decoder) describeNext() string {
	b, err := d.r.Peek(1)
	if err != nil {
		return "end of input"
	}
	switch c := b[0]; {
	case c == '\r':
		if b, _ := d.r.Peek(2); len(b) == 2 && b[1] == '\n' {
			return "end of line"
		}
		return "CR not followed by LF"
	case c == '\n':
		return "end of line"
	case c == ' ':
		return "SP"
	case c < 0x20 || c >= 0x7f:
		return "byte 0x" + strconv.FormatUint(uint64(c), 16)
	default:
		return strconv.Quote(string(c))
	}
}

// Expect turns a false ok into a syntax error "expected <what>, got …"
// unless an error is already set, and returns ok. It gives context to
// the optional methods: d.Expect(d.SP(), "SP after tag").
func (d *Decoder) Expect(ok bool, what string) bool {
	if !ok {
		d.expected(what)
	}
	return ok
}

// ready reports whether decoding may go on; it first discards what the
// caller left unread of a streamed literal.
func (d *Decoder) ready() bool {
	if d.err != nil {
		return false
	}
	if d.litLeft > 0 {
		return d.skip(d.litLeft)
	}
	return true
}

// skip discards n payload bytes (not counted in the line length).
func (d *Decoder) skip(n int64) bool {
	for n > 0 {
		chunk := n
		if chunk > math.MaxInt32 {
			chunk = math.MaxInt32
		}
		k, err := d.r.Discard(int(chunk))
		n -= int64(k)
		if d.litLeft > 0 {
			d.litLeft -= int64(k)
		}
		if err != nil {
			d.setReadErr(err)
			return false
		}
	}
	return true
}

// count adds n bytes to the current line and enforces MaxLineLength.
func (d *Decoder) count(n int) bool {
	d.lineLen += int64(n)
	if d.lineLen > int64(d.opts.MaxLineLength) {
		d.setErr(&LimitError{Limit: LimitLineLength, Max: int64(d.opts.MaxLineLength)})
		return false
	}
	return true
}

// peek returns the next byte without consuming it.
func (d *Decoder) peek() (byte, bool) {
	b, err := d.r.Peek(1)
	if err != nil {
		d.setReadErr(err)
		return 0, false
	}
	return b[0], true
}

// next consumes one byte already known by peek.
func (d *Decoder) next() bool {
	if !d.count(1) {
		return false
	}
	_, _ = d.r.ReadByte()
	return true
}

// readRun consumes the longest run of bytes of class cls and returns it
// (valid until the next read; callers copy it at once). An empty run is
// not an error.
func (d *Decoder) readRun(cls uint16) ([]byte, bool) {
	d.scratch = d.scratch[:0]
	for {
		n := d.r.Buffered()
		if n == 0 {
			if _, err := d.r.Peek(1); err != nil {
				if err == io.EOF && len(d.scratch) > 0 {
					return d.scratch, true
				}
				d.setReadErr(err)
				return nil, false
			}
			n = d.r.Buffered()
		}
		buf, _ := d.r.Peek(n)
		i := 0
		for i < len(buf) && classes[buf[i]]&cls != 0 {
			i++
		}
		if i > 0 && !d.count(i) {
			return nil, false
		}
		if i < len(buf) && len(d.scratch) == 0 {
			// Fast path: the whole run is buffered. The slice stays valid
			// until the next read from d.r; callers copy it at once.
			_, _ = d.r.Discard(i)
			return buf[:i], true
		}
		d.scratch = append(d.scratch, buf[:i]...)
		_, _ = d.r.Discard(i)
		if i < len(buf) {
			return d.scratch, true
		}
	}
}

// Peek returns the next byte without consuming it. It returns false at
// the end of input or after an error.
func (d *Decoder) Peek() (byte, bool) {
	if !d.ready() {
		return 0, false
	}
	return d.peek()
}

// PeekAfterSP returns the byte after the next one when the next one is
// SP, without consuming anything: an optional parenthesized argument
// after an item (RFC 8970 "PREVIEW" [SP "(" preview-mod ")"]) is told
// from the list separator that may follow instead.
func (d *Decoder) PeekAfterSP() (byte, bool) {
	if !d.ready() {
		return 0, false
	}
	b, err := d.r.Peek(2)
	if err != nil || b[0] != ' ' {
		return 0, false
	}
	return b[1], true
}

// Special consumes the byte b if it comes next.
func (d *Decoder) Special(b byte) bool {
	if !d.ready() {
		return false
	}
	c, ok := d.peek()
	if !ok || c != b {
		return false
	}
	return d.next()
}

// ExpectSpecial is Special that records a syntax error on mismatch.
func (d *Decoder) ExpectSpecial(b byte) bool {
	return d.Special(b) || d.expected(strconv.Quote(string(b)))
}

// SP consumes a single space if it comes next.
func (d *Decoder) SP() bool { return d.Special(' ') }

// ExpectSP is SP that records a syntax error "expected SP, got …".
func (d *Decoder) ExpectSP() bool { return d.Special(' ') || d.expected("SP") }

// CRLF consumes the end of the line, CRLF. QUIRK(telnet users, some
// scripts and test tools): a bare LF is accepted as well. A CR not
// followed by LF is not an end of line.
func (d *Decoder) CRLF() bool {
	if !d.ready() {
		return false
	}
	c, ok := d.peek()
	if !ok {
		return false
	}
	switch c {
	case '\n':
		d.eol = d.next()
		return d.eol
	case '\r':
		b, err := d.r.Peek(2)
		if len(b) < 2 {
			d.setReadErr(err) // a CR at the end of input: truncated
			return false
		}
		if b[1] != '\n' {
			return false
		}
		if !d.count(2) {
			return false
		}
		_, _ = d.r.Discard(2)
		d.eol = true
		return true
	}
	return false
}

// ExpectCRLF is CRLF that records a syntax error on mismatch.
func (d *Decoder) ExpectCRLF() bool { return d.CRLF() || d.expected("end of line") }

func (d *Decoder) run(cls uint16, ptr *string) bool {
	if !d.ready() {
		return false
	}
	b, ok := d.readRun(cls)
	if !ok || len(b) == 0 {
		return false
	}
	*ptr = string(b)
	return true
}

// Atom reads an atom, 1*ATOM-CHAR (RFC 9051 §9).
func (d *Decoder) Atom(ptr *string) bool { return d.run(clsAtom, ptr) }

// ExpectAtom is Atom that records a syntax error when no atom follows.
func (d *Decoder) ExpectAtom(ptr *string) bool { return d.Atom(ptr) || d.expected("atom") }

// Name reads an atom that stops before "[": a command name, a FETCH
// attribute such as "BODY.PEEK" in "BODY.PEEK[1.2]<0.100>" (RFC 9051
// §6.4.5), a section part and text such as "1.2.HEADER.FIELDS", or a
// SEARCH key. ("[" is an ATOM-CHAR, so Atom would read "BODY.PEEK[1.2".)
func (d *Decoder) Name(ptr *string) bool { return d.run(clsName, ptr) }

// ExpectName is Name that records a syntax error when no name follows.
func (d *Decoder) ExpectName(ptr *string) bool { return d.Name(ptr) || d.expected("name") }

// Tag reads a command tag, 1*<any ASTRING-CHAR except "+"> (RFC 9051 §9).
func (d *Decoder) Tag(ptr *string) bool { return d.run(clsTag, ptr) }

// Line reads the rest of the line up to, not including, CRLF (any bytes
// but CR, LF and NUL). It is for lines that are not commands, such as
// AUTHENTICATE responses (RFC 9051 §6.2.2). An empty line is a success.
func (d *Decoder) Line(ptr *string) bool {
	if !d.ready() {
		return false
	}
	b, ok := d.readRun(clsText)
	if !ok {
		return false
	}
	*ptr = string(b)
	return true
}

// Number reads a number, 1*DIGIT that fits 32 bits (RFC 9051 §9).
func (d *Decoder) Number(ptr *uint32) bool {
	var n int64
	if !d.number(&n, math.MaxUint32) {
		return false
	}
	*ptr = uint32(n)
	return true
}

// ExpectNumber is Number that records a syntax error when no number follows.
func (d *Decoder) ExpectNumber(ptr *uint32) bool { return d.Number(ptr) || d.expected("number") }

// Number64 reads a number64, 1*DIGIT in 0..2^63-1 (RFC 9051 §9).
func (d *Decoder) Number64(ptr *int64) bool { return d.number(ptr, math.MaxInt64) }

// ExpectNumber64 is Number64 that records a syntax error when no number follows.
func (d *Decoder) ExpectNumber64(ptr *int64) bool {
	return d.Number64(ptr) || d.expected("number")
}

func (d *Decoder) number(ptr *int64, max uint64) bool {
	if !d.ready() {
		return false
	}
	b, ok := d.readRun(clsDigit)
	if !ok || len(b) == 0 {
		return false
	}
	var n uint64
	for _, c := range b {
		n = n*10 + uint64(c-'0')
		if n > max {
			return d.syntax("number out of range")
		}
	}
	*ptr = int64(n)
	return true
}

// Quoted reads a quoted string (RFC 9051 §9 "quoted"): DQUOTE
// *QUOTED-CHAR DQUOTE, where only \" and \\ are escapes. 8-bit bytes are
// accepted (RFC 9051 allows UTF-8 in quoted strings; IMAP4rev1 clients
// sometimes send other charsets for SEARCH); the caller validates them.
// CR, LF and NUL are errors.
func (d *Decoder) Quoted(ptr *string) bool {
	if !d.ready() {
		return false
	}
	if c, ok := d.peek(); !ok || c != '"' {
		return false
	}
	if !d.next() {
		return false
	}
	var out []byte
	for {
		b, ok := d.readRun(clsQuoted)
		if !ok {
			return false
		}
		out = append(out, b...)
		c, ok := d.peek()
		if !ok {
			return false
		}
		switch c {
		case '"':
			if !d.next() {
				return false
			}
			*ptr = string(out)
			return true
		case '\\':
			if !d.next() {
				return false
			}
			e, ok := d.peek()
			if !ok {
				return false
			}
			if e != '"' && e != '\\' {
				return d.syntax("invalid escape in quoted string (only \\\" and \\\\ are allowed)")
			}
			if !d.next() {
				return false
			}
			out = append(out, e)
		case 0:
			return d.syntax("NUL in quoted string")
		default: // CR or LF
			return d.syntax("unterminated quoted string")
		}
	}
}

// String reads a string: quoted or literal (RFC 9051 §9). A literal is
// read into memory and capped by MaxStringLiteral and
// MaxStringLiteralTotal; Options.Continue is called before its bytes are
// read. NUL in a literal is an error (literals carry CHAR8).
func (d *Decoder) String(ptr *string) bool {
	if !d.ready() {
		return false
	}
	c, ok := d.peek()
	if !ok {
		return false
	}
	switch c {
	case '"':
		return d.Quoted(ptr)
	case '{':
		return d.stringLiteral(ptr)
	}
	return false
}

// ExpectString is String that records a syntax error when no string follows.
func (d *Decoder) ExpectString(ptr *string) bool { return d.String(ptr) || d.expected("string") }

func (d *Decoder) stringLiteral(ptr *string) bool {
	size, _, _, ok := d.literalHeader(false, true)
	if !ok {
		return false
	}
	buf := make([]byte, size)
	n, err := io.ReadFull(d.r, buf)
	d.litLeft -= int64(n)
	if err != nil {
		d.setReadErr(err)
		return false
	}
	for _, c := range buf {
		if c == 0 {
			return d.syntax("NUL in literal")
		}
	}
	*ptr = string(buf)
	return true
}

// literalHeader parses [~]{N[+]} CRLF, checks the limits, calls Continue
// and leaves the decoder in the payload state (litLeft = N).
func (d *Decoder) literalHeader(allowBinary, inMemory bool) (size int64, nonSync, binary bool, ok bool) {
	c, ok := d.peek()
	if !ok {
		return 0, false, false, false
	}
	if c == '~' && allowBinary {
		binary = true
		if !d.next() {
			return 0, false, false, false
		}
		c, ok = d.peek()
		if !ok {
			return 0, false, false, false
		}
	}
	if c != '{' {
		return 0, false, false, d.expected(`literal "{"`)
	}
	if !d.next() {
		return 0, false, false, false
	}
	if !d.number(&size, math.MaxInt64) {
		return 0, false, false, d.expected("literal size")
	}
	nonSync = d.Special('+')
	if !d.ExpectSpecial('}') {
		return 0, false, false, false
	}
	if !d.CRLF() {
		return 0, false, false, d.expected("end of line after literal header")
	}
	d.eol = false // the command goes on after the literal
	d.pendHdr, d.pendSize, d.pendNonSync = true, size, nonSync
	if size > d.opts.MaxLiteralSize {
		d.setErr(&LimitError{Limit: LimitLiteralSize, Max: d.opts.MaxLiteralSize})
		return 0, false, false, false
	}
	if inMemory {
		if size > d.opts.MaxStringLiteral {
			d.setErr(&LimitError{Limit: LimitStringLiteral, Max: d.opts.MaxStringLiteral})
			return 0, false, false, false
		}
		if d.strTotal+size > d.opts.MaxStringLiteralTotal {
			d.setErr(&LimitError{Limit: LimitStringLiteralTotal, Max: d.opts.MaxStringLiteralTotal})
			return 0, false, false, false
		}
		d.strTotal += size
	}
	if d.opts.Continue != nil {
		if err := d.opts.Continue(size, nonSync); err != nil {
			d.setErr(err)
			return 0, false, false, false
		}
	}
	d.pendHdr = false
	d.litLeft = size
	return size, nonSync, binary, true
}

// Literal reads a literal header for streaming: {N}, {N+} (RFC 7888) or
// ~{N} / ~{N+} (literal8, RFC 3516 §4.2), checks MaxLiteralSize, calls
// Options.Continue, and returns a reader of exactly the N payload bytes.
// It is meant for APPEND messages. binary reports literal8.
//
// The caller should read r to EOF before calling any other method; if it
// does not, the next method call discards the rest first, and r returns
// EOF from then on. Unlike the other methods, Literal records a syntax
// error when no literal follows.
func (d *Decoder) Literal() (r io.Reader, size int64, binary bool, ok bool) {
	if !d.ready() {
		return nil, 0, false, false
	}
	size, _, binary, ok = d.literalHeader(true, false)
	if !ok {
		return nil, 0, false, false
	}
	d.litGen++
	return &literalReader{d: d, gen: d.litGen}, size, binary, true
}

type literalReader struct {
	d   *Decoder
	gen uint64
}

func (l *literalReader) Read(p []byte) (int, error) {
	d := l.d
	if l.gen != d.litGen || d.litLeft == 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > d.litLeft {
		p = p[:d.litLeft]
	}
	n, err := d.r.Read(p)
	d.litLeft -= int64(n)
	if err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		d.setReadErr(err)
		return n, err
	}
	return n, nil
}

// AString reads an astring: 1*ASTRING-CHAR (atom characters plus "]")
// or a string (RFC 9051 §9).
func (d *Decoder) AString(ptr *string) bool {
	if !d.ready() {
		return false
	}
	c, ok := d.peek()
	if !ok {
		return false
	}
	if c == '"' || c == '{' {
		return d.String(ptr)
	}
	return d.run(clsAString, ptr)
}

// ExpectAString is AString that records a syntax error on mismatch.
func (d *Decoder) ExpectAString(ptr *string) bool { return d.AString(ptr) || d.expected("astring") }

// NString reads an nstring: a string or NIL (RFC 9051 §9). NIL is
// matched case-insensitively and sets *isNil; ptr is then "".
func (d *Decoder) NString(ptr *string, isNil *bool) bool {
	if !d.ready() {
		return false
	}
	c, ok := d.peek()
	if !ok {
		return false
	}
	if c == '"' || c == '{' {
		*isNil = false
		return d.String(ptr)
	}
	var a string
	if !d.Atom(&a) {
		return false
	}
	if !strings.EqualFold(a, "NIL") {
		return d.syntax("expected string or NIL, got atom " + strconv.Quote(a))
	}
	*ptr, *isNil = "", true
	return true
}

// ExpectNString is NString that records a syntax error on mismatch.
func (d *Decoder) ExpectNString(ptr *string, isNil *bool) bool {
	return d.NString(ptr, isNil) || d.expected("string or NIL")
}

// ListMailbox reads a list-mailbox: 1*list-char (atom characters plus
// "%", "*" and "]") or a string (RFC 9051 §9).
func (d *Decoder) ListMailbox(ptr *string) bool {
	if !d.ready() {
		return false
	}
	c, ok := d.peek()
	if !ok {
		return false
	}
	if c == '"' || c == '{' {
		return d.String(ptr)
	}
	return d.run(clsList, ptr)
}

// ExpectListMailbox is ListMailbox that records a syntax error on mismatch.
func (d *Decoder) ExpectListMailbox(ptr *string) bool {
	return d.ListMailbox(ptr) || d.expected("mailbox pattern")
}

// Flag reads a flag (RFC 9051 §9): "\" atom (system or extension flag),
// "\*" (flag-perm) or a keyword atom. The text is returned as sent; see
// imap.CanonicalFlag.
func (d *Decoder) Flag(ptr *string) bool {
	if !d.ready() {
		return false
	}
	c, ok := d.peek()
	if !ok {
		return false
	}
	if c != '\\' {
		return d.Atom(ptr)
	}
	if !d.next() {
		return false
	}
	if d.Special('*') {
		*ptr = imap.FlagWildcard
		return true
	}
	var a string
	if !d.Atom(&a) {
		return d.expected(`flag name after "\"`)
	}
	*ptr = `\` + a
	return true
}

// ExpectFlag is Flag that records a syntax error on mismatch.
func (d *Decoder) ExpectFlag(ptr *string) bool { return d.Flag(ptr) || d.expected("flag") }

// List reads a parenthesized list, "(" [item *(SP item)] ")", if one
// follows; see ExpectList.
func (d *Decoder) List(item func() bool) bool {
	if !d.ready() {
		return false
	}
	if c, ok := d.peek(); !ok || c != '(' {
		return false
	}
	return d.ExpectList(item)
}

// ExpectList reads "(" [item *(SP item)] ")". item reads one element and
// returns false on failure (it may record its own error; otherwise
// "invalid list item" is recorded). Nesting (item calling ExpectList) is
// limited by MaxDepth: at MaxDepth+1 open parentheses the decoder stops
// with a LimitError "nesting_depth" before calling item, so recursion is
// bounded.
func (d *Decoder) ExpectList(item func() bool) bool {
	if !d.ExpectSpecial('(') {
		return false
	}
	if !d.Enter() {
		return false
	}
	if d.Special(')') {
		d.Leave()
		return true
	}
	for {
		if !item() {
			if d.err == nil {
				d.expected("list item")
			}
			return false
		}
		if d.Special(')') {
			break
		}
		if !d.SP() {
			return d.expected(`SP or ")" in list`)
		}
	}
	d.Leave()
	return true
}

// Enter counts one level of nesting against MaxDepth, for callers that
// parse their own parenthesized grammar (such as SEARCH keys, RFC 9051
// §6.4.4); it records a LimitError "nesting_depth" and returns false when
// the limit is passed. Each successful Enter must be matched by Leave.
func (d *Decoder) Enter() bool {
	if d.err != nil {
		return false
	}
	d.depth++
	if d.depth > d.opts.MaxDepth {
		d.setErr(&LimitError{Limit: LimitNestingDepth, Max: int64(d.opts.MaxDepth)})
		return false
	}
	return true
}

// Leave ends a level of nesting begun with Enter.
func (d *Decoder) Leave() {
	if d.depth > 0 {
		d.depth--
	}
}

// SeqSet reads a sequence-set of message sequence numbers (RFC 9051 §9).
// It does not accept "$" (RFC 5182 SEARCHRES); check SearchRes first, or
// use ExpectSeqSetOrRes.
func (d *Decoder) SeqSet(ptr *imap.SeqSet) bool {
	var s imap.NumSet
	if !d.numSet(&s) {
		return false
	}
	*ptr = imap.SeqSet(s)
	return true
}

// ExpectSeqSet is SeqSet that records a syntax error on mismatch.
func (d *Decoder) ExpectSeqSet(ptr *imap.SeqSet) bool {
	return d.SeqSet(ptr) || d.expectedSet()
}

// UIDSet reads a sequence-set of UIDs (RFC 9051 §9). Like SeqSet it does
// not accept "$".
func (d *Decoder) UIDSet(ptr *imap.UIDSet) bool {
	var s imap.NumSet
	if !d.numSet(&s) {
		return false
	}
	*ptr = imap.UIDSet(s)
	return true
}

// ExpectUIDSet is UIDSet that records a syntax error on mismatch.
func (d *Decoder) ExpectUIDSet(ptr *imap.UIDSet) bool {
	return d.UIDSet(ptr) || d.expectedSet()
}

// SearchRes consumes "$", the saved search result of RFC 5182 §2.1
// (SEARCHRES), if it comes next. It is the decoder's answer to "$" in
// places where a sequence-set may appear: callers check SearchRes before
// SeqSet/UIDSet, or use the *OrRes helpers.
func (d *Decoder) SearchRes() bool { return d.Special('$') }

// ExpectSeqSetOrRes reads "$" (setting *res) or a sequence-set.
func (d *Decoder) ExpectSeqSetOrRes(ptr *imap.SeqSet, res *bool) bool {
	if *res = d.SearchRes(); *res {
		*ptr = nil
		return true
	}
	return d.ExpectSeqSet(ptr)
}

// ExpectUIDSetOrRes reads "$" (setting *res) or a UID set.
func (d *Decoder) ExpectUIDSetOrRes(ptr *imap.UIDSet, res *bool) bool {
	if *res = d.SearchRes(); *res {
		*ptr = nil
		return true
	}
	return d.ExpectUIDSet(ptr)
}

func (d *Decoder) expectedSet() bool {
	if d.err != nil {
		return false
	}
	if c, err := d.r.Peek(1); err == nil && c[0] == '$' {
		return d.syntax(`"$" (SEARCHRES) is not allowed here`)
	}
	return d.expected("sequence set")
}

func (d *Decoder) numSet(ptr *imap.NumSet) bool {
	if !d.ready() {
		return false
	}
	c, ok := d.peek()
	if !ok || !(c == '*' || c >= '0' && c <= '9') {
		return false
	}
	b, ok := d.readRun(clsSeq)
	if !ok {
		return false
	}
	var err error
	var s imap.SeqSet
	if s, err = imap.ParseSeqSet(string(b)); err != nil {
		return d.syntax(err.Error())
	}
	*ptr = imap.NumSet(s)
	return true
}

// DateTime reads a quoted date-time (RFC 9051 §9), as in APPEND.
func (d *Decoder) DateTime(ptr *time.Time) bool {
	if !d.ready() {
		return false
	}
	if c, ok := d.peek(); !ok || c != '"' {
		return false
	}
	var s string
	if !d.Quoted(&s) {
		return false
	}
	t, err := imap.ParseDateTime(s)
	if err != nil {
		return d.syntax(err.Error())
	}
	*ptr = t
	return true
}

// ExpectDateTime is DateTime that records a syntax error on mismatch.
func (d *Decoder) ExpectDateTime(ptr *time.Time) bool {
	return d.DateTime(ptr) || d.expected("date-time")
}

// Date reads a SEARCH date, date-text or DQUOTE date-text DQUOTE
// (RFC 9051 §9), as midnight UTC (see imap.ParseDate).
func (d *Decoder) Date(ptr *time.Time) bool {
	if !d.ready() {
		return false
	}
	c, ok := d.peek()
	if !ok {
		return false
	}
	var s string
	if c == '"' {
		if !d.Quoted(&s) {
			return false
		}
	} else if !d.run(clsDate, &s) {
		return false
	}
	t, err := imap.ParseDate(s)
	if err != nil {
		return d.syntax(err.Error())
	}
	*ptr = t
	return true
}

// ExpectDate is Date that records a syntax error on mismatch.
func (d *Decoder) ExpectDate(ptr *time.Time) bool { return d.Date(ptr) || d.expected("date") }

// DiscardLine skips the rest of a command after an error so that the
// next command can be read. It reads to the end of the line; if that
// line ends in a non-synchronizing literal header {N+}, it skips the N
// payload bytes and goes on to the real end of the command. A
// synchronizing literal header {N} ends the command: the client waits
// for "+" that will not come. The same applies when the error struck
// right after a literal header was read (a refused size or Continue).
//
// It clears a *SyntaxError, *LimitError or Continue error and returns
// nil when the decoder is ready for the next command (ResetLine is
// done). It returns an error, and the connection should be closed, after
// a read error or when a non-synchronizing literal larger than
// MaxLiteralSize would have to be skipped. Skipping does not buffer: an
// overlong line costs no memory, only time.
//
// When the command's final CRLF has already been read (see AtEOL; for
// example the command parsed but failed a semantic check) DiscardLine
// only clears the error, so it never eats a pipelined next command.
func (d *Decoder) DiscardLine() error {
	if d.fatal {
		return d.err
	}
	d.err = nil
	if d.eol {
		return nil
	}
	d.skipped = 0
	defer func() {
		d.ResetLine()
		d.eol = d.err == nil
	}()
	if d.pendHdr {
		d.pendHdr = false
		if !d.pendNonSync {
			return nil
		}
		if !d.skipNonSync(d.pendSize) {
			return d.err
		}
	}
	if d.litLeft > 0 && !d.skip(d.litLeft) {
		return d.err
	}
	for {
		size, nonSync, ok := d.skipToLF()
		if d.err != nil {
			return d.err
		}
		if !ok || !nonSync {
			return nil
		}
		if !d.skipNonSync(size) {
			return d.err
		}
	}
}

func (d *Decoder) skipNonSync(size int64) bool {
	if size > d.opts.MaxLiteralSize {
		d.err = &LimitError{Limit: LimitLiteralSize, Max: d.opts.MaxLiteralSize}
		d.fatal = true
		return false
	}
	d.litLeft = size
	return d.skip(size)
}

// skipToLF discards through the next LF and reports the literal header
// that ended the line, if any.
func (d *Decoder) skipToLF() (size int64, nonSync, ok bool) {
	var tail [32]byte
	nt := 0
	for {
		chunk, err := d.r.ReadSlice('\n')
		// The rest of a bad line still counts against line_length, so
		// a client cannot make the server read forever after an error.
		d.skipped += int64(len(chunk))
		if d.opts.MaxSkip > 0 && d.skipped > d.opts.MaxSkip {
			d.err = &LimitError{Limit: LimitLineLength, Max: int64(d.opts.MaxLineLength)}
			d.fatal = true
			return 0, false, false
		}
		if len(chunk) >= len(tail) {
			nt = copy(tail[:], chunk[len(chunk)-len(tail):])
		} else {
			keep := min(nt, len(tail)-len(chunk))
			copy(tail[:], tail[nt-keep:nt])
			nt = keep + copy(tail[keep:], chunk)
		}
		if err == nil {
			return trailingLiteral(tail[:nt])
		}
		if err != bufio.ErrBufferFull {
			d.lineLen++ // mid-line: EOF is unexpected
			d.setReadErr(err)
			return 0, false, false
		}
	}
}

// trailingLiteral parses a literal header at the end of line (which ends
// in LF): "{" number ["+"] "}" CRLF, optionally preceded by "~".
func trailingLiteral(line []byte) (size int64, nonSync, ok bool) {
	line = line[:len(line)-1] // LF
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	n := len(line)
	if n < 3 || line[n-1] != '}' {
		return 0, false, false
	}
	i := n - 2
	if line[i] == '+' {
		nonSync = true
		i--
	}
	end := i + 1
	for i >= 0 && line[i] >= '0' && line[i] <= '9' {
		i--
	}
	if i < 0 || line[i] != '{' || i+1 == end {
		return 0, false, false
	}
	v, err := strconv.ParseInt(string(line[i+1:end]), 10, 64)
	if err != nil {
		return 0, false, false
	}
	return v, nonSync, true
}

// errorsAs is errors.As, kept here so that callers of this file need not
// import errors for the common checks.
func errorsAs[T error](err error) (T, bool) {
	var t T
	ok := errors.As(err, &t)
	return t, ok
}

// IsSyntax reports whether err is (or wraps) a *SyntaxError.
func IsSyntax(err error) bool { _, ok := errorsAs[*SyntaxError](err); return ok }

// IsLimit reports whether err is (or wraps) a *LimitError.
func IsLimit(err error) bool { _, ok := errorsAs[*LimitError](err); return ok }

// AtEOL reports whether the current command's final CRLF has been read
// (or the rest of the line discarded).
func (d *Decoder) AtEOL() bool { return d.eol }
