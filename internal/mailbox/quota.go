package mailbox

import (
	"context"
	"errors"
	"strings"

	"barid/internal/store"
)

// Quotas (RFC 9208). An account's quota covers all its mailboxes, and
// usage is charged to the mailbox's owner whoever writes (docs/sharing.md
// "Quotas"). The service answers which account's quota covers a name a
// user gives (GETQUOTAROOT) and reads and sets an account's quota, so
// that protocols never call the store's store.Quotas themselves; how a
// protocol names the roots is its own business (IMAP: "User quota",
// "#user/NAME").

// ErrOtherUsersQuota refuses to show the quota that covers another
// user's folder, in Dovecot's words (cmd-quota.c): a user sees only
// their own quota and the public folders'. It is the same answer
// whether or not the folder, or the user, exists, so nothing leaks
// (RFC 4314 §4).
var ErrOtherUsersQuota = &Error{KindNoPerm, "Not showing other users' quota."}

// ErrNoQuotaRoot is a quota root that is not there, or not the user's
// to see.
var ErrNoQuotaRoot = &Error{KindNonexistent, "Quota root doesn't exist"}

// Quotas reports whether the store keeps quotas (store.Quotas).
func (s *Service) Quotas() bool {
	_, ok := s.st.(store.Quotas)
	return ok
}

// Quota returns the account's usage and limits; nil when the store
// keeps no quotas.
func (s *Service) Quota(ctx context.Context, accountID int64) (*store.Quota, error) {
	q, ok := s.st.(store.Quotas)
	if !ok {
		return nil, nil
	}
	return q.Quota(ctx, accountID)
}

// SetQuotaLimits sets the account's limits (RFC 9208 §4.1.3 SETQUOTA;
// who may is the caller's decision: [quota] admins).
func (s *Service) SetQuotaLimits(ctx context.Context, accountID int64, l store.QuotaLimits) error {
	q, ok := s.st.(store.Quotas)
	if !ok {
		return ErrNoQuotaRoot
	}
	return q.SetQuotaLimits(ctx, accountID, l)
}

// QuotaOwner returns the account whose quota covers the mailbox u
// names (RFC 9208 §4.1.2 GETQUOTAROOT): u's own for a personal name,
// whether or not the mailbox exists (as Dovecot: the root a mailbox
// would have once created); the public folders' owner for a public
// name. A name in the other users' namespace is ErrOtherUsersQuota
// unless admin (a quota admin), who gets the owner's account or
// store.ErrNoMailbox.
func (s *Service) QuotaOwner(ctx context.Context, u User, name string, admin bool) (User, error) {
	name, err := Normalize(name)
	if err != nil {
		return User{}, err
	}
	if !s.cfg.NoACL && !admin && (name == s.cfg.OtherUsers || strings.HasPrefix(name, s.cfg.OtherUsers+"/")) {
		return User{}, ErrOtherUsersQuota
	}
	if !s.cfg.NoACL && (name == s.cfg.Public || name == s.cfg.OtherUsers) {
		return User{}, store.ErrNoMailbox // a namespace, no mailbox
	}
	loc, err := s.locate(ctx, u, name)
	if err != nil {
		return User{}, err
	}
	if loc.ownerID == u.ID {
		return u, nil
	}
	return User{ID: loc.ownerID, Name: loc.ownerName}, nil
}

// QuotaAccount returns the account named account for a quota root that
// names it (GETQUOTA, SETQUOTA): u's own, the public folders' owner
// (whose usage anyone who may see a public folder is shown by
// GETQUOTAROOT), or, for a quota admin only, any account.
// ErrNoQuotaRoot otherwise.
func (s *Service) QuotaAccount(ctx context.Context, u User, account string, admin bool) (User, error) {
	account = store.NormalizeAccountName(account)
	if account == u.Name {
		return u, nil
	}
	public := !s.cfg.NoACL && account == s.cfg.PublicAccount
	if !admin && !public {
		return User{}, ErrNoQuotaRoot
	}
	a, err := s.st.Account(ctx, account)
	if errors.Is(err, store.ErrNoAccount) {
		return User{}, ErrNoQuotaRoot
	}
	if err != nil {
		return User{}, err
	}
	return User{ID: a.ID, Name: a.Name}, nil
}
