package flate

import (
	"bytes"
	"io"
	"testing"
	"time"
)

// partialFlushed is "3 NOOP\r\n" compressed by zlib (level 6, raw
// deflate) and flushed with Z_PARTIAL_FLUSH, as mbsync sends a command.
var partialFlushed = []byte{0x32, 0x56, 0xf0, 0xf3, 0xf7, 0x0f, 0xe0, 0xe5, 0x02, 0x08}

// TestPartialFlushReturnsData: the command comes out although no more
// input follows (compress/flate blocks here, waiting for the next block).
func TestPartialFlushReturnsData(t *testing.T) {
	pr, pw := io.Pipe()
	go pw.Write(partialFlushed) // the stream stays open, as a socket does
	r := NewReader(pr)
	got := make(chan string, 1)
	go func() {
		buf := make([]byte, 64)
		n, _ := io.ReadAtLeast(r, buf, len("3 NOOP\r\n"))
		got <- string(buf[:n])
	}()
	select {
	case s := <-got:
		if s != "3 NOOP\r\n" {
			t.Fatalf("decoded %q", s)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the partially flushed command was kept back")
	}
	pw.Close()
}

// TestWholeStreams: complete streams still decode to the same bytes.
func TestWholeStreams(t *testing.T) {
	for _, in := range [][]byte{nil, []byte("a"), bytes.Repeat([]byte("barid mail "), 20000)} {
		var buf bytes.Buffer
		w, _ := newStdWriter(&buf)
		w.Write(in)
		w.Close()
		out, err := io.ReadAll(NewReader(&buf))
		if err != nil || !bytes.Equal(out, in) {
			t.Fatalf("round trip of %d bytes: %d bytes, %v", len(in), len(out), err)
		}
	}
}
