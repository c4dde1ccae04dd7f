package sqlite

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"barid/internal/search/fuzzy"
	"barid/internal/store"
)

func fuzzyWordsOf(needle string) []store.FuzzyWord {
	var out []store.FuzzyWord
	for _, w := range fuzzy.NewMatcher(fuzzy.DefaultLanguages).Query(needle).IndexWords() {
		out = append(out, store.FuzzyWord{Word: w.Word, Prefix: w.Prefix, Match: w.Matches})
	}
	return out
}

// TestFuzzyLookup checks FUZZY's candidates from the vocabulary
// (ftsfuzzy.go): a same-stem word that is not a prefix (ponies for
// pony), words inside terms with non-ASCII characters before them (a
// guillemet, a combining mark alone), the list of those terms brought
// forward when new ones are indexed, pending contents, and the limits
// that make it give up (ok false) rather than narrow wrongly.
func TestFuzzyLookup(t *testing.T) {
	ctx := context.Background()
	bodies := []string{"see ponies here\n", "«pony» there\n", "nothing\n", "pon\n", "x \u0301pony\n", "—ponyish\n"}
	msgs := make([]store.NewMessage, len(bodies))
	docs := make([]store.TextDoc, len(bodies))
	for i := range msgs {
		msgs[i] = store.NewMessage{BlobID: fmt.Sprintf("blob%d", i), Size: 10}
		docs[i] = store.TextDoc{BlobID: msgs[i].BlobID, Body: bodies[i]}
	}
	s, mb, _ := openInbox(t, "", Options{}, msgs)
	if err := s.IndexText(ctx, docs[:5]); err != nil {
		t.Fatal(err)
	}
	var sure []store.UID
	look := func(s *Store, needle string) ([]store.UID, bool) {
		t.Helper()
		var maybe []store.UID
		var ok bool
		var err error
		maybe, sure, ok, err = s.FuzzyLookup(ctx, mb.ID, fuzzyWordsOf(needle), true, true)
		if err != nil {
			t.Fatal(err)
		}
		return maybe, ok
	}
	// UID 6 is pending: always a candidate.
	if got, ok := look(s, "pony"); !ok || !slices.Equal(got, []store.UID{1, 2, 5, 6}) {
		t.Errorf("pony: %v %v; want [1 2 5 6] true", got, ok)
	}
	if !slices.Equal(sure, []store.UID{1, 2, 5}) {
		t.Errorf("pony: sure %v; want [1 2 5]", sure)
	}
	if got, ok := look(s, "ponies nothing"); !ok || !slices.Equal(got, []store.UID{6}) {
		t.Errorf("ponies nothing: %v %v; want [6] true", got, ok)
	}
	// Indexed now: found through its wide term "—ponyish".
	if err := s.IndexText(ctx, docs[5:]); err != nil {
		t.Fatal(err)
	}
	if got, ok := look(s, "pony"); !ok || !slices.Equal(got, []store.UID{1, 2, 5, 6}) {
		t.Errorf("pony after indexing: %v %v; want [1 2 5 6] true", got, ok)
	}
	if !slices.Equal(sure, []store.UID{1, 2, 5, 6}) {
		t.Errorf("pony after indexing: sure %v; want [1 2 5 6]", sure)
	}
	// Not every word given: nothing is sure.
	if maybe, sure, ok, err := s.FuzzyLookup(ctx, mb.ID, fuzzyWordsOf("pony"), false, true); err != nil || !ok || len(maybe) != 4 || len(sure) != 0 {
		t.Errorf("pony, not whole: %v %v %v %v; want 4 maybe, none sure", maybe, sure, ok, err)
	}
	if got, ok := look(s, "nothing"); !ok || !slices.Equal(got, []store.UID{3}) {
		t.Errorf("nothing: %v %v; want [3] true", got, ok)
	}
	// Not narrowable: no ASCII word.
	if _, ok := look(s, "σοφός"); ok {
		t.Error("σοφός narrowed")
	}

	for _, tc := range []struct {
		name string
		opts Options
		wide int
		ok   bool
	}{
		{"VocabTerms 4", Options{VocabTerms: 4}, 0, true},
		// pony picks ponies, «pony», ́pony, —ponyish beside "pony"*.
		{"VocabTerms 3", Options{VocabTerms: 3}, 0, false},
		{"VocabTerms off", Options{VocabTerms: -1}, 0, false},
		{"fuzzyWideMax 2", Options{}, 2, false},
		{"fuzzyWideMax 3", Options{}, 3, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.wide > 0 {
				old := fuzzyWideMax
				fuzzyWideMax = tc.wide
				defer func() { fuzzyWideMax = old }()
			}
			s, _, _ := openInbox(t, "", tc.opts, msgs)
			if err := s.IndexText(ctx, docs); err != nil {
				t.Fatal(err)
			}
			got, _, ok, err := s.FuzzyLookup(ctx, mb.ID, fuzzyWordsOf("pony"), true, true)
			if err != nil {
				t.Fatal(err)
			}
			if ok != tc.ok || ok && !slices.Equal(got, []store.UID{1, 2, 5, 6}) {
				t.Errorf("%v %v; want ok %v", got, ok, tc.ok)
			}
		})
	}
}
