package sqlite

import (
	"context"

	"barid/internal/store"
)

// ReplaceMessage appends msg to dst and expunges uid from src in one
// transaction (RFC 8508 §3.4: the append and the expunge succeed or
// fail together). If uid is no longer in src the whole replace fails
// with store.ErrNoMessage and nothing is appended.
func (s *Store) ReplaceMessage(ctx context.Context, srcMailboxID int64, uid store.UID, dstMailboxID int64, msg store.NewMessage) (store.UID, []store.Change, error) {
	var newUID store.UID
	var ch []store.Change
	err := s.write(ctx, func(t *wtx) error {
		newUID, ch = 0, nil
		dst, err := loadMbox(t, dstMailboxID)
		if err != nil {
			return err
		}
		src := dst
		if srcMailboxID != dstMailboxID {
			if src, err = loadMbox(t, srcMailboxID); err != nil {
				return err
			}
		}
		rows, err := flagRows(t, srcMailboxID, []store.UID{uid}, "")
		if err != nil {
			return err
		}
		if len(rows) == 0 {
			return store.ErrNoMessage
		}
		uids, ach, err := s.appendRows(t, dst, []store.NewMessage{msg})
		if err != nil {
			return err
		}
		_, ech, err := expungeRows(t, src, rows)
		if err != nil {
			return err
		}
		newUID = uids[0]
		ch = append(ach, ech...)
		t.emit(ch)
		return nil
	})
	if err != nil {
		return 0, nil, err
	}
	return newUID, ch, nil
}
