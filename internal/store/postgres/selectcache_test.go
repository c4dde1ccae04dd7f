package postgres

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"barid/internal/store"
)

// TestSelectStatusCrossNode: node A answers SELECT's and STATUS's second
// read from its flag cache for the row it has just read (no listener,
// so no barrier), and every answer equals what PostgreSQL gives right
// after each of node B's STOREs (keywords included, and one defining a
// keyword on a gone message), EXPUNGEs and APPENDs, and after A's own.
// With nothing changed, or after A's own write, the row's read is A's
// only statement.
func TestSelectStatusCrossNode(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	u, a, tr, b, acct, mb := tracedNodes(t, "alice", []byte("x"), "X")
	truth := openDB(t, u) // its SelectSnapshot and MailboxStatus read PostgreSQL
	var batch []store.NewMessage
	for i := range 10 {
		batch = append(batch, msg(fmt.Sprint("m", i)))
	}
	if _, _, err := b.AppendMessages(ctx, mb.ID, batch); err != nil {
		t.Fatal(err)
	}
	show := func(sn store.SelectSnapshot, st *store.Status) string {
		return fmt.Sprintf("uids %v first unseen %d keywords %q in use %q (%v); status %d/%d/%d/%d/%d hms %d next %d",
			sn.UIDs, sn.FirstUnseen, sn.Keywords, sn.InUse, sn.Ordered,
			st.Messages, st.Unseen, st.Deleted, st.Recent, st.Size, st.Mailbox.HighestModSeq, st.Mailbox.UIDNext)
	}
	check := func(step string, wantStmts int) {
		t.Helper()
		tr.take()
		row, err := a.Mailbox(ctx, acct.ID, "X")
		if err != nil {
			t.Fatal(err)
		}
		sn, ok, err := a.SelectSnapshotOf(ctx, row)
		if err != nil || !ok {
			t.Fatalf("%s: SelectSnapshotOf: %v %v", step, ok, err)
		}
		st, err := a.MailboxStatusOf(ctx, row)
		if err != nil {
			t.Fatal(err)
		}
		n, stmts := tr.take()
		wsn, _, err := truth.SelectSnapshot(ctx, mb.ID)
		if err != nil {
			t.Fatal(err)
		}
		wst, err := truth.MailboxStatus(ctx, mb.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := show(sn, st), show(wsn, wst); got != want || wsn.Mailbox.HighestModSeq != row.HighestModSeq {
			t.Fatalf("%s: node A answered\n%s\nPostgreSQL holds\n%s", step, got, want)
		}
		if wantStmts >= 0 && n != wantStmts {
			t.Fatalf("%s: node A made %d statements %q, want %d", step, n, stmts, wantStmts)
		}
	}
	check("load", 2)
	check("unchanged", 1)
	r := rand.New(rand.NewPCG(3, 4))
	flags := []string{`\Seen`, `\Flagged`, `\Deleted`, `$label1`, "Kw"}
	for i := range 40 {
		w, who := b, "B"
		if i%3 == 2 {
			w, who = a, "A"
		}
		var err error
		op := r.IntN(5)
		u := store.UID(1 + r.IntN(10+i/2))
		switch op {
		case 0, 1:
			fo := store.FlagsAdd
			if op == 1 {
				fo = store.FlagsRemove
			}
			_, _, _, err = w.StoreFlags(ctx, mb.ID, []store.UID{u, u + 1}, fo, store.FlagsFromNames([]string{flags[r.IntN(len(flags))]}), 0)
		case 2:
			_, _, err = w.Expunge(ctx, mb.ID, []store.UID{u})
		case 3:
			m := msg(fmt.Sprint("n", i))
			m.Flags = store.FlagsFromNames([]string{fmt.Sprint("K", i%4)})
			_, _, err = w.AppendMessages(ctx, mb.ID, []store.NewMessage{m})
		case 4:
			// A keyword defined on a message that is gone: no
			// message changes, the keyword list does.
			_, _, _, err = w.StoreFlags(ctx, mb.ID, []store.UID{1000}, store.FlagsAdd, store.FlagsFromNames([]string{fmt.Sprint("Orphan", i)}), 0)
		}
		if err != nil {
			t.Fatal(err)
		}
		want := -1 // B's write: a delta read (or none if it changed nothing)
		if who == "A" && op < 3 {
			want = 1 // A's own STORE or EXPUNGE applied in memory
		}
		check(fmt.Sprintf("step %d: %s op %d on UID %d", i, who, op, u), want)
		check(fmt.Sprintf("step %d: again", i), 1)
	}
	if ks, err := truth.Keywords(ctx, mb.ID); err != nil || !slices.ContainsFunc(ks, func(k string) bool { return strings.HasPrefix(k, "Orphan") }) {
		t.Fatalf("no keyword defined on a gone message: %q %v", ks, err)
	}
}
