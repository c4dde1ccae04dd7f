package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"barid/internal/store"
)

func sieveStore(t *testing.T, s store.Store) store.SieveScripts {
	t.Helper()
	ss, ok := s.(store.SieveScripts)
	if !ok {
		t.Skip("backend has no store.SieveScripts")
	}
	return ss
}

// testSieveScripts: RFC 5804 §1.1's model of named scripts with at most
// one active: put/replace, list, rename keeps activity, the active
// script cannot be deleted, max_scripts is enforced (also under
// concurrency), other accounts are separate and scripts go with their
// account.
func testSieveScripts(t *testing.T, open func(t *testing.T) store.Store) {
	s := openClosed(t, open)
	ss := sieveStore(t, s)
	ctx := context.Background()
	a, _ := setup(t, s)
	b := must[*store.Account](t)(s.CreateAccount(ctx, "bob", nil))

	if sc, err := ss.ActiveSieveScript(ctx, a.ID); err != nil || sc != nil {
		t.Fatalf("active before any: %v %v", sc, err)
	}
	noErr(t, ss.PutSieveScript(ctx, a.ID, "one", []byte("keep;"), 3))
	noErr(t, ss.PutSieveScript(ctx, a.ID, "two", []byte("discard;"), 3))
	noErr(t, ss.PutSieveScript(ctx, b.ID, "one", []byte("stop;"), 3))
	noErr(t, ss.PutSieveScript(ctx, a.ID, "one", []byte("keep; stop;"), 3)) // replace
	list := must[[]store.SieveScript](t)(ss.SieveScripts(ctx, a.ID))
	if len(list) != 2 || list[0].Name != "one" || string(list[0].Script) != "keep; stop;" || list[1].Name != "two" {
		t.Fatalf("list: %+v", list)
	}
	if _, err := ss.SieveScript(ctx, a.ID, "nope"); !errors.Is(err, store.ErrNoScript) {
		t.Fatalf("get missing: %v", err)
	}
	if sc := must[*store.SieveScript](t)(ss.SieveScript(ctx, b.ID, "one")); string(sc.Script) != "stop;" {
		t.Fatalf("bob's script: %q", sc.Script)
	}

	// Activation: one at a time.
	if err := ss.SetActiveSieveScript(ctx, a.ID, "nope"); !errors.Is(err, store.ErrNoScript) {
		t.Fatalf("activate missing: %v", err)
	}
	noErr(t, ss.SetActiveSieveScript(ctx, a.ID, "one"))
	noErr(t, ss.SetActiveSieveScript(ctx, a.ID, "two"))
	act := must[*store.SieveScript](t)(ss.ActiveSieveScript(ctx, a.ID))
	if act == nil || act.Name != "two" || string(act.Script) != "discard;" {
		t.Fatalf("active: %+v", act)
	}
	list = must[[]store.SieveScript](t)(ss.SieveScripts(ctx, a.ID))
	if list[0].Active || !list[1].Active {
		t.Fatalf("active flags: %+v", list)
	}
	if sc, _ := ss.ActiveSieveScript(ctx, b.ID); sc != nil {
		t.Fatalf("bob has an active script: %+v", sc)
	}
	// Replacing the active script keeps it active (RFC 5804 §2.6).
	noErr(t, ss.PutSieveScript(ctx, a.ID, "two", []byte("keep;"), 3))
	if act := must[*store.SieveScript](t)(ss.ActiveSieveScript(ctx, a.ID)); act == nil || string(act.Script) != "keep;" {
		t.Fatalf("active after replace: %+v", act)
	}
	// The active script cannot be deleted (RFC 5804 §2.10).
	if err := ss.DeleteSieveScript(ctx, a.ID, "two"); !errors.Is(err, store.ErrScriptActive) {
		t.Fatalf("delete active: %v", err)
	}
	if err := ss.DeleteSieveScript(ctx, a.ID, "nope"); !errors.Is(err, store.ErrNoScript) {
		t.Fatalf("delete missing: %v", err)
	}
	// Rename keeps activity; refuses an existing name.
	if err := ss.RenameSieveScript(ctx, a.ID, "two", "one"); !errors.Is(err, store.ErrScriptExists) {
		t.Fatalf("rename onto existing: %v", err)
	}
	if err := ss.RenameSieveScript(ctx, a.ID, "nope", "x"); !errors.Is(err, store.ErrNoScript) {
		t.Fatalf("rename missing: %v", err)
	}
	noErr(t, ss.RenameSieveScript(ctx, a.ID, "two", "deux"))
	if act := must[*store.SieveScript](t)(ss.ActiveSieveScript(ctx, a.ID)); act == nil || act.Name != "deux" {
		t.Fatalf("active after rename: %+v", act)
	}
	// Deactivate, then delete.
	noErr(t, ss.SetActiveSieveScript(ctx, a.ID, ""))
	if act, _ := ss.ActiveSieveScript(ctx, a.ID); act != nil {
		t.Fatalf("still active: %+v", act)
	}
	noErr(t, ss.DeleteSieveScript(ctx, a.ID, "deux"))

	// max_scripts: replacing at the limit is fine, a new name is not.
	noErr(t, ss.PutSieveScript(ctx, a.ID, "b", nil, 3))
	noErr(t, ss.PutSieveScript(ctx, a.ID, "c", nil, 3))
	noErr(t, ss.PutSieveScript(ctx, a.ID, "c", []byte("keep;"), 3))
	if err := ss.PutSieveScript(ctx, a.ID, "d", nil, 3); !errors.Is(err, store.ErrTooManyScripts) {
		t.Fatalf("fourth script: %v", err)
	}
	if sc := must[*store.SieveScript](t)(ss.SieveScript(ctx, a.ID, "b")); sc.Script == nil || len(sc.Script) != 0 {
		t.Fatalf("empty script: %#v", sc.Script)
	}
	// Concurrent uploads cannot pass the limit together.
	var wg sync.WaitGroup
	for i := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ss.PutSieveScript(ctx, b.ID, "c"+string(rune('a'+i)), []byte("keep;"), 4) //nolint:errcheck // counted below
		}()
	}
	wg.Wait()
	if n := len(must[[]store.SieveScript](t)(ss.SieveScripts(ctx, b.ID))); n != 4 {
		t.Fatalf("bob has %d scripts with max_scripts 4", n)
	}

	// Scripts go with their account.
	noErr(t, s.DeleteAccount(ctx, b.ID))
	b2 := must[*store.Account](t)(s.CreateAccount(ctx, "bob", nil))
	if n := len(must[[]store.SieveScript](t)(ss.SieveScripts(ctx, b2.ID))); n != 0 {
		t.Fatalf("new bob inherited %d scripts", n)
	}
	if err := ss.PutSieveScript(ctx, 1<<40, "x", nil, 0); !errors.Is(err, store.ErrNoAccount) {
		t.Fatalf("put for a missing account: %v", err)
	}
}

// testSieveVacation: the RFC 5230 §4.2 memory answers once per key
// until it expires, per account, and atomically under concurrency.
func testSieveVacation(t *testing.T, open func(t *testing.T) store.Store) {
	s := openClosed(t, open)
	ss := sieveStore(t, s)
	ctx := context.Background()
	a, _ := setup(t, s)
	b := must[*store.Account](t)(s.CreateAccount(ctx, "bob", nil))
	t0 := time.Unix(1_700_000_000, 0)
	mark := func(acct int64, key string, now time.Time, d time.Duration) bool {
		t.Helper()
		ans, err := ss.MarkVacation(ctx, acct, key, now, now.Add(d))
		noErr(t, err)
		return ans
	}
	peek := func(key string, now time.Time) bool {
		t.Helper()
		ok, err := ss.VacationMarked(ctx, a.ID, key, now)
		noErr(t, err)
		return ok
	}
	if peek("h\x00x@example.org", t0) {
		t.Fatal("marked before any")
	}
	if mark(a.ID, "h\x00x@example.org", t0, time.Hour) {
		t.Fatal("first reply reported as answered")
	}
	if !peek("h\x00x@example.org", t0.Add(time.Minute)) || peek("h\x00x@example.org", t0.Add(time.Hour)) {
		t.Fatal("VacationMarked does not follow the expiry")
	}
	if !mark(a.ID, "h\x00x@example.org", t0.Add(59*time.Minute), time.Hour) {
		t.Fatal("second reply within the period not remembered")
	}
	if mark(a.ID, "h\x00y@example.org", t0, time.Hour) || mark(b.ID, "h\x00x@example.org", t0, time.Hour) {
		t.Fatal("memory shared across senders or accounts")
	}
	if mark(a.ID, "h\x00x@example.org", t0.Add(time.Hour), 5*time.Second) {
		t.Fatal("expired memory still answered")
	}
	if !mark(a.ID, "h\x00x@example.org", t0.Add(time.Hour+4*time.Second), 5*time.Second) {
		t.Fatal("new period not remembered")
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	sent := 0
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ans, err := ss.MarkVacation(ctx, a.ID, "race", t0, t0.Add(time.Hour))
			if err == nil && !ans {
				mu.Lock()
				sent++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if sent != 1 {
		t.Fatalf("%d concurrent deliveries replied, want 1", sent)
	}
}

// testSieveOutgoing: the spool keeps messages across a reopen, hands out
// only due ones, oldest first, and records retries.
func testSieveOutgoing(t *testing.T, open func(t *testing.T) store.Store) {
	s := openClosed(t, open)
	ss := sieveStore(t, s)
	ctx := context.Background()
	now := time.UnixMilli(time.Now().UnixMilli())
	id1 := must[int64](t)(ss.QueueOutgoing(ctx, &store.OutgoingMail{AccountID: 7, Kind: "redirect", From: "a@x",
		To: []string{"b@y", "c@z"}, Data: []byte("Subject: 1\r\n\r\nx\r\n"), NextTry: now}))
	id2 := must[int64](t)(ss.QueueOutgoing(ctx, &store.OutgoingMail{Kind: "vacation", From: "",
		To: []string{"d@y"}, Data: []byte("2"), NextTry: now.Add(time.Hour)}))
	if id1 == id2 {
		t.Fatal("same id twice")
	}
	due := must[[]store.OutgoingMail](t)(ss.DueOutgoing(ctx, now, 10))
	if len(due) != 1 || due[0].ID != id1 || due[0].From != "a@x" || !slices.Equal(due[0].To, []string{"b@y", "c@z"}) ||
		string(due[0].Data) != "Subject: 1\r\n\r\nx\r\n" || due[0].Kind != "redirect" || due[0].AccountID != 7 {
		t.Fatalf("due: %+v", due)
	}
	noErr(t, ss.RetryOutgoing(ctx, id1, now.Add(2*time.Hour), "451 try later"))
	due = must[[]store.OutgoingMail](t)(ss.DueOutgoing(ctx, now.Add(90*time.Minute), 10))
	if len(due) != 1 || due[0].ID != id2 || due[0].From != "" {
		t.Fatalf("due after retry: %+v", due)
	}
	due = must[[]store.OutgoingMail](t)(ss.DueOutgoing(ctx, now.Add(3*time.Hour), 1))
	if len(due) != 1 || due[0].ID != id2 {
		t.Fatalf("limit 1: %+v", due)
	}
	due = must[[]store.OutgoingMail](t)(ss.DueOutgoing(ctx, now.Add(3*time.Hour), 10))
	if len(due) != 2 || due[1].ID != id1 || due[1].Attempts != 1 || due[1].LastError != "451 try later" {
		t.Fatalf("after retry: %+v", due)
	}
	noErr(t, ss.DeleteOutgoing(ctx, id2))
	due = must[[]store.OutgoingMail](t)(ss.DueOutgoing(ctx, now.Add(3*time.Hour), 10))
	if len(due) != 1 || due[0].ID != id1 {
		t.Fatalf("after delete: %+v", due)
	}
}

// testSieveScriptDigest: the active script's name and content digest
// change with PUTSCRIPT, SETACTIVE and RENAMESCRIPT, and not otherwise.
func testSieveScriptDigest(t *testing.T, open func(t *testing.T) store.Store) {
	s := openClosed(t, open)
	ss := sieveStore(t, s)
	ctx := context.Background()
	acct := must[*store.Account](t)(s.CreateAccount(ctx, "digest", nil))
	digest := func() (string, []byte) {
		t.Helper()
		name, d, err := ss.ActiveSieveScriptDigest(ctx, acct.ID)
		noErr(t, err)
		return name, d
	}
	if name, d := digest(); name != "" || len(d) != 0 {
		t.Fatalf("no script: %q %x", name, d)
	}
	noErr(t, ss.PutSieveScript(ctx, acct.ID, "a", []byte("keep;"), 0))
	noErr(t, ss.PutSieveScript(ctx, acct.ID, "b", []byte("discard;"), 0))
	if name, _ := digest(); name != "" {
		t.Fatalf("nothing active: %q", name)
	}
	noErr(t, ss.SetActiveSieveScript(ctx, acct.ID, "a"))
	if name, d := digest(); name != "a" || !bytes.Equal(d, store.ScriptDigest([]byte("keep;"))) {
		t.Fatalf("a active: %q %x", name, d)
	}
	noErr(t, ss.PutSieveScript(ctx, acct.ID, "a", []byte("stop;"), 0))
	if name, d := digest(); name != "a" || !bytes.Equal(d, store.ScriptDigest([]byte("stop;"))) {
		t.Fatalf("a replaced: %q %x", name, d)
	}
	noErr(t, ss.RenameSieveScript(ctx, acct.ID, "a", "c"))
	if name, d := digest(); name != "c" || !bytes.Equal(d, store.ScriptDigest([]byte("stop;"))) {
		t.Fatalf("renamed: %q %x", name, d)
	}
	noErr(t, ss.SetActiveSieveScript(ctx, acct.ID, "b"))
	if name, d := digest(); name != "b" || !bytes.Equal(d, store.ScriptDigest([]byte("discard;"))) {
		t.Fatalf("b active: %q %x", name, d)
	}
	noErr(t, ss.SetActiveSieveScript(ctx, acct.ID, ""))
	if name, _ := digest(); name != "" {
		t.Fatalf("deactivated: %q", name)
	}
}

// testSieveOutgoingLease: two workers (here eight) claim one due
// message at the same time and exactly one gets it; while its lease
// runs nobody else can claim it and it is not due; once the lease has
// ended (the node died) another owner takes it over; a retry releases
// the lease.
func testSieveOutgoingLease(t *testing.T, open func(t *testing.T) store.Store) {
	s := openClosed(t, open)
	ss := sieveStore(t, s)
	ctx := context.Background()
	now := time.UnixMilli(time.Now().UnixMilli())
	id := must[int64](t)(ss.QueueOutgoing(ctx, &store.OutgoingMail{Kind: "redirect", From: "a@x",
		To: []string{"b@y"}, Data: []byte("x"), NextTry: now}))
	later := must[int64](t)(ss.QueueOutgoing(ctx, &store.OutgoingMail{Kind: "vacation", From: "",
		To: []string{"c@y"}, Data: []byte("y"), NextTry: now.Add(time.Hour)}))

	const workers = 8
	var wg sync.WaitGroup
	claims := make([][]store.OutgoingMail, workers)
	errs := make([]error, workers)
	start := make(chan struct{})
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			claims[w], errs[w] = ss.ClaimOutgoing(ctx, fmt.Sprintf("node%d", w), now, time.Minute, 10)
		}()
	}
	close(start)
	wg.Wait()
	winner := -1
	for w := range workers {
		noErr(t, errs[w])
		for _, m := range claims[w] {
			if m.ID != id {
				t.Fatalf("worker %d claimed %d, which is not due", w, m.ID)
			}
			if winner >= 0 {
				t.Fatalf("message claimed by node%d and node%d", winner, w)
			}
			winner = w
			if m.LeaseOwner != fmt.Sprintf("node%d", w) || !m.LeaseUntil.Equal(now.Add(time.Minute)) || string(m.Data) != "x" {
				t.Fatalf("claim: %+v", m)
			}
		}
	}
	if winner < 0 {
		t.Fatal("nobody claimed the due message")
	}
	// The lease runs: no claim, not due.
	if got := must[[]store.OutgoingMail](t)(ss.ClaimOutgoing(ctx, "other", now.Add(30*time.Second), time.Minute, 10)); len(got) != 0 {
		t.Fatalf("claimed during the lease: %+v", got)
	}
	if got := must[[]store.OutgoingMail](t)(ss.DueOutgoing(ctx, now.Add(30*time.Second), 10)); len(got) != 0 {
		t.Fatalf("due during the lease: %+v", got)
	}
	// The lease ended: taken over.
	got := must[[]store.OutgoingMail](t)(ss.ClaimOutgoing(ctx, "other", now.Add(61*time.Second), time.Minute, 10))
	if len(got) != 1 || got[0].ID != id || got[0].LeaseOwner != "other" {
		t.Fatalf("takeover: %+v", got)
	}
	// A retry releases the lease; at the retry time both are due and
	// one claim takes both, oldest first.
	noErr(t, ss.RetryOutgoing(ctx, id, now.Add(2*time.Hour), "451 later"))
	due := must[[]store.OutgoingMail](t)(ss.DueOutgoing(ctx, now.Add(2*time.Hour), 10))
	if len(due) != 2 || due[0].ID != later || due[1].ID != id || due[1].LeaseOwner != "" || !due[1].LeaseUntil.IsZero() {
		t.Fatalf("after retry: %+v", due)
	}
	got = must[[]store.OutgoingMail](t)(ss.ClaimOutgoing(ctx, "third", now.Add(2*time.Hour), time.Minute, 10))
	if len(got) != 2 || got[0].ID != later || got[1].ID != id || got[1].Attempts != 1 {
		t.Fatalf("claim after retry: %+v", got)
	}
	noErr(t, ss.DeleteOutgoing(ctx, id))
	noErr(t, ss.DeleteOutgoing(ctx, later))
	if got := must[[]store.OutgoingMail](t)(ss.ClaimOutgoing(ctx, "third", now.Add(5*time.Hour), time.Minute, 10)); len(got) != 0 {
		t.Fatalf("claimed a deleted message: %+v", got)
	}
}

// testAppendMulti: several mailboxes, different flags, one transaction;
// a missing mailbox makes the whole append fail, leaving every mailbox
// as it was.
func testAppendMulti(t *testing.T, open func(t *testing.T) store.Store) {
	s := openClosed(t, open)
	ma, ok := s.(store.MultiAppender)
	if !ok {
		t.Skip("backend has no store.MultiAppender")
	}
	ctx := context.Background()
	a, in := setup(t, s)
	work := mkbox(t, s, a.ID, "Work")
	msg := func(flags ...string) store.NewMessage {
		return store.NewMessage{BlobID: "blob-multi", Size: 10, InternalDate: time.Now(), Flags: store.FlagsFromNames(flags)}
	}
	uids, ch, err := ma.AppendMulti(ctx, []store.MailboxMessage{
		{MailboxID: work.ID, Message: msg(`\Flagged`)},
		{MailboxID: in.ID, Message: msg(`\Seen`, "$Label1")},
		{MailboxID: work.ID, Message: msg()},
	})
	noErr(t, err)
	if len(uids) != 3 || uids[0] != 1 || uids[1] != 1 || uids[2] != 2 || len(ch) != 3 {
		t.Fatalf("uids %v changes %d", uids, len(ch))
	}
	var got []string
	for _, mb := range []int64{in.ID, work.ID} {
		noErr(t, s.FetchMessages(ctx, mb, []store.UID{1, 2}, store.FieldFlags, func(m *store.Message) error {
			got = append(got, slices.Concat([]string{string(rune('0' + m.UID))}, m.Flags.Names())...)
			return nil
		}))
	}
	want := []string{"1", `\Seen`, "$Label1", "1", `\Flagged`, "2"}
	if !slices.Equal(got, want) {
		t.Fatalf("flags %q, want %q", got, want)
	}
	_, _, err = ma.AppendMulti(ctx, []store.MailboxMessage{
		{MailboxID: in.ID, Message: msg()},
		{MailboxID: 1 << 40, Message: msg()},
	})
	if !errors.Is(err, store.ErrNoMailbox) {
		t.Fatalf("missing mailbox: %v", err)
	}
	st := must[*store.Status](t)(s.MailboxStatus(ctx, in.ID))
	if st.Messages != 1 {
		t.Fatalf("INBOX has %d messages after a failed AppendMulti", st.Messages)
	}
	// One copy (the usual Sieve result): the same as AppendMessages.
	if _, _, err := ma.AppendMulti(ctx, []store.MailboxMessage{{MailboxID: 1 << 40, Message: msg()}}); !errors.Is(err, store.ErrNoMailbox) {
		t.Fatalf("one copy to a missing mailbox: %v", err)
	}
	uids, ch, err = ma.AppendMulti(ctx, []store.MailboxMessage{{MailboxID: in.ID, Message: msg("$label1", `\Flagged`)}})
	noErr(t, err)
	if len(uids) != 1 || uids[0] != 2 || len(ch) != 1 || ch[0].MailboxID != in.ID || ch[0].UID != 2 {
		t.Fatalf("one copy: uids %v changes %+v", uids, ch)
	}
	f, _ := flagsOf(t, s, in.ID, 2)
	if !slices.Equal(f.Names(), []string{`\Flagged`, "$Label1"}) {
		t.Fatalf("one copy's flags %q (the mailbox spells $Label1)", f.Names())
	}
	st = must[*store.Status](t)(s.MailboxStatus(ctx, in.ID))
	if st.Messages != 2 || st.Unseen != 1 || st.Mailbox.UIDNext != 3 {
		t.Fatalf("INBOX after one copy: %+v", st)
	}
}
