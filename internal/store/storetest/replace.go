package storetest

import (
	"context"
	"errors"
	"testing"

	"barid/internal/store"
)

// testReplace: RFC 8508 REPLACE is one transaction. The new message is
// appended and the old one expunged together; when the old one is gone
// nothing is appended.
func testReplace(t *testing.T, open func(t *testing.T) store.Store) {
	s := openClosed(t, open)
	ctx := context.Background()
	a, in := setup(t, s)
	drafts := mkbox(t, s, a.ID, "Drafts")
	_, _, err := s.AppendMessages(ctx, in.ID, []store.NewMessage{msg(1), msg(2)})
	noErr(t, err)
	u, ch, err := s.ReplaceMessage(ctx, in.ID, 1, in.ID, msg(3))
	noErr(t, err)
	if u != 3 || len(ch) != 2 || ch[0].Kind != store.ChangeAdded || ch[0].UID != 3 ||
		ch[1].Kind != store.ChangeExpunged || ch[1].UID != 1 || ch[1].ModSeq <= ch[0].ModSeq {
		t.Fatalf("replace in place: uid %d changes %+v", u, ch)
	}
	if got := uidsOf(t, s, in.ID); len(got) != 2 || got[0] != 2 || got[1] != 3 {
		t.Fatalf("after replace: %v", got)
	}
	u, _, err = s.ReplaceMessage(ctx, in.ID, 2, drafts.ID, msg(4))
	noErr(t, err)
	if got := uidsOf(t, s, drafts.ID); len(got) != 1 || got[0] != u {
		t.Fatalf("drafts after replace: %v (uid %d)", got, u)
	}
	if _, _, err := s.ReplaceMessage(ctx, in.ID, 2, drafts.ID, msg(5)); !errors.Is(err, store.ErrNoMessage) {
		t.Fatalf("replace of an expunged message: %v", err)
	}
	if got := uidsOf(t, s, drafts.ID); len(got) != 1 {
		t.Fatalf("a failed replace appended: %v", got)
	}
	st, err := s.MailboxStatus(ctx, in.ID)
	noErr(t, err)
	if st.Messages != 1 {
		t.Fatalf("INBOX counts %d messages", st.Messages)
	}
}
