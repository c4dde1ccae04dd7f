package fuzzy

import (
	"strings"
	"testing"

	"barid/internal/fts/trigram"
	"barid/internal/mail/casemap"
)

// checkIndexWords checks the rule SQLite's FUZZY lookup rests on
// (IndexWord): when a text matches a needle word, some term of the
// text (trigram.Terms of its word-table form) that begins with Prefix
// or holds a non-ASCII byte is one Matches accepts, or the text has a
// term too long for the vocabulary; and every term that begins with
// Word is accepted.
func checkIndexWords(t *testing.T, m *Matcher, needle, text string) {
	folded := casemap.Fold(text)
	q := m.Query(needle)
	for _, iw := range q.IndexWords() {
		one := m.Query(iw.Word)
		s := one.NewScan()
		s.Add(folded)
		found := false
		long := trigram.Terms(trigram.WordText(folded), func(term string) {
			wide := strings.IndexFunc(term, func(r rune) bool { return r >= 0x80 }) >= 0
			if strings.HasPrefix(term, iw.Word) && !iw.Matches(term) {
				t.Errorf("needle %q: term %q begins with %q but does not match", needle, term, iw.Word)
			}
			if (strings.HasPrefix(term, iw.Prefix) || wide) && iw.Matches(term) {
				found = true
			}
		})
		if s.Matched() && !found && !long {
			t.Errorf("needle %q (word %q) matches %q, but no term of it is a candidate", needle, iw.Word, text)
		}
		if found && !s.Matched() {
			t.Errorf("needle %q (word %q): a term of %q matches, the scan does not", needle, iw.Word, text)
		}
	}
}

func TestIndexWords(t *testing.T) {
	en := NewMatcher(DefaultLanguages)
	for _, tc := range []struct{ needle, text string }{
		{"pony", "two ponies"},
		{"pony", "«ponies»"},
		{"pony", "x \u0301pony"},
		{"cafe", "Café\u00a0Müller"},
		{"naïve", "so NAIVE—really"},
		{"confer", "l’conference"},
		{"running", "he runs"},
		{"42", "x42 and 4242"},
	} {
		checkIndexWords(t, en, tc.needle, tc.text)
	}
	if n := len(en.Query("σοφός Встреча 東京").IndexWords()); n != 0 {
		t.Errorf("%d index words for needles in other scripts; want 0", n)
	}
	if w := en.Query("Café x").IndexWords(); len(w) != 2 || w[0].Word != "cafe" || w[0].Prefix != "ca" || w[1].Prefix != "x" {
		t.Errorf("IndexWords of \"Café x\": %+v", w)
	}
}

func FuzzIndexWords(f *testing.F) {
	f.Add("pony", "two ponies")
	f.Add("pony", "«ponies» x \u0301pony")
	f.Add("café NAIVE", "Café\u00a0naïve—l’conference")
	f.Add("dying", "die lie lying")
	m := NewMatcher([]string{"english", "german", "french"})
	f.Fuzz(func(t *testing.T, needle, text string) {
		if len(needle) > 64 || len(text) > 4096 {
			return
		}
		checkIndexWords(t, m, needle, text)
	})
}
