package sqlite

import (
	"context"
	"database/sql"

	"barid/internal/store"
)

// UIDsAfter returns the UIDs above after, ascending. Sessions use it
// when the bus says messages were added: the store, not the order in
// which changes were published, decides what a view learns.
func (s *Store) UIDsAfter(ctx context.Context, mailboxID int64, after store.UID) ([]store.UID, error) {
	var out []store.UID
	err := s.readTx(ctx, func(r *reader) error {
		rows, err := r.query(`SELECT group_concat(uid) FROM
			(SELECT uid FROM msgflags WHERE mailbox = ? AND uid > ? ORDER BY uid)`, mailboxID, after)
		if err != nil {
			return err
		}
		out, err = scanUIDList(rows, out, true)
		return err
	})
	return out, err
}

// FirstUnseen returns the lowest UID without \Seen, or 0 (RFC 3501
// §6.3.1 OK [UNSEEN]). One indexed scan inside SQLite, no rows copied.
func (s *Store) FirstUnseen(ctx context.Context, mailboxID int64) (store.UID, error) {
	var uid sql.NullInt64
	err := s.readTx(ctx, func(r *reader) error {
		return r.queryRow(`SELECT min(uid) FROM msgflags WHERE mailbox = ? AND (sysflags & ?) = 0`,
			mailboxID, int(store.FlagSeen)).Scan(&uid)
	})
	if err != nil || !uid.Valid {
		return 0, err
	}
	return store.UID(uid.Int64), nil
}

// SortUIDs returns every UID of the mailbox ordered by one criterion
// ("ARRIVAL", "DATE" or "SIZE", RFC 5256 §3), ties in ascending UID
// (mailbox) order even when reversed, as in the in-memory sort; DATE
// falls back to the internal date when the message has no Date:.
func (s *Store) SortUIDs(ctx context.Context, mailboxID int64, by string, reverse bool) ([]store.UID, error) {
	var expr string
	switch by {
	case "ARRIVAL":
		expr = "(internaldate >> 16)"
	case "DATE":
		expr = "(coalesce(sentdate, internaldate) >> 16)"
	case "SIZE":
		expr = "size"
	default:
		return nil, store.ErrCannot
	}
	dir := "ASC"
	if reverse {
		dir = "DESC"
	}
	var out []store.UID
	err := s.bulkTx(ctx, func(r *reader) error {
		rows, err := r.query(`SELECT group_concat(uid) FROM
			(SELECT uid FROM messages WHERE mailbox = ? ORDER BY `+expr+` `+dir+`, uid)`, mailboxID)
		if err != nil {
			return err
		}
		out, err = scanUIDList(rows, out, false)
		return err
	})
	return out, err
}
