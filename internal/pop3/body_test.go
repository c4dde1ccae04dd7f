package pop3

import (
	"bufio"
	"bytes"
	"strings"
	"testing"

	"barid/internal/mail/mime"
)

// retr runs copyMessage with a read buffer of size (bufio's minimum is
// 16, which cuts most lines into pieces).
func retr(t testing.TB, msg string, size int, top int64) string {
	var out bytes.Buffer
	w := bufio.NewWriter(&out)
	if _, err := copyMessage(w, bufio.NewReaderSize(nil, size), strings.NewReader(msg), top); err != nil {
		t.Fatal(err)
	}
	w.Flush()
	return out.String()
}

// retrBytes runs copyBytes (the in-memory path) with a write buffer of
// size, so long clean runs bypass it.
func retrBytes(t testing.TB, msg string, size int, top int64) string {
	var out bytes.Buffer
	w := bufio.NewWriterSize(&out, size)
	if _, err := copyBytes(w, []byte(msg), top); err != nil {
		t.Fatal(err)
	}
	w.Flush()
	return out.String()
}

func TestCopyMessage(t *testing.T) {
	tests := []struct {
		name, msg string
		top       int64
		want      string
	}{
		{"crlf", "Subject: a\r\n\r\nbody\r\n", -1, "Subject: a\r\n\r\nbody\r\n.\r\n"},
		{"bare LF", "Subject: a\n\nbody\n", -1, "Subject: a\r\n\r\nbody\r\n.\r\n"},
		{"CR CR LF", "Subject: a\r\r\n\r\nbody\r\r\n", -1, "Subject: a\r\n\r\nbody\r\n.\r\n"},
		{"CR CR CR LF keeps one", "S: a\r\n\r\nx\r\r\r\n", -1, "S: a\r\n\r\nx\r\r\n.\r\n"},
		{"dot stuffing", "S: a\r\n\r\n.\r\n..x\r\n.\n", -1, "S: a\r\n\r\n..\r\n...x\r\n..\r\n.\r\n"},
		{"no final line end", "S: a\r\n\r\nlast", -1, "S: a\r\n\r\nlast\r\n.\r\n"},
		{"final lone CR", "S: a\r\n\r\nlast\r", -1, "S: a\r\n\r\nlast\r\r\n.\r\n"},
		{"empty", "", -1, ".\r\n"},
		{"top 0", "A: 1\r\nB: 2\r\n\r\nl1\r\nl2\r\n", 0, "A: 1\r\nB: 2\r\n\r\n.\r\n"},
		{"top 1", "A: 1\r\n\r\nl1\r\nl2\r\n", 1, "A: 1\r\n\r\nl1\r\n.\r\n"},
		{"top past end", "A: 1\r\n\r\nl1\r\n", 5, "A: 1\r\n\r\nl1\r\n.\r\n"},
		{"top no blank line", "A: 1\r\nB: 2", 0, "A: 1\r\nB: 2\r\n.\r\n"},
		{"top bare LF", "A: 1\n\n.l1\nl2\n", 1, "A: 1\r\n\r\n..l1\r\n.\r\n"},
	}
	for _, tt := range tests {
		for _, size := range []int{16, 17, 4096} {
			if got := retr(t, tt.msg, size, tt.top); got != tt.want {
				t.Errorf("%s (buffer %d): got %q, want %q", tt.name, size, got, tt.want)
			}
			if got := retrBytes(t, tt.msg, size, tt.top); got != tt.want {
				t.Errorf("%s (copyBytes, write buffer %d): got %q, want %q", tt.name, size, got, tt.want)
			}
		}
	}
}

// A line far longer than the read buffer, with CRs around the piece
// boundaries and a dot at its start.
func TestCopyMessageLongLines(t *testing.T) {
	for _, crs := range []int{0, 1, 2, 3, 17, 40} {
		long := "." + strings.Repeat("x", 15) + strings.Repeat("\r", crs) + strings.Repeat("y", 100)
		msg := "S: a\r\n\r\n" + long + "\n" + strings.Repeat("\r", crs) + "\n"
		got := retr(t, msg, 16, -1)
		want := "S: a\r\n\r\n." + long + "\r\n" + strings.Repeat("\r", max(crs-2, 0)) + "\r\n.\r\n"
		if got != want {
			t.Errorf("crs=%d: got %q\nwant %q", crs, got, want)
		}
		if got := retrBytes(t, msg, 16, -1); got != want {
			t.Errorf("crs=%d copyBytes: got %q\nwant %q", crs, got, want)
		}
	}
}

// FuzzCopyMessage: whatever the bytes and however the reads cut them,
// the output unstuffed is the message with CRLF line ends, its size is
// the store's RFC822.SIZE as internal/mail/mime counts it (what LIST
// reports), and TOP sends a prefix of RETR. copyBytes, the path for
// bytes already in memory, sends exactly what copyMessage sends.
func FuzzCopyMessage(f *testing.F) {
	for _, s := range []string{"S: a\r\n\r\nb\r\n", "S: a\n\n.b\n", "S\r\r\n\r\r\n\r", "..\r\n.", "A: \x00\r\n\r\n\r\r\r\n"} {
		f.Add([]byte(s), uint8(0), int8(2))
	}
	f.Fuzz(func(t *testing.T, msg []byte, bufExtra uint8, top int8) {
		out := retr(t, string(msg), 16+int(bufExtra), -1)
		if mem := retrBytes(t, string(msg), 16+int(bufExtra), -1); mem != out {
			t.Fatalf("copyBytes %q, copyMessage %q", mem, out)
		}
		if !strings.HasSuffix(out, ".\r\n") {
			t.Fatalf("no terminator: %q", out)
		}
		body := out[:len(out)-3]
		if body != "" && !strings.HasSuffix(body, "\r\n") {
			t.Fatalf("last line without CRLF: %q", out)
		}
		for l := range strings.Lines(body) {
			if !strings.HasSuffix(l, "\r\n") || strings.Contains(strings.TrimSuffix(l, "\r\n"), "\n") {
				t.Fatalf("bad line %q in %q", l, out)
			}
			if l == ".\r\n" {
				t.Fatalf("unstuffed terminator inside the body: %q", out)
			}
		}
		var un strings.Builder
		for l := range strings.Lines(body) {
			un.WriteString(strings.TrimPrefix(l, "."))
		}
		size := crlfSize(msg)
		wantLen := size
		if len(msg) > 0 && msg[len(msg)-1] != '\n' {
			wantLen += 2 // the CRLF added to a last line without one
		}
		if int64(un.Len()) != wantLen {
			t.Fatalf("unstuffed %d bytes, crlfSize %d (+CRLF): %q -> %q", un.Len(), size, msg, out)
		}
		root, err := mime.Parse(bytes.NewReader(msg), mime.DefaultLimits())
		if err != nil {
			t.Fatal(err)
		}
		if v := root.HeaderVSize + root.BodyVSize; v != size {
			t.Fatalf("mime virtual size %d, POP3 sends %d: %q", v, size, msg)
		}
		if top >= 0 {
			tout := retr(t, string(msg), 16+int(bufExtra), int64(top))
			if mem := retrBytes(t, string(msg), 16+int(bufExtra), int64(top)); mem != tout {
				t.Fatalf("TOP %d: copyBytes %q, copyMessage %q", top, mem, tout)
			}
			if !strings.HasPrefix(body+".\r\n", strings.TrimSuffix(tout, ".\r\n")) && !strings.HasPrefix(out, strings.TrimSuffix(tout, "\r\n.\r\n")) {
				t.Fatalf("TOP %d is not a prefix of RETR: %q vs %q", top, tout, out)
			}
		}
	})
}

func TestBitset(t *testing.T) {
	b := newBitset(130)
	for _, i := range []int{0, 63, 64, 129} {
		b.set(i)
	}
	for i := 0; i < 130; i++ {
		want := i == 0 || i == 63 || i == 64 || i == 129
		if b.has(i) != want {
			t.Errorf("bit %d = %v", i, b.has(i))
		}
	}
	b.clear()
	if b.has(64) {
		t.Error("clear left a bit")
	}
}
