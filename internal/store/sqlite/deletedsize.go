package sqlite

import (
	"context"

	"barid/internal/store"
)

var _ store.DeletedSizer = (*Store)(nil)

// DeletedSize implements store.DeletedSizer.
func (s *Store) DeletedSize(ctx context.Context, mailboxID int64) (int64, error) {
	var n int64
	err := s.readTx(ctx, func(r *reader) error {
		var found int
		if err := r.queryRow(`SELECT count(*) FROM mailboxes WHERE id = ?`, mailboxID).Scan(&found); err != nil {
			return err
		}
		if found == 0 {
			return store.ErrNoMailbox
		}
		return r.queryRow(`SELECT coalesce(sum(size), 0) FROM msgflags WHERE mailbox = ? AND (sysflags & ?) <> 0`,
			mailboxID, int(store.FlagDeleted)).Scan(&n)
	})
	return n, err
}
