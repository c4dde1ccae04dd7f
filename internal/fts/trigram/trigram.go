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
