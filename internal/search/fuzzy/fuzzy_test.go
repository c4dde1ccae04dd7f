package fuzzy

import (
	"testing"

	"barid/internal/mail/casemap"
)

// score runs a whole-message scan of text for needle.
func score(m *Matcher, needle string, text ...string) int {
	s := m.Query(needle).NewScan()
	for _, t := range text {
		s.Add(casemap.Fold(t))
	}
	return s.Score()
}

func TestMatching(t *testing.T) {
	en := NewMatcher(DefaultLanguages)
	de := NewMatcher([]string{"english", "german"})
	for _, tc := range []struct {
		name   string
		m      *Matcher
		needle string
		text   string
		match  bool
	}{
		{"equal word", en, "break", "Time for a break.", true},
		{"case", en, "BREAK", "time for a Break", true},
		{"word order and punctuation", en, "IMAP break", "a break, in IMAP-land", true},
		{"every word needed", en, "IMAP break", "a break in POP3", false},
		{"stem", en, "running", "she runs every day", true},
		{"stem both ways", en, "happiness", "so happy", true},
		{"stem plural", en, "conferences", "the conference starts", true},
		{"word prefix", en, "confer", "the conference starts", true},
		{"no substring inside a word", en, "ference", "the conference starts", false},
		{"unrelated", en, "running", "a rune stone", false},
		{"accents ignored", en, "cafe", "Café Müller", true},
		{"accents ignored in the needle", en, "müller", "cafe muller", true},
		{"german stem", de, "häuser", "ein Haus am See", true},
		{"german stem needs german", en, "häuser", "ein Haus am See", false},
		{"greek final sigma", en, "ΟΔΟΣ", "η οδος", true},
		{"turkish dotted I", en, "İSTANBUL", "istanbul", true},
		// Arabic: tashkeel, tatweel, alef variants, stems.
		{"arabic tashkeel", en, "كتب", "كَتَبَ الولد", true},
		{"arabic tatweel", en, "كتاب", "كتــــاب جديد", true},
		{"arabic alef with hamza", en, "احمد", "جاء أحمد", true},
		{"arabic alef maksura", en, "مصطفي", "مصطفى", true},
		{"arabic article via stem", en, "كتاب", "قرأت الكتاب", true},
		{"arabic unrelated", en, "كتاب", "ذهب إلى المدرسة", false},
		{"russian stem", en, "книги", "новая книга", true},
		{"cjk substring", en, "東京", "私は東京都に住んでいます", true},
		{"cjk absent", en, "大阪", "私は東京都に住んでいます", false},
	} {
		got := score(tc.m, tc.needle, tc.text) > 0
		if got != tc.match {
			t.Errorf("%s: %q in %q: match %v, want %v", tc.name, tc.needle, tc.text, got, tc.match)
		}
	}
}

func TestScores(t *testing.T) {
	m := NewMatcher(DefaultLanguages)
	exact := score(m, "conference", "the conference")
	stemmed := score(m, "conference", "two conferences")
	prefix := score(m, "conf", "the conference")
	if !(exact > stemmed && stemmed > prefix && prefix > 0) {
		t.Errorf("equal %d, stem %d, prefix %d: want decreasing and positive", exact, stemmed, prefix)
	}
	often := score(m, "conference", "conference conference conference")
	if often <= exact || often != 100 {
		t.Errorf("three occurrences score %d, one %d: want 100 and more", often, exact)
	}
	if s := score(m, "absent", "nothing here"); s != 0 {
		t.Errorf("no match scored %d", s)
	}
	for _, text := range []string{"x", "conference", "conferences conferences"} {
		if s := score(m, "conference", text); s < 0 || s > 100 {
			t.Errorf("score %d out of 0..100", s)
		}
	}
	// Segments add up: a word found in one segment and one in another.
	if score(m, "imap break", "imap", "break") == 0 {
		t.Error("words in two segments did not match")
	}
}

func TestEmptyNeedle(t *testing.T) {
	m := NewMatcher(nil)
	q := m.Query("  ,, ")
	if !q.Empty() {
		t.Fatal("a needle of punctuation has words")
	}
	s := q.NewScan()
	s.Add("anything")
	if s.Score() != 100 {
		t.Errorf("empty needle scored %d", s.Score())
	}
}

func FuzzScan(f *testing.F) {
	for _, s := range [][2]string{{"break", "time for a break"}, {"كتاب", "الكتاب"}, {"東京", "東京都"}, {"", ""}, {"\xff", "a\u0301"}} {
		f.Add(s[0], s[1])
	}
	m := NewMatcher([]string{"english", "german", "turkish"})
	f.Fuzz(func(t *testing.T, needle, text string) {
		s := m.Query(needle).NewScan()
		s.Add(casemap.Fold(text))
		if sc := s.Score(); sc < 0 || sc > 100 || (sc > 0) != s.Matched() {
			t.Fatalf("score %d, matched %v", sc, s.Matched())
		}
	})
}
