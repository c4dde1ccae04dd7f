package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"math/bits"
	"slices"
	"strconv"
	"strings"
	"sync"

	"barid/internal/fts/trigram"
	"barid/internal/store"
)

// The vocabulary of the word tables (schema step 25; docs/search.md,
// "Needles inside words"). A folded needle that is all word characters
// (trigram.Word) can only occur inside one word of a text, so the
// contents that hold it are exactly those with a word that contains it:
// the vocabulary's trigram index gives those words, and the word tables
// give their contents without reading a message. Needles with other
// characters are cut into pieces (trigram.Pieces), each of which lies
// inside one word, and the contents holding a word for every piece are
// the candidates (a superset, verified by the scan).

// DefaultVocabTerms is the default of Options.VocabTerms.
const DefaultVocabTerms = 256

// vocabCandidates is how many words the trigram index of the
// vocabulary may propose per allowed term before a piece is given up
// (its trigrams are too common to be worth checking one by one).
const vocabCandidates = 16

// vocabCacheMax bounds vocabSeen, in words.
const vocabCacheMax = 1 << 18

// vocabSeen remembers words this process has committed to fts_vocab, so
// that indexing a content does not look its common words up again.
// Words never leave fts_vocab, so an entry stays true.
type vocabSeen struct {
	mu sync.Mutex
	m  map[string]struct{}
}

func (v *vocabSeen) missing(terms map[string]struct{}) []string {
	v.mu.Lock()
	defer v.mu.Unlock()
	out := make([]string, 0, len(terms))
	for t := range terms {
		if _, ok := v.m[t]; !ok {
			out = append(out, t)
		}
	}
	return out
}

func (v *vocabSeen) add(terms []string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.m == nil || len(v.m)+len(terms) > vocabCacheMax {
		v.m = make(map[string]struct{}, min(vocabCacheMax, 2*len(terms)))
	}
	for _, t := range terms {
		if len(v.m) >= vocabCacheMax {
			return
		}
		v.m[t] = struct{}{}
	}
}

// docTerms adds the words of text to terms and reports whether text has
// a word longer than trigram.MaxTerm.
func docTerms(terms map[string]struct{}, text string) bool {
	return trigram.Terms(text, func(t string) { terms[t] = struct{}{} })
}

// insertTerms adds the words the vocabulary lacks, and their trigrams.
// It runs after the statements that write the word tables, so that its
// statement savepoint flushes them once (see indexText).
func (t *wtx) insertTerms(terms []string) error {
	if len(terms) == 0 {
		return nil
	}
	var top int64
	if err := t.queryRow(`SELECT coalesce(max(id), 0) FROM fts_vocab`).Scan(&top); err != nil {
		return err
	}
	js, err := json.Marshal(terms)
	if err != nil {
		return err
	}
	if _, err := t.exec(`INSERT OR IGNORE INTO fts_vocab (term) SELECT value FROM json_each(?)`, string(js)); err != nil {
		return err
	}
	_, err = t.exec(`INSERT INTO fts_vocab_tri (rowid, term) SELECT id, term FROM fts_vocab WHERE id > ?`, top)
	return err
}

// vocabCatchUpBatch is how many words of each word table one
// CatchUpVocab call moves into the vocabulary (a variable for tests).
var vocabCatchUpBatch = 4096

// CatchUpVocab implements store.TextVocabBuilder: it fills the
// vocabulary from the word tables of contents indexed before schema
// step 25, one batch of words per table and call, in one write
// transaction, and reports whether more is left. Contents indexed since
// add their words themselves (indexText), so when fts_vocab_todo is
// empty the vocabulary holds every word of the word tables.
func (s *Store) CatchUpVocab(ctx context.Context) (more bool, err error) {
	var added []string
	err = s.writeBackground(ctx, func(t *wtx) error {
		more, added = false, added[:0]
		rows, err := t.query(`SELECT tbl, after FROM fts_vocab_todo`)
		if err != nil {
			return err
		}
		todo := map[string]string{}
		for rows.Next() {
			var tb, after string
			if err := rows.Scan(&tb, &after); err != nil {
				rows.Close()
				return err
			}
			todo[tb] = after
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for tb, after := range todo {
			if tb == "fts_where" {
				m, err := t.catchUpWhere(after)
				if err != nil {
					return err
				}
				more = more || m
				continue
			}
			if tb != "fts_wbody" && tb != "fts_whead" {
				return errUnknownVocabTable(tb)
			}
			rows, err := t.query(`SELECT term FROM `+tb+`_terms WHERE term > ? ORDER BY term LIMIT ?`, after, vocabCatchUpBatch)
			if err != nil {
				return err
			}
			var terms, long []string
			for rows.Next() {
				var term string
				if err := rows.Scan(&term); err != nil {
					rows.Close()
					return err
				}
				after = term
				if len(term) > trigram.MaxTerm {
					long = append(long, term)
				} else {
					terms = append(terms, term)
				}
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
			for _, term := range long {
				if _, err := t.exec(`INSERT OR IGNORE INTO fts_longword (id) SELECT doc FROM `+tb+`_where WHERE term = ?`, term); err != nil {
					return err
				}
			}
			if err := t.insertTerms(terms); err != nil {
				return err
			}
			added = append(added, terms...)
			if len(terms)+len(long) < vocabCatchUpBatch {
				_, err = t.exec(`DELETE FROM fts_vocab_todo WHERE tbl = ?`, tb)
			} else {
				more = true
				_, err = t.exec(`UPDATE fts_vocab_todo SET after = ? WHERE tbl = ?`, after, tb)
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil {
		s.vocab.add(added)
	}
	return more, err
}

// catchUpWhere adds the fts_where rows of the next vocabCatchUpBatch
// contents after fts_docs.id after (schema step 26).
func (t *wtx) catchUpWhere(after string) (more bool, err error) {
	var last sql.NullInt64
	var n int
	if err := t.queryRow(`SELECT max(id), count(*) FROM (SELECT id FROM fts_docs WHERE id > ? ORDER BY id LIMIT ?)`,
		after, vocabCatchUpBatch).Scan(&last, &n); err != nil {
		return false, err
	}
	if n > 0 {
		if _, err := t.exec(`INSERT OR IGNORE INTO fts_where (doc, mailbox, uid) SELECT d.id, m.mailbox, m.uid
			FROM fts_docs d CROSS JOIN messages m ON m.blob_id = d.blob_id WHERE d.id > ? AND d.id <= ?`, after, last.Int64); err != nil {
			return false, err
		}
	}
	if n < vocabCatchUpBatch {
		_, err = t.exec(`DELETE FROM fts_vocab_todo WHERE tbl = 'fts_where'`)
		return false, err
	}
	_, err = t.exec(`UPDATE fts_vocab_todo SET after = ? WHERE tbl = 'fts_where'`, strconv.FormatInt(last.Int64, 10))
	return true, err
}

type errUnknownVocabTable string

func (e errUnknownVocabTable) Error() string {
	return "sqlite: fts_vocab_todo names an unknown table " + string(e)
}

// vocabReady reports whether the vocabulary holds every word of the word
// tables (no catch-up left).
func vocabReady(r *reader) (bool, error) {
	var n int
	err := r.c.conn.QueryRowContext(r.ctx, `SELECT count(*) FROM fts_vocab_todo`).Scan(&n)
	return n == 0, err
}

// pieceTerms returns the words of the vocabulary that may hold piece p
// where a needle puts it (trigram.Pieces): the word itself if bounded on
// both sides, the words beginning with it, ending with it, or holding
// it. ok is false when they are more than limit, or the piece is too
// short to look up inside words (under three characters): it cannot
// narrow then.
func pieceTerms(r *reader, p trigram.Piece, limit int) (terms []string, ok bool, err error) {
	if len(p.Text) > trigram.MaxTerm {
		// No word of the vocabulary is this long: only the contents in
		// fts_longword may hold it.
		return nil, true, nil
	}
	var rows *sql.Rows
	switch {
	case p.Start && p.End:
		rows, err = r.c.conn.QueryContext(r.ctx, `SELECT term FROM fts_vocab WHERE term = ?`, p.Text)
	case p.Start:
		rows, err = r.c.conn.QueryContext(r.ctx, `SELECT term FROM fts_vocab WHERE term >= ? AND term < ? LIMIT ?`,
			p.Text, prefixEnd(p.Text), limit+1)
	default:
		q := trigram.Query(p.Text)
		if q == "" {
			return nil, false, nil
		}
		rows, err = r.c.conn.QueryContext(r.ctx, `SELECT v.term FROM fts_vocab_tri t JOIN fts_vocab v ON v.id = t.rowid
			WHERE fts_vocab_tri MATCH ? LIMIT ?`, q, limit*vocabCandidates+1)
	}
	if err != nil {
		return nil, false, err
	}
	defer rows.Close()
	seen := 0
	for rows.Next() {
		var term string
		if err := rows.Scan(&term); err != nil {
			return nil, false, err
		}
		if seen++; seen > limit*vocabCandidates {
			return nil, false, nil
		}
		switch {
		case p.Start:
			// exact or prefix: the query decided
		case p.End:
			if !strings.HasSuffix(term, p.Text) {
				continue
			}
		default:
			if !strings.Contains(term, p.Text) {
				continue
			}
		}
		if len(terms) == limit {
			return nil, false, nil
		}
		terms = append(terms, term)
	}
	return terms, true, rows.Err()
}

// prefixEnd returns the least string above every string that begins with
// p (p is a non-empty word, so its last byte is below 0xFF).
func prefixEnd(p string) string {
	b := []byte(p)
	b[len(b)-1]++
	return string(b)
}

// vocabQuery returns the FTS5 query over the word tables whose
// documents hold, for every piece of needle, a word that may hold it
// (pieces that cannot narrow are left out). ok is false when no piece
// narrows or the vocabulary is not complete; exact is true when the
// query's documents are exactly those whose text holds the needle (a
// needle of word characters only, trigram.Word). An empty query with
// ok true means no word matches: only fts_longword's contents may.
func vocabQuery(r *reader, needle string, limit int) (q string, exact, ok bool, err error) {
	pieces := trigram.Pieces(needle)
	if len(pieces) == 0 {
		return "", false, false, nil
	}
	if ready, err := vocabReady(r); err != nil || !ready {
		return "", false, false, err
	}
	var b strings.Builder
	used := 0
	for _, p := range pieces {
		terms, ok, err := pieceTerms(r, p, limit)
		if err != nil {
			return "", false, false, err
		}
		if !ok {
			continue
		}
		if len(terms) == 0 {
			return "", trigram.Word(needle), true, nil
		}
		if used > 0 {
			b.WriteString(" AND ")
		}
		used++
		b.WriteByte('(')
		for i, t := range terms {
			if i > 0 {
				b.WriteString(" OR ")
			}
			b.WriteByte('"')
			b.WriteString(t) // words hold no quote
			b.WriteByte('"')
		}
		b.WriteByte(')')
	}
	if used == 0 {
		return "", false, false, nil
	}
	return b.String(), trigram.Word(needle) && used == len(pieces), true, nil
}

// textLookupVocab is TextLookup through the vocabulary; ok is false when
// the vocabulary cannot narrow this needle (the caller uses the trigram
// index instead).
func (s *Store) textLookupVocab(ctx context.Context, mailboxID int64, needle string, body bool) (maybe, sureUIDs []store.UID, ok bool, err error) {
	limit := s.opts.VocabTerms
	if limit == 0 {
		limit = DefaultVocabTerms
	}
	if limit < 0 {
		return nil, nil, false, nil
	}
	err = s.bulkTx(ctx, func(r *reader) error {
		q, exact, vok, err := vocabQuery(r, needle, limit)
		if err != nil || !vok {
			return err
		}
		ok = true
		maybe, sureUIDs, err = s.vocabDocs(r, mailboxID, q, exact, body)
		return err
	})
	return maybe, sureUIDs, ok, err
}

// vocabDocs returns the mailbox's messages whose content the FTS5 query q
// over the word tables (fts_whead too unless body) finds, sure when
// exact, and maybe: those with the contents in fts_longword and those
// not indexed yet. An empty q finds no content.
func (s *Store) vocabDocs(r *reader, mailboxID int64, q string, exact, body bool) (maybe, sureUIDs []store.UID, err error) {
	if q != "" && s.docmaps != nil {
		done, err := s.textLookupMapped(r, mailboxID, q, exact, body, &maybe, &sureUIDs)
		if err != nil || done {
			return maybe, sureUIDs, err
		}
	}
	{
		// CROSS JOIN keeps the small sets outside: the planner, pushing
		// the join into the UNION ALL, scanned fts_docs for the
		// (empty) fts_longword and the mailbox's messages for the
		// pending list (1.3 s at 1,000,000 messages).
		// hit: the documents the word tables give; sure when exact.
		// Contents with a word too long for the vocabulary, and those
		// not indexed yet, may match too.
		hit := `SELECT NULL AS id WHERE 0`
		if q != "" {
			hit = `SELECT rowid AS id FROM fts_wbody WHERE fts_wbody MATCH ?2`
			if !body {
				hit += ` UNION SELECT rowid FROM fts_whead WHERE fts_whead MATCH ?2`
			}
		}
		sel := `SELECT group_concat(CASE WHEN s THEN uid END), group_concat(CASE WHEN NOT s THEN uid END) FROM (
			SELECT w.uid AS uid, x.s AS s FROM (
				SELECT id AS d, ?3 AS s FROM (` + hit + `)
				UNION ALL SELECT id, 0 FROM fts_longword) x
			CROSS JOIN fts_where w ON w.doc = x.d AND w.mailbox = ?1
			UNION ALL SELECT m.uid, 0 FROM fts_pending p CROSS JOIN messages m ON m.blob_id = p.blob_id AND m.mailbox = ?1
			ORDER BY 1)`
		var a, b sql.RawBytes
		rows, err := r.c.conn.QueryContext(r.ctx, sel, mailboxID, q, exact)
		if err != nil {
			return nil, nil, err
		}
		defer rows.Close()
		var sure, rest []store.UID
		for rows.Next() {
			if err := rows.Scan(&a, &b); err != nil {
				return nil, nil, err
			}
			if sure, err = parseUIDs(sure, a, true); err != nil {
				return nil, nil, err
			}
			// rest may name a message twice (in hit and in
			// fts_longword); mergeSortedUIDs drops the repeat.
			if rest, err = parseUIDs(rest, b, false); err != nil {
				return nil, nil, err
			}
		}
		if err := rows.Err(); err != nil {
			return nil, nil, err
		}
		if exact {
			sureUIDs = sure
		}
		return mergeSortedUIDs(sure, rest), sureUIDs, nil
	}
}

// mergeSortedUIDs unites a, ascending, and b, in order but possibly with
// repeats, dropping the repeats.
func mergeSortedUIDs(a, b []store.UID) []store.UID {
	if len(b) == 0 {
		return a
	}
	out := make([]store.UID, 0, len(a)+len(b))
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		var u store.UID
		switch {
		case j == len(b) || i < len(a) && a[i] < b[j]:
			u = a[i]
			i++
		case i == len(a) || b[j] < a[i]:
			u = b[j]
			j++
		default:
			u = a[i]
			i++
			j++
		}
		if n := len(out); n == 0 || out[n-1] != u {
			out = append(out, u)
		}
	}
	return out
}

// textLookupMapped is textLookupVocab's answer through the mailbox's
// document map (ftsdocmap.go) for a query that hits at least
// Options.DocMapMinHits documents; done is false when it did not answer
// (fewer hits, or no map for this snapshot): the SQL join does.
func (s *Store) textLookupMapped(r *reader, mailboxID int64, q string, exact, body bool, maybe, sure *[]store.UID) (done bool, err error) {
	docs, err := docList(r, nil, `SELECT group_concat(rowid) FROM fts_wbody WHERE fts_wbody MATCH ?`, q)
	if err != nil {
		return false, err
	}
	if !body {
		head, err := docList(r, nil, `SELECT group_concat(rowid) FROM fts_whead WHERE fts_whead MATCH ?`, q)
		if err != nil {
			return false, err
		}
		docs = unionDocs(docs, head)
	}
	if len(docs) < s.opts.DocMapMinHits {
		return false, nil
	}
	b, err := s.docMapFor(r, mailboxID, false)
	if err != nil || b == nil {
		return false, err
	}
	defer b.mu.Unlock()
	long, err := docList(r, nil, `SELECT group_concat(id) FROM fts_longword`)
	if err != nil {
		return false, err
	}
	hit := sortUIDSet(b.uidsOf(nil, docs))
	rest := b.uidsOf(nil, long)
	var pend []byte
	if err := r.c.conn.QueryRowContext(r.ctx, `SELECT group_concat(m.uid) FROM fts_pending p
		CROSS JOIN messages m ON m.blob_id = p.blob_id AND m.mailbox = ?`, mailboxID).Scan(&pend); err != nil {
		return false, err
	}
	if rest, err = parseUIDs(rest, pend, false); err != nil {
		return false, err
	}
	rest = sortUIDSet(rest)
	if exact {
		*sure = hit
	}
	*maybe = mergeSortedUIDs(hit, rest)
	return true, nil
}

// docList appends to out the comma-separated document ids the query's
// one row gives, ascending.
func docList(r *reader, out []int64, q string, args ...any) ([]int64, error) {
	var b sql.RawBytes
	rows, err := r.c.conn.QueryContext(r.ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		if err := rows.Scan(&b); err != nil {
			return nil, err
		}
		if out, err = parseInts(out, b); err != nil {
			return nil, err
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if !slices.IsSorted(out) {
		slices.Sort(out)
	}
	return out, nil
}

// unionDocs unites two ascending lists of document ids.
func unionDocs(a, b []int64) []int64 {
	if len(b) == 0 {
		return a
	}
	out := make([]int64, 0, len(a)+len(b))
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case j == len(b) || i < len(a) && a[i] < b[j]:
			out = append(out, a[i])
			i++
		case i == len(a) || b[j] < a[i]:
			out = append(out, b[j])
			j++
		default:
			out = append(out, a[i])
			i++
			j++
		}
	}
	return out
}

// sortUIDSet sorts u ascending without repeats, in place. The UIDs of a
// document map come in document order, which is close to UID order but
// not quite; when they are dense (at least one UID in 64 of their
// range) a bitmap of the range orders them in one pass, a tenth of
// sorting 175,296 of them.
func sortUIDSet(u []store.UID) []store.UID {
	if len(u) < 1024 {
		slices.Sort(u)
		return slices.Compact(u)
	}
	lo, hi := u[0], u[0]
	for _, x := range u {
		lo, hi = min(lo, x), max(hi, x)
	}
	span := uint64(hi-lo) + 1
	if span/64 > uint64(len(u)) {
		slices.Sort(u)
		return slices.Compact(u)
	}
	set := make([]uint64, (span+63)/64)
	for _, x := range u {
		d := x - lo
		set[d/64] |= 1 << (d % 64)
	}
	out := u[:0]
	for i, w := range set {
		for w != 0 {
			t := bits.TrailingZeros64(w)
			out = append(out, lo+store.UID(i*64+t))
			w &= w - 1
		}
	}
	return out
}
