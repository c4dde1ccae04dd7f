package storetest

import (
	"context"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"barid/internal/fts/trigram"
	"barid/internal/store"
)

// testTextInsideWords: store.TextLookup on random texts with needles
// inside words, at the ends of words, across digits and letters, in
// non-ASCII words, over punctuation and in words longer than the SQLite
// vocabulary keeps (docs/search.md, "Needles inside words"). maybe must
// hold every match and sure only matches, and a needle made of word
// characters only (trigram.Word) must be decided: sure is exactly the
// matches, on every store.
func testTextInsideWords(t *testing.T, open func(t *testing.T) store.Store) {
	s := openClosed(t, open)
	ti, ok := s.(store.TextIndexer)
	if !ok {
		t.Skip("store has no text index")
	}
	ctx := context.Background()
	_, in := setup(t, s)
	r := rand.New(rand.NewPCG(15, 9))
	words := []string{"katisupel", "supel", "katisupelmon", "bokatisupel", "zanzibarite", "anzibar",
		"regards", "x499999", "499999", "4999990", "1", "bench", "benchmark", "σίγμα", "κόσμος",
		"naïve", "café", "会议纪要", "größe", "straße", "abc123def", "123abc", "e", "mail",
		strings.Repeat("long", trigram.MaxTerm/4+1), "aa", "ab"}
	seps := []string{" ", " ", " ", "\n", ", ", ".", "@", "-", "\r\n", ": ", "_"}
	text := func(n int) string {
		var b strings.Builder
		for i := 0; i < n; i++ {
			if i > 0 {
				b.WriteString(seps[r.IntN(len(seps))])
			}
			w := words[r.IntN(len(words))]
			if r.IntN(4) == 0 { // glue two words into one
				w += words[r.IntN(len(words))]
			}
			b.WriteString(w)
		}
		return b.String()
	}
	const n = 60
	var msgs []store.NewMessage
	for i := 0; i < n; i++ {
		msgs = append(msgs, msg(100+i))
	}
	uids, _, err := s.AppendMessages(ctx, in.ID, msgs)
	noErr(t, err)
	docs := make([]store.TextDoc, n)
	for i := range docs {
		docs[i] = store.TextDoc{BlobID: msgs[i].BlobID, Head: "subject: " + text(1+r.IntN(3)) + "\n", Body: text(r.IntN(12)) + "\n"}
	}
	long := make([]bool, n)
	for i, d := range docs {
		nop := func(string) {}
		long[i] = trigram.Terms(d.Head, nop) || trigram.Terms(d.Body, nop)
	}
	// The last 5 stay pending: candidates, never sure.
	noErr(t, ti.IndexText(ctx, docs[:n-5]))

	needles := []string{"katisupel", "supel", "atisupe", "upelmon", "pelmo", "anzibar", "nzibari", "ite",
		"499999", "99999", "9999901", "x499", "499999.1", "1@bench", "499999.1@bench", ".1@", "bench",
		"nchmark", "c123d", "3abc", "bc12", "ίγμ", "σμος", "ïve", "afé", "议纪", "öß", "raße",
		"longlong", "glonglo", strings.Repeat("long", trigram.MaxTerm/4), "best regards", "e-mail",
		"s, re", "gards\nbe", "ab_ab", "aaab", "zzz", "straßekatisupel"}
	// Stretches of the texts themselves, inside and across words.
	for i := 0; i < 40; i++ {
		d := docs[r.IntN(n)].Body
		if len(d) < 8 {
			continue
		}
		a := r.IntN(len(d) - 4)
		b := a + 3 + r.IntN(min(12, len(d)-a-3))
		if nd := d[a:b]; utf8.ValidString(nd) {
			needles = append(needles, nd)
		}
	}
	for _, needle := range needles {
		if len(trigram.Split(needle)) == 0 {
			continue
		}
		for _, body := range []bool{true, false} {
			var matches []store.UID
			for i, d := range docs {
				if strings.Contains(d.Body, needle) || !body && strings.Contains(d.Head, needle) || i >= n-5 {
					matches = append(matches, uids[i])
				}
			}
			maybe, sure, err := ti.TextLookup(ctx, in.ID, needle, body)
			noErr(t, err)
			for _, u := range matches {
				if !slices.Contains(maybe, u) {
					t.Fatalf("TextLookup(%q, body %v): maybe lacks %d (a match or pending)", needle, body, u)
				}
			}
			for _, u := range sure {
				if !slices.Contains(matches, u) || u >= uids[n-5] {
					t.Fatalf("TextLookup(%q, body %v): sure has %d, not an indexed match", needle, body, u)
				}
			}
			if !slices.IsSorted(maybe) || !slices.IsSorted(sure) {
				t.Fatalf("TextLookup(%q): not ascending", needle)
			}
			if trigram.Word(needle) && len(needle) <= trigram.MaxTerm {
				// Decided: every indexed match is sure, except (on
				// SQLite) where the needle may lie in a word longer
				// than the vocabulary keeps.
				for _, u := range matches {
					i := slices.Index(uids, u)
					if i < n-5 && !long[i] && !slices.Contains(sure, u) {
						t.Fatalf("TextLookup(%q, body %v): sure %v lacks the match %d", needle, body, sure, u)
					}
				}
			}
		}
	}
}
