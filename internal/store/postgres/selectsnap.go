package postgres

import (
	"context"

	"barid/internal/store"
)

// selectScanMax is the largest mailbox whose keywords in use
// SelectSnapshot lists (SELECT lists them for mailboxes up to this size,
// internal/imap/server/select.go); a larger one's SELECT lists only the
// defined keywords, and the aggregate over its rows is not worth it.
const selectScanMax = 10000

// SelectSnapshot answers what SELECT reads (store.SelectReader) in one
// statement, hence one snapshot and one round trip: the mailbox row,
// its UIDs, the lowest UID without \Seen, the keywords the messages
// carry in order of first appearance (store.SelectSnapshot.Ordered) and
// the mailbox's defined keywords (the keywords in use only up to
// selectScanMax messages, by the mailbox's message counter). Without it a SELECT of a small
// mailbox was four statements, one of them every message's flags
// copied to the node only to list the keywords (docs/scale-out.md,
// "Round trips"). PostgreSQL computes the aggregates next to the rows.
func (s *Store) SelectSnapshot(ctx context.Context, mailboxID int64) (store.SelectSnapshot, bool, error) {
	var snap store.SelectSnapshot
	var list []int64
	var first *int64
	var inUse *[]string
	var defined []string
	// Keywords are atoms (RFC 9051 §9 flag-keyword), stored space
	// separated (codec.go); DISTINCT ON keeps each one's first
	// appearance, lower() folds case as the session's view does.
	mb, err := scanMailbox(s.queryRow(ctx, `SELECT `+mailboxCols+`,
		(SELECT coalesce(array_agg(f.uid ORDER BY f.uid), '{}') FROM msgflags f WHERE f.mailbox = m.id),
		(SELECT min(f.uid) FROM msgflags f WHERE f.mailbox = m.id AND (f.sysflags & $2) = 0),
		CASE WHEN m.messages <= $3 THEN (SELECT coalesce(array_agg(k.kw ORDER BY k.uid, k.ord), '{}') FROM (
			SELECT DISTINCT ON (lower(t.kw)) t.kw, f.uid, t.ord
			FROM msgflags f CROSS JOIN LATERAL unnest(string_to_array(f.keywords, ' ')) WITH ORDINALITY AS t(kw, ord)
			WHERE f.mailbox = m.id AND f.keywords <> '' AND t.kw <> ''
			ORDER BY lower(t.kw), f.uid, t.ord) k) END,
		(SELECT coalesce(array_agg(name ORDER BY lname COLLATE "C"), '{}') FROM keywords WHERE mailbox = m.id)
		FROM mailboxes m WHERE m.id = $1`, mailboxID, int32(store.FlagSeen), selectScanMax), &list, &first, &inUse, &defined)
	if errNoRows(err) {
		return snap, false, store.ErrNoMailbox
	}
	if err != nil {
		return snap, false, err
	}
	snap.Mailbox, snap.UIDs = mb, toUIDs(list)
	if first != nil {
		snap.FirstUnseen = store.UID(*first)
	}
	if len(defined) > 0 {
		snap.Keywords = defined
	}
	if inUse != nil {
		snap.Ordered = true
		if len(*inUse) > 0 {
			snap.InUse = *inUse
		}
	}
	return snap, true, nil
}
