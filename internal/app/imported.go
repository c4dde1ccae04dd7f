package app

import (
	"context"
	"fmt"
	"strings"

	"barid/internal/auth"
	"barid/internal/store"
)

// CreateAccountHashed creates an account whose secret is a password
// hash imported from another server, in Dovecot's "{SCHEME}data"
// notation (a passwd-file's second field, an SQL passdb's password
// column), with the default mailboxes. The hash is checked first
// (auth.CheckImportedHash, under the [limits] crypt_rounds and
// bcrypt_cost of lim). At the account's first successful login the
// server replaces it with an argon2id secret (docs/accounts.md,
// "Re-hashing").
func CreateAccountHashed(ctx context.Context, st store.Store, name, hash string, lim auth.SchemeLimits) (*store.Account, error) {
	name = store.NormalizeAccountName(name)
	if err := ValidateAccountName(name); err != nil {
		return nil, err
	}
	hash = strings.TrimSpace(hash)
	if err := auth.CheckImportedHash(hash, lim); err != nil {
		return nil, fmt.Errorf("imported hash: %w", err)
	}
	acct, err := st.CreateAccount(ctx, name, []byte(hash))
	if err != nil {
		return nil, err
	}
	if err := EnsureDefaultMailboxes(ctx, st, acct.ID); err != nil {
		return nil, err
	}
	return acct, nil
}

// SetPasswordHash replaces an account's secret with an imported
// "{SCHEME}data" hash (see CreateAccountHashed).
func SetPasswordHash(ctx context.Context, st store.Store, name, hash string, lim auth.SchemeLimits) error {
	hash = strings.TrimSpace(hash)
	if err := auth.CheckImportedHash(hash, lim); err != nil {
		return fmt.Errorf("imported hash: %w", err)
	}
	acct, err := st.Account(ctx, store.NormalizeAccountName(name))
	if err != nil {
		return err
	}
	return st.SetAccountSecret(ctx, acct.ID, []byte(hash))
}
