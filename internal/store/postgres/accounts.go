package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"barid/internal/store"
)

const accountCols = `id, name, secret, quota, created`

func scanAccount(sc pgx.Row) (*store.Account, error) {
	var a store.Account
	var created int64
	if err := sc.Scan(&a.ID, &a.Name, &a.Secret, &a.QuotaBytes, &created); err != nil {
		return nil, err
	}
	a.Created = time.UnixMicro(created)
	return &a, nil
}

// CreateAccount creates an account with the normalized name and its
// INBOX, so every account has the mailbox mail is delivered to
// (RFC 9051 §5.1). Two nodes creating the same name at once: the UNIQUE
// constraint lets one win, the other gets ErrAccountExists.
func (s *Store) CreateAccount(ctx context.Context, name string, secret []byte) (*store.Account, error) {
	name = store.NormalizeAccountName(name)
	if name == "" {
		return nil, errors.New("postgres: empty account name")
	}
	var a *store.Account
	err := s.write(ctx, func(tx pgx.Tx) error {
		now := s.now().UnixMicro()
		var id int64
		err := tx.QueryRow(ctx, `INSERT INTO accounts (name, secret, quota, created) VALUES ($1, $2, 0, $3)
			ON CONFLICT (name) DO NOTHING RETURNING id`, name, secret, now).Scan(&id)
		if errNoRows(err) {
			return store.ErrAccountExists
		}
		if err != nil {
			return err
		}
		if _, err := s.createMailbox(ctx, tx, id, "INBOX", ""); err != nil {
			return err
		}
		a = &store.Account{ID: id, Name: name, Secret: append([]byte(nil), secret...), Created: time.UnixMicro(now)}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return a, nil
}

// Account looks an account up by name, case-insensitively.
func (s *Store) Account(ctx context.Context, name string) (*store.Account, error) {
	a, err := scanAccount(s.queryRow(ctx, `SELECT `+accountCols+` FROM accounts WHERE name = $1`, store.NormalizeAccountName(name)))
	if errNoRows(err) {
		return nil, store.ErrNoAccount
	}
	return a, err
}

// AccountByID looks an account up by id.
func (s *Store) AccountByID(ctx context.Context, id int64) (*store.Account, error) {
	a, err := scanAccount(s.queryRow(ctx, `SELECT `+accountCols+` FROM accounts WHERE id = $1`, id))
	if errNoRows(err) {
		return nil, store.ErrNoAccount
	}
	return a, err
}

// ReplaceAccountSecret implements store.Store: one UPDATE conditioned
// on the old value.
func (s *Store) ReplaceAccountSecret(ctx context.Context, accountID int64, old, new []byte) (bool, error) {
	done := false
	err := s.write(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE accounts SET secret = $1 WHERE id = $2 AND secret = $3`, new, accountID, old)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			var one int
			if err := tx.QueryRow(ctx, `SELECT 1 FROM accounts WHERE id = $1`, accountID).Scan(&one); err != nil {
				if errors.Is(err, pgx.ErrNoRows) {
					return store.ErrNoAccount
				}
				return err
			}
			return nil
		}
		done = true
		return nil
	})
	return done, err
}

// SetAccountSecret replaces the opaque credential blob.
func (s *Store) SetAccountSecret(ctx context.Context, accountID int64, secret []byte) error {
	return s.write(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE accounts SET secret = $1 WHERE id = $2`, secret, accountID)
		if err == nil && tag.RowsAffected() == 0 {
			err = store.ErrNoAccount
		}
		return err
	})
}

// DeleteAccount removes the account; its mailboxes, messages, tombstones,
// keywords and subscriptions go by ON DELETE CASCADE in the same
// transaction. Blobs become unreferenced and are left to the integrity
// sweep; inline bytes no other account names are deleted here.
func (s *Store) DeleteAccount(ctx context.Context, accountID int64) error {
	return s.write(ctx, func(tx pgx.Tx) error {
		inline, err := inlineCandidates(ctx, tx, `SELECT DISTINCT m.blob_id FROM messages m JOIN blobdata b ON b.id = m.blob_id
			WHERE m.mailbox IN (SELECT id FROM mailboxes WHERE account = $1)`, accountID)
		if err != nil {
			return err
		}
		var name string
		err = tx.QueryRow(ctx, `DELETE FROM accounts WHERE id = $1 RETURNING name`, accountID).Scan(&name)
		if errNoRows(err) {
			return store.ErrNoAccount
		}
		if err != nil {
			return err
		}
		// A later account of the same name must not inherit the old
		// one's ACL entries or groups (store.ACLStore).
		if _, err := tx.Exec(ctx, `DELETE FROM acl WHERE identifier = $1 OR identifier = '-' || $1`, name); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM groups WHERE account = $1`, name); err != nil {
			return err
		}
		return dropInline(ctx, tx, inline)
	})
}

// Accounts lists every account ordered by name.
func (s *Store) Accounts(ctx context.Context) ([]store.Account, error) {
	rows, err := s.query(ctx, `SELECT `+accountCols+` FROM accounts ORDER BY name COLLATE "C"`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.Account
	for rows.Next() {
		a, err := scanAccount(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *a)
	}
	return out, rows.Err()
}
