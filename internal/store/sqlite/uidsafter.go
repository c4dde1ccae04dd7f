package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"slices"

	"barid/internal/store"
)

// UIDsAfter returns the UIDs above after, ascending. Sessions use it
// when the bus says messages were added: the store, not the order in
// which changes were published, decides what a view learns.
func (s *Store) UIDsAfter(ctx context.Context, mailboxID int64, after store.UID) ([]store.UID, error) {
	var out []store.UID
	// One statement is one snapshot: no BEGIN and COMMIT around it (a
	// delivery to N idle sessions runs this N times).
	err := s.read(ctx, func(r *reader) error {
		rows, err := r.query(`SELECT group_concat(uid) FROM
			(SELECT uid FROM msgflags WHERE mailbox = ? AND uid > ? ORDER BY uid)`, mailboxID, after)
		if err != nil {
			return err
		}
		out, err = scanUIDList(rows, out, true)
		return err
	})
	if err == nil {
		err = s.settle(ctx, mailboxID)
	}
	return out, err
}

// FirstUnseen returns the lowest UID without \Seen, or 0 (RFC 3501
// §6.3.1 OK [UNSEEN]). One indexed scan inside SQLite, no rows copied.
func (s *Store) FirstUnseen(ctx context.Context, mailboxID int64) (store.UID, error) {
	// From the flag index when it is current: the SQL form walks
	// msgflags from the lowest UID and reads every row up to the first
	// unseen one, all of them in a mailbox where everything is read.
	if b, err := s.box(ctx, mailboxID); err != nil {
		return 0, err
	} else if b != nil {
		return s.index.firstWithout(b, store.FlagSeen), nil
	}
	var uid sql.NullInt64
	err := s.readTx(ctx, func(r *reader) error {
		return r.queryRow(`SELECT min(uid) FROM msgflags WHERE mailbox = ? AND (sysflags & ?) = 0`,
			mailboxID, int(store.FlagSeen)).Scan(&uid)
	})
	if err == nil {
		err = s.settle(ctx, mailboxID)
	}
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
	// A sort is read as one result: settled first (durable.go); the
	// session keeps only UIDs its settled view knows.
	if err := s.settle(ctx, mailboxID); err != nil {
		return nil, err
	}
	dir := "ASC"
	if reverse {
		dir = "DESC"
	}
	var out []store.UID
	if reverse && by != "SIZE" {
		// Walk the sort index (migration 6) backwards, ties in
		// descending UID order, and turn each run of ties around in Go:
		// SQLite would otherwise sort every run of ties in a temporary
		// b-tree, which tripled the time on 100,000 messages.
		err := s.bulkTx(ctx, func(r *reader) error {
			rows, err := r.query(`SELECT group_concat(k || ' ' || uid, ' ') FROM
				(SELECT `+expr+` AS k, uid FROM messages WHERE mailbox = ? ORDER BY `+expr+` DESC, uid DESC)`, mailboxID)
			if err != nil {
				return err
			}
			return eachAggregate(rows, func(raw []byte) (err error) {
				out, err = keysFlipTies(out, raw)
				return err
			})
		})
		return out, err
	}
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

// keysFlipTies parses "key uid key uid..." (keys descending, ties in
// descending UID order) into UIDs with every run of equal keys reversed,
// so that ties come in ascending UID order (RFC 5256 §3: REVERSE does not
// apply to the mailbox-order tie-break). Keys are negative before 1970.
func keysFlipTies(out []store.UID, b []byte) ([]store.UID, error) {
	start := len(out)
	var runKey int64
	runStart := start
	for len(b) > 0 {
		neg := b[0] == '-'
		if neg {
			b = b[1:]
		}
		var kv [2]uint64
		rest, ok := parseUints(b, kv[:])
		if !ok || kv[1] == 0 || kv[1] > math.MaxUint32 || kv[0] > math.MaxInt64 {
			return nil, fmt.Errorf("sqlite: bad sort list near %q", b[:min(len(b), 20)])
		}
		k := int64(kv[0])
		if neg {
			k = -k
		}
		if len(out) == start || k != runKey {
			slices.Reverse(out[runStart:])
			runStart, runKey = len(out), k
		}
		out = append(out, store.UID(kv[1]))
		b = rest
	}
	slices.Reverse(out[runStart:])
	return out, nil
}

// UIDsAfterRecent is UIDsAfter with the mailbox's FIRSTRECENT and
// HIGHESTMODSEQ, from one statement (store.NewUIDsReader).
func (s *Store) UIDsAfterRecent(ctx context.Context, mailboxID int64, after store.UID) (store.NewUIDs, error) {
	var out []store.UID
	var first, hms int64
	err := s.read(ctx, func(r *reader) error {
		var raw sql.RawBytes
		rows, err := r.query(`SELECT m.firstrecent, m.highestmodseq, (SELECT group_concat(uid) FROM
			(SELECT uid FROM msgflags WHERE mailbox = m.id AND uid > ? ORDER BY uid)) FROM mailboxes m WHERE m.id = ?`, after, mailboxID)
		if err != nil {
			return err
		}
		defer rows.Close()
		if !rows.Next() {
			if err := rows.Err(); err != nil {
				return err
			}
			return store.ErrNoMailbox
		}
		if err := rows.Scan(&first, &hms, &raw); err != nil {
			return err
		}
		if out, err = parseUIDs(out, raw, true); err != nil {
			return err
		}
		return rows.Close()
	})
	if err == nil {
		// As UIDsAfter: what it returns waits for its sync (durable.go).
		err = s.settle(ctx, mailboxID)
	}
	return store.NewUIDs{UIDs: out, FirstRecent: store.UID(first), HighestModSeq: store.ModSeq(hms)}, err
}
