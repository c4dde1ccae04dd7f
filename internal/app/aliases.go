package app

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"barid/internal/store"
)

// AddAlias maps address ("user@domain", or "@domain" for the domain's
// catch-all) to the named account ("barid alias add").
func AddAlias(ctx context.Context, st store.Store, address, account string) error {
	as, ok := st.(store.Aliases)
	if !ok {
		return errors.New("this store has no alias table")
	}
	address = store.NormalizeAlias(address)
	if err := validateAlias(address); err != nil {
		return err
	}
	acct, err := st.Account(ctx, store.NormalizeAccountName(account))
	if err != nil {
		return fmt.Errorf("account %q: %w", account, err)
	}
	return as.AddAlias(ctx, address, acct.ID)
}

// DeleteAlias removes an alias ("barid alias del").
func DeleteAlias(ctx context.Context, st store.Store, address string) error {
	as, ok := st.(store.Aliases)
	if !ok {
		return errors.New("this store has no alias table")
	}
	return as.DeleteAlias(ctx, address)
}

// ListAliases lists the aliases ("barid alias list").
func ListAliases(ctx context.Context, st store.Store) ([]store.Alias, error) {
	as, ok := st.(store.Aliases)
	if !ok {
		return nil, errors.New("this store has no alias table")
	}
	return as.ListAliases(ctx)
}

// validateAlias accepts local@domain and @domain, printable, no spaces,
// at most 255 bytes (RFC 5321 §4.5.3.1.3 caps a path at 256 octets).
func validateAlias(a string) error {
	local, domain, ok := strings.Cut(a, "@")
	if !ok || domain == "" || strings.Contains(domain, "@") || len(a) > 255 {
		return fmt.Errorf("alias %q: want local@domain, or @domain for a catch-all", a)
	}
	_ = local
	for _, r := range a {
		if r <= ' ' || r == 0x7f || r == '"' || r == '\\' || r == '<' || r == '>' {
			return fmt.Errorf("alias %q contains a space, quote, bracket, backslash or control character", a)
		}
	}
	return nil
}
