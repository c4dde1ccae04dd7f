package postgres

import (
	"context"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"barid/internal/store"
)

var _ store.AppPasswords = (*Store)(nil)

// AddAppPassword stores an app password (store.AppPasswords).
func (s *Store) AddAppPassword(ctx context.Context, accountID int64, label string, hash []byte, protocols []string) error {
	err := s.write(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO app_passwords (hash, account, label, protocols) VALUES ($1, $2, $3, $4)`,
			hash, accountID, label, strings.Join(protocols, ","))
		return err
	})
	switch {
	case isUnique(err):
		return store.ErrAppPasswordExists
	case pgCode(err) == codeForeignKeyViolation:
		return store.ErrNoAccount
	}
	return err
}

func splitProtocols(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

// AppPasswords lists an account's app passwords by label.
func (s *Store) AppPasswords(ctx context.Context, accountID int64) ([]store.AppPassword, error) {
	rows, err := s.query(ctx, `SELECT label, protocols, created FROM app_passwords WHERE account = $1 ORDER BY label COLLATE "C"`, accountID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.AppPassword
	for rows.Next() {
		p := store.AppPassword{AccountID: accountID}
		var protos string
		var created time.Time
		if err := rows.Scan(&p.Label, &protos, &created); err != nil {
			return nil, err
		}
		p.Protocols, p.Created = splitProtocols(protos), created
		out = append(out, p)
	}
	return out, rows.Err()
}

// AppPasswordByHash finds an app password by its hash.
func (s *Store) AppPasswordByHash(ctx context.Context, hash []byte) (*store.AppPassword, error) {
	var p store.AppPassword
	var protos string
	err := s.queryRow(ctx, `SELECT account, label, protocols, created FROM app_passwords WHERE hash = $1`, hash).
		Scan(&p.AccountID, &p.Label, &protos, &p.Created)
	if errNoRows(err) {
		return nil, store.ErrNoAppPassword
	}
	if err != nil {
		return nil, err
	}
	p.Protocols = splitProtocols(protos)
	return &p, nil
}

// RevokeAppPassword deletes one app password.
func (s *Store) RevokeAppPassword(ctx context.Context, accountID int64, label string) error {
	return s.write(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM app_passwords WHERE account = $1 AND label = $2`, accountID, label)
		if err == nil && tag.RowsAffected() == 0 {
			err = store.ErrNoAppPassword
		}
		return err
	})
}
