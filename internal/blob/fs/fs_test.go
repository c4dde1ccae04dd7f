package fs

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"barid/internal/blob"
	"barid/internal/blob/blobtest"
)

func TestConformance(t *testing.T) {
	blobtest.Run(t, func(t *testing.T) blob.Store {
		s, err := Open(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

func TestLayoutAndModes(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "blobs")
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	id := blobtest.Put(t, s, []byte("hello"))
	p := filepath.Join(dir, id[:2], id)
	for _, tc := range []struct {
		path string
		mode os.FileMode
	}{{dir, 0o700 | os.ModeDir}, {filepath.Join(dir, "tmp"), 0o700 | os.ModeDir},
		{filepath.Join(dir, id[:2]), 0o700 | os.ModeDir}, {p, 0o600}} {
		info, err := os.Stat(tc.path)
		if err != nil {
			t.Fatal(err)
		}
		if info.Mode() != tc.mode {
			t.Errorf("%s: mode %v, want %v", tc.path, info.Mode(), tc.mode)
		}
	}
	if ents, _ := os.ReadDir(filepath.Join(dir, "tmp")); len(ents) != 0 {
		t.Errorf("tmp not empty after commit: %v", ents)
	}
	if !errors.Is(ErrInvalidID, blob.ErrNotFound) {
		t.Error("ErrInvalidID does not wrap ErrNotFound")
	}
}

func TestDedupRefreshesAge(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	id := blobtest.Put(t, s, []byte("old"))
	p := filepath.Join(dir, id[:2], id)
	old := time.Now().Add(-48 * time.Hour)
	if err := os.Chtimes(p, old, old); err != nil {
		t.Fatal(err)
	}
	age := func() int64 {
		var a int64 = -1
		s.List(context.Background(), func(got string, ageSeconds int64) error {
			if got == id {
				a = ageSeconds
			}
			return nil
		})
		return a
	}
	if a := age(); a < 47*3600 {
		t.Fatalf("age %d", a)
	}
	// Committing the same content again makes it young, so a sweep
	// running now spares it.
	blobtest.Put(t, s, []byte("old"))
	if a := age(); a > 60 {
		t.Fatalf("age after dedup %d", a)
	}
}

func TestOpenRemovesStaleTemp(t *testing.T) {
	dir := t.TempDir()
	if _, err := Open(dir); err != nil {
		t.Fatal(err)
	}
	stale := filepath.Join(dir, "tmp", "stale")
	fresh := filepath.Join(dir, "tmp", "fresh")
	for _, p := range []string{stale, fresh} {
		if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	old := time.Now().Add(-25 * time.Hour)
	os.Chtimes(stale, old, old)
	if _, err := Open(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stale); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("stale temp kept: %v", err)
	}
	if _, err := os.Stat(fresh); err != nil {
		t.Errorf("fresh temp removed: %v", err)
	}
}

// TestDeleteWhileReading: a reader that has the blob open keeps reading
// it after Delete (POSIX unlink), so a FETCH in progress is not cut off
// by the integrity sweep.
func TestDeleteWhileReading(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	id := blobtest.Put(t, s, []byte("still here"))
	r, err := s.Open(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if err := s.Delete(ctx, id); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, r.Size())
	if _, err := r.ReadAt(buf, 0); err != nil || string(buf) != "still here" {
		t.Fatalf("read after delete: %q %v", buf, err)
	}
}

func TestDeleteIfOlder(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	id := blobtest.Put(t, s, []byte("orphan"))
	p := filepath.Join(dir, id[:2], id)
	old := time.Now().Add(-time.Hour)
	if err := os.Chtimes(p, old, old); err != nil {
		t.Fatal(err)
	}
	// A delivery commits the same bytes again: the blob is young now.
	blobtest.Put(t, s, []byte("orphan"))
	if ok, err := s.DeleteIfOlder(ctx, id, 10*time.Minute); err != nil || ok {
		t.Fatalf("young blob deleted: %v %v", ok, err)
	}
	if err := os.Chtimes(p, old, old); err != nil {
		t.Fatal(err)
	}
	if ok, err := s.DeleteIfOlder(ctx, id, 10*time.Minute); err != nil || !ok {
		t.Fatalf("old blob kept: %v %v", ok, err)
	}
	if _, err := s.DeleteIfOlder(ctx, id, 0); !errors.Is(err, blob.ErrNotFound) {
		t.Fatalf("second delete: %v", err)
	}
	if _, err := s.DeleteIfOlder(ctx, "../x", 0); err == nil {
		t.Fatal("invalid id accepted")
	}
}

// TestWritebackStarted: writeback is started for every full 256 KiB as a
// large blob is written (odd write sizes included), and the bytes are
// intact.
func TestWritebackStarted(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	bw, err := s.Create(ctx)
	if err != nil {
		t.Fatal(err)
	}
	w := bw.(*writer)
	data := make([]byte, 1<<20+12345)
	for i := range data {
		data[i] = byte(i * 7)
	}
	for rest := data; len(rest) > 0; {
		n := min(len(rest), 10007)
		if _, err := w.Write(rest[:n]); err != nil {
			t.Fatal(err)
		}
		rest = rest[n:]
	}
	id, _, err := w.Commit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := int64(len(data)) / writebackChunk * writebackChunk; w.flushed != want || w.written != int64(len(data)) {
		t.Errorf("writeback started for %d of %d bytes written, want %d", w.flushed, w.written, want)
	}
	if got := blobtest.Get(t, s, id); !bytes.Equal(got, data) {
		t.Error("blob bytes differ")
	}
}
