package store

import (
	"context"
	"errors"
	"strings"
	"time"
)

// Errors of Aliases.
var (
	ErrNoAlias     = errors.New("no such alias")
	ErrAliasExists = errors.New("alias already exists")
)

// Alias maps an address to an account: mail for Address is delivered to
// the account. An Address of the form "@domain" is the domain's
// catch-all, used when nothing else matches an address in that domain.
type Alias struct {
	Address   string // normalized (NormalizeAlias)
	AccountID int64
	Account   string // the account's name, filled by Aliases
}

// Aliases is the alias table ("barid alias add|del|list"). Both
// backends implement it; the LMTP resolver and "barid deliver" consult
// it. Deleting an account deletes its aliases.
type Aliases interface {
	// AddAlias maps address to the account; ErrAliasExists if the
	// address already has one, ErrNoAccount if the account is gone.
	AddAlias(ctx context.Context, address string, accountID int64) error
	// DeleteAlias removes it; ErrNoAlias if there is none.
	DeleteAlias(ctx context.Context, address string) error
	// AliasTarget returns the account an address is mapped to, or
	// ErrNoAlias.
	AliasTarget(ctx context.Context, address string) (int64, error)
	// ListAliases lists all aliases ordered by address.
	ListAliases(ctx context.Context) ([]Alias, error)
}

// NormalizeAlias lower-cases an address and trims spaces and angle
// brackets. Local parts are case-sensitive in RFC 5321 §2.4, but every
// mail system in use (Dovecot's and Postfix's lookups included) treats
// them case-insensitively, as barid does for account names.
func NormalizeAlias(address string) string {
	a := strings.TrimSpace(address)
	a = strings.TrimPrefix(a, "<")
	a = strings.TrimSuffix(a, ">")
	return strings.ToLower(a)
}

// Errors of AppPasswords.
var (
	ErrNoAppPassword     = errors.New("no such app password")
	ErrAppPasswordExists = errors.New("app password label already in use")
)

// AppPassword is one application-specific password of an account
// ("barid user app-password"). The password itself is never stored:
// Hash is SHA-256 of it (it is random and long, so a slow hash adds
// nothing; see internal/auth/apppass.go).
type AppPassword struct {
	AccountID int64
	Label     string
	// Protocols it may log in to ("imap", "pop3", "smtp", …); empty
	// means all.
	Protocols []string
	Created   time.Time
}

// AppPasswords stores app passwords. Both backends implement it;
// deleting an account deletes its app passwords.
type AppPasswords interface {
	// AddAppPassword stores one; ErrAppPasswordExists if the account
	// has one with that label, ErrNoAccount if the account is gone.
	AddAppPassword(ctx context.Context, accountID int64, label string, hash []byte, protocols []string) error
	// AppPasswords lists an account's, by label.
	AppPasswords(ctx context.Context, accountID int64) ([]AppPassword, error)
	// AppPasswordByHash finds the one with that hash, or ErrNoAppPassword.
	AppPasswordByHash(ctx context.Context, hash []byte) (*AppPassword, error)
	// RevokeAppPassword deletes one; ErrNoAppPassword if none.
	RevokeAppPassword(ctx context.Context, accountID int64, label string) error
}
