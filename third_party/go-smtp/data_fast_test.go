package smtp

// BARID: tests of the DATA fast path (see BARID.md).

import (
	"bufio"
	"bytes"
	"io"
	"math/rand"
	"net/textproto"
	"strings"
	"testing"
)

// refDecode is the byte-at-a-time state machine of v0.25.1 (from
// net/textproto), the reference the fast path must agree with.
func refDecode(in []byte) ([]byte, error) {
	const (
		beginLine = iota
		dot
		dotCR
		cr
		data
		eof
	)
	var out []byte
	state := beginLine
	for _, c := range in {
		if state == eof {
			break
		}
		switch state {
		case beginLine:
			if c == '.' {
				state = dot
				continue
			}
			if c == '\r' {
				state = cr
				break
			}
			state = data
		case dot:
			if c == '\r' {
				state = dotCR
				continue
			}
			state = data
		case dotCR:
			if c == '\n' {
				state = eof
				continue
			}
			state = data
		case cr:
			if c == '\n' {
				state = beginLine
				break
			}
			state = data
		case data:
			if c == '\r' {
				state = cr
			}
		}
		out = append(out, c)
	}
	if state != eof {
		return out, io.ErrUnexpectedEOF
	}
	return out, nil
}

// smallReads returns at most k bytes per Read, so the bufio.Reader
// refills mid-line.
type smallReads struct {
	r io.Reader
	k int
}

func (s *smallReads) Read(p []byte) (int, error) {
	if len(p) > s.k {
		p = p[:s.k]
	}
	return s.r.Read(p)
}

func decodeFast(in []byte, bufSize, readSize, chunk int, limit int64) ([]byte, error) {
	dr := &dataReader{r: bufio.NewReaderSize(&smallReads{bytes.NewReader(in), readSize}, bufSize)}
	if limit > 0 {
		dr.limited, dr.n = true, limit
	}
	var out []byte
	buf := make([]byte, chunk)
	for {
		n, err := dr.Read(buf)
		out = append(out, buf[:n]...)
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
	}
}

func TestDataReaderFastPath(t *testing.T) {
	cases := []string{
		"Subject: hi\r\n\r\nbody\r\n.\r\n",
		"..leading dot\r\n.\r\n",
		".\r\n",
		"a\rb\r\nc\n.d\r\n..\r\n.\r\n",
		"no end marker\r\n",
		"line\r\n.\r\ntrailing after the end\r\n",
		"\r\r\n.\r\r\n.\r\n",
		strings.Repeat("x", 5000) + "\r\n.\r\n",
	}
	r := rand.New(rand.NewSource(1))
	alphabet := []byte("ab.\r\n")
	for i := 0; i < 400; i++ {
		b := make([]byte, r.Intn(300))
		for j := range b {
			b[j] = alphabet[r.Intn(len(alphabet))]
		}
		cases = append(cases, string(b)+"\r\n.\r\n")
	}
	for _, in := range cases {
		want, wantErr := refDecode([]byte(in))
		for _, p := range [][3]int{{16, 1, 1}, {16, 3, 7}, {16, 16, 4096}, {4096, 4096, 5}, {4096, 100, 4096}} {
			got, err := decodeFast([]byte(in), p[0], p[1], p[2], 0)
			if !bytes.Equal(got, want) || (err == nil) != (wantErr == nil) {
				t.Fatalf("input %q (buf %d, reads %d, chunk %d):\n got %q, %v\nwant %q, %v", in, p[0], p[1], p[2], got, err, want, wantErr)
			}
		}
	}
}

// TestDataReaderFastPathLimit: MaxMessageBytes still cuts at the limit.
func TestDataReaderFastPathLimit(t *testing.T) {
	in := strings.Repeat("0123456789", 100) + "\r\n.\r\n"
	got, err := decodeFast([]byte(in), 16, 16, 64, 500)
	if err != ErrDataTooLarge || len(got) != 500 {
		t.Fatalf("got %d bytes, %v; want 500, ErrDataTooLarge", len(got), err)
	}
}

func BenchmarkDataReader1MB(b *testing.B) {
	var sb strings.Builder
	for sb.Len() < 1<<20 {
		sb.WriteString("This is a line of a long message, seventy-six characters or so wide.\r\n")
	}
	sb.WriteString(".\r\n")
	in := []byte(sb.String())
	src := bytes.NewReader(in)
	br := bufio.NewReader(src)
	buf := make([]byte, 32<<10)
	b.SetBytes(int64(len(in)))
	for i := 0; i < b.N; i++ {
		src.Reset(in)
		br.Reset(src)
		dr := &dataReader{r: br}
		for {
			_, err := dr.Read(buf)
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
		}
	}
}

// refLineLimit is v0.25.1's lineLimitReader loop.
func refLineLimit(chunks [][]byte, limit int) (ok []int, failAt int) {
	cur := 0
	for ci, b := range chunks {
		if cur > limit {
			return ok, ci
		}
		for _, chr := range b {
			if chr == '\n' {
				cur = 0
			}
			cur++
			if cur > limit {
				return ok, ci
			}
		}
		ok = append(ok, len(b))
	}
	return ok, -1
}

// TestLineLimitReader: the IndexByte version fails at the same Read as
// the byte loop, over random chunkings of random lines.
func TestLineLimitReader(t *testing.T) {
	r := rand.New(rand.NewSource(2))
	for iter := 0; iter < 3000; iter++ {
		limit := 1 + r.Intn(20)
		var chunks [][]byte
		for c := r.Intn(6); c >= 0; c-- {
			b := make([]byte, r.Intn(30))
			for j := range b {
				if r.Intn(8) == 0 {
					b[j] = '\n'
				} else {
					b[j] = 'x'
				}
			}
			chunks = append(chunks, b)
		}
		wantOK, wantFail := refLineLimit(chunks, limit)
		lr := &lineLimitReader{LineLimit: limit}
		failAt := -1
		var gotOK []int
		for ci, c := range chunks {
			lr.R = bytes.NewReader(c)
			n, err := lr.Read(make([]byte, len(c)+1))
			if err == ErrTooLongLine {
				failAt = ci
				break
			}
			if len(c) == 0 {
				n = 0
			}
			gotOK = append(gotOK, n)
		}
		if failAt != wantFail || len(gotOK) != len(wantOK) {
			t.Fatalf("limit %d chunks %q: fails at %d after %v, want %d after %v", limit, chunks, failAt, gotOK, wantFail, wantOK)
		}
	}
}

// TestDotWriter: the client's DATA writer produces what textproto's
// DotWriter produces, whatever the input and its split into Writes.
func TestDotWriter(t *testing.T) {
	r := rand.New(rand.NewSource(3))
	alphabet := []byte("ab.\r\n")
	cases := []string{"", ".", "\r", "\n", ".\r\n", "a\nb\r\nc\r", "..x\n.\n\r\r\n", strings.Repeat("line\r\n", 1000)}
	for i := 0; i < 2000; i++ {
		b := make([]byte, r.Intn(200))
		for j := range b {
			b[j] = alphabet[r.Intn(len(alphabet))]
		}
		cases = append(cases, string(b))
	}
	for _, in := range cases {
		var want bytes.Buffer
		tw := textproto.NewWriter(bufio.NewWriter(&want))
		dw := tw.DotWriter()
		io.WriteString(dw, in)
		dw.Close()

		var got bytes.Buffer
		d := &dotWriter{w: bufio.NewWriterSize(&got, 16)}
		for rest := in; len(rest) > 0; {
			k := 1 + r.Intn(len(rest))
			if n, err := d.Write([]byte(rest[:k])); n != k || err != nil {
				t.Fatalf("Write: %d, %v", n, err)
			}
			rest = rest[k:]
		}
		if err := d.Close(); err != nil {
			t.Fatal(err)
		}
		if got.String() != want.String() {
			t.Fatalf("input %q:\n got %q\nwant %q", in, got.String(), want.String())
		}
	}
}

func BenchmarkDotWriter1MB(b *testing.B) {
	var sb strings.Builder
	for sb.Len() < 1<<20 {
		sb.WriteString("This is a line of a long message, seventy-six characters or so wide.\r\n")
	}
	in := []byte(sb.String())
	bw := bufio.NewWriter(io.Discard)
	b.SetBytes(int64(len(in)))
	for i := 0; i < b.N; i++ {
		d := &dotWriter{w: bw}
		d.Write(in)
		d.Close()
	}
}

func BenchmarkTextprotoDotWriter1MB(b *testing.B) {
	var sb strings.Builder
	for sb.Len() < 1<<20 {
		sb.WriteString("This is a line of a long message, seventy-six characters or so wide.\r\n")
	}
	in := []byte(sb.String())
	tw := textproto.NewWriter(bufio.NewWriter(io.Discard))
	b.SetBytes(int64(len(in)))
	for i := 0; i < b.N; i++ {
		d := tw.DotWriter()
		d.Write(in)
		d.Close()
	}
}
