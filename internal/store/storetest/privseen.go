package storetest

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"barid/internal/store"
)

// testPrivateSeen exercises store.PrivateSeenStore (per-user \Seen on
// shared mailboxes): each user's rows are their own; a change gets one
// new modseq above the mailbox's HIGHESTMODSEQ and leaves the message
// rows (and the owner's \Seen) alone; an unchanged state gets nothing;
// rows of expunged messages are never returned; DELETE of the mailbox
// or of the user's account removes them.
func testPrivateSeen(t *testing.T, open func(t *testing.T) store.Store) {
	s := openClosed(t, open)
	ps, ok := s.(store.PrivateSeenStore)
	if !ok {
		t.Fatal("backend has no store.PrivateSeenStore")
	}
	ctx := context.Background()
	a, _ := setup(t, s)
	b := must[*store.Account](t)(s.CreateAccount(ctx, "bob", nil))
	c := must[*store.Account](t)(s.CreateAccount(ctx, "carol", nil))
	folder := mkbox(t, s, b.ID, "Folder")
	uids := appendN(t, s, folder.ID, 4)
	before, err := s.MailboxByID(ctx, folder.ID)
	noErr(t, err)

	get := func(acct int64) []store.PrivateSeen {
		t.Helper()
		r, err := ps.PrivateSeen(ctx, folder.ID, acct)
		noErr(t, err)
		return r
	}
	if r := get(a.ID); len(r) != 0 {
		t.Fatalf("new mailbox has private seen %v", r)
	}
	res, err := ps.SetPrivateSeen(ctx, folder.ID, a.ID, []store.UID{uids[2], uids[0], 9999}, true)
	noErr(t, err)
	ms := before.HighestModSeq + 1
	want := []store.PrivateSeen{{UID: uids[0], Seen: true, ModSeq: ms}, {UID: uids[2], Seen: true, ModSeq: ms}}
	if !reflect.DeepEqual(res, want) {
		t.Fatalf("SetPrivateSeen = %+v, want %+v", res, want)
	}
	if r := get(a.ID); !reflect.DeepEqual(r, want) {
		t.Fatalf("PrivateSeen = %+v, want %+v", r, want)
	}
	after, err := s.MailboxByID(ctx, folder.ID)
	noErr(t, err)
	if after.HighestModSeq != ms {
		t.Fatalf("HIGHESTMODSEQ %d, want %d", after.HighestModSeq, ms)
	}
	// the message rows, and so the owner's \Seen and MODSEQ, are untouched
	noErr(t, s.FetchMessages(ctx, folder.ID, uids, store.FieldFlags, func(m *store.Message) error {
		if m.Flags.System&store.FlagSeen != 0 || m.ModSeq > before.HighestModSeq {
			t.Errorf("message %d changed: %+v modseq %d", m.UID, m.Flags, m.ModSeq)
		}
		return nil
	}))
	st, err := s.MailboxStatus(ctx, folder.ID)
	noErr(t, err)
	if st.Unseen != 4 {
		t.Fatalf("owner's UNSEEN %d, want 4", st.Unseen)
	}
	// carol has her own
	if r := get(c.ID); len(r) != 0 {
		t.Fatalf("carol sees alice's private seen: %v", r)
	}
	res, err = ps.SetPrivateSeen(ctx, folder.ID, c.ID, []store.UID{uids[1]}, true)
	noErr(t, err)
	if len(res) != 1 || res[0].ModSeq != ms+1 {
		t.Fatalf("carol's SetPrivateSeen = %+v", res)
	}
	if r := get(a.ID); !reflect.DeepEqual(r, want) {
		t.Fatalf("alice's rows changed by carol's: %+v", r)
	}
	// no change: no modseq
	res, err = ps.SetPrivateSeen(ctx, folder.ID, a.ID, []store.UID{uids[0]}, true)
	noErr(t, err)
	if len(res) != 0 {
		t.Fatalf("unchanged SetPrivateSeen = %+v", res)
	}
	// clearing keeps a row (the modseq of the change)
	res, err = ps.SetPrivateSeen(ctx, folder.ID, a.ID, []store.UID{uids[0], uids[3]}, false)
	noErr(t, err)
	if len(res) != 1 || res[0].UID != uids[0] || res[0].Seen || res[0].ModSeq != ms+2 {
		t.Fatalf("clear = %+v", res)
	}
	want = []store.PrivateSeen{{UID: uids[0], Seen: false, ModSeq: ms + 2}, {UID: uids[2], Seen: true, ModSeq: ms}}
	if r := get(a.ID); !reflect.DeepEqual(r, want) {
		t.Fatalf("after clear = %+v, want %+v", r, want)
	}
	// an expunged message's row is gone
	_, _, err = s.Expunge(ctx, folder.ID, []store.UID{uids[2]})
	noErr(t, err)
	if r := get(a.ID); len(r) != 1 || r[0].UID != uids[0] {
		t.Fatalf("after expunge = %+v", r)
	}
	_, err = ps.SetPrivateSeen(ctx, folder.ID, a.ID, []store.UID{uids[2]}, true)
	noErr(t, err)
	if r := get(a.ID); len(r) != 1 {
		t.Fatalf("expunged message got a row: %+v", r)
	}
	if _, err := ps.SetPrivateSeen(ctx, 1<<40, a.ID, []store.UID{1}, true); !errors.Is(err, store.ErrNoMailbox) {
		t.Fatalf("SetPrivateSeen on a missing mailbox: %v", err)
	}
	// deleting carol's account drops her rows; deleting the mailbox the rest
	noErr(t, s.DeleteAccount(ctx, c.ID))
	if r := get(c.ID); len(r) != 0 {
		t.Fatalf("deleted account's rows: %v", r)
	}
	_, err = s.DeleteMailbox(ctx, b.ID, "Folder")
	noErr(t, err)
	again := mkbox(t, s, b.ID, "Folder")
	appendN(t, s, again.ID, 2)
	r, err := ps.PrivateSeen(ctx, again.ID, a.ID)
	noErr(t, err)
	if len(r) != 0 {
		t.Fatalf("recreated mailbox has rows %v", r)
	}
}
