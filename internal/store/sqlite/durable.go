package sqlite

import (
	"context"
	"errors"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"barid/internal/store"
)

// The WAL fsync, off the writer goroutine.
//
// With synchronous=FULL, SQLite fsyncs the WAL inside COMMIT, on the
// writer's connection: the one goroutine that runs every write waited
// about 2 ms per durable batch on this machine's disk, and every
// request arriving meanwhile, a flag change included, waited with it.
// In the mix benchmark that made STORE's p99 1.7× Dovecot's.
//
// Now the writer commits every batch with synchronous=NORMAL (SQLite
// writes the WAL frames, no fsync) and goes on with the next one, while
// the syncer goroutine below fdatasyncs the WAL file. One fdatasync
// covers every transaction committed before it started (group commit):
// SQLite appends frames in commit order, and after a power loss its
// recovery keeps the longest prefix of committed transactions whose
// frame checksums hold (https://www.sqlite.org/wal.html, "Durability";
// fileformat2.html §4.3), so syncing the file makes that whole prefix
// durable. Checkpoints still fsync the WAL before they copy it and the
// database file after (synchronous=NORMAL keeps that).
//
// What a client is told stays what FULL gave:
//   - A durable request (APPEND, COPY, MOVE, mailbox changes: every
//     write but Store.writeLazy's) is answered, and its changes are
//     published (Options.OnCommit), only after an fdatasync that began
//     after its COMMIT returned.
//   - Readers never hand out what such a request wrote before it is
//     durable. SQLite shows a commit to other connections as soon as it
//     returns, so the writer marks the mailboxes and accounts of a
//     durable request's changes before its COMMIT, and the read methods
//     that return UIDs, MODSEQs or counts (settle, settleAccount) wait
//     after reading until no mark on what they read is newer than the
//     last sync. A session sees its own writes at once: it was answered
//     after the sync. Only a reader of a mailbox another session is
//     writing right now waits, for at most one fdatasync.
//   - Lazy requests (flag changes, \Recent claims, expunges; see
//     writeLazy) are answered at COMMIT as before, unless an earlier
//     request of the same account still waits for its sync: then they
//     wait behind it, so each account's changes are published in
//     commit order (TestOnCommitOrder).
//
//   - A caller whose context carries a store.Gate (an IMAP session)
//     waits for none of this in the store: its durable request returns
//     at COMMIT and its settled reads at once, each recording in the
//     Gate the batch whose sync it needs (WaitDurable), and the session
//     holds everything it writes to its client until then. It runs the
//     commands its client pipelined meanwhile, so their writes share
//     one fdatasync (store.Gate; TestGateDefersWaits). Such a caller
//     publishes its changes on the bus when its call returns, before
//     the sync: the sessions that drain them call Settle with their
//     own Gates, so what they show of them waits for the sync too.
//
// A crash of the process (kill -9) loses nothing that was committed:
// the frames are in the kernel's page cache (TestKillDuringWrites).
// The syncer is Options.WALSyncer, which the server turns on by
// default ([storage] wal_sync = "syncer" since session 10). In session
// 7 it made STORE 4x faster at the median in the mix benchmark but
// reads about twice as slow, because the writer, never held by an
// fsync, commits several times as often, and every commit makes each
// reader connection drop its page cache at its next read transaction
// (docs/benchmarks.md, "Session 7"). Since then the flag index, the
// record cache and the WAL-index checks answer most reads without
// SQLite's page cache: in session 10 reads were as fast with the
// syncer as without it, and imaptest's stress mix, whose every cycle
// waits for an fsync, answered more commands (docs/benchmarks.md,
// "Session 10").

// syncer fsyncs the WAL and completes the requests that wait for it.
type syncer struct {
	s       *Store
	walPath string
	f       *os.File // the -wal file, opened at the first sync

	mu sync.Mutex
	// committed is the sequence number of the last batch the writer
	// committed (or tried to); synced the highest one an fdatasync has
	// covered.
	committed, synced uint64
	// queue holds the requests waiting for a sync, in commit order,
	// with the batch each belongs to.
	queue []queued
	// mailboxes and accounts map what a request in a batch not yet
	// covered by a sync changed to that batch's number: readers of them
	// wait (settle), lazy requests of those accounts queue behind.
	mailboxes, accounts map[int64]uint64
	// marks is len(mailboxes)+len(accounts), read without mu by the
	// readers' fast path.
	marks atomic.Int64
	// failErr is the error of the last fdatasync that failed, which
	// was to make the batches after failLo up to failHi durable
	// (WaitDurable answers it for them).
	failErr        error
	failLo, failHi uint64
	// syncedCh is closed and replaced after every sync: readers waiting
	// in settle watch it.
	syncedCh chan struct{}
	// wake asks the loop for a sync (capacity one: wake-ups while a
	// sync runs fold into the next).
	wake chan struct{}
	stop chan struct{}
	done chan struct{}

	// beforeSync, if set, runs before each fdatasync (tests hold the
	// syncer there).
	beforeSync atomic.Pointer[func()]
	// syncs counts the fdatasyncs run (tests, docs).
	syncs atomic.Int64
}

type queued struct {
	seq uint64
	r   *writeReq
}

func newSyncer(s *Store) *syncer {
	y := &syncer{
		s:         s,
		walPath:   s.path + "-wal",
		mailboxes: map[int64]uint64{},
		accounts:  map[int64]uint64{},
		syncedCh:  make(chan struct{}),
		wake:      make(chan struct{}, 1),
		stop:      make(chan struct{}),
		done:      make(chan struct{}),
	}
	go y.loop()
	return y
}

// mark records, before COMMIT, that batch seq changes what changes
// names. Called on the writer goroutine.
func (y *syncer) mark(seq uint64, changes []store.Change) {
	if len(changes) == 0 {
		return
	}
	y.mu.Lock()
	y.markLocked(seq, changes)
	y.mu.Unlock()
}

func (y *syncer) markLocked(seq uint64, changes []store.Change) {
	for i := range changes {
		c := &changes[i]
		if c.MailboxID != 0 {
			if _, ok := y.mailboxes[c.MailboxID]; !ok {
				y.marks.Add(1)
			}
			y.mailboxes[c.MailboxID] = seq
		}
		if c.AccountID != 0 {
			if _, ok := y.accounts[c.AccountID]; !ok {
				y.marks.Add(1)
			}
			y.accounts[c.AccountID] = seq
		}
	}
}

// blockedLocked reports whether a lazy request with these changes must
// wait behind a queued request of one of their accounts.
func (y *syncer) blockedLocked(changes []store.Change) bool {
	for i := range changes {
		if seq, ok := y.accounts[changes[i].AccountID]; ok && seq > y.synced {
			return true
		}
	}
	return false
}

// committedBatch is the writer's hand-over after COMMIT of batch seq
// (whether it succeeded or not: a failed COMMIT leaves marks that the
// next sync clears). Requests that are done are published and
// answered here, in order; the others wait for the sync. empty says
// the transaction wrote no page (an EXPUNGE with nothing \Deleted, a
// STORE that changed nothing): nothing of it is in the WAL, so its
// durable requests need no fsync either.
func (y *syncer) committedBatch(seq uint64, batch []*writeReq, on func([]store.Change), empty bool) {
	var now, early []*writeReq
	y.mu.Lock()
	y.committed = seq
	for _, r := range batch {
		wait := r.err == nil && ((!r.lazy && !empty) || y.blockedLocked(r.changes))
		if !wait {
			if r.err == nil && on != nil && len(r.changes) > 0 {
				on(r.changes)
			}
			now = append(now, r)
			continue
		}
		if r.lazy {
			y.markLocked(seq, r.changes)
		}
		y.queue = append(y.queue, queued{seq, r})
		if r.committed != nil {
			r.seq = seq
			early = append(early, r)
		}
	}
	pending := len(y.queue) > 0 || y.marks.Load() > 0
	y.mu.Unlock()
	for _, r := range now {
		close(r.done)
	}
	for _, r := range early {
		close(r.committed)
	}
	if pending {
		select {
		case y.wake <- struct{}{}:
		default:
		}
	}
}

func (y *syncer) loop() {
	defer close(y.done)
	for {
		select {
		case <-y.wake:
		case <-y.stop:
			// The writer has stopped: whatever it committed is synced
			// and answered before Close goes on.
			y.syncOnce()
			return
		}
		y.syncOnce()
	}
}

// syncOnce fdatasyncs the WAL if anything waits for it and completes
// what that covered.
func (y *syncer) syncOnce() {
	y.mu.Lock()
	if len(y.queue) == 0 && y.marks.Load() == 0 {
		y.mu.Unlock()
		return
	}
	target := y.committed
	y.mu.Unlock()

	if f := y.beforeSync.Load(); f != nil {
		(*f)()
	}
	start := time.Now()
	err := y.fdatasync()
	if err != nil {
		y.s.log.Error("sqlite: fdatasync of the WAL failed: writes waiting for it are answered with the error", "err", err)
	}
	y.syncs.Add(1)
	if obs := y.s.opts.ObserveCommit; obs != nil {
		obs(time.Since(start), true)
	}

	var done []*writeReq
	on := y.s.opts.OnCommit
	y.mu.Lock()
	if err != nil {
		y.failLo, y.failHi, y.failErr = y.synced, target, err
	}
	y.synced = max(y.synced, target)
	n := 0
	for _, q := range y.queue {
		if q.seq > target {
			break
		}
		n++
		if err != nil {
			q.r.err = err
		} else if on != nil && len(q.r.changes) > 0 {
			on(q.r.changes)
		}
		done = append(done, q.r)
	}
	y.queue = append(y.queue[:0], y.queue[n:]...)
	for id, seq := range y.mailboxes {
		if seq <= target {
			delete(y.mailboxes, id)
			y.marks.Add(-1)
		}
	}
	for id, seq := range y.accounts {
		if seq <= target {
			delete(y.accounts, id)
			y.marks.Add(-1)
		}
	}
	close(y.syncedCh)
	y.syncedCh = make(chan struct{})
	again := len(y.queue) > 0
	y.mu.Unlock()
	for _, r := range done {
		close(r.done)
	}
	if again {
		select {
		case y.wake <- struct{}{}:
		default:
		}
	}
}

// fdatasync syncs the -wal file. Linux syncs a file's data whatever
// descriptor asks, so the syncer's own read-only descriptor covers the
// writer's writes. The file stays the same while the store is open
// (the writer's connection keeps it; checkpoints truncate it in
// place); should it ever be replaced, it is opened again.
func (y *syncer) fdatasync() error {
	if y.f != nil {
		fi, err1 := y.f.Stat()
		pi, err2 := os.Stat(y.walPath)
		if err1 != nil || err2 != nil || !os.SameFile(fi, pi) {
			y.f.Close()
			y.f = nil
		}
	}
	if y.f == nil {
		f, err := os.Open(y.walPath)
		if err != nil {
			return err
		}
		y.f = f
	}
	for {
		err := syscall.Fdatasync(int(y.f.Fd()))
		if !errors.Is(err, syscall.EINTR) {
			return err
		}
	}
}

// close stops the loop after a last sync. Call it after the writer
// stopped.
func (y *syncer) close() {
	close(y.stop)
	<-y.done
	if y.f != nil {
		y.f.Close()
	}
}

// Durable implements store.Durability: batch seq is covered by a sync.
func (y *syncer) Durable(seq uint64) bool {
	y.mu.Lock()
	defer y.mu.Unlock()
	return y.synced >= seq && (y.failErr == nil || seq <= y.failLo || seq > y.failHi)
}

// WaitDurable implements store.Durability: it returns when a sync has
// covered batch seq, with that sync's error if it failed.
func (y *syncer) WaitDurable(seq uint64) error {
	for {
		y.mu.Lock()
		if y.failErr != nil && seq > y.failLo && seq <= y.failHi {
			err := y.failErr
			y.mu.Unlock()
			return err
		}
		if y.synced >= seq {
			y.mu.Unlock()
			return nil
		}
		ch := y.syncedCh
		y.mu.Unlock()
		select {
		case <-ch:
		case <-y.done:
			// Closed: the last sync ran (close syncs before it stops).
			y.mu.Lock()
			ok := y.synced >= seq
			y.mu.Unlock()
			if !ok {
				return ErrClosed
			}
		}
	}
}

// settle waits until no commit that changed mailboxID is visible to
// readers without being durable yet (see the top of this file). Read
// methods that return a mailbox's UIDs, MODSEQs or counts call it
// after reading, so what they return was durable before they return.
//
// A caller carrying a store.Gate does not wait: the Gate records the
// commit to wait for before the session writes to its client.
func (s *Store) settle(ctx context.Context, mailboxID int64) error {
	y := s.sync
	if y == nil || y.marks.Load() == 0 {
		return nil
	}
	return y.wait(ctx, y.mailboxes, mailboxID)
}

// Settle is settle for callers outside the store: an IMAP session
// calls it, with its Gate, for each mailbox named by the changes it
// takes from the bus. A writer carrying a Gate publishes its changes
// when its store call returns, at COMMIT, before the sync; the sessions
// that show them to their clients (EXISTS, EXPUNGE, FETCH FLAGS, NOTIFY
// STATUS) hold that output until the sync this way.
func (s *Store) Settle(ctx context.Context, mailboxID int64) error {
	return s.settle(ctx, mailboxID)
}

// settleAccount is settle for reads of an account's mailbox list.
func (s *Store) settleAccount(ctx context.Context, accountID int64) error {
	y := s.sync
	if y == nil || y.marks.Load() == 0 {
		return nil
	}
	return y.wait(ctx, y.accounts, accountID)
}

func (y *syncer) wait(ctx context.Context, m map[int64]uint64, id int64) error {
	if g := store.GateFrom(ctx); g != nil {
		y.mu.Lock()
		seq, ok := m[id]
		ok = ok && seq > y.synced
		y.mu.Unlock()
		if ok {
			g.Need(y, seq)
		}
		return nil
	}
	for {
		y.mu.Lock()
		seq, ok := m[id]
		if !ok || seq <= y.synced {
			y.mu.Unlock()
			return nil
		}
		ch := y.syncedCh
		y.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
