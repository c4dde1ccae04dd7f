package sqlite

import (
	"context"
	"strings"
	"time"

	"barid/internal/store"
)

var _ store.AppPasswords = (*Store)(nil)

// AddAppPassword stores an app password (store.AppPasswords).
func (s *Store) AddAppPassword(ctx context.Context, accountID int64, label string, hash []byte, protocols []string) error {
	return s.write(ctx, func(t *wtx) error {
		var x int
		if err := t.queryRow(`SELECT 1 FROM accounts WHERE id = ?`, accountID).Scan(&x); err != nil {
			if errNoRows(err) {
				return store.ErrNoAccount
			}
			return err
		}
		err := t.queryRow(`SELECT 1 FROM app_passwords WHERE account = ? AND label = ?`, accountID, label).Scan(&x)
		if err == nil {
			return store.ErrAppPasswordExists
		}
		if !errNoRows(err) {
			return err
		}
		_, err = t.exec(`INSERT INTO app_passwords (hash, account, label, protocols, created) VALUES (?, ?, ?, ?, ?)`,
			hash, accountID, label, strings.Join(protocols, ","), s.now().UnixMicro())
		return err
	})
}

func splitProtocols(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

// AppPasswords lists an account's app passwords by label.
func (s *Store) AppPasswords(ctx context.Context, accountID int64) ([]store.AppPassword, error) {
	var out []store.AppPassword
	err := s.read(ctx, func(r *reader) error {
		out = out[:0]
		rows, err := r.query(`SELECT label, protocols, created FROM app_passwords WHERE account = ? ORDER BY label`, accountID)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			p := store.AppPassword{AccountID: accountID}
			var protos string
			var created int64
			if err := rows.Scan(&p.Label, &protos, &created); err != nil {
				return err
			}
			p.Protocols, p.Created = splitProtocols(protos), time.UnixMicro(created)
			out = append(out, p)
		}
		return rows.Err()
	})
	return out, err
}

// AppPasswordByHash finds an app password by its hash.
func (s *Store) AppPasswordByHash(ctx context.Context, hash []byte) (*store.AppPassword, error) {
	var p store.AppPassword
	var protos string
	var created int64
	err := s.read(ctx, func(r *reader) error {
		return r.queryRow(`SELECT account, label, protocols, created FROM app_passwords WHERE hash = ?`, hash).
			Scan(&p.AccountID, &p.Label, &protos, &created)
	})
	if errNoRows(err) {
		return nil, store.ErrNoAppPassword
	}
	if err != nil {
		return nil, err
	}
	p.Protocols, p.Created = splitProtocols(protos), time.UnixMicro(created)
	return &p, nil
}

// RevokeAppPassword deletes one app password.
func (s *Store) RevokeAppPassword(ctx context.Context, accountID int64, label string) error {
	return s.write(ctx, func(t *wtx) error {
		n, err := t.execN(`DELETE FROM app_passwords WHERE account = ? AND label = ?`, accountID, label)
		if err == nil && n == 0 {
			err = store.ErrNoAppPassword
		}
		return err
	})
}
