// Package notify is the change bus. Writers commit to the store first, then
// Publish the changes the store returned. Sessions Subscribe per account and
// receive every change of that account, in publish order.
//
// The in-process bus never blocks a publisher: each subscription has an
// unbounded queue and a wake channel of capacity one, so a slow or stuck
// session only grows its own queue.
package notify

import (
	"context"
	"sync"
	"sync/atomic"

	"barid/internal/store"
)

// Bus is an in-process publish/subscribe hub keyed by account ID.
type Bus struct {
	mu   sync.Mutex
	subs map[int64]map[*Subscription]struct{}
	// every holds every open subscription: store.ChangeACL goes to all
	// of them, since an ACL entry may name anyone, a group or a user
	// who does not watch the mailbox yet.
	every map[*Subscription]struct{}
	// barrier is Sync's work (SetBarrier), nil on one node.
	barrier atomic.Pointer[func(context.Context)]
}

// SetBarrier installs what Sync runs: with a store shared by several
// nodes, a call that returns once every change another node committed
// before it has been published on this bus (postgres.Store.Barrier).
func (b *Bus) SetBarrier(f func(context.Context)) { b.barrier.Store(&f) }

// Sync waits until the changes other nodes committed before the call
// have been published on this bus; on one node it returns at once (the
// writers publish before they answer). A session calls it before a
// command, so the command's updates include what another node's client
// was told is done.
func (b *Bus) Sync(ctx context.Context) {
	if f := b.barrier.Load(); f != nil {
		(*f)(ctx)
	}
}

// New returns an empty bus.
func New() *Bus {
	return &Bus{subs: make(map[int64]map[*Subscription]struct{}), every: make(map[*Subscription]struct{})}
}

// Subscription receives one account's changes.
type Subscription struct {
	bus     *Bus
	account int64
	mu      sync.Mutex
	queue   []store.Change
	wake    chan struct{}
	closed  bool
	notify  func()
	// mailbox, when set, keeps only that mailbox's changes (plus account
	// level ones without a mailbox), so a session that has nothing
	// selected queues nothing.
	mailbox  int64
	filterOn bool
	// all, when set, queues every change of the account whatever the
	// filter says: an IMAP NOTIFY session watching other mailboxes
	// (RFC 5465). With a bus keyed by mailbox it becomes the set of
	// mailboxes watched plus the account's mailbox-list events.
	all bool
	// other is another account whose changes to the filtered mailbox
	// this subscription also receives: a shared mailbox (RFC 4314)
	// selected by a user who does not own it. Only that mailbox's
	// changes pass, whatever all says.
	other int64
	// shared are other accounts' mailboxes an IMAP NOTIFY session
	// watches (RFC 5465 with RFC 4314 shared mailboxes): owner account
	// -> mailbox ids. Their changes pass while all is on.
	shared map[int64]map[int64]bool
}

// Subscribe starts receiving changes for accountID.
func (b *Bus) Subscribe(accountID int64) *Subscription {
	s := &Subscription{bus: b, account: accountID, wake: make(chan struct{}, 1)}
	b.mu.Lock()
	m := b.subs[accountID]
	if m == nil {
		m = make(map[*Subscription]struct{})
		b.subs[accountID] = m
	}
	m[s] = struct{}{}
	b.every[s] = struct{}{}
	b.mu.Unlock()
	return s
}

// Publish delivers changes to every subscriber of their accounts. Call it
// after the transaction that produced them has committed.
func (b *Bus) Publish(changes []store.Change) {
	if len(changes) == 0 {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if acl := splitACL(&changes); len(acl) > 0 {
		for s := range b.every {
			s.push(acl)
		}
		if len(changes) == 0 {
			return
		}
	}
	start := 0
	for i := 1; i <= len(changes); i++ {
		if i < len(changes) && changes[i].AccountID == changes[start].AccountID {
			continue
		}
		batch := changes[start:i]
		for s := range b.subs[batch[0].AccountID] {
			s.push(batch)
		}
		start = i
	}
}

// splitACL takes the store.ChangeACL changes out of *cs (copying the
// rest only when there are some) and returns them.
func splitACL(cs *[]store.Change) []store.Change {
	n := 0
	for i := range *cs {
		if (*cs)[i].Kind == store.ChangeACL {
			n++
		}
	}
	if n == 0 {
		return nil
	}
	acl := make([]store.Change, 0, n)
	rest := make([]store.Change, 0, len(*cs)-n)
	for _, c := range *cs {
		if c.Kind == store.ChangeACL {
			acl = append(acl, c)
		} else {
			rest = append(rest, c)
		}
	}
	*cs = rest
	return acl
}

// PublishFrom is Publish with every change stamped with origin, the
// session that made it (store.Change.Origin), so that session can tell
// its own changes from others' (RFC 5465 §5).
func (b *Bus) PublishFrom(origin uint64, changes []store.Change) {
	for i := range changes {
		changes[i].Origin = origin
	}
	b.Publish(changes)
}

type originKey struct{}

// WithOrigin returns a context that names the session making changes, for
// code that publishes on a session's behalf (internal/deliver).
func WithOrigin(ctx context.Context, origin uint64) context.Context {
	return context.WithValue(ctx, originKey{}, origin)
}

// Origin returns the session WithOrigin put in ctx, or 0.
func Origin(ctx context.Context) uint64 {
	o, _ := ctx.Value(originKey{}).(uint64)
	return o
}

func (s *Subscription) push(cs []store.Change) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	n := len(s.queue)
	if len(cs) > 0 && cs[0].Kind == store.ChangeACL {
		s.queue = append(s.queue, cs...)
	} else if len(cs) > 0 && cs[0].AccountID != s.account {
		watched := s.shared[cs[0].AccountID]
		for _, c := range cs {
			if c.MailboxID == s.mailbox && s.mailbox != 0 && s.filterOn || s.all && watched[c.MailboxID] {
				s.queue = append(s.queue, c)
			}
		}
	} else if s.filterOn && !s.all {
		for _, c := range cs {
			if c.MailboxID == s.mailbox && s.mailbox != 0 {
				s.queue = append(s.queue, c)
			}
		}
	} else {
		s.queue = append(s.queue, cs...)
	}
	if len(s.queue) == n {
		s.mu.Unlock()
		return
	}
	fn := s.notify
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
	if fn != nil {
		fn()
	}
}

// SetNotify installs fn, called (from the publisher's goroutine, so it
// must not block) whenever changes are queued; nil removes it. An idling
// IMAP session uses it instead of a goroutine waiting on Wake.
func (s *Subscription) SetNotify(fn func()) {
	s.mu.Lock()
	s.notify = fn
	s.mu.Unlock()
}

// Pending reports whether changes are queued.
func (s *Subscription) Pending() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.queue) > 0
}

// Filter keeps only changes of mailboxID from now on (0: none at all);
// queued changes of other mailboxes are dropped.
func (s *Subscription) Filter(mailboxID int64) {
	s.mu.Lock()
	s.filterOn, s.mailbox = true, mailboxID
	if s.all {
		s.mu.Unlock()
		return
	}
	kept := s.queue[:0]
	for _, c := range s.queue {
		if c.MailboxID == mailboxID && mailboxID != 0 || c.Kind == store.ChangeACL {
			kept = append(kept, c)
		}
	}
	clear(s.queue[len(kept):])
	s.queue = kept
	s.mu.Unlock()
}

// Everything turns on (or off) queueing every change of the account,
// whatever Filter says; Filter's mailbox applies again when it is off.
// Turning it off drops queued changes Filter would not have kept.
func (s *Subscription) Everything(on bool) {
	s.mu.Lock()
	s.all = on
	mb := s.mailbox
	filterOn := s.filterOn
	s.mu.Unlock()
	if !on && filterOn {
		s.Filter(mb)
	}
}

// Wake is signalled (coalesced) whenever new changes are queued.
func (s *Subscription) Wake() <-chan struct{} { return s.wake }

// Drain returns and clears the queued changes.
func (s *Subscription) Drain() []store.Change {
	s.mu.Lock()
	q := s.queue
	s.queue = nil
	s.mu.Unlock()
	return q
}

// Watch also receives the changes accountID (another account, the
// owner of a shared mailbox the session selected) makes to the mailbox
// Filter names; 0 stops. Publish batches changes by account, so a
// sharer hears the owner's changes and the owner the sharer's.
func (s *Subscription) Watch(accountID int64) {
	if accountID == s.account {
		accountID = 0
	}
	s.bus.mu.Lock()
	defer s.bus.mu.Unlock()
	before := s.accountsLocked()
	s.mu.Lock()
	s.other = accountID
	s.mu.Unlock()
	s.bus.resync(s, before)
}

// WatchShared sets the other accounts' mailboxes whose changes the
// subscription receives while Everything is on (owner account ->
// mailbox ids): the shared mailboxes an IMAP NOTIFY session may see
// (RFC 5465 with RFC 4314). nil stops.
func (s *Subscription) WatchShared(mailboxes map[int64][]int64) {
	set := make(map[int64]map[int64]bool, len(mailboxes))
	for acct, ids := range mailboxes {
		if acct == s.account || len(ids) == 0 {
			continue
		}
		m := make(map[int64]bool, len(ids))
		for _, id := range ids {
			m[id] = true
		}
		set[acct] = m
	}
	s.bus.mu.Lock()
	defer s.bus.mu.Unlock()
	before := s.accountsLocked()
	s.mu.Lock()
	s.shared = set
	s.mu.Unlock()
	s.bus.resync(s, before)
}

// accountsLocked lists the other accounts s is registered under; b.mu
// is held.
func (s *Subscription) accountsLocked() map[int64]bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[int64]bool, 1+len(s.shared))
	if s.other != 0 {
		out[s.other] = true
	}
	for a := range s.shared {
		out[a] = true
	}
	return out
}

// resync registers s under the other accounts it now needs and takes
// it off those (of before) it no longer does; b.mu is held.
func (b *Bus) resync(s *Subscription, before map[int64]bool) {
	after := s.accountsLocked()
	for a := range before {
		if !after[a] {
			b.remove(a, s)
		}
	}
	for a := range after {
		if before[a] {
			continue
		}
		m := b.subs[a]
		if m == nil {
			m = make(map[*Subscription]struct{})
			b.subs[a] = m
		}
		m[s] = struct{}{}
	}
}

// remove takes s off accountID's subscribers; b.mu is held.
func (b *Bus) remove(accountID int64, s *Subscription) {
	if m := b.subs[accountID]; m != nil {
		delete(m, s)
		if len(m) == 0 {
			delete(b.subs, accountID)
		}
	}
}

// Close stops the subscription.
func (s *Subscription) Close() {
	s.bus.mu.Lock()
	for a := range s.accountsLocked() {
		s.bus.remove(a, s)
	}
	s.bus.remove(s.account, s)
	delete(s.bus.every, s)
	s.bus.mu.Unlock()
	s.mu.Lock()
	s.closed = true
	s.queue = nil
	s.mu.Unlock()
}

// Accounts lists the accounts with at least one subscription: the ones
// a cross-node listener (store/postgres Listen) has to watch.
func (b *Bus) Accounts() []int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make([]int64, 0, len(b.subs))
	for id := range b.subs {
		out = append(out, id)
	}
	return out
}

// Watched reports whether accountID has at least one subscription.
func (b *Bus) Watched(accountID int64) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.subs[accountID]) > 0
}
