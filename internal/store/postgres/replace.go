package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"barid/internal/store"
)

// ReplaceMessage appends msg to dst and expunges uid from src in one
// transaction (RFC 8508 §3.4: the append and the expunge succeed or
// fail together), holding both mailboxes' row locks (taken in id order).
// If uid is no longer in src the whole replace fails with
// store.ErrNoMessage and nothing is appended.
func (s *Store) ReplaceMessage(ctx context.Context, srcMailboxID int64, uid store.UID, dstMailboxID int64, msg store.NewMessage) (store.UID, []store.Change, error) {
	if err := checkInline([]store.NewMessage{msg}); err != nil {
		return 0, nil, err
	}
	var newUID store.UID
	var ch []store.Change
	err := s.writeChanges(ctx, &ch, func(tx pgx.Tx) error {
		newUID, ch = 0, nil
		mbs, err := lockMailboxes(ctx, tx, srcMailboxID, dstMailboxID)
		if err != nil {
			return err
		}
		rows, err := flagRows(ctx, tx, srcMailboxID, []store.UID{uid}, "")
		if err != nil {
			return err
		}
		if len(rows) == 0 {
			return store.ErrNoMessage
		}
		uids, ach, err := s.appendRows(ctx, tx, mbs[dstMailboxID], []store.NewMessage{msg})
		if err != nil {
			return err
		}
		_, ech, err := expungeRows(ctx, tx, mbs[srcMailboxID], rows)
		if err != nil {
			return err
		}
		newUID = uids[0]
		ch = append(ach, ech...)
		return nil
	})
	if err != nil {
		return 0, nil, err
	}
	return newUID, ch, nil
}
