package bench

import (
	"bytes"
	"testing"
)

// The benchmark's message has the size asked for and needs no dot
// stuffing, so DATA sends exactly its bytes plus ".\r\n".
func TestBenchMessage(t *testing.T) {
	for _, size := range []int{1024, 4097, 10 << 20} {
		m := benchMessage("a@localhost", "b@example.org", size)
		if len(m) != size {
			t.Errorf("size %d: got %d bytes", size, len(m))
		}
		if bytes.Contains(m, []byte("\n.")) || !bytes.HasSuffix(m, []byte("\r\n")) || bytes.Contains(bytes.ReplaceAll(m, []byte("\r\n"), nil), []byte("\n")) {
			t.Errorf("size %d: a line starts with '.', a bare LF, or no final CRLF", size)
		}
	}
}
