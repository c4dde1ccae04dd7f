package sqlite

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"barid/internal/store"
	"barid/internal/store/storetest"
)

// opener returns an open function for storetest: each *testing.T gets
// its own database file, and opening again with the same T reopens it.
func opener() func(t *testing.T) store.Store { return openerWith(Options{}) }

func openerWith(opts Options) func(t *testing.T) store.Store {
	var mu sync.Mutex
	dirs := map[*testing.T]string{}
	return func(t *testing.T) store.Store {
		mu.Lock()
		dir, ok := dirs[t]
		if !ok {
			dir = t.TempDir()
			dirs[t] = dir
		}
		mu.Unlock()
		s, err := Open(context.Background(), filepath.Join(dir, "barid.db"), opts)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
}

func TestConformance(t *testing.T) {
	storetest.Run(t, opener())
}

// TestConformanceIndexed runs the same suite with every mailbox in the
// flag index (FlagIndexMin 1), so flags, sizes and flag searches come
// from memory wherever the index can answer.
func TestConformanceIndexed(t *testing.T) {
	storetest.Run(t, openerWith(Options{FlagIndexMin: 1}))
}

// TestConformanceNoIndex runs it with the flag index disabled.
func TestConformanceNoIndex(t *testing.T) {
	storetest.Run(t, openerWith(Options{FlagIndexEntries: -1}))
}

func TestFileModes(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	path := filepath.Join(dir, "barid.db")
	s, err := Open(context.Background(), path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateAccount(context.Background(), "u", nil); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		info, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if info.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v, want 0600", p, info.Mode().Perm())
		}
	}
	if info, err := os.Stat(dir); err != nil || info.Mode().Perm() != 0o700 {
		t.Errorf("dir mode %v, %v", info.Mode().Perm(), err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Account(context.Background(), "u"); !errors.Is(err, ErrClosed) {
		t.Errorf("after Close: %v", err)
	}
	if _, err := s.CreateAccount(context.Background(), "v", nil); !errors.Is(err, ErrClosed) {
		t.Errorf("write after Close: %v", err)
	}
}

// TestOddPath: the database path goes into a file: URI; characters that
// mean something there must be escaped.
func TestOddPath(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a b?c#d%20e")
	path := filepath.Join(dir, "bar id.db")
	s, err := Open(context.Background(), path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateAccount(context.Background(), "u", nil); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("database not at %s: %v", path, err)
	}
	s, err = Open(context.Background(), path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Account(context.Background(), "u"); err != nil {
		t.Fatal(err)
	}
}

// Bulk readers map the database file (Options.MmapSizeMB); the others,
// used for small lookups, do not.
func TestReadersMmap(t *testing.T) {
	s, err := Open(context.Background(), filepath.Join(t.TempDir(), "barid.db"), Options{MmapSizeMB: 64})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, tc := range []struct {
		read func(context.Context, func(*reader) error) error
		want int64
	}{{s.bulkRead, 64 << 20}, {s.read, 0}} {
		var n int64
		if err := tc.read(context.Background(), func(r *reader) error {
			return r.c.conn.QueryRowContext(r.ctx, "PRAGMA mmap_size").Scan(&n)
		}); err != nil {
			t.Fatal(err)
		}
		if n != tc.want {
			t.Errorf("mmap_size = %d, want %d", n, tc.want)
		}
	}
}

// TestConformanceDocMap runs the suite's full-text cases with every
// lookup of the vocabulary answered through the mailbox's document map
// (DocMapMinHits 1, loaded in the lookup; ftsdocmap.go).
func TestConformanceDocMap(t *testing.T) {
	syncDocMap(t)
	storetest.RunText(t, openerWith(Options{DocMapMinHits: 1}))
}
