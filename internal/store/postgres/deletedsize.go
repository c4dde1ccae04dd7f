package postgres

import (
	"context"

	"barid/internal/store"
)

var _ store.DeletedSizer = (*Store)(nil)

// DeletedSize implements store.DeletedSizer.
func (s *Store) DeletedSize(ctx context.Context, mailboxID int64) (int64, error) {
	var found bool
	var n int64
	err := s.queryRow(ctx, `SELECT EXISTS (SELECT 1 FROM mailboxes WHERE id = $1),
		(SELECT coalesce(sum(size), 0)::bigint FROM msgflags WHERE mailbox = $1 AND (sysflags & $2) <> 0)`,
		mailboxID, int32(store.FlagDeleted)).Scan(&found, &n)
	if err != nil {
		return 0, err
	}
	if !found {
		return 0, store.ErrNoMailbox
	}
	return n, nil
}
