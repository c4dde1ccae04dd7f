package mime

import (
	"io"
)

// NewDecoder returns a reader of r's content decoded from the
// Content-Transfer-Encoding value cte (RFC 2045 §6), with the same output
// as Part.DecodedSize counts. ok is false for an unknown encoding.
// Invalid input is decoded as far as possible (see b64State, qpState);
// Part.Flags has FlagBadEncoding for such bodies.
func NewDecoder(r io.Reader, cte string) (rd io.Reader, ok bool) {
	if cte == "" {
		return r, true
	}
	return newKindDecoder(r, encodingKind(cte))
}

// NewPartDecoder is NewDecoder for a part's body, by the encoding BINARY
// uses for it (the last Content-Transfer-Encoding field).
func NewPartDecoder(r io.Reader, p *Part) (rd io.Reader, ok bool) {
	return newKindDecoder(r, binKind(p))
}

func newKindDecoder(r io.Reader, kind int) (io.Reader, bool) {
	switch kind {
	case encIdentity:
		return r, true
	case encBase64:
		s := &b64State{}
		return &stateReader{r: r, dec: s.decode, fin: s.finish}, true
	case encQP:
		s := &qpState{}
		return &stateReader{r: r, dec: s.decode, fin: s.finish}, true
	}
	return nil, false
}

type stateReader struct {
	lf   lfFilter
	tmp  []byte
	r    io.Reader
	dec  func(out, in []byte) []byte
	fin  func(out []byte) ([]byte, bool)
	in   [8192]byte
	out  []byte
	err  error
	done bool
}

func (d *stateReader) Read(p []byte) (int, error) {
	for len(d.out) == 0 {
		if d.done {
			return 0, d.err
		}
		n, err := d.r.Read(d.in[:])
		d.tmp = d.lf.filter(d.tmp[:0], d.in[:n])
		if err != nil && d.lf.cr {
			d.tmp = append(d.tmp, '\r')
			d.lf.cr = false
		}
		d.out = d.dec(d.out[:0], d.tmp)
		if err != nil {
			d.out, _ = d.fin(d.out)
			d.done = true
			d.err = err
		}
	}
	n := copy(p, d.out)
	d.out = d.out[n:]
	return n, nil
}
