package sqlite

import (
	"context"

	"barid/internal/store"
)

var _ store.Aliases = (*Store)(nil)

// AddAlias maps address to an existing account (store.Aliases).
func (s *Store) AddAlias(ctx context.Context, address string, accountID int64) error {
	address = store.NormalizeAlias(address)
	return s.write(ctx, func(t *wtx) error {
		var x int
		if err := t.queryRow(`SELECT 1 FROM accounts WHERE id = ?`, accountID).Scan(&x); err != nil {
			if errNoRows(err) {
				return store.ErrNoAccount
			}
			return err
		}
		err := t.queryRow(`SELECT 1 FROM aliases WHERE address = ?`, address).Scan(&x)
		if err == nil {
			return store.ErrAliasExists
		}
		if !errNoRows(err) {
			return err
		}
		// aliases is WITHOUT ROWID: the pre-update hook does not see
		// it (dircache.go).
		t.w.dirTouched = true
		_, err = t.exec(`INSERT INTO aliases (address, account) VALUES (?, ?)`, address, accountID)
		return err
	})
}

// DeleteAlias removes an alias (store.Aliases).
func (s *Store) DeleteAlias(ctx context.Context, address string) error {
	return s.write(ctx, func(t *wtx) error {
		t.w.dirTouched = true // not seen by the pre-update hook (dircache.go)
		n, err := t.execN(`DELETE FROM aliases WHERE address = ?`, store.NormalizeAlias(address))
		if err == nil && n == 0 {
			err = store.ErrNoAlias
		}
		return err
	})
}

// AliasTarget returns the account of an alias (store.Aliases). Answers,
// "no such alias" too, are kept while nothing changed the aliases table
// (dircache.go).
func (s *Store) AliasTarget(ctx context.Context, address string) (int64, error) {
	address = store.NormalizeAlias(address)
	gen, kept := s.dirGen()
	if kept {
		if id, ok := s.dir.aliasTarget(gen, address); ok {
			if id == 0 {
				return 0, store.ErrNoAlias
			}
			return id, nil
		}
	}
	var id int64
	err := s.read(ctx, func(r *reader) error {
		return r.queryRow(`SELECT account FROM aliases WHERE address = ?`, address).Scan(&id)
	})
	if errNoRows(err) {
		if kept {
			s.dir.putAlias(gen, address, 0)
		}
		return 0, store.ErrNoAlias
	}
	if err == nil && kept {
		s.dir.putAlias(gen, address, id)
	}
	return id, err
}

// ListAliases lists the aliases by address (store.Aliases).
func (s *Store) ListAliases(ctx context.Context) ([]store.Alias, error) {
	var out []store.Alias
	err := s.read(ctx, func(r *reader) error {
		out = out[:0]
		rows, err := r.query(`SELECT a.address, a.account, c.name FROM aliases a JOIN accounts c ON c.id = a.account ORDER BY a.address`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var a store.Alias
			if err := rows.Scan(&a.Address, &a.AccountID, &a.Account); err != nil {
				return err
			}
			out = append(out, a)
		}
		return rows.Err()
	})
	return out, err
}
