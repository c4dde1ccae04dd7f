package storetest

import (
	"context"
	"math"
	"slices"
	"testing"

	"barid/internal/store"
)

// testNewUIDs: store.NewUIDsReader reads what UIDsAfter, MailboxByID's
// FIRSTRECENT and HIGHESTMODSEQ give, from one snapshot, after appends,
// a claim and an expunge. The IMAP server lets one such read serve
// every session whose changes have MODSEQs up to its HighestModSeq, so
// HighestModSeq must cover the expunge too (a read from before it
// would list a message the session was already told is gone).
func testNewUIDs(t *testing.T, open func(t *testing.T) store.Store) {
	s := openClosed(t, open)
	nr, ok := s.(store.NewUIDsReader)
	if !ok {
		t.Skip("backend has no store.NewUIDsReader")
	}
	ctx := context.Background()
	_, in := setup(t, s)
	check := func(step string, after store.UID) store.NewUIDs {
		t.Helper()
		got, err := nr.UIDsAfterRecent(ctx, in.ID, after)
		noErr(t, err)
		want, err := s.UIDsAfter(ctx, in.ID, after)
		noErr(t, err)
		mb := mailboxByID(t, s, in.ID)
		if !slices.Equal(got.UIDs, want) || got.FirstRecent != mb.FirstRecent || got.HighestModSeq != mb.HighestModSeq {
			t.Fatalf("%s, after %d: %+v; want UIDs %v, FIRSTRECENT %d, HIGHESTMODSEQ %d", step, after, got, want, mb.FirstRecent, mb.HighestModSeq)
		}
		return got
	}
	check("empty", 0)
	uids := appendN(t, s, in.ID, 5)
	a := check("after five appends", 0)
	check("after five appends", uids[2])
	check("after five appends", uids[4])
	must[store.UID](t)(s.ClaimRecent(ctx, in.ID, uids[2]))
	check("after a claim", 0)
	_, _, err := s.Expunge(ctx, in.ID, []store.UID{uids[3]})
	noErr(t, err)
	b := check("after an expunge", 0)
	if b.HighestModSeq <= a.HighestModSeq || slices.Contains(b.UIDs, uids[3]) {
		t.Fatalf("the expunge left HIGHESTMODSEQ at %d (was %d) or UID %d listed: %v", b.HighestModSeq, a.HighestModSeq, uids[3], b.UIDs)
	}
	_, err = nr.UIDsAfterRecent(ctx, in.ID+1000, math.MaxUint32)
	wantErr(t, err, store.ErrNoMailbox)
}
