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
// ("local@domain") or a bare account name. It returns
// store.ErrNoAccount when nothing matches; any other error is a store
// failure (temporary).
func (r *Resolver) Resolve(ctx context.Context, addr string) (*Target, error) {
	names, details := r.candidates(addr)
	for i, n := range names {
		acct, err := r.Store.Account(ctx, n)
		if errors.Is(err, store.ErrNoAccount) {
			continue
		}
		if err != nil {
			return nil, err
		}
		return &Target{Account: acct, Detail: details[i]}, nil
	}
	return nil, store.ErrNoAccount
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
