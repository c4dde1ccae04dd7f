package sqlite

import (
	"context"
	"database/sql"
	"fmt"
)

// rewriteInBatches runs a resumable rewrite of message rows in rowid
// order, for the migrations that run in Go (rederiveSearchFields,
// backfillThreads): next reads the rows after rowid last, at most one
// batch (none when the work is done), with the rowid of the last one;
// apply rewrites them. Each batch is one BEGIN IMMEDIATE transaction
// that also records its last rowid under the meta key, so an
// interrupted run resumes after it; the key is removed at the end. what
// names the work in errors.
func rewriteInBatches[T any](ctx context.Context, conn *sql.Conn, key, what string, last int64,
	next func(last int64) ([]T, int64, error), apply func([]T) error) error {
	for {
		batch, end, err := next(last)
		if err != nil {
			return err
		}
		if len(batch) == 0 {
			break
		}
		if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
			return err
		}
		if err := func() error {
			if err := apply(batch); err != nil {
				return err
			}
			_, err := conn.ExecContext(ctx, "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value", key, end)
			return err
		}(); err != nil {
			conn.ExecContext(ctx, "ROLLBACK") //nolint:errcheck // the first error wins
			return fmt.Errorf("%s after rowid %d: %w", what, last, err)
		}
		if _, err := conn.ExecContext(ctx, "COMMIT"); err != nil {
			conn.ExecContext(ctx, "ROLLBACK") //nolint:errcheck
			return err
		}
		last = end
	}
	_, err := conn.ExecContext(ctx, "DELETE FROM meta WHERE key = ?", key)
	return err
}
