package server

import (
	"slices"
	"strings"
	"testing"
)

// RFC 9394 §3.1 and RFC 5267 §4.4 ranges, and Dovecot's acceptance of
// reversed bounds.
func TestParsePartial(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want string // "" = invalid
	}{
		{"1:1", "1:1"}, {"2:4", "2:4"}, {"4:2", "2:4"},
		{"-1:-100", "-1:-100"}, {"-100:-1", "-1:-100"}, // RFC 9394 example
		{"1:4294967295", "1:4294967295"},
		{"0:2", ""}, {"1:0", ""}, {"-0:-1", ""}, {"1", ""}, {"1:", ""}, {":1", ""},
		{"-1:2", ""}, {"1:-2", ""}, {"01:2", ""}, {"1:4294967296", ""}, {"1:2:3", ""},
		{"a:b", ""}, {"--1:-2", ""}, {"+1:2", ""},
	} {
		p, ok := parsePartial(tt.in)
		got := ""
		if ok {
			got = p.String()
		}
		if got != tt.want {
			t.Errorf("parsePartial(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestPartialWindow(t *testing.T) {
	res := []int{10, 20, 30, 40, 50}
	for _, tt := range []struct {
		r    string
		want []int
	}{
		{"1:1", []int{10}}, {"2:4", []int{20, 30, 40}}, {"1:6", res}, {"6:6", nil}, {"5:10", []int{50}},
		{"-1:-1", []int{50}}, {"-1:-2", []int{40, 50}}, {"-2:-4", []int{20, 30, 40}}, {"-1:-9", res}, {"-6:-9", nil},
	} {
		p, ok := parsePartial(tt.r)
		if !ok {
			t.Fatalf("parsePartial(%q) failed", tt.r)
		}
		i, j := p.window(len(res))
		var got []int
		if i < j {
			got = res[i:j]
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("window %s of %v = %v, want %v", tt.r, res, got, tt.want)
		}
	}
}

// The sorted ALL of RFC 5267 §3.1 keeps the order; imaptest sort-partial
// expects "3:4,2" and "5,3:4,2,1".
func TestOrderedSet(t *testing.T) {
	for _, tt := range []struct {
		in   []uint32
		want string
	}{
		{nil, ""}, {[]uint32{1}, "1"}, {[]uint32{1, 2, 3, 4, 5}, "1:5"},
		{[]uint32{3, 4, 2}, "3:4,2"}, {[]uint32{5, 3, 4, 2, 1}, "5,3:4,2,1"}, {[]uint32{2, 1}, "2,1"},
	} {
		if got := orderedSet(tt.in); got != tt.want {
			t.Errorf("orderedSet(%v) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// FuzzParsePartial: a range that parses prints back to one that parses
// to itself, and its window always lies inside the result.
func FuzzParsePartial(f *testing.F) {
	for _, s := range []string{"1:1", "4:2", "-1:-100", "0:1", "1:4294967295", "-9999999999:-1"} {
		f.Add(s, uint16(5))
	}
	f.Fuzz(func(t *testing.T, s string, n uint16) {
		p, ok := parsePartial(s)
		if !ok {
			return
		}
		q, ok := parsePartial(p.String())
		if !ok || q != p {
			t.Fatalf("%q -> %v -> %q does not round-trip", s, p, p.String())
		}
		i, j := p.window(int(n))
		if i < 0 || i > j || j > int(n) {
			t.Fatalf("window %v of %d = [%d, %d)", p, n, i, j)
		}
		if strings.HasPrefix(s, "-") != (p.lo < 0) {
			t.Fatalf("sign lost: %q -> %v", s, p)
		}
	})
}
