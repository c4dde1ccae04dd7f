package wire

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"testing"
	"time"
)

// endless yields prefix and then an endless stream of b, so that a test
// can prove the decoder gives up without reading (or buffering) it all.
type endless struct {
	prefix string
	b      byte
	read   int64
}

func (e *endless) Read(p []byte) (int, error) {
	n := copy(p, e.prefix)
	e.prefix = e.prefix[n:]
	for i := n; i < len(p); i++ {
		p[i] = e.b
	}
	e.read += int64(len(p))
	return len(p), nil
}

func TestLineLengthLimit(t *testing.T) {
	t.Parallel()
	src := &endless{prefix: "a LOGIN ", b: 'x'} // an 8 MB (or endless) line
	d := NewDecoder(bufio.NewReader(src), Options{MaxLineLength: 65536})
	g := &generic{d: d}
	if g.command() {
		t.Fatal("endless line accepted")
	}
	var le *LimitError
	if !errors.As(d.Err(), &le) || le.Limit != LimitLineLength || le.Max != 65536 {
		t.Fatalf("Err() = %v", d.Err())
	}
	if src.read > 65536+2*4096 {
		t.Errorf("read %d bytes before refusing", src.read)
	}
	if cap(d.scratch) > 2*65536 {
		t.Errorf("scratch grew to %d", cap(d.scratch))
	}

	// Exactly at the limit is fine; one more byte is not.
	line := "a NOOP " + strings.Repeat("y", 100-len("a NOOP \r\n"))
	if got := parseAll(line+"\r\n", Options{MaxLineLength: 100}); len(got) != 1 || strings.HasPrefix(got[0], "ERR") {
		t.Errorf("line of exactly 100 bytes: %q", got)
	}
	if got := parseAll(line+"yy\r\nb NOOP\r\n", Options{MaxLineLength: 100}); len(got) != 2 ||
		got[0] != "ERR: line_length limit exceeded (max 100 bytes)" || got[1] != "tag:b|NOOP" {
		t.Errorf("line of 101 bytes: %q", got)
	}
}

func TestLineLengthCountsQuoted(t *testing.T) {
	in := "a LOGIN \"" + strings.Repeat("q", 200) + "\" x\r\nb NOOP\r\n"
	got := parseAll(in, Options{MaxLineLength: 50})
	if len(got) != 2 || got[0] != "ERR: line_length limit exceeded (max 50 bytes)" || got[1] != "tag:b|NOOP" {
		t.Errorf("got %q", got)
	}
}

func TestNestingLimit(t *testing.T) {
	t.Parallel()
	// 200,000 nested parentheses are refused at MaxDepth, quickly and
	// without deep recursion.
	in := "a SEARCH " + strings.Repeat("(", 200000) + strings.Repeat(")", 200000) + "\r\nb NOOP\r\n"
	start := time.Now()
	got := parseAll(in, Options{MaxLineLength: 1 << 20})
	if len(got) != 2 || got[0] != "ERR: nesting_depth limit exceeded (max 64)" || got[1] != "tag:b|NOOP" {
		t.Errorf("got %q", got)
	}
	if el := time.Since(start); el > 2*time.Second {
		t.Errorf("took %v", el)
	}
	// Depth exactly MaxDepth is allowed.
	ok := "a X " + strings.Repeat("(", 3) + strings.Repeat(")", 3) + "\r\n"
	if got := parseAll(ok, Options{MaxDepth: 3}); len(got) != 1 || strings.HasPrefix(got[0], "ERR") {
		t.Errorf("depth 3: %q", got)
	}
	bad := "a X " + strings.Repeat("(", 4) + strings.Repeat(")", 4) + "\r\n"
	if got := parseAll(bad, Options{MaxDepth: 3}); len(got) != 1 || got[0] != "ERR: nesting_depth limit exceeded (max 3)" {
		t.Errorf("depth 4: %q", got)
	}
	// Sequential lists do not accumulate depth.
	seq := "a X " + strings.Repeat("(()) ", 100) + "()\r\n"
	if got := parseAll(seq, Options{MaxDepth: 2}); len(got) != 1 || strings.HasPrefix(got[0], "ERR") {
		t.Errorf("sequential: %q", got)
	}
}

func TestEnterLeave(t *testing.T) {
	d := newDec("", Options{MaxDepth: 2})
	for i := range 2 {
		if !d.Enter() {
			t.Fatalf("Enter %d failed below the limit", i)
		}
	}
	if d.Enter() || !IsLimit(d.Err()) {
		t.Fatalf("third Enter: %v", d.Err())
	}
	d = newDec("", Options{MaxDepth: 1})
	if !d.Enter() {
		t.Fatal(d.Err())
	}
	d.Leave()
	if !d.Enter() {
		t.Fatalf("Enter after Leave: %v", d.Err())
	}
}

type contCall struct {
	size    int64
	nonSync bool
}

func TestLiteralContinue(t *testing.T) {
	var calls []contCall
	var out strings.Builder
	opts := Options{MaxLiteralSize: 10, MaxStringLiteral: 8, Continue: func(size int64, nonSync bool) error {
		calls = append(calls, contCall{size, nonSync})
		if !nonSync {
			out.WriteString("+ Ready\r\n")
		}
		return nil
	}}
	got := parseAll("a LOGIN {3}\r\nfoo {4+}\r\nbarz\r\n", opts)
	if len(got) != 1 || got[0] != `tag:a|LOGIN|str:"foo"|str:"barz"` {
		t.Errorf("got %q", got)
	}
	if fmt.Sprint(calls) != "[{3 false} {4 true}]" || out.String() != "+ Ready\r\n" {
		t.Errorf("calls %v, out %q", calls, out.String())
	}

	// Over MaxLiteralSize: refused before Continue; a synchronizing
	// literal has no data following, so the next line is a new command.
	calls = nil
	got = parseAll("a APPEND x {11}\r\nb NOOP\r\n", opts)
	if len(got) != 2 || got[0] != "ERR: literal_size limit exceeded (max 10 bytes)" || got[1] != "tag:b|NOOP" {
		t.Errorf("got %q", got)
	}
	if len(calls) != 0 {
		t.Errorf("Continue called for an over-limit literal: %v", calls)
	}

	// Over MaxStringLiteral (but within MaxLiteralSize).
	got = parseAll("a LOGIN {9}\r\nb NOOP\r\n", opts)
	if len(got) != 2 || got[0] != "ERR: string_literal limit exceeded (max 8 bytes)" || got[1] != "tag:b|NOOP" {
		t.Errorf("got %q", got)
	}
	if len(calls) != 0 {
		t.Errorf("Continue called for an over-limit string literal: %v", calls)
	}
}

func TestStringLiteralTotal(t *testing.T) {
	opts := Options{MaxStringLiteral: 4, MaxStringLiteralTotal: 10}
	got := parseAll("a X {4+}\r\naaaa {4+}\r\nbbbb {4+}\r\ncccc\r\nb X {4+}\r\ndddd\r\n", opts)
	want := []string{"ERR: string_literal_total limit exceeded (max 10 bytes)", `tag:b|X|str:"dddd"`}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got %q", got)
	}
}

func TestContinueRefusal(t *testing.T) {
	// LITERAL- (RFC 7888 §5): non-synchronizing literals over 4096 bytes
	// are refused by the server's hook; the client sends the data anyway,
	// so DiscardLine must skip it and resynchronize.
	errTooBig := errors.New("LITERAL- limit")
	opts := Options{Continue: func(size int64, nonSync bool) error {
		if nonSync && size > 4096 {
			return errTooBig
		}
		return nil
	}}
	payload := strings.Repeat("z", 5000)
	in := "a APPEND x {5000+}\r\n" + payload + " {2+}\r\nzz\r\nb NOOP\r\n"
	got := parseAll(in, opts)
	if len(got) != 2 || got[0] != "ERR: LITERAL- limit" || got[1] != "tag:b|NOOP" {
		t.Errorf("got %q", got)
	}
	// A refused synchronizing literal: no data follows.
	opts.Continue = func(int64, bool) error { return errTooBig }
	got = parseAll("a LOGIN {3}\r\nb NOOP\r\n", opts)
	if len(got) != 2 || got[0] != "ERR: LITERAL- limit" || got[1] != "tag:b|NOOP" {
		t.Errorf("got %q", got)
	}
}

func TestDiscardLine(t *testing.T) {
	tests := []struct {
		name, in string
		want     []string
	}{
		{"plain", "a BAD( x\r\nb NOOP\r\n", []string{`ERR: syntax error: expected end of line, got "("`, "tag:b|NOOP"}},
		{"nonsync literal at end of failed line is skipped",
			"a X ) {5+}\r\nb NOO\r\nc NOOP\r\n", []string{`ERR: syntax error: expected mailbox pattern, got ")"`, "tag:c|NOOP"}},
		{"chain of nonsync literals", "a X ) {1+}\r\n\n {3+}\r\nx\r\n\r\nc NOOP\r\n",
			[]string{`ERR: syntax error: expected mailbox pattern, got ")"`, "tag:c|NOOP"}},
		{"sync literal at end of failed line ends the command",
			"a X ) {5}\r\nb NOOP\r\n", []string{`ERR: syntax error: expected mailbox pattern, got ")"`, "tag:b|NOOP"}},
		{"literal8 nonsync", "a X ) ~{2+}\r\n\r\n\r\nb NOOP\r\n", []string{`ERR: syntax error: expected mailbox pattern, got ")"`, "tag:b|NOOP"}},
		{"bare LF line ends", "a X )\nb NOOP\n", []string{`ERR: syntax error: expected mailbox pattern, got ")"`, "tag:b|NOOP"}},
		{"not a literal", "a X ) {x+}\r\nb NOOP\r\n", []string{`ERR: syntax error: expected mailbox pattern, got ")"`, "tag:b|NOOP"}},
		{"error inside string literal payload", "a X {3}\r\n\x00bc rest\r\nb NOOP\r\n", []string{"ERR: syntax error: NUL in literal", "tag:b|NOOP"}},
		{"huge nonsync is fatal", "a X ) {99999999999+}\r\nb NOOP\r\n",
			[]string{`ERR: syntax error: expected mailbox pattern, got ")"`, "FATAL: literal_size limit exceeded (max 67108864 bytes)"}},
		{"over-limit nonsync header is fatal", "a X {99999999999+}\r\nb NOOP\r\n",
			[]string{`ERR: literal_size limit exceeded (max 67108864 bytes)`, "FATAL: literal_size limit exceeded (max 67108864 bytes)"}},
		{"very long line", "a X )" + strings.Repeat("w", 100000) + "\r\nb NOOP\r\n", []string{`ERR: syntax error: expected mailbox pattern, got ")"`, "tag:b|NOOP"}},
		{"truncated", "a X )abc", []string{`ERR: syntax error: expected mailbox pattern, got ")"`, "FATAL: unexpected EOF"}},
	}
	for _, tt := range tests {
		got := parseAll(tt.in, Options{})
		if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
			t.Errorf("%s:\n got %q\nwant %q", tt.name, got, tt.want)
		}
	}
}

func TestLiteralStreaming(t *testing.T) {
	var calls []contCall
	opts := Options{MaxLiteralSize: 100, Continue: func(size int64, nonSync bool) error {
		calls = append(calls, contCall{size, nonSync})
		return nil
	}}
	msg := "From: a@b\r\n\r\nbody\r\n"
	in := fmt.Sprintf("A003 APPEND saved {%d}\r\n%s {3+}\r\nabc ~{2}\r\n\x00\x01\r\n", len(msg), msg)
	d := newDec(in, opts)
	var s string
	if !d.Tag(&s) || !d.SP() || !d.Atom(&s) || !d.SP() || !d.AString(&s) || !d.SP() {
		t.Fatal(d.Err())
	}
	r, size, bin, ok := d.Literal()
	if !ok || size != int64(len(msg)) || bin {
		t.Fatalf("Literal: %v %v %v", size, bin, d.Err())
	}
	b, err := io.ReadAll(r)
	if err != nil || string(b) != msg {
		t.Fatalf("payload %q %v", b, err)
	}
	// Second literal: read one byte only; the next call discards the rest.
	if !d.SP() {
		t.Fatal(d.Err())
	}
	r2, size, _, ok := d.Literal()
	if !ok || size != 3 {
		t.Fatal(d.Err())
	}
	one := make([]byte, 1)
	if n, err := r2.Read(one); n != 1 || err != nil || one[0] != 'a' {
		t.Fatalf("read %d %v", n, err)
	}
	if !d.SP() {
		t.Fatalf("SP after partly read literal: %v", d.Err())
	}
	if n, err := r2.Read(one); n != 0 || err != io.EOF {
		t.Errorf("stale reader: %d %v", n, err)
	}
	r3, size, bin, ok := d.Literal()
	if !ok || size != 2 || !bin {
		t.Fatal(d.Err())
	}
	b, _ = io.ReadAll(r3)
	if string(b) != "\x00\x01" || !d.CRLF() {
		t.Fatalf("literal8 %q %v", b, d.Err())
	}
	if fmt.Sprint(calls) != fmt.Sprintf("[{%d false} {3 true} {2 false}]", len(msg)) {
		t.Errorf("calls %v", calls)
	}

	// Not a literal.
	d = newDec("abc", opts)
	if _, _, _, ok := d.Literal(); ok || !IsSyntax(d.Err()) {
		t.Errorf("Literal on atom: %v", d.Err())
	}
	// Truncated payload.
	d = newDec("{10}\r\nabc", opts)
	r, _, _, _ = d.Literal()
	if _, err := io.ReadAll(r); err != io.ErrUnexpectedEOF || d.Err() != io.ErrUnexpectedEOF {
		t.Errorf("truncated literal: %v %v", err, d.Err())
	}
}

func TestDiscardLineAtEOL(t *testing.T) {
	// A command that parsed completely but failed later (say, a semantic
	// check in the server): DiscardLine must not eat the next command.
	d := newDec("a NOOP\r\nb NOOP\r\n", Options{})
	g := &generic{d: d}
	if !g.command() || !d.AtEOL() {
		t.Fatalf("first command: %v eol=%v", d.Err(), d.AtEOL())
	}
	if err := d.DiscardLine(); err != nil {
		t.Fatal(err)
	}
	if !g.command() || strings.Join(g.out, "|") != "tag:b|NOOP" {
		t.Fatalf("second command lost: %q %v", g.out, d.Err())
	}
	// The CRLF of a literal header is not the end of the command.
	d = newDec("a LOGIN {1}\r\nx y\r\n", Options{})
	var s string
	if !d.Tag(&s) || !d.SP() || !d.Atom(&s) || !d.SP() {
		t.Fatal(d.Err())
	}
	r, _, _, ok := d.Literal()
	if !ok || d.AtEOL() {
		t.Fatalf("after literal header: ok=%v eol=%v", ok, d.AtEOL())
	}
	_, _ = io.ReadAll(r)
	if d.AtEOL() || !d.SP() || !d.Atom(&s) || !d.CRLF() || !d.AtEOL() {
		t.Fatalf("end: eol=%v %v", d.AtEOL(), d.Err())
	}
	d.ResetLine()
	if d.AtEOL() {
		t.Error("ResetLine did not clear AtEOL")
	}
}

// TestHostileInputMemory checks that an 8 MB line and 200,000 nested
// parentheses are refused with bounded allocation.
func TestHostileInputMemory(t *testing.T) {
	measure := func(f func()) uint64 {
		var a, b runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&a)
		f()
		runtime.ReadMemStats(&b)
		return b.TotalAlloc - a.TotalAlloc
	}
	line := "a LOGIN " + strings.Repeat("x", 8<<20) + "\r\n"
	nested := "a SEARCH " + strings.Repeat("(", 200000) + "\r\n"
	for name, in := range map[string]string{"8MB line": line, "200k parens": nested} {
		r := strings.NewReader(in)
		var err error
		alloc := measure(func() {
			d := NewDecoder(bufio.NewReader(r), Options{})
			g := &generic{d: d}
			g.command()
			err = d.Err()
		})
		if !IsLimit(err) {
			t.Errorf("%s: err = %v", name, err)
		}
		if alloc > 1<<20 {
			t.Errorf("%s: allocated %d bytes", name, alloc)
		}
		t.Logf("%s: %v after reading %d bytes, allocated %d bytes", name, err, int64(len(in))-int64(r.Len()), alloc)
	}
}
