package sqlite

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"barid/internal/store"
)

// TestBackgroundCheckpoint writes more than checkpointPages pages and
// waits for the checkpoint goroutine to run; the writer's own
// autocheckpoint is only the backstop.
func TestBackgroundCheckpoint(t *testing.T) {
	s, mb, _ := openInbox(t, "", Options{}, nil)
	ctx := context.Background()
	var auto int
	if err := s.write(ctx, func(t *wtx) error {
		return t.queryRow(`PRAGMA wal_autocheckpoint`).Scan(&auto)
	}); err != nil || auto != backstopPages {
		t.Fatalf("writer's wal_autocheckpoint %d (%v), want %d", auto, err, backstopPages)
	}
	// 40 transactions of 8 messages of 16 KiB inline: about 1,300 pages.
	body := []byte(strings.Repeat("0123456789abcdef", 1024))
	for i := range 40 {
		var msgs []store.NewMessage
		for j := range 8 {
			b := append([]byte(fmt.Sprintf("%d.%d\n", i, j)), body...)
			msgs = append(msgs, store.NewMessage{BlobID: fmt.Sprintf("%064x", i*8+j), Size: int64(len(b)), Inline: b})
		}
		if _, _, err := s.AppendMessages(ctx, mb.ID, msgs); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for s.ckpt.runs.Load() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no background checkpoint after writing 1,300 pages")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestInsertFailRollsBack: insertMessage is INSERT OR FAIL, which keeps
// what a failing statement did before it failed (messages.go). A
// request whose append fails half way (the second row collides with a
// row the request itself wrote first) must leave nothing behind, alone
// in its transaction and inside a group-commit batch, while the requests
// batched with it commit.
func TestInsertFailRollsBack(t *testing.T) {
	s, mb, _ := openInbox(t, "", Options{}, nil)
	ctx := context.Background()
	failing := func(tag string) func(t *wtx) error {
		return func(t *wtx) error {
			m, err := loadMbox(t, mb.ID)
			if err != nil {
				return err
			}
			blocker := store.NewMessage{BlobID: tag + "-blocker", Size: 1}
			if _, _, err := s.appendRowsAt(t, m, []store.UID{m.uidnext + 1}, []store.NewMessage{blocker}); err != nil {
				return err
			}
			m.uidnext -= 2 // the next append collides at its second row
			_, _, err = s.appendRows(t, m, []store.NewMessage{{BlobID: tag + "-a", Size: 1}, {BlobID: tag + "-b", Size: 1}})
			if err == nil {
				return errors.New("the colliding append succeeded")
			}
			return err
		}
	}
	count := func(q string, args ...any) int {
		var n int
		if err := s.read(ctx, func(r *reader) error { return r.queryRow(q, args...).Scan(&n) }); err != nil {
			t.Fatal(err)
		}
		return n
	}
	// Alone: the writer rolls the transaction back.
	if err := s.write(ctx, failing("alone")); err == nil || !strings.Contains(err.Error(), "UNIQUE") {
		t.Fatalf("alone: %v", err)
	}
	// In a batch: held behind a request that blocks the writer.
	release, started := make(chan struct{}), make(chan struct{})
	go s.write(ctx, func(*wtx) error { close(started); <-release; return nil }) //nolint:errcheck
	<-started
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if i == 0 {
				errs[i] = s.write(ctx, failing("batched"))
				return
			}
			_, _, errs[i] = s.AppendMessages(ctx, mb.ID, []store.NewMessage{{BlobID: fmt.Sprintf("good-%d", i), Size: 1}})
		}()
	}
	time.Sleep(300 * time.Millisecond) // let them all queue
	close(release)
	wg.Wait()
	if errs[0] == nil || !strings.Contains(errs[0].Error(), "UNIQUE") {
		t.Fatalf("batched: %v", errs[0])
	}
	for i, err := range errs[1:] {
		if err != nil {
			t.Fatalf("good append %d: %v", i+1, err)
		}
	}
	for _, tag := range []string{"alone", "batched"} {
		if n := count(`SELECT count(*) FROM messages WHERE blob_id LIKE ?`, tag+"-%"); n != 0 {
			t.Errorf("%s: %d message rows left", tag, n)
		}
		if n := count(`SELECT count(*) FROM msgflags f JOIN messages m USING (mailbox, uid) WHERE m.blob_id LIKE ?`, tag+"-%"); n != 0 {
			t.Errorf("%s: %d flag rows left", tag, n)
		}
		if n := count(`SELECT count(*) FROM fts_pending WHERE blob_id LIKE ?`, tag+"-%"); n != 0 {
			t.Errorf("%s: %d fts_pending rows left", tag, n)
		}
	}
	st, err := s.MailboxStatus(ctx, mb.ID)
	if err != nil || st.Messages != 3 || st.Mailbox.UIDNext != 4 {
		t.Fatalf("after: %+v %v", st, err)
	}
	if n := count(`SELECT count(*) FROM messages`); n != 3 {
		t.Fatalf("%d message rows, want the 3 good ones", n)
	}
}

// TestPendingCopies appends the same bytes several times while they
// wait for the full-text indexer: the trigger of step 21 must not fail
// under insertMessage's OR FAIL, and the content is pending once.
func TestPendingCopies(t *testing.T) {
	s, mb, _ := openInbox(t, "", Options{}, nil)
	ctx := context.Background()
	other, _, err := s.CreateMailbox(ctx, mb.AccountID, "Other", "")
	if err != nil {
		t.Fatal(err)
	}
	same := store.NewMessage{BlobID: strings.Repeat("ab", 32), Size: 10}
	if _, _, err := s.AppendMessages(ctx, mb.ID, []store.NewMessage{same, same}); err != nil {
		t.Fatalf("two copies in one append: %v", err)
	}
	if _, _, err := s.AppendMessages(ctx, other.ID, []store.NewMessage{same}); err != nil {
		t.Fatalf("a copy in another mailbox: %v", err)
	}
	var n int
	if err := s.read(ctx, func(r *reader) error {
		return r.queryRow(`SELECT count(*) FROM fts_pending WHERE blob_id = ?`, same.BlobID).Scan(&n)
	}); err != nil || n != 1 {
		t.Fatalf("pending rows %d (%v)", n, err)
	}
}
