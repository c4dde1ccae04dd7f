package postgres

import (
	"context"
	"strings"
	"testing"

	"barid/internal/store"
	"barid/internal/store/postgres/pgtest"
)

// TestMergeDeferred: mergeable deferred statements become one WITH
// query with their parameters renumbered; others stay on their own.
func TestMergeDeferred(t *testing.T) {
	tx := &ptx{}
	tx.deferExec(`INSERT INTO x VALUES ($1)`, 1)
	tx.deferMerge(mergeWrite, `UPDATE a SET v = $2 WHERE id = $1`, 10, 20)
	tx.deferMerge(mergeSelect, `SELECT f($1, $2)`, 30, 40)
	tx.deferMerge(mergeSelect, `SELECT g($1)`, 50)
	tx.deferExec(`DELETE FROM y WHERE k = $1`, 2)
	tx.deferMerge(mergeWrite, `UPDATE b SET v = $1`, 60)
	got := tx.deferredBatch()
	if len(got) != 4 {
		t.Fatalf("%d statements, want 4: %+v", len(got), got)
	}
	want := `WITH d0 AS (UPDATE a SET v = $2 WHERE id = $1), d1 AS (SELECT f($3, $4)), d2 AS (SELECT g($5)) SELECT (SELECT count(*) FROM d1) + (SELECT count(*) FROM d2)`
	if got[1].sql != want {
		t.Fatalf("merged:\n%s\nwant:\n%s", got[1].sql, want)
	}
	if len(got[1].args) != 5 || got[1].args[0] != 10 || got[1].args[4] != 50 {
		t.Fatalf("merged args %v", got[1].args)
	}
	if got[0].sql != `INSERT INTO x VALUES ($1)` || got[2].sql != `DELETE FROM y WHERE k = $1` || got[3].sql != `UPDATE b SET v = $1` {
		t.Fatalf("unmerged statements changed: %+v", got)
	}
}

// TestWriteRoundTrips: a STORE is two round trips (BEGIN, lock and
// read; then the bump, the flags, the notification and COMMIT as one
// statement and COMMIT), an APPEND without keywords two (BEGIN, bump,
// quota and thread lookup; then the rows, the notification and
// COMMIT), a \Recent claim one statement, and the results are what the
// unpipelined paths gave.
func TestWriteRoundTrips(t *testing.T) {
	s, tr := tracedStore(t, pgtest.Database(t), Options{})
	ctx := context.Background()
	a, err := s.CreateAccount(ctx, "user", nil)
	if err != nil {
		t.Fatal(err)
	}
	in, _ := s.Mailbox(ctx, a.ID, "INBOX")
	tr.take()
	msg := store.NewMessage{BlobID: "b1", Size: 3, Inline: []byte("a\r\n"), Header: []byte("Message-ID: <m1@x>\r\n"),
		MessageID: "<m1@x>", Flags: store.Flags{System: store.FlagSeen}}
	uids, ch, err := s.AppendMessages(ctx, in.ID, []store.NewMessage{msg, msg})
	if err != nil {
		t.Fatal(err)
	}
	if n, st := tr.take(); n != 2 {
		t.Fatalf("APPEND: %d round trips, want 2: %q", n, st)
	}
	if len(uids) != 2 || uids[0] != 1 || uids[1] != 2 || len(ch) != 2 || ch[0].ModSeq != ch[1].ModSeq || ch[0].AccountID != a.ID {
		t.Fatalf("APPEND: uids %v changes %+v", uids, ch)
	}
	mb, err := s.MailboxByID(ctx, in.ID)
	if err != nil {
		t.Fatal(err)
	}
	if mb.UIDNext != 3 || mb.HighestModSeq != ch[0].ModSeq {
		t.Fatalf("after APPEND: UIDNEXT %d HIGHESTMODSEQ %d, change MODSEQ %d", mb.UIDNext, mb.HighestModSeq, ch[0].ModSeq)
	}
	q, err := s.Quota(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if q.Usage.Messages != 2 || q.Usage.Storage != 6 {
		t.Fatalf("quota after APPEND: %+v", q.Usage)
	}
	tr.take()

	res, _, _, err := s.StoreFlags(ctx, in.ID, uids, store.FlagsAdd, store.Flags{System: store.FlagFlagged}, 0)
	if err != nil {
		t.Fatal(err)
	}
	n, st := tr.take()
	if n != 2 || !strings.HasPrefix(st[1], "batch of 2: WITH ") {
		t.Fatalf("STORE: want two round trips, the second one statement and COMMIT; got %d: %q", n, st)
	}
	if len(res) != 2 || res[0].ModSeq != mb.HighestModSeq+1 || res[0].Flags.System&store.FlagFlagged == 0 {
		t.Fatalf("STORE results %+v", res)
	}
	mb2, _ := s.MailboxByID(ctx, in.ID)
	if mb2.HighestModSeq != mb.HighestModSeq+1 {
		t.Fatalf("HIGHESTMODSEQ %d after STORE, want %d", mb2.HighestModSeq, mb.HighestModSeq+1)
	}
	tr.take()

	newUIDs, first, err := s.UIDsAfterRecent(ctx, in.ID, 0)
	if err != nil || len(newUIDs) != 2 || first != 1 {
		t.Fatalf("UIDsAfterRecent: %v %d %v", newUIDs, first, err)
	}
	tr.take()
	prev, err := s.ClaimRecent(ctx, in.ID, 2)
	if err != nil || prev != 1 {
		t.Fatalf("ClaimRecent: %d %v, want 1", prev, err)
	}
	if n, st := tr.take(); n != 1 {
		t.Fatalf("ClaimRecent after UIDsAfterRecent: %d statements, want 1: %q", n, st)
	}
	mb3, _ := s.MailboxByID(ctx, in.ID)
	if mb3.FirstRecent != 3 {
		t.Fatalf("FIRSTRECENT %d after the claim, want 3", mb3.FirstRecent)
	}
	// Claimed: the next claim answers from memory.
	tr.take()
	if prev, err := s.ClaimRecent(ctx, in.ID, 2); err != nil || prev != 3 {
		t.Fatalf("second ClaimRecent: %d %v, want 3", prev, err)
	}
	if n, st := tr.take(); n != 0 {
		t.Fatalf("second ClaimRecent: %d statements: %q", n, st)
	}
}
