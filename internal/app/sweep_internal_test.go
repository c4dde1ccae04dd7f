package app

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"barid/internal/config"
)

// TestStartupSweepSparesNewBlobs: the start-up sweep runs while the
// servers already serve, so it must take only the orphans written
// before this process started (a crash's), never the blob of a
// delivery this process is still committing: an unreferenced blob
// written before startedAt goes, one written after it stays.
func TestStartupSweepSparesNewBlobs(t *testing.T) {
	dir := t.TempDir()
	cfg := config.Default()
	cfg.DataDir = dir
	cfg.Storage.Metadata = "" // the embedded store: blobs are files in dir
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	a, err := New(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer a.data.Close()
	write := func(content string, mtime time.Time) string {
		sum := sha256.Sum256([]byte(content))
		id := hex.EncodeToString(sum[:])
		p := filepath.Join(dir, "blobs", id[:2], id)
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, mtime, mtime); err != nil {
			t.Fatal(err)
		}
		return p
	}
	// The crash's orphan, written a moment before this start.
	old := write("From: a\r\n\r\nbefore the start\r\n", a.startedAt.Add(-200*time.Millisecond))
	// A delivery of this process, bytes written, transaction not yet
	// committed.
	fresh := write("From: b\r\n\r\nafter the start\r\n", a.startedAt.Add(50*time.Millisecond))
	if err := a.integritySweep(context.Background(), 0, a.startedAt); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(old); !os.IsNotExist(err) {
		t.Errorf("the orphan written before the start is still there (%v)", err)
	}
	if _, err := os.Stat(fresh); err != nil {
		t.Errorf("the start-up sweep took a blob written after the start: %v", err)
	}
	// The periodic sweep (no start time, grace 0) takes it once its
	// mtime is past.
	time.Sleep(time.Until(a.startedAt.Add(100 * time.Millisecond)))
	if err := a.integritySweep(context.Background(), 0, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(fresh); !os.IsNotExist(err) {
		t.Errorf("grace 0 kept an unreferenced blob (%v)", err)
	}
}
