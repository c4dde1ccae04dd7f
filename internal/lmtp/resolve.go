package lmtp

import (
	"context"
	"errors"
	"strings"

	"barid/internal/mailbox"
	"barid/internal/store"
)

// Resolver maps an envelope recipient to an account and a destination
// mailbox. It holds no state beyond its settings and is safe for
// concurrent use.
type Resolver struct {
	Store store.Store
	// Mailboxes resolves destination mailboxes and rights; nil: one on
	// Store with the default namespaces.
	Mailboxes *mailbox.Service
	// LocalDomains are the domains whose addresses also match an account
	// named by the local part alone (lmtp.local_domains).
	LocalDomains []string
	// DetailDelivery files user+detail@ into the mailbox "detail" when it
	// exists (lmtp.detail_delivery).
	DetailDelivery bool
	// Directory, when set, finds accounts through the account sources
	// ([auth] sources: builtin names, LDAP mail attributes, passwd-file
	// and SQL users; auth.Directory) instead of Store.Account alone. Its
	// errors other than store.ErrNoAccount are temporary (451 4.3.0).
	Directory Directory
}

// Directory finds the account of a login name or address.
type Directory interface {
	FindAccount(ctx context.Context, name string) (*store.Account, error)
}

// Target is where a recipient's copy goes.
type Target struct {
	Account *store.Account
	// Detail is the "+detail" part of the address that matched, without
	// the '+', or "".
	Detail string
}

// candidates lists the account names an address may match, most
// specific first: the full address, the local part when the domain is
// local, then the same two with a "+detail" suffix removed from the local
// part (the recipient delimiter, as Dovecot's recipient_delimiter and
// Postfix's recipient_delimiter "+" define it).
func (r *Resolver) candidates(addr string) (names []string, details []string) {
	addr = store.NormalizeAccountName(addr)
	local, domain, hasDomain := cutLast(addr, '@')
	isLocal := false
	if hasDomain {
		for _, d := range r.LocalDomains {
			if strings.EqualFold(d, domain) {
				isLocal = true
				break
			}
		}
	}
	add := func(l, detail string) {
		if l == "" {
			return
		}
		if hasDomain {
			names = append(names, l+"@"+domain)
			details = append(details, detail)
		}
		if !hasDomain || isLocal {
			names = append(names, l)
			details = append(details, detail)
		}
	}
	add(local, "")
	if base, detail, ok := strings.Cut(local, "+"); ok {
		add(base, detail)
	}
	return names, details
}

func cutLast(s string, sep byte) (before, after string, found bool) {
	if i := strings.LastIndexByte(s, sep); i >= 0 {
		return s[:i], s[i+1:], true
	}
	return s, "", false
}

// Resolve finds the account for addr, an RFC 5321 mailbox
// ("local@domain") or a bare account name. For each candidate name
// (candidates: the address, the local part in a local domain, then both
// without a "+detail"), the alias table (store.Aliases) is asked first,
// then the accounts (Directory or Store). When none matches, the
// domain's catch-all alias ("@domain") takes the mail. It returns
// store.ErrNoAccount when nothing matches; any other error is a store or
// directory failure (temporary: the MTA retries, nothing bounces).
func (r *Resolver) Resolve(ctx context.Context, addr string) (*Target, error) {
	names, details := r.candidates(addr)
	aliases, _ := r.Store.(store.Aliases)
	for i, n := range names {
		if aliases != nil {
			t, err := r.alias(ctx, aliases, n, details[i])
			if !errors.Is(err, store.ErrNoAlias) {
				return t, err
			}
		}
		acct, err := r.find(ctx, n)
		if errors.Is(err, store.ErrNoAccount) {
			continue
		}
		if err != nil {
			return nil, err
		}
		return &Target{Account: acct, Detail: details[i]}, nil
	}
	if _, domain, ok := cutLast(store.NormalizeAccountName(addr), '@'); ok && domain != "" && aliases != nil {
		t, err := r.alias(ctx, aliases, "@"+domain, "")
		if !errors.Is(err, store.ErrNoAlias) {
			return t, err
		}
	}
	return nil, store.ErrNoAccount
}

func (r *Resolver) find(ctx context.Context, name string) (*store.Account, error) {
	if r.Directory != nil {
		return r.Directory.FindAccount(ctx, name)
	}
	return r.Store.Account(ctx, name)
}

// alias resolves one alias table entry; store.ErrNoAlias if none.
func (r *Resolver) alias(ctx context.Context, aliases store.Aliases, address, detail string) (*Target, error) {
	id, err := aliases.AliasTarget(ctx, address)
	if err != nil {
		return nil, err
	}
	acct, err := r.Store.AccountByID(ctx, id)
	if errors.Is(err, store.ErrNoAccount) {
		return nil, store.ErrNoAlias // deleted under us
	}
	if err != nil {
		return nil, err
	}
	return &Target{Account: acct, Detail: detail}, nil
}

// Mailbox picks the destination mailbox of t through the mailbox
// service (mailbox.Service.DeliveryTarget): want, else the detail
// mailbox when detail delivery is on, when it exists and the recipient
// may post to it ("p", RFC 4314), otherwise INBOX. INBOX itself is
// created if the account lacks it; its creation is published.
func (r *Resolver) Mailbox(ctx context.Context, t *Target, want string, publish func([]store.Change)) (*store.Mailbox, error) {
	if want == "" && r.DetailDelivery && t.Detail != "" {
		want = t.Detail
	}
	svc := r.Mailboxes
	if svc == nil {
		svc = mailbox.New(mailbox.Config{Store: r.Store})
	}
	mb, changes, err := svc.DeliveryTarget(ctx, t.Account, want)
	if err == nil && publish != nil && len(changes) > 0 {
		publish(changes)
	}
	return mb, err
}
