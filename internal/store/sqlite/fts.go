package sqlite

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"barid/internal/fts/trigram"
	"barid/internal/store"
)

// TextCandidates implements store.TextIndexer: the mailbox's messages
// whose content's FTS5 document holds every trigram of every needle,
// plus those whose content is still pending (docs/search.md).
func (s *Store) TextCandidates(ctx context.Context, mailboxID int64, needles []string) ([]store.UID, error) {
	var parts []string
	for _, n := range needles {
		if q := trigram.Query(n); q != "" {
			parts = append(parts, "("+q+")")
		}
	}
	if len(parts) == 0 {
		return nil, store.ErrNoTrigram
	}
	q := `SELECT group_concat(uid) FROM (SELECT uid FROM messages WHERE mailbox = ? AND blob_id IN (
		SELECT d.blob_id FROM fts_docs d WHERE d.id IN (SELECT rowid FROM fts_text WHERE fts_text MATCH ?)
		UNION ALL SELECT blob_id FROM fts_pending) ORDER BY uid)`
	var out []store.UID
	err := s.bulkTx(ctx, func(r *reader) error {
		rows, err := r.c.conn.QueryContext(r.ctx, q, mailboxID, strings.Join(parts, " AND "))
		if err != nil {
			return err
		}
		out, err = scanUIDList(rows, out, true)
		return err
	})
	return out, err
}

// TextLookup implements store.TextIndexer: maybe is TextCandidates of
// the one needle; sure, when the needle is one word (trigram.Word), the
// messages whose content has a word beginning with it in fts_wbody (or,
// for TEXT, fts_whead), which are matches without a doubt. One query
// gives both.
func (s *Store) TextLookup(ctx context.Context, mailboxID int64, needle string, body bool) (maybe, sureUIDs []store.UID, err error) {
	if maybe, sureUIDs, ok, err := s.textLookupVocab(ctx, mailboxID, needle, body); ok || err != nil {
		return maybe, sureUIDs, err
	}
	q := trigram.Query(needle)
	if q == "" {
		return nil, nil, store.ErrNoTrigram
	}
	// sure is 0 unless the needle is one word; fts_whead is asked for
	// TEXT only.
	sure := `0`
	args := []any{mailboxID, q}
	if trigram.Word(needle) {
		sure = `blob_id IN (SELECT d.blob_id FROM fts_docs d WHERE d.id IN (
			SELECT rowid FROM fts_wbody WHERE fts_wbody MATCH ?3`
		if !body {
			sure += ` UNION SELECT rowid FROM fts_whead WHERE fts_whead MATCH ?3`
		}
		sure += `))`
		args = append(args, trigram.WordQuery(needle))
	}
	sel := `SELECT group_concat(uid), group_concat(CASE WHEN sure THEN uid END) FROM (
		SELECT uid, ` + sure + ` AS sure FROM messages WHERE mailbox = ?1 AND blob_id IN (
			SELECT d.blob_id FROM fts_docs d WHERE d.id IN (SELECT rowid FROM fts_text WHERE fts_text MATCH ?2)
			UNION ALL SELECT blob_id FROM fts_pending) ORDER BY uid)`
	err = s.bulkTx(ctx, func(r *reader) error {
		var a, b sql.RawBytes
		rows, err := r.c.conn.QueryContext(r.ctx, sel, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			if err := rows.Scan(&a, &b); err != nil {
				return err
			}
			if maybe, err = parseUIDs(maybe, a, true); err != nil {
				return err
			}
			if sureUIDs, err = parseUIDs(sureUIDs, b, true); err != nil {
				return err
			}
		}
		return rows.Err()
	})
	return maybe, sureUIDs, err
}

// TextPending implements store.TextIndexer. It walks the pending list in
// order and picks one message per content through messages_blob, so a
// batch costs the same however long the list is (a join grouped by
// content read the whole messages table: 0.9 s a batch at 90,000
// messages).
func (s *Store) TextPending(ctx context.Context, accountID int64, limit int) ([]store.TextPending, error) {
	const q = `SELECT p.blob_id, m.mailbox, m.uid FROM fts_pending p JOIN messages m ON m.rowid = (
		SELECT m2.rowid FROM messages m2 JOIN mailboxes b ON b.id = m2.mailbox
		WHERE m2.blob_id = p.blob_id AND (?1 = 0 OR b.account = ?1) LIMIT 1)
		LIMIT ?2`
	var out []store.TextPending
	err := s.read(ctx, func(r *reader) error {
		rows, err := r.c.conn.QueryContext(r.ctx, q, accountID, limit)
		if err != nil {
			return err
		}
		defer rows.Close()
		out, err = store.ScanTextPending(rows)
		return err
	})
	return out, err
}

// ClaimTextPending implements store.TextIndexer: TextPending's walk
// over the claimable rows (unclaimed, lapsed, or the owner's own) and
// their claim in one writer transaction, so that no other claim comes
// between. The claim is written lazily (as flag changes are): after a
// power failure the contents are claimable again, which costs a second
// extraction at most.
func (s *Store) ClaimTextPending(ctx context.Context, owner string, now time.Time, lease time.Duration, accountID int64, limit int) ([]store.TextPending, error) {
	const q = `SELECT p.blob_id, m.mailbox, m.uid FROM fts_pending p JOIN messages m ON m.rowid = (
		SELECT m2.rowid FROM messages m2 JOIN mailboxes b ON b.id = m2.mailbox
		WHERE m2.blob_id = p.blob_id AND (?1 = 0 OR b.account = ?1) LIMIT 1)
		WHERE p.lease_until <= ?3 OR p.lease_owner = ?4
		LIMIT ?2`
	var out []store.TextPending
	err := s.writeBackground(ctx, func(t *wtx) error {
		rows, err := t.query(q, accountID, limit, now.UnixMilli(), owner)
		if err != nil {
			return err
		}
		defer rows.Close()
		if out, err = store.ScanTextPending(rows); err != nil {
			return err
		}
		rows.Close()
		until := now.Add(lease).UnixMilli()
		for _, p := range out {
			if _, err := t.exec(`UPDATE fts_pending SET lease_owner = ?, lease_until = ? WHERE blob_id = ?`,
				owner, until, p.BlobID); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// IndexText implements store.TextIndexer. The documents are written in
// lazily synced transactions of indexTextChunk each: the index can be
// rebuilt from the messages, so losing its last commits to a power
// failure only puts those contents back on the pending list (the
// pending rows go with them). On an error the chunks before it stay
// indexed.
func (s *Store) IndexText(ctx context.Context, docs []store.TextDoc) error {
	chunk := indexTextChunk
	if store.IsBulk(ctx) {
		// barid index rebuild: nobody else waits for the writer, and
		// every COMMIT flushes a new FTS5 segment per table that later
		// merges read and write again; the caller's batch is the chunk.
		chunk = len(docs)
	}
	for len(docs) > 0 {
		n := min(len(docs), chunk)
		if err := s.indexText(ctx, docs[:n]); err != nil {
			return err
		}
		docs = docs[n:]
	}
	return nil
}

// indexTextChunk is how many contents one writer transaction of
// IndexText holds. The writer runs every client's write too, and a
// content costs it about 1-2 ms (tokenizing, and fts5's flush at
// COMMIT): the indexer's batch of 32 held the writer for 30-60 ms, and
// the writes queued behind it were the p99 of STORE and APPEND in the
// mix benchmark (docs/benchmarks.md, "Session 7").
const indexTextChunk = 4

func (s *Store) indexText(ctx context.Context, docs []store.TextDoc) error {
	var added []string
	err := s.writeBackground(ctx, func(t *wtx) error {
		added = nil
		// Two passes: the fts_pending and fts_docs rows of every
		// document first, the fts5 rows after them all. fts5 flushes its
		// pending terms to a new segment at every statement savepoint of
		// a table it has written in the transaction (fts5SavepointMethod),
		// and a statement with a statement journal or triggers opens one:
		// interleaved doc by doc, a chunk made a segment per document in
		// each of the three tables, and flushing and merging them took two
		// thirds of a 1,000,000-message index rebuild's CPU
		// (TestIndexTextOneSegment; docs/benchmarks.md "One million
		// messages").
		type row struct {
			id int64
			d  *store.TextDoc
		}
		rows := make([]row, 0, len(docs))
		for i := range docs {
			d := &docs[i]
			n, err := t.execN(`DELETE FROM fts_pending WHERE blob_id = ?`, d.BlobID)
			if err != nil {
				return err
			}
			if n == 0 {
				continue // indexed meanwhile, or its messages are gone
			}
			res, err := t.exec(`INSERT INTO fts_docs (blob_id) VALUES (?)`, d.BlobID)
			if err != nil {
				return err
			}
			id, err := res.LastInsertId()
			if err != nil {
				return err
			}
			if _, err := t.exec(`INSERT INTO fts_where (doc, mailbox, uid) SELECT ?, mailbox, uid FROM messages WHERE blob_id = ?`, id, d.BlobID); err != nil {
				return err
			}
			rows = append(rows, row{id, d})
		}
		words := map[string]struct{}{}
		for _, r := range rows {
			wb, wh := trigram.WordText(r.d.Body), trigram.WordText(r.d.Head)
			if _, err := t.exec(`INSERT INTO fts_text (rowid, body) VALUES (?, ?)`, r.id, r.d.Head+r.d.Body); err != nil {
				return err
			}
			if _, err := t.exec(`INSERT INTO fts_wbody (rowid, body) VALUES (?, ?)`, r.id, wb); err != nil {
				return err
			}
			if _, err := t.exec(`INSERT INTO fts_whead (rowid, body) VALUES (?, ?)`, r.id, wh); err != nil {
				return err
			}
			if long := docTerms(words, wb); docTerms(words, wh) || long {
				if _, err := t.exec(`INSERT INTO fts_longword (id) VALUES (?)`, r.id); err != nil {
					return err
				}
			}
		}
		// The vocabulary last: its statements' savepoints flush the word
		// tables' pending terms once, as COMMIT would.
		added = s.vocab.missing(words)
		return t.insertTerms(added)
	})
	if err == nil {
		s.vocab.add(added)
	}
	return err
}

// PurgeTextIndex implements store.TextIndexer. An orphan that a message
// holds again is only taken off the list.
func (s *Store) PurgeTextIndex(ctx context.Context) (int, error) {
	var n int
	err := s.writeBackground(ctx, func(t *wtx) error {
		n = 0
		rows, err := t.query(`SELECT o.blob_id, d.id FROM fts_orphans o LEFT JOIN fts_docs d ON d.blob_id = o.blob_id
			WHERE NOT EXISTS (SELECT 1 FROM messages m WHERE m.blob_id = o.blob_id) LIMIT 1000`)
		if err != nil {
			return err
		}
		type orphan struct {
			blob string
			id   sql.NullInt64
		}
		var gone []orphan
		for rows.Next() {
			var o orphan
			if err := rows.Scan(&o.blob, &o.id); err != nil {
				rows.Close()
				return err
			}
			gone = append(gone, o)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, o := range gone {
			if o.id.Valid {
				for _, tb := range []string{"fts_text", "fts_wbody", "fts_whead", "fts_longword"} {
					if _, err := t.exec(`DELETE FROM `+tb+` WHERE rowid = ?`, o.id.Int64); err != nil {
						return err
					}
				}
				if _, err := t.exec(`DELETE FROM fts_docs WHERE id = ?`, o.id.Int64); err != nil {
					return err
				}
				n++
			}
			if _, err := t.exec(`DELETE FROM fts_orphans WHERE blob_id = ?`, o.blob); err != nil {
				return err
			}
		}
		_, err = t.exec(`DELETE FROM fts_orphans WHERE EXISTS (SELECT 1 FROM messages m WHERE m.blob_id = fts_orphans.blob_id)`)
		return err
	})
	return n, err
}

// TextIndexStatus implements store.TextIndexer. Bytes counts the FTS5
// segment blocks of the trigram and word tables and of the vocabulary's
// trigram index, 40 bytes per fts_docs row, and the pages of the
// vocabulary (with its unique index) and of fts_where (dbstat).
func (s *Store) TextIndexStatus(ctx context.Context) (store.TextIndexStatus, error) {
	var st store.TextIndexStatus
	err := s.read(ctx, func(r *reader) error {
		return r.c.conn.QueryRowContext(r.ctx, `SELECT
			(SELECT count(*) FROM fts_docs), (SELECT count(*) FROM fts_pending), (SELECT count(*) FROM fts_orphans),
			(SELECT coalesce(sum(length(block)), 0) FROM fts_text_data) + (SELECT coalesce(sum(length(block)), 0) FROM fts_wbody_data) +
			(SELECT coalesce(sum(length(block)), 0) FROM fts_whead_data) + (SELECT count(*) * 40 FROM fts_docs) +
			(SELECT coalesce(sum(length(block)), 0) FROM fts_vocab_tri_data) +
			(SELECT coalesce(sum(pgsize), 0) FROM dbstat WHERE name IN ('fts_vocab', 'sqlite_autoindex_fts_vocab_1', 'fts_where'))`).
			Scan(&st.Indexed, &st.Pending, &st.Orphans, &st.Bytes)
	})
	return st, err
}

// TextIndexLag implements store.TextIndexer: a count of the pending list
// alone, without TextIndexStatus's walk over the FTS5 segments.
func (s *Store) TextIndexLag(ctx context.Context) (int64, error) {
	var n int64
	err := s.read(ctx, func(r *reader) error {
		return r.c.conn.QueryRowContext(r.ctx, `SELECT count(*) FROM fts_pending`).Scan(&n)
	})
	return n, err
}
