package pop3

import (
	"bufio"
	"bytes"
	"errors"
	"io"
)

// RFC 1939 §3: a multi-line response is a sequence of lines ending in
// CRLF; a line that begins with "." gets another "." ("byte-stuffing"),
// and the response ends with ".CRLF". The size a client was told (LIST,
// "+OK n octets") counts the message with CRLF line ends and without the
// stuffing.

// bodyWriter turns stored message bytes into that form in one pass:
//
//   - every line end becomes CRLF: a bare LF gets its CR, and CR CR LF
//     (what Dovecot's LF storage turns back into one CRLF) becomes CRLF,
//     which is exactly how internal/mail/mime counts the message's
//     virtual size (RFC822.SIZE, the size LIST reports);
//   - a line starting with "." is stuffed;
//   - for TOP, it stops after the header, the blank line and the number
//     of body lines asked for (RFC 1939 §7);
//   - a last line without a line end gets CRLF before the final ".", as
//     in Dovecot.
//
// Lines longer than the read buffer arrive in pieces (partial); up to two
// CRs at the end of a piece are held back (carry) because they may be
// part of the line end.
type bodyWriter struct {
	w       *bufio.Writer
	atStart bool  // at the start of a line
	carry   int   // CRs held back from the end of a partial piece
	top     bool  // TOP: stop after the header and lines body lines
	inBody  bool  // TOP: the blank line was written
	lines   int64 // TOP: body lines still to write
	done    bool
	n       int64 // bytes written, stuffing included
	err     error // the first write error: the client is gone
}

// The bytes bodyWriter adds, as variables: a []byte literal passed to
// a Write would be allocated on every call.
var (
	crcr       = []byte("\r\r")
	dot        = []byte(".")
	crlf       = []byte("\r\n")
	terminator = []byte(".\r\n")
)

func (b *bodyWriter) write(p []byte) {
	nn, err := b.w.Write(p)
	b.n += int64(nn)
	if err != nil && b.err == nil {
		b.err, b.done = err, true
	}
}

// partial handles a piece of a line that goes on in the next piece.
func (b *bodyWriter) partial(p []byte) {
	if len(p) == 0 {
		return
	}
	if b.atStart && p[0] == '.' {
		b.write(dot)
	}
	b.atStart = false
	t := trailingCRs(p)
	if t == len(p) {
		t += b.carry
	} else if b.carry > 0 {
		b.write(crcr[:b.carry])
		b.carry = 0
	}
	k := min(t, 2)
	// combined = carry CRs + p; write all but the last k bytes.
	out := b.carry + len(p) - k
	fromCarry := min(b.carry, out)
	if fromCarry > 0 {
		b.write(crcr[:fromCarry])
	}
	if rest := out - fromCarry; rest > 0 {
		b.write(p[:rest])
	}
	b.carry = k
}

// line handles the end of a line: p is its (last piece of) content,
// without the LF.
func (b *bodyWriter) line(p []byte) {
	t := trailingCRs(p)
	carry := b.carry
	if t < len(p) {
		// The held-back CRs were followed by other bytes.
		if carry > 0 {
			b.write(crcr[:carry])
		}
		carry = 0
	}
	s := min(t+carry, 2) // CRs that belong to the line end
	// content = carry CRs + p, minus s trailing CRs
	keepCarry := carry - max(0, s-len(p))
	keepP := len(p) - min(s, len(p))
	blank := b.atStart && keepCarry == 0 && keepP == 0
	if b.atStart && keepP > 0 && p[0] == '.' {
		b.write(dot)
	}
	if keepCarry > 0 {
		b.write(crcr[:keepCarry])
	}
	b.write(p[:keepP])
	b.write(crlf)
	b.carry = 0
	b.atStart = true
	if !b.top {
		return
	}
	if !b.inBody {
		if blank {
			b.inBody = true
			b.done = b.lines == 0
		}
		return
	}
	b.lines--
	b.done = b.lines <= 0
}

// finish ends the response: held-back CRs, a CRLF if the message did
// not end with one, and ".".
func (b *bodyWriter) finish() {
	if b.carry > 0 {
		b.write(crcr[:b.carry])
		b.carry = 0
	}
	if !b.atStart {
		b.write(crlf)
	}
	b.write(terminator)
}

// cleanLines returns the length of the longest prefix of buf made of
// whole lines that are sent unchanged: each ends in CRLF (not CR CR LF)
// and does not start with ".".
func cleanLines(buf []byte) int {
	n := 0
	for n < len(buf) {
		i := bytes.IndexByte(buf[n:], '\n')
		if i < 1 || buf[n] == '.' || buf[n+i-1] != '\r' || (i >= 2 && buf[n+i-2] == '\r') {
			return n
		}
		n += i + 1
	}
	return n
}

func trailingCRs(p []byte) int {
	n := 0
	for i := len(p) - 1; i >= 0 && p[i] == '\r'; i-- {
		n++
	}
	return n
}

// copyMessage writes the message read from r to w as the data of a RETR
// (topLines < 0) or TOP response, ending with ".CRLF". br is a scratch
// reader (its size bounds the pieces long lines are cut into). It
// returns the bytes written, and the first error reading r or writing
// w (a client that went away stops the copy at once).
func copyMessage(w *bufio.Writer, br *bufio.Reader, r io.Reader, topLines int64) (int64, error) {
	br.Reset(r)
	defer br.Reset(nil)
	b := &bodyWriter{w: w, atStart: true, top: topLines >= 0, lines: topLines}
	for !b.done {
		if b.atStart && !b.top {
			// Fast path: whole CRLF lines that need no stuffing go
			// out as one write (most of a typical message).
			if br.Buffered() == 0 {
				if _, err := br.Peek(1); err != nil && !errors.Is(err, io.EOF) {
					return b.n, err
				}
			}
			buf, _ := br.Peek(br.Buffered())
			if n := cleanLines(buf); n > 0 {
				b.write(buf[:n])
				br.Discard(n)
				continue
			}
		}
		chunk, err := br.ReadSlice('\n')
		if len(chunk) > 0 {
			if chunk[len(chunk)-1] == '\n' {
				b.line(chunk[:len(chunk)-1])
			} else {
				b.partial(chunk)
			}
		}
		if err == nil || errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if errors.Is(err, io.EOF) {
			break
		}
		return b.n, err
	}
	if b.err != nil {
		return b.n, b.err
	}
	b.finish()
	return b.n, b.err
}

// copyBytes is copyMessage for a message already in memory (read ahead
// from the inline store): the same bytes on the wire, without the copy
// through a read buffer. Runs of clean lines go to w in one Write, which
// for a run larger than w's free space goes straight to the connection.
func copyBytes(w *bufio.Writer, data []byte, topLines int64) (int64, error) {
	b := &bodyWriter{w: w, atStart: true, top: topLines >= 0, lines: topLines}
	for len(data) > 0 && !b.done {
		if b.atStart && !b.top {
			if n := cleanLines(data); n > 0 {
				b.write(data[:n])
				data = data[n:]
				continue
			}
		}
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			b.partial(data)
			break
		}
		b.line(data[:i])
		data = data[i+1:]
	}
	if b.err != nil {
		return b.n, b.err
	}
	b.finish()
	return b.n, b.err
}

// crlfSize is the size copyMessage sends for data, before stuffing and
// without the final line: what LIST must report. Tests compare it with
// the store's RFC822.SIZE.
func crlfSize(data []byte) int64 {
	var n int64
	for len(data) > 0 {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			return n + int64(len(data))
		}
		content := i - min(trailingCRs(data[:i]), 2)
		n += int64(content) + 2
		data = data[i+1:]
	}
	return n
}
