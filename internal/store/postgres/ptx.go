package postgres

import (
	"context"
	"errors"
	"regexp"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// ptx is the transaction every Store method runs in (write, readTx):
// a pgx.Tx that saves round trips. Each statement costs the node and
// PostgreSQL a network round trip, and on a busy node that, not the
// query, is most of the CPU (docs/benchmarks.md, "Scale-out: where the
// CPU goes"). So:
//
//   - BEGIN is not sent on its own but pipelined (one pgx batch) with
//     the transaction's first statement; a transaction that runs no
//     statement sends nothing at all.
//   - Statements queued with deferExec (the change notifications,
//     notifyTx) are pipelined with COMMIT.
//
// PostgreSQL executes a pipeline's statements one after the other, each
// with its own snapshot under READ COMMITTED, exactly as if they were
// sent one by one; an error skips the rest of the pipeline, and the
// transaction is then rolled back as it would have been.
type ptx struct {
	conn     *pgxpool.Conn
	begin    string
	begun    bool
	closed   bool
	deferred []deferredStmt
	// afterCommit runs once COMMIT succeeded (store.KnownKeywords).
	afterCommit []func()
}

type deferredStmt struct {
	sql  string
	args []any
	// merge: how the statement may join its neighbours in one
	// statement at COMMIT (mergeDeferred); mergeNone: it may not.
	merge mergeKind
}

// mergeKind says whether and how a deferred statement may become one
// WITH query of a single statement together with its neighbours.
type mergeKind uint8

const (
	mergeNone mergeKind = iota
	// mergeWrite: an UPDATE/INSERT without RETURNING, which runs to
	// completion as an unreferenced WITH query.
	mergeWrite
	// mergeSelect: a SELECT run for its effect (set_config,
	// pg_notify), which the main query reads to the end.
	mergeSelect
)

// beginSQL is the BEGIN for txo (the subset of pgx.TxOptions this
// store uses).
func beginSQL(txo pgx.TxOptions) string {
	q := "begin"
	if txo.IsoLevel != "" {
		q += " isolation level " + string(txo.IsoLevel)
	}
	if txo.AccessMode != "" {
		q += " " + string(txo.AccessMode)
	}
	return q
}

// runTx runs fn in a ptx on a pooled connection and commits it; an
// error from fn rolls it back. Like pgx.BeginTxFunc, but pipelined.
func (s *Store) runTx(ctx context.Context, txo pgx.TxOptions, fn func(pgx.Tx) error) error {
	c, err := s.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer c.Release()
	t := &ptx{conn: c, begin: beginSQL(txo)}
	defer func() {
		if !t.closed { // fn panicked
			t.Rollback(context.Background()) //nolint:errcheck // already failing
		}
	}()
	if err := fn(t); err != nil {
		t.Rollback(context.Background()) //nolint:errcheck // fn's error is the one to report
		return err
	}
	if err := t.Commit(ctx); err != nil {
		return err
	}
	for _, f := range t.afterCommit {
		f()
	}
	return nil
}

// deferExec queues a statement to be sent with COMMIT. Its error, if
// any, makes Commit fail and the transaction roll back.
func (t *ptx) deferExec(sql string, args ...any) {
	t.deferred = append(t.deferred, deferredStmt{sql: sql, args: args})
}

// deferMerge is deferExec for a statement that may be sent as one WITH
// query of a single statement with its mergeable neighbours
// (mergeDeferred). Only for statements that need not see each other's
// writes: WITH queries share one snapshot, and their writes happen in
// no defined order (PostgreSQL manual, "Data-Modifying Statements in
// WITH"). The writers of a mailbox's rows hold its row lock already,
// so the snapshot sees every committed change to them.
func (t *ptx) deferMerge(kind mergeKind, sql string, args ...any) {
	t.deferred = append(t.deferred, deferredStmt{sql: sql, args: args, merge: kind})
}

// deferredBatch returns the deferred statements, runs of mergeable ones
// each made one statement: a STORE's MODSEQ bump, flag update,
// synchronous_commit setting and notifications cost PostgreSQL one
// statement's parse, plan and executor start instead of four.
func (t *ptx) deferredBatch() []deferredStmt {
	var out []deferredStmt
	for i := 0; i < len(t.deferred); {
		j := i
		for j < len(t.deferred) && t.deferred[j].merge != mergeNone {
			j++
		}
		if j-i < 2 {
			out = append(out, t.deferred[i])
			i++
			continue
		}
		out = append(out, mergeDeferred(t.deferred[i:j]))
		i = j
	}
	return out
}

// paramRef matches a statement's parameter references ($1, $2, ...).
var paramRef = regexp.MustCompile(`\$([0-9]+)`)

// mergeDeferred makes one statement of mergeable ones: each becomes a
// WITH query, its parameters renumbered after the previous ones'; the
// main query counts the rows of the SELECTs, so they run to the end.
// The deferred statements of this store contain no "$" other than
// parameter references.
func mergeDeferred(ds []deferredStmt) deferredStmt {
	var b strings.Builder
	var args []any
	var reads []string
	b.WriteString("WITH ")
	for i, d := range ds {
		off := len(args)
		name := "d" + strconv.Itoa(i)
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(name + " AS (")
		b.WriteString(paramRef.ReplaceAllStringFunc(d.sql, func(ref string) string {
			n, _ := strconv.Atoi(ref[1:])
			return "$" + strconv.Itoa(n+off)
		}))
		b.WriteString(")")
		args = append(args, d.args...)
		if d.merge == mergeSelect {
			reads = append(reads, "(SELECT count(*) FROM "+name+")")
		}
	}
	b.WriteString(" SELECT ")
	if len(reads) == 0 {
		b.WriteString("1")
	} else {
		b.WriteString(strings.Join(reads, " + "))
	}
	return deferredStmt{sql: b.String(), args: args}
}

// lazyCommit makes the transaction's COMMIT return without waiting for
// the WAL flush (synchronous_commit off for this transaction only),
// unless the store's Options.SyncIndex asks for it. For flag changes,
// \Recent claims and expunges only, never for a transaction that adds
// messages (Options.SyncIndex). tx need not be a ptx.
func (s *Store) lazyCommit(tx pgx.Tx) {
	if t, ok := tx.(*ptx); ok && !s.opts.SyncIndex {
		t.deferMerge(mergeSelect, `SELECT set_config('synchronous_commit', 'off', true)`)
	}
}

// first sends BEGIN and the statement q in one batch; br's first result
// (BEGIN's) is already read.
func (t *ptx) first(ctx context.Context, q string, args []any) (pgx.BatchResults, error) {
	return t.beginBatch(ctx, func(b *pgx.Batch) { b.Queue(q, args...) })
}

// beginBatch sends BEGIN and the statements queue adds in one batch;
// BEGIN's result is already read from the returned results, which the
// caller reads on and closes. The transaction must not have begun.
func (t *ptx) beginBatch(ctx context.Context, queue func(b *pgx.Batch)) (pgx.BatchResults, error) {
	if t.closed {
		return nil, pgx.ErrTxClosed
	}
	b := &pgx.Batch{}
	b.Queue(t.begin)
	queue(b)
	t.begun = true
	br := t.conn.SendBatch(ctx, b)
	if _, err := br.Exec(); err != nil {
		br.Close()
		return nil, err
	}
	return br, nil
}

// ensure sends BEGIN on its own, for the methods that cannot carry it.
func (t *ptx) ensure(ctx context.Context) error {
	if t.closed {
		return pgx.ErrTxClosed
	}
	if t.begun {
		return nil
	}
	t.begun = true
	_, err := t.conn.Exec(ctx, t.begin)
	return err
}

func (t *ptx) Exec(ctx context.Context, q string, args ...any) (pgconn.CommandTag, error) {
	if t.closed {
		return pgconn.CommandTag{}, pgx.ErrTxClosed
	}
	if t.begun {
		return t.conn.Exec(ctx, q, args...)
	}
	br, err := t.first(ctx, q, args)
	if err != nil {
		return pgconn.CommandTag{}, err
	}
	tag, err := br.Exec()
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	return tag, err
}

func (t *ptx) Query(ctx context.Context, q string, args ...any) (pgx.Rows, error) {
	if t.closed {
		return nil, pgx.ErrTxClosed
	}
	if t.begun {
		return t.conn.Query(ctx, q, args...)
	}
	br, err := t.first(ctx, q, args)
	if err != nil {
		return nil, err
	}
	rows, err := br.Query()
	if err != nil {
		if rows != nil {
			rows.Close()
		}
		br.Close()
		return nil, err
	}
	return &batchRows{Rows: rows, br: br}, nil
}

func (t *ptx) QueryRow(ctx context.Context, q string, args ...any) pgx.Row {
	if t.begun || t.closed {
		if t.closed {
			return errRow{pgx.ErrTxClosed}
		}
		return t.conn.QueryRow(ctx, q, args...)
	}
	rows, err := t.Query(ctx, q, args...)
	return &rowOf{rows: rows, err: err}
}

func (t *ptx) SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults {
	if err := t.ensure(ctx); err != nil {
		return errBatch{err}
	}
	return t.conn.SendBatch(ctx, b)
}

func (t *ptx) CopyFrom(ctx context.Context, table pgx.Identifier, cols []string, src pgx.CopyFromSource) (int64, error) {
	if err := t.ensure(ctx); err != nil {
		return 0, err
	}
	return t.conn.CopyFrom(ctx, table, cols, src)
}

func (t *ptx) Prepare(ctx context.Context, name, sql string) (*pgconn.StatementDescription, error) {
	if t.closed {
		return nil, pgx.ErrTxClosed
	}
	return t.conn.Conn().Prepare(ctx, name, sql)
}

// Begin (a savepoint) is not used by this store.
func (t *ptx) Begin(context.Context) (pgx.Tx, error) {
	return nil, errors.New("postgres: nested transactions are not supported")
}

// LargeObjects is not used by this store; the zero value it returns
// must not be used.
func (t *ptx) LargeObjects() pgx.LargeObjects { return pgx.LargeObjects{} }

func (t *ptx) Conn() *pgx.Conn { return t.conn.Conn() }

// Commit sends the deferred statements and COMMIT in one batch (with
// BEGIN first if nothing was sent yet; nothing at all if the
// transaction is empty).
func (t *ptx) Commit(ctx context.Context) error {
	if t.closed {
		return pgx.ErrTxClosed
	}
	t.closed = true
	if !t.begun && len(t.deferred) == 0 {
		return nil
	}
	b := &pgx.Batch{}
	if !t.begun {
		b.Queue(t.begin)
		t.begun = true
	}
	for _, d := range t.deferredBatch() {
		b.Queue(d.sql, d.args...)
	}
	b.Queue("commit")
	br := t.conn.SendBatch(ctx, b)
	var err error
	var tag pgconn.CommandTag
	for range b.Len() {
		if tag, err = br.Exec(); err != nil {
			break
		}
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.abandon(ctx)
		return err
	}
	if tag.String() == "ROLLBACK" {
		return pgx.ErrTxCommitRollback
	}
	return nil
}

func (t *ptx) Rollback(ctx context.Context) error {
	if t.closed {
		return pgx.ErrTxClosed
	}
	t.closed = true
	if !t.begun {
		return nil
	}
	if _, err := t.conn.Exec(ctx, "rollback"); err != nil {
		t.conn.Conn().Close(context.Background()) //nolint:errcheck // the pool drops it
		return err
	}
	return nil
}

// abandon ends a transaction whose COMMIT batch failed: roll back what
// is left, or close the connection (the pool then drops it).
func (t *ptx) abandon(ctx context.Context) {
	pc := t.conn.Conn().PgConn()
	if pc.IsClosed() || pc.TxStatus() == 'I' {
		return
	}
	if _, err := t.conn.Exec(ctx, "rollback"); err != nil {
		t.conn.Conn().Close(context.Background()) //nolint:errcheck // the pool drops it
	}
}

// batchRows are the rows of a batch's statement; closing them reads the
// rest of the batch.
type batchRows struct {
	pgx.Rows
	br     pgx.BatchResults
	brErr  error
	closed bool
}

func (r *batchRows) Next() bool {
	if r.Rows.Next() {
		return true
	}
	r.Close()
	return false
}

func (r *batchRows) Close() {
	if r.closed {
		return
	}
	r.closed = true
	r.Rows.Close()
	r.brErr = r.br.Close()
}

func (r *batchRows) Err() error {
	if err := r.Rows.Err(); err != nil {
		return err
	}
	return r.brErr
}

// rowOf is pgx.Row over rows, as pgx's own QueryRow does it.
type rowOf struct {
	rows pgx.Rows
	err  error
}

func (r *rowOf) Scan(dest ...any) error {
	if r.err != nil {
		return r.err
	}
	defer r.rows.Close()
	if !r.rows.Next() {
		if err := r.rows.Err(); err != nil {
			return err
		}
		return pgx.ErrNoRows
	}
	if err := r.rows.Scan(dest...); err != nil {
		return err
	}
	r.rows.Close()
	return r.rows.Err()
}

// errBatch is a pgx.BatchResults that only reports err.
type errBatch struct{ err error }

func (e errBatch) Exec() (pgconn.CommandTag, error) { return pgconn.CommandTag{}, e.err }
func (e errBatch) Query() (pgx.Rows, error)         { return nil, e.err }
func (e errBatch) QueryRow() pgx.Row                { return errRow(e) }
func (e errBatch) Close() error                     { return e.err }
func (e errBatch) Tx() pgx.Tx                       { return nil }
