package sqlite

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"barid/internal/store"
)

// TestGateDefersWaits: a caller carrying a store.Gate is not held by the
// syncer. With the fdatasync held, its APPEND returns at COMMIT, its
// EXPUNGE after it too (both in the WAL before one sync), its settled
// reads of the mailbox return at once with the new UID, and the Gate is
// what waits: Pending until the sync, Wait returning only after it.
// Without a Gate, the same read still waits (no one else is shown the
// unsynced UID), and nothing is published before the sync.
func TestGateDefersWaits(t *testing.T) {
	ctx := context.Background()
	var mu sync.Mutex
	var published []store.Change
	pub := make(chan struct{}, 16)
	s, mb, uids0 := openInbox(t, "", Options{WALSyncer: true, OnCommit: func(ch []store.Change) {
		mu.Lock()
		published = append(published, ch...)
		mu.Unlock()
		pub <- struct{}{}
	}}, []store.NewMessage{{BlobID: "a1", Size: 1}, {BlobID: "a2", Size: 1}})
	if _, _, _, err := s.StoreFlags(ctx, mb.ID, uids0[:1], store.FlagsAdd, store.Flags{System: store.FlagDeleted}, 0); err != nil {
		t.Fatal(err)
	}
	for len(pub) > 0 {
		<-pub
	}
	mu.Lock()
	published = nil
	mu.Unlock()
	syncsBefore := s.sync.syncs.Load()
	entered, release := holdSyncer(t, s)

	var g store.Gate
	gctx := store.WithGate(ctx, &g)
	done := make(chan error, 1)
	var added []store.UID
	go func() {
		var err error
		added, _, err = s.AppendMessages(gctx, mb.ID, []store.NewMessage{{BlobID: "a3", Size: 1}})
		if err == nil {
			_, _, err = s.Expunge(gctx, mb.ID, nil)
		}
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a write with a Gate waited for the held fdatasync")
	}
	<-entered
	if !g.Pending() {
		t.Fatal("the Gate is open before the sync of its writes")
	}
	_, uids, err := s.MessageUIDs(gctx, mb.ID)
	if err != nil {
		t.Fatal(err)
	}
	if want := []store.UID{uids0[1], added[0]}; !slices.Equal(uids, want) {
		t.Fatalf("MessageUIDs with the Gate = %v, want %v", uids, want)
	}
	mu.Lock()
	if len(published) != 0 {
		t.Fatalf("published before the sync: %+v", published)
	}
	mu.Unlock()
	read := make(chan struct{})
	go func() {
		s.MessageUIDs(ctx, mb.ID) //nolint:errcheck
		close(read)
	}()
	waited := make(chan error, 1)
	go func() { waited <- g.Wait() }()
	if !notWithin(read, 50*time.Millisecond) {
		t.Error("a read without a Gate returned an unsynced UID")
	}
	if !notWithin(waited, 50*time.Millisecond) {
		t.Fatal("Gate.Wait returned before the sync")
	}
	release()
	if err := <-waited; err != nil {
		t.Fatal(err)
	}
	<-read
	if g.Pending() {
		t.Error("the Gate is still pending after the sync")
	}
	if n := s.sync.syncs.Load() - syncsBefore; n < 1 || n > 2 {
		t.Errorf("%d fdatasyncs for the APPEND and the EXPUNGE", n)
	}
	<-pub
	<-pub
	mu.Lock()
	defer mu.Unlock()
	kinds := []store.ChangeKind{}
	for _, c := range published {
		kinds = append(kinds, c.Kind)
	}
	if len(kinds) < 2 || kinds[0] != store.ChangeAdded {
		t.Fatalf("publication after the sync: %+v", published)
	}
}
