package storetest

import (
	"context"
	"errors"
	"slices"
	"testing"

	"barid/internal/store"
)

// testImportUIDs: AppendMessagesAt keeps the caller's UIDs (with gaps),
// raises UIDNEXT past them and to the given uidNext, refuses UIDs that
// would reuse or reorder, and a later AppendMessages continues above.
func testImportUIDs(t *testing.T, open func(t *testing.T) store.Store) {
	s := openClosed(t, open)
	ctx := context.Background()
	a, _ := setup(t, s)
	mb := mkbox(t, s, a.ID, "Imported")
	hms0 := mb.HighestModSeq

	at := []store.UID{3, 7, 8, 20}
	msgs := []store.NewMessage{msg(1, `\Seen`), msg(2, "$Label1"), msg(3, `\Flagged`, "Work"), msg(4)}
	ch, err := s.AppendMessagesAt(ctx, mb.ID, at, msgs, 0)
	noErr(t, err)
	if len(ch) != 4 || ch[0].UID != 3 || ch[3].UID != 20 || ch[0].Kind != store.ChangeAdded {
		t.Fatalf("changes = %+v", ch)
	}
	if got := uidsOf(t, s, mb.ID); !slices.Equal(got, at) {
		t.Fatalf("UIDs = %v, want %v", got, at)
	}
	got := mailboxByID(t, s, mb.ID)
	if got.UIDNext != 21 || got.HighestModSeq <= hms0 {
		t.Fatalf("after import: UIDNEXT %d HIGHESTMODSEQ %d (was %d)", got.UIDNext, got.HighestModSeq, hms0)
	}
	if f, _ := flagsOf(t, s, mb.ID, 8); !f.Has(`\Flagged`) || !f.Has("work") {
		t.Fatalf("flags of 8 = %v", f.Names())
	}
	var dates []int64
	noErr(t, s.FetchMessages(ctx, mb.ID, at, store.FieldBasics, func(m *store.Message) error {
		dates = append(dates, m.InternalDate.Unix())
		return nil
	}))
	if len(dates) != 4 || dates[1] != msg(2).InternalDate.Unix() {
		t.Fatalf("internal dates = %v", dates)
	}
	st, err := s.MailboxStatus(ctx, mb.ID)
	noErr(t, err)
	if st.Messages != 4 || st.Unseen != 3 || st.Size != msgs[0].Size+msgs[1].Size+msgs[2].Size+msgs[3].Size {
		t.Fatalf("status = %+v", st)
	}

	// Refused: a UID below UIDNEXT, out of order, a count mismatch, 0.
	for _, bad := range [][]store.UID{{20}, {5}, {30, 25}, {0}} {
		_, err := s.AppendMessagesAt(ctx, mb.ID, bad, make([]store.NewMessage, len(bad)), 0)
		wantErr(t, err, store.ErrCannot)
	}
	_, err = s.AppendMessagesAt(ctx, mb.ID, []store.UID{40, 41}, []store.NewMessage{msg(5)}, 0)
	wantErr(t, err, store.ErrCannot)
	if got := uidsOf(t, s, mb.ID); !slices.Equal(got, at) {
		t.Fatalf("a refused import changed the mailbox: %v", got)
	}

	// uidNext alone raises UIDNEXT (the source's, past expunged mail);
	// a lower one leaves it.
	_, err = s.AppendMessagesAt(ctx, mb.ID, nil, nil, 50)
	noErr(t, err)
	_, err = s.AppendMessagesAt(ctx, mb.ID, nil, nil, 30)
	noErr(t, err)
	if got := mailboxByID(t, s, mb.ID).UIDNext; got != 50 {
		t.Fatalf("UIDNEXT = %d, want 50", got)
	}
	// A batch and a uidNext together: UIDNEXT is the larger.
	_, err = s.AppendMessagesAt(ctx, mb.ID, []store.UID{60}, []store.NewMessage{msg(6)}, 100)
	noErr(t, err)
	if got := mailboxByID(t, s, mb.ID).UIDNext; got != 100 {
		t.Fatalf("UIDNEXT = %d, want 100", got)
	}
	uids, _, err := s.AppendMessages(ctx, mb.ID, []store.NewMessage{msg(7)})
	noErr(t, err)
	if uids[0] != 100 {
		t.Fatalf("next append got UID %d, want 100", uids[0])
	}

	// Persisted across reopen.
	s.Close()
	s = openClosed(t, open)
	if got := uidsOf(t, s, mb.ID); !slices.Equal(got, []store.UID{3, 7, 8, 20, 60, 100}) {
		t.Fatalf("after reopen UIDs = %v", got)
	}
}

// testImportUIDValidity: SetUIDValidity on a mailbox that never held a
// message; an unused mailbox with the same value steps aside; a used
// one refuses; CREATE afterwards never repeats the imported value.
func testImportUIDValidity(t *testing.T, open func(t *testing.T) store.Store) {
	s := openClosed(t, open)
	ctx := context.Background()
	a, in := setup(t, s)
	a2 := must[*store.Account](t)(s.CreateAccount(ctx, "other@example.org", nil))
	other := inbox(t, s, a2.ID)

	const uv = 4_000_000_000 // above any unix-time UIDVALIDITY of today
	mb := mkbox(t, s, a.ID, "Archive/2019")
	got, err := s.SetUIDValidity(ctx, mb.ID, uv)
	noErr(t, err)
	if got.UIDValidity != uv || got.ID != mb.ID || mailboxByID(t, s, mb.ID).UIDValidity != uv {
		t.Fatalf("mailbox after SetUIDValidity = %+v", got)
	}
	// Idempotent.
	_, err = s.SetUIDValidity(ctx, mb.ID, uv)
	noErr(t, err)
	// Another account may have the same value (MAILBOXIDs are per account).
	_, err = s.SetUIDValidity(ctx, other.ID, uv)
	noErr(t, err)

	// An unused mailbox with that value gets a fresh one.
	mb2 := mkbox(t, s, a.ID, "Other")
	if mb2.UIDValidity <= uv {
		t.Fatalf("CREATE after an import gave UIDVALIDITY %d, not above %d", mb2.UIDValidity, uv)
	}
	_, err = s.SetUIDValidity(ctx, mb2.ID, uv)
	noErr(t, err)
	if v := mailboxByID(t, s, mb.ID).UIDValidity; v == uv || v == 0 {
		t.Fatalf("the unused mailbox kept UIDVALIDITY %d", v)
	}
	// A used mailbox with the value refuses, and a used mailbox cannot
	// change its own.
	appendN(t, s, mb2.ID, 1)
	_, err = s.SetUIDValidity(ctx, mb.ID, uv)
	wantErr(t, err, store.ErrCannot)
	appendN(t, s, in.ID, 1)
	_, err = s.SetUIDValidity(ctx, in.ID, uv+5)
	wantErr(t, err, store.ErrCannot)
	if _, err := s.SetUIDValidity(ctx, 1<<40, uv+6); !errors.Is(err, store.ErrNoMailbox) {
		t.Fatalf("unknown mailbox: err = %v", err)
	}
	// Every mailbox of the account still has a distinct value.
	seen := map[uint32]string{}
	mbs, err := s.Mailboxes(ctx, a.ID)
	noErr(t, err)
	for _, m := range mbs {
		if n, dup := seen[m.UIDValidity]; dup {
			t.Fatalf("%s and %s share UIDVALIDITY %d", n, m.Name, m.UIDValidity)
		}
		seen[m.UIDValidity] = m.Name
	}
}
