package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"barid/internal/store"
)

// SQLite allows one writer at a time. Rather than let connections fight
// over the lock (and hand SQLITE_BUSY to clients), every write goes
// through one goroutine that owns the only read-write connection.
//
// Group commit: while the writer is busy, new requests wait on an
// unbuffered channel. When it comes back it takes all waiting requests
// (up to Options.MaxBatch) and runs them in one transaction, each inside
// its own SAVEPOINT so one request's failure does not undo the others.
// The transaction commits with synchronous=NORMAL and the syncer
// (durable.go) fsyncs the WAL on its own goroutine: a durable request's
// caller gets its result after the fsync that covers its COMMIT, a lazy
// one's at COMMIT. Without Options.WALSyncer ([storage] wal_sync =
// "commit") the writer commits durable batches with synchronous=FULL
// itself.

type writeReq struct {
	ctx context.Context
	// lazy: the request may commit without an fsync of its own (flag
	// changes, \Recent claims, subscriptions); see Options.SyncIndex.
	lazy bool
	// background: work the store does for itself (the full-text
	// indexer), committed after the clients' requests gathered with it.
	background bool
	fn         func(w *wtx) error
	err        error
	changes    []store.Change // emitted by fn, handed to Options.OnCommit
	done       chan struct{}
	// kw are keyword spellings fn read or registered, known to later
	// transactions once this one commits; kwForget drops what is known
	// (knownkw.go).
	kw       []kwFact
	kwForget bool
	// committed, when the caller carries a store.Gate and the syncer
	// runs, is closed when the request is committed and waits for its
	// sync (durable.go), seq being its batch: the caller returns then
	// and its Gate waits for the sync.
	committed chan struct{}
	seq       uint64
}

// write runs fn in the writer's transaction and returns after COMMIT.
// fn must keep all its effects in the database (or in variables it
// captures that the caller reads only after write returns without error):
// if a later step fails, the transaction is rolled back.
func (s *Store) write(ctx context.Context, fn func(w *wtx) error) error {
	return s.writeReq(&writeReq{ctx: ctx, fn: fn, done: make(chan struct{})})
}

// writeLazy is write for changes that need not be fsynced before the
// caller is answered: unless Options.SyncIndex is set, a batch made only
// of them commits with synchronous=NORMAL. In WAL mode such a commit
// survives a crash of barid but may be lost if the machine loses power
// before the next fsynced commit or checkpoint, which syncs the WAL
// (and so every earlier commit) too. Dovecot's default, mail_fsync =
// optimized, treats its index (flags, expunges) the same way, and so
// does barid (expunges too: Expunge); arrivals (APPEND, COPY, MOVE,
// delivery) and mailbox changes stay fully synchronous. Flush makes the
// lazy commits made so far durable.
func (s *Store) writeLazy(ctx context.Context, fn func(w *wtx) error) error {
	return s.writeReq(&writeReq{ctx: ctx, fn: fn, done: make(chan struct{}), lazy: !s.opts.SyncIndex})
}

// writeBackground is writeLazy for the store's own background work
// (full-text indexing, its purge): in a batch it commits after the
// clients' requests, in a transaction of its own, so a client's write
// gathered with it does not wait for it.
func (s *Store) writeBackground(ctx context.Context, fn func(w *wtx) error) error {
	return s.writeReq(&writeReq{ctx: ctx, fn: fn, done: make(chan struct{}), lazy: !s.opts.SyncIndex, background: true})
}

func (s *Store) writeReq(r *writeReq) error {
	ctx := r.ctx
	var g *store.Gate
	if s.sync != nil {
		if g = store.GateFrom(ctx); g != nil {
			r.committed = make(chan struct{})
		}
	}
	select {
	case s.reqs <- r:
	case <-ctx.Done():
		return ctx.Err()
	case <-s.quit:
		return ErrClosed
	}
	// Once accepted, wait for the outcome even if ctx ends: the write may
	// commit, and the caller must learn of it (to publish its changes).
	if g != nil {
		select {
		case <-r.done:
		case <-r.committed:
			// Committed without error, not yet durable: the caller's
			// Gate holds its answer until the sync (store.Gate).
			g.Need(s.sync, r.seq)
			return nil
		}
	} else {
		<-r.done
	}
	return r.err
}

type writer struct {
	s     *Store
	conn  *sql.Conn
	stmts map[string]*sql.Stmt
	// normal is true while the connection runs with synchronous=NORMAL.
	normal bool
	// seq numbers the batches (the syncer's sequence).
	seq uint64
	// dataVersion is the pager's data version after the writer's last
	// commit, valid while dvKnown (knownkw.go).
	dataVersion uint32
	dvKnown     bool
	// kwDefined: the open transaction defined a keyword
	// (keywordCache.canonical); run tells selKeywords after COMMIT.
	kwDefined bool
	// chainBreak: the open transaction changed what the in-memory
	// copies hold without a change they follow (ownChain, walstamp.go).
	chainBreak bool
	// hooked: the pre-update hook records in boxTouched the mailbox
	// rows the open transaction changes (mboxrows.go).
	hooked     bool
	boxTouched map[int64]bool
	// dirTouched: the open transaction wrote accounts, aliases or
	// sieve_scripts (dircache.go).
	dirTouched bool
}

// WriterStats counts the writer's work since Open.
type WriterStats struct {
	Requests int64 // write requests executed
	Batches  int64 // transactions committed or rolled back
	// FullCommits counts the COMMITs run with synchronous=FULL: the WAL
	// fsync inside COMMIT, on the writer (without Options.WALSyncer).
	FullCommits int64
	// WALSyncs counts the syncer's fdatasyncs of the WAL (with
	// Options.WALSyncer; durable.go). Either counter over the requests
	// is the WAL fsyncs per write that clients wait for (checkpoints
	// fsync too, on their own goroutine: checkpoint.go).
	WALSyncs int64
}

// Stats returns the group-commit counters: Requests/Batches is the mean
// number of requests sharing one transaction (and one fsync).
func (s *Store) Stats() WriterStats {
	st := WriterStats{Requests: s.nreq.Load(), Batches: s.nbatch.Load(), FullCommits: s.nfull.Load()}
	if s.sync != nil {
		st.WALSyncs = s.sync.syncs.Load()
	}
	return st
}

func (w *writer) loop() {
	defer close(w.s.done)
	defer func() {
		for _, st := range w.stmts {
			st.Close()
		}
	}()
	batch := make([]*writeReq, 0, w.s.opts.MaxBatch)
	var first, rest []*writeReq // runSplit's scratch
	for {
		batch = batch[:0]
		select {
		case r := <-w.s.reqs:
			batch = append(batch, r)
		case <-w.s.quit:
			return
		}
	gather:
		for len(batch) < w.s.opts.MaxBatch {
			select {
			case r := <-w.s.reqs:
				batch = append(batch, r)
			default:
				break gather
			}
		}
		if w.s.sync != nil {
			// One transaction for the clients' requests: none waits for
			// an fsync on this goroutine (durable.go). Background work
			// commits after them, in a transaction of its own.
			first, rest = w.runSplit(batch, first, rest, func(r *writeReq) bool { return !r.background })
			continue
		}
		// Without the syncer: lazy requests (flag changes) commit first, in a
		// batch of their own without an fsync, so they never wait for the
		// fsync of the durable ones gathered with them: STORE's latency in
		// the mix benchmark was mostly other clients' APPEND fsyncs.
		// Requests waiting together come from different sessions (a
		// session waits for each of its writes), so their relative order
		// is free.
		first, rest = w.runSplit(batch, first, rest, func(r *writeReq) bool { return r.lazy })
	}
}

// runSplit runs the requests of batch for which isFirst holds in one
// transaction, then the others in another (an empty part runs none). It
// gathers them in the scratch slices first and rest, returned for reuse.
func (w *writer) runSplit(batch, first, rest []*writeReq, isFirst func(*writeReq) bool) ([]*writeReq, []*writeReq) {
	first, rest = first[:0], rest[:0]
	for _, r := range batch {
		if isFirst(r) {
			first = append(first, r)
		} else {
			rest = append(rest, r)
		}
	}
	if len(first) > 0 {
		w.run(first)
	}
	if len(rest) > 0 {
		w.run(rest)
	}
	return first, rest
}

// ctx is the writer's own context: a caller cancelling its request after
// the writer took it must not abort a transaction shared with others.
func (w *writer) ctx() context.Context { return context.Background() }

// exec runs a transaction-control statement (BEGIN, COMMIT, SAVEPOINT,
// PRAGMA synchronous), prepared once like the requests' statements.
func (w *writer) exec(q string) error {
	st, err := w.stmt(q)
	if err != nil {
		return err
	}
	_, err = st.ExecContext(w.ctx())
	return err
}

func (w *writer) run(batch []*writeReq) {
	start := time.Now()
	w.s.nbatch.Add(1)
	w.s.nreq.Add(int64(len(batch)))
	finish := func(err error) {
		for _, r := range batch {
			if r.err == nil {
				r.err = err
			}
			close(r.done)
		}
	}
	lazy := true
	for _, r := range batch {
		lazy = lazy && r.lazy
	}
	if w.s.sync != nil {
		lazy = true // the connection always runs with NORMAL: durable.go
	}
	if lazy != w.normal {
		mode := "PRAGMA synchronous=FULL"
		if lazy {
			mode = "PRAGMA synchronous=NORMAL"
		}
		if err := w.exec(mode); err != nil {
			w.s.log.Error("sqlite: "+mode, "err", err)
			finish(err)
			return
		}
		w.normal = lazy
	}
	// Until this batch commits, the data version after it is unknown
	// (knownkw.go).
	dvKnown := w.dvKnown
	w.dvKnown = false
	if err := w.exec("BEGIN IMMEDIATE"); err != nil {
		w.s.log.Error("sqlite: begin", "err", err)
		finish(err)
		return
	}
	// With the write lock held nobody else can commit until COMMIT:
	// the header now is the one this batch's commit follows (ownChain).
	before := w.s.wal.stamp()
	w.s.chain.begin(before)
	w.chainBreak = false
	w.dirTouched = false
	clear(w.boxTouched)
	// Whatever way the transaction ends, a keyword it defined makes the
	// keywords SELECT remembers old (selectsnap.go). A committed one is
	// told at once after COMMIT, before any caller of the batch returns.
	defer func() {
		if w.kwDefined {
			w.kwDefined = false
			w.s.selkw.defined()
		}
	}()
	t := &wtx{w: w, dvKnown: dvKnown}
	ok := 0
	for _, r := range batch {
		if err := r.ctx.Err(); err != nil {
			r.err = err
			continue
		}
		t.req = r
		if len(batch) == 1 {
			r.err = r.fn(t)
			if r.err == nil {
				ok++
			}
			continue
		}
		if err := w.exec("SAVEPOINT req"); err != nil {
			r.err = err
			continue
		}
		if err := r.fn(t); err != nil {
			r.err = err
			r.changes = nil
			if rerr := w.exec("ROLLBACK TO req"); rerr != nil {
				// The transaction is in an unknown state: abandon it all.
				w.s.log.Error("sqlite: rollback to savepoint", "err", rerr)
				w.exec("ROLLBACK") //nolint:errcheck
				finish(rerr)
				return
			}
		} else {
			ok++
		}
		if err := w.exec("RELEASE req"); err != nil {
			w.exec("ROLLBACK") //nolint:errcheck
			finish(err)
			return
		}
	}
	if ok == 0 {
		w.exec("ROLLBACK") //nolint:errcheck
		finish(nil)
		return
	}
	w.seq++
	if y := w.s.sync; y != nil {
		// Mark before COMMIT: readers can see the commit as soon as it
		// returns, before the syncer made it durable.
		for _, r := range batch {
			if r.err == nil && !r.lazy {
				y.mark(w.seq, r.changes)
			}
		}
	}
	// The mailbox rows this batch changed, as they will be once it
	// commits, read on the writer's own connection (mboxrows.go).
	var boxRows map[int64]*boxRow
	if w.hooked && !w.chainBreak {
		var ok bool
		if boxRows, ok = w.readTouched(); !ok {
			w.chainBreak = true
		}
	}
	commitStart := time.Now()
	if err := w.exec("COMMIT"); err != nil {
		w.s.log.Error("sqlite: commit", "err", err, "batch", len(batch))
		w.exec("ROLLBACK") //nolint:errcheck
		w.s.chain.broken()
		if y := w.s.sync; y != nil {
			y.committedBatch(w.seq, nil, nil, true) // clears the marks
		}
		finish(err)
		return
	}
	if w.kwDefined {
		w.kwDefined = false
		w.s.selkw.defined()
	}
	if !lazy {
		w.s.nfull.Add(1)
	}
	if obs := w.s.opts.ObserveCommit; obs != nil {
		// With the syncer the WAL fsync is not in COMMIT: the syncer
		// reports its own durations (durable.go).
		obs(time.Since(commitStart), !lazy && w.s.sync == nil)
	}
	w.s.keywordsCommitted(t, batch)
	wrote := w.s.ckpt.committed(w.conn)
	if d := time.Since(start); d > time.Second {
		w.s.log.Warn("sqlite: slow write batch", "batch", len(batch), "duration", d)
	}
	// The flag index follows the database in commit order, before any
	// caller of this batch returns (flagindex.go).
	if x := w.s.index; x != nil {
		for _, r := range batch {
			if r.err == nil && len(r.changes) > 0 {
				x.apply(r.changes)
			}
		}
	}
	if !w.chainBreak && len(boxRows) > 0 {
		w.s.boxes.install(w.s.chain.generation(), boxRows)
	}
	if w.dirTouched {
		// After COMMIT, before the chain takes this commit as the
		// writer's own and before any caller returns (dircache.go).
		w.s.dirEpoch.Add(1)
	}
	// Only now, with the index and the mailbox rows following this
	// commit, may a reader take the header after it as the writer's own
	// (ownChain).
	if w.chainBreak {
		w.s.chain.broken()
	} else {
		w.s.chain.committed(before, w.s.wal.stamp())
	}
	if y := w.s.sync; y != nil {
		// The syncer publishes and answers, in commit order per account.
		y.committedBatch(w.seq, batch, w.s.opts.OnCommit, wrote == 0)
		return
	}
	// Publish in commit order, before any caller of this batch returns:
	// changes reach the bus in exactly the order the database applied them.
	if on := w.s.opts.OnCommit; on != nil {
		for _, r := range batch {
			if r.err == nil && len(r.changes) > 0 {
				on(r.changes)
			}
		}
	}
	finish(nil)
}

// wtx is what a write request sees: the writer connection inside the
// open transaction, with a prepared-statement cache.
type wtx struct {
	w   *writer
	req *writeReq
	// kwChecked: this transaction has compared the data version
	// (knownKeyword); dvKnown: the writer knew it when the batch began.
	kwChecked bool
	dvKnown   bool
}

// emit records changes the current request made, for Options.OnCommit.
// They are dropped if the request fails.
func (t *wtx) emit(ch []store.Change) {
	t.req.changes = append(t.req.changes, ch...)
}

// stmt returns q prepared on the writer's connection, once.
func (w *writer) stmt(q string) (*sql.Stmt, error) {
	if st, ok := w.stmts[q]; ok {
		return st, nil
	}
	st, err := w.conn.PrepareContext(w.ctx(), q)
	if err != nil {
		return nil, err
	}
	w.stmts[q] = st
	return st, nil
}

func (t *wtx) exec(q string, args ...any) (sql.Result, error) {
	st, err := t.w.stmt(q)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(t.w.ctx(), args...)
}

// execN runs q and returns the number of rows it changed.
func (t *wtx) execN(q string, args ...any) (int64, error) {
	res, err := t.exec(q, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func (t *wtx) query(q string, args ...any) (*sql.Rows, error) {
	st, err := t.w.stmt(q)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(t.w.ctx(), args...)
}

func (t *wtx) queryRow(q string, args ...any) *row {
	st, err := t.w.stmt(q)
	if err != nil {
		return &row{err: err}
	}
	return &row{r: st.QueryRowContext(t.w.ctx(), args...)}
}

// errNoRows reports whether err is sql.ErrNoRows.
func errNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }
