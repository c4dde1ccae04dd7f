package sqlite

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"barid/internal/store"
)

// holdSyncer makes the syncer stop before each fdatasync until release
// is called; entered receives a value each time it stops.
func holdSyncer(t *testing.T, s *Store) (entered chan struct{}, release func()) {
	t.Helper()
	if s.sync == nil {
		t.Fatal("store has no syncer")
	}
	entered = make(chan struct{}, 1)
	hold := make(chan struct{})
	f := func() {
		select {
		case entered <- struct{}{}:
		default:
		}
		<-hold
	}
	s.sync.beforeSync.Store(&f)
	var once sync.Once
	release = func() { once.Do(func() { close(hold) }) }
	t.Cleanup(release)
	return entered, release
}

// notWithin reports whether ch stays open and empty for d.
func notWithin[T any](ch <-chan T, d time.Duration) bool {
	select {
	case <-ch:
		return false
	case <-time.After(d):
		return true
	}
}

// TestSyncerAcksAfterFsync holds the syncer before its fdatasync while
// an APPEND waits for it, and checks what the syncer promises
// (durable.go): the APPEND is committed in SQLite (a raw read sees it)
// but not answered; the settled reads of that mailbox (UIDs, STATUS)
// wait, while another account's reads and flag changes go on; a flag
// change in the same account waits behind the APPEND (commit order);
// a write that changed nothing is answered without a sync; once the
// sync runs, everything is answered and the new UID shows.
func TestSyncerAcksAfterFsync(t *testing.T) {
	ctx := context.Background()
	var mu sync.Mutex
	var published []store.Change
	s, mbA, uidsA := openInbox(t, "", Options{WALSyncer: true, OnCommit: func(ch []store.Change) {
		mu.Lock()
		published = append(published, ch...)
		mu.Unlock()
	}}, []store.NewMessage{{BlobID: "a1", Size: 1}})
	acctB, err := s.CreateAccount(ctx, "other", nil)
	if err != nil {
		t.Fatal(err)
	}
	mbB, err := s.Mailbox(ctx, acctB.ID, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	uidsB, _, err := s.AppendMessages(ctx, mbB.ID, []store.NewMessage{{BlobID: "b1", Size: 1}})
	if err != nil {
		t.Fatal(err)
	}
	syncsBefore := s.sync.syncs.Load()

	entered, release := holdSyncer(t, s)
	appended := make(chan []store.UID, 1)
	go func() {
		uids, _, err := s.AppendMessages(ctx, mbA.ID, []store.NewMessage{{BlobID: "a2", Size: 1}})
		if err != nil {
			t.Error(err)
		}
		appended <- uids
	}()
	<-entered
	if !notWithin(appended, 100*time.Millisecond) {
		t.Fatal("APPEND answered before the fdatasync that covers it")
	}
	var rows int
	if err := s.read(ctx, func(r *reader) error {
		return r.queryRow(`SELECT count(*) FROM msgflags WHERE mailbox = ?`, mbA.ID).Scan(&rows)
	}); err != nil {
		t.Fatal(err)
	}
	if rows != 2 {
		t.Fatalf("the APPEND is not committed yet (%d rows): the test holds the wrong step", rows)
	}

	// Settled reads of mailbox A wait; a deadline ends the wait.
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	if _, err := s.MailboxStatus(short, mbA.ID); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("STATUS of the mailbox with an unsynced APPEND: %v, want to wait", err)
	}
	cancel()
	uidsRead := make(chan []store.UID, 1)
	go func() {
		_, uids, err := s.MessageUIDs(ctx, mbA.ID)
		if err != nil {
			t.Error(err)
		}
		uidsRead <- uids
	}()
	if !notWithin(uidsRead, 50*time.Millisecond) {
		t.Fatal("MessageUIDs returned a UID that is not durable yet")
	}
	mu.Lock()
	for _, c := range published {
		if c.MailboxID == mbA.ID && c.Kind == store.ChangeAdded && c.UID > uidsA[0] {
			t.Errorf("unsynced APPEND published: %+v", c)
		}
	}
	mu.Unlock()

	// Account B is not held up: reads and a flag change (lazy) answer.
	if _, got, err := s.MessageUIDs(ctx, mbB.ID); err != nil || !slices.Equal(got, uidsB) {
		t.Fatalf("other account's UIDs: %v %v", got, err)
	}
	if _, _, _, err := s.StoreFlags(ctx, mbB.ID, uidsB, store.FlagsAdd, store.Flags{System: store.FlagSeen}, 0); err != nil {
		t.Fatal(err)
	}

	// An EXPUNGE with nothing \Deleted writes no page: nothing to
	// fsync, so it is answered at once.
	expunged := make(chan error, 1)
	go func() {
		_, _, err := s.Expunge(ctx, mbB.ID, nil)
		expunged <- err
	}()
	select {
	case err := <-expunged:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("an EXPUNGE that wrote nothing waited for the held fdatasync")
	}

	// A flag change of account A waits behind its APPEND.
	stored := make(chan struct{})
	go func() {
		if _, _, _, err := s.StoreFlags(ctx, mbA.ID, uidsA, store.FlagsAdd, store.Flags{System: store.FlagFlagged}, 0); err != nil {
			t.Error(err)
		}
		close(stored)
	}()
	if !notWithin(stored, 50*time.Millisecond) {
		t.Error("flag change answered ahead of its account's unsynced APPEND")
	}

	release()
	got := <-appended
	if len(got) != 1 || got[0] <= uidsA[0] {
		t.Fatalf("APPEND gave %v", got)
	}
	if uids := <-uidsRead; !slices.Contains(uids, got[0]) {
		t.Fatalf("after the sync, MessageUIDs %v lacks %d", uids, got[0])
	}
	<-stored
	if n := s.sync.syncs.Load() - syncsBefore; n < 1 {
		t.Fatalf("%d fdatasyncs", n)
	}
	mu.Lock()
	defer mu.Unlock()
	added, flagged := -1, -1
	for i, c := range published {
		if c.MailboxID != mbA.ID {
			continue
		}
		if c.Kind == store.ChangeAdded && c.UID == got[0] {
			added = i
		}
		if c.Kind == store.ChangeFlags && c.Flags.System&store.FlagFlagged != 0 {
			flagged = i
		}
	}
	if added < 0 || flagged < 0 || flagged < added {
		t.Fatalf("publication order: APPEND at %d, STORE at %d", added, flagged)
	}
}

// TestSyncerGroupsFsyncs: concurrent APPENDs share fdatasyncs, and each
// is answered only after one ran.
func TestSyncerGroupsFsyncs(t *testing.T) {
	ctx := context.Background()
	s, mb, _ := openInbox(t, "", Options{WALSyncer: true}, nil)
	before := s.sync.syncs.Load()
	const n = 40
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			if _, _, err := s.AppendMessages(ctx, mb.ID, []store.NewMessage{{BlobID: string(rune('a' + i)), Size: 1}}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	syncs := s.sync.syncs.Load() - before
	if syncs < 1 || syncs > n {
		t.Fatalf("%d APPENDs, %d fdatasyncs", n, syncs)
	}
	t.Logf("%d concurrent APPENDs, %d fdatasyncs", n, syncs)
	st, err := s.MailboxStatus(ctx, mb.ID)
	if err != nil || st.Messages != n {
		t.Fatalf("status %+v %v", st, err)
	}
}
