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

// FuzzPieces: for any text and any stretch of it taken as the needle,
// every piece of the needle (Pieces) lies in a word of the text (Terms)
// as its Start and End say: the rule the vocabulary lookup relies on to
// never miss a match. Texts with a word over MaxTerm are skipped (those
// contents are never ruled out).
func FuzzPieces(f *testing.F) {
	f.Add("499999.1@bench.example katisupel", 0, 14)
	f.Add("bokatisupelmon, naïve café", 3, 9)
	f.Add("会议纪要 σίγμα-x e-mail", 2, 20)
	f.Fuzz(func(t *testing.T, text string, from, n int) {
		text = WordText(text)
		if from < 0 || n < 0 || from > len(text) {
			return
		}
		needle := text[from:min(len(text), from+n)]
		terms := map[string]bool{}
		if Terms(text, func(w string) { terms[w] = true }) {
			return
		}
		for _, p := range Pieces(needle) {
			if p.Text == "" {
				t.Fatalf("empty piece of %q", needle)
			}
			ok := false
			for w := range terms {
				switch {
				case p.Start && p.End:
					ok = w == p.Text
				case p.Start:
					ok = strings.HasPrefix(w, p.Text)
				case p.End:
					ok = strings.HasSuffix(w, p.Text)
				default:
					ok = strings.Contains(w, p.Text)
				}
				if ok {
					break
				}
			}
			if !ok {
				t.Fatalf("piece %+v of %q (from %q) is in no word %v", p, needle, text, terms)
			}
		}
		// Terms returns the words in order, and only word bytes.
		var b strings.Builder
		Terms(text, func(w string) {
			for i := 0; i < len(w); i++ {
				if !wordByte(w[i]) {
					t.Fatalf("word %q has byte %q", w, w[i])
				}
			}
			b.WriteString(w)
		})
		var want strings.Builder
		for i := 0; i < len(text); i++ {
			if wordByte(text[i]) {
				want.WriteByte(text[i])
			}
		}
		if b.String() != want.String() {
			t.Fatalf("Terms(%q) lost or added bytes", text)
		}
	})
}
