package smtp

// BARID: a DATA writer for the client, with the output of net/textproto's
// DotWriter but bulk writes of ordinary runs instead of one
// bufio.Writer.WriteByte per byte (see BARID.md).

import (
	"bufio"
	"bytes"
)

// The states of textproto's dotWriter.
const (
	wstateBegin     = iota // initial state; must be zero
	wstateBeginLine        // beginning of line
	wstateCR               // wrote \r (possibly at end of line)
	wstateData             // writing data in middle of line
)

// dotWriter dot-stuffs lines that start with '.', turns a bare "\n" into
// "\r\n" and ends the data with ".\r\n" on Close, byte for byte as
// textproto.Writer.DotWriter does.
type dotWriter struct {
	w     *bufio.Writer
	state int
}

// indexLineEnd returns the index of the first '\r' or '\n' in b, or -1.
func indexLineEnd(b []byte) int {
	i := bytes.IndexByte(b, '\n')
	if i < 0 {
		i = len(b)
	}
	if j := bytes.IndexByte(b[:i], '\r'); j >= 0 {
		return j
	}
	if i == len(b) {
		return -1
	}
	return i
}

func (d *dotWriter) Write(b []byte) (n int, err error) {
	bw := d.w
	for n < len(b) {
		if d.state == wstateData {
			// Fast path: in the middle of a line, only '\r' and '\n'
			// do anything but being copied.
			rest := b[n:]
			k := indexLineEnd(rest)
			if k < 0 {
				k = len(rest)
			}
			if k > 0 {
				m, err := bw.Write(rest[:k])
				n += m
				if err != nil {
					return n, err
				}
				continue
			}
		}
		c := b[n]
		switch d.state {
		case wstateBegin, wstateBeginLine:
			d.state = wstateData
			if c == '.' {
				// escape leading dot
				bw.WriteByte('.')
			}
			fallthrough

		case wstateData:
			if c == '\r' {
				d.state = wstateCR
			}
			if c == '\n' {
				bw.WriteByte('\r')
				d.state = wstateBeginLine
			}

		case wstateCR:
			d.state = wstateData
			if c == '\n' {
				d.state = wstateBeginLine
			}
		}
		if err = bw.WriteByte(c); err != nil {
			break
		}
		n++
	}
	return
}

var dotcrnl = []byte{'.', '\r', '\n'}

func (d *dotWriter) Close() error {
	bw := d.w
	switch d.state {
	default:
		bw.WriteByte('\r')
		fallthrough
	case wstateCR:
		bw.WriteByte('\n')
		fallthrough
	case wstateBeginLine:
		bw.Write(dotcrnl)
	}
	return bw.Flush()
}
