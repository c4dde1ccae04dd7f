package sqlite

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// TestPcacheMaxKeyAfterSplit writes rows with random keys, one
// transaction each few rows, so that B-tree splits get their new pages
// out of order and balance_nonroot swaps them through the temporary page
// number (pcache.go). It checks that this happened (else the test shows
// nothing), and that no COMMIT then walked the writer's whole page
// cache; and, with the restore turned off, that the same writes do make
// COMMITs walk it, so the check can fail.
func TestPcacheMaxKeyAfterSplit(t *testing.T) {
	if pcacheErr != nil {
		t.Fatal(pcacheErr)
	}
	run := func(t *testing.T, noRestore bool) (moves, restores, walks int64) {
		s, _, _ := openTest(t)
		ctx := context.Background()
		pcacheNoRestore.Store(noRestore)
		defer pcacheNoRestore.Store(false)
		m0, r0, w0 := pcacheTempMoves.Load(), pcacheRestores.Load(), pcacheFullWalks.Load()
		rng := rand.New(rand.NewPCG(1, 2))
		val := strings.Repeat("v", 300)
		for tx := range 120 {
			err := s.write(ctx, func(w *wtx) error {
				for range 20 {
					if _, err := w.exec(`INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)`, fmt.Sprintf("pc%016x", rng.Uint64()), val); err != nil {
						return err
					}
				}
				if tx%3 == 2 {
					// Free pages, so later splits reuse them out of order.
					if _, err := w.exec(`DELETE FROM meta WHERE key IN (SELECT key FROM meta WHERE key LIKE 'pc%' ORDER BY value, key DESC LIMIT 15)`); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		return pcacheTempMoves.Load() - m0, pcacheRestores.Load() - r0, pcacheFullWalks.Load() - w0
	}
	moves, restores, walks := run(t, false)
	t.Logf("restore on: %d moves to the temporary page, %d restores, %d full walks at COMMIT", moves, restores, walks)
	if moves == 0 {
		t.Fatal("no split moved a page to the temporary number: the test shows nothing")
	}
	if restores != moves {
		t.Errorf("%d moves to the temporary page number, %d restores of iMaxKey", moves, restores)
	}
	if walks != 0 {
		t.Errorf("%d COMMITs walked the whole page cache", walks)
	}
	moves, _, walks = run(t, true)
	t.Logf("restore off: %d moves to the temporary page, %d full walks at COMMIT", moves, walks)
	if moves == 0 || walks == 0 {
		t.Errorf("without the restore: %d moves, %d full walks; want both > 0 (else the check above cannot fail)", moves, walks)
	}
}
