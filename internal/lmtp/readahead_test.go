package lmtp

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"testing"
)

// chunkConn is a net.Conn whose reads return the next chunk (cut to the
// caller's buffer), then err; it records the size of every buffer it
// was handed.
type chunkConn struct {
	net.Conn
	chunks [][]byte
	err    error
	sizes  []int
}

func (c *chunkConn) Read(p []byte) (int, error) {
	c.sizes = append(c.sizes, len(p))
	if len(c.chunks) == 0 {
		return 0, c.err
	}
	n := copy(p, c.chunks[0])
	if c.chunks[0] = c.chunks[0][n:]; len(c.chunks[0]) == 0 {
		c.chunks = c.chunks[1:]
	}
	if len(c.chunks) == 0 && c.err != nil {
		return n, c.err // data and the error together, as io.Reader allows
	}
	return n, nil
}

// The read-ahead buffer hands go-smtp's 4 KiB reads the bytes in order,
// fills itself with one connection read of readAhead bytes, is given
// back when drained, passes large reads through, and reports an error
// that came with the last bytes on the next read.
func TestReadAhead(t *testing.T) {
	var want []byte
	var chunks [][]byte
	for i := range 5 {
		c := bytes.Repeat([]byte{byte('a' + i)}, 50_000+i*7000)
		chunks = append(chunks, bytes.Clone(c))
		want = append(want, c...)
	}
	cc := &chunkConn{chunks: chunks, err: io.EOF}
	tc := &trackedConn{Conn: cc}
	// go-smtp reads lines: bufio.Reader.ReadSlice, which fills its
	// 4 KiB buffer with each read of the connection.
	br := bufio.NewReaderSize(readerOnly{tc}, 4096)
	var got []byte
	var err error
	for {
		var line []byte
		line, err = br.ReadSlice('\n')
		got = append(got, line...)
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil {
			break
		}
	}
	if err != io.EOF || !bytes.Equal(got, want) {
		t.Fatalf("read %d bytes (%v), want %d in order", len(got), err, len(want))
	}
	if tc.rb != nil {
		t.Fatal("drained buffer not released")
	}
	// Every read of the connection was through the 64 KiB buffer, so
	// each 50-78 KB chunk took at most two, not one per 4 KiB.
	for _, n := range cc.sizes {
		if n != readAhead {
			t.Fatalf("connection read with a %d-byte buffer, want %d", n, readAhead)
		}
	}
	if len(cc.sizes) > 2*len(chunks)+1 {
		t.Fatalf("%d connection reads for %d chunks", len(cc.sizes), len(chunks))
	}

	// A read as large as the buffer goes straight to the connection.
	cc = &chunkConn{chunks: [][]byte{bytes.Repeat([]byte("x"), 100)}, err: errors.New("reset")}
	tc = &trackedConn{Conn: cc}
	p := make([]byte, readAhead)
	if n, err := tc.Read(p); n != 100 || err == nil || tc.rb != nil {
		t.Fatalf("large read: %d, %v, buffer %v", n, err, tc.rb != nil)
	}

	// An error returned with the last bytes: the bytes first, the error
	// at the next read.
	cc = &chunkConn{chunks: [][]byte{[]byte("DATA\r\n")}, err: errors.New("reset")}
	tc = &trackedConn{Conn: cc}
	small := make([]byte, 4)
	var all []byte
	for {
		n, err := tc.Read(small)
		all = append(all, small[:n]...)
		if err != nil {
			if err.Error() != "reset" || string(all) != "DATA\r\n" {
				t.Fatalf("got %q then %v", all, err)
			}
			break
		}
	}
}

// readerOnly hides the WriterTo and other methods, as go-smtp's reader
// sees the connection.
type readerOnly struct{ r io.Reader }

func (r readerOnly) Read(p []byte) (int, error) { return r.r.Read(p) }
