package sqlite

import (
	"context"

	"barid/internal/store"
)

var _ store.URLAuthKeys = (*Store)(nil)

// URLAuthKey implements store.URLAuthKeys: the key is read on a reader;
// only a first use (newKey set, no key yet) goes through the writer,
// where INSERT OR IGNORE keeps the key of whichever first use came first.
func (s *Store) URLAuthKey(ctx context.Context, mailboxID int64, newKey []byte) ([]byte, error) {
	var key []byte
	err := s.read(ctx, func(r *reader) error {
		err := r.queryRow(`SELECT key FROM urlauth_keys WHERE mailbox = ?`, mailboxID).Scan(&key)
		if errNoRows(err) {
			return nil
		}
		return err
	})
	if err != nil || key != nil || newKey == nil {
		return key, err
	}
	err = s.write(ctx, func(t *wtx) error {
		var n int
		if err := t.queryRow(`SELECT count(*) FROM mailboxes WHERE id = ?`, mailboxID).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return store.ErrNoMailbox
		}
		if _, err := t.exec(`INSERT OR IGNORE INTO urlauth_keys (mailbox, key) VALUES (?, ?)`, mailboxID, newKey); err != nil {
			return err
		}
		return t.queryRow(`SELECT key FROM urlauth_keys WHERE mailbox = ?`, mailboxID).Scan(&key)
	})
	if err != nil {
		return nil, err
	}
	return key, nil
}

// ResetURLAuthKeys implements store.URLAuthKeys.
func (s *Store) ResetURLAuthKeys(ctx context.Context, accountID, mailboxID int64) error {
	return s.write(ctx, func(t *wtx) error {
		if mailboxID != 0 {
			_, err := t.exec(`DELETE FROM urlauth_keys WHERE mailbox = ? AND mailbox IN (SELECT id FROM mailboxes WHERE account = ?)`, mailboxID, accountID)
			return err
		}
		_, err := t.exec(`DELETE FROM urlauth_keys WHERE mailbox IN (SELECT id FROM mailboxes WHERE account = ?)`, accountID)
		return err
	})
}
