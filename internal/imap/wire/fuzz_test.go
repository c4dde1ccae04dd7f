package wire

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

var errLiteralMinus = errors.New("non-synchronizing literal over 64 bytes")

// fuzzParse runs the generic command grammar over data with small
// limits, reading through a bufio.Reader of the given size, and returns
// what it saw. It checks the invariants that hold for any input.
func fuzzParse(t *testing.T, data []byte, bufSize int) []string {
	t.Helper()
	const maxLine, maxLit, maxStr, maxTotal = 512, 4096, 128, 512
	var conts int
	opts := Options{
		MaxLineLength: maxLine, MaxLiteralSize: maxLit, MaxDepth: 8,
		MaxStringLiteral: maxStr, MaxStringLiteralTotal: maxTotal,
		Continue: func(size int64, nonSync bool) error {
			conts++
			if size > maxLit {
				t.Fatalf("Continue called for %d > MaxLiteralSize", size)
			}
			if nonSync && size > 64 {
				return errLiteralMinus
			}
			return nil
		},
	}
	d := NewDecoder(bufio.NewReaderSize(bytes.NewReader(data), bufSize), opts)
	g := &generic{d: d}
	var lines []string
	for i := 0; ; i++ {
		if i > len(data)+1 {
			t.Fatalf("no progress after %d commands", i)
		}
		if g.command() {
			n := 0
			for _, tok := range g.out {
				n += len(tok)
			}
			// Rendered tokens are bounded by the line and literal limits
			// (plus quoting/rendering overhead per token).
			if n > maxLine+maxTotal+3*maxLit+16*len(g.out) {
				t.Fatalf("command rendered to %d bytes", n)
			}
			if d.depth != 0 {
				t.Fatalf("depth %d after a complete command", d.depth)
			}
			line := strings.Join(g.out, "|")
			lines = append(lines, line)
			// decode -> encode -> decode round trip.
			if enc, ok := reencode(g.out); ok {
				again := parseAll(enc, Options{MaxLineLength: 1 << 20, MaxStringLiteral: 1 << 16})
				if len(again) != 1 || again[0] != line {
					t.Fatalf("round trip of %q via %q: %q", line, enc, again)
				}
			}
			continue
		}
		err := d.Err()
		if err == nil {
			t.Fatalf("command failed without an error: %q", g.out)
		}
		if err == io.EOF {
			break
		}
		var se *SyntaxError
		var le *LimitError
		if !errors.As(err, &se) && !errors.As(err, &le) && err != errLiteralMinus && err != io.ErrUnexpectedEOF {
			t.Fatalf("unexpected error type %T: %v", err, err)
		}
		lines = append(lines, "ERR: "+err.Error())
		if derr := d.DiscardLine(); derr != nil {
			lines = append(lines, "FATAL: "+derr.Error())
			break
		}
		if d.Err() != nil || d.lineLen != 0 || d.litLeft != 0 || d.pendHdr {
			t.Fatalf("DiscardLine left state: %v %d %d %v", d.Err(), d.lineLen, d.litLeft, d.pendHdr)
		}
	}
	return lines
}

// FuzzDecoder drives a generic IMAP command grammar over arbitrary
// bytes. It must never panic, never loop, never allocate beyond the
// limits, and give the same result whatever the read buffer size.
func FuzzDecoder(f *testing.F) {
	for _, s := range []string{
		"a001 LOGIN SMITH SESAME\r\n",
		"A654 FETCH 2:4 (FLAGS BODY[HEADER.FIELDS (DATE FROM)])\r\n",
		"a FETCH 1 BODY.PEEK[1.2.MIME]<0.100>\r\n",
		"A003 APPEND saved-messages (\\Seen) \"17-Jul-1996 02:44:25 -0700\" ~{5}\r\nhello\r\n",
		"A284 SEARCH CHARSET UTF-8 TEXT {12+}\r\nжелезн\r\n",
		"a LOGIN {3}\r\nabc {4+}\r\nabcd\r\n",
		"a X ) {5+}\r\nb NOO\r\nc NOOP\r\n",
		"a X ) {5}\r\nb NOOP\r\n",
		"a SEARCH ((((((((((x))))))))))\r\n",
		"a UID FETCH 1:* (FLAGS) (CHANGEDSINCE 12345 VANISHED)\r\n",
		"a STORE $ +FLAGS.SILENT (\\* $Junk)\n",
		"a LOGIN \"fred \\\"x\\\\\" y\r\n",
		"a APPEND x {100+}\r\n" + strings.Repeat("z", 100) + "\r\nb NOOP\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 1<<16 {
			return
		}
		small := fuzzParse(t, data, 16)
		large := fuzzParse(t, data, 4096)
		if strings.Join(small, "\n") != strings.Join(large, "\n") {
			t.Fatalf("buffer size changes the result:\n16:   %q\n4096: %q", small, large)
		}
	})
}
