package server_test

import (
	"bufio"
	"bytes"
	"compress/flate"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"

	"barid/internal/config"
)

// clientDeflate is the client half of RFC 4978: writes are compressed
// and sync-flushed per Write (one command), reads are inflated.
type clientDeflate struct {
	net.Conn
	zr io.Reader
	zw *flate.Writer
}

func (d *clientDeflate) Read(p []byte) (int, error) { return d.zr.Read(p) }
func (d *clientDeflate) Write(p []byte) (int, error) {
	n, err := d.zw.Write(p)
	if err == nil {
		err = d.zw.Flush()
	}
	return n, err
}

// startDeflate switches c to compression after "OK DEFLATE active": the
// bytes already buffered from the server are the start of the
// compressed stream.
func (c *rawConn) startDeflate() *clientDeflate {
	c.t.Helper()
	zw, err := flate.NewWriter(c.nc, flate.BestCompression)
	if err != nil {
		c.t.Fatal(err)
	}
	d := &clientDeflate{Conn: c.nc, zr: flate.NewReader(c.br), zw: zw}
	c.nc = d
	c.br = bufio.NewReader(d)
	return d
}

func (c *rawConn) compress() *clientDeflate {
	c.t.Helper()
	c.expectOK("z1", "COMPRESS DEFLATE")
	return c.startDeflate()
}

// exerciseCompressed runs a session over a compressed link: a
// synchronizing literal (its "+" must be flushed through the
// compressor), a large fetch, a refused second COMPRESS, pipelining.
func exerciseCompressed(t *testing.T, c *rawConn) {
	t.Helper()
	body := "Subject: deflate\r\n\r\n" + strings.Repeat("compressible line of text\r\n", 2000)
	c.send(fmt.Sprintf("a1 APPEND INBOX {%d}\r\n", len(body)))
	if l := c.readLine(); !strings.HasPrefix(l, "+") {
		t.Fatalf("expected continuation, got %q", l)
	}
	c.send(body + "\r\n")
	mustHave(t, c.until("a1"), `^a1 OK \[APPENDUID \d+ 1\]`)
	c.expectOK("a2", "SELECT INBOX")
	lines := c.expectOK("a3", "FETCH 1 BODY[]")
	if !strings.Contains(lines[0], body) {
		t.Fatalf("body did not round-trip: %.200q", lines[0])
	}
	// RFC 4978 §3: a second COMPRESS while one is active.
	mustHave(t, c.cmd("a4", "COMPRESS DEFLATE"), `^a4 NO \[COMPRESSIONACTIVE\] `)
	// Two commands in one compressed write.
	c.send("a5 NOOP\r\na6 NOOP\r\n")
	mustHave(t, c.until("a5"), `^a5 OK`)
	mustHave(t, c.until("a6"), `^a6 OK`)
	mustHave(t, c.cmd("a7", "LOGOUT"), `^a7 OK`)
}

// RFC 4978 §3 example, on a plain connection.
func TestCompressDeflate(t *testing.T) {
	ts := startServer(t)
	ts.addUser("zed", "pw")
	c := ts.dial()
	mustNotHave(t, c.expectOK("c0", "CAPABILITY"), `COMPRESS`)
	mustHave(t, c.cmd("c1", "COMPRESS DEFLATE"), `^c1 BAD COMPRESS is not allowed in the not authenticated state`)
	c.login("zed", "pw")
	mustHave(t, c.expectOK("c2", "CAPABILITY"), `^\* CAPABILITY .* COMPRESS=DEFLATE`)
	mustHave(t, c.cmd("c3", "COMPRESS LZW"), `^c3 BAD `)
	mustHave(t, c.cmd("c4", "COMPRESS"), `^c4 BAD `)
	mustHave(t, c.cmd("c5", "COMPRESS DEFLATE extra"), `^c5 BAD `)
	mustHave(t, c.expectOK("c6", "NOOP"), `^c6 OK`) // still uncompressed
	lines := c.cmd("b", "compress deflate")
	if got := lines[len(lines)-1]; got != "b OK DEFLATE active" {
		t.Fatalf("got %q", got)
	}
	c.startDeflate()
	exerciseCompressed(t, c)
}

// The RFC 4978 §3 example: COMPRESS after STARTTLS (compressed, then
// encrypted), and on the implicit TLS port.
func TestCompressOverTLS(t *testing.T) {
	ts := startServer(t)
	ts.addUser("zed", "pw")
	c := ts.dial()
	c.expectOK("a", "STARTTLS")
	tc := tls.Client(c.nc, &tls.Config{InsecureSkipVerify: true})
	if err := tc.Handshake(); err != nil {
		t.Fatal(err)
	}
	c.nc = tc
	c.br.Reset(tc)
	c.login("zed", "pw")
	c.compress()
	exerciseCompressed(t, c)

	c2 := ts.dialTLS()
	c2.login("zed", "pw")
	c2.compress()
	mustHave(t, c2.expectOK("b1", "SELECT INBOX"), `^\* 1 EXISTS`)
}

// A client may pipeline compressed commands right behind COMPRESS: the
// server must inflate the bytes it already buffered.
func TestCompressPipelined(t *testing.T) {
	ts := startServer(t)
	ts.addUser("zed", "pw")
	c := ts.dial()
	c.login("zed", "pw")
	var z bytes.Buffer
	zw, _ := flate.NewWriter(&z, flate.DefaultCompression)
	zw.Write([]byte("p2 NOOP\r\n"))
	zw.Flush()
	c.send("p1 COMPRESS DEFLATE\r\n" + z.String())
	if l := c.readLine(); l != "p1 OK DEFLATE active" {
		t.Fatalf("got %q", l)
	}
	c.startDeflate()
	mustHave(t, c.until("p2"), `^p2 OK`)
}

// IDLE pushes are flushed through the compressor.
func TestCompressIdlePush(t *testing.T) {
	ts := startServer(t)
	ts.addUser("zed", "pw")
	c := ts.dial()
	c.login("zed", "pw")
	c.compress()
	c.expectOK("s", "SELECT INBOX")
	c.send("i IDLE\r\n")
	if l := c.readLine(); !strings.HasPrefix(l, "+") {
		t.Fatalf("got %q", l)
	}
	o := ts.dial()
	o.login("zed", "pw")
	o.send("a APPEND INBOX {7}\r\n")
	o.readLine()
	o.send("x: y\r\n\r\n")
	o.until("a")
	if l := c.readLine(); l != "* 1 EXISTS" {
		t.Fatalf("got %q", l)
	}
	c.send("DONE\r\n")
	mustHave(t, c.until("i"), `^i OK`)
}

// A compression bomb: 64 MiB of one byte inflate from ~64 KiB. The
// existing line_length limit applies to the inflated bytes, so the
// server ends the connection after line_length bytes, naming the limit.
func TestCompressBomb(t *testing.T) {
	ts := startServer(t, func(c *config.Config) { c.Limits.LineLength = 8192 })
	ts.addUser("zed", "pw")
	c := ts.dial()
	c.login("zed", "pw")
	d := c.compress()
	go func() {
		chunk := bytes.Repeat([]byte("a"), 1<<20)
		for i := 0; i < 64; i++ {
			if _, err := d.zw.Write(chunk); err != nil {
				return
			}
		}
		d.zw.Flush()
	}()
	var ms runtime.MemStats
	l := c.readLine()
	if !strings.HasPrefix(l, "* BYE ") || !strings.Contains(l, "line_length") {
		t.Fatalf("got %q", l)
	}
	runtime.ReadMemStats(&ms)
	if ms.HeapAlloc > 256<<20 {
		t.Fatalf("heap %d MiB after the bomb", ms.HeapAlloc>>20)
	}
}

// TestCompressIdleMemory measures the heap an idle compressed
// connection costs beyond an idle plain one: n connections logged in
// with INBOX selected, first plain, then compressed, heap measured
// after a GC with every connection waiting for a command. The clients
// live in this process too, so each keeps only its socket (no inflater
// or buffers) while the heap is read. It fails if an idle compressed
// connection held on to a flate.Writer (about 1 MiB).
func TestCompressIdleMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("opens hundreds of connections")
	}
	const n = 300
	ts := startServer(t, func(c *config.Config) {
		c.Limits.MaxConnsPerIP = 0
		c.Limits.MaxConnsPerUser = 0
		c.Limits.MaxConnsPerUserIP = 0
	})
	ts.addUser("zed", "pw")
	heap := func() uint64 {
		var ms runtime.MemStats
		for range 3 {
			runtime.GC()
		}
		time.Sleep(100 * time.Millisecond)
		runtime.GC()
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc + ms.StackInuse
	}
	open := func(compress bool) []net.Conn {
		conns := make([]net.Conn, n)
		for i := range conns {
			c := ts.dial()
			c.login("zed", "pw")
			raw := c.nc
			if compress {
				c.compress()
			}
			c.expectOK("s", "SELECT INBOX")
			conns[i] = raw
		}
		return conns
	}
	base := heap()
	plain := open(false)
	afterPlain := heap()
	zipped := open(true)
	afterZipped := heap()
	perPlain := float64(int64(afterPlain)-int64(base)) / n / 1024
	perZipped := float64(int64(afterZipped)-int64(afterPlain)) / n / 1024
	t.Logf("heap per idle connection (server and client socket, %d each): plain %.1f KiB, compressed %.1f KiB (+%.1f KiB)",
		n, perPlain, perZipped, perZipped-perPlain)
	if perZipped-perPlain > 96 {
		t.Errorf("an idle compressed connection costs %.1f KiB more than a plain one (want at most 96: the 32 KiB inflate window and tables)", perZipped-perPlain)
	}
	for _, c := range append(plain, zipped...) {
		c.Close()
	}
}

// TestCompressZlibPartialFlush: mbsync (isync 1.4) flushes each command
// with zlib's Z_PARTIAL_FLUSH, which ends in an empty fixed-Huffman
// block instead of a stored one. The server must answer the command
// without waiting for more input (compress/flate's decoder waited: the
// session stalled until mbsync timed out).
func TestCompressZlibPartialFlush(t *testing.T) {
	ts := startServer(t)
	ts.addUser("zed", "pw")
	c := ts.dial()
	c.login("zed", "pw")
	c.expectOK("z1", "COMPRESS DEFLATE")
	// "3 NOOP\r\n" deflated by zlib 1.2 (level 6, raw) + Z_PARTIAL_FLUSH.
	c.send(string([]byte{0x32, 0x56, 0xf0, 0xf3, 0xf7, 0x0f, 0xe0, 0xe5, 0x02, 0x08}))
	zr := flate.NewReader(c.br)
	c.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	line, err := bufio.NewReader(zr).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "3 OK") {
		t.Fatalf("answer to a partially flushed NOOP: %q, %v", line, err)
	}
}
