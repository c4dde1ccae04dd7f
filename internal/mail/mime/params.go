package mime

import (
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/htmlindex"
	"golang.org/x/text/transform"
)

// DecodeParam returns the value of parameter name (case-insensitive) from
// ps, decoding an RFC 2231 §4 extended value ("name*" with
// charset'language'%XX) to UTF-8. Parts keep extended values encoded, the
// way Dovecot shows them in BODYSTRUCTURE; use this for a file name.
func DecodeParam(ps []Param, name string) (string, bool) {
	for _, p := range ps {
		if strings.EqualFold(p.Name, name) {
			return p.Value, true
		}
	}
	for _, p := range ps {
		if len(p.Name) == len(name)+1 && strings.HasSuffix(p.Name, "*") && strings.EqualFold(p.Name[:len(name)], name) {
			return decode2231(p.Value), true
		}
	}
	return "", false
}

// decode2231 decodes charset'language'percent-encoded text.
func decode2231(v string) string {
	charset := ""
	if i := strings.IndexByte(v, '\''); i >= 0 {
		if j := strings.IndexByte(v[i+1:], '\''); j >= 0 {
			charset = v[:i]
			v = v[i+1+j+1:]
		}
	}
	b := make([]byte, 0, len(v))
	for i := 0; i < len(v); i++ {
		if v[i] == '%' && i+2 < len(v) && isHex(v[i+1]) && isHex(v[i+2]) {
			b = append(b, unhex(v[i+1])<<4|unhex(v[i+2]))
			i += 2
			continue
		}
		b = append(b, v[i])
	}
	cs := strings.ToLower(charset)
	if cs != "" && cs != "utf-8" && cs != "us-ascii" {
		if enc, err := htmlindex.Get(cs); err == nil {
			if out, _, err := transform.Bytes(enc.NewDecoder(), b); err == nil {
				return string(out)
			}
		}
	}
	if !utf8.Valid(b) {
		return strings.ToValidUTF8(string(b), "\uFFFD")
	}
	return string(b)
}
