// Package fuzzy is barid's inexact matching for the FUZZY search key and
// its relevancy scores (RFC 6203, SEARCH=FUZZY).
//
// RFC 6203 §3 leaves the matching to the server. barid's is word search,
// what users of a search box expect:
//
//   - The needle and the text are compared as words: runs of letters and
//     digits after normalisation, so punctuation and line breaks do not
//     matter and word order does not either. Every word of the needle
//     must be found (AND, as a search box does).
//   - Normalisation: the i;unicode-casemap form (RFC 5051, which SEARCH
//     uses too), then every combining mark dropped, so accents do not
//     matter (café, cafe) and Arabic is found without its diacritics
//     (tashkeel); the Arabic tatweel is dropped and the alef (أ إ آ ٱ),
//     yeh (ى ی) and teh marbuta (ة) variants are unified.
//   - A needle word matches a text word that is equal to it, that has the
//     same stem under one of the configured Snowball stemmers (English by
//     default, Arabic for Arabic script, Russian for Cyrillic), or that
//     starts with it (word prefix: "confer" finds "conference").
//   - Words in scripts written without spaces (Han, Hiragana, Katakana)
//     are matched as substrings of the normalised text.
//
// The relevancy score (RFC 6203 §4, 1 to 100) grows with how well each
// needle word matched (equal 1, same stem 0.85, prefix 0.6) and with how
// often the needle's words occur.
package fuzzy

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/blevesearch/snowballstem"
	"github.com/blevesearch/snowballstem/arabic"
	"github.com/blevesearch/snowballstem/danish"
	"github.com/blevesearch/snowballstem/dutch"
	"github.com/blevesearch/snowballstem/english"
	"github.com/blevesearch/snowballstem/finnish"
	"github.com/blevesearch/snowballstem/french"
	"github.com/blevesearch/snowballstem/german"
	"github.com/blevesearch/snowballstem/hungarian"
	"github.com/blevesearch/snowballstem/italian"
	"github.com/blevesearch/snowballstem/norwegian"
	"github.com/blevesearch/snowballstem/portuguese"
	"github.com/blevesearch/snowballstem/romanian"
	"github.com/blevesearch/snowballstem/russian"
	"github.com/blevesearch/snowballstem/spanish"
	"github.com/blevesearch/snowballstem/swedish"
	"github.com/blevesearch/snowballstem/turkish"

	"barid/internal/mail/casemap"
)

// stemmers are the Snowball stemmers by language name (the names of
// the config key search.fuzzy_languages).
var stemmers = map[string]func(*snowballstem.Env) bool{
	"arabic": arabic.Stem, "danish": danish.Stem, "dutch": dutch.Stem,
	"english": english.Stem, "finnish": finnish.Stem, "french": french.Stem,
	"german": german.Stem, "hungarian": hungarian.Stem, "italian": italian.Stem,
	"norwegian": norwegian.Stem, "portuguese": portuguese.Stem, "romanian": romanian.Stem,
	"russian": russian.Stem, "spanish": spanish.Stem, "swedish": swedish.Stem,
	"turkish": turkish.Stem,
}

// Languages lists the stemmer names Known accepts.
func Languages() []string {
	out := make([]string, 0, len(stemmers))
	for n := range stemmers {
		out = append(out, n)
	}
	return out
}

// Known reports whether name is a stemmer language.
func Known(name string) bool { _, ok := stemmers[name]; return ok }

// DefaultLanguages is what search.fuzzy_languages defaults to: words in
// Latin script are stemmed as English; Arabic and Cyrillic words always
// get their own script's stemmer (see script).
var DefaultLanguages = []string{"english"}

// Scores of one needle word against one text word.
const (
	scoreEqual  = 1.0
	scoreStem   = 0.85
	scorePrefix = 0.6
)

// Matcher holds the stemmers for the Latin-script languages configured;
// it is safe for concurrent use.
type Matcher struct {
	latin []func(*snowballstem.Env) bool
}

// NewMatcher returns a Matcher stemming Latin-script words with the
// named languages (unknown names are ignored; the config refuses them).
func NewMatcher(languages []string) *Matcher {
	m := &Matcher{}
	for _, l := range languages {
		if f, ok := stemmers[l]; ok && l != "arabic" && l != "russian" {
			m.latin = append(m.latin, f)
		}
	}
	return m
}

// Normalize returns s in the form fuzzy matching compares: casemap-folded
// with combining marks dropped and the Arabic letter variants unified.
func Normalize(s string) string {
	return normalizeFolded(casemap.Fold(s))
}

// normalizeFolded does Normalize's work on casemap-folded text.
func normalizeFolded(s string) string {
	plain := true
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			plain = false
			break
		}
	}
	if plain {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		if r2, keep := normRune(r); keep {
			b.WriteRune(r2)
		}
	}
	return b.String()
}

// normRune maps one folded rune: combining marks go (casemap's NFKD has
// split them off their letters: é, أ = ا + hamza above), and the Arabic
// variants that NFKD keeps apart are unified, as Arabic search engines
// do (Larkey et al.'s light stemming normalisation).
func normRune(r rune) (rune, bool) {
	switch {
	case r < 0x80:
		return r, true
	case unicode.Is(unicode.Mn, r):
		return 0, false
	}
	switch r {
	case 0x0640: // tatweel
		return 0, false
	case 0x0622, 0x0623, 0x0625, 0x0671: // alef with madda, hamza above/below, wasla
		return 0x0627, true
	case 0x0649, 0x06CC: // alef maksura, Farsi yeh
		return 0x064A, true
	case 0x0629: // teh marbuta
		return 0x0647, true
	}
	return r, true
}

// script is how a word is matched.
type script uint8

const (
	scriptLatin    script = iota // and any other spaced script: stemmed with the configured languages
	scriptArabic                 // Arabic stemmer
	scriptCyrillic               // Russian stemmer
	scriptCJK                    // no word boundaries: substring
)

func scriptOf(w string) script {
	for _, r := range w {
		switch {
		case r < 0x80:
			continue
		case unicode.Is(unicode.Arabic, r):
			return scriptArabic
		case unicode.Is(unicode.Cyrillic, r):
			return scriptCyrillic
		case unicode.Is(unicode.Han, r), unicode.Is(unicode.Hiragana, r), unicode.Is(unicode.Katakana, r):
			return scriptCJK
		}
	}
	return scriptLatin
}

// wordRune reports whether r belongs to a word.
func wordRune(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }

// eachWord calls fn with every word of normalised text s.
func eachWord(s string, fn func(w string)) {
	start := -1
	for i, r := range s {
		if wordRune(r) {
			if start < 0 {
				start = i
			}
			continue
		}
		if start >= 0 {
			fn(s[start:i])
			start = -1
		}
	}
	if start >= 0 {
		fn(s[start:])
	}
}

// qword is one word of a needle.
type qword struct {
	w      string
	sc     script
	stems  []string // one per stemmer that applies, "" where none
	prefix string   // the first two characters a stem-equal word shares, for a cheap test
}

// Query is a needle prepared for matching; its methods are safe for
// concurrent use.
type Query struct {
	m     *Matcher
	words []qword
}

// Query prepares needle (any case, any normalisation).
func (m *Matcher) Query(needle string) *Query {
	q := &Query{m: m}
	seen := map[string]bool{}
	eachWord(Normalize(needle), func(w string) {
		if seen[w] {
			return
		}
		seen[w] = true
		qw := qword{w: w, sc: scriptOf(w)}
		for _, f := range m.stemmersFor(qw.sc) {
			qw.stems = append(qw.stems, stem(f, w))
		}
		qw.prefix = firstRunes(w, 2)
		q.words = append(q.words, qw)
	})
	return q
}

// Empty reports whether the needle has no word (it then matches every
// message, as an empty SEARCH string does).
func (q *Query) Empty() bool { return len(q.words) == 0 }

func (m *Matcher) stemmersFor(sc script) []func(*snowballstem.Env) bool {
	switch sc {
	case scriptArabic:
		return []func(*snowballstem.Env) bool{arabic.Stem}
	case scriptCyrillic:
		return []func(*snowballstem.Env) bool{russian.Stem}
	case scriptCJK:
		return nil
	}
	return m.latin
}

func stem(f func(*snowballstem.Env) bool, w string) string {
	env := snowballstem.NewEnv(w)
	f(env)
	return env.Current()
}

func firstRunes(s string, n int) string {
	i := 0
	for k := 0; k < n && i < len(s); k++ {
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
	}
	return s[:i]
}

// Scan gathers matches over the text of one message, given in segments.
type Scan struct {
	q    *Query
	best []float64
	hits int
	// stems caches the stems of the text words seen, per stemmer index.
	stems map[string][]string
}

// NewScan starts a scan of one message.
func (q *Query) NewScan() *Scan {
	return &Scan{q: q, best: make([]float64, len(q.words))}
}

// Add compares the words of one text segment, already casemap-folded
// (as internal/imap/msgdata hands them out), with the needle.
func (s *Scan) Add(folded string) {
	text := normalizeFolded(folded)
	var cjk bool
	for i, qw := range s.q.words {
		if qw.sc == scriptCJK {
			cjk = true
			if n := strings.Count(text, qw.w); n > 0 {
				s.best[i] = scoreEqual
				s.hits += n
			}
		}
	}
	if cjk && len(s.q.words) == 1 {
		return
	}
	eachWord(text, func(w string) {
		for i := range s.q.words {
			qw := &s.q.words[i]
			if qw.sc == scriptCJK {
				continue
			}
			sc := s.compare(qw, w)
			if sc > 0 {
				s.hits++
				if sc > s.best[i] {
					s.best[i] = sc
				}
			}
		}
	})
}

// compare scores text word w against needle word qw.
func (s *Scan) compare(qw *qword, w string) float64 {
	if w == qw.w {
		return scoreEqual
	}
	score := 0.0
	if strings.HasPrefix(w, qw.w) {
		score = scorePrefix
	}
	if len(qw.stems) > 0 && (qw.sc == scriptArabic || strings.HasPrefix(w, qw.prefix)) {
		// Stems keep a word's first letters in the Latin and
		// Cyrillic stemmers (they cut and rewrite suffixes), so a
		// word that does not share the needle's first two letters
		// is not stemmed; the Arabic stemmer also strips prefixes.
		ws := s.stemsOf(w, qw.sc)
		for k, st := range qw.stems {
			if k < len(ws) && ws[k] == st {
				return scoreStem
			}
		}
	}
	return score
}

func (s *Scan) stemsOf(w string, sc script) []string {
	if st, ok := s.stems[w]; ok {
		return st
	}
	if s.stems == nil {
		s.stems = make(map[string][]string)
	}
	fs := s.q.m.stemmersFor(sc)
	st := make([]string, len(fs))
	for k, f := range fs {
		st[k] = stem(f, w)
	}
	s.stems[w] = st
	return st
}

// Matched reports whether every needle word was found.
func (s *Scan) Matched() bool {
	for _, b := range s.best {
		if b == 0 {
			return false
		}
	}
	return true
}

// Score is the relevancy of a matched message, 1 to 100 (RFC 6203 §4:
// "100 is the highest relevancy"); 0 if it did not match. Seven tenths
// come from how well the words matched, three from how often: a message
// that names every needle word three times or more gets the full three.
func (s *Scan) Score() int {
	if !s.Matched() {
		return 0
	}
	if len(s.best) == 0 {
		return 100
	}
	var sum float64
	for _, b := range s.best {
		sum += b
	}
	quality := sum / float64(len(s.best))
	freq := min(1, float64(s.hits)/float64(3*len(s.best)))
	score := int(100*(0.7*quality+0.3*freq) + 0.5)
	return max(1, min(100, score))
}

// IndexWord is one needle word as a word index can narrow it: the
// vocabulary terms (docs/search.md, "SEARCH=FUZZY from the index") that
// may hold a text word matching it. A term is a run of ASCII letters and
// digits and non-ASCII bytes of the folded text (FTS5's ascii
// tokenizer); every word this package finds in a text lies inside one
// term of it, since the characters that separate terms (ASCII other than
// letters and digits) separate words here too, and normalisation works
// rune by rune.
//
// Every text word that matches the needle word begins with Prefix: an
// equal word and a word-prefix match begin with Word, which begins with
// Prefix, and compare only tries a stem on a word that begins with the
// needle's first two characters. A word begins either at the start of
// its term or after a non-ASCII character (an ASCII letter or digit
// would have continued it). So the terms that may hold a match are those
// that begin with Prefix and those that hold a non-ASCII byte; Matches
// says which of them do. Every term that begins with Word holds a match
// (its first word begins with Word, since ASCII letters and digits are
// word characters and normalisation keeps them).
type IndexWord struct {
	Word, Prefix string
	q            *Query
	i            int
}

// IndexWords returns the needle words an index of terms can narrow:
// those in ASCII (after normalisation) matched as Latin script. Since
// every needle word must match, the candidates of any one of them hold
// every match of the needle; the others are left to the scan.
func (q *Query) IndexWords() []IndexWord {
	var out []IndexWord
	for i, qw := range q.words {
		if qw.sc != scriptLatin || !asciiWord(qw.w) {
			continue
		}
		out = append(out, IndexWord{Word: qw.w, Prefix: qw.prefix, q: q, i: i})
	}
	return out
}

func asciiWord(w string) bool {
	for i := 0; i < len(w); i++ {
		c := w[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9') {
			return false
		}
	}
	return w != ""
}

// Matches reports whether a folded term of the index holds a word that
// matches the needle word, exactly as a scan of a text holding the term
// would find it.
func (w IndexWord) Matches(term string) bool {
	s := w.q.NewScan()
	qw := &w.q.words[w.i]
	found := false
	eachWord(normalizeFolded(term), func(tw string) {
		if !found && s.compare(qw, tw) > 0 {
			found = true
		}
	})
	return found
}

// Words is how many distinct words the needle has.
func (q *Query) Words() int { return len(q.words) }
