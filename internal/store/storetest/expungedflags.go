package storetest

import (
	"context"
	"slices"
	"testing"

	"barid/internal/store"
)

// testExpungedFlags: a tombstone keeps the flags its message had when it
// was expunged, by Expunge and by MoveMessages alike, and the expunge's
// modseq; UIDs that still exist or never did are not listed. A STORE
// that finds every listed message gone still defines its new keywords
// (the asking session announces them, RFC 9051 §7.3.5).
func testExpungedFlags(t *testing.T, open func(t *testing.T) store.Store) {
	s := openClosed(t, open)
	ctx := context.Background()
	a, in := setup(t, s)
	other := mkbox(t, s, a.ID, "Other")
	_, _, err := s.AppendMessages(ctx, in.ID, []store.NewMessage{
		msg(1, `\Seen`, "$Label1"), msg(2, `\Flagged`), msg(3), msg(4, "$Label2", "Zeta"),
	})
	noErr(t, err)
	_, _, _, err = s.StoreFlags(ctx, in.ID, []store.UID{1, 3}, store.FlagsAdd, store.FlagsFromNames([]string{`\Deleted`, "$Label3"}), 0)
	noErr(t, err)
	_, ch, err := s.Expunge(ctx, in.ID, nil)
	noErr(t, err)
	if len(ch) != 2 {
		t.Fatalf("expunge changes %+v", ch)
	}
	_, mch, err := s.MoveMessages(ctx, in.ID, []store.UID{4}, other.ID)
	noErr(t, err)
	var moveSeq store.ModSeq
	for _, c := range mch {
		if c.Kind == store.ChangeExpunged && c.MailboxID == in.ID {
			moveSeq = c.ModSeq
		}
	}
	if moveSeq == 0 {
		t.Fatalf("move changes %+v", mch)
	}

	got, err := s.ExpungedFlags(ctx, in.ID, []store.UID{1, 2, 3, 4, 9})
	noErr(t, err)
	want := []struct {
		uid    store.UID
		modseq store.ModSeq
		names  []string
	}{
		{1, ch[0].ModSeq, []string{`\Seen`, `\Deleted`, "$Label1", "$Label3"}},
		{3, ch[0].ModSeq, []string{`\Deleted`, "$Label3"}},
		{4, moveSeq, []string{"$Label2", "Zeta"}},
	}
	if len(got) != len(want) {
		t.Fatalf("ExpungedFlags = %+v, want UIDs 1, 3, 4", got)
	}
	for i, w := range want {
		g := got[i]
		if g.UID != w.uid || g.ModSeq != w.modseq || !g.Flags.Equal(store.FlagsFromNames(w.names)) {
			t.Fatalf("ExpungedFlags[%d] = %+v, want uid %d modseq %d flags %v", i, g, w.uid, w.modseq, w.names)
		}
	}
	if got, err := s.ExpungedFlags(ctx, in.ID, nil); err != nil || len(got) != 0 {
		t.Fatalf("ExpungedFlags(nil) = %+v, %v", got, err)
	}
	if got, err := s.ExpungedFlags(ctx, other.ID, []store.UID{1}); err != nil || len(got) != 0 {
		t.Fatalf("ExpungedFlags of the move's destination = %+v, %v", got, err)
	}

	// A STORE on gone messages changes nothing but defines the keyword.
	res, failed, sch, err := s.StoreFlags(ctx, in.ID, []store.UID{1, 3}, store.FlagsAdd, store.FlagsFromNames([]string{"NewOnGone"}), 0)
	noErr(t, err)
	if len(res) != 0 || len(failed) != 0 || len(sch) != 0 {
		t.Fatalf("STORE on gone messages: %+v %v %+v", res, failed, sch)
	}
	ks, err := s.Keywords(ctx, in.ID)
	noErr(t, err)
	if !slices.Contains(ks, "NewOnGone") || !slices.Contains(ks, "$Label2") {
		t.Fatalf("keywords %q: want NewOnGone and $Label2 (no message carries either)", ks)
	}
}
