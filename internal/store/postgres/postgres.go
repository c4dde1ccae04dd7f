package postgres

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"barid/internal/store"
)

// Options tunes a Store. The zero value is usable.
type Options struct {
	// MaxConns is the size of this node's connection pool. 0 keeps the
	// URL's pool_max_conns, or pgxpool's default (max(4, GOMAXPROCS)).
	MaxConns int32
	// Retries is how often a transaction PostgreSQL aborted for a
	// deadlock or a serialization failure is run again. Default 8.
	Retries int
	// Logger receives warnings (retried transactions). nil discards.
	Logger *slog.Logger
	// SyncIndex makes flag changes, \Recent claims and expunges
	// (EXPUNGE, CLOSE; not MOVE, whose transaction is also an arrival)
	// wait for PostgreSQL's WAL flush before they are acknowledged, like
	// every other write ([storage] sync_index). Off (the default), they
	// commit with synchronous_commit off, as store/sqlite's lazy
	// batches commit without an fsync: visible to every node at once,
	// safe against a crash of barid, and durable against a crash of
	// PostgreSQL or the machine with the next synchronous commit or
	// within PostgreSQL's wal_writer_delay (200 ms by default). Flush
	// makes them durable at once (the blob sweep calls it before it
	// deletes a blob whose last reference such a commit removed).
	SyncIndex bool
	// RecordCacheBytes bounds the node's cache of immutable message
	// records (reccache.go; [storage] record_cache_bytes, as the SQLite
	// store's record cache). 0: 64 MiB; negative: off.
	RecordCacheBytes int
	// BlobCacheBytes bounds the node's cache of message bytes by blob
	// ID (reccache.go; [storage] blob_cache_bytes). 0: 64 MiB;
	// negative: off.
	BlobCacheBytes int
	// FlagCacheEntries bounds the node's flag cache (flagcache.go), in
	// messages over all mailboxes ([storage] flag_index_entries, as the
	// SQLite store's flag index). 0: 2,000,000; negative: off.
	FlagCacheEntries int
	// Now is the clock used for created, savedate and UIDVALIDITY.
	// Default time.Now.
	Now func() time.Time
}

// ErrClosed is returned by methods called after Close.
var ErrClosed = errors.New("postgres store closed")

// Store is the PostgreSQL implementation of store.Store.
type Store struct {
	pool   *pgxpool.Pool
	opts   Options
	log    *slog.Logger
	now    func() time.Time
	closed sync.Once
	done   chan struct{}
	// node tags this instance's change notifications (hint.go).
	node uint64
	// connCfg opens the listener's own, unpooled connection (listen.go).
	connCfg *pgx.ConnConfig
	// silent, a test switch, sends no change notifications (a lost
	// notification, for the poll's test).
	silent bool
	// quotaDefaults are the [quota] limits (quota.go).
	quotaDefaults atomic.Pointer[store.QuotaLimits]
	// quotaOff: limits are not enforced ([quota] enforce = false).
	quotaOff atomic.Bool
	// listening is the running Listen's listener, for Barrier.
	listening atomic.Pointer[listener]
	// claims remembers FIRSTRECENT per mailbox for ClaimRecent.
	claims recentClaims
	// kwKnown: keyword spellings committed per mailbox (knownkw.go).
	kwKnown store.KnownKeywords
	// rec caches immutable records, blobs message bytes (reccache.go).
	rec   *recCache
	blobs *blobCache
	// fc caches flags per mailbox, kept current by the bus (flagcache.go).
	fc *flagCache
}

var (
	_ store.Store            = (*Store)(nil)
	_ store.Sorter           = (*Store)(nil)
	_ store.CriteriaSearcher = (*Store)(nil)
)

// Redact returns the URL with its password replaced, for logs and
// error messages.
func Redact(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "postgres://(unparseable URL)"
	}
	return u.Redacted()
}

// Open connects to the database named by connURL (a libpq URL such as
// postgres://user:pass@host:5432/db?sslmode=disable), creates or
// migrates the schema and returns the store. Several nodes may open the
// same database at once.
func Open(ctx context.Context, connURL string, opts Options) (*Store, error) {
	if opts.Retries <= 0 {
		opts.Retries = 8
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cfg, err := pgxpool.ParseConfig(connURL)
	if err != nil {
		// pgx's message may quote the URL, password included.
		return nil, fmt.Errorf("postgres: bad metadata URL %s", Redact(connURL))
	}
	if opts.MaxConns > 0 {
		cfg.MaxConns = opts.MaxConns
	}
	genericPlans(cfg.ConnConfig)
	conn, err := pgx.ConnectConfig(ctx, cfg.ConnConfig)
	if err != nil {
		return nil, fmt.Errorf("postgres: connect %s: %w", Redact(connURL), err)
	}
	err = migrate(ctx, conn)
	if err == nil {
		err = backfillThreads(ctx, conn)
	}
	conn.Close(context.Background())
	if err != nil {
		return nil, fmt.Errorf("postgres: %s: %w", Redact(connURL), err)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: %s: %w", Redact(connURL), err)
	}
	return &Store{pool: pool, opts: opts, log: log, now: opts.Now, done: make(chan struct{}),
		node: newNodeID(), connCfg: cfg.ConnConfig.Copy(), rec: newRecCache(recordCacheBytes(opts.RecordCacheBytes)),
		blobs: newBlobCache(recordCacheBytes(opts.BlobCacheBytes)), fc: newFlagCache(flagCacheEntries(opts.FlagCacheEntries))}, nil
}

// flagCacheEntries is Options.FlagCacheEntries with its default.
func flagCacheEntries(n int) int {
	if n == 0 {
		return 2_000_000
	}
	return max(n, 0)
}

// recordCacheBytes is Options.RecordCacheBytes with its default.
func recordCacheBytes(n int) int {
	if n == 0 {
		return 64 << 20
	}
	return max(n, 0)
}

// Close closes the pool, waiting for connections in use to come back.
// It is safe to call more than once.
func (s *Store) Close() error {
	s.closed.Do(func() {
		close(s.done)
		s.pool.Close()
	})
	return nil
}

func (s *Store) isClosed() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// PostgreSQL error codes (Appendix A of its manual) the store acts on.
const (
	codeSerializationFailure = "40001"
	codeDeadlockDetected     = "40P01"
	codeUniqueViolation      = "23505"
)

func pgCode(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}

func isUnique(err error) bool { return pgCode(err) == codeUniqueViolation }

func errNoRows(err error) bool { return errors.Is(err, pgx.ErrNoRows) }

// write runs fn in a READ COMMITTED transaction and commits it. fn may
// run more than once (after a deadlock or serialization failure): it
// must reset whatever it reports through captured variables at its
// start.
func (s *Store) write(ctx context.Context, fn func(tx pgx.Tx) error) error {
	return s.withRetry(ctx, pgx.TxOptions{}, fn)
}

// readTx runs fn in a REPEATABLE READ read-only transaction: one
// snapshot for every statement fn runs.
func (s *Store) readTx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	return s.withRetry(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, fn)
}

func (s *Store) withRetry(ctx context.Context, txo pgx.TxOptions, fn func(tx pgx.Tx) error) error {
	return s.retry(ctx, "transaction", func() error { return s.runTx(ctx, txo, fn) })
}

// retry runs fn, a transaction or one autocommitted statement (what
// names it in the log), again after a deadlock or serialization
// failure, up to Options.Retries times.
func (s *Store) retry(ctx context.Context, what string, fn func() error) error {
	if s.isClosed() {
		return ErrClosed
	}
	for attempt := 0; ; attempt++ {
		err := fn()
		code := pgCode(err)
		if (code != codeSerializationFailure && code != codeDeadlockDetected) || attempt >= s.opts.Retries {
			return err
		}
		s.log.Warn("postgres: "+what+" retried", "code", code, "attempt", attempt+1)
		// A short, growing pause lets the other transaction finish.
		select {
		case <-time.After(time.Duration(attempt+1) * 5 * time.Millisecond):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// queryRow runs a single-row query on the pool.
func (s *Store) queryRow(ctx context.Context, q string, args ...any) pgx.Row {
	if s.isClosed() {
		return errRow{ErrClosed}
	}
	return s.pool.QueryRow(ctx, q, args...)
}

// query runs a query on the pool.
func (s *Store) query(ctx context.Context, q string, args ...any) (pgx.Rows, error) {
	if s.isClosed() {
		return nil, ErrClosed
	}
	return s.pool.Query(ctx, q, args...)
}

type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }

// querier is what pool and transaction share.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// genericPlans makes the node's connections plan each prepared
// statement once (plan_cache_mode = force_generic_plan) unless the
// metadata URL sets plan_cache_mode itself. pgx prepares every
// statement on each connection and runs it by name; PostgreSQL's
// default ("auto") re-plans it at every execution while a generic plan
// does not look cheaper than the custom ones, which for this store's
// statements with array parameters (= ANY($1), unnest) and the merged
// WITH statements of a write (ptx.deferMerge) is always: a STORE's
// merged statement spent 0.47 ms planning for 0.20 ms executing
// (pg_stat_statements with track_planning), and perf put 18 % of
// PostgreSQL's CPU under a STORE-only load in the planner
// (docs/benchmarks.md, "Session 10"). Every
// statement here finds its rows through a key (mailbox, uid; id;
// account, name) that a generic plan uses as well as a custom one.
func genericPlans(cfg *pgx.ConnConfig) {
	if _, ok := cfg.RuntimeParams["plan_cache_mode"]; !ok {
		cfg.RuntimeParams["plan_cache_mode"] = "force_generic_plan"
	}
}
