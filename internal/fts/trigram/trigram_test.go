package trigram

import (
	"slices"
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
