package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"barid/internal/store"
)

var _ store.Aliases = (*Store)(nil)

// AddAlias maps address to an existing account (store.Aliases).
func (s *Store) AddAlias(ctx context.Context, address string, accountID int64) error {
	address = store.NormalizeAlias(address)
	err := s.write(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO aliases (address, account) VALUES ($1, $2)`, address, accountID)
		return err
	})
	switch {
	case isUnique(err):
		return store.ErrAliasExists
	case pgCode(err) == codeForeignKeyViolation:
		return store.ErrNoAccount
	}
	return err
}

// DeleteAlias removes an alias (store.Aliases).
func (s *Store) DeleteAlias(ctx context.Context, address string) error {
	return s.write(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM aliases WHERE address = $1`, store.NormalizeAlias(address))
		if err == nil && tag.RowsAffected() == 0 {
			err = store.ErrNoAlias
		}
		return err
	})
}

// AliasTarget returns the account of an alias (store.Aliases).
func (s *Store) AliasTarget(ctx context.Context, address string) (int64, error) {
	var id int64
	err := s.queryRow(ctx, `SELECT account FROM aliases WHERE address = $1`, store.NormalizeAlias(address)).Scan(&id)
	if errNoRows(err) {
		return 0, store.ErrNoAlias
	}
	return id, err
}

// ListAliases lists the aliases by address (store.Aliases).
func (s *Store) ListAliases(ctx context.Context) ([]store.Alias, error) {
	rows, err := s.query(ctx, `SELECT a.address, a.account, c.name FROM aliases a JOIN accounts c ON c.id = a.account ORDER BY a.address COLLATE "C"`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.Alias
	for rows.Next() {
		var a store.Alias
		if err := rows.Scan(&a.Address, &a.AccountID, &a.Account); err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}
