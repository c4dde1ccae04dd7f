package postgres

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

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

// TestWriteRoundTrips: a STORE without keywords is one statement
// (barid_store_flags), with a new keyword three round trips (BEGIN,
// lock and read; the keyword's spelling; then the bump, the flags, the
// notification and COMMIT as one statement and COMMIT), an APPEND without keywords two (BEGIN, bump,
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
	if n != 1 || !strings.Contains(st[0], "barid_store_flags") {
		t.Fatalf("STORE: want one statement; got %d: %q", n, st)
	}
	if len(res) != 2 || res[0].ModSeq != mb.HighestModSeq+1 || res[0].Flags.System&store.FlagFlagged == 0 {
		t.Fatalf("STORE results %+v", res)
	}
	mb2, _ := s.MailboxByID(ctx, in.ID)
	if mb2.HighestModSeq != mb.HighestModSeq+1 {
		t.Fatalf("HIGHESTMODSEQ %d after STORE, want %d", mb2.HighestModSeq, mb.HighestModSeq+1)
	}
	tr.take()
	res, _, _, err = s.StoreFlags(ctx, in.ID, uids, store.FlagsAdd, store.Flags{Keywords: []string{"$Label1"}}, 0)
	if err != nil {
		t.Fatal(err)
	}
	n, st = tr.take()
	if n != 3 || !strings.Contains(st[1], "INSERT INTO keywords") || !strings.HasPrefix(st[2], "batch of 2: WITH ") {
		t.Fatalf("STORE of a new keyword: want three round trips (lock and read, the keyword, one statement and COMMIT); got %d: %q", n, st)
	}
	if len(res) != 2 || res[0].ModSeq != mb.HighestModSeq+2 || len(res[0].Flags.Keywords) != 1 {
		t.Fatalf("STORE of a keyword: results %+v", res)
	}
	tr.take()

	nu, err := s.UIDsAfterRecent(ctx, in.ID, 0)
	if err != nil || len(nu.UIDs) != 2 || nu.FirstRecent != 1 {
		t.Fatalf("UIDsAfterRecent: %+v %v", nu, err)
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

// TestStoreFlagsOneCall: barid_store_flags, the one-statement STORE,
// changes only what differs, bumps HIGHESTMODSEQ once and only for a
// change, keeps the mailbox's counters, honours UNCHANGEDSINCE (RFC
// 7162 §3.1.3), clears keywords on FLAGS, sets synchronous_commit off
// for its own transaction when asked, and notifies the other nodes with
// the hint encodeHints would have sent.
func TestStoreFlagsOneCall(t *testing.T) {
	u := pgtest.Database(t)
	s, tr := tracedStore(t, u, Options{})
	ctx := context.Background()
	a, err := s.CreateAccount(ctx, "user", nil)
	if err != nil {
		t.Fatal(err)
	}
	in, _ := s.Mailbox(ctx, a.ID, "INBOX")
	msg := store.NewMessage{BlobID: "b1", Size: 3, Inline: []byte("a\r\n")}
	kw := msg
	kw.Flags = store.Flags{System: store.FlagSeen, Keywords: []string{"$Work"}}
	uids, _, err := s.AppendMessages(ctx, in.ID, []store.NewMessage{msg, msg, kw})
	if err != nil {
		t.Fatal(err)
	}
	listen, err := pgx.Connect(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	defer listen.Close(context.Background())
	if _, err := listen.Exec(ctx, "LISTEN "+notifyChannel); err != nil {
		t.Fatal(err)
	}
	mb0, _ := s.MailboxByID(ctx, in.ID)
	status := func() *store.Status {
		t.Helper()
		st, err := s.MailboxStatus(ctx, in.ID)
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	if st := status(); st.Unseen != 2 || st.Deleted != 0 {
		t.Fatalf("before: %+v", st)
	}
	tr.take()

	// \Seen \Deleted on all three: two change \Seen, all three \Deleted.
	res, failed, ch, err := s.StoreFlags(ctx, in.ID, uids, store.FlagsAdd, store.Flags{System: store.FlagSeen | store.FlagDeleted}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if n, st := tr.take(); n != 1 {
		t.Fatalf("STORE: %d statements, want 1: %q", n, st)
	}
	ms := mb0.HighestModSeq + 1
	if len(res) != 3 || len(failed) != 0 || len(ch) != 3 || ch[0].ModSeq != ms || ch[0].AccountID != a.ID || ch[2].UID != uids[2] {
		t.Fatalf("STORE: results %+v failed %v changes %+v", res, failed, ch)
	}
	if len(res[2].Flags.Keywords) != 1 || res[2].ModSeq != ms || res[2].Flags.System != store.FlagSeen|store.FlagDeleted {
		t.Fatalf("STORE kept the keyword? %+v", res[2])
	}
	if st := status(); st.Unseen != 0 || st.Deleted != 3 || st.Mailbox.HighestModSeq != ms {
		t.Fatalf("after STORE: %+v, want unseen 0 deleted 3 HIGHESTMODSEQ %d", st, ms)
	}
	wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	n, err := listen.WaitForNotification(wctx)
	cancel()
	if err != nil {
		t.Fatal(err)
	}
	h, err := decodeHint(n.Payload)
	if err != nil || h.kind != hintMessages || h.node != s.node || h.account != a.ID || h.mailbox != in.ID ||
		h.lo != ms-1 || h.hi != ms || h.ulo != 0 || h.uhi != 0 {
		t.Fatalf("notification %q: %+v %v", n.Payload, h, err)
	}

	// The same again changes nothing: no MODSEQ, no notification.
	res, _, ch, err = s.StoreFlags(ctx, in.ID, uids, store.FlagsAdd, store.Flags{System: store.FlagSeen}, 0)
	if err != nil || len(ch) != 0 || len(res) != 3 || res[0].ModSeq != ms {
		t.Fatalf("STORE of nothing: %+v %+v %v", res, ch, err)
	}
	if st := status(); st.Mailbox.HighestModSeq != ms {
		t.Fatalf("STORE of nothing moved HIGHESTMODSEQ to %d", st.Mailbox.HighestModSeq)
	}
	// ... and takes no lock: it answers while another transaction
	// holds the mailbox row's lock.
	holder, err := pgx.Connect(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Close(context.Background())
	htx, err := holder.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := htx.Exec(ctx, `SELECT 1 FROM mailboxes WHERE id = $1 FOR NO KEY UPDATE`, in.ID); err != nil {
		t.Fatal(err)
	}
	lctx, lcancel := context.WithTimeout(ctx, 3*time.Second)
	res, _, ch, err = s.StoreFlags(lctx, in.ID, uids, store.FlagsAdd, store.Flags{System: store.FlagDeleted}, 0)
	lcancel()
	if err != nil || len(ch) != 0 || len(res) != 3 || res[2].Flags.System != store.FlagSeen|store.FlagDeleted || len(res[2].Flags.Keywords) != 1 {
		t.Fatalf("STORE of nothing beside a held lock: %+v %+v %v", res, ch, err)
	}
	htx.Rollback(ctx) //nolint:errcheck // test

	// UNCHANGEDSINCE below the messages' MODSEQ fails them all.
	res, failed, ch, err = s.StoreFlags(ctx, in.ID, uids[:2], store.FlagsRemove, store.Flags{System: store.FlagSeen}, ms-1)
	if err != nil || len(res) != 0 || len(failed) != 2 || len(ch) != 0 {
		t.Fatalf("UNCHANGEDSINCE %d: results %+v failed %v changes %+v %v", ms-1, res, failed, ch, err)
	}

	// FLAGS (replace) without keywords clears the keyword; -FLAGS
	// \Seen counts the message unseen again.
	res, _, ch, err = s.StoreFlags(ctx, in.ID, uids[2:], store.FlagsReplace, store.Flags{System: store.FlagSeen}, ms)
	if err != nil || len(ch) != 1 || len(res[0].Flags.Keywords) != 0 || res[0].Flags.System != store.FlagSeen {
		t.Fatalf("FLAGS (\\Seen): %+v %+v %v", res, ch, err)
	}
	if _, _, _, err := s.StoreFlags(ctx, in.ID, uids[:1], store.FlagsRemove, store.Flags{System: store.FlagSeen}, 0); err != nil {
		t.Fatal(err)
	}
	if st := status(); st.Unseen != 1 || st.Deleted != 2 || st.Mailbox.HighestModSeq != ms+2 {
		t.Fatalf("after FLAGS and -FLAGS: %+v, want unseen 1 deleted 2 HIGHESTMODSEQ %d", st, ms+2)
	}
	var rows []flagRow
	if err := s.readTx(ctx, func(tx pgx.Tx) (err error) {
		rows, err = flagRows(ctx, tx, in.ID, nil, "")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if len(rows) != 3 || rows[2].flags.Keywords != nil || rows[0].flags.System != store.FlagDeleted {
		t.Fatalf("rows %+v", rows)
	}

	// No mailbox: ErrNoMailbox.
	if _, _, _, err := s.StoreFlags(ctx, in.ID+1000, uids, store.FlagsAdd, store.Flags{System: store.FlagSeen}, 0); !errors.Is(err, store.ErrNoMailbox) {
		t.Fatalf("STORE into no mailbox: %v", err)
	}

	// p_lazy: synchronous_commit off for the call's transaction only.
	tx, err := listen.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(context.Background()) //nolint:errcheck // test
	if _, err := tx.Exec(ctx, `SET LOCAL synchronous_commit = on`); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `SELECT count(*) FROM barid_store_flags($1, $2, 'add', 4, 0, true, '')`, in.ID, []int64{int64(uids[0])}); err != nil {
		t.Fatal(err)
	}
	var v string
	if err := tx.QueryRow(ctx, `SHOW synchronous_commit`).Scan(&v); err != nil || v != "off" {
		t.Fatalf("synchronous_commit %q after a lazy call, want off (%v)", v, err)
	}
}

// TestExpungeOneCall: barid_expunge, the one-statement EXPUNGE, removes
// the messages with \Deleted (or the listed ones whatever their flags),
// at one new MODSEQ, with tombstones (RFC 7162 §3.2.5), the counters
// and quota adjusted, the inline bytes dropped only when no message
// uses them any more, and the other nodes notified.
func TestExpungeOneCall(t *testing.T) {
	u := pgtest.Database(t)
	s, tr := tracedStore(t, u, Options{})
	ctx := context.Background()
	a, err := s.CreateAccount(ctx, "user", nil)
	if err != nil {
		t.Fatal(err)
	}
	in, _ := s.Mailbox(ctx, a.ID, "INBOX")
	mk := func(id string, f store.SysFlags) store.NewMessage {
		return store.NewMessage{BlobID: id, Size: 3, Inline: []byte("a\r\n"), Flags: store.Flags{System: f}}
	}
	// 1 and 2 share bytes; 1 and 3 are \Deleted, 3 unseen.
	uids, _, err := s.AppendMessages(ctx, in.ID, []store.NewMessage{
		mk("shared", store.FlagSeen|store.FlagDeleted), mk("shared", store.FlagSeen), mk("own", store.FlagDeleted), mk("keep", 0)})
	if err != nil {
		t.Fatal(err)
	}
	listen, err := pgx.Connect(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	defer listen.Close(context.Background())
	if _, err := listen.Exec(ctx, "LISTEN "+notifyChannel); err != nil {
		t.Fatal(err)
	}
	mb0, _ := s.MailboxByID(ctx, in.ID)
	tr.take()
	out, ch, err := s.Expunge(ctx, in.ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	if n, st := tr.take(); n != 1 || !strings.Contains(st[0], "barid_expunge") {
		t.Fatalf("EXPUNGE: %d statements, want 1: %q", n, st)
	}
	ms := mb0.HighestModSeq + 1
	if len(out) != 2 || out[0] != uids[0] || out[1] != uids[2] || len(ch) != 2 ||
		ch[1].Kind != store.ChangeExpunged || ch[1].ModSeq != ms || ch[1].AccountID != a.ID || ch[1].UID != uids[2] {
		t.Fatalf("EXPUNGE: %v %+v", out, ch)
	}
	st, err := s.MailboxStatus(ctx, in.ID)
	if err != nil {
		t.Fatal(err)
	}
	if st.Messages != 2 || st.Unseen != 1 || st.Deleted != 0 || st.Size != 6 || st.Mailbox.HighestModSeq != ms {
		t.Fatalf("after EXPUNGE: %+v", st)
	}
	if q, err := s.Quota(ctx, a.ID); err != nil || q.Usage.Messages != 2 || q.Usage.Storage != 6 {
		t.Fatalf("quota after EXPUNGE: %+v %v", q, err)
	}
	gone, err := s.ExpungedSince(ctx, in.ID, ms-1)
	if err != nil || len(gone) != 2 || gone[0] != uids[0] || gone[1] != uids[2] {
		t.Fatalf("tombstones: %v %v", gone, err)
	}
	if _, ok, _ := s.OpenInline(ctx, "own"); ok {
		t.Fatal("the bytes of the expunged message are still in blobdata")
	}
	if _, ok, _ := s.OpenInline(ctx, "shared"); !ok {
		t.Fatal("bytes another message uses were dropped")
	}
	wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	n, err := listen.WaitForNotification(wctx)
	cancel()
	if err != nil {
		t.Fatal(err)
	}
	if h, err := decodeHint(n.Payload); err != nil || h.kind != hintMessages || h.mailbox != in.ID || h.lo != ms-1 || h.hi != ms {
		t.Fatalf("notification %q: %+v %v", n.Payload, h, err)
	}

	// Nothing \Deleted: no MODSEQ.
	if out, ch, err := s.Expunge(ctx, in.ID, nil); err != nil || len(out) != 0 || len(ch) != 0 {
		t.Fatalf("EXPUNGE of nothing: %v %+v %v", out, ch, err)
	}
	// A listed message goes whatever its flags (UID EXPUNGE filters
	// before); one already gone is skipped.
	out, _, err = s.Expunge(ctx, in.ID, []store.UID{uids[2], uids[3]})
	if err != nil || len(out) != 1 || out[0] != uids[3] {
		t.Fatalf("EXPUNGE of listed UIDs: %v %v", out, err)
	}
	if mb, _ := s.MailboxByID(ctx, in.ID); mb.HighestModSeq != ms+1 {
		t.Fatalf("HIGHESTMODSEQ %d, want %d", mb.HighestModSeq, ms+1)
	}
	if _, _, err := s.Expunge(ctx, in.ID+1000, nil); !errors.Is(err, store.ErrNoMailbox) {
		t.Fatalf("EXPUNGE of no mailbox: %v", err)
	}

	// p_lazy: synchronous_commit off for the call's transaction only.
	tx, err := listen.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(context.Background()) //nolint:errcheck // test
	if _, err := tx.Exec(ctx, `SET LOCAL synchronous_commit = on`); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `SELECT count(*) FROM barid_expunge($1, $2, true, '')`, in.ID, []int64{int64(uids[1])}); err != nil {
		t.Fatal(err)
	}
	var v string
	if err := tx.QueryRow(ctx, `SHOW synchronous_commit`).Scan(&v); err != nil || v != "off" {
		t.Fatalf("synchronous_commit %q after a lazy call, want off (%v)", v, err)
	}
}

// TestListOneRoundTrip: MailboxesShared (LIST's reads, store.ListReader)
// is one round trip, a batch of the two statements.
func TestListOneRoundTrip(t *testing.T) {
	s, tr := tracedStore(t, pgtest.Database(t), Options{})
	ctx := context.Background()
	a, err := s.CreateAccount(ctx, "user", nil)
	if err != nil {
		t.Fatal(err)
	}
	tr.take()
	own, shared, err := s.MailboxesShared(ctx, a.ID, a.Name, []string{a.Name, "anyone"})
	if err != nil || len(own) != 1 || own[0].Name != "INBOX" || len(shared) != 0 {
		t.Fatalf("MailboxesShared: %+v %+v %v", own, shared, err)
	}
	if n, st := tr.take(); n != 1 || !strings.HasPrefix(st[0], "batch of 2") {
		t.Fatalf("MailboxesShared: %d round trips, want 1 batch of 2: %q", n, st)
	}
}
