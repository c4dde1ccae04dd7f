package sqlite

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"barid/internal/fts/trigram"
	"barid/internal/store"
)

// vocabText makes a random folded text: words of ASCII letters and
// digits and non-ASCII letters, separated by ASCII punctuation and
// white space, some longer than trigram.MaxTerm.
func vocabText(r *rand.Rand) string {
	parts := []string{"a", "z", "0", "9", "q", "é", "ß", "σ", "会", "\u0301", "\U0001F600", "ka", "lo", "mi"}
	seps := []string{" ", "\n", "\r\n", ".", "@", "-", "_", "~", "\t", "\x00", "\x7f", "€"}
	var b strings.Builder
	for i := r.IntN(40); i >= 0; i-- {
		n := 1 + r.IntN(8)
		if r.IntN(30) == 0 {
			n = trigram.MaxTerm + r.IntN(8) - 4
		}
		for j := 0; j < n; j++ {
			b.WriteString(parts[r.IntN(len(parts))])
		}
		b.WriteString(seps[r.IntN(len(seps))])
	}
	return b.String()
}

// TestTermsAsFTS5: trigram.Terms finds the words FTS5's ascii tokenizer
// puts in fts_wbody and fts_whead (read back through fts5vocab), and the
// vocabulary holds each of them up to trigram.MaxTerm bytes, with the
// contents that have a longer one in fts_longword. If they differed, a
// needle inside a word the vocabulary lacks would be missed.
func TestTermsAsFTS5(t *testing.T) {
	ctx := context.Background()
	r := rand.New(rand.NewPCG(3, 5))
	const n = 200
	msgs := make([]store.NewMessage, n)
	docs := make([]store.TextDoc, n)
	want := map[string]bool{}
	var wantLong []int64
	for i := range msgs {
		msgs[i] = store.NewMessage{BlobID: fmt.Sprintf("blob%d", i), Size: 10}
		docs[i] = store.TextDoc{BlobID: msgs[i].BlobID, Head: vocabText(r), Body: vocabText(r)}
		long := false
		for _, tx := range []string{docs[i].Head, docs[i].Body} {
			if trigram.Terms(trigram.WordText(tx), func(w string) { want[w] = true }) {
				long = true
			}
		}
		if long {
			wantLong = append(wantLong, int64(i+1))
		}
	}
	s, _, _ := openInbox(t, "", Options{}, msgs)
	if err := s.IndexText(ctx, docs); err != nil {
		t.Fatal(err)
	}
	list := func(q string) []string {
		t.Helper()
		var out []string
		if err := s.read(ctx, func(r *reader) error {
			rows, err := r.c.conn.QueryContext(r.ctx, q)
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				var s string
				if err := rows.Scan(&s); err != nil {
					return err
				}
				out = append(out, s)
			}
			return rows.Err()
		}); err != nil {
			t.Fatal(err)
		}
		slices.Sort(out)
		return out
	}
	fts := list(`SELECT term FROM fts_wbody_terms UNION SELECT term FROM fts_whead_terms`)
	var short []string
	for _, w := range fts {
		if len(w) <= trigram.MaxTerm {
			short = append(short, w)
		}
	}
	var wantList []string
	for w := range want {
		wantList = append(wantList, w)
	}
	slices.Sort(wantList)
	if !slices.Equal(short, wantList) {
		t.Fatalf("fts5's words (%d) differ from trigram.Terms' (%d)", len(short), len(wantList))
	}
	if len(short) == len(fts) || len(wantLong) == 0 {
		t.Fatalf("the corpus has no word over %d bytes", trigram.MaxTerm)
	}
	if got := list(`SELECT term FROM fts_vocab`); !slices.Equal(got, wantList) {
		t.Fatalf("fts_vocab has %d words, want %d", len(got), len(wantList))
	}
	if got := list(`SELECT d.blob_id FROM fts_longword l JOIN fts_docs d USING (id)`); len(got) != len(wantLong) {
		t.Fatalf("fts_longword has %d contents, want %d", len(got), len(wantLong))
	}
}

// TestVocabCatchUp: a store indexed before schema step 25 has word
// tables but no vocabulary. Until CatchUpVocab has read every word back
// from the word tables, lookups use the trigram index (same answers);
// after it, the vocabulary is the one indexing would have built, and
// needles inside words are decided.
func TestVocabCatchUp(t *testing.T) {
	ctx := context.Background()
	r := rand.New(rand.NewPCG(7, 7))
	const n = 300
	msgs := make([]store.NewMessage, n)
	docs := make([]store.TextDoc, n)
	for i := range msgs {
		msgs[i] = store.NewMessage{BlobID: fmt.Sprintf("blob%d", i), Size: 10}
		docs[i] = store.TextDoc{BlobID: msgs[i].BlobID, Head: vocabText(r), Body: vocabText(r) + fmt.Sprintf(" katisupel%d", i)}
	}
	s, mb, _ := openInbox(t, "", Options{}, msgs)
	if err := s.IndexText(ctx, docs); err != nil {
		t.Fatal(err)
	}
	dump := func() (terms, long string) {
		t.Helper()
		if err := s.read(ctx, func(r *reader) error {
			if err := r.queryRow(`SELECT group_concat(term, ' ') FROM (SELECT term FROM fts_vocab ORDER BY term)`).Scan(&terms); err != nil {
				return err
			}
			if err := r.queryRow(`SELECT coalesce(group_concat(id, ' '), '') FROM (SELECT id FROM fts_longword ORDER BY id)`).Scan(&long); err != nil {
				return err
			}
			var where string
			if err := r.queryRow(`SELECT coalesce(group_concat(doc || '.' || mailbox || '.' || uid, ' '), '') FROM fts_where`).Scan(&where); err != nil {
				return err
			}
			long += " / " + where
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		return terms, long
	}
	wantTerms, wantLong := dump()
	if strings.HasPrefix(wantLong, " ") || strings.HasSuffix(wantLong, " ") {
		t.Fatalf("no content with a long word, or fts_where empty: %q", wantLong)
	}
	// As before step 25: no vocabulary, catch-up to do.
	if err := s.writeBackground(ctx, func(t *wtx) error {
		for _, q := range []string{`DELETE FROM fts_vocab`, `DELETE FROM fts_longword`, `DELETE FROM fts_where`,
			`INSERT INTO fts_vocab_tri (fts_vocab_tri) VALUES ('delete-all')`,
			`INSERT INTO fts_vocab_todo (tbl, after) VALUES ('fts_wbody', ''), ('fts_whead', ''), ('fts_where', '0')`} {
			if _, err := t.exec(q); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	s.vocab = vocabSeen{}
	defer func(b int) { vocabCatchUpBatch = b }(vocabCatchUpBatch)
	vocabCatchUpBatch = 7
	maybe, sure, err := s.TextLookup(ctx, mb.ID, "atisupel1", true)
	if err != nil {
		t.Fatal(err)
	}
	if len(maybe) < 111 || len(sure) != 0 {
		t.Fatalf("before the catch-up: %d maybe, %d sure; want the trigram index's answer (111+ maybe, none sure)", len(maybe), len(sure))
	}
	steps := 0
	for {
		more, err := s.CatchUpVocab(ctx)
		if err != nil {
			t.Fatal(err)
		}
		steps++
		if !more {
			break
		}
	}
	terms, long := dump()
	if terms != wantTerms || long != wantLong {
		t.Fatalf("after %d catch-up steps the vocabulary differs from the one indexing built", steps)
	}
	maybe, sure, err = s.TextLookup(ctx, mb.ID, "atisupel1", true)
	if err != nil {
		t.Fatal(err)
	}
	// katisupel1, katisupel10-19, katisupel100-199: 111 contents.
	if steps < 10 || len(sure) != 111 {
		t.Fatalf("after %d catch-up steps: %d sure, want 111 (in several steps)", steps, len(sure))
	}
	_ = maybe
}

// TestVocabTermsLimit: Options.VocabTerms ([storage] fts_vocab_terms)
// bounds the words one piece of a needle may stand for. Over it, the
// needle is looked up by its trigrams (the same matches, verified by the
// scan, none sure); at or under it, the vocabulary decides.
func TestVocabTermsLimit(t *testing.T) {
	ctx := context.Background()
	msgs := make([]store.NewMessage, 3)
	docs := make([]store.TextDoc, 3)
	for i := range msgs {
		msgs[i] = store.NewMessage{BlobID: fmt.Sprintf("blob%d", i), Size: 10}
		docs[i] = store.TextDoc{BlobID: msgs[i].BlobID, Body: fmt.Sprintf("see bokatisupel%d here\n", i)}
	}
	for _, tc := range []struct {
		limit, sure int
	}{{2, 0}, {3, 3}, {-1, 0}} {
		s, mb, _ := openInbox(t, "", Options{VocabTerms: tc.limit}, msgs)
		if err := s.IndexText(ctx, docs); err != nil {
			t.Fatal(err)
		}
		maybe, sure, err := s.TextLookup(ctx, mb.ID, "katisupel", true)
		if err != nil {
			t.Fatal(err)
		}
		if len(maybe) != 3 || len(sure) != tc.sure {
			t.Errorf("VocabTerms %d: %d maybe, %d sure; want 3 and %d", tc.limit, len(maybe), len(sure), tc.sure)
		}
	}
}
