package sqlite

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"barid/internal/store"
)

// commitLog records ObserveCommit's durable flags.
type commitLog struct {
	mu      sync.Mutex
	durable []bool
}

func (l *commitLog) observe(_ time.Duration, durable bool) {
	l.mu.Lock()
	l.durable = append(l.durable, durable)
	l.mu.Unlock()
}

// since returns the flags recorded after the first n.
func (l *commitLog) since(n int) []bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]bool(nil), l.durable[n:]...)
}

func (l *commitLog) len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.durable)
}

// TestExpungeIsLazy: without the syncer, an EXPUNGE (and UID EXPUNGE,
// which is the same call with UIDs) commits with synchronous=NORMAL
// like a flag change unless SyncIndex is set ([storage] sync_index,
// Dovecot's mail_fsync=optimized); a MOVE, whose transaction adds the
// messages to the destination, and an APPEND or COPY always commit
// with the fsync.
func TestExpungeIsLazy(t *testing.T) {
	for _, syncIndex := range []bool{false, true} {
		t.Run(fmt.Sprint("sync_index=", syncIndex), func(t *testing.T) {
			log := &commitLog{}
			s, a, in := openLogged(t, Options{SyncIndex: syncIndex, ObserveCommit: log.observe})
			ctx := context.Background()
			other, _, err := s.CreateMailbox(ctx, a, "Other", "")
			if err != nil {
				t.Fatal(err)
			}
			msgs := make([]store.NewMessage, 4)
			for i := range msgs {
				msgs[i] = store.NewMessage{BlobID: fmt.Sprintf("b%d", i), Size: 1}
			}
			// one runs op and returns whether its commit was durable.
			one := func(what string, op func() error) bool {
				t.Helper()
				n := log.len()
				if err := op(); err != nil {
					t.Fatalf("%s: %v", what, err)
				}
				got := log.since(n)
				if len(got) != 1 {
					t.Fatalf("%s: %d commits %v, want 1", what, len(got), got)
				}
				return got[0]
			}
			var uids []store.UID
			if !one("APPEND", func() (err error) { uids, _, err = s.AppendMessages(ctx, in.ID, msgs); return }) {
				t.Errorf("APPEND committed without the fsync")
			}
			if !one("COPY", func() error { _, _, err := s.CopyMessages(ctx, in.ID, uids[:1], other.ID); return err }) {
				t.Errorf("COPY committed without the fsync")
			}
			if !one("MOVE", func() error { _, _, err := s.MoveMessages(ctx, in.ID, uids[:1], other.ID); return err }) {
				t.Errorf("MOVE committed without the fsync: its arrival must be durable")
			}
			if got := one("UID EXPUNGE", func() error { _, _, err := s.Expunge(ctx, in.ID, uids[1:2]); return err }); got != syncIndex {
				t.Errorf("UID EXPUNGE: durable commit %v, want %v", got, syncIndex)
			}
			if _, _, _, err := s.StoreFlags(ctx, in.ID, uids[2:], store.FlagsAdd, store.Flags{System: store.FlagDeleted}, 0); err != nil {
				t.Fatal(err)
			}
			var gone []store.UID
			if got := one("EXPUNGE", func() (err error) { gone, _, err = s.Expunge(ctx, in.ID, nil); return }); got != syncIndex {
				t.Errorf("EXPUNGE: durable commit %v, want %v", got, syncIndex)
			}
			if len(gone) != 2 {
				t.Fatalf("EXPUNGE removed %v, want 2 messages", gone)
			}
		})
	}
}

// TestFlushSyncs: Flush makes the lazy commits before it durable: a
// durable commit of its own without the syncer (synchronous=FULL
// fsyncs the WAL, in which every earlier commit precedes it), an
// fdatasync of the syncer's with it. A lazy EXPUNGE alone fsyncs
// nothing.
func TestFlushSyncs(t *testing.T) {
	for _, syncer := range []bool{false, true} {
		t.Run(fmt.Sprint("syncer=", syncer), func(t *testing.T) {
			log := &commitLog{}
			s, _, in := openLogged(t, Options{WALSyncer: syncer, ObserveCommit: log.observe})
			ctx := context.Background()
			uids, _, err := s.AppendMessages(ctx, in.ID, []store.NewMessage{{BlobID: "b", Size: 1}})
			if err != nil {
				t.Fatal(err)
			}
			durable := func(from int) int {
				n := 0
				for _, d := range log.since(from) {
					if d {
						n++
					}
				}
				return n
			}
			n := log.len()
			if _, _, err := s.Expunge(ctx, in.ID, uids); err != nil {
				t.Fatal(err)
			}
			if d := durable(n); d != 0 {
				t.Fatalf("the lazy EXPUNGE ran %d durable commits or fsyncs", d)
			}
			n = log.len()
			if err := s.Flush(ctx); err != nil {
				t.Fatal(err)
			}
			if d := durable(n); d != 1 {
				t.Fatalf("Flush ran %d durable commits or fsyncs, want 1", d)
			}
			if ok, err := s.BlobReferenced(ctx, "b"); err != nil || ok {
				t.Fatalf("BlobReferenced after the expunge: %v %v", ok, err)
			}
		})
	}
}

// openLogged opens a store with opts in a new folder, closed when the
// test ends, with an account "user": it returns the store, the
// account's id and its INBOX.
func openLogged(t *testing.T, opts Options) (*Store, int64, *store.Mailbox) {
	t.Helper()
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "db"), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	a, err := s.CreateAccount(ctx, "user", nil)
	if err != nil {
		t.Fatal(err)
	}
	in, err := s.Mailbox(ctx, a.ID, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	return s, a.ID, in
}
