package storetest

import (
	"context"
	"testing"

	"barid/internal/store"
)

// testFlush: Flush (what the blob sweep calls between finding a blob
// unreferenced and deleting it, store.BlobInUse) succeeds after lazy
// commits (an EXPUNGE, a flag change) and with nothing to flush,
// repeatedly, and changes nothing a client sees; BlobInUse answers as
// BlobReferenced does; the expunge is there after a reopen.
func testFlush(t *testing.T, open func(t *testing.T) store.Store) {
	ctx := context.Background()
	s := open(t)
	_, in := setup(t, s)
	noErr(t, s.Flush(ctx)) // nothing written since the account
	uids := appendN(t, s, in.ID, 3)
	gone, kept := msg(0).BlobID, msg(1).BlobID // appendN's first two
	_, _, _, err := s.StoreFlags(ctx, in.ID, uids[2:], store.FlagsAdd, store.Flags{System: store.FlagFlagged}, 0)
	noErr(t, err)
	_, _, err = s.Expunge(ctx, in.ID, uids[:1])
	noErr(t, err)
	before := mailboxByID(t, s, in.ID)
	for range 2 {
		noErr(t, s.Flush(ctx))
	}
	if after := mailboxByID(t, s, in.ID); *after != *before {
		t.Fatalf("Flush changed the mailbox: %+v, before %+v", after, before)
	}
	if used, err := store.BlobInUse(ctx, s, gone); err != nil || used {
		t.Fatalf("BlobInUse of the expunged message's blob: %v, %v", used, err)
	}
	if used, err := store.BlobInUse(ctx, s, kept); err != nil || !used {
		t.Fatalf("BlobInUse of a stored message's blob: %v, %v", used, err)
	}
	noErr(t, s.Close())
	s = openClosed(t, open)
	if after := mailboxByID(t, s, in.ID); *after != *before {
		t.Fatalf("after reopen %+v, before %+v", after, before)
	}
	if ok, err := s.BlobReferenced(ctx, gone); err != nil || ok {
		t.Fatalf("after reopen the expunged message's blob is referenced: %v, %v", ok, err)
	}
}
