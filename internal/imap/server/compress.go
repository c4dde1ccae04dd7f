package server

import (
	"bufio"
	"compress/flate"
	"io"
	"net"
	"strings"

	"barid/internal/imap"
	"barid/internal/imap/wire"
	inflate "barid/third_party/goflate"
)

// RFC 4978 COMPRESS=DEFLATE.
//
// After "OK DEFLATE active" both directions are raw DEFLATE streams
// (RFC 1951, no zlib header, RFC 4978 §3). The connection's buffered
// reader and writer then sit on a deflateConn instead of the socket, so
// every limit the decoder enforces (line_length, literal_size,
// nesting_depth) counts inflated bytes: a compression bomb meets the
// same limits as the bytes it expands to, and the inflater produces
// output only as fast as the 2 KiB read buffer asks for it.
//
// Memory (docs/benchmarks.md, TestCompressIdleMemory): the inflater must
// keep the client's 32 KiB window for as long as the connection lives,
// but a flate.Writer is about 1 MiB whatever the level (its hash chains
// are arrays inside the struct). An idle connection therefore holds no
// writer: one is taken from a free list when a response starts and given
// back at the response boundary, after the sync flush (RFC 4978 §4 asks
// for a flush whenever the server waits for the client, which is exactly
// where the server flushes its buffered writer). A writer starts with an
// empty history, which DEFLATE allows at any block boundary: the stream
// stays one stream, only back-references across responses are lost.
// Level 1 (flate.BestSpeed) is used because its Reset is cheap (the
// other levels clear 640 KiB of hash tables per Reset) and IMAP
// responses are short.

// compressLevel is the deflate level of server output.
const compressLevel = flate.BestSpeed

// deflateConn is a net.Conn whose bytes are DEFLATE-compressed on the
// wire. Deadlines and Close go to the underlying connection.
type deflateConn struct {
	net.Conn
	zr io.ReadCloser
	zw *deflateWriter // nil between responses
}

// NetConn returns the connection under the compression (hangup.go looks
// for the socket).
func (d *deflateConn) NetConn() net.Conn { return d.Conn }

// deflateWriter is a pooled flate.Writer with a small buffer in front of
// the socket, so that one response costs one write system call (the
// huffman writer emits 240-byte pieces).
type deflateWriter struct {
	fw  *flate.Writer
	out *bufio.Writer
}

// deflateWriters is a free list, like bigWriters: a sync.Pool is emptied
// by every garbage collection, and a fresh writer costs 1 MiB.
var deflateWriters = make(chan *deflateWriter, deflateWriterSpares)

const deflateWriterSpares = 16

func getDeflateWriter(w io.Writer) *deflateWriter {
	var dw *deflateWriter
	select {
	case dw = <-deflateWriters:
		dw.out.Reset(w)
		dw.fw.Reset(dw.out)
	default:
		out := bufio.NewWriterSize(w, 8<<10)
		fw, _ := flate.NewWriter(out, compressLevel) // the level is valid
		dw = &deflateWriter{fw: fw, out: out}
	}
	return dw
}

func putDeflateWriter(dw *deflateWriter) {
	dw.out.Reset(nil)
	dw.fw.Reset(io.Discard)
	select {
	case deflateWriters <- dw:
	default:
	}
}

// newDeflateConn wraps nc. in holds what the client sent after the
// COMPRESS command's CRLF, possibly already buffered: it is read first.
func newDeflateConn(nc net.Conn, in io.Reader) *deflateConn {
	// The decoder is compress/flate's with one change (third_party/goflate):
	// it returns each block's data when the block ends, so a command
	// flushed with zlib's Z_PARTIAL_FLUSH (mbsync) is read at once.
	return &deflateConn{Conn: nc, zr: inflate.NewReader(in)}
}

func (d *deflateConn) Read(p []byte) (int, error) { return d.zr.Read(p) }

// Write compresses p; nothing reaches the socket before flush unless
// the deflate block fills.
func (d *deflateConn) Write(p []byte) (int, error) {
	if d.zw == nil {
		d.zw = getDeflateWriter(d.Conn)
	}
	return d.zw.fw.Write(p)
}

// flush ends a response: a sync flush (the stream is then byte-aligned
// and the client can inflate everything sent) and the writer goes back
// to the free list.
func (d *deflateConn) flush() error {
	if d.zw == nil {
		return nil
	}
	dw := d.zw
	d.zw = nil
	err := dw.fw.Flush()
	if err == nil {
		err = dw.out.Flush()
	}
	if err != nil {
		// The stream is broken: do not reuse a writer that failed.
		return err
	}
	putDeflateWriter(dw)
	return nil
}

// raw is the connection under the compression layer.
func (d *deflateConn) raw() net.Conn { return d.Conn }

// RFC 4978 §3: COMPRESS <mechanism>, valid once authenticated
// (command-auth). Only DEFLATE is defined.
func handleCompress(c *Conn, tag string) error {
	var mech string
	if !c.dec.ExpectSP() || !c.dec.ExpectAtom(&mech) || !c.dec.ExpectCRLF() {
		return c.dec.Err()
	}
	if !strings.EqualFold(mech, "DEFLATE") {
		// RFC 4978 §3: an unknown algorithm gets a tagged BAD.
		return &imap.Error{Type: imap.TypeBAD, Text: "Unknown compression mechanism " + mech}
	}
	if _, ok := c.nc.(*deflateConn); ok {
		// RFC 4978 §3: NO with COMPRESSIONACTIVE when the same layer is
		// already active.
		return &imap.Error{Type: imap.TypeNO, Code: imap.CodeCompressionActive, Text: "DEFLATE compression is already active"}
	}
	c.updatesAfter(c.cur)
	c.writeStatus(tag, "OK", "", "DEFLATE active")
	if err := c.flush(); err != nil {
		return &ioError{err}
	}
	// Everything after the CRLF of the command is compressed (RFC 4978
	// §3), including bytes already in the read buffer: the old buffered
	// reader becomes the inflater's input.
	dc := newDeflateConn(c.nc, c.br)
	c.nc = dc
	c.br = bufio.NewReaderSize(dc, 2048)
	c.bw = bufio.NewWriterSize(c.out(), 2048)
	c.dec = wire.NewDecoder(c.br, c.decoderOptions())
	c.enc = wire.NewEncoder(c.bw)
	c.enc.SetUTF8(c.utf8)
	return nil
}
