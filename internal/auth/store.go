package auth

import (
	"context"
	"errors"

	"barid/internal/store"
)

// StoreAccounts adapts a store.Store to Accounts (and to
// SecretReplacer: builtin accounts are re-hashed at login).
type StoreAccounts struct{ Store store.Store }

// Secret looks the account up by its normalized name
// (store.NormalizeAccountName) and maps store.ErrNoAccount to
// ErrUnknownUser.
func (s StoreAccounts) Secret(ctx context.Context, username string) (int64, []byte, error) {
	acc, err := s.Store.Account(ctx, store.NormalizeAccountName(username))
	if errors.Is(err, store.ErrNoAccount) {
		return 0, nil, ErrUnknownUser
	}
	if err != nil {
		return 0, nil, err
	}
	return acc.ID, acc.Secret, nil
}

// ReplaceSecret implements SecretReplacer with the store's
// compare-and-swap.
func (s StoreAccounts) ReplaceSecret(ctx context.Context, accountID int64, old, new []byte) (bool, error) {
	return s.Store.ReplaceAccountSecret(ctx, accountID, old, new)
}
