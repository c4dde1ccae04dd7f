package storetest

import (
	"context"
	"slices"
	"testing"

	"barid/internal/store"
)

// testKeywordsKnown: a keyword spelling is remembered across
// transactions (a Sieve addflag on every delivery then costs no lookup),
// and what is remembered is exactly what the database holds: a spelling
// registered by a transaction that rolled back is not kept, the first
// committed spelling wins in appends, STORE and COPY alike, and a mailbox
// deleted and created again (with the same id where the backend reuses
// ids, and the same UIDVALIDITY given back by SetUIDValidity as an
// import does) starts with no keywords.
func testKeywordsKnown(t *testing.T, open func(t *testing.T) store.Store) {
	s := openClosed(t, open)
	ctx := context.Background()
	a, in := setup(t, s)
	keywords := func(mb int64) []string {
		t.Helper()
		return must[[]string](t)(s.Keywords(ctx, mb))
	}
	box := mkbox(t, s, a.ID, "Sorted")
	if ma, ok := s.(store.MultiAppender); ok {
		// Registered, then rolled back with the failing copy.
		_, _, err := ma.AppendMulti(ctx, []store.MailboxMessage{
			{MailboxID: box.ID, Message: msg(1, "$Rolled")},
			{MailboxID: 1 << 40, Message: msg(1)},
		})
		if err == nil {
			t.Fatal("AppendMulti to a missing mailbox succeeded")
		}
	}
	// An append that fails for its own mailbox rolls back its keyword.
	if _, _, err := s.AppendMessages(ctx, 1<<40, []store.NewMessage{msg(1, "$Rolled")}); err == nil {
		t.Fatal("append to a missing mailbox succeeded")
	}
	if got := keywords(box.ID); len(got) != 0 {
		t.Fatalf("keywords after rolled-back appends: %q", got)
	}
	for i, spelled := range []string{"$rolled", "$ROLLED", "$Rolled"} {
		_, _, err := s.AppendMessages(ctx, box.ID, []store.NewMessage{msg(10+i, spelled)})
		noErr(t, err)
	}
	if got := keywords(box.ID); !slices.Equal(got, []string{"$rolled"}) {
		t.Fatalf("keywords: %q, want the first committed spelling", got)
	}
	for uid := store.UID(1); uid <= 3; uid++ {
		if f, _ := flagsOf(t, s, box.ID, uid); !slices.Equal(f.Keywords, []string{"$rolled"}) {
			t.Fatalf("UID %d keywords %q", uid, f.Keywords)
		}
	}
	// STORE and COPY use the spelling of their mailbox.
	_, _, _, err := s.StoreFlags(ctx, box.ID, []store.UID{1}, store.FlagsAdd, store.FlagsFromNames([]string{"$ROLLED", "$Other"}), 0)
	noErr(t, err)
	_, _, err = s.AppendMessages(ctx, in.ID, []store.NewMessage{msg(20, "$ROLLED")})
	noErr(t, err)
	_, _, err = s.CopyMessages(ctx, box.ID, []store.UID{1}, in.ID)
	noErr(t, err)
	if got := keywords(in.ID); !slices.Equal(got, []string{"$Other", "$ROLLED"}) {
		t.Fatalf("INBOX keywords %q", got)
	}
	if f, _ := flagsOf(t, s, in.ID, 2); !slices.Equal(f.Keywords, []string{"$Other", "$ROLLED"}) {
		t.Fatalf("copy's keywords %q", f.Keywords)
	}

	// Deleted and made again: the new mailbox has none of the old one's
	// keywords, even under the same id and UIDVALIDITY.
	uv := box.UIDValidity
	_, err = s.DeleteMailbox(ctx, a.ID, "Sorted")
	noErr(t, err)
	again := mkbox(t, s, a.ID, "Sorted")
	again = must[*store.Mailbox](t)(s.SetUIDValidity(ctx, again.ID, uv))
	if got := keywords(again.ID); len(got) != 0 {
		t.Fatalf("a new mailbox has keywords %q", got)
	}
	_, _, err = s.AppendMessages(ctx, again.ID, []store.NewMessage{msg(30, "$ROLLED")})
	noErr(t, err)
	if got := keywords(again.ID); !slices.Equal(got, []string{"$ROLLED"}) {
		t.Fatalf("the new mailbox's keywords: %q (id %d, was %d)", got, again.ID, box.ID)
	}
	if f, _ := flagsOf(t, s, again.ID, 1); !slices.Equal(f.Keywords, []string{"$ROLLED"}) {
		t.Fatalf("the new mailbox's message: %q", f.Keywords)
	}
}
