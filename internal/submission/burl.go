package submission

import (
	"errors"
	"strings"
)

// maxBURLLength bounds the URL of a BURL command (imapurl.MaxLength;
// the command line is bounded by limits.line_length before this).
const maxBURLLength = 8192

// ParseBURL parses the argument of a BURL command (RFC 4468 §7):
//
//	burl-cmd   = "BURL" SP absolute-URI [SP end-marker] CRLF
//	end-marker = "LAST"
//
// absolute-URI is RFC 3986 §4.3's: a scheme, ":", and URI characters
// (no fragment). It checks the form only; which schemes and URLs
// resolve is BURL's business. "LAST" is matched case-insensitively, as
// SMTP keywords are (RFC 5321 §2.4).
func ParseBURL(arg string) (url string, last bool, err error) {
	arg = strings.TrimRight(arg, " ")
	url, marker, hasMarker := strings.Cut(arg, " ")
	if hasMarker {
		if !strings.EqualFold(marker, "LAST") {
			return "", false, errors.New("BURL syntax: expected \"BURL absolute-URI [LAST]\"")
		}
		last = true
	}
	if url == "" {
		return "", false, errors.New("BURL syntax: missing URL")
	}
	if len(url) > maxBURLLength {
		return "", false, errors.New("BURL syntax: URL too long")
	}
	if err := checkAbsoluteURI(url); err != nil {
		return "", false, err
	}
	return url, last, nil
}

// checkAbsoluteURI checks RFC 3986 §4.3 absolute-URI = scheme ":"
// hier-part [ "?" query ] at the level of characters: scheme = ALPHA
// *( ALPHA / DIGIT / "+" / "-" / "." ), then unreserved, sub-delims,
// ":", "@", "/", "?", "[", "]" and well-formed "%" HEXDIG HEXDIG; no
// fragment ("#").
func checkAbsoluteURI(s string) error {
	colon := strings.IndexByte(s, ':')
	if colon <= 0 {
		return errors.New("BURL syntax: URL has no scheme")
	}
	for i := 0; i < colon; i++ {
		c := s[i]
		switch {
		case isAlpha(c):
		case i > 0 && (isDigit(c) || c == '+' || c == '-' || c == '.'):
		default:
			return errors.New("BURL syntax: invalid URL scheme")
		}
	}
	for i := colon + 1; i < len(s); i++ {
		c := s[i]
		switch {
		case isAlpha(c), isDigit(c):
		case strings.IndexByte("-._~!$&'()*+,;=:@/?[]", c) >= 0:
		case c == '%':
			if i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]) {
				return errors.New("BURL syntax: bad percent-encoding in URL")
			}
			i += 2
		default:
			return errors.New("BURL syntax: character not allowed in a URL")
		}
	}
	return nil
}

func isAlpha(c byte) bool { return c|0x20 >= 'a' && c|0x20 <= 'z' }
func isDigit(c byte) bool { return c >= '0' && c <= '9' }
func isHex(c byte) bool   { return isDigit(c) || (c|0x20 >= 'a' && c|0x20 <= 'f') }
