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

// With the syncer (WALSyncer) every batch commits with
// synchronous=NORMAL (1): the syncer fsyncs the WAL (durable.go).
// Without it, flag-change batches commit with NORMAL unless SyncIndex
// is set; everything else, and any batch that includes a durable
// request, commits with FULL (2).
func TestLazyWritesUseNormalSync(t *testing.T) {
	for _, inWriter := range []bool{false, true} {
		for _, syncFlags := range []bool{false, true} {
			s, err := Open(context.Background(), filepath.Join(t.TempDir(), "db"), Options{SyncIndex: syncFlags, WALSyncer: !inWriter})
			if err != nil {
				t.Fatal(err)
			}
			wantLazy, wantDurable := 1, 1
			if inWriter {
				wantDurable = 2
				if syncFlags {
					wantLazy = 2
				}
			}
			if got := syncMode(t, s, true); got != wantLazy {
				t.Errorf("WALSyncer=%v SyncIndex=%v: lazy batch runs with synchronous=%d, want %d", !inWriter, syncFlags, got, wantLazy)
			}
			if got := syncMode(t, s, false); got != wantDurable {
				t.Errorf("WALSyncer=%v SyncIndex=%v: durable batch runs with synchronous=%d, want %d", !inWriter, syncFlags, got, wantDurable)
			}
			if got := syncMode(t, s, true); got != wantLazy {
				t.Errorf("WALSyncer=%v SyncIndex=%v: second lazy batch: %d", !inWriter, syncFlags, got)
			}
			s.Close()
		}
	}
}
