package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"barid/internal/store"
)

var _ store.URLAuthKeys = (*Store)(nil)

// codeForeignKeyViolation: the mailbox a key would belong to is gone.
const codeForeignKeyViolation = "23503"

// URLAuthKey implements store.URLAuthKeys. A first use inserts newKey
// with ON CONFLICT DO NOTHING, so of two first uses on two nodes both
// get the key that was stored first.
func (s *Store) URLAuthKey(ctx context.Context, mailboxID int64, newKey []byte) ([]byte, error) {
	var key []byte
	err := s.queryRow(ctx, `SELECT key FROM urlauth_keys WHERE mailbox = $1`, mailboxID).Scan(&key)
	if err == nil || !errNoRows(err) || newKey == nil {
		if errNoRows(err) {
			err = nil
		}
		return key, err
	}
	err = s.write(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO urlauth_keys (mailbox, key) VALUES ($1, $2) ON CONFLICT (mailbox) DO NOTHING`,
			mailboxID, newKey)
		if pgCode(err) == codeForeignKeyViolation {
			return store.ErrNoMailbox
		}
		if err != nil {
			return err
		}
		return tx.QueryRow(ctx, `SELECT key FROM urlauth_keys WHERE mailbox = $1`, mailboxID).Scan(&key)
	})
	if err != nil {
		return nil, err
	}
	return key, nil
}

// ResetURLAuthKeys implements store.URLAuthKeys.
func (s *Store) ResetURLAuthKeys(ctx context.Context, accountID, mailboxID int64) error {
	return s.write(ctx, func(tx pgx.Tx) error {
		if mailboxID != 0 {
			_, err := tx.Exec(ctx, `DELETE FROM urlauth_keys WHERE mailbox = $1
				AND mailbox IN (SELECT id FROM mailboxes WHERE account = $2)`, mailboxID, accountID)
			return err
		}
		_, err := tx.Exec(ctx, `DELETE FROM urlauth_keys WHERE mailbox IN (SELECT id FROM mailboxes WHERE account = $1)`, accountID)
		return err
	})
}
