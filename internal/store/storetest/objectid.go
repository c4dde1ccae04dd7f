package storetest

import (
	"context"
	"testing"

	"barid/internal/store"
)

// testObjectIDs: RFC 8474 and RFC 8970 data. An EMAILID is chosen at
// append (unless given), differs between two appends of the same
// content, and is kept by COPY and MOVE together with the preview; a
// MAILBOXID survives RENAME; SetPreview fills a missing preview only.
func testObjectIDs(t *testing.T, open func(t *testing.T) store.Store) {
	s := openClosed(t, open)
	ctx := context.Background()
	a, in := setup(t, s)
	dst := mkbox(t, s, a.ID, "Archive")
	m1, m2, m3 := msg(1), msg(1), msg(2)
	m1.Preview, m1.HasPreview = "first", true
	m3.EmailID = 12345
	_, _, err := s.AppendMessages(ctx, in.ID, []store.NewMessage{m1, m2, m3})
	noErr(t, err)
	get := func(mb int64, uid store.UID) store.Message {
		t.Helper()
		var out store.Message
		found := false
		noErr(t, s.FetchMessages(ctx, mb, []store.UID{uid}, store.FieldAll, func(m *store.Message) error {
			out, found = *m, true
			return nil
		}))
		if !found {
			t.Fatalf("mailbox %d uid %d missing", mb, uid)
		}
		return out
	}
	g1, g2, g3 := get(in.ID, 1), get(in.ID, 2), get(in.ID, 3)
	if g1.EmailID <= 0 || g2.EmailID <= 0 || g1.EmailID == g2.EmailID || g3.EmailID != 12345 {
		t.Fatalf("EMAILIDs %d %d %d", g1.EmailID, g2.EmailID, g3.EmailID)
	}
	if !g1.HasPreview || g1.Preview != "first" || g2.HasPreview {
		t.Fatalf("previews %q/%v %q/%v", g1.Preview, g1.HasPreview, g2.Preview, g2.HasPreview)
	}
	noErr(t, s.SetPreview(ctx, in.ID, 2, "second"))
	noErr(t, s.SetPreview(ctx, in.ID, 1, "overwritten?"))
	if g := get(in.ID, 2); !g.HasPreview || g.Preview != "second" {
		t.Fatalf("SetPreview: %q %v", g.Preview, g.HasPreview)
	}
	if g := get(in.ID, 1); g.Preview != "first" {
		t.Fatalf("SetPreview replaced a preview: %q", g.Preview)
	}
	// FieldBasics alone carries the EMAILID.
	noErr(t, s.FetchMessages(ctx, in.ID, []store.UID{1}, store.FieldBasics, func(m *store.Message) error {
		if m.EmailID != g1.EmailID {
			t.Fatalf("FieldBasics EmailID %d, want %d", m.EmailID, g1.EmailID)
		}
		return nil
	}))
	res, _, err := s.CopyMessages(ctx, in.ID, []store.UID{1}, dst.ID)
	noErr(t, err)
	if c := get(dst.ID, res.DstUIDs[0]); c.EmailID != g1.EmailID || c.Preview != "first" {
		t.Fatalf("copy: EMAILID %d preview %q, want %d %q", c.EmailID, c.Preview, g1.EmailID, "first")
	}
	res, _, err = s.MoveMessages(ctx, in.ID, []store.UID{2}, dst.ID)
	noErr(t, err)
	if c := get(dst.ID, res.DstUIDs[0]); c.EmailID != g2.EmailID || c.Preview != "second" {
		t.Fatalf("move: EMAILID %d preview %q", c.EmailID, c.Preview)
	}
	before, err := s.Mailbox(ctx, a.ID, "Archive")
	noErr(t, err)
	_, err = s.RenameMailbox(ctx, a.ID, "Archive", "Old/Archive")
	noErr(t, err)
	after, err := s.Mailbox(ctx, a.ID, "Old/Archive")
	noErr(t, err)
	if before.ObjectID() != after.ObjectID() || before.ObjectID() == in.ObjectID() {
		t.Fatalf("MAILBOXID %s -> %s (INBOX %s)", before.ObjectID(), after.ObjectID(), in.ObjectID())
	}
	if id, ok := store.ParseEmailObjectID(store.EmailObjectID(g1.EmailID)); !ok || id != g1.EmailID {
		t.Fatalf("EMAILID round trip %d -> %d %v", g1.EmailID, id, ok)
	}
	for _, bad := range []string{"", "M", "M0", "m1", "X1", "M01", "Mzz", "M8000000000000000"} {
		if _, ok := store.ParseEmailObjectID(bad); ok {
			t.Fatalf("ParseEmailObjectID(%q) accepted", bad)
		}
	}
}
