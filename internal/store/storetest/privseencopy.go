package storetest

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"barid/internal/store"
)

// testPrivateSeenCopy exercises store.PrivateSeenCopier (`barid store
// copy` of private \Seen): AllPrivateSeen lists every user's rows of
// the mailbox's existing messages by account and UID; ImportPrivateSeen
// writes rows with their modseqs as given, replaces a user's earlier
// row, leaves out UIDs the mailbox does not hold and other users' rows
// alone, and does not move HIGHESTMODSEQ.
func testPrivateSeenCopy(t *testing.T, open func(t *testing.T) store.Store) {
	s := openClosed(t, open)
	ps, ok := s.(store.PrivateSeenStore)
	pc, ok2 := s.(store.PrivateSeenCopier)
	if !ok || !ok2 {
		t.Fatal("backend has no store.PrivateSeenCopier")
	}
	ctx := context.Background()
	a, _ := setup(t, s)
	b := must[*store.Account](t)(s.CreateAccount(ctx, "bob", nil))
	c := must[*store.Account](t)(s.CreateAccount(ctx, "carol", nil))
	folder := mkbox(t, s, a.ID, "Team")
	uids := appendN(t, s, folder.ID, 4)
	must[[]store.PrivateSeen](t)(ps.SetPrivateSeen(ctx, folder.ID, c.ID, []store.UID{uids[3]}, true))
	must[[]store.PrivateSeen](t)(ps.SetPrivateSeen(ctx, folder.ID, b.ID, []store.UID{uids[0], uids[1], uids[2]}, true))
	must[[]store.PrivateSeen](t)(ps.SetPrivateSeen(ctx, folder.ID, b.ID, []store.UID{uids[1]}, false))
	_, _, err := s.Expunge(ctx, folder.ID, []store.UID{uids[2]})
	noErr(t, err)

	all, err := pc.AllPrivateSeen(ctx, folder.ID)
	noErr(t, err)
	var want []store.AccountPrivateSeen
	for _, acct := range []int64{b.ID, c.ID} { // created in this order
		for _, r := range must[[]store.PrivateSeen](t)(ps.PrivateSeen(ctx, folder.ID, acct)) {
			want = append(want, store.AccountPrivateSeen{AccountID: acct, PrivateSeen: r})
		}
	}
	if len(all) != 3 || !reflect.DeepEqual(all, want) {
		t.Fatalf("AllPrivateSeen = %+v, want %+v (bob's UIDs 1 and 2, carol's 4; bob's expunged 3 left out)", all, want)
	}

	// Into another mailbox with the same UIDs: exact modseqs.
	other := mkbox(t, s, a.ID, "Copy")
	appendN(t, s, other.ID, 3)
	before, err := s.MailboxByID(ctx, other.ID)
	noErr(t, err)
	rows := []store.PrivateSeen{{UID: 1, Seen: true, ModSeq: 7}, {UID: 2, Seen: false, ModSeq: 9}, {UID: 99, Seen: true, ModSeq: 3}}
	noErr(t, pc.ImportPrivateSeen(ctx, other.ID, b.ID, rows))
	if got := must[[]store.PrivateSeen](t)(ps.PrivateSeen(ctx, other.ID, b.ID)); !reflect.DeepEqual(got, rows[:2]) {
		t.Fatalf("after import: %+v, want %+v", got, rows[:2])
	}
	// Again, with UID 1 changed: replaced; carol's rows untouched.
	noErr(t, pc.ImportPrivateSeen(ctx, other.ID, c.ID, []store.PrivateSeen{{UID: 3, Seen: true, ModSeq: 4}}))
	noErr(t, pc.ImportPrivateSeen(ctx, other.ID, b.ID, []store.PrivateSeen{{UID: 1, Seen: false, ModSeq: 11}}))
	if got := must[[]store.PrivateSeen](t)(ps.PrivateSeen(ctx, other.ID, b.ID)); !reflect.DeepEqual(got, []store.PrivateSeen{{UID: 1, Seen: false, ModSeq: 11}, rows[1]}) {
		t.Fatalf("after the second import: %+v", got)
	}
	if got := must[[]store.PrivateSeen](t)(ps.PrivateSeen(ctx, other.ID, c.ID)); len(got) != 1 || got[0].UID != 3 {
		t.Fatalf("carol's rows: %+v", got)
	}
	after, err := s.MailboxByID(ctx, other.ID)
	noErr(t, err)
	if after.HighestModSeq != before.HighestModSeq {
		t.Fatalf("HIGHESTMODSEQ moved: %d -> %d", before.HighestModSeq, after.HighestModSeq)
	}
	if err := pc.ImportPrivateSeen(ctx, 1<<40, b.ID, rows); !errors.Is(err, store.ErrNoMailbox) {
		t.Fatalf("missing mailbox: %v", err)
	}
}
