package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"barid/internal/store"
	"barid/internal/store/postgres/pgtest"
)

// countingTracer counts the statements a connection sends, batched or not.
type countingTracer struct {
	mu    sync.Mutex
	n     int
	stmts []string
	// args: each statement's arguments (nil for a batch).
	args [][]any
}

func (c *countingTracer) add(sql string, args []any) {
	c.mu.Lock()
	c.n++
	c.stmts = append(c.stmts, sql)
	c.args = append(c.args, args)
	c.mu.Unlock()
}

func (c *countingTracer) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	c.add(d.SQL, d.Args)
	return ctx
}
func (c *countingTracer) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}
func (c *countingTracer) TraceBatchStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceBatchStartData) context.Context {
	qs := make([]string, len(d.Batch.QueuedQueries))
	for i, q := range d.Batch.QueuedQueries {
		qs[i] = q.SQL
	}
	c.add(fmt.Sprintf("batch of %d: %s", d.Batch.Len(), strings.Join(qs, "; ")), nil)
	return ctx
}
func (c *countingTracer) TraceBatchQuery(context.Context, *pgx.Conn, pgx.TraceBatchQueryData) {}
func (c *countingTracer) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData)     {}

// askedLazy reports whether a statement since the last take asked for
// synchronous_commit off: a set_config of its own, or p_lazy of the
// one-statement STORE and EXPUNGE (TestStoreFlagsOneCall and
// TestExpungeOneCall check that the functions then set it). It takes
// the statements.
func (c *countingTracer) askedLazy() bool {
	c.mu.Lock()
	args := c.args
	c.mu.Unlock()
	_, stmts := c.take()
	for i, q := range stmts {
		switch {
		case strings.Contains(q, "synchronous_commit"):
			return true
		case strings.Contains(q, "barid_store_flags(") && len(args[i]) == 7 && args[i][5] == true:
			return true
		case strings.Contains(q, "barid_expunge(") && len(args[i]) == 4 && args[i][2] == true:
			return true
		}
	}
	return false
}

func (c *countingTracer) take() (int, []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n, s := c.n, c.stmts
	c.n, c.stmts, c.args = 0, nil, nil
	return n, s
}

// tracedNodes is the start of a cross-node test that counts node A's
// statements (twoNodes, without the tracer): node A (traced) and node
// B on one fresh database, the account named account created through B
// (with secret), and its mailbox box (INBOX as created with the
// account, any other name created here).
func tracedNodes(t *testing.T, account string, secret []byte, box string) (u string, a *Store, tr *countingTracer, b *Store, acct *store.Account, mb *store.Mailbox) {
	t.Helper()
	ctx := context.Background()
	u = pgtest.Database(t)
	a, tr = tracedStore(t, u, Options{})
	b = openDB(t, u)
	acct, err := b.CreateAccount(ctx, account, secret)
	if err != nil {
		t.Fatal(err)
	}
	if box == "INBOX" {
		mb, err = b.Mailbox(ctx, acct.ID, box)
	} else {
		mb, _, err = b.CreateMailbox(ctx, acct.ID, box, "")
	}
	if err != nil {
		t.Fatal(err)
	}
	return u, a, tr, b, acct, mb
}

// tracedStore opens a store on u whose pool's connections all report
// to the returned tracer.
func tracedStore(t *testing.T, u string, o Options) (*Store, *countingTracer) {
	t.Helper()
	s, err := Open(context.Background(), u, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	tr := &countingTracer{}
	cfg, err := pgxpool.ParseConfig(u)
	if err != nil {
		t.Fatal(err)
	}
	cfg.ConnConfig.Tracer = tr
	// The session default, whatever the server's (a CI cluster runs
	// with it off): TestStoreFlagsLazyCommit checks it comes back.
	cfg.ConnConfig.RuntimeParams["synchronous_commit"] = "on"
	traced, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	s.pool.Close()
	s.pool = traced
	return s, tr
}

// TestPipelinedTx: ptx sends BEGIN with the first statement and the
// deferred statements with COMMIT, each as one round trip, nothing for
// an empty transaction, and keeps the transaction semantics: a failing
// deferred statement rolls back the writes before it, an error from fn
// rolls back, and a COMMIT of a transaction PostgreSQL aborted is
// reported.
func TestPipelinedTx(t *testing.T) {
	s, tr := tracedStore(t, pgtest.Database(t), Options{})
	ctx := context.Background()
	var err error
	if _, err := s.pool.Exec(ctx, `CREATE TABLE ptx_t (k int PRIMARY KEY)`); err != nil {
		t.Fatal(err)
	}
	tr.take()

	// An empty transaction sends nothing.
	if err := s.write(ctx, func(pgx.Tx) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if n, st := tr.take(); n != 0 {
		t.Fatalf("empty transaction sent %d statements: %q", n, st)
	}

	// BEGIN + INSERT in one batch, INSERT, then deferred + COMMIT in
	// one batch: three round trips.
	err = s.write(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO ptx_t VALUES (1)`); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO ptx_t VALUES (2)`); err != nil {
			return err
		}
		tx.(*ptx).deferExec(`INSERT INTO ptx_t VALUES ($1)`, 3)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n, st := tr.take(); n != 3 || !strings.HasPrefix(st[0], "batch of 2:") || !strings.HasPrefix(st[2], "batch of 2:") {
		t.Fatalf("want batch of 2, one statement, batch of 2; got %d: %q", n, st)
	}
	count := func() int {
		var n int
		if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM ptx_t`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := count(); n != 3 {
		t.Fatalf("%d rows after commit, want 3", n)
	}

	// A deferred statement that fails (duplicate key) fails the commit
	// and rolls back the insert before it.
	err = s.write(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO ptx_t VALUES (10)`); err != nil {
			return err
		}
		tx.(*ptx).deferExec(`INSERT INTO ptx_t VALUES ($1)`, 1)
		return nil
	})
	if !isUnique(err) {
		t.Fatalf("commit with a failing deferred statement: %v, want a unique violation", err)
	}
	if n := count(); n != 3 {
		t.Fatalf("%d rows after the failed commit, want 3 (rolled back)", n)
	}

	// An error from fn after a write rolls it back.
	boom := errors.New("boom")
	err = s.write(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO ptx_t VALUES (11)`); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) || count() != 3 {
		t.Fatalf("fn error: %v, %d rows; want boom and 3 rows", err, count())
	}

	// fn ignores a failed statement: PostgreSQL turns the COMMIT into
	// a ROLLBACK, which Commit reports.
	err = s.write(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO ptx_t VALUES (12)`); err != nil {
			return err
		}
		_, _ = tx.Exec(ctx, `INSERT INTO ptx_t VALUES (1)`)
		return nil
	})
	if !errors.Is(err, pgx.ErrTxCommitRollback) || count() != 3 {
		t.Fatalf("commit of an aborted transaction: %v, %d rows; want ErrTxCommitRollback and 3 rows", err, count())
	}

	// The first statement failing (BEGIN went with it): rolled back,
	// and the pooled connection is usable again.
	err = s.readTx(ctx, func(tx pgx.Tx) error {
		var n int
		return tx.QueryRow(ctx, `SELECT k FROM ptx_t WHERE k = 99`).Scan(&n)
	})
	if !errors.Is(err, pgx.ErrNoRows) {
		t.Fatalf("QueryRow with no row in a new transaction: %v", err)
	}
	var pe *pgconn.PgError
	err = s.readTx(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO ptx_t VALUES (13)`) // read-only transaction
		return err
	})
	if !errors.As(err, &pe) {
		t.Fatalf("write in a read-only transaction: %v, want a PostgreSQL error", err)
	}
	for range 10 { // more than the pool's connections
		if n := count(); n != 3 {
			t.Fatalf("%d rows, want 3", n)
		}
	}
}

// TestStoreFlagsPipelinedLock: StoreFlags reads the flags in the same
// round trip as it takes the mailbox lock. The read must still see
// every STORE committed before the lock was granted: two nodes adding
// different keywords to one message many times at once (four writers)
// lose none.
func TestStoreFlagsPipelinedLock(t *testing.T) {
	u := pgtest.Database(t)
	nodes := []*Store{openDB(t, u), openDB(t, u)}
	ctx := context.Background()
	a, err := nodes[0].CreateAccount(ctx, "user", nil)
	if err != nil {
		t.Fatal(err)
	}
	in, _ := nodes[0].Mailbox(ctx, a.ID, "INBOX")
	uids, _, err := nodes[0].AppendMessages(ctx, in.ID, []store.NewMessage{{BlobID: "b", Size: 1}})
	if err != nil {
		t.Fatal(err)
	}
	const per, writers = 25, 4
	var wg sync.WaitGroup
	errc := make(chan error, writers)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range per {
				kw := store.Flags{Keywords: []string{fmt.Sprintf("k%d_%d", w, i)}}
				if _, _, _, err := nodes[w%2].StoreFlags(ctx, in.ID, uids, store.FlagsAdd, kw, 0); err != nil {
					errc <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Fatal(err)
	}
	var got store.Flags
	var modseq store.ModSeq
	err = nodes[1].FetchMessages(ctx, in.ID, uids, store.FieldFlags, func(m *store.Message) error {
		got, modseq = m.Flags, m.ModSeq
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Keywords) != writers*per {
		t.Fatalf("%d keywords after %d STOREs adding one each: a STORE read flags from before the lock", len(got.Keywords), writers*per)
	}
	mb, err := nodes[0].MailboxByID(ctx, in.ID)
	if err != nil {
		t.Fatal(err)
	}
	if mb.HighestModSeq != modseq {
		t.Fatalf("HIGHESTMODSEQ %d, message's MODSEQ %d: the bump sent with COMMIT and the flags disagree", mb.HighestModSeq, modseq)
	}
}

// TestStoreFlagsLazyCommit: with Options.SyncIndex off, a STORE's
// COMMIT does not wait for the WAL flush (synchronous_commit off for
// that transaction only, as store/sqlite's flag batches skip the
// fsync); with it on, it does; other transactions are untouched.
func TestStoreFlagsLazyCommit(t *testing.T) {
	for _, sync := range []bool{false, true} {
		t.Run(fmt.Sprint("sync_flags=", sync), func(t *testing.T) {
			s, tr := tracedStore(t, pgtest.Database(t), Options{SyncIndex: sync})
			ctx := context.Background()
			a, err := s.CreateAccount(ctx, "user", nil)
			if err != nil {
				t.Fatal(err)
			}
			in, _ := s.Mailbox(ctx, a.ID, "INBOX")
			uids, _, err := s.AppendMessages(ctx, in.ID, []store.NewMessage{{BlobID: "b", Size: 1}})
			if err != nil {
				t.Fatal(err)
			}
			tr.take()
			if _, _, _, err := s.StoreFlags(ctx, in.ID, uids, store.FlagsAdd, store.Flags{System: store.FlagSeen}, 0); err != nil {
				t.Fatal(err)
			}
			lazy := tr.askedLazy()
			if lazy == sync {
				t.Fatalf("sync_flags=%v: STORE sent synchronous_commit off: %v", sync, lazy)
			}
			// SET LOCAL: every pooled connection is back to the default.
			for range 8 {
				var v string
				if err := s.pool.QueryRow(ctx, `SHOW synchronous_commit`).Scan(&v); err != nil {
					t.Fatal(err)
				}
				if v != "on" {
					t.Fatalf("synchronous_commit %q after the STORE, want on", v)
				}
			}
		})
	}
}
