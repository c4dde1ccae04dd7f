package storetest

import (
	"context"
	"errors"
	"testing"

	"barid/internal/store"
)

// testDeletedSize exercises store.DeletedSizer (STATUS DELETED-STORAGE,
// RFC 9208): the sum of the sizes of the messages with \Deleted, which
// follows STORE, EXPUNGE and MOVE, is 0 for a mailbox without any and
// ErrNoMailbox for one that does not exist; it equals what EXPUNGE then
// frees from the mailbox's size.
func testDeletedSize(t *testing.T, open func(t *testing.T) store.Store) {
	s := openClosed(t, open)
	ds, ok := s.(store.DeletedSizer)
	if !ok {
		t.Fatal("backend has no store.DeletedSizer")
	}
	ctx := context.Background()
	a, mb := setup(t, s)
	other := mkbox(t, s, a.ID, "Other")
	sizes := map[store.UID]int64{}
	for i := 0; i < 5; i++ {
		m := msg(i)
		m.Size = int64(100 * (i + 1))
		uids, _, err := s.AppendMessages(ctx, mb.ID, []store.NewMessage{m})
		noErr(t, err)
		sizes[uids[0]] = m.Size
	}
	size := func() int64 {
		t.Helper()
		n, err := ds.DeletedSize(ctx, mb.ID)
		noErr(t, err)
		return n
	}
	if n := size(); n != 0 {
		t.Fatalf("no \\Deleted yet: %d", n)
	}
	uids := uidsOf(t, s, mb.ID)
	del := store.Flags{System: store.FlagDeleted}
	_, _, _, err := s.StoreFlags(ctx, mb.ID, []store.UID{uids[0], uids[2], uids[4]}, store.FlagsAdd, del, 0)
	noErr(t, err)
	if n, want := size(), sizes[uids[0]]+sizes[uids[2]]+sizes[uids[4]]; n != want {
		t.Fatalf("after STORE: %d, want %d", n, want)
	}
	_, _, _, err = s.StoreFlags(ctx, mb.ID, []store.UID{uids[2]}, store.FlagsRemove, del, 0)
	noErr(t, err)
	// MOVE takes a \Deleted message (and its size) along.
	_, _, err = s.MoveMessages(ctx, mb.ID, []store.UID{uids[4]}, other.ID)
	noErr(t, err)
	if n := size(); n != sizes[uids[0]] {
		t.Fatalf("after -FLAGS and MOVE: %d, want %d", n, sizes[uids[0]])
	}
	if n, err := ds.DeletedSize(ctx, other.ID); err != nil || n != sizes[uids[4]] {
		t.Fatalf("moved into Other: %d %v, want %d", n, err, sizes[uids[4]])
	}
	before := must[*store.Status](t)(s.MailboxStatus(ctx, mb.ID))
	_, _, err = s.Expunge(ctx, mb.ID, nil)
	noErr(t, err)
	after := must[*store.Status](t)(s.MailboxStatus(ctx, mb.ID))
	if freed := before.Size - after.Size; freed != sizes[uids[0]] {
		t.Fatalf("EXPUNGE freed %d, DELETED-STORAGE said %d", freed, sizes[uids[0]])
	}
	if n := size(); n != 0 {
		t.Fatalf("after EXPUNGE: %d", n)
	}
	if _, err := ds.DeletedSize(ctx, 1<<40); !errors.Is(err, store.ErrNoMailbox) {
		t.Fatalf("missing mailbox: %v", err)
	}
}
