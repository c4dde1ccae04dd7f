package sqlite

import (
	"context"
	"strings"
	"sync"

	"barid/internal/fts/trigram"
	"barid/internal/store"
)

// SEARCH FUZZY from the vocabulary (RFC 6203; docs/search.md,
// "SEARCH=FUZZY from the index"). A needle word that fuzzy.IndexWords
// gives is matched only by text words that begin with its Prefix, and
// such a word begins a term of the word tables or follows a non-ASCII
// character inside one. So the terms that may hold a match are the range
// of fts_vocab beginning with Prefix and the terms with a non-ASCII byte
// ("wide" terms, kept in memory below); Match picks those that do. The
// FTS5 query is then, for each needle word, `"word"*` (every term that
// begins with the word holds a match) OR the other terms picked, and the
// documents it finds, with fts_longword's and the pending ones, are the
// candidates the scan verifies: answers and relevancy are the scan's.

// fuzzyRangeFactor times Options.VocabTerms is how many terms of a
// Prefix range FuzzyLookup reads before the word is given up (it then
// does not narrow; a two-letter range held at most 199 of the 1,851,869
// words of the 1,000,000-message store).
const fuzzyRangeFactor = 16

// fuzzyWideMax bounds the wide terms held in memory; a store with more
// is not narrowed for FUZZY (a variable for tests).
var fuzzyWideMax = 1 << 20

// wideTerms are the vocabulary's terms with a non-ASCII byte, read
// forward by fts_vocab.id (words never leave the vocabulary, and a new
// word gets a higher id). A snapshot older than top sees fewer terms
// than the list holds: the extra ones find no document there.
type wideTerms struct {
	mu    sync.Mutex
	top   int64
	terms []string
	over  bool // more than fuzzyWideMax
}

// load brings the list up to r's snapshot and returns it (nil, false
// when over the bound).
func (w *wideTerms) load(r *reader) ([]string, bool, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.over {
		return nil, false, nil
	}
	var top int64
	if err := r.c.conn.QueryRowContext(r.ctx, `SELECT coalesce(max(id), 0) FROM fts_vocab`).Scan(&top); err != nil {
		return nil, false, err
	}
	if top < w.top {
		// The vocabulary was emptied and refilled (as tests of the
		// catch-up do): read it again.
		w.top, w.terms = 0, nil
	}
	if top > w.top {
		// Terms hold ASCII letters and digits and non-ASCII
		// characters only (trigram.Terms), so any other character
		// is a non-ASCII one.
		rows, err := r.c.conn.QueryContext(r.ctx, `SELECT term FROM fts_vocab
			WHERE id > ? AND id <= ? AND term GLOB '*[^0-9a-z]*'`, w.top, top)
		if err != nil {
			return nil, false, err
		}
		defer rows.Close()
		terms := w.terms
		for rows.Next() {
			var t string
			if err := rows.Scan(&t); err != nil {
				return nil, false, err
			}
			if len(terms) >= fuzzyWideMax {
				w.over, w.terms = true, nil
				return nil, false, nil
			}
			terms = append(terms, t)
		}
		if err := rows.Err(); err != nil {
			return nil, false, err
		}
		w.terms, w.top = terms, top
	}
	return w.terms, true, nil
}

// FuzzyLookup implements store.FuzzyLookuper. sure: a term that Match
// accepts is itself a run of the text between separators of both the
// word tables and the fuzzy matcher, so its fuzzy words are the text's
// at that place; a content whose fts_wbody holds one holds a match of
// that word in what SEARCH BODY compares, which SEARCH TEXT compares
// too (fts_whead also holds the raw header, which the fuzzy matcher
// does not read: it only gives candidates).
func (s *Store) FuzzyLookup(ctx context.Context, mailboxID int64, words []store.FuzzyWord, whole, body bool) (maybe, sure []store.UID, ok bool, err error) {
	limit := s.opts.VocabTerms
	if limit == 0 {
		limit = DefaultVocabTerms
	}
	if limit < 0 || len(words) == 0 {
		return nil, nil, false, nil
	}
	err = s.bulkTx(ctx, func(r *reader) error {
		if ready, err := vocabReady(r); err != nil || !ready {
			return err
		}
		wide, wok, err := s.wide.load(r)
		if err != nil || !wok {
			return err
		}
		// One lookup per word, intersected: the words of a needle
		// may lie in different segments, so one FTS5 AND over a
		// word table would miss a message with one word in its body
		// and another in its header.
		for _, w := range words {
			terms, wok, err := fuzzyTerms(r, w, wide, limit)
			if err != nil {
				return err
			}
			if !wok {
				whole = false
				continue
			}
			set, bodySure, err := s.vocabDocs(r, mailboxID, terms, true, true)
			if err != nil {
				return err
			}
			if !body {
				if set, _, err = s.vocabDocs(r, mailboxID, terms, false, false); err != nil {
					return err
				}
			}
			if ok {
				maybe, sure = store.IntersectUIDs(maybe, set), store.IntersectUIDs(sure, bodySure)
			} else {
				maybe, sure, ok = set, bodySure, true
			}
		}
		if !whole {
			sure = nil
		}
		return nil
	})
	return maybe, sure, ok, err
}

// fuzzyTerms returns the FTS5 query of the terms that hold a match of w,
// parenthesised; ok is false when w does not narrow (its Prefix range
// or the terms picked are over the limits).
func fuzzyTerms(r *reader, w store.FuzzyWord, wide []string, limit int) (q string, ok bool, err error) {
	if w.Word == "" || w.Prefix == "" || !strings.HasPrefix(w.Word, w.Prefix) || !trigram.Word(w.Word) {
		return "", false, nil
	}
	var picked []string
	seen := map[string]bool{}
	pick := func(t string) bool {
		if strings.HasPrefix(t, w.Word) || seen[t] || !w.Match(t) {
			return true
		}
		seen[t] = true
		picked = append(picked, t)
		return len(picked) <= limit
	}
	rows, err := r.c.conn.QueryContext(r.ctx, `SELECT term FROM fts_vocab WHERE term >= ? AND term < ? LIMIT ?`,
		w.Prefix, prefixEnd(w.Prefix), limit*fuzzyRangeFactor+1)
	if err != nil {
		return "", false, err
	}
	n := 0
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			rows.Close()
			return "", false, err
		}
		if n++; n > limit*fuzzyRangeFactor || !pick(t) {
			rows.Close()
			return "", false, nil
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return "", false, err
	}
	for _, t := range wide {
		if !pick(t) {
			return "", false, nil
		}
	}
	var b strings.Builder
	b.WriteString(`("`)
	b.WriteString(w.Word) // ASCII letters and digits (trigram.Word)
	b.WriteString(`"*`)
	for _, t := range picked {
		b.WriteString(` OR "`)
		b.WriteString(t) // words hold no quote
		b.WriteByte('"')
	}
	b.WriteByte(')')
	return b.String(), true, nil
}
