package app

import (
	"context"
	"errors"
	"fmt"
	"unicode"

	"barid/internal/auth"
	"barid/internal/store"
)

// DefaultMailboxes are created for every new account, with their
// RFC 6154 special-use attributes.
var DefaultMailboxes = []struct{ Name, SpecialUse string }{
	{"INBOX", ""},
	{"Sent", `\Sent`},
	{"Drafts", `\Drafts`},
	{"Trash", `\Trash`},
	{"Junk", `\Junk`},
	{"Archive", `\Archive`},
}

// ValidateAccountName checks a login name: printable, no spaces, at most
// 255 bytes. Addresses such as alice@example.org are fine.
func ValidateAccountName(name string) error {
	if name == "" || len(name) > 255 {
		return fmt.Errorf("account name must be 1 to 255 bytes")
	}
	for _, r := range name {
		if unicode.IsSpace(r) || unicode.IsControl(r) || r == '"' || r == '\\' {
			return fmt.Errorf("account name %q contains a space, quote, backslash or control character", name)
		}
	}
	return nil
}

// CreateAccount creates an account with its password secret and the
// default mailboxes.
func CreateAccount(ctx context.Context, st store.Store, name, password string) (*store.Account, error) {
	return CreateAccountWith(ctx, st, name, password, auth.DefaultParams())
}

// CreateAccountWith is CreateAccount with explicit hash costs (tests and
// benchmarks use cheap ones).
func CreateAccountWith(ctx context.Context, st store.Store, name, password string, p auth.Params) (*store.Account, error) {
	name = store.NormalizeAccountName(name)
	if err := ValidateAccountName(name); err != nil {
		return nil, err
	}
	if password == "" {
		return nil, errors.New("empty password")
	}
	secret, err := auth.NewSecret(password, p)
	if err != nil {
		return nil, err
	}
	acct, err := st.CreateAccount(ctx, name, secret)
	if err != nil {
		return nil, err
	}
	if err := EnsureDefaultMailboxes(ctx, st, acct.ID); err != nil {
		return nil, err
	}
	return acct, nil
}

// EnsureDefaultMailboxes creates any missing default mailbox.
func EnsureDefaultMailboxes(ctx context.Context, st store.Store, accountID int64) error {
	for _, m := range DefaultMailboxes {
		_, _, err := st.CreateMailbox(ctx, accountID, m.Name, m.SpecialUse)
		if err != nil && !errors.Is(err, store.ErrMailboxExists) {
			return fmt.Errorf("create %s: %w", m.Name, err)
		}
		if err == nil && m.Name != "INBOX" {
			if _, err := st.SetSubscribed(ctx, accountID, m.Name, true); err != nil {
				return err
			}
		}
	}
	if _, err := st.SetSubscribed(ctx, accountID, "INBOX", true); err != nil {
		return err
	}
	return nil
}

// SetPassword replaces an account's secret.
func SetPassword(ctx context.Context, st store.Store, name, password string) error {
	if password == "" {
		return errors.New("empty password")
	}
	acct, err := st.Account(ctx, store.NormalizeAccountName(name))
	if err != nil {
		return err
	}
	secret, err := auth.NewSecret(password, auth.DefaultParams())
	if err != nil {
		return err
	}
	return st.SetAccountSecret(ctx, acct.ID, secret)
}
