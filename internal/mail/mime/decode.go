package mime

import (
	"bytes"
	"strings"
)

// Transfer encodings as BINARY sees them (RFC 3516 §4.1; RFC 2045 §6).
const (
	encIdentity = iota // 7bit, 8bit, binary, none
	encBase64
	encQP
	encUnknown
)

// encodingKind classifies a Content-Transfer-Encoding value the way
// Dovecot's message-decoder does for BINARY: the first token counts and
// anything after it is ignored; an empty value is unknown.
func encodingKind(v string) int {
	t := &tokenizer{s: v}
	t.skipCFWS()
	tok, _ := t.mimeToken()
	switch strings.ToLower(tok) {
	case "7bit", "8bit", "binary":
		return encIdentity
	case "base64":
		return encBase64
	case "quoted-printable":
		return encQP
	}
	return encUnknown
}

// KnownEncoding reports whether the Content-Transfer-Encoding value cte
// is one BINARY can decode.
func KnownEncoding(cte string) bool { return cte == "" || encodingKind(cte) != encUnknown }

// binFlags maps an encoding kind to Part flags.
func binFlags(k int) Flags {
	switch k {
	case encBase64:
		return FlagBinBase64
	case encQP:
		return FlagBinQP
	case encUnknown:
		return FlagUnknownCTE
	}
	return 0
}

// binKind returns the encoding kind recorded in p's flags.
func binKind(p *Part) int {
	switch {
	case p.Flags&FlagBinBase64 != 0:
		return encBase64
	case p.Flags&FlagBinQP != 0:
		return encQP
	case p.Flags&FlagUnknownCTE != 0:
		return encUnknown
	}
	return encIdentity
}

// decoder counts the decoded size of a leaf part's body as it streams by
// (RFC 3516 BINARY.SIZE) and notes invalid encoding, without keeping the
// body.
type decoder struct {
	lf     lfFilter
	tmp    []byte
	active bool
	b64    b64State
	qp     qpState
	kind   int
	n      int64
	buf    []byte
}

func (d *decoder) reset(p *Part) {
	// reset is only called for a part that gets no children (a
	// multipart without a usable boundary included): BINARY decodes
	// its body
	*d = decoder{buf: d.buf[:0], tmp: d.tmp[:0]}
	d.kind = binKind(p)
	d.active = d.kind == encBase64 || d.kind == encQP
}

func (d *decoder) write(b []byte) {
	if d.kind == encQP {
		b = d.lf.apply(&d.tmp, b)
	}
	switch d.kind {
	case encBase64:
		d.n += d.b64.count(b)
		return
	case encQP:
		d.buf = d.qp.decode(d.buf[:0], b)
	}
	d.n += int64(len(d.buf))
}

// finish stores the decoded size in p.
func (d *decoder) finish(p *Part) {
	if !d.active {
		p.DecodedSize = p.BodyVSize
		return
	}
	d.active = false
	if d.lf.cr {
		// a CR held back at the very end is data
		d.lf.cr = false
		d.buf = d.qp.decode(d.buf[:0], []byte{'\r'})
		d.n += int64(len(d.buf))
	}
	var bad, short bool
	switch d.kind {
	case encBase64:
		d.buf, short = d.b64.finish(d.buf[:0])
		bad = d.b64.bad
	case encQP:
		// an error only at the end (a pending "=" or CR) is like a
		// truncated base64 body for Dovecot
		bad = d.qp.bad
		d.buf, short = d.qp.finish(d.buf[:0])
	}
	d.n += int64(len(d.buf))
	p.DecodedSize = d.n
	switch {
	case bad:
		p.Flags |= FlagBadEncoding
	case short:
		p.Flags |= FlagBadEncoding | FlagTruncatedEncoding
	}
}

// lfFilter drops a CR that comes right before an LF, as Dovecot's LF-only
// storage does, so decoders see what Dovecot's see.
type lfFilter struct{ cr bool }

// apply filters src, returning src itself when nothing would change.
func (f *lfFilter) apply(buf *[]byte, src []byte) []byte {
	if !f.cr && (len(src) == 0 || src[len(src)-1] != '\r') && !bytes.Contains(src, []byte("\r\r")) {
		return src
	}
	*buf = f.filter((*buf)[:0], src)
	return *buf
}

func (f *lfFilter) filter(dst, src []byte) []byte {
	for _, c := range src {
		switch c {
		case '\r':
			if f.cr {
				dst = append(dst, '\r')
			}
			f.cr = true
			continue
		case '\n':
		default:
			if f.cr {
				dst = append(dst, '\r')
			}
		}
		f.cr = false
		dst = append(dst, c)
	}
	return dst
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

// b64State decodes base64 (RFC 2045 §6.8) incrementally. White space is
// skipped. Like Dovecot, other characters outside the alphabet, data
// after the padding, and a final incomplete group are errors (bad); the
// decoder then skips what it can not use and goes on.
type b64State struct {
	acc  uint32
	n    int // sextets in acc
	pad  int // '=' seen in the current group
	done bool
	bad  bool
}

func (s *b64State) decode(out, in []byte) []byte {
	for _, c := range in {
		switch c {
		case ' ', '\t', '\r', '\n':
			continue
		case '=':
			if s.done || s.n < 2 {
				s.bad = true
				continue
			}
			s.pad++
			if s.n+s.pad == 4 {
				out = s.flush(out)
				s.done = true
			}
			continue
		}
		v := b64val[c]
		if v == 0xff || s.done || s.pad > 0 {
			s.bad = true
			if v == 0xff {
				continue
			}
			// data after padding: decode it anyway
			if s.pad > 0 {
				out = s.flush(out)
			}
			s.done = false
		}
		s.acc = s.acc<<6 | uint32(v)
		s.n++
		if s.n == 4 {
			out = append(out, byte(s.acc>>16), byte(s.acc>>8), byte(s.acc))
			s.acc, s.n = 0, 0
		}
	}
	return out
}

// count is decode without the output: it returns how many bytes decode
// would have written. The common case (alphabet characters and line
// ends, before any padding) is handled inline.
func (s *b64State) count(in []byte) int64 {
	var n int64
	for i := 0; i < len(in); i++ {
		c := in[i]
		if b64val[c] != 0xff && !s.done && s.pad == 0 {
			// A run of alphabet characters (a whole line, usually):
			// every 4 are 3 bytes. Counting the run first and then
			// the groups halved this function's time, which was 4 %
			// of a Maildir import's CPU.
			j := i + 1
			for j < len(in) && b64val[in[j]] != 0xff {
				j++
			}
			t := s.n + j - i
			n += int64(t/4) * 3
			s.n = t % 4
			i = j - 1
			continue
		}
		if c == '\r' || c == '\n' || c == ' ' || c == '\t' {
			continue
		}
		// padding, invalid data, data after padding: the full
		// state machine
		var buf [3]byte
		n += int64(len(s.decode(buf[:0], in[i:i+1])))
	}
	return n
}

// flush writes the bytes of a short (padded) group.
func (s *b64State) flush(out []byte) []byte {
	switch s.n {
	case 2:
		out = append(out, byte(s.acc>>4))
	case 3:
		out = append(out, byte(s.acc>>10), byte(s.acc>>2))
	}
	s.acc, s.n, s.pad = 0, 0, 0
	return out
}

// finish ends the input. An unfinished group is an error; its whole
// bytes are still returned.
func (s *b64State) finish(out []byte) ([]byte, bool) {
	bad := false
	if s.n > 0 || s.pad > 0 {
		bad = true
		out = s.flush(out)
	}
	return out, bad
}

// qpState decodes quoted-printable (RFC 2045 §6.7) incrementally, with
// the same results as Dovecot's qp-decoder: hard line breaks become CRLF
// (also after a bare LF), trailing white space is dropped, lower-case hex
// is accepted. Malformed "=" sequences, "=" followed by white space and
// then text, and a CR without LF are errors (bad); they are copied
// through as they are.
type qpState struct {
	st  int
	hex byte
	ws  []byte
	bad bool
}

const (
	qpText = iota
	qpWS
	qpEq
	qpEqWS
	qpHex2
	qpCR
	qpSoftCR
)

const qpMaxWS = 76

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
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

// invalid flushes the pending state as literal text and marks an error.
func (s *qpState) invalid(out []byte) []byte {
	switch s.st {
	case qpEq:
		out = append(out, '=')
	case qpHex2:
		out = append(out, '=', s.hex)
	case qpEqWS:
		out = append(out, '=')
		out = append(out, s.ws...)
	case qpCR:
		out = append(out, s.ws...)
		out = append(out, '\r')
	case qpSoftCR:
		out = append(out, '=')
		out = append(out, s.ws...)
		out = append(out, '\r')
	}
	s.ws = s.ws[:0]
	s.st = qpText
	s.bad = true
	return out
}

func (s *qpState) decode(out, in []byte) []byte {
	for i := 0; i < len(in); {
		c := in[i]
		switch s.st {
		case qpText:
			switch c {
			case '=':
				s.st = qpEq
			case '\r':
				s.st = qpCR
			case '\n':
				out = append(out, '\r', '\n')
			case ' ', '\t':
				s.st = qpWS
				s.ws = append(s.ws[:0], c)
			default:
				out = append(out, c)
			}
		case qpWS:
			switch c {
			case ' ', '\t':
				if len(s.ws) <= qpMaxWS {
					s.ws = append(s.ws, c)
				}
			case '\r':
				s.st = qpCR
			case '\n':
				out = append(out, '\r', '\n')
				s.ws = s.ws[:0]
				s.st = qpText
			default:
				out = append(out, s.ws...)
				if len(s.ws) > qpMaxWS {
					s.bad = true
				}
				s.ws = s.ws[:0]
				s.st = qpText
				continue
			}
		case qpEq:
			switch {
			case isHex(c):
				s.hex = c
				s.st = qpHex2
			case c == ' ' || c == '\t':
				s.ws = append(s.ws[:0], c)
				s.st = qpEqWS
			case c == '\r':
				s.st = qpSoftCR
			case c == '\n':
				s.st = qpText
			default:
				out = s.invalid(out)
				continue
			}
		case qpHex2:
			if !isHex(c) {
				out = s.invalid(out)
				continue
			}
			out = append(out, unhex(s.hex)<<4|unhex(c))
			s.st = qpText
		case qpEqWS:
			switch c {
			case ' ', '\t':
				if len(s.ws) <= qpMaxWS {
					s.ws = append(s.ws, c)
				}
			case '\r':
				s.st = qpSoftCR
			case '\n':
				s.ws = s.ws[:0]
				s.st = qpText
			default:
				out = s.invalid(out)
				continue
			}
		case qpCR, qpSoftCR:
			if c != '\n' {
				out = s.invalid(out)
				continue
			}
			s.ws = s.ws[:0]
			if s.st == qpCR {
				out = append(out, '\r', '\n')
			}
			s.st = qpText
		}
		i++
	}
	return out
}

// finish ends the input: trailing white space is dropped; a pending "="
// or CR is an error.
func (s *qpState) finish(out []byte) ([]byte, bool) {
	if s.st == qpText || s.st == qpWS {
		s.ws = s.ws[:0]
		s.st = qpText
		return out, false
	}
	return s.invalid(out), true
}
