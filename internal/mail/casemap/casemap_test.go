package casemap

import (
	"math/rand/v2"
	"strings"
	"testing"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

func TestEqual(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want bool
	}{
		{"Hello", "hELLO", true},
		{"hello", "hallo", false},
		// Greek: capital, small and final sigma are one character
		// under titlecase mapping (RFC 5051 §2 step 2).
		{"ΟΔΥΣΣΕΥΣ", "οδυσσευς", true},
		{"Σ", "ς", true},
		{"σ", "ς", true},
		// German: precomposed ü equals u + combining diaeresis (NFKD),
		// in either case; ß keeps its own identity (simple mappings).
		{"Grüße", "GRU\u0308SSE", false},
		{"Grüße", "gru\u0308ße", true},
		{"ÜBER", "über", true},
		{"Straße", "STRASSE", false},
		// Capital sharp s (U+1E9E) has no simple mapping to ß under
		// titlecase: a class of its own, as in Dovecot.
		{"STRAẞE", "Straße", false},
		{"STRAẞE", "straẞe", true},
		// Georgian Mtavruli capitals titlecase to themselves, not to
		// the Mkhedruli letters they lower-case to.
		{"\u1C90", "\u10D0", false},
		// Turkish: dotted capital I decomposes to I + U+0307, so it
		// equals i + U+0307, not a plain i; dotless ı titlecases to I.
		{"İstanbul", "i\u0307stanbul", true},
		{"İstanbul", "istanbul", false},
		{"ırmak", "IRMAK", true}, // ı titlecases to I, as i does
		// Arabic has no case; NFKD unfolds presentation forms to the
		// letters they show.
		{"سلام", "سلام", true},
		{"\uFEF7", "\u0644\u0623", true}, // lam with alef with hamza above, isolated form
		{"بريد", "بريط", false},
		// Compatibility: the fi ligature and fullwidth letters.
		{"\uFB01le", "FILE", true},
		{"ＩＭＡＰ", "imap", true},
		// Kelvin sign K and Angstrom sign Å.
		{"\u212A", "k", true},
		{"\u212B", "å", true},
	} {
		if got := Equal(tc.a, tc.b); got != tc.want {
			t.Errorf("Equal(%q, %q) = %v, want %v (folds %q %q)", tc.a, tc.b, got, tc.want, Fold(tc.a), Fold(tc.b))
		}
	}
}

func TestContains(t *testing.T) {
	for _, tc := range []struct {
		s, needle string
		want      bool
	}{
		{"Re: Einladung zur Sitzung für Übermorgen", "ÜBERMORGEN", true},
		{"Re: Einladung zur Sitzung für Übermorgen", "fu\u0308r", true},
		{"İSTANBUL'DA TOPLANTI", "i\u0307stanbul", true},
		{"مرحبا بكم في الاجتماع", "الاجتماع", true},
		{"مرحبا بكم في الاجتماع", "الإجتماع", false},
		{"Δελτίο τύπου: ΟΔΥΣΣΕΥΣ", "οδυσσευς", true},
		{"plain ascii", "ASCII", true},
		{"plain ascii", "asci ", false},
	} {
		if got := Contains(tc.s, tc.needle); got != tc.want {
			t.Errorf("Contains(%q, %q) = %v, want %v", tc.s, tc.needle, got, tc.want)
		}
	}
}

// TestFoldIdempotent: folding a folded string changes nothing, and the
// result is in NFKD, on a sample of every script the tests name.
func TestFoldIdempotent(t *testing.T) {
	for _, s := range []string{"ΟΔΥΣΣΕΥΣ ς", "Grüße aus Köln", "İıIi", "سلامٌ", "日本語のテキスト", "\uFB01\u212A\u212B", "ǅungla ǈ ǋ"} {
		f := Fold(s)
		if Fold(f) != f {
			t.Errorf("Fold(Fold(%q)) = %q, want %q", s, Fold(f), f)
		}
		if !norm.NFKD.IsNormalString(f) {
			t.Errorf("Fold(%q) = %q is not NFKD", s, f)
		}
	}
}

func TestCompare(t *testing.T) {
	if Compare("apple", "BANANA") >= 0 || Compare("Banana", "apple") <= 0 || Compare("ÄRGER", "a\u0308rger") != 0 {
		t.Error("Compare does not order by folded form")
	}
	// RFC 5051 §2 orders by the titlecase form: "[" (0x5B) and "_"
	// (0x5F) sort after every letter, as in Dovecot's SORT (imaptest
	// sort-subject expects "[xyz]" and "_" after "c").
	for _, p := range [][2]string{{"c", "[xyz]"}, {"C", "_"}, {"zebra", "`"}, {"[xyz]", "_"}, {"", "a"}} {
		if Compare(p[0], p[1]) >= 0 || Compare(p[1], p[0]) <= 0 {
			t.Errorf("Compare(%q, %q) does not put %q first", p[0], p[1], p[0])
		}
	}
}

func TestKey(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"abc", "ABC"},
		{"ABC_", "ABC_"},
		{"Grüße", "GRU\u0308ßE"},     // ß has no simple titlecase mapping
		{"\uFF32\uFF45: x", "RE: X"}, // fullwidth letters decompose to ASCII
		{"ǆ", "DZ\u030C"},            // titlecase ǅ, decomposed, then titlecased again
	} {
		if got := Key(tt.in); got != tt.want {
			t.Errorf("Key(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func FuzzFold(f *testing.F) {
	for _, s := range []string{"", "abc", "ΟΔΥΣΣΕΥΣ", "İ", "\xff\xfe", "ǅ"} {
		f.Add(s)
	}
	f.Add("Grüße\nfrom: ANN\ne\u0301\n\u0301x\n\xc3\n\xa9")
	f.Fuzz(func(t *testing.T, s string) {
		a := Fold(s)
		if r := refFold(s); a != r {
			t.Errorf("Fold(%q) = %q, the whole-string form is %q", s, a, r)
		}
		if Fold(a) != a {
			t.Errorf("not idempotent: %q -> %q -> %q", s, a, Fold(a))
		}
		if k := Key(s); Key(k) != k || !norm.NFKD.IsNormalString(k) {
			t.Errorf("Key not a fixed point in NFKD: %q -> %q -> %q", s, k, Key(k))
		}
		if !Equal(s, s) {
			t.Errorf("Equal(%q, %q) = false", s, s)
		}
	})
}

// The lower-case step merges no two characters that RFC 5051's canonical
// form (simple titlecase, then NFKD) keeps apart: over every code point,
// equal folds mean equal canonical forms.
func TestFoldKeepsRFC5051Classes(t *testing.T) {
	canon := func(s string) string {
		var b []rune
		for _, r := range s {
			b = append(b, unicode.ToTitle(r))
		}
		d := norm.NFKD.String(string(b))
		b = b[:0]
		for _, r := range d {
			b = append(b, unicode.ToTitle(r))
		}
		return norm.NFKD.String(string(b))
	}
	seen := map[string]string{}
	for r := rune(0); r <= unicode.MaxRune; r++ {
		if (r >= 0xD800 && r <= 0xDFFF) || !unicode.IsPrint(r) && !unicode.IsLetter(r) {
			continue
		}
		s := string(r)
		f, c := Fold(s), canon(s)
		if prev, ok := seen[f]; ok && prev != c {
			t.Errorf("%U folds to %q like a character of another class (%q vs %q)", r, f, c, prev)
		} else {
			seen[f] = c
		}
	}
}

// refFold is Fold without its line-by-line path: the whole string
// through the general mapping, as Fold was written first.
func refFold(s string) string {
	if isASCII(s) {
		return strings.ToLower(s)
	}
	var b strings.Builder
	for _, r := range s {
		b.WriteRune(unicode.ToTitle(r))
	}
	d := norm.NFKD.String(b.String())
	b.Reset()
	for _, r := range d {
		b.WriteRune(lowerRep(unicode.ToTitle(r)))
	}
	return norm.NFKD.String(b.String())
}

// Folding line by line gives what folding the whole string gives, on
// random lines of ASCII, capitals, combining marks (also at the start of
// a line), compatibility characters, final sigma, invalid bytes.
func TestFoldLinesAsWhole(t *testing.T) {
	pieces := []string{"a", "Z", "\n", " ", "\u0301", "\u0308", "\u0323", "É", "ß", "Σ", "ς", "İ", "ı", "ﬁ", "①",
		"\u037a", "ǅ", "\xff", "\xc3", "\xa9", "東", "ا", "\u064e", "\r\n", "K"}
	r := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		var b strings.Builder
		for range 1 + r.IntN(12) {
			b.WriteString(pieces[r.IntN(len(pieces))])
		}
		s := b.String()
		if got, want := Fold(s), refFold(s); got != want {
			t.Fatalf("Fold(%q) = %q, whole-string form %q", s, got, want)
		}
	}
}
