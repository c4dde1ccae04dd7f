package header

import (
	"bytes"
	"fmt"
	"io"
	"mime"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/htmlindex"
	"golang.org/x/text/encoding/ianaindex"
	"golang.org/x/text/transform"
)

// Charset returns a decoder for a MIME charset name (RFC 2046 §4.1.2),
// looked up in the WHATWG and IANA registries. UTF-8 and US-ASCII give a
// nil encoding with ok=true (no conversion needed).
func Charset(name string) (enc encoding.Encoding, ok bool) {
	n := strings.ToLower(strings.TrimSpace(name))
	// RFC 2231 §5 language suffix: charset*lang
	if i := strings.IndexByte(n, '*'); i >= 0 {
		n = n[:i]
	}
	switch n {
	case "utf-8", "utf8", "us-ascii", "ascii", "":
		return nil, true
	}
	if e, err := htmlindex.Get(n); err == nil {
		return e, true
	}
	if e, err := ianaindex.MIME.Encoding(n); err == nil && e != nil {
		return e, true
	}
	return nil, false
}

// ToUTF8 converts b from charset to UTF-8. Unknown charsets and invalid
// bytes are handled tolerantly: invalid UTF-8 is replaced by U+FFFD.
func ToUTF8(charset string, b []byte) string {
	enc, ok := Charset(charset)
	if ok && enc != nil {
		if out, _, err := transform.Bytes(enc.NewDecoder(), b); err == nil {
			return string(out)
		}
	}
	return ValidUTF8(b)
}

// ValidUTF8 returns b as a string with invalid UTF-8 replaced by U+FFFD.
func ValidUTF8(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	return strings.ToValidUTF8(string(b), "\uFFFD")
}

func charsetReader(charset string, r io.Reader) (io.Reader, error) {
	enc, ok := Charset(charset)
	if !ok {
		return nil, fmt.Errorf("unknown charset %q", charset)
	}
	if enc == nil {
		return r, nil
	}
	return enc.NewDecoder().Reader(r), nil
}

// DecodeWords decodes RFC 2047 encoded-words in an unstructured header
// value (RFC 2047 §6.2: white space between adjacent encoded-words is
// dropped). Words in unknown charsets or with bad encoding are kept as
// sent. Raw 8-bit text is taken as UTF-8 (RFC 6532), invalid bytes
// replaced.
func DecodeWords(s string) string {
	if !strings.Contains(s, "=?") {
		return ValidUTF8([]byte(s))
	}
	d := mime.WordDecoder{CharsetReader: charsetReader}
	out, err := d.DecodeHeader(s)
	if err != nil {
		return decodeWordsSlow(s)
	}
	return ValidUTF8([]byte(out))
}

// decodeWordsSlow decodes word by word, keeping undecodable words.
func decodeWordsSlow(s string) string {
	d := mime.WordDecoder{CharsetReader: charsetReader}
	var b bytes.Buffer
	prevWord := false
	var pendingSpace string
	for len(s) > 0 {
		i := strings.Index(s, "=?")
		if i < 0 {
			b.WriteString(pendingSpace)
			b.WriteString(s)
			break
		}
		text := s[:i]
		rest := s[i:]
		end := encodedWordEnd(rest)
		if end < 0 {
			b.WriteString(pendingSpace)
			b.WriteString(s)
			break
		}
		word := rest[:end]
		dec, err := d.Decode(word)
		if err != nil {
			b.WriteString(pendingSpace)
			b.WriteString(text)
			b.WriteString(word)
			pendingSpace = ""
			prevWord = false
			s = rest[end:]
			continue
		}
		if !(prevWord && strings.Trim(text, " \t\r\n") == "") {
			b.WriteString(pendingSpace)
			b.WriteString(text)
		}
		pendingSpace = ""
		b.WriteString(dec)
		prevWord = true
		s = rest[end:]
	}
	return ValidUTF8(b.Bytes())
}

// encodedWordEnd returns the length of the encoded-word "=?cs?e?text?="
// at the start of s, or -1.
func encodedWordEnd(s string) int {
	// =?charset?X?text?=
	q1 := strings.IndexByte(s[2:], '?')
	if q1 < 0 {
		return -1
	}
	q1 += 2
	if q1+2 >= len(s) || s[q1+2] != '?' {
		return -1
	}
	end := strings.Index(s[q1+3:], "?=")
	if end < 0 {
		return -1
	}
	return q1 + 3 + end + 2
}
