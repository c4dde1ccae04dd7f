package postgres

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"barid/internal/store"
)

// Publisher receives the changes other nodes made: the node's change bus
// (notify.Bus). The listener reads only for accounts it watches, the
// ones with subscribers on this node.
type Publisher interface {
	Publish(changes []store.Change)
	// Accounts lists the accounts with subscribers on this node.
	Accounts() []int64
	// Watched reports whether account has subscribers on this node.
	Watched(account int64) bool
}

// ListenOptions tunes Listen. The zero value is usable.
type ListenOptions struct {
	// Poll is the period of the slow poll that compares every watched
	// account with the database and publishes what no notification
	// announced ([storage] notify_poll). Default 30 s.
	Poll time.Duration
	// MinBackoff and MaxBackoff bound the wait between attempts to
	// re-establish the listening connection (doubling). Defaults 100 ms
	// and 10 s.
	MinBackoff, MaxBackoff time.Duration
	// OnListen, when set, is called with the listening connection's
	// backend process id each time it is established and the catch-up
	// after it is done (tests use it to kill the connection with
	// pg_terminate_backend).
	OnListen func(pid uint32)
	// Logger receives connection losses and read errors. nil: the
	// store's logger.
	Logger *slog.Logger
}

// NodeID is the id this store puts in its change notifications.
func (s *Store) NodeID() uint64 { return s.node }

// Listen is the cross-node half of the change bus: it keeps one
// dedicated connection (outside the pool) in LISTEN barid_changes and,
// for every other node's notification, reads what changed and publishes
// it to pub, so IDLE, NOTIFY and the rest hear other nodes' writes as
// they hear local ones. Notifications from this store are skipped: their
// changes were published locally by the writer.
//
// When the connection drops, Listen reconnects with back-off and then
// catches up: it compares each watched account's mailboxes (MODSEQ,
// UIDNEXT, names), subscriptions and private \Seen on other accounts'
// mailboxes with what it last knew, and the ACL version (acl_changes)
// with the last it saw, and publishes the difference: the changes, the
// private \Seen rows, a store.ChangeACL per mailbox whose ACL changed.
// The same comparison, less the private \Seen of accounts it already
// knows, runs every Poll. Listen returns when ctx is done.
func (s *Store) Listen(ctx context.Context, pub Publisher, o ListenOptions) error {
	if o.Poll <= 0 {
		o.Poll = 30 * time.Second
	}
	if o.MinBackoff <= 0 {
		o.MinBackoff = 100 * time.Millisecond
	}
	if o.MaxBackoff < o.MinBackoff {
		o.MaxBackoff = max(10*time.Second, o.MinBackoff)
	}
	if o.Logger == nil {
		o.Logger = s.log
	}
	l := &listener{s: s, pub: pub, o: o, log: o.Logger, accts: map[int64]*acctKnown{}, aclHeard: map[int64]bool{}}
	s.listening.Store(l)
	defer s.listening.CompareAndSwap(l, nil)
	return l.run(ctx)
}

// barrierWait bounds how long Barrier waits for the listener.
const barrierWait = 2 * time.Second

// Barrier returns once the change bus has published every other node's
// change that committed before the call: the listener makes one round
// trip on its listening connection (PostgreSQL sends a listening
// session the notifications of transactions committed before a query
// ahead of that query's result) and handles what came in. A session
// calls it before each command, so that a change another node
// acknowledged before the command was sent is in the command's view
// (issue #16: a STORE on node B is visible on node A right after B's
// OK; the RFC 9051 §7.5.1 rules on pending EXPUNGEs hold across
// nodes). Concurrent calls share one round trip. Without a listening
// connection (none yet, or lost and reconnecting) it returns at once:
// the catch-up after the reconnect publishes what was missed. It waits
// at most barrierWait.
func (s *Store) Barrier(ctx context.Context) { s.barrier(ctx) }

// barrier is Barrier, reporting whether the round trip was made and
// the notifications before it handled (the flag cache relies on it).
func (s *Store) barrier(ctx context.Context) bool {
	l := s.listening.Load()
	if l == nil {
		return false
	}
	w := &bwait{done: make(chan struct{})}
	l.bmu.Lock()
	if !l.up {
		l.bmu.Unlock()
		return false
	}
	l.waiters = append(l.waiters, w)
	stop := l.stopWait
	l.bmu.Unlock()
	if stop != nil {
		stop() // interrupt the wait for a notification
	}
	t := time.NewTimer(barrierWait)
	defer t.Stop()
	select {
	case <-w.done:
		return w.ok
	case <-ctx.Done():
	case <-t.C:
	}
	return false
}

// bwait is one Barrier call waiting: done is closed after the round
// trip, ok set before if it succeeded.
type bwait struct {
	done chan struct{}
	ok   bool
}

// mboxKnown is what the listener last knew of a mailbox.
type mboxKnown struct {
	name        string
	uidvalidity uint32
	// known: changes up to this MODSEQ were published on this node, or
	// predate the account's baseline. Catch-up reads from here.
	known store.ModSeq
	// done: changes up to this MODSEQ were published on this node; a
	// notification ending at or below it is skipped (it was covered by
	// a catch-up read).
	done store.ModSeq
	// uidnext: UIDs below it were announced as added (0: unknown).
	uidnext store.UID
}

// acctKnown is the listener's baseline of one watched account.
type acctKnown struct {
	mailboxes map[int64]*mboxKnown
	subs      map[string]bool
	// pvt: the account's private \Seen (store.PrivateSeenStore) on
	// each mailbox of another account, as mboxKnown's known and done
	// (a notification at or below done was covered by a catch-up read).
	pvt map[int64]*pvtKnown
}

// pvtKnown is what the listener last knew of one user's private \Seen
// on one mailbox.
type pvtKnown struct{ known, done store.ModSeq }

type listener struct {
	s     *Store
	pub   Publisher
	o     ListenOptions
	log   *slog.Logger
	accts map[int64]*acctKnown

	// The ACL changes (store.ChangeACL) up to version aclKnown were
	// published on this node or predate aclBase's baseline; aclHeard
	// holds the mailboxes whose ACL change notifications arrived since
	// the last catch-up on the current connection (their changes need
	// no replay: the connection delivers every later one too).
	aclKnown int64
	aclBase  bool
	aclHeard map[int64]bool

	// Barrier's requests: waiters are closed after the next round
	// trip; stopWait, while the listener waits for a notification,
	// interrupts that wait; up says a listening connection is
	// established.
	bmu      sync.Mutex
	waiters  []*bwait
	stopWait context.CancelFunc
	up       bool
}

// setUp records whether the listening connection is established; going
// down releases the waiting Barrier calls.
func (l *listener) setUp(up bool) {
	l.bmu.Lock()
	l.up = up
	var ws []*bwait
	if !up {
		ws, l.waiters = l.waiters, nil
	}
	l.bmu.Unlock()
	// Notifications may be missed until the next connection; and
	// entries the flag cache took meanwhile (SELECT and STATUS take them
	// without the barrier, selectcache.go) missed some: going up, the
	// cache starts afresh too.
	l.s.fc.dropAll()
	for _, w := range ws {
		close(w.done)
	}
}

// runBarrier serves the waiting Barrier calls: one round trip on the
// listening connection, then the notifications it brought in.
func (l *listener) runBarrier(ctx context.Context, conn *pgx.Conn) error {
	l.bmu.Lock()
	ws := l.waiters
	l.waiters = nil
	l.bmu.Unlock()
	ok := false
	defer func() {
		for _, w := range ws {
			w.ok = ok
			close(w.done)
		}
	}()
	qctx, cancel := context.WithTimeout(ctx, barrierWait)
	defer cancel()
	// An empty query: the cheapest round trip there is (no parse, no
	// plan); PostgreSQL still sends the pending notifications before
	// its ReadyForQuery.
	if err := conn.PgConn().Exec(qctx, "").Close(); err != nil {
		return err
	}
	ok = true
	// pgx kept the notifications that came before the result; with a
	// context already done it returns those and reads nothing more.
	dctx, dcancel := context.WithCancel(ctx)
	dcancel()
	for {
		n, _ := conn.WaitForNotification(dctx)
		if n == nil {
			return nil
		}
		l.notification(ctx, n.Payload)
	}
}

func (l *listener) run(ctx context.Context) error {
	backoff := l.o.MinBackoff
	for {
		if ctx.Err() != nil || l.s.isClosed() {
			return nil
		}
		cfg := l.s.connCfg.Copy()
		// Named, so an operator finds it in pg_stat_activity.
		cfg.RuntimeParams["application_name"] = "barid change bus"
		conn, err := pgx.ConnectConfig(ctx, cfg)
		if err == nil {
			if _, err = conn.Exec(ctx, "LISTEN "+notifyChannel); err != nil {
				conn.Close(context.Background())
			}
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			l.log.Warn("change bus: cannot listen for other nodes' changes; retrying", "err", err, "retry_in", backoff)
			select {
			case <-time.After(backoff):
			case <-ctx.Done():
				return nil
			}
			backoff = min(backoff*2, l.o.MaxBackoff)
			continue
		}
		backoff = l.o.MinBackoff
		// Whatever committed while nobody listened is found by
		// comparing with the baselines (the first time, this takes
		// them).
		l.catchUp(ctx, true)
		l.setUp(true)
		if l.o.OnListen != nil {
			l.o.OnListen(conn.PgConn().PID())
		}
		err = l.serve(ctx, conn)
		l.setUp(false)
		clear(l.aclHeard) // what comes next is not heard on a live connection
		conn.Close(context.Background())
		if ctx.Err() != nil {
			return nil
		}
		l.log.Warn("change bus: listening connection lost; reconnecting", "err", err, "retry_in", backoff)
		select {
		case <-time.After(backoff):
		case <-ctx.Done():
			return nil
		}
	}
}

// serve handles notifications until the connection fails or ctx is
// done, and polls every Poll.
func (l *listener) serve(ctx context.Context, conn *pgx.Conn) error {
	nextPoll := time.Now().Add(l.o.Poll)
	for {
		l.bmu.Lock()
		barrier := len(l.waiters) > 0
		l.bmu.Unlock()
		if barrier {
			if err := l.runBarrier(ctx, conn); err != nil {
				return err
			}
		}
		if !time.Now().Before(nextPoll) {
			// The poll is due even while Barrier calls keep coming.
			l.catchUp(ctx, false)
			nextPoll = time.Now().Add(l.o.Poll)
		}
		wctx, cancel := context.WithDeadline(ctx, nextPoll)
		l.bmu.Lock()
		if len(l.waiters) > 0 {
			l.bmu.Unlock()
			cancel()
			continue // serve them first
		}
		l.stopWait = cancel // a Barrier call stops the wait
		l.bmu.Unlock()
		n, err := conn.WaitForNotification(wctx)
		werr := wctx.Err() // before cancel: why the wait ended
		l.bmu.Lock()
		l.stopWait = nil
		l.bmu.Unlock()
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if werr == nil || conn.IsClosed() {
				return err
			}
			if !errors.Is(werr, context.DeadlineExceeded) {
				continue // woken for a Barrier (the loop's top serves it)
			}
			// The poll's deadline: the connection stays usable.
			l.catchUp(ctx, false)
			nextPoll = time.Now().Add(l.o.Poll)
			continue
		}
		l.notification(ctx, n.Payload)
	}
}

// notification decodes and applies one notification's payload.
func (l *listener) notification(ctx context.Context, payload string) {
	h, err := decodeHint(payload)
	if err != nil {
		l.log.Warn("change bus: ignoring notification", "payload", payload, "err", err)
		return
	}
	l.handle(ctx, h)
}

// handle applies one notification.
func (l *listener) handle(ctx context.Context, h hint) {
	self := h.node == l.s.node
	// The flag cache learns of every change first, its own node's too,
	// whether or not the account is watched here (flagcache.go).
	switch {
	case h.kind == hintMessages:
		l.s.fc.heard(h.mailbox, h.hi)
	case h.kind == hintResync:
		l.s.fc.dropAll()
	case h.kind == hintList && h.change.Kind == store.ChangeMailboxDeleted:
		l.s.fc.drop(h.change.MailboxID)
	}
	switch {
	case h.kind == hintList && h.change.Kind == store.ChangeACL:
		// Whose rights an ACL change touches is for each session to
		// work out: every node hears it, watched account or not.
		l.aclHeard[h.mailbox] = true
		if !self {
			l.pub.Publish([]store.Change{h.change})
		}
		return
	case h.kind == hintPrivateSeen:
		var p *pvtKnown
		if a := l.accts[h.account]; a != nil {
			if p = a.pvt[h.mailbox]; p == nil {
				p = &pvtKnown{}
				a.pvt[h.mailbox] = p
			}
		}
		if p != nil && h.hi <= p.done {
			return // a catch-up read published it already
		}
		if !self && l.pub.Watched(h.account) {
			cs, err := l.s.readPrivateSeen(ctx, h.account, h.mailbox, h.hi)
			if err != nil {
				l.log.Warn("change bus: reading private seen", "mailbox", h.mailbox, "err", err)
				return
			}
			l.pub.Publish(cs)
		}
		if p != nil {
			p.known, p.done = max(p.known, h.hi), max(p.done, h.hi)
		}
		return
	}
	if !l.pub.Watched(h.account) {
		delete(l.accts, h.account)
		return
	}
	a := l.accts[h.account]
	if a == nil {
		var err error
		if a, err = l.baseline(ctx, h.account); err != nil {
			l.log.Warn("change bus: reading account baseline", "account", h.account, "err", err)
			a = &acctKnown{mailboxes: map[int64]*mboxKnown{}, subs: map[string]bool{}, pvt: map[int64]*pvtKnown{}}
		}
		l.accts[h.account] = a
	}
	switch h.kind {
	case hintResync:
		if !self {
			l.catchUpAccount(ctx, h.account, a)
		}
	case hintList:
		// The notification carries the change: publish it as is.
		a.apply(&h.change)
		if !self {
			l.pub.Publish([]store.Change{h.change})
		}
	case hintMessages:
		m := a.mailboxes[h.mailbox]
		if m == nil {
			m = &mboxKnown{known: h.lo, done: h.lo}
			if h.ulo > 0 {
				m.uidnext = h.ulo
			}
			a.mailboxes[h.mailbox] = m
		}
		from := h.lo
		if m.known < from {
			from = m.known // missed notifications: read the gap too
		}
		if !self {
			if h.hi <= m.done {
				return // a catch-up read published it already
			}
			from = max(from, min(m.done, h.lo))
		} else if from == h.lo {
			// Our own writes were published by the writer.
			m.known, m.done = max(m.known, h.hi), max(m.done, h.hi)
			if h.uhi > 0 {
				m.uidnext = max(m.uidnext, h.uhi+1)
			}
			return
		}
		to, ulo, uhi := h.hi, h.ulo, h.uhi
		if self {
			to, ulo, uhi = h.lo, 0, 0 // only the gap before our write
		}
		cs, err := l.s.readChanges(ctx, h.account, h.mailbox, from, to, m.uidnext, ulo, uhi)
		if err != nil {
			l.log.Warn("change bus: reading changes", "mailbox", h.mailbox, "err", err)
			return // the next poll compares again
		}
		m.known, m.done = max(m.known, h.hi), max(m.done, h.hi)
		if h.uhi > 0 {
			m.uidnext = max(m.uidnext, h.uhi+1)
		}
		l.pub.Publish(cs)
	}
}

// apply records a mailbox-list or subscription change in the baseline.
func (a *acctKnown) apply(c *store.Change) {
	switch c.Kind {
	case store.ChangeMailboxCreated:
		if a.mailboxes[c.MailboxID] == nil {
			// A new mailbox starts at HIGHESTMODSEQ 1, UIDNEXT 1.
			a.mailboxes[c.MailboxID] = &mboxKnown{name: c.Name, uidvalidity: c.UIDValidity, known: 1, done: 1, uidnext: 1}
		}
	case store.ChangeMailboxDeleted:
		delete(a.mailboxes, c.MailboxID)
	case store.ChangeMailboxRenamed:
		if m := a.mailboxes[c.MailboxID]; m != nil {
			m.name = c.Name
		}
	case store.ChangeSubscribed:
		a.subs[c.Name] = true
	case store.ChangeUnsubscribed:
		delete(a.subs, c.Name)
	}
}

// mboxRow is a mailbox as catch-up reads it.
type mboxRow struct {
	id, account int64
	name        string
	uidvalidity uint32
	hms         store.ModSeq
	uidnext     store.UID
}

// acctRows is an account's state as catch-up reads it.
type acctRows struct {
	mbs  []mboxRow
	subs map[string]bool
	// pvt: the highest MODSEQ of the account's private \Seen rows per
	// mailbox; nil when not read.
	pvt map[int64]store.ModSeq
}

// readAccounts reads the mailboxes and subscriptions of the accounts
// ids, and the private \Seen maxima of those of pvtIDs, in one snapshot.
func (s *Store) readAccounts(ctx context.Context, ids, pvtIDs []int64) (map[int64]*acctRows, error) {
	out := map[int64]*acctRows{}
	get := func(id int64) *acctRows {
		a := out[id]
		if a == nil {
			a = &acctRows{subs: map[string]bool{}}
			out[id] = a
		}
		return a
	}
	err := s.readTx(ctx, func(tx pgx.Tx) error {
		clear(out)
		rows, err := tx.Query(ctx, `SELECT id, account, name, uidvalidity, highestmodseq, uidnext FROM mailboxes
			WHERE account = ANY($1)`, ids)
		if err != nil {
			return err
		}
		for rows.Next() {
			var r mboxRow
			var uv, hms, next int64
			if err := rows.Scan(&r.id, &r.account, &r.name, &uv, &hms, &next); err != nil {
				rows.Close()
				return err
			}
			r.uidvalidity, r.hms, r.uidnext = uint32(uv), store.ModSeq(hms), store.UID(next)
			a := get(r.account)
			a.mbs = append(a.mbs, r)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		rows, err = tx.Query(ctx, `SELECT account, name FROM subscriptions WHERE account = ANY($1)`, ids)
		if err != nil {
			return err
		}
		for rows.Next() {
			var acct int64
			var name string
			if err := rows.Scan(&acct, &name); err != nil {
				rows.Close()
				return err
			}
			get(acct).subs[name] = true
		}
		rows.Close()
		if err := rows.Err(); err != nil || len(pvtIDs) == 0 {
			return err
		}
		for _, id := range pvtIDs {
			get(id).pvt = map[int64]store.ModSeq{}
		}
		// From privseen_account_modseq alone.
		rows, err = tx.Query(ctx, `SELECT account, mailbox, max(modseq) FROM privseen WHERE account = ANY($1)
			GROUP BY account, mailbox`, pvtIDs)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var acct, mb, ms int64
			if err := rows.Scan(&acct, &mb, &ms); err != nil {
				return err
			}
			get(acct).pvt[mb] = store.ModSeq(ms)
		}
		return rows.Err()
	})
	return out, err
}

// baseline reads an account's current state, publishing nothing.
func (l *listener) baseline(ctx context.Context, account int64) (*acctKnown, error) {
	rs, err := l.s.readAccounts(ctx, []int64{account}, []int64{account})
	if err != nil {
		return nil, err
	}
	return newBaseline(rs[account]), nil
}

// newBaseline is the baseline of an account whose state r was read
// with its private \Seen maxima (r may be nil: nothing found).
func newBaseline(r *acctRows) *acctKnown {
	if r == nil {
		r = &acctRows{}
	}
	a := &acctKnown{mailboxes: make(map[int64]*mboxKnown, len(r.mbs)), subs: r.subs, pvt: make(map[int64]*pvtKnown, len(r.pvt))}
	if a.subs == nil {
		a.subs = map[string]bool{}
	}
	for _, m := range r.mbs {
		a.mailboxes[m.id] = &mboxKnown{name: m.name, uidvalidity: m.uidvalidity, known: m.hms, uidnext: m.uidnext}
	}
	for mb, ms := range r.pvt {
		a.pvt[mb] = &pvtKnown{known: ms}
	}
	return a
}

// catchUp compares every watched account with the database, publishes
// the differences, and drops the baselines of accounts no longer
// watched; it replays the ACL changes it finds (catchUpACL). After a
// reconnect (full) it compares the private \Seen of every watched
// account too; the periodic poll reads those only for the accounts it
// takes a baseline of, as a live connection delivers every private
// \Seen notification (they are O(messages) to compare, the rest
// O(mailboxes)).
func (l *listener) catchUp(ctx context.Context, full bool) {
	l.catchUpACL(ctx)
	ids := l.pub.Accounts()
	watched := make(map[int64]bool, len(ids))
	for _, id := range ids {
		watched[id] = true
	}
	for id := range l.accts {
		if !watched[id] {
			delete(l.accts, id)
		}
	}
	if len(ids) == 0 {
		return
	}
	slices.Sort(ids)
	var pvtIDs []int64
	for _, id := range ids {
		if full || l.accts[id] == nil {
			pvtIDs = append(pvtIDs, id)
		}
	}
	rs, err := l.s.readAccounts(ctx, ids, pvtIDs)
	if err != nil {
		l.log.Warn("change bus: catch-up read", "err", err)
		return
	}
	for _, id := range ids {
		a := l.accts[id]
		if a == nil {
			l.accts[id] = newBaseline(rs[id])
			continue
		}
		l.compare(ctx, id, a, rs[id])
	}
}

// catchUpAccount is catchUp for one account (a resync notification).
func (l *listener) catchUpAccount(ctx context.Context, account int64, a *acctKnown) {
	rs, err := l.s.readAccounts(ctx, []int64{account}, nil)
	if err != nil {
		l.log.Warn("change bus: catch-up read", "account", account, "err", err)
		return
	}
	l.compare(ctx, account, a, rs[account])
}

// catchUpACL publishes a store.ChangeACL for every mailbox whose ACL
// changed since the last catch-up (acl_changes, stamped by every ACL
// write in version order) and whose notification this connection did
// not deliver; the first call takes the baseline.
func (l *listener) catchUpACL(ctx context.Context) {
	v, cs, err := l.s.readACLChanges(ctx, l.aclKnown, l.aclBase)
	if err != nil {
		l.log.Warn("change bus: catch-up read of ACL changes", "err", err)
		return
	}
	var out []store.Change
	for _, c := range cs {
		if !l.aclHeard[c.MailboxID] {
			out = append(out, c)
		}
	}
	clear(l.aclHeard)
	l.aclKnown, l.aclBase = v, true
	if len(out) > 0 {
		l.pub.Publish(out)
	}
}

// readACLChanges returns the current ACL version and, when since is
// set (a baseline exists), a store.ChangeACL for each mailbox whose ACL
// changed after version from, in one snapshot: the version's row lock
// makes every version up to the one read visible in it.
func (s *Store) readACLChanges(ctx context.Context, from int64, since bool) (int64, []store.Change, error) {
	var v int64
	var out []store.Change
	err := s.readTx(ctx, func(tx pgx.Tx) error {
		out = out[:0]
		err := tx.QueryRow(ctx, `SELECT value FROM meta WHERE key = 'aclversion'`).Scan(&v)
		if errors.Is(err, pgx.ErrNoRows) {
			v = 0
			return nil
		}
		if err != nil || !since || v <= from {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT c.mailbox, m.account, m.name FROM acl_changes c JOIN mailboxes m ON m.id = c.mailbox
			WHERE c.version > $1 AND c.version <= $2 ORDER BY c.mailbox`, from, v)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			c := store.Change{Kind: store.ChangeACL}
			if err := rows.Scan(&c.MailboxID, &c.AccountID, &c.Name); err != nil {
				return err
			}
			out = append(out, c)
		}
		return rows.Err()
	})
	return v, out, err
}

// compare publishes what differs between the baseline a and the
// database's rows, and updates a.
func (l *listener) compare(ctx context.Context, account int64, a *acctKnown, r *acctRows) {
	if r == nil {
		r = &acctRows{}
	}
	rows, subs, pvt := r.mbs, r.subs, r.pvt
	var out []store.Change
	cur := make(map[int64]bool, len(rows))
	for _, r := range rows {
		cur[r.id] = true
	}
	for id, m := range a.mailboxes {
		if !cur[id] {
			out = append(out, store.Change{Kind: store.ChangeMailboxDeleted, AccountID: account, MailboxID: id,
				Name: m.name, UIDValidity: m.uidvalidity})
			delete(a.mailboxes, id)
		}
	}
	for _, r := range rows {
		m := a.mailboxes[r.id]
		switch {
		case m == nil:
			out = append(out, store.Change{Kind: store.ChangeMailboxCreated, AccountID: account, MailboxID: r.id,
				Name: r.name, UIDValidity: r.uidvalidity})
			m = &mboxKnown{name: r.name, uidvalidity: r.uidvalidity, known: 1, done: 1, uidnext: 1}
			a.mailboxes[r.id] = m
		case m.name != r.name:
			out = append(out, store.Change{Kind: store.ChangeMailboxRenamed, AccountID: account, MailboxID: r.id,
				Name: r.name, OldName: m.name, UIDValidity: r.uidvalidity})
			m.name = r.name
		}
		if r.hms > m.known || r.uidnext > max(m.uidnext, 1) {
			from := min(m.known, r.hms)
			u := m.uidnext
			cs, err := l.s.readChanges(ctx, account, r.id, from, r.hms, u, max(u, 1), r.uidnext-1)
			if err != nil {
				l.log.Warn("change bus: catch-up read", "mailbox", r.id, "err", err)
				continue
			}
			out = append(out, cs...)
			m.known, m.done = max(m.known, r.hms), max(m.done, r.hms)
			m.uidnext = max(m.uidnext, r.uidnext)
		}
	}
	byName := make(map[string]int64, len(rows))
	for _, r := range rows {
		byName[r.name] = r.id
	}
	for name := range a.subs {
		if !subs[name] {
			out = append(out, store.Change{Kind: store.ChangeUnsubscribed, AccountID: account, MailboxID: byName[name], Name: name})
			delete(a.subs, name)
		}
	}
	for name := range subs {
		if !a.subs[name] {
			out = append(out, store.Change{Kind: store.ChangeSubscribed, AccountID: account, MailboxID: byName[name], Name: name})
			a.subs[name] = true
		}
	}
	// The account's private \Seen on other accounts' mailboxes (when
	// read): the rows above what was published.
	for mb, hi := range pvt {
		p := a.pvt[mb]
		if p == nil {
			p = &pvtKnown{} // rows since the baseline: all new
			a.pvt[mb] = p
		}
		if hi <= p.known {
			continue
		}
		cs, err := l.s.readPrivateSeenSince(ctx, account, mb, p.known)
		if err != nil {
			l.log.Warn("change bus: catch-up read of private seen", "mailbox", mb, "err", err)
			continue
		}
		out = append(out, cs...)
		p.known, p.done = max(p.known, hi), max(p.done, hi)
	}
	l.pub.Publish(out)
}

// readChanges reads, in one snapshot, the changes of mailboxID with a
// MODSEQ in (from, to] and the messages added with UIDs ulo..uhi
// (ulo 0: none). A message at or above knownNext (UIDs this node has not
// announced; 0: unknown) that was found only through its MODSEQ is
// reported as added and as changed, since the notification of its
// arrival was missed.
func (s *Store) readChanges(ctx context.Context, account, mailboxID int64, from, to store.ModSeq, knownNext, ulo, uhi store.UID) ([]store.Change, error) {
	var out []store.Change
	if ulo == 0 {
		uhi = 0
	}
	err := s.readTx(ctx, func(tx pgx.Tx) error {
		out = out[:0]
		rows, err := tx.Query(ctx, `SELECT uid, modseq, sysflags, keywords, size FROM msgflags
			WHERE mailbox = $1 AND ((modseq > $2 AND modseq <= $3) OR (uid >= $4 AND uid <= $5)) ORDER BY uid`,
			mailboxID, int64(from), int64(to), int64(ulo), int64(uhi))
		if err != nil {
			return err
		}
		for rows.Next() {
			var uid, modseq, size int64
			var sys int32
			var kw string
			if err := rows.Scan(&uid, &modseq, &sys, &kw, &size); err != nil {
				rows.Close()
				return err
			}
			c := store.Change{AccountID: account, MailboxID: mailboxID, UID: store.UID(uid), ModSeq: store.ModSeq(modseq),
				Flags: store.Flags{System: store.SysFlags(sys), Keywords: decodeKeywords(kw)}}
			inAdds := ulo > 0 && c.UID >= ulo && c.UID <= uhi
			inRange := c.ModSeq > from && c.ModSeq <= to
			switch {
			case inAdds:
				c.Kind, c.Size = store.ChangeAdded, size
				out = append(out, c)
			case inRange && c.UID >= knownNext:
				c.Kind, c.Size = store.ChangeAdded, size
				out = append(out, c)
				c.Kind, c.Size = store.ChangeFlags, 0
				out = append(out, c)
			case inRange:
				c.Kind = store.ChangeFlags
				out = append(out, c)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		rows, err = tx.Query(ctx, `SELECT uid, modseq FROM expunged WHERE mailbox = $1 AND modseq > $2 AND modseq <= $3 ORDER BY uid`,
			mailboxID, int64(from), int64(to))
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var uid, modseq int64
			if err := rows.Scan(&uid, &modseq); err != nil {
				return err
			}
			out = append(out, store.Change{Kind: store.ChangeExpunged, AccountID: account, MailboxID: mailboxID,
				UID: store.UID(uid), ModSeq: store.ModSeq(modseq)})
		}
		return rows.Err()
	})
	return out, err
}

// readPrivateSeenSince reads account's private \Seen rows on mailboxID
// changed after from (a catch-up), each as store.ChangePrivateSeen with
// its own MODSEQ.
func (s *Store) readPrivateSeenSince(ctx context.Context, account, mailboxID int64, from store.ModSeq) ([]store.Change, error) {
	return s.readPrivateSeenWhere(ctx, account, mailboxID, ">", from)
}

// readPrivateSeen reads the private \Seen rows account's write at modseq
// left on mailboxID (a hintPrivateSeen) as store.ChangePrivateSeen. A
// row changed again since has a later modseq and its own hint.
func (s *Store) readPrivateSeen(ctx context.Context, account, mailboxID int64, modseq store.ModSeq) ([]store.Change, error) {
	return s.readPrivateSeenWhere(ctx, account, mailboxID, "=", modseq)
}

// readPrivateSeenWhere reads account's private \Seen rows on mailboxID
// whose modseq compares with op ("=" or ">") to modseq, in UID order.
func (s *Store) readPrivateSeenWhere(ctx context.Context, account, mailboxID int64, op string, modseq store.ModSeq) ([]store.Change, error) {
	rows, err := s.query(ctx, `SELECT uid, seen, modseq FROM privseen WHERE account = $1 AND mailbox = $2 AND modseq `+op+` $3 ORDER BY uid`,
		account, mailboxID, int64(modseq))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.Change
	for rows.Next() {
		var uid, ms int64
		var seen bool
		if err := rows.Scan(&uid, &seen, &ms); err != nil {
			return nil, err
		}
		c := store.Change{Kind: store.ChangePrivateSeen, AccountID: account, MailboxID: mailboxID, UID: store.UID(uid), ModSeq: store.ModSeq(ms)}
		if seen {
			c.Flags.System = store.FlagSeen
		}
		out = append(out, c)
	}
	return out, rows.Err()
}
