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
