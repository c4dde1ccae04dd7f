package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"math"

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
		defer rows.Close()
		var raw sql.RawBytes
		for rows.Next() {
			if err := rows.Scan(&raw); err != nil {
				return err
			}
			if out, err = parseUIDList(out, raw); err != nil {
				return err
			}
		}
		return rows.Err()
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

// SearchSysFlags returns, ascending, the UIDs whose system flags include
// every bit of set and none of unset: SEARCH SEEN/UNSEEN/FLAGGED/...
// answered inside SQLite with one scan of the narrow flags table.
func (s *Store) SearchSysFlags(ctx context.Context, mailboxID int64, set, unset store.SysFlags) ([]store.UID, error) {
	var out []store.UID
	err := s.readTx(ctx, func(r *reader) error {
		rows, err := r.query(`SELECT group_concat(uid) FROM
			(SELECT uid FROM msgflags WHERE mailbox = ? AND (sysflags & ?) = ? AND (sysflags & ?) = 0 ORDER BY uid)`,
			mailboxID, int(set), int(set), int(unset))
		if err != nil {
			return err
		}
		defer rows.Close()
		var raw sql.RawBytes
		for rows.Next() {
			if err := rows.Scan(&raw); err != nil {
				return err
			}
			if out, err = parseUIDList(out, raw); err != nil {
				return err
			}
		}
		return rows.Err()
	})
	return out, err
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
	err := s.readTx(ctx, func(r *reader) error {
		rows, err := r.query(`SELECT group_concat(uid) FROM
			(SELECT uid FROM messages WHERE mailbox = ? ORDER BY `+expr+` `+dir+`, uid)`, mailboxID)
		if err != nil {
			return err
		}
		defer rows.Close()
		var raw sql.RawBytes
		for rows.Next() {
			if err := rows.Scan(&raw); err != nil {
				return err
			}
			if out, err = parseUIDListAny(out, raw); err != nil {
				return err
			}
		}
		return rows.Err()
	})
	return out, err
}

// parseUIDListAny parses a group_concat'ed UID list in any order.
func parseUIDListAny(out []store.UID, b []byte) ([]store.UID, error) {
	var v uint64
	digits := 0
	for i := 0; i <= len(b) && len(b) > 0; i++ {
		if i == len(b) || b[i] == ',' {
			if digits == 0 || v > math.MaxUint32 {
				return nil, fmt.Errorf("sqlite: bad UID list near byte %d", i)
			}
			out = append(out, store.UID(v))
			v, digits = 0, 0
			continue
		}
		c := b[i] - '0'
		if c > 9 {
			return nil, fmt.Errorf("sqlite: bad UID list near byte %d", i)
		}
		v = v*10 + uint64(c)
		digits++
	}
	return out, nil
}
