package storetest

import (
	"context"
	"testing"

	"barid/internal/store"
)

// testSetModSeqs: store.ModSeqSetter (barid store copy) gives messages
// the modseqs they had in the source and raises HIGHESTMODSEQ, never
// lowers it, refuses a modseq above it or a missing message, and a
// later STORE continues above it (RFC 7162 §3.1).
func testSetModSeqs(t *testing.T, open func(t *testing.T) store.Store) {
	s := openClosed(t, open)
	ms, ok := s.(store.ModSeqSetter)
	if !ok {
		t.Fatal("the store does not implement store.ModSeqSetter")
	}
	ctx := context.Background()
	a, _ := setup(t, s)
	mb := mkbox(t, s, a.ID, "Copied")
	uids := []store.UID{2, 5, 9}
	_, err := s.AppendMessagesAt(ctx, mb.ID, uids, []store.NewMessage{msg(1, `\Seen`), msg(2, "Work"), msg(3)}, 12)
	noErr(t, err)

	noErr(t, ms.SetModSeqs(ctx, mb.ID, uids, []store.ModSeq{40, 17, 77}, 90))
	if got := mailboxByID(t, s, mb.ID); got.HighestModSeq != 90 || got.UIDNext != 12 {
		t.Fatalf("HIGHESTMODSEQ %d UIDNEXT %d, want 90 and 12", got.HighestModSeq, got.UIDNext)
	}
	for i, want := range []store.ModSeq{40, 17, 77} {
		f, got := flagsOf(t, s, mb.ID, uids[i])
		if got != want {
			t.Fatalf("modseq of UID %d = %d, want %d", uids[i], got, want)
		}
		if i == 1 && !f.Has("work") {
			t.Fatalf("flags of UID 5 lost: %v", f.Names())
		}
	}
	// CHANGEDSINCE-style view: what a client that cached 20 would see.
	var changed []store.UID
	noErr(t, s.FetchMessages(ctx, mb.ID, uids, store.FieldFlags, func(m *store.Message) error {
		if m.ModSeq > 20 {
			changed = append(changed, m.UID)
		}
		return nil
	}))
	if len(changed) != 2 || changed[0] != 2 || changed[1] != 9 {
		t.Fatalf("changed since 20 = %v, want [2 9]", changed)
	}

	// Never lowered; refused above the resulting HIGHESTMODSEQ, 0, a
	// missing UID, a length mismatch.
	noErr(t, ms.SetModSeqs(ctx, mb.ID, nil, nil, 50))
	if got := mailboxByID(t, s, mb.ID); got.HighestModSeq != 90 {
		t.Fatalf("HIGHESTMODSEQ lowered to %d", got.HighestModSeq)
	}
	wantErr(t, ms.SetModSeqs(ctx, mb.ID, []store.UID{2}, []store.ModSeq{91}, 0), store.ErrCannot)
	wantErr(t, ms.SetModSeqs(ctx, mb.ID, []store.UID{2}, []store.ModSeq{0}, 0), store.ErrCannot)
	wantErr(t, ms.SetModSeqs(ctx, mb.ID, []store.UID{2}, nil, 0), store.ErrCannot)
	wantErr(t, ms.SetModSeqs(ctx, mb.ID, []store.UID{3}, []store.ModSeq{5}, 0), store.ErrNoMessage)
	if _, got := flagsOf(t, s, mb.ID, 2); got != 40 {
		t.Fatalf("a refused call changed UID 2's modseq to %d", got)
	}

	// Tombstones: the source's expunged UIDs with their modseqs and
	// flags, reported by ExpungedSince (QRESYNC VANISHED (EARLIER)).
	noErr(t, ms.SetTombstones(ctx, mb.ID, []store.StoreResult{
		{UID: 3, ModSeq: 50, Flags: store.FlagsFromNames([]string{`\Seen`})},
		{UID: 10, ModSeq: 60},
	}))
	if got, err := s.ExpungedSince(ctx, mb.ID, 55); err != nil || len(got) != 1 || got[0] != 10 {
		t.Fatalf("ExpungedSince(55) = %v, %v; want [10]", got, err)
	}
	if got, err := s.ExpungedSince(ctx, mb.ID, 0); err != nil || len(got) != 2 || got[0] != 3 {
		t.Fatalf("ExpungedSince(0) = %v, %v; want [3 10]", got, err)
	}
	if got, err := s.ExpungedFlags(ctx, mb.ID, []store.UID{3}); err != nil || len(got) != 1 || got[0].ModSeq != 50 || !got[0].Flags.Has(`\Seen`) {
		t.Fatalf("ExpungedFlags(3) = %+v, %v", got, err)
	}
	for _, bad := range []store.StoreResult{{UID: 5, ModSeq: 10}, {UID: 12, ModSeq: 10}, {UID: 4, ModSeq: 0}, {UID: 4, ModSeq: 91}} {
		wantErr(t, ms.SetTombstones(ctx, mb.ID, []store.StoreResult{bad}), store.ErrCannot)
	}
	if got, _ := s.ExpungedSince(ctx, mb.ID, 0); len(got) != 2 {
		t.Fatalf("a refused SetTombstones left tombstones: %v", got)
	}

	// Writes continue above.
	res, _, _, err := s.StoreFlags(ctx, mb.ID, []store.UID{5}, store.FlagsAdd, store.FlagsFromNames([]string{`\Flagged`}), 0)
	noErr(t, err)
	if len(res) != 1 || res[0].ModSeq <= 90 {
		t.Fatalf("STORE after SetModSeqs: %+v, want modseq > 90", res)
	}
}
