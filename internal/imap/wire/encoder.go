package wire

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"barid/internal/imap"
)

// maxQuoted is the longest string the Encoder sends quoted; longer
// strings go as literals (clients handle both, and literals need no
// escaping).
const maxQuoted = 1000

// Encoder writes server responses. Methods chain and share a sticky
// error, reported by Err and Flush. SP and list parentheses are the
// caller's to place:
//
//	e.Special('*').SP().Number(12).SP().Atom("FETCH").SP().BeginList().
//		Atom("FLAGS").SP().BeginList().Flag(`\Seen`).EndList().EndList().CRLF()
type Encoder struct {
	w    *bufio.Writer
	err  error
	utf8 bool
	num  [20]byte
	buf  [40]byte
}

// NewEncoder returns an Encoder writing to w.
func NewEncoder(w *bufio.Writer) *Encoder { return &Encoder{w: w} }

// SetWriter makes e write to w from now on (keeping its UTF-8 setting
// and any error); the caller flushes the previous writer first.
func (e *Encoder) SetWriter(w *bufio.Writer) { e.w = w }

// SetUTF8 allows 8-bit UTF-8 in quoted strings, after ENABLE UTF8=ACCEPT
// (RFC 6855 §3) or IMAP4rev2 (RFC 9051 §9 QUOTED-CHAR includes UTF8-2..4).
// Off, such strings are sent as literals.
func (e *Encoder) SetUTF8(on bool) { e.utf8 = on }

// Err returns the first error.
func (e *Encoder) Err() error { return e.err }

// Flush writes buffered data to the underlying writer and returns the
// first error.
func (e *Encoder) Flush() error {
	if e.err == nil {
		e.err = e.w.Flush()
	}
	return e.err
}

func (e *Encoder) write(s string) *Encoder {
	if e.err == nil {
		_, e.err = e.w.WriteString(s)
	}
	return e
}

func (e *Encoder) writeByte(b byte) *Encoder {
	if e.err == nil {
		e.err = e.w.WriteByte(b)
	}
	return e
}

// Atom writes s as it is. The caller guarantees atom syntax.
func (e *Encoder) Atom(s string) *Encoder { return e.write(s) }

// SP writes a space.
func (e *Encoder) SP() *Encoder { return e.writeByte(' ') }

// CRLF ends a response line.
func (e *Encoder) CRLF() *Encoder { return e.write("\r\n") }

// Special writes one byte such as '*', '+', '(', '[' or '<'.
func (e *Encoder) Special(b byte) *Encoder { return e.writeByte(b) }

// Raw writes b as it is.
func (e *Encoder) Raw(b []byte) *Encoder {
	if e.err == nil {
		_, e.err = e.w.Write(b)
	}
	return e
}

// RawString writes s as it is (for example resp-text after the code).
func (e *Encoder) RawString(s string) *Encoder { return e.write(s) }

// Number writes a number.
func (e *Encoder) Number(n uint32) *Encoder {
	return e.Raw(strconv.AppendUint(e.num[:0], uint64(n), 10))
}

// Number64 writes a number64 (RFC 9051 §9); negative values are an error.
func (e *Encoder) Number64(n int64) *Encoder {
	if n < 0 {
		return e.fail(fmt.Errorf("wire: negative number64 %d", n))
	}
	return e.Raw(strconv.AppendInt(e.num[:0], n, 10))
}

func (e *Encoder) fail(err error) *Encoder {
	if e.err == nil {
		e.err = err
	}
	return e
}

// Quoted writes s as a quoted string, escaping \ and " (RFC 9051 §9).
// The caller guarantees that s has no CR, LF or NUL; String checks that.
func (e *Encoder) Quoted(s string) *Encoder {
	e.writeByte('"')
	for {
		i := strings.IndexAny(s, `"\`)
		if i < 0 {
			break
		}
		e.write(s[:i]).writeByte('\\').writeByte(s[i])
		s = s[i+1:]
	}
	return e.write(s).writeByte('"')
}

// quotable reports whether s may be sent as a quoted string.
func (e *Encoder) quotable(s string) bool {
	if len(s) > maxQuoted {
		return false
	}
	high := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == 0 || c == '\r' || c == '\n':
			return false
		case c >= 0x80:
			high = true
		}
	}
	return !high || e.utf8 && utf8.ValidString(s)
}

// String writes s as a quoted string when it is safe (no CR, LF or NUL,
// at most 1000 bytes, 7-bit unless SetUTF8(true) and valid UTF-8), else
// as a synchronizing literal {N} (RFC 9051 §4.3).
func (e *Encoder) String(s string) *Encoder {
	if e.quotable(s) {
		return e.Quoted(s)
	}
	e.writeByte('{')
	e.Number64(int64(len(s)))
	return e.write("}\r\n").write(s)
}

// AString writes s as an atom when it is non-empty, all ASTRING-CHAR and
// not "NIL" in any case (which a client could read as nil), else as a
// String.
func (e *Encoder) AString(s string) *Encoder {
	if isAStringAtom(s) {
		return e.write(s)
	}
	return e.String(s)
}

func isAStringAtom(s string) bool {
	if s == "" || len(s) == 3 && strings.EqualFold(s, "NIL") {
		return false
	}
	for i := 0; i < len(s); i++ {
		if classes[s[i]]&clsAString == 0 {
			return false
		}
	}
	return true
}

// NString writes NIL when isNil, else String(s).
func (e *Encoder) NString(s string, isNil bool) *Encoder {
	if isNil {
		return e.write("NIL")
	}
	return e.String(s)
}

// Literal writes {size} CRLF and then exactly size bytes from r,
// streamed. A short r is an error.
func (e *Encoder) Literal(size int64, r io.Reader) *Encoder {
	return e.literal("{", size, r)
}

// Literal8 writes a literal8, ~{size} CRLF and the bytes (RFC 3516 §4.2),
// for BINARY[] fetch responses.
func (e *Encoder) Literal8(size int64, r io.Reader) *Encoder {
	return e.literal("~{", size, r)
}

func (e *Encoder) literal(open string, size int64, r io.Reader) *Encoder {
	e.write(open).Number64(size).write("}\r\n")
	if e.err != nil {
		return e
	}
	n, err := io.CopyN(e.w, r, size)
	if err != nil {
		if errors.Is(err, io.EOF) {
			err = fmt.Errorf("wire: literal source ended after %d of %d bytes: %w", n, size, io.ErrUnexpectedEOF)
		}
		return e.fail(err)
	}
	return e
}

// Flag writes a flag: `\*`, "\" atom or a keyword atom (RFC 9051 §9).
// Anything else is an error, so that a bad keyword never corrupts a
// response.
func (e *Encoder) Flag(s string) *Encoder {
	if s == imap.FlagWildcard || imap.IsKeyword(strings.TrimPrefix(s, `\`)) {
		return e.write(s)
	}
	return e.fail(fmt.Errorf("wire: invalid flag %q", s))
}

// DateTime writes a quoted date-time (RFC 9051 §9), e.g. INTERNALDATE.
func (e *Encoder) DateTime(t time.Time) *Encoder {
	// Same layout as imap.FormatDateTime, without allocating.
	b := append(e.buf[:0], '"')
	b = t.AppendFormat(b, "02-Jan-2006 15:04:05 -0700")
	return e.Raw(append(b, '"'))
}

// BeginList writes "(".
func (e *Encoder) BeginList() *Encoder { return e.writeByte('(') }

// EndList writes ")".
func (e *Encoder) EndList() *Encoder { return e.writeByte(')') }

// SeqSet writes a sequence set (RFC 9051 §9).
func (e *Encoder) SeqSet(s imap.SeqSet) *Encoder { return e.write(s.String()) }

// UIDSet writes a UID set (RFC 9051 §9), e.g. for COPYUID or VANISHED.
func (e *Encoder) UIDSet(s imap.UIDSet) *Encoder { return e.write(s.String()) }
