package app

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"barid/internal/blob"
	"barid/internal/config"
	"barid/internal/store"
)

// flushSpy counts the store's Flush calls.
type flushSpy struct {
	store.Store
	flushes atomic.Int64
}

func (s *flushSpy) Flush(ctx context.Context) error {
	err := s.Store.Flush(ctx)
	if err == nil {
		s.flushes.Add(1)
	}
	return err
}

// deleteSpy records, for each blob deleted, how many Flushes the store
// had completed when the deletion began.
type deleteSpy struct {
	blob.Store
	spy     *flushSpy
	deleted map[string]int64
}

func (b *deleteSpy) Delete(ctx context.Context, id string) error {
	b.deleted[id] = b.spy.flushes.Load()
	return b.Store.Delete(ctx, id)
}

func (b *deleteSpy) DeleteIfOlder(ctx context.Context, id string, age time.Duration) (bool, error) {
	b.deleted[id] = b.spy.flushes.Load()
	return b.Store.(interface {
		DeleteIfOlder(ctx context.Context, id string, age time.Duration) (bool, error)
	}).DeleteIfOlder(ctx, id, age)
}

// TestSweepFlushesBeforeDeletingExpungedBytes: an EXPUNGE commits
// without an fsync ([storage] sync_index = false, the default), so a
// power loss before the next fsynced commit brings the message back.
// The sweep must therefore make the expunge durable (Store.Flush)
// after it found the blob unreferenced and before it deletes the
// file; otherwise the restored row would point to missing bytes.
// The store-side tests (sqlite TestExpungeIsLazy, TestFlushSyncs;
// postgres TestExpungeLazyCommit) show that the expunge is lazy and
// that Flush makes it durable.
func TestSweepFlushesBeforeDeletingExpungedBytes(t *testing.T) {
	dir := t.TempDir()
	cfg := config.Default()
	cfg.DataDir = dir
	cfg.Storage.Metadata = ""
	cfg.Storage.InlineMaxBytes = 0 // every message is a blob file
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	if cfg.Storage.SyncIndex {
		t.Fatal("the default is sync_index = true; this test is about the lazy expunge")
	}
	ctx := context.Background()
	a, err := New(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer a.data.Close()
	spy := &flushSpy{Store: a.data.Store}
	blobs := &deleteSpy{Store: a.data.Blobs, spy: spy, deleted: map[string]int64{}}
	a.data.Store, a.data.Blobs = spy, blobs

	acct, err := spy.CreateAccount(ctx, "user", nil)
	if err != nil {
		t.Fatal(err)
	}
	inbox, err := spy.Mailbox(ctx, acct.ID, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	put := func(body string) string {
		w, err := blobs.Create(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(w, body); err != nil {
			t.Fatal(err)
		}
		id, _, err := w.Commit(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	gone, kept := put("From: a\r\n\r\nexpunged\r\n"), put("From: b\r\n\r\nkept\r\n")
	uids, _, err := spy.AppendMessages(ctx, inbox.ID, []store.NewMessage{{BlobID: gone, Size: 22}, {BlobID: kept, Size: 18}})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := spy.Expunge(ctx, inbox.ID, uids[:1]); err != nil {
		t.Fatal(err)
	}
	before := spy.flushes.Load()
	// The periodic sweep with grace 0: both blobs are old enough.
	time.Sleep(10 * time.Millisecond)
	if err := a.integritySweep(ctx, 0, time.Time{}); err != nil {
		t.Fatal(err)
	}
	path := func(id string) string { return filepath.Join(dir, "blobs", id[:2], id) }
	if _, err := os.Stat(path(gone)); !os.IsNotExist(err) {
		t.Fatalf("the expunged message's blob is still there (%v)", err)
	}
	if _, err := os.Stat(path(kept)); err != nil {
		t.Fatalf("the sweep took a referenced blob: %v", err)
	}
	at, ok := blobs.deleted[gone]
	if !ok {
		t.Fatalf("the blob went without a Delete the test saw: %v", blobs.deleted)
	}
	if at <= before {
		t.Fatalf("the blob was deleted after %d flushes, the expunge left %d: deleted before the expunge was made durable", at, before)
	}
	if _, ok := blobs.deleted[kept]; ok {
		t.Fatalf("Delete called for a referenced blob")
	}
}
