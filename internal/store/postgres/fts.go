package postgres

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"barid/internal/fts/trigram"
	"barid/internal/store"
)

// likeEscape makes s a LIKE pattern that matches s anywhere.
func likeEscape(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return "%" + r.Replace(s) + "%"
}

// TextLines is what IndexText stores of a content's text (schema step
// 18, docs/search.md "PostgreSQL's size"): each line once, without the
// carriage return that ends it and without empty lines; body keeps the
// distinct lines of body, head those of head that body does not hold.
//
// A needle without a line break occurs in a text exactly when it occurs
// in one of its lines, so for such needles the stored text answers BODY
// (body) and TEXT (head || body) as the whole text would, and
// TextLookup's sure answers stay exact. A needle with a line break is
// cut at its breaks and each piece looked up on its own (linePieces): a
// superset, never sure. What is dropped is the raw copy of every
// top-level header line that decoding left unchanged (msgdata.TextSplit
// keeps the header twice, decoded and raw, because TEXT matches either),
// blank lines, and lines repeated in the text parts (quoted replies,
// signatures, the text/plain and text/html alternatives' shared lines).
// head is empty or ends with a line break, as msgdata.TextSplit makes
// it, so that no line of head || body spans the two.
func TextLines(head, body string) (h, b string) {
	seen := make(map[string]struct{})
	keep := func(s string) string {
		var out strings.Builder
		out.Grow(len(s))
		for line := range strings.SplitSeq(s, "\n") {
			line = strings.TrimSuffix(line, "\r")
			if line == "" {
				continue
			}
			if _, dup := seen[line]; dup {
				continue
			}
			seen[line] = struct{}{}
			out.WriteString(line)
			out.WriteByte('\n')
		}
		return out.String()
	}
	b = keep(body)
	h = keep(head)
	return h, b
}

// linePieces cuts a needle at its line breaks (CR and LF, which
// TextLines may have removed or whose neighbours it may have separated)
// and returns the pieces the trigram index can narrow by. sure reports
// whether the needle had no break (nor U+FFFD, which may stand for bytes
// that were not UTF-8), so that the stored text decides it exactly.
func linePieces(needle string) (pieces []string, sure bool) {
	for p := range strings.FieldsFuncSeq(needle, func(r rune) bool { return r == '\r' || r == '\n' }) {
		if len(trigram.Split(p)) > 0 {
			pieces = append(pieces, p)
		}
	}
	return pieces, !strings.ContainsAny(needle, "\r\n\uFFFD")
}

// TextCandidates implements store.TextIndexer: the mailbox's messages
// whose content's folded text contains every needle (LIKE, answered by
// the pg_trgm GIN index and rechecked against the text; a needle with a
// line break piece by piece, see TextLines), plus those whose content is
// still pending.
func (s *Store) TextCandidates(ctx context.Context, mailboxID int64, needles []string) ([]store.UID, error) {
	args := []any{mailboxID}
	var conds []string
	for _, n := range needles {
		pieces, _ := linePieces(n)
		for _, p := range pieces {
			args = append(args, likeEscape(p))
			conds = append(conds, "(head || body) LIKE $"+strconv.Itoa(len(args)))
		}
	}
	if len(conds) == 0 {
		return nil, store.ErrNoTrigram
	}
	q := `SELECT coalesce(array_agg(uid ORDER BY uid), '{}') FROM messages WHERE mailbox = $1 AND blob_id IN (
		SELECT blob_id FROM fts_docs WHERE ` + strings.Join(conds, " AND ") + `
		UNION ALL SELECT blob_id FROM fts_pending)`
	var list []int64
	if err := s.queryRow(ctx, q, args...).Scan(&list); err != nil {
		return nil, err
	}
	return toUIDs(list), nil
}

// TextLookup implements store.TextIndexer. LIKE over the stored lines
// (TextLines) is exact for a needle without a line break, so every
// indexed candidate of such a needle is a match (a U+FFFD in the needle
// may stand for bytes that were not UTF-8, so it is not answered for
// sure either); a needle with breaks is looked up piece by piece and
// never sure. BODY rechecks the body column.
func (s *Store) TextLookup(ctx context.Context, mailboxID int64, needle string, body bool) (maybe, sure []store.UID, err error) {
	pieces, exact := linePieces(needle)
	if len(pieces) == 0 {
		return nil, nil, store.ErrNoTrigram
	}
	args := []any{mailboxID, exact}
	var conds []string
	for _, p := range pieces {
		args = append(args, likeEscape(p))
		n := "$" + strconv.Itoa(len(args))
		conds = append(conds, "(head || body) LIKE "+n)
		if body {
			conds = append(conds, "body LIKE "+n)
		}
	}
	cond := strings.Join(conds, " AND ")
	q := `WITH hit AS MATERIALIZED (SELECT blob_id FROM fts_docs WHERE ` + cond + `)
		SELECT coalesce(array_agg(uid ORDER BY uid), '{}'),
			coalesce(array_agg(uid ORDER BY uid) FILTER (WHERE $2 AND blob_id IN (SELECT blob_id FROM hit)), '{}')
		FROM messages WHERE mailbox = $1
			AND (blob_id IN (SELECT blob_id FROM hit) OR blob_id IN (SELECT blob_id FROM fts_pending))`
	var a, b []int64
	if err := s.queryRow(ctx, q, args...).Scan(&a, &b); err != nil {
		return nil, nil, err
	}
	return toUIDs(a), toUIDs(b), nil
}

// TextPending implements store.TextIndexer.
func (s *Store) TextPending(ctx context.Context, accountID int64, limit int) ([]store.TextPending, error) {
	// One message per content, looked up through messages_blob, so a
	// batch costs the same however long the list is.
	const q = `SELECT p.blob_id, m.mailbox, m.uid FROM fts_pending p
		CROSS JOIN LATERAL (SELECT m.mailbox, m.uid FROM messages m JOIN mailboxes b ON b.id = m.mailbox
			WHERE m.blob_id = p.blob_id AND ($1 = 0 OR b.account = $1) LIMIT 1) m
		LIMIT $2`
	rows, err := s.query(ctx, q, accountID, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	return store.ScanTextPending(rows)
}

// ClaimTextPending implements store.TextIndexer: the claimable rows
// (unclaimed, lapsed, or the owner's own) are locked with FOR UPDATE
// SKIP LOCKED, so a concurrent claim on another node passes over them
// instead of waiting, and the UPDATE's own check of the lease
// (re-evaluated on the locked row, which READ COMMITTED re-reads after
// a concurrent claim commits) keeps a row claimed meanwhile from being
// claimed twice. One statement, its own transaction: no BEGIN and
// COMMIT round trips. The claim need not survive a crash (its contents
// are claimed again when it lapses), so it does not wait for the WAL
// flush.
func (s *Store) ClaimTextPending(ctx context.Context, owner string, now time.Time, lease time.Duration, accountID int64, limit int) ([]store.TextPending, error) {
	const q = `WITH c AS (
			SELECT p.blob_id, m.mailbox, m.uid FROM fts_pending p
			CROSS JOIN LATERAL (SELECT m.mailbox, m.uid FROM messages m JOIN mailboxes b ON b.id = m.mailbox
				WHERE m.blob_id = p.blob_id AND ($1 = 0 OR b.account = $1) LIMIT 1) m
			WHERE p.lease_until <= $3 OR p.lease_owner = $4
			LIMIT $2 FOR UPDATE OF p SKIP LOCKED
		), u AS (
			UPDATE fts_pending p SET lease_owner = $4, lease_until = $5 FROM c
			WHERE p.blob_id = c.blob_id AND (p.lease_until <= $3 OR p.lease_owner = $4)
			RETURNING c.blob_id, c.mailbox, c.uid
		)
		SELECT blob_id, mailbox, uid, set_config('synchronous_commit', 'off', true) FROM u`
	rows, err := s.query(ctx, q, accountID, limit, now.UnixMilli(), owner, now.Add(lease).UnixMilli())
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	return store.ScanTextPending(rows, nil) // nil: set_config's column
}

// IndexText implements store.TextIndexer.
func (s *Store) IndexText(ctx context.Context, docs []store.TextDoc) error {
	if len(docs) == 0 {
		return nil
	}
	return s.write(ctx, func(tx pgx.Tx) error {
		for _, d := range docs {
			tag, err := tx.Exec(ctx, `DELETE FROM fts_pending WHERE blob_id = $1`, d.BlobID)
			if err != nil {
				return err
			}
			if tag.RowsAffected() == 0 {
				continue // indexed meanwhile, or its messages are gone
			}
			// text cannot hold NUL; the needle never has one (RFC 9051
			// §4.3: CHAR8 excludes it), so a newline keeps every match
			// and makes none that TextLookup answers for sure.
			head, body := TextLines(strings.ReplaceAll(d.Head, "\x00", "\n"), strings.ReplaceAll(d.Body, "\x00", "\n"))
			if _, err := tx.Exec(ctx, `INSERT INTO fts_docs (blob_id, head, body) VALUES ($1, $2, $3) ON CONFLICT (blob_id) DO NOTHING`,
				d.BlobID, head, body); err != nil {
				return err
			}
		}
		return nil
	})
}

// PurgeTextIndex implements store.TextIndexer. An orphan that a
// concurrent insert adopted (the two triggers ran in transactions that
// did not see each other) is only taken off the list.
func (s *Store) PurgeTextIndex(ctx context.Context) (int, error) {
	var n int
	err := s.write(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `WITH gone AS (
			DELETE FROM fts_orphans o WHERE o.blob_id IN (SELECT blob_id FROM fts_orphans LIMIT 1000) RETURNING o.blob_id)
			DELETE FROM fts_docs d USING gone WHERE d.blob_id = gone.blob_id
				AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.blob_id = gone.blob_id)`)
		n = int(tag.RowsAffected())
		return err
	})
	return n, err
}

// TextIndexStatus implements store.TextIndexer.
func (s *Store) TextIndexStatus(ctx context.Context) (store.TextIndexStatus, error) {
	var st store.TextIndexStatus
	err := s.queryRow(ctx, `SELECT (SELECT count(*) FROM fts_docs), (SELECT count(*) FROM fts_pending),
		(SELECT count(*) FROM fts_orphans), pg_total_relation_size('fts_docs')`).
		Scan(&st.Indexed, &st.Pending, &st.Orphans, &st.Bytes)
	return st, err
}

// TextIndexLag implements store.TextIndexer.
func (s *Store) TextIndexLag(ctx context.Context) (int64, error) {
	var n int64
	err := s.queryRow(ctx, `SELECT count(*) FROM fts_pending`).Scan(&n)
	return n, err
}
