package fts_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"barid/internal/blob/fs"
	"barid/internal/blob/tiered"
	"barid/internal/deliver"
	"barid/internal/fts"
	"barid/internal/mail/mime"
	"barid/internal/notify"
	"barid/internal/store"
	"barid/internal/store/sqlite"
)

// A batch stops taking contents once their text reaches BatchBytes (and
// always takes one), so that large messages do not hold the SQLite
// writer, which deliveries share, for seconds; the rest stay pending
// and later batches index them.
func TestStepBatchBytes(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st, err := sqlite.Open(ctx, filepath.Join(dir, "barid.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	files, err := fs.Open(filepath.Join(dir, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	acc, err := st.CreateAccount(ctx, "alice", nil)
	if err != nil {
		t.Fatal(err)
	}
	mb, err := st.Mailbox(ctx, acc.ID, "INBOX")
	if errors.Is(err, store.ErrNoMailbox) {
		mb, _, err = st.CreateMailbox(ctx, acc.ID, "INBOX", "")
	}
	if err != nil {
		t.Fatal(err)
	}
	blobs := tiered.New(st, files)
	d := &deliver.Deliverer{Store: st, Blobs: blobs, Bus: notify.New(), Limits: mime.DefaultLimits()}
	const n, body = 6, 100_000
	for i := range n {
		msg := fmt.Sprintf("From: a@example.org\r\nSubject: m%d\r\n\r\n", i) + strings.Repeat(fmt.Sprintf("word%d text line\r\n", i), body/18)
		if _, err := d.Deliver(ctx, mb.ID, strings.NewReader(msg), 0, store.Flags{}, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	pending := func() int64 {
		s, err := st.TextIndexStatus(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return s.Pending
	}
	if p := pending(); p != n {
		t.Fatalf("pending %d, want %d", p, n)
	}
	ix := fts.New(st, blobs, nil)
	ix.BatchBytes = 150_000 // the second 100 KB text reaches it
	for _, want := range []int{2, 2, 2, 0} {
		got, err := ix.Step(ctx, 0)
		if err != nil || got != want {
			t.Fatalf("Step: %d, %v; want %d", got, err, want)
		}
	}
	if p := pending(); p != 0 {
		t.Fatalf("pending %d after the batches", p)
	}
	// A budget below one text still indexes one per batch.
	ix.BatchBytes = 1
	msg := "From: a@example.org\r\nSubject: last\r\n\r\n" + strings.Repeat("another line\r\n", 1000)
	if _, err := d.Deliver(ctx, mb.ID, strings.NewReader(msg), 0, store.Flags{}, time.Now()); err != nil {
		t.Fatal(err)
	}
	if got, err := ix.Step(ctx, 0); err != nil || got != 1 {
		t.Fatalf("Step with a 1-byte budget: %d, %v", got, err)
	}
}
