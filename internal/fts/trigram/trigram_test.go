package trigram

import (
	"slices"
	"strings"
	"testing"
)

func TestSplit(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"ab", nil},
		{"σς", nil},
		{"abc", []string{"abc"}},
		{"abcd", []string{"abc", "bcd"}},
		{"aaaa", []string{"aaa"}}, // distinct only
		{"σίγμα", []string{"σίγ", "ίγμ", "γμα"}},
		{"会议纪要", []string{"会议纪", "议纪要"}},
		{"a\"b\"", []string{"a\"b", "\"b\""}},
	}
	for _, tt := range tests {
		if got := Split(tt.in); !slices.Equal(got, tt.want) {
			t.Errorf("Split(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestQuery(t *testing.T) {
	tests := []struct{ in, want string }{
		{"ab", ""},
		{"abcd", `"abc" AND "bcd"`},
		{`a"b"`, `"a""b" AND """b"""`},
		{"x y", `"x y"`},
	}
	for _, tt := range tests {
		if got := Query(tt.in); got != tt.want {
			t.Errorf("Query(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestWord(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"", false},
		{"regards", true},
		{"zanzibarite2", true},
		{"σίγμα", true},
		{"cafe\u0301", true},
		{"会议纪要", true},
		{"best regards", false},
		{"e-mail", false},
		{"Regards", false},
		{"a_b", false},
		{"bad\uFFFDbyte", false},
		{"line\nbreak", false},
	}
	for _, tt := range tests {
		if got := Word(tt.in); got != tt.want {
			t.Errorf("Word(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
	if got := WordText("ab Cd\nEF"); got != "ab  d\n  " {
		t.Errorf("WordText = %q", got)
	}
	if got := WordQuery("régime"); got != `"régime"*` {
		t.Errorf("WordQuery = %q", got)
	}
}

func TestTerms(t *testing.T) {
	long := strings.Repeat("x", MaxTerm+1)
	tests := []struct {
		in       string
		want     []string
		wantLong bool
	}{
		{"", nil, false},
		{"best regards,\r\n-- ana", []string{"best", "regards", "ana"}, false},
		{"e-mail: a.b@c.example", []string{"e", "mail", "a", "b", "c", "example"}, false},
		{"naïve café 会议纪要", []string{"naïve", "café", "会议纪要"}, false},
		{"x_y z1 9", []string{"x", "y", "z1", "9"}, false},
		{"a " + long + " b", []string{"a", "b"}, true},
		{strings.Repeat("y", MaxTerm), []string{strings.Repeat("y", MaxTerm)}, false},
	}
	for _, tt := range tests {
		var got []string
		l := Terms(tt.in, func(s string) { got = append(got, s) })
		if !slices.Equal(got, tt.want) || l != tt.wantLong {
			t.Errorf("Terms(%q) = %q, %v; want %q, %v", tt.in, got, l, tt.want, tt.wantLong)
		}
	}
}

func TestPieces(t *testing.T) {
	tests := []struct {
		in   string
		want []Piece
	}{
		{"", nil},
		{"--", nil},
		{"katisupel", []Piece{{"katisupel", false, false}}},
		{"499999.1@bench", []Piece{{"499999", false, true}, {"1", true, true}, {"bench", true, false}}},
		{" regards", []Piece{{"regards", true, false}}},
		{"best regards ", []Piece{{"best", false, true}, {"regards", true, true}}},
		{"σίγμα-x", []Piece{{"σίγμα", false, true}, {"x", true, false}}},
		{"Regards", nil},
		{"ab Cd", nil},
		{"bad\uFFFDbyte", nil},
	}
	for _, tt := range tests {
		if got := Pieces(tt.in); !slices.Equal(got, tt.want) {
			t.Errorf("Pieces(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}
