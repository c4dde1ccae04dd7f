package sqlite

import (
	"context"
	"path/filepath"
	"testing"
)

func syncMode(t *testing.T, s *Store, lazy bool) int {
	t.Helper()
	var mode int
	fn := func(w *wtx) error {
		return w.w.conn.QueryRowContext(context.Background(), "PRAGMA synchronous").Scan(&mode)
	}
	var err error
	if lazy {
		err = s.writeLazy(context.Background(), fn)
	} else {
		err = s.write(context.Background(), fn)
	}
	if err != nil {
		t.Fatal(err)
	}
	return mode
}

// Flag-change batches commit with synchronous=NORMAL (1) unless
// SyncFlags is set; everything else, and any batch that includes a
// durable request, commits with FULL (2).
func TestLazyWritesUseNormalSync(t *testing.T) {
	for _, syncFlags := range []bool{false, true} {
		s, err := Open(context.Background(), filepath.Join(t.TempDir(), "db"), Options{SyncFlags: syncFlags})
		if err != nil {
			t.Fatal(err)
		}
		want := 1
		if syncFlags {
			want = 2
		}
		if got := syncMode(t, s, true); got != want {
			t.Errorf("SyncFlags=%v: lazy batch runs with synchronous=%d, want %d", syncFlags, got, want)
		}
		if got := syncMode(t, s, false); got != 2 {
			t.Errorf("SyncFlags=%v: durable batch runs with synchronous=%d, want 2", syncFlags, got)
		}
		if got := syncMode(t, s, true); got != want {
			t.Errorf("SyncFlags=%v: second lazy batch: %d", syncFlags, got)
		}
		s.Close()
	}
}
