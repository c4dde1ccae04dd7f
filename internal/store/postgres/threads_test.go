package postgres

import (
	"context"
	"sync"
	"testing"

	"barid/internal/store"
	"barid/internal/store/postgres/pgtest"
	"barid/internal/store/storetest"
)

// A database written before schema step 15 has no thread ids: the
// first node to open it threads every message (backfillThreads) and
// empties thread_backfill; nodes opening at the same time wait for it
// and find the work done.
func TestThreadBackfill(t *testing.T) {
	ctx := context.Background()
	u := pgtest.Database(t)
	s, err := Open(ctx, u, Options{})
	if err != nil {
		t.Fatal(err)
	}
	storetest.ThreadBackfill(t, s, func(old store.Store) store.Store {
		for _, q := range []string{"UPDATE messages SET threadid = 0", "DELETE FROM thread_msgids",
			"INSERT INTO thread_backfill (mailbox, uid) VALUES (0, 0)"} {
			if _, err := old.(*Store).pool.Exec(ctx, q); err != nil {
				t.Fatal(err)
			}
		}
		old.Close()
		const nodes = 3
		stores := make([]*Store, nodes)
		errs := make([]error, nodes)
		var wg sync.WaitGroup
		for i := range nodes {
			wg.Add(1)
			go func() {
				defer wg.Done()
				stores[i], errs[i] = Open(ctx, u, Options{})
			}()
		}
		wg.Wait()
		for i := range nodes {
			if errs[i] != nil {
				t.Fatalf("node %d: %v", i, errs[i])
			}
			if i > 0 {
				stores[i].Close()
			}
		}
		var left int
		stores[0].pool.QueryRow(ctx, "SELECT count(*) FROM thread_backfill").Scan(&left)
		if left != 0 {
			t.Error("thread_backfill not emptied")
		}
		return stores[0]
	})
}
