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
	var msgs []store.NewMessage
	msgs = append(msgs, msg(1, `\Seen`), msg(2, `\Seen`, "Beta", "$Alpha"), msg(3, "beta", "gamma"), msg(4, `\Seen`, "$alpha", "Delta"))
	for _, m := range msgs {
		_, _, err := s.AppendMessages(ctx, mb.ID, []store.NewMessage{m})
		noErr(t, err)
	}
	check := func(step string) {
		t.Helper()
		sn, ok := snap()
		if !ok {
			return
		}
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
	if _, ok, err := sr.SelectSnapshot(ctx, 1<<40); err == nil && ok {
		t.Fatal("SelectSnapshot of a missing mailbox succeeded")
	} else if err != nil && !errors.Is(err, store.ErrNoMailbox) {
		t.Fatalf("SelectSnapshot of a missing mailbox: %v, want ErrNoMailbox", err)
	}
}
