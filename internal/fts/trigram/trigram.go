// Package trigram splits search needles into the trigrams the full-text
// index is keyed by (docs/search.md) and writes them as index queries.
package trigram

import (
	"strings"
	"unicode/utf8"
)

// MinNeedle is the shortest needle, in characters, the trigram index can
// narrow: shorter needles have no trigram and every message is a
// candidate.
const MinNeedle = 3

// Split returns the distinct trigrams (three consecutive characters)
// of a folded needle, in order of first appearance; nil if it is shorter
// than MinNeedle characters.
func Split(needle string) []string {
	if utf8.RuneCountInString(needle) < MinNeedle {
		return nil
	}
	var starts []int
	for i := range needle {
		starts = append(starts, i)
	}
	starts = append(starts, len(needle))
	seen := map[string]bool{}
	var out []string
	for k := 0; k+3 < len(starts); k++ {
		g := needle[starts[k]:starts[k+3]]
		if !seen[g] {
			seen[g] = true
			out = append(out, g)
		}
	}
	return out
}

// Query returns the FTS5 query that finds the documents holding
// every trigram of needle (a contentless detail=none table answers no
// phrase query, so the trigrams are ANDed; the verify step removes
// documents that hold them apart); "" if the needle has none.
func Query(needle string) string {
	var b strings.Builder
	for i, g := range Split(needle) {
		if i > 0 {
			b.WriteString(" AND ")
		}
		b.WriteByte('"')
		b.WriteString(strings.ReplaceAll(g, `"`, `""`))
		b.WriteByte('"')
	}
	return b.String()
}

// Word reports whether a folded needle is one word of the word tables
// (FTS5's ascii tokenizer: a run of ASCII letters, digits and non-ASCII
// bytes) that the index may answer for sure: a document holding a word
// that begins with it holds the needle itself, so the needle occurs in
// the message. ASCII capitals are excluded (the tokenizer folds them,
// the scan does not; folded needles have none), and so is U+FFFD, which
// the indexer puts where the text was not valid UTF-8.
func Word(needle string) bool {
	if needle == "" || strings.ContainsRune(needle, utf8.RuneError) {
		return false
	}
	for i := 0; i < len(needle); i++ {
		c := needle[i]
		if c < 0x80 && !('a' <= c && c <= 'z' || '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}

// WordQuery returns the FTS5 prefix query of a needle for which Word is
// true: documents with a word that begins with it.
func WordQuery(needle string) string {
	return `"` + needle + `"*`
}

// WordText returns text as the word tables must see it: every ASCII
// capital turned into a space, so that the tokenizer's folding of ASCII
// case can never make a word the text does not hold (the index text is
// folded and has none; this keeps the tables exact if it ever did).
func WordText(text string) string {
	for i := 0; i < len(text); i++ {
		if 'A' <= text[i] && text[i] <= 'Z' {
			b := []byte(text)
			for j := i; j < len(b); j++ {
				if 'A' <= b[j] && b[j] <= 'Z' {
					b[j] = ' '
				}
			}
			return string(b)
		}
	}
	return text
}

// MaxTerm is the longest word, in bytes, that the vocabulary of the word
// tables holds (docs/search.md, "Needles inside words"). A content with a
// longer word is listed apart and is never ruled out by a vocabulary
// lookup, so the answers stay exact; words this long are rare in text
// (runs of CJK characters without spaces are the usual case).
const MaxTerm = 128

// wordByte reports whether c belongs to a word of the word tables: FTS5's
// ascii tokenizer keeps ASCII letters and digits and every non-ASCII byte
// in its tokens. ASCII capitals are left out: WordText makes them spaces.
func wordByte(c byte) bool {
	return c >= 0x80 || 'a' <= c && c <= 'z' || '0' <= c && c <= '9'
}

// Terms calls fn for each word of text (text as WordText returns it,
// words in order, repeats included) that is at most MaxTerm bytes long,
// and reports whether text has a longer one. These are the tokens FTS5's
// ascii tokenizer finds in it (TestTermsAsFTS5 in internal/store/sqlite
// checks that on random texts).
func Terms(text string, fn func(term string)) (long bool) {
	for i := 0; i < len(text); {
		if !wordByte(text[i]) {
			i++
			continue
		}
		j := i + 1
		for j < len(text) && wordByte(text[j]) {
			j++
		}
		if j-i > MaxTerm {
			long = true
		} else {
			fn(text[i:j])
		}
		i = j
	}
	return long
}

// Piece is one run of word characters of a needle. Start is true when a
// character that is not a word character precedes it in the needle, so
// that a word of the text holding this occurrence begins with it; End when
// one follows, so that the word ends with it.
type Piece struct {
	Text       string
	Start, End bool
}

// Pieces cuts a folded needle into its runs of word characters: every
// occurrence of the needle in a text puts each piece inside one word of
// the text, at that word's start if Start, at its end if End. It returns
// nil when the needle has none, or when it holds an ASCII capital or
// U+FFFD (see Word), which the word tables cannot answer.
func Pieces(needle string) []Piece {
	if strings.ContainsRune(needle, utf8.RuneError) {
		return nil
	}
	var out []Piece
	for i := 0; i < len(needle); {
		c := needle[i]
		if 'A' <= c && c <= 'Z' {
			return nil
		}
		if !wordByte(c) {
			i++
			continue
		}
		j := i + 1
		for j < len(needle) && wordByte(needle[j]) {
			j++
		}
		if j < len(needle) && 'A' <= needle[j] && needle[j] <= 'Z' {
			return nil
		}
		out = append(out, Piece{Text: needle[i:j], Start: i > 0, End: j < len(needle)})
		i = j
	}
	return out
}
