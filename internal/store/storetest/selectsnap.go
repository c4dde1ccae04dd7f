package storetest

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"barid/internal/store"
)

// testSelectSnapshot: what a store.SelectReader answers for SELECT is
// what the slow reads give: the UIDs, the first message without \Seen,
// the defined keywords as Keywords lists them and, when it says
// Ordered, the keywords the messages carry, each once whatever its
// case, in order of first appearance by UID (as SELECT lists a small
// mailbox's keywords), after a STORE, an EXPUNGE and an APPEND. A store
// that answers ok=false (SQLite before its flag index is loaded) is
// retried after WarmFlags.
func testSelectSnapshot(t *testing.T, open func(t *testing.T) store.Store) {
	s := openClosed(t, open)
	sr, ok := s.(store.SelectReader)
	if !ok {
		t.Skip("backend has no store.SelectReader")
	}
	ctx := context.Background()
	_, mb := setup(t, s)
	snap := func() (store.SelectSnapshot, bool) {
		t.Helper()
		if w, ok := s.(store.FlagWarmer); ok {
			w.WarmFlags(mb.ID)
		}
		var sn store.SelectSnapshot
		var ok bool
		for range 200 { // the warm-up runs in the background
			var err error
			sn, ok, err = sr.SelectSnapshot(ctx, mb.ID)
			noErr(t, err)
			if ok {
				break
			}
		}
		return sn, ok
	}
	// Empty mailbox.
	if sn, ok := snap(); ok && (len(sn.UIDs) != 0 || sn.FirstUnseen != 0 || len(sn.InUse) != 0) {
		t.Fatalf("empty mailbox: %+v", sn)
	}
	var checkSnap func(step string, sn store.SelectSnapshot)
	var msgs []store.NewMessage
	msgs = append(msgs, msg(1, `\Seen`), msg(2, `\Seen`, "Beta", "$Alpha"), msg(3, "beta", "gamma"), msg(4, `\Seen`, "$alpha", "Delta"))
	for _, m := range msgs {
		_, _, err := s.AppendMessages(ctx, mb.ID, []store.NewMessage{m})
		noErr(t, err)
	}
	check := func(step string) {
		t.Helper()
		sn, ok := snap()
		if ok {
			checkSnap(step, sn)
		}
		// store.SelectRowReader and store.StatusRowReader answer from
		// the row just read as the reads above do.
		row, err := s.MailboxByID(ctx, mb.ID)
		noErr(t, err)
		if rr, ok := s.(store.SelectRowReader); ok {
			sn, ok, err := rr.SelectSnapshotOf(ctx, row)
			noErr(t, err)
			if ok {
				checkSnap(step+" (SelectSnapshotOf)", sn)
				if sn.Mailbox.HighestModSeq != row.HighestModSeq || sn.Mailbox.UIDNext != row.UIDNext {
					t.Fatalf("%s: SelectSnapshotOf's row %+v, read %+v", step, sn.Mailbox, row)
				}
			}
		}
		if sr, ok := s.(store.StatusRowReader); ok {
			got, err := sr.MailboxStatusOf(ctx, row)
			noErr(t, err)
			want, err := s.MailboxStatus(ctx, mb.ID)
			noErr(t, err)
			if got.Messages != want.Messages || got.Unseen != want.Unseen || got.Deleted != want.Deleted ||
				got.Recent != want.Recent || got.Size != want.Size || got.Mailbox.UIDNext != want.Mailbox.UIDNext ||
				got.Mailbox.HighestModSeq != want.Mailbox.HighestModSeq {
				t.Fatalf("%s: MailboxStatusOf %+v, MailboxStatus %+v", step, got, want)
			}
		}
	}
	checkSnap = func(step string, sn store.SelectSnapshot) {
		t.Helper()
		_, uids, err := s.MessageUIDs(ctx, mb.ID)
		noErr(t, err)
		if !slices.Equal(sn.UIDs, uids) {
			t.Fatalf("%s: UIDs %v, MessageUIDs %v", step, sn.UIDs, uids)
		}
		fu, err := s.FirstUnseen(ctx, mb.ID)
		noErr(t, err)
		if sn.FirstUnseen != fu {
			t.Fatalf("%s: first unseen %d, FirstUnseen %d", step, sn.FirstUnseen, fu)
		}
		ks, err := s.Keywords(ctx, mb.ID)
		noErr(t, err)
		if !slices.Equal(sn.Keywords, ks) {
			t.Fatalf("%s: keywords %q, Keywords %q", step, sn.Keywords, ks)
		}
		if sn.Mailbox == nil || sn.Mailbox.ID != mb.ID {
			t.Fatalf("%s: mailbox %+v", step, sn.Mailbox)
		}
		if !sn.Ordered {
			return
		}
		// The scan SELECT does without an Ordered snapshot.
		var want []string
		seen := map[string]bool{}
		if len(uids) > 0 {
			err = s.FetchMessages(ctx, mb.ID, uids, store.FieldFlags, func(m *store.Message) error {
				for _, k := range m.Flags.Keywords {
					if lk := strings.ToLower(k); !seen[lk] {
						seen[lk] = true
						want = append(want, k)
					}
				}
				return nil
			})
			noErr(t, err)
		}
		if !slices.Equal(sn.InUse, want) {
			t.Fatalf("%s: keywords in use %q, the scan finds %q", step, sn.InUse, want)
		}
	}
	check("after APPEND")
	_, _, _, err := s.StoreFlags(ctx, mb.ID, []store.UID{1}, store.FlagsAdd, store.FlagsFromNames([]string{"Zeta", "beta"}), 0)
	noErr(t, err)
	_, _, _, err = s.StoreFlags(ctx, mb.ID, []store.UID{1, 2}, store.FlagsRemove, store.FlagsFromNames([]string{`\Seen`}), 0)
	noErr(t, err)
	check("after STORE")
	_, _, _, err = s.StoreFlags(ctx, mb.ID, []store.UID{1}, store.FlagsAdd, store.FlagsFromNames([]string{`\Deleted`}), 0)
	noErr(t, err)
	_, _, err = s.Expunge(ctx, mb.ID, nil)
	noErr(t, err)
	check("after EXPUNGE")
	_, _, err = s.AppendMessages(ctx, mb.ID, []store.NewMessage{msg(5, "Epsilon")})
	noErr(t, err)
	check("after the second APPEND")
	// A keyword set on a message that is gone is still defined (and
	// SELECT lists it, RFC 9051 §7.3.5), though no message changed.
	_, _, _, err = s.StoreFlags(ctx, mb.ID, []store.UID{1}, store.FlagsAdd, store.FlagsFromNames([]string{"Orphan"}), 0)
	noErr(t, err)
	check("after a keyword on a gone message")
	if ks, err := s.Keywords(ctx, mb.ID); err != nil || !slices.Contains(ks, "Orphan") {
		t.Fatalf("keywords %q after a keyword on a gone message (%v)", ks, err)
	}
	if _, ok, err := sr.SelectSnapshot(ctx, 1<<40); err == nil && ok {
		t.Fatal("SelectSnapshot of a missing mailbox succeeded")
	} else if err != nil && !errors.Is(err, store.ErrNoMailbox) {
		t.Fatalf("SelectSnapshot of a missing mailbox: %v, want ErrNoMailbox", err)
	}
}
