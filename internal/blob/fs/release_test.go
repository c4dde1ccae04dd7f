package fs

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"barid/internal/blob"
)

func commitStamped(t *testing.T, s *Store, body string) (string, time.Time) {
	t.Helper()
	w, err := s.Create(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte(body))
	id, _, err := w.Commit(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return id, w.(blob.Stamped).Stamp()
}

// TestRelease: a blob committed for a message that was not stored is
// deleted, unless a later Commit of the same bytes touched it (that
// writer is about to reference it) or inUse says a message holds it.
func TestRelease(t *testing.T) {
	ctx := context.Background()
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	// Fake clock: every Commit of existing bytes gets a new time.
	clock := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s.now = func() time.Time { clock = clock.Add(time.Second); return clock }
	notUsed := func(context.Context) (bool, error) { return false, nil }

	id, stamp := commitStamped(t, s, "alone")
	if ok, err := s.Release(ctx, id, stamp, notUsed); !ok || err != nil {
		t.Fatalf("Release = %v, %v", ok, err)
	}
	if _, err := os.Stat(s.path(id)); !os.IsNotExist(err) {
		t.Fatalf("blob still there: %v", err)
	}

	id, stamp = commitStamped(t, s, "shared")
	id2, stamp2 := commitStamped(t, s, "shared") // a second delivery dedups
	if id2 != id || stamp2.Equal(stamp) {
		t.Fatalf("dedup: %s %v vs %s %v", id, stamp, id2, stamp2)
	}
	if ok, err := s.Release(ctx, id, stamp, notUsed); ok || err != nil {
		t.Fatalf("Release after a dedup = %v, %v; want kept", ok, err)
	}
	used := func(context.Context) (bool, error) { return true, nil }
	if ok, err := s.Release(ctx, id, stamp2, used); ok || err != nil {
		t.Fatalf("Release of a referenced blob = %v, %v; want kept", ok, err)
	}
	if ok, err := s.Release(ctx, id, stamp2, notUsed); !ok || err != nil {
		t.Fatalf("Release by the last writer = %v, %v", ok, err)
	}
	if ok, err := s.Release(ctx, id, stamp2, notUsed); ok || err != nil {
		t.Fatalf("Release of a missing blob = %v, %v", ok, err)
	}
}

// TestSweepTmp: spool files older than minAge go, unless an open writer
// owns them; young ones stay.
func TestSweepTmp(t *testing.T) {
	ctx := context.Background()
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	w, err := s.Create(ctx)
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("slow client"))
	old := time.Now().Add(-2 * time.Hour)
	leftover := filepath.Join(s.tmp, "leftover")
	young := filepath.Join(s.tmp, "young")
	for _, p := range []string{leftover, young} {
		if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	os.Chtimes(leftover, old, old)
	os.Chtimes(w.(*writer).name, old, old) // open, but idle for two hours
	n, err := s.SweepTmp(ctx, time.Hour)
	if err != nil || n != 1 {
		t.Fatalf("SweepTmp = %d, %v; want 1", n, err)
	}
	for p, want := range map[string]bool{leftover: false, young: true, w.(*writer).name: true} {
		if _, err := os.Stat(p); (err == nil) != want {
			t.Errorf("%s exists=%v, want %v", filepath.Base(p), err == nil, want)
		}
	}
	if _, _, err := w.Commit(ctx); err != nil {
		t.Fatalf("Commit after the sweep: %v", err)
	}
}
