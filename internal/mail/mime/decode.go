package mime

import "strings"

// Encoding kinds (RFC 2045 §6.1).
const (
	encIdentity = iota // 7bit, 8bit, binary, none
	encBase64
	encQP
	encUnknown
)

// EncodingKind classifies a Content-Transfer-Encoding token.
func encodingKind(cte string) int {
	switch strings.ToLower(cte) {
	case "", "7bit", "8bit", "binary":
		return encIdentity
	case "base64":
		return encBase64
	case "quoted-printable":
		return encQP
	}
	return encUnknown
}

// KnownEncoding reports whether cte is one this package decodes.
func KnownEncoding(cte string) bool { return encodingKind(cte) != encUnknown }

// decoder counts the decoded size of a leaf part's body as it streams by
// (RFC 3516 BINARY.SIZE), without keeping the body.
type decoder struct {
	active bool
	kind   int
	n      int64
	// base64
	quad int
	// quoted-printable: the current line, decoded at its end
	line []byte
}

func (d *decoder) reset(p *Part) {
	*d = decoder{line: d.line[:0]}
	k := encodingKind(p.Encoding)
	if k == encUnknown {
		p.Flags |= FlagUnknownCTE
	}
	if p.Flags&(FlagMultipart|FlagMessage) != 0 {
		return
	}
	d.active = k == encBase64 || k == encQP
	d.kind = k
}

func (d *decoder) write(b []byte) {
	switch d.kind {
	case encBase64:
		for _, c := range b {
			if b64val[c] != 0xff {
				d.quad++
				if d.quad == 4 {
					d.n += 3
					d.quad = 0
				}
			}
		}
	case encQP:
		for len(b) > 0 {
			i := indexLF(b)
			if i < 0 {
				d.line = append(d.line, b...)
				if len(d.line) > 1<<16 {
					// absurdly long line: count it raw
					d.n += int64(qpDecodedLen(d.line, false))
					d.line = d.line[:0]
				}
				return
			}
			d.line = append(d.line, b[:i+1]...)
			d.n += int64(qpDecodedLen(d.line, true))
			d.line = d.line[:0]
			b = b[i+1:]
		}
	}
}

func indexLF(b []byte) int {
	for i, c := range b {
		if c == '\n' {
			return i
		}
	}
	return -1
}

// finish stores the decoded size in p.
func (d *decoder) finish(p *Part) {
	if p.Flags&(FlagMultipart|FlagMessage) != 0 {
		p.DecodedSize = p.BodySize
		return
	}
	switch {
	case p.Flags&FlagUnknownCTE != 0:
		p.DecodedSize = -1
	case !d.active:
		p.DecodedSize = p.BodySize
	case d.kind == encBase64:
		n := d.n
		switch d.quad {
		case 2:
			n++
		case 3:
			n += 2
		}
		p.DecodedSize = n
	case d.kind == encQP:
		if len(d.line) > 0 {
			d.n += int64(qpDecodedLen(d.line, false))
		}
		p.DecodedSize = d.n
	}
	d.active = false
}

var b64val = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xff
	}
	const alpha = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	for i := 0; i < len(alpha); i++ {
		t[alpha[i]] = byte(i)
	}
	return
}()

// qpDecodedLen returns the decoded length of one quoted-printable line
// (RFC 2045 §6.7): trailing white space is dropped, "=" at the end is a
// soft line break, "=XX" is one byte; a hard line end decodes as CRLF.
func qpDecodedLen(line []byte, hasLF bool) int {
	body := line
	if hasLF {
		body = trimNL(body)
	}
	for len(body) > 0 && (body[len(body)-1] == ' ' || body[len(body)-1] == '\t') {
		body = body[:len(body)-1]
	}
	n := 0
	soft := false
	for i := 0; i < len(body); i++ {
		if body[i] != '=' {
			n++
			continue
		}
		if i == len(body)-1 {
			soft = true
			break
		}
		if i+2 < len(body)+0 && isHex(body[i+1]) && isHex(body[i+2]) {
			n++
			i += 2
			continue
		}
		n++ // broken "=": kept as is
	}
	if hasLF && !soft {
		n += 2
	}
	return n
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}
