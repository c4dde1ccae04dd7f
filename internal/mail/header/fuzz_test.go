package header

import (
	"testing"
	"unicode/utf8"
)

// FuzzParseAddressList: any header value parses without panic; group
// markers are balanced and addresses always have a mailbox and domain.
func FuzzParseAddressList(f *testing.F) {
	for _, s := range []string{`a@b`, `A Group:Ed Jones <c@a.test>,joe@where.test;`, `"x" <@r:y@z>`, `,,<>;:@`, `"unterminated <x@y>`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		depth := 0
		for _, a := range ParseAddressList(s) {
			switch {
			case a.GroupStart:
				depth++
			case a.GroupEnd:
				depth--
			case a.Mailbox == "" && a.Domain == "":
				t.Fatalf("empty address from %q", s)
			}
			if depth < 0 || depth > 1 {
				t.Fatalf("unbalanced groups from %q", s)
			}
		}
	})
}

// FuzzDecodeWords: decoding never panics and always yields valid UTF-8.
func FuzzDecodeWords(f *testing.F) {
	f.Add("=?utf-8?q?a=C3=A9?= =?iso-8859-1?b?6Q==?=")
	f.Add("=?x?y?z?= =?")
	f.Fuzz(func(t *testing.T, s string) {
		if out := DecodeWords(s); !utf8.ValidString(out) {
			t.Fatalf("invalid UTF-8 from %q", s)
		}
		_ = BaseSubject(s)
		_, _ = ParseDate(s)
	})
}

// FuzzParseDate: any input either fails or gives a date whose fields are
// in range, and never panics.
func FuzzParseDate(f *testing.F) {
	for _, s := range []string{"Thu, 15 Feb 2007 01:02:03 +0200", "15 Feb 07 23:02 EST", "Thu (x), 15 (y) Feb 69 1.2 A", "31 Feb 2007", "1 Jan 999999999 23:59:60 -9999", "(\\"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, ok := ParseDate(s)
		if ok && (d.Year() < 0 || d.Second() > 59 || d.Day() < 1) {
			t.Fatalf("ParseDate(%q) = %v", s, d)
		}
	})
}
