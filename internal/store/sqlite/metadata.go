package sqlite

import (
	"context"
	"strings"

	"barid/internal/store"
)

// IMAP METADATA storage (RFC 5464, store.Metadata): table metadata,
// schema step 12.

var _ store.Metadata = (*Store)(nil)

// MetadataEntries returns the entries accountID sees in the scope.
func (s *Store) MetadataEntries(ctx context.Context, accountID, mailboxID int64) ([]store.MetadataEntry, error) {
	var out []store.MetadataEntry
	err := s.read(ctx, func(r *reader) error {
		out = nil
		rows, err := r.query(`SELECT name, value FROM metadata WHERE mailbox = ? AND account IN (0, ?) ORDER BY name`,
			mailboxID, accountID)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var e store.MetadataEntry
			if err := rows.Scan(&e.Name, &e.Value); err != nil {
				return err
			}
			if e.Value == nil {
				e.Value = []byte{}
			}
			out = append(out, e)
		}
		return rows.Err()
	})
	return out, err
}

// SetMetadata applies set in one transaction, then checks the scope's
// limits.
func (s *Store) SetMetadata(ctx context.Context, accountID, mailboxID int64, set []store.MetadataEntry, lim store.MetadataLimits) error {
	return s.write(ctx, func(t *wtx) error {
		if mailboxID != 0 {
			if _, err := loadMbox(t, mailboxID); err != nil {
				return err
			}
		}
		grows := false
		for _, e := range set {
			name := strings.ToLower(e.Name)
			owner := store.MetadataOwner(accountID, mailboxID, name)
			if e.Value == nil {
				if _, err := t.exec(`DELETE FROM metadata WHERE mailbox = ? AND account = ? AND name = ?`, mailboxID, owner, name); err != nil {
					return err
				}
				continue
			}
			grows = true
			if _, err := t.exec(`INSERT INTO metadata (mailbox, account, name, value) VALUES (?, ?, ?, ?)
				ON CONFLICT (mailbox, account, name) DO UPDATE SET value = excluded.value`,
				mailboxID, owner, name, e.Value); err != nil {
				return err
			}
		}
		if !grows {
			return nil
		}
		var n, size int64
		if err := t.queryRow(`SELECT count(*), coalesce(sum(length(value)), 0) FROM metadata WHERE mailbox = ? AND account IN (0, ?)`,
			mailboxID, accountID).Scan(&n, &size); err != nil {
			return err
		}
		return lim.Check(n, size)
	})
}
