package header

import (
	"slices"
	"strings"
	"testing"
)

// Values agrees with Parse filtered by name, on well-formed and odd
// headers (folding, LF line ends, a line without a colon, case).
func TestValues(t *testing.T) {
	hdrs := []string{
		"From: a@b.c\r\nTo: x@y.z,\r\n  w@v.u\r\nSUBJECT:  hi \r\nsubject: again\r\n\r\nbody: no\r\n",
		"From: a\nX-A: 1\nno colon here\nX-a:2\n\nX-A: body\n",
		"X-Empty:\r\nX-Empty: \t\r\nX-Folded: a\r\n\tb\r\n",
		"",
	}
	for _, h := range hdrs {
		for _, name := range []string{"from", "To", "subject", "x-a", "X-Empty", "x-folded", "no colon here", "body", "missing"} {
			var want []string
			for _, f := range Parse([]byte(h)) {
				if strings.EqualFold(f.Name, name) {
					want = append(want, f.Value)
				}
			}
			if got := Values([]byte(h), name); !slices.Equal(got, want) {
				t.Errorf("%q in %q: got %q, want %q", name, h, got, want)
			}
		}
	}
}

// FuzzValues: Values gives what Parse filtered by name gives, for any
// bytes and name.
func FuzzValues(f *testing.F) {
	f.Add([]byte("From: a\r\nTo: b,\r\n c\r\n\r\nX: y\r\n"), "to")
	f.Add([]byte("no colon\nX-A:1\n\n"), "no colon")
	f.Add([]byte("\r\r\nA: b"), "a")
	f.Fuzz(func(t *testing.T, hdr []byte, name string) {
		var want []string
		for _, fl := range Parse(hdr) {
			if equalFold(fl.Name, name) { // ASCII case, as Values
				want = append(want, fl.Value)
			}
		}
		if got := Values(hdr, name); !slices.Equal(got, want) {
			t.Fatalf("Values(%q, %q) = %q, Parse gives %q", hdr, name, got, want)
		}
	})
}
