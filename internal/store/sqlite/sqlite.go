package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"barid/internal/store"
)

// Options tunes a Store. The zero value is usable.
type Options struct {
	// SyncIndex fsyncs flag changes, \Recent claims, subscription
	// changes and expunges (EXPUNGE, CLOSE; not MOVE, whose transaction
	// is also an arrival) before answering, like appends. Off by
	// default: those commits are durable against a crash of barid at
	// once and against power loss with the next fsynced commit (see
	// writeLazy); Flush makes them durable at once.
	SyncIndex bool
	// WALSyncer moves the WAL fsync off the writer goroutine: the writer
	// commits with synchronous=NORMAL and a syncer fdatasyncs the WAL,
	// answering each durable write after the fsync that covers it
	// (durable.go; [storage] wal_sync = "syncer", the server's default).
	// Without it the writer commits durable batches with
	// synchronous=FULL ([storage] wal_sync = "commit").
	WALSyncer bool
	// BeforeSync, if set with WALSyncer, runs on the syncer before each
	// fdatasync: tests of other packages hold the sync there.
	BeforeSync func()
	// BusyTimeout is how long a connection waits for a lock held by
	// another process (e.g. the admin CLI writing while the server runs)
	// before SQLite reports SQLITE_BUSY. Default 10s.
	BusyTimeout time.Duration
	// CacheSizeKB is the page cache of each connection in KiB.
	// Default 16384 (16 MiB) for the writer, a quarter of it per reader.
	CacheSizeKB int
	// Readers is the size of the read-only connection pool.
	// Default max(4, 2*GOMAXPROCS).
	Readers int
	// MaxBatch is the most write requests the writer folds into one
	// transaction (group commit). Default 128.
	MaxBatch int
	// Logger receives warnings (failed commits, slow batches). Default
	// slog.Default() is NOT used: a nil Logger discards.
	Logger *slog.Logger
	// Now is the clock used for created, savedate and UIDVALIDITY.
	// Default time.Now.
	Now func() time.Time
	// OnCommit, if set, receives the changes of every successful write
	// request, called on the writer goroutine right after COMMIT, in
	// commit order, before the request's caller returns. Wire it to
	// notify.Bus.Publish so that subscribers see each mailbox's changes
	// in UID and modseq order; callers racing to publish after their
	// method returns cannot guarantee that once group commit finishes
	// several requests together. It must not block and must not call
	// the store. The caller still gets the same changes as return values.
	OnCommit func(changes []store.Change)
	// MmapSizeMB is how much of the database file each bulk reader
	// maps (PRAGMA mmap_size). Default 2048; negative turns mapping off.
	MmapSizeMB int
	// BulkReaders is the size of the pool of memory-mapped readers used
	// for scans. Default GOMAXPROCS+1 (SEARCH BODY's workers plus the
	// loader), at least 3.
	BulkReaders int
	// FlagIndexEntries caps the in-memory flag index (flagindex.go), in
	// messages across all mailboxes (about 28 bytes each). Default
	// 2,000,000; negative disables the index.
	FlagIndexEntries int
	// FlagIndexMin is the size from which a mailbox is indexed: smaller
	// ones are answered from SQLite. Default 1: every mailbox in use is
	// indexed (in the mix benchmark, indexing the 300-message INBOXes
	// raised throughput by 14%: SELECT and STORE read flags without a
	// msgflags scan).
	FlagIndexMin int
	// RecordCacheBytes bounds the record cache (metacache.go): the
	// envelopes, MIME structures and basics of recently read messages.
	// Default 64 MiB; negative turns it off.
	RecordCacheBytes int
	// ObserveCommit, if set, receives the duration of every COMMIT the
	// writer runs and whether it was durable (synchronous=FULL: the WAL
	// fsync is in it) or a lazy flag batch (synchronous=NORMAL); with
	// WALSyncer every COMMIT is reported as not durable and each of the
	// syncer's fdatasyncs as durable. It is called on the writer (and
	// syncer) goroutine, so it must be safe for concurrent use and must
	// not block (the metrics histogram, stats.go).
	ObserveCommit func(d time.Duration, durable bool)
	// VocabTerms is the most words of the full-text vocabulary one piece
	// of a SEARCH BODY/TEXT needle may stand for ([storage]
	// fts_vocab_terms; ftsvocab.go): a needle inside more words than
	// that is looked up by its trigrams and verified instead. Default
	// DefaultVocabTerms; negative never uses the vocabulary.
	VocabTerms int
	// DocMapEntries bounds the in-memory copies of fts_where kept for
	// mailboxes whose full-text lookups hit many documents, in (document,
	// UID) pairs over all mailboxes, about 12 bytes each ([storage]
	// fts_docmap_entries; ftsdocmap.go). Default DefaultDocMapEntries;
	// negative turns them off (every lookup maps its documents in SQL).
	DocMapEntries int
	// DocMapMinHits is how many index documents a lookup must hit
	// before it uses (and loads) the mailbox's map; fewer are mapped in
	// SQL. Default DefaultDocMapMinHits.
	DocMapMinHits int
}

// ErrClosed is returned by methods called after Close.
var ErrClosed = errors.New("sqlite store closed")

// Store is the SQLite implementation of store.Store.
type Store struct {
	path   string
	opts   Options
	log    *slog.Logger
	now    func() time.Time
	wdb    *sql.DB // exactly one connection, owned by the writer goroutine
	wconn  *sql.Conn
	rdb    *sql.DB // read-only pool
	reqs   chan *writeReq
	quit   chan struct{}
	done   chan struct{}
	closed sync.Once
	nreq   atomic.Int64
	nbatch atomic.Int64
	nfull  atomic.Int64 // COMMITs with synchronous=FULL (WriterStats)
	cerr   error

	// ckpt runs the WAL checkpoints off the writer (checkpoint.go).
	ckpt *checkpointer
	// sync fsyncs the WAL off the writer (durable.go); nil with
	// !Options.WALSyncer.
	sync *syncer

	// index is the in-memory flag index of large mailboxes.
	index *flagIndex
	// kwKnown: keyword spellings committed per mailbox (knownkw.go).
	kwKnown store.KnownKeywords
	// selkw: the keywords of recently SELECTed mailboxes (selectsnap.go).
	selkw selKeywords
	// recs caches immutable message records beside the index (nil: off).
	recs *recCache
	// vocab: words known to be in the full-text vocabulary (ftsvocab.go).
	vocab vocabSeen
	// wide: the vocabulary's non-ASCII terms for FUZZY (ftsfuzzy.go).
	wide wideTerms
	// docmaps is nil when Options.DocMapEntries is negative.
	docmaps *docMaps
	// wal reads the WAL-index header (walstamp.go): no commit since a
	// stamp means a value read after it is current. nil: always read.
	wal *walWatch
	// chain: whether every commit since a moment was the writer's (walstamp.go).
	chain ownChain
	// acl: whether the acl table is empty, per chain generation (acl.go).
	acl aclState
	// mboxes: mailbox rows by account and name, with the stamp
	// before their read (mailboxes.go).
	mboxes mboxCache
	// boxes: mailbox rows the writer keeps current across its own
	// commits (mboxrows.go).
	boxes mboxRows
	// dir: accounts, aliases and active Sieve scripts, per chain
	// generation and dirEpoch (dircache.go); dirEpoch moves on after
	// each of the writer's commits that wrote one of those tables;
	// dirHooked: the writer's pre-update hook sees those writes.
	dir       dirCache
	dirEpoch  atomic.Uint64
	dirHooked bool
	// recReady: msgrec holds every message's record (msgrec.go), so
	// FETCH may read envelopes and structures from it; recDone is
	// closed once that holds or its background copy stopped.
	recReady atomic.Bool
	recDone  chan struct{}
	// recBackfill: the rowid schema step 28's copy resumes after, and
	// whether it has work left (read at Open, run once the writer runs).
	recBackfill        int64
	recBackfillPending bool
	// bg is the context of work the store starts on its own (flag index
	// warm-ups); Close cancels it.
	bg     context.Context
	stopBG context.CancelFunc

	rpool chan *rconn
	bpool chan *rconn // bulk readers, memory-mapped
	// nreaders is how many connections rpool owns (in it or borrowed).
	nreaders int

	// quotaDefaults are the [quota] limits (quota.go).
	quotaDefaults atomic.Pointer[store.QuotaLimits]
	// quotaOff: limits are not enforced ([quota] enforce = false,
	// SetQuotaEnforced).
	quotaOff atomic.Bool
}

var _ store.Store = (*Store)(nil)

// Open opens (creating if needed) the database at path, migrates its
// schema and starts the writer. The file and its -wal/-shm companions are
// created 0600; a missing parent directory is created 0700.
func Open(ctx context.Context, path string, opts Options) (*Store, error) {
	if stmtJournalErr != nil {
		return nil, stmtJournalErr
	}
	if pcacheErr != nil {
		return nil, pcacheErr
	}
	if opts.BusyTimeout <= 0 {
		opts.BusyTimeout = 10 * time.Second
	}
	if opts.CacheSizeKB <= 0 {
		opts.CacheSizeKB = 16384
	}
	if opts.Readers <= 0 {
		opts.Readers = max(4, 2*runtime.GOMAXPROCS(0))
	}
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = 128
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.BulkReaders <= 0 {
		opts.BulkReaders = max(3, runtime.GOMAXPROCS(0)+1)
	}
	if opts.MmapSizeMB == 0 {
		opts.MmapSizeMB = 2048
	}
	if opts.MmapSizeMB < 0 {
		opts.MmapSizeMB = 0
	}
	if opts.FlagIndexEntries == 0 {
		opts.FlagIndexEntries = 2_000_000
	}
	if opts.RecordCacheBytes == 0 {
		opts.RecordCacheBytes = 64 << 20
	}
	if opts.FlagIndexMin <= 0 {
		opts.FlagIndexMin = 1
	}
	if opts.DocMapEntries == 0 {
		opts.DocMapEntries = DefaultDocMapEntries
	}
	if opts.DocMapMinHits <= 0 {
		opts.DocMapMinHits = DefaultDocMapMinHits
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(abs), 0o700); err != nil {
		return nil, err
	}
	// SQLite gives the -wal and -shm files the mode of the database file,
	// so creating it 0600 first covers all three.
	f, err := os.OpenFile(abs, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	f.Close()

	s := &Store{
		path:  abs,
		opts:  opts,
		log:   log,
		now:   opts.Now,
		reqs:  make(chan *writeReq),
		quit:  make(chan struct{}),
		done:  make(chan struct{}),
		rpool: make(chan *rconn, opts.Readers),
		bpool: make(chan *rconn, opts.BulkReaders),
	}
	if opts.DocMapEntries > 0 {
		s.docmaps = newDocMaps(opts.DocMapEntries)
	}
	if opts.FlagIndexEntries > 0 {
		s.index = newFlagIndex(opts.FlagIndexEntries, opts.FlagIndexMin)
		s.recs = newRecCache(opts.RecordCacheBytes)
	}
	s.bg, s.stopBG = context.WithCancel(context.Background())
	busy := strconv.FormatInt(opts.BusyTimeout.Milliseconds(), 10)
	base := "file:" + (&url.URL{Path: abs}).EscapedPath() + "?_pragma=busy_timeout(" + busy + ")"

	// Writer: WAL. The DSN says synchronous=FULL, so COMMIT returns only
	// after the WAL is fsynced; with the syncer (Options.WALSyncer) the
	// writer switches to NORMAL and the syncer fsyncs before any durable write
	// is acknowledged (durable.go). Either way a write acknowledged to a
	// client survives power loss.
	wdsn := base + "&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)" +
		"&_pragma=cache_size(-" + strconv.Itoa(opts.CacheSizeKB) + ")&_pragma=foreign_keys(0)" +
		"&_pragma=wal_autocheckpoint(" + strconv.Itoa(backstopPages) + ")" // checkpoint.go
	s.wdb, err = sql.Open(driverName, wdsn)
	if err != nil {
		return nil, err
	}
	s.wdb.SetMaxOpenConns(1)
	s.wdb.SetMaxIdleConns(1)
	s.wdb.SetConnMaxLifetime(0)
	s.wconn, err = s.wdb.Conn(ctx)
	if err != nil {
		s.wdb.Close()
		return nil, fmt.Errorf("open %s: %w", abs, err)
	}
	err = migrate(ctx, s.wconn)
	if err == nil {
		err = backfillThreads(ctx, s.wconn)
	}
	if err == nil {
		s.recBackfill, s.recBackfillPending, err = recBackfillPending(ctx, s.wconn)
	}
	if err == nil {
		// The writer's connection is open in WAL mode: the -shm file
		// exists for as long as the store is open.
		s.wal = openWALWatch(abs)
	}
	if err != nil {
		s.wconn.Close()
		s.wdb.Close()
		s.wal.close()
		return nil, fmt.Errorf("open %s: %w", abs, err)
	}

	// Readers: query_only so no code path can write around the writer.
	rdsn := base + "&_pragma=query_only(1)&_pragma=cache_size(-" + strconv.Itoa(max(1024, opts.CacheSizeKB/4)) + ")"
	s.rdb, err = sql.Open(driverName, rdsn)
	if err != nil {
		s.wconn.Close()
		s.wdb.Close()
		s.wal.close()
		return nil, err
	}
	s.rdb.SetMaxOpenConns(opts.Readers + opts.BulkReaders)
	s.rdb.SetMaxIdleConns(opts.Readers + opts.BulkReaders)
	s.rdb.SetConnMaxLifetime(0)
	// Bulk readers (scans of a mailbox: wide FETCH, SEARCH, SORT, flag
	// index loads, message text for SEARCH BODY) read through a memory
	// map of up to MmapSizeMB, so a scan copies no pages through pread:
	// that was a tenth of the CPU of FETCH 1:* on 100,000 messages and a
	// quarter of SEARCH BODY's. The other readers do not map: SQLite
	// drops a connection's mapping whenever the WAL changed since its
	// last read, and remapping on every small lookup after each commit
	// cost LMTP delivery a fifth of its throughput.
	for i := range opts.Readers + opts.BulkReaders {
		c, err := s.rdb.Conn(ctx)
		if err == nil && i >= opts.Readers {
			_, err = c.ExecContext(ctx, "PRAGMA mmap_size = "+strconv.FormatInt(int64(opts.MmapSizeMB)<<20, 10))
		}
		if err != nil {
			if c != nil {
				c.Close()
			}
			s.closeReaders()
			s.rdb.Close()
			s.wconn.Close()
			s.wdb.Close()
			s.wal.close()
			return nil, fmt.Errorf("open %s: %w", abs, err)
		}
		rc := &rconn{conn: c, stmts: map[string]*sql.Stmt{}, pool: s.rpool}
		if i >= opts.Readers {
			rc.pool = s.bpool
		}
		rc.pool <- rc
		s.nreaders++
	}

	s.ckpt, err = startCheckpointer(base, log)
	if err != nil {
		s.closeReaders()
		s.rdb.Close()
		s.wconn.Close()
		s.wdb.Close()
		s.wal.close()
		return nil, fmt.Errorf("open %s: %w", abs, err)
	}
	if opts.WALSyncer {
		s.sync = newSyncer(s)
		if f := opts.BeforeSync; f != nil {
			s.sync.beforeSync.Store(&f)
		}
	}
	w := &writer{s: s, conn: s.wconn, stmts: map[string]*sql.Stmt{}}
	if s.wal != nil {
		w.hooked = w.hookMailboxes()
		s.dirHooked = w.hooked
	}
	go w.loop()
	s.recDone = make(chan struct{})
	if s.recBackfillPending {
		go s.backfillRecs(s.recBackfill)
	} else {
		s.recReady.Store(true)
		close(s.recDone)
	}
	return s, nil
}

// closeReaders waits for every pooled connection to come back and
// closes it.
func (s *Store) closeReaders() {
	for range s.nreaders {
		var c *rconn
		select {
		case c = <-s.rpool:
		case c = <-s.bpool:
		}
		for _, st := range c.stmts {
			st.Close()
		}
		c.closeRaw()
		c.conn.Close()
	}
}

// Close stops the writer after the batch it is running, checkpoints the
// WAL and closes every connection. It is safe to call more than once.
func (s *Store) Close() error {
	s.closed.Do(func() {
		close(s.quit)
		s.stopBG()
		<-s.done
		if s.sync != nil {
			s.sync.close()
		}
		ckErr := s.ckpt.stop()
		ctx := context.Background()
		// Refresh planner statistics where they drifted (cheap, SQLite's
		// recommended practice before closing a long-lived connection).
		s.wconn.ExecContext(ctx, "PRAGMA optimize") //nolint:errcheck
		// Best effort: fold the WAL back into the database so the next
		// open starts small. Fails harmlessly if a reader is active.
		s.wconn.ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)") //nolint:errcheck
		s.closeReaders()
		errs := []error{ckErr, s.rdb.Close(), s.wconn.Close(), s.wdb.Close()}
		s.wal.close()
		s.cerr = errors.Join(errs...)
	})
	return s.cerr
}

// rconn is one pooled read-only connection with its own statement
// cache. Statements prepared on a *sql.Conn run on that connection, so
// a reader never needs a second connection (which, with a full pool,
// would deadlock).
type rconn struct {
	conn  *sql.Conn
	stmts map[string]*sql.Stmt
	raw   map[string]driver.Stmt // rawQuery's statements
	pool  chan *rconn            // where it goes back: rpool, or bpool (mmap)
}

func (s *Store) acquire(ctx context.Context, pool chan *rconn) (*rconn, error) {
	select {
	case <-s.quit:
		return nil, ErrClosed
	default:
	}
	select {
	case c := <-pool:
		return c, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-s.quit:
		return nil, ErrClosed
	}
}

func (s *Store) release(c *rconn) { c.pool <- c }

// bulkTx is readTx on a bulk reader: for scans over a mailbox.
func (s *Store) bulkTx(ctx context.Context, fn func(r *reader) error) error {
	return s.readOn(ctx, s.bpool, true, fn)
}

// bulkRead is read on a bulk reader.
func (s *Store) bulkRead(ctx context.Context, fn func(r *reader) error) error {
	return s.readOn(ctx, s.bpool, false, fn)
}

// readTx runs fn in one read transaction (a consistent WAL snapshot).
func (s *Store) readTx(ctx context.Context, fn func(r *reader) error) error {
	return s.readMode(ctx, true, fn)
}

// read runs fn outside an explicit transaction: for single statements.
func (s *Store) read(ctx context.Context, fn func(r *reader) error) error {
	return s.readMode(ctx, false, fn)
}

func (s *Store) readMode(ctx context.Context, tx bool, fn func(r *reader) error) error {
	return s.readOn(ctx, s.rpool, tx, fn)
}

func (s *Store) readOn(ctx context.Context, pool chan *rconn, tx bool, fn func(r *reader) error) error {
	c, err := s.acquire(ctx, pool)
	if err != nil {
		return err
	}
	defer s.release(c)
	r := &reader{c: c, ctx: ctx}
	if !tx {
		return fn(r)
	}
	// BEGIN and COMMIT are prepared once per connection, like every
	// other statement: a string Exec compiles them each time.
	begin, err := r.stmt("BEGIN")
	if err != nil {
		return err
	}
	if _, err := begin.ExecContext(ctx); err != nil {
		return err
	}
	if err := fn(r); err != nil {
		// Background: the caller's ctx may be what failed, and the
		// connection must go back to the pool outside a transaction.
		c.conn.ExecContext(context.Background(), "ROLLBACK") //nolint:errcheck
		return err
	}
	commit, err := r.stmt("COMMIT")
	if err == nil {
		_, err = commit.ExecContext(context.Background())
	}
	if err != nil {
		c.conn.ExecContext(context.Background(), "ROLLBACK") //nolint:errcheck
		return err
	}
	return nil
}

// reader gives read helpers bound to one pooled connection.
type reader struct {
	c   *rconn
	ctx context.Context
}

func (r *reader) stmt(query string) (*sql.Stmt, error) {
	if st, ok := r.c.stmts[query]; ok {
		return st, nil
	}
	st, err := r.c.conn.PrepareContext(r.ctx, query)
	if err != nil {
		return nil, err
	}
	r.c.stmts[query] = st
	return st, nil
}

func (r *reader) queryRow(query string, args ...any) *row {
	st, err := r.stmt(query)
	if err != nil {
		return &row{err: err}
	}
	return &row{r: st.QueryRowContext(r.ctx, args...)}
}

func (r *reader) query(query string, args ...any) (*sql.Rows, error) {
	st, err := r.stmt(query)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(r.ctx, args...)
}

// row is a sql.Row that may carry an earlier error.
type row struct {
	r   *sql.Row
	err error
}

func (r *row) Scan(dst ...any) error {
	if r.err != nil {
		return r.err
	}
	return r.r.Scan(dst...)
}
