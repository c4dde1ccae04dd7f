package mime

import (
	"bufio"
	"io"
)

// NewDecoder returns a reader of r's content decoded from the
// Content-Transfer-Encoding cte (RFC 2045 §6). The decoded length equals
// Part.DecodedSize for the same body. ok is false for an unknown encoding.
// Decoding is tolerant: base64 skips characters outside the alphabet;
// quoted-printable keeps malformed "=" sequences as they are.
func NewDecoder(r io.Reader, cte string) (rd io.Reader, ok bool) {
	switch encodingKind(cte) {
	case encIdentity:
		return r, true
	case encBase64:
		return &b64Reader{r: bufio.NewReader(r)}, true
	case encQP:
		return &qpReader{r: bufio.NewReader(r)}, true
	}
	return nil, false
}

type b64Reader struct {
	r    *bufio.Reader
	acc  uint32
	nacc int
	out  [3]byte
	nout int
	eof  bool
}

func (d *b64Reader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		if d.nout > 0 {
			c := copy(p[n:], d.out[3-d.nout:])
			// out holds the bytes left-aligned at 3-nout
			n += c
			d.nout -= c
			continue
		}
		if d.eof {
			if n > 0 {
				return n, nil
			}
			return 0, io.EOF
		}
		c, err := d.r.ReadByte()
		if err != nil {
			d.eof = true
			switch d.nacc {
			case 2:
				d.out[2] = byte(d.acc >> 4)
				d.nout = 1
			case 3:
				d.out[1] = byte(d.acc >> 10)
				d.out[2] = byte(d.acc >> 2)
				d.nout = 2
			}
			d.nacc = 0
			continue
		}
		v := b64val[c]
		if v == 0xff {
			continue
		}
		d.acc = d.acc<<6 | uint32(v)
		d.nacc++
		if d.nacc == 4 {
			d.out[0] = byte(d.acc >> 16)
			d.out[1] = byte(d.acc >> 8)
			d.out[2] = byte(d.acc)
			d.nout = 3
			d.nacc = 0
			d.acc = 0
		}
	}
	return n, nil
}

type qpReader struct {
	r   *bufio.Reader
	out []byte
	err error
}

func (d *qpReader) Read(p []byte) (int, error) {
	for len(d.out) == 0 {
		if d.err != nil {
			return 0, d.err
		}
		line, err := d.r.ReadSlice('\n')
		hasLF := err == nil
		if err == bufio.ErrBufferFull {
			err = nil
		}
		if len(line) > 0 {
			d.out = qpDecodeLine(d.out[:0], line, hasLF)
		}
		d.err = err
	}
	n := copy(p, d.out)
	d.out = d.out[n:]
	return n, nil
}

// qpDecodeLine decodes one line; see qpDecodedLen, which must agree.
func qpDecodeLine(out, line []byte, hasLF bool) []byte {
	body := line
	if hasLF {
		body = trimNL(body)
	}
	for len(body) > 0 && (body[len(body)-1] == ' ' || body[len(body)-1] == '\t') {
		body = body[:len(body)-1]
	}
	soft := false
	for i := 0; i < len(body); i++ {
		c := body[i]
		if c != '=' {
			out = append(out, c)
			continue
		}
		if i == len(body)-1 {
			soft = true
			break
		}
		if i+2 < len(body) && isHex(body[i+1]) && isHex(body[i+2]) {
			out = append(out, unhex(body[i+1])<<4|unhex(body[i+2]))
			i += 2
			continue
		}
		out = append(out, '=')
	}
	if hasLF && !soft {
		out = append(out, '\r', '\n')
	}
	return out
}

func unhex(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}
