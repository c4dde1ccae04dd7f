package imap

import (
	"errors"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// Modified UTF-7 mailbox names, RFC 3501 §5.1.3 (kept by RFC 9051 for
// IMAP4rev1 clients that have not enabled UTF8=ACCEPT).
//
// Printable US-ASCII (0x20-0x7e) except "&" represents itself; "&" is
// written "&-"; every other character is UTF-16 encoded and then written
// in modified BASE64 (RFC 2045 with "," instead of "/" and no padding)
// between "&" and "-".

const mbase64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,"

var mbase64Dec = func() (t [256]int8) {
	for i := range t {
		t[i] = -1
	}
	for i := 0; i < len(mbase64); i++ {
		t[mbase64[i]] = int8(i)
	}
	return t
}()

// ErrBadMUTF7 is wrapped by the errors of DecodeMUTF7.
var ErrBadMUTF7 = errors.New("invalid modified UTF-7")

type mutf7Error string

func (e mutf7Error) Error() string { return "invalid modified UTF-7 mailbox name: " + string(e) }
func (e mutf7Error) Unwrap() error { return ErrBadMUTF7 }

// EncodeMUTF7 encodes a UTF-8 mailbox name into modified UTF-7
// (RFC 3501 §5.1.3). Invalid UTF-8 bytes are encoded as U+FFFD. The
// result is the canonical encoding: DecodeMUTF7 accepts it and returns s
// (for valid UTF-8 s without NUL).
func EncodeMUTF7(s string) string {
	simple := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '&' {
			simple = false
			break
		}
	}
	if simple {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + len(s)/2 + 4)
	var units []uint16
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c <= 0x7e {
			if c == '&' {
				b.WriteString("&-")
			} else {
				b.WriteByte(c)
			}
			i++
			continue
		}
		// Collect a run of characters that need encoding.
		units = units[:0]
		for i < len(s) && (s[i] < 0x20 || s[i] > 0x7e) {
			r, n := utf8.DecodeRuneInString(s[i:])
			i += n
			units = utf16.AppendRune(units, r)
		}
		b.WriteByte('&')
		writeMBase64(&b, units)
		b.WriteByte('-')
	}
	return b.String()
}

func writeMBase64(b *strings.Builder, units []uint16) {
	var acc uint32
	bits := 0
	for _, u := range units {
		acc = acc<<16 | uint32(u)
		bits += 16
		for bits >= 6 {
			bits -= 6
			b.WriteByte(mbase64[(acc>>bits)&0x3f])
		}
		acc &= 1<<bits - 1
	}
	if bits > 0 {
		b.WriteByte(mbase64[(acc<<(6-bits))&0x3f])
	}
}

// DecodeMUTF7 decodes a modified UTF-7 mailbox name (RFC 3501 §5.1.3)
// into UTF-8. It is strict and accepts only the canonical encoding that
// EncodeMUTF7 produces. It rejects:
//   - bytes outside printable US-ASCII (8-bit, controls, NUL);
//   - an "&" that does not start "&-" or a base64 run ending in "-";
//   - an empty run "&" "-" other than "&-", bad base64 characters,
//     non-zero or too many padding bits;
//   - unpaired UTF-16 surrogates and an encoded U+0000;
//   - non-canonical encodings: printable US-ASCII inside a base64 run
//     (the RFC says it MUST represent itself) and two adjacent runs
//     ("&AOQ-&AOQ-" must be "&AOQA5A-").
func DecodeMUTF7(s string) (string, error) {
	if strings.IndexByte(s, '&') < 0 {
		for i := 0; i < len(s); i++ {
			if c := s[i]; c < 0x20 || c > 0x7e {
				return "", mutf7Error("character outside printable US-ASCII")
			}
		}
		return s, nil
	}
	var b strings.Builder
	b.Grow(len(s))
	lastRunEnd := -1 // index just after the "-" of the last base64 run
	for i := 0; i < len(s); {
		c := s[i]
		if c < 0x20 || c > 0x7e {
			return "", mutf7Error("character outside printable US-ASCII")
		}
		if c != '&' {
			b.WriteByte(c)
			i++
			continue
		}
		j := strings.IndexByte(s[i+1:], '-')
		if j < 0 {
			return "", mutf7Error("unterminated \"&\" sequence")
		}
		run := s[i+1 : i+1+j]
		if run == "" {
			b.WriteByte('&')
			i += 2
			continue
		}
		if lastRunEnd == i {
			return "", mutf7Error("adjacent base64 runs")
		}
		if err := decodeMBase64(&b, run); err != nil {
			return "", err
		}
		i += j + 2
		lastRunEnd = i
	}
	return b.String(), nil
}

func decodeMBase64(b *strings.Builder, run string) error {
	var acc uint32
	bits := 0
	var hi uint16 // pending high surrogate
	for k := 0; k < len(run); k++ {
		v := mbase64Dec[run[k]]
		if v < 0 {
			return mutf7Error("bad base64 character")
		}
		acc = acc<<6 | uint32(v)
		bits += 6
		if bits < 16 {
			continue
		}
		bits -= 16
		u := uint16(acc >> bits)
		acc &= 1<<bits - 1
		switch {
		case hi != 0:
			if !utf16.IsSurrogate(rune(u)) || u < 0xdc00 {
				return mutf7Error("unpaired UTF-16 surrogate")
			}
			b.WriteRune(utf16.DecodeRune(rune(hi), rune(u)))
			hi = 0
		case u >= 0xd800 && u < 0xdc00:
			hi = u
		case u >= 0xdc00 && u < 0xe000:
			return mutf7Error("unpaired UTF-16 surrogate")
		case u == 0:
			return mutf7Error("encoded NUL")
		case u >= 0x20 && u <= 0x7e:
			return mutf7Error("printable US-ASCII inside base64 (non-canonical)")
		default:
			b.WriteRune(rune(u))
		}
	}
	if hi != 0 {
		return mutf7Error("unpaired UTF-16 surrogate")
	}
	if bits >= 6 || acc != 0 {
		return mutf7Error("bad base64 padding bits")
	}
	return nil
}
