package sqlite

import (
	"context"
	"errors"
	"time"

	"barid/internal/store"
)

const accountCols = `id, name, secret, quota, created`

func scanAccount(sc interface{ Scan(...any) error }) (*store.Account, error) {
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
// (RFC 9051 §5.1). The name must not be empty.
func (s *Store) CreateAccount(ctx context.Context, name string, secret []byte) (*store.Account, error) {
	name = store.NormalizeAccountName(name)
	if name == "" {
		return nil, errors.New("sqlite: empty account name")
	}
	var a *store.Account
	err := s.write(ctx, func(t *wtx) error {
		var exists int
		err := t.queryRow(`SELECT 1 FROM accounts WHERE name = ?`, name).Scan(&exists)
		if err == nil {
			return store.ErrAccountExists
		}
		if !errNoRows(err) {
			return err
		}
		now := s.now()
		res, err := t.exec(`INSERT INTO accounts (name, secret, quota, created) VALUES (?, ?, 0, ?)`,
			name, secret, now.UnixMicro())
		if err != nil {
			return err
		}
		id, err := res.LastInsertId()
		if err != nil {
			return err
		}
		if _, err := s.createMailbox(t, id, "INBOX", ""); err != nil {
			return err
		}
		a = &store.Account{ID: id, Name: name, Secret: append([]byte(nil), secret...), Created: time.UnixMicro(now.UnixMicro())}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return a, nil
}

// Account looks an account up by name, case-insensitively. Answers,
// "no such account" too, are kept while nothing changed the accounts
// table (dircache.go).
func (s *Store) Account(ctx context.Context, name string) (*store.Account, error) {
	name = store.NormalizeAccountName(name)
	gen, kept := s.dirGen()
	if kept {
		if a, ok := s.dir.account(gen, name); ok {
			if a == nil {
				return nil, store.ErrNoAccount
			}
			return a, nil
		}
	}
	var a *store.Account
	err := s.read(ctx, func(r *reader) error {
		var err error
		a, err = scanAccount(r.queryRow(`SELECT `+accountCols+` FROM accounts WHERE name = ?`, name))
		return err
	})
	if errNoRows(err) {
		if kept {
			s.dir.putAccount(gen, name, nil)
		}
		return nil, store.ErrNoAccount
	}
	if err == nil && kept {
		s.dir.putAccount(gen, name, a)
	}
	return a, err
}

// AccountByID looks an account up by id (kept as Account is).
func (s *Store) AccountByID(ctx context.Context, id int64) (*store.Account, error) {
	gen, kept := s.dirGen()
	if kept {
		if a, ok := s.dir.accountByID(gen, id); ok {
			return a, nil
		}
	}
	var a *store.Account
	err := s.read(ctx, func(r *reader) error {
		var err error
		a, err = scanAccount(r.queryRow(`SELECT `+accountCols+` FROM accounts WHERE id = ?`, id))
		return err
	})
	if errNoRows(err) {
		return nil, store.ErrNoAccount
	}
	if err == nil && kept {
		s.dir.putAccountByID(gen, a)
	}
	return a, err
}

// ReplaceAccountSecret implements store.Store: one UPDATE conditioned
// on the old value, in the writer's transaction.
func (s *Store) ReplaceAccountSecret(ctx context.Context, accountID int64, old, new []byte) (bool, error) {
	done := false
	err := s.write(ctx, func(t *wtx) error {
		n, err := t.execN(`UPDATE accounts SET secret = ? WHERE id = ? AND secret = ?`, new, accountID, old)
		if err != nil {
			return err
		}
		if n == 0 {
			m, err := t.execN(`UPDATE accounts SET secret = secret WHERE id = ?`, accountID)
			if err == nil && m == 0 {
				err = store.ErrNoAccount
			}
			return err
		}
		done = true
		return nil
	})
	return done, err
}

// SetAccountSecret replaces the opaque credential blob.
func (s *Store) SetAccountSecret(ctx context.Context, accountID int64, secret []byte) error {
	return s.write(ctx, func(t *wtx) error {
		n, err := t.execN(`UPDATE accounts SET secret = ? WHERE id = ?`, secret, accountID)
		if err == nil && n == 0 {
			err = store.ErrNoAccount
		}
		return err
	})
}

// DeleteAccount removes the account with all its mailboxes, messages,
// tombstones and subscriptions. Blobs become unreferenced and are left to
// the integrity sweep.
func (s *Store) DeleteAccount(ctx context.Context, accountID int64) error {
	return s.write(ctx, func(t *wtx) error {
		t.forgetKeywords()
		// Its subscriptions go too, which the mailbox rows kept by the
		// writer do not follow (mboxrows.go).
		t.w.chainBreak = true
		// Its aliases too, which the pre-update hook does not see
		// (dircache.go).
		t.w.dirTouched = true
		var name string
		err := t.queryRow(`SELECT name FROM accounts WHERE id = ?`, accountID).Scan(&name)
		if errNoRows(err) {
			return store.ErrNoAccount
		}
		if err != nil {
			return err
		}
		if _, err := t.exec(`DELETE FROM accounts WHERE id = ?`, accountID); err != nil {
			return err
		}
		// A later account of the same name must not inherit the old
		// one's ACL entries or groups (store.ACLStore).
		if _, err := t.exec(`DELETE FROM acl WHERE identifier = ? OR identifier = '-' || ?`, name, name); err != nil {
			return err
		}
		if _, err := t.exec(`DELETE FROM groups WHERE account = ?`, name); err != nil {
			return err
		}
		if err := dropInlineAccount(t, accountID); err != nil {
			return err
		}
		for _, q := range []string{
			`DELETE FROM messages WHERE mailbox IN (SELECT id FROM mailboxes WHERE account = ?)`,
			`DELETE FROM msgflags WHERE mailbox IN (SELECT id FROM mailboxes WHERE account = ?)`,
			`DELETE FROM expunged WHERE mailbox IN (SELECT id FROM mailboxes WHERE account = ?)`,
			`DELETE FROM keywords WHERE mailbox IN (SELECT id FROM mailboxes WHERE account = ?)`,
			`DELETE FROM mailboxes WHERE account = ?`,
			`DELETE FROM subscriptions WHERE account = ?`,
			`DELETE FROM aliases WHERE account = ?`,
			`DELETE FROM app_passwords WHERE account = ?`,
		} {
			if _, err := t.exec(q, accountID); err != nil {
				return err
			}
		}
		return nil
	})
}

// Accounts lists every account ordered by name.
func (s *Store) Accounts(ctx context.Context) ([]store.Account, error) {
	var out []store.Account
	err := s.read(ctx, func(r *reader) error {
		rows, err := r.query(`SELECT ` + accountCols + ` FROM accounts ORDER BY name`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			a, err := scanAccount(rows)
			if err != nil {
				return err
			}
			out = append(out, *a)
		}
		return rows.Err()
	})
	return out, err
}
