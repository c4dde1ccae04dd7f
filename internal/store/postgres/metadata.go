package postgres

import (
	"context"
	"strings"

	"github.com/jackc/pgx/v5"

	"barid/internal/store"
)

// IMAP METADATA storage (RFC 5464, store.Metadata): table metadata,
// schema step 6.

var _ store.Metadata = (*Store)(nil)

// MetadataEntries returns the entries accountID sees in the scope.
func (s *Store) MetadataEntries(ctx context.Context, accountID, mailboxID int64) ([]store.MetadataEntry, error) {
	rows, err := s.query(ctx, `SELECT name, value FROM metadata WHERE mailbox = $1 AND account IN (0, $2) ORDER BY name`,
		mailboxID, accountID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.MetadataEntry
	for rows.Next() {
		var e store.MetadataEntry
		if err := rows.Scan(&e.Name, &e.Value); err != nil {
			return nil, err
		}
		if e.Value == nil {
			e.Value = []byte{}
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// SetMetadata applies set in one transaction, then checks the scope's
// limits. A mailbox scope locks the mailbox row first (FOR NO KEY
// UPDATE, as writers do), so two SETMETADATA on one mailbox take turns
// and cannot pass a limit together; server entries lock the account's
// quota row for the same reason.
func (s *Store) SetMetadata(ctx context.Context, accountID, mailboxID int64, set []store.MetadataEntry, lim store.MetadataLimits) error {
	return s.write(ctx, func(tx pgx.Tx) error {
		var lock pgx.Row
		if mailboxID != 0 {
			lock = tx.QueryRow(ctx, `SELECT 1 FROM mailboxes WHERE id = $1 FOR NO KEY UPDATE`, mailboxID)
		} else {
			lock = tx.QueryRow(ctx, `SELECT 1 FROM quotas WHERE account = $1 FOR NO KEY UPDATE`, accountID)
		}
		var one int
		if err := lock.Scan(&one); errNoRows(err) {
			if mailboxID != 0 {
				return store.ErrNoMailbox
			}
			return store.ErrNoAccount
		} else if err != nil {
			return err
		}
		grows := false
		for _, e := range set {
			name := strings.ToLower(e.Name)
			owner := store.MetadataOwner(accountID, mailboxID, name)
			if e.Value == nil {
				if _, err := tx.Exec(ctx, `DELETE FROM metadata WHERE mailbox = $1 AND account = $2 AND name = $3`, mailboxID, owner, name); err != nil {
					return err
				}
				continue
			}
			grows = true
			if _, err := tx.Exec(ctx, `INSERT INTO metadata (mailbox, account, name, value) VALUES ($1, $2, $3, $4)
				ON CONFLICT (mailbox, account, name) DO UPDATE SET value = excluded.value`,
				mailboxID, owner, name, e.Value); err != nil {
				return err
			}
		}
		if !grows {
			return nil
		}
		var n, size int64
		if err := tx.QueryRow(ctx, `SELECT count(*), coalesce(sum(octet_length(value)), 0)::bigint FROM metadata WHERE mailbox = $1 AND account IN (0, $2)`,
			mailboxID, accountID).Scan(&n, &size); err != nil {
			return err
		}
		return lim.Check(n, size)
	})
}
