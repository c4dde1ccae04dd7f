package postgres

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"barid/internal/notify"
	"barid/internal/store"
	"barid/internal/store/postgres/pgtest"
)

func TestHintRoundTrip(t *testing.T) {
	const node = 0xdeadbeef12345678
	changes := []store.Change{
		{Kind: store.ChangeAdded, AccountID: 7, MailboxID: 3, UID: 10, ModSeq: 21},
		{Kind: store.ChangeAdded, AccountID: 7, MailboxID: 3, UID: 11, ModSeq: 21},
		{Kind: store.ChangeExpunged, AccountID: 7, MailboxID: 4, UID: 2, ModSeq: 9},
		{Kind: store.ChangeExpunged, AccountID: 7, MailboxID: 3, UID: 5, ModSeq: 22},
		{Kind: store.ChangeMailboxRenamed, AccountID: 7, MailboxID: 4, Name: `new "name" with spaces/ü`, OldName: "old\x01", UIDValidity: 99},
		{Kind: store.ChangeSubscribed, AccountID: 7, Name: "a b"},
	}
	ps := encodeHints(node, changes)
	// An ACL change travels as a list hint; private \Seen as one hint
	// per mailbox and modseq.
	for _, p := range encodeHints(node, []store.Change{{Kind: store.ChangeACL, AccountID: 7, MailboxID: 3, Name: "Team"}}) {
		if h, err := decodeHint(p); err != nil || h.kind != hintList || h.change.Kind != store.ChangeACL || h.change.Name != "Team" || h.change.MailboxID != 3 {
			t.Errorf("ACL hint %q: %+v %v", p, h, err)
		}
	}
	pv := encodeHints(node, []store.Change{{Kind: store.ChangePrivateSeen, AccountID: 8, MailboxID: 3, UID: 1, ModSeq: 30},
		{Kind: store.ChangePrivateSeen, AccountID: 8, MailboxID: 3, UID: 2, ModSeq: 30}})
	if len(pv) != 1 {
		t.Fatalf("private seen hints: %q", pv)
	}
	if h, err := decodeHint(pv[0]); err != nil || h.kind != hintPrivateSeen || h.account != 8 || h.mailbox != 3 || h.hi != 30 {
		t.Errorf("private seen hint %q: %+v %v", pv[0], h, err)
	}
	var got []hint
	for _, p := range ps {
		h, err := decodeHint(p)
		if err != nil {
			t.Fatalf("decode %q: %v", p, err)
		}
		if h.node != node || h.account != 7 {
			t.Fatalf("decode %q: node %x account %d", p, h.node, h.account)
		}
		got = append(got, h)
	}
	if len(got) != 4 {
		t.Fatalf("%d hints for 2 list changes and 2 mailboxes: %q", len(got), ps)
	}
	if c := got[0].change; got[0].kind != hintList || key(c) != key(changes[4]) {
		t.Errorf("rename hint: %+v", got[0])
	}
	if c := got[1].change; got[1].kind != hintList || c.Kind != store.ChangeSubscribed || c.Name != "a b" {
		t.Errorf("subscribe hint: %+v", got[1])
	}
	// Mailbox 3: MODSEQs 21..22 so (20, 22], added UIDs 10..11.
	if h := got[2]; h.kind != hintMessages || h.mailbox != 3 || h.lo != 20 || h.hi != 22 || h.ulo != 10 || h.uhi != 11 {
		t.Errorf("mailbox 3 hint: %+v", h)
	}
	if h := got[3]; h.kind != hintMessages || h.mailbox != 4 || h.lo != 8 || h.hi != 9 || h.ulo != 0 || h.uhi != 0 {
		t.Errorf("mailbox 4 hint: %+v", h)
	}
	// A name too long for one payload becomes a resync hint.
	long := encodeHints(node, []store.Change{{Kind: store.ChangeMailboxCreated, AccountID: 7, MailboxID: 1, Name: strings.Repeat("\x02", 2100)}})
	if h, err := decodeHint(long[0]); err != nil || h.kind != hintResync || len(long[0]) > maxPayload {
		t.Errorf("long name: %q -> %+v, %v", long[0][:min(40, len(long[0]))], h, err)
	}
	for _, bad := range []string{"", "M", "M 1 2 3 4 5 6", "M 1 2 3 5 4 0 0", "M 1 2 3 4 5 7 6", "M zz 2 3 4 5 6 7",
		"L 1 2 99 1 1 \"a\" \"\"", "L 1 2 6 1 1 \"a\"", "L 1 2 6 1 1 \"a\" \"b\" x", "R 1", "R 1 -2", "X 1 2", "M 1 2 3 -4 5 6 7", "P 1 2 3", "P 1 2 3 0", "P 1 2 3 4 5"} {
		if h, err := decodeHint(bad); err == nil {
			t.Errorf("decodeHint(%q) = %+v, want an error", bad, h)
		}
	}
}

func FuzzDecodeHint(f *testing.F) {
	for _, p := range encodeHints(1, []store.Change{
		{Kind: store.ChangeAdded, AccountID: 1, MailboxID: 2, UID: 3, ModSeq: 4},
		{Kind: store.ChangeMailboxRenamed, AccountID: 1, MailboxID: 2, Name: "a b", OldName: "c"},
	}) {
		f.Add(p)
	}
	f.Add("R ff 12")
	for _, p := range encodeHints(1, []store.Change{
		{Kind: store.ChangeACL, AccountID: 1, MailboxID: 2, Name: "Team"},
		{Kind: store.ChangePrivateSeen, AccountID: 3, MailboxID: 2, UID: 4, ModSeq: 9},
	}) {
		f.Add(p)
	}
	f.Fuzz(func(t *testing.T, p string) {
		h, err := decodeHint(p)
		if err != nil {
			return
		}
		// What decodes must encode back to a payload that decodes the
		// same way.
		var again []string
		switch h.kind {
		case hintList:
			again = encodeHints(h.node, []store.Change{h.change})
		case hintMessages:
			if h.hi <= h.lo {
				t.Fatalf("accepted empty range: %+v", h)
			}
			return
		case hintPrivateSeen:
			again = encodeHints(h.node, []store.Change{{Kind: store.ChangePrivateSeen, AccountID: h.account, MailboxID: h.mailbox, ModSeq: h.hi}})
			if h2, err := decodeHint(again[0]); err != nil || h2.kind != h.kind || h2.node != h.node || h2.account != h.account || h2.mailbox != h.mailbox || h2.hi != h.hi {
				t.Fatalf("private seen round trip: %q -> %+v, %v; want %+v", again[0], h2, err, h)
			}
			return
		default:
			return
		}
		h2, err := decodeHint(again[0])
		if err != nil {
			t.Fatalf("re-encoded %q: %v", again[0], err)
		}
		if h2.kind == hintList && key(h2.change) != key(h.change) {
			t.Fatalf("round trip: %+v != %+v", h2.change, h.change)
		}
	})
}

// startListener runs s.Listen with bus until the test ends.
// startKilledListener starts a's listener (no poll to speak of, a
// reconnect 1.5 s after a loss), waits until it listens, and terminates
// its connection from b: the changes made next happen while the
// listener is away. It returns the pid of the backend it terminated, and
// relisten, which waits until the listener listens again and returns
// when, and its new backend's pid.
func startKilledListener(t *testing.T, a, b *Store, bus *notify.Bus) (pid uint32, relisten func() (time.Time, uint32)) {
	t.Helper()
	type listen struct {
		at  time.Time
		pid uint32
	}
	listening := make(chan listen, 4)
	startListener(t, a, bus, ListenOptions{Poll: time.Hour, MinBackoff: 1500 * time.Millisecond,
		OnListen: func(pid uint32) { listening <- listen{time.Now(), pid} }})
	first := <-listening
	var ok bool
	if err := b.pool.QueryRow(context.Background(), `SELECT pg_terminate_backend($1)`, int32(first.pid)).Scan(&ok); err != nil || !ok {
		t.Fatalf("pg_terminate_backend(%d): %v %v", first.pid, ok, err)
	}
	return first.pid, func() (time.Time, uint32) {
		l := <-listening
		return l.at, l.pid
	}
}

func startListener(t *testing.T, s *Store, bus *notify.Bus, o ListenOptions) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := s.Listen(ctx, bus, o); err != nil {
			t.Errorf("Listen: %v", err)
		}
	}()
	t.Cleanup(func() { cancel(); <-done })
}

// collect reads sub until it holds at least n changes or the time is up.
func collect(t *testing.T, sub *notify.Subscription, n int, within time.Duration) []store.Change {
	t.Helper()
	var got []store.Change
	deadline := time.After(within)
	for len(got) < n {
		select {
		case <-sub.Wake():
			got = append(got, sub.Drain()...)
		case <-deadline:
			t.Fatalf("after %s: %d changes, want %d: %s", within, len(got), n, fmtChanges(got))
		}
	}
	return got
}

func fmtChanges(cs []store.Change) string {
	var b strings.Builder
	for _, c := range cs {
		fmt.Fprintf(&b, "\n  %s", key(c))
	}
	return b.String()
}

// key is what a change must carry across nodes.
func key(c store.Change) string {
	switch c.Kind {
	case store.ChangeAdded, store.ChangeFlags:
		return fmt.Sprintf("kind=%d acct=%d mbox=%d uid=%d modseq=%d flags=%v size=%d", c.Kind, c.AccountID, c.MailboxID, c.UID, c.ModSeq, c.Flags.Names(), c.Size)
	case store.ChangeExpunged:
		return fmt.Sprintf("kind=%d acct=%d mbox=%d uid=%d modseq=%d", c.Kind, c.AccountID, c.MailboxID, c.UID, c.ModSeq)
	default:
		return fmt.Sprintf("kind=%d acct=%d mbox=%d name=%q old=%q uv=%d", c.Kind, c.AccountID, c.MailboxID, c.Name, c.OldName, c.UIDValidity)
	}
}

func keys(cs []store.Change) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = key(c)
	}
	return out
}

func twoNodes(t *testing.T) (a, b *Store, acct *store.Account) {
	t.Helper()
	u := pgtest.Database(t)
	a, b = openDB(t, u), openDB(t, u)
	acct, err := a.CreateAccount(context.Background(), "alice", []byte("x"))
	if err != nil {
		t.Fatal(err)
	}
	return a, b, acct
}

func msg(text string) store.NewMessage {
	body := []byte("Subject: " + text + "\r\n\r\n" + text + "\r\n")
	return store.NewMessage{BlobID: fmt.Sprintf("%x", text), Size: int64(len(body)), Inline: body, InternalDate: time.Unix(1700000000, 0)}
}

// TestListenCrossNode: every kind of change node B makes reaches node
// A's bus as the same typed change B's writer published, and A's own
// writes are not published a second time by its listener.
func TestListenCrossNode(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	a, b, acct := twoNodes(t)
	busA := notify.New()
	sub := busA.Subscribe(acct.ID)
	defer sub.Close()
	listening := make(chan struct{}, 4)
	startListener(t, a, busA, ListenOptions{Poll: time.Hour, OnListen: func(uint32) { listening <- struct{}{} }})
	<-listening

	// Each write's changes must arrive before the next write: the
	// listener reads rows as they are when the notification comes, so
	// a later write could change what it finds (a message moved away
	// before its flag change was read is reported as expunged only).
	step := func(what string, cs []store.Change, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		got := collect(t, sub, len(cs), 10*time.Second)
		for i := range got {
			if got[i].Origin != 0 {
				t.Errorf("%s: change %d from another node has origin %d", what, i, got[i].Origin)
			}
		}
		if g, w := keys(got), keys(cs); !slices.Equal(g, w) {
			t.Fatalf("%s: node A heard:%s\nnode B made:%s", what, fmtChanges(got), fmtChanges(cs))
		}
	}
	mb, ch, err := b.CreateMailbox(ctx, acct.ID, "X", "")
	step("CREATE", ch, err)
	_, ch, err = b.AppendMessages(ctx, mb.ID, []store.NewMessage{msg("one"), msg("two"), msg("three")})
	step("APPEND", ch, err)
	_, _, ch, err = b.StoreFlags(ctx, mb.ID, []store.UID{1, 3}, store.FlagsAdd, store.FlagsFromNames([]string{`\Seen`, "$Label"}), 0)
	step("STORE", ch, err)
	_, ch, err = b.Expunge(ctx, mb.ID, []store.UID{2})
	step("EXPUNGE", ch, err)
	ch, err = b.SetSubscribed(ctx, acct.ID, "X", true)
	step("SUBSCRIBE", ch, err)
	ch, err = b.RenameMailbox(ctx, acct.ID, "X", "Y")
	step("RENAME", ch, err)
	inbox, err := b.Mailbox(ctx, acct.ID, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	_, ch, err = b.MoveMessages(ctx, mb.ID, []store.UID{1}, inbox.ID)
	step("MOVE", ch, err)
	ch, err = b.DeleteMailbox(ctx, acct.ID, "Y")
	step("DELETE", ch, err)

	// A's own write, published by A as its writer would: heard once.
	_, ch, err = a.AppendMessages(ctx, inbox.ID, []store.NewMessage{msg("own")})
	if err != nil {
		t.Fatal(err)
	}
	busA.Publish(ch)
	// Then one more from B, so the listener has certainly passed A's
	// own notification when it arrives.
	_, ch2, err := b.AppendMessages(ctx, inbox.ID, []store.NewMessage{msg("theirs")})
	if err != nil {
		t.Fatal(err)
	}
	got := collect(t, sub, 2, 10*time.Second)
	time.Sleep(200 * time.Millisecond)
	got = append(got, sub.Drain()...)
	if g, w := keys(got), keys(append(ch, ch2...)); !slices.Equal(g, w) {
		t.Fatalf("after an own append and one from B, heard:%s\nwant:%s", fmtChanges(got), fmtChanges(append(ch, ch2...)))
	}
}

// TestListenReconnectCatchUp kills the listening connection
// (pg_terminate_backend); what node B commits before A listens again
// arrives after the reconnect, found by comparing with the baseline
// (the poll is an hour away).
func TestListenReconnectCatchUp(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	a, b, acct := twoNodes(t)
	inbox, err := b.Mailbox(ctx, acct.ID, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	uids, _, err := b.AppendMessages(ctx, inbox.ID, []store.NewMessage{msg("a"), msg("b")})
	if err != nil {
		t.Fatal(err)
	}
	busA := notify.New()
	sub := busA.Subscribe(acct.ID)
	defer sub.Close()
	pid, relisten := startKilledListener(t, a, b, busA)
	var want []store.Change
	add := func(cs []store.Change, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, cs...)
	}
	_, ch, err := b.AppendMessages(ctx, inbox.ID, []store.NewMessage{msg("c")})
	add(ch, err)
	_, _, ch, err = b.StoreFlags(ctx, inbox.ID, uids[:1], store.FlagsAdd, store.Flags{System: store.FlagFlagged}, 0)
	add(ch, err)
	_, ch, err = b.Expunge(ctx, inbox.ID, uids[1:])
	add(ch, err)
	_, ch, err = b.CreateMailbox(ctx, acct.ID, "Later", "")
	add(ch, err)
	ch, err = b.SetSubscribed(ctx, acct.ID, "Later", true)
	add(ch, err)
	wroteAt := time.Now()

	got := collect(t, sub, len(want), 15*time.Second)
	again, newPID := relisten()
	if !again.After(wroteAt) {
		t.Fatalf("listening again at %v, writes done at %v: the writes did not happen while the listener was away", again, wroteAt)
	}
	if newPID == pid {
		t.Fatalf("same backend %d after pg_terminate_backend", pid)
	}
	// Catch-up reports by kind and mailbox, not in commit order.
	g, w := keys(got), keys(want)
	slices.Sort(g)
	slices.Sort(w)
	if !slices.Equal(g, w) {
		t.Fatalf("after the reconnect, heard:%s\nmade while away:%s", fmtChanges(got), fmtChanges(want))
	}
}

// TestListenPoll: a change whose notification never came (here: a write
// with notifications switched off) is found by the slow poll.
func TestListenPoll(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	a, b, acct := twoNodes(t)
	inbox, err := b.Mailbox(ctx, acct.ID, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	uids, _, err := b.AppendMessages(ctx, inbox.ID, []store.NewMessage{msg("a")})
	if err != nil {
		t.Fatal(err)
	}
	busA := notify.New()
	sub := busA.Subscribe(acct.ID)
	defer sub.Close()
	listening := make(chan struct{}, 4)
	startListener(t, a, busA, ListenOptions{Poll: time.Second, OnListen: func(uint32) { listening <- struct{}{} }})
	<-listening
	b.silent = true
	start := time.Now()
	_, _, ch, err := b.StoreFlags(ctx, inbox.ID, uids, store.FlagsAdd, store.Flags{System: store.FlagSeen}, 0)
	if err != nil {
		t.Fatal(err)
	}
	got := collect(t, sub, 1, 10*time.Second)
	if g, w := keys(got), keys(ch); !slices.Equal(g, w) {
		t.Fatalf("poll found:%s\nwant:%s", fmtChanges(got), fmtChanges(ch))
	}
	t.Logf("the poll found the silent change after %s", time.Since(start).Round(time.Millisecond))
}

// TestListenACLAndPrivateSeen: an ACL change made on node B (SETACL, a
// group membership change) reaches every subscription on node A,
// whether or not its account is watched
// (store.ChangeACL names the owner; whose rights it changes is for the
// sessions to work out), and a private \Seen change B makes for bob on
// alice's mailbox reaches bob's subscription on A with the UIDs and the
// seen state, not alice's.
func TestListenACLAndPrivateSeen(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	a, b, alice := twoNodes(t)
	bob, err := a.CreateAccount(ctx, "bob", []byte("x"))
	if err != nil {
		t.Fatal(err)
	}
	busA := notify.New()
	bobSub := busA.Subscribe(bob.ID)
	defer bobSub.Close()
	aliceSub := busA.Subscribe(alice.ID)
	defer aliceSub.Close()
	listening := make(chan struct{}, 4)
	startListener(t, a, busA, ListenOptions{Poll: time.Hour, OnListen: func(uint32) { listening <- struct{}{} }})
	<-listening

	mb, _, err := b.CreateMailbox(ctx, alice.ID, "Team", "")
	if err != nil {
		t.Fatal(err)
	}
	collect(t, aliceSub, 1, 10*time.Second) // the CREATE
	if _, _, err := b.AppendMessages(ctx, mb.ID, []store.NewMessage{msg("one"), msg("two"), msg("three")}); err != nil {
		t.Fatal(err)
	}
	collect(t, aliceSub, 3, 10*time.Second)

	if err := b.SetACL(ctx, mb.ID, "bob", "lrs"); err != nil {
		t.Fatal(err)
	}
	want := store.Change{Kind: store.ChangeACL, AccountID: alice.ID, MailboxID: mb.ID, Name: "Team"}
	for who, sub := range map[string]*notify.Subscription{"bob": bobSub, "alice": aliceSub} {
		got := collect(t, sub, 1, 10*time.Second)
		if len(got) != 1 || key(got[0]) != key(want) {
			t.Fatalf("%s heard after SETACL on B:%s", who, fmtChanges(got))
		}
	}
	// A group membership change reaches every subscription the same
	// way, for each mailbox whose ACL names the group.
	if err := b.SetACL(ctx, mb.ID, "$staff", "lr"); err != nil {
		t.Fatal(err)
	}
	collect(t, bobSub, 1, 10*time.Second)
	collect(t, aliceSub, 1, 10*time.Second)
	if _, err := b.SetGroupMember(ctx, "staff", "bob", true); err != nil {
		t.Fatal(err)
	}
	for who, sub := range map[string]*notify.Subscription{"bob": bobSub, "alice": aliceSub} {
		got := collect(t, sub, 1, 10*time.Second)
		if len(got) != 1 || key(got[0]) != key(want) {
			t.Fatalf("%s heard after a group change on B:%s", who, fmtChanges(got))
		}
	}

	res, err := b.SetPrivateSeen(ctx, mb.ID, bob.ID, []store.UID{1, 3}, true)
	if err != nil || len(res) != 2 {
		t.Fatalf("SetPrivateSeen: %v %v", res, err)
	}
	got := collect(t, bobSub, 2, 10*time.Second)
	for i, u := range []store.UID{1, 3} {
		c := got[i]
		if c.Kind != store.ChangePrivateSeen || c.AccountID != bob.ID || c.MailboxID != mb.ID || c.UID != u ||
			c.ModSeq != res[i].ModSeq || c.Flags.System&store.FlagSeen == 0 {
			t.Fatalf("bob heard %+v, want UID %d seen at %d", c, u, res[i].ModSeq)
		}
	}
	if _, err := b.SetPrivateSeen(ctx, mb.ID, bob.ID, []store.UID{3}, false); err != nil {
		t.Fatal(err)
	}
	got = collect(t, bobSub, 1, 10*time.Second)
	if c := got[0]; c.Kind != store.ChangePrivateSeen || c.UID != 3 || c.Flags.System&store.FlagSeen != 0 {
		t.Fatalf("bob heard %+v after clearing UID 3", c)
	}
	time.Sleep(200 * time.Millisecond)
	if cs := aliceSub.Drain(); len(cs) != 0 {
		t.Fatalf("alice heard bob's private \\Seen:%s", fmtChanges(cs))
	}
}

// TestBarrier: right after a write on node B returns, Barrier on node A
// returns only once A's bus holds that write's changes, for every kind
// of write and with several callers at once; a node that is not
// listening returns at once. Without the round trip the changes
// arrive a little later, asynchronously (the notification is read and
// the rows re-read by the listener goroutine), which is what a session
// on A answering its next command must not race with.
func TestBarrier(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	a, b, acct := twoNodes(t)
	start := time.Now()
	a.Barrier(ctx) // not listening yet: at once
	if d := time.Since(start); d >= barrierWait {
		t.Fatalf("Barrier without a listener waited %s", d)
	}
	busA := notify.New()
	sub := busA.Subscribe(acct.ID)
	defer sub.Close()
	listening := make(chan struct{}, 4)
	startListener(t, a, busA, ListenOptions{Poll: time.Hour, OnListen: func(uint32) { listening <- struct{}{} }})
	<-listening
	check := func(what string, cs []store.Change, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() { a.Barrier(ctx) })
		}
		wg.Wait()
		if got := sub.Drain(); !slices.Equal(keys(got), keys(cs)) {
			t.Fatalf("%s: after Barrier node A's bus holds:%s\nnode B made:%s", what, fmtChanges(got), fmtChanges(cs))
		}
	}
	mb, ch, err := b.CreateMailbox(ctx, acct.ID, "X", "")
	check("CREATE", ch, err)
	for i := range 20 {
		_, ch, err = b.AppendMessages(ctx, mb.ID, []store.NewMessage{msg(fmt.Sprint("m", i))})
		check("APPEND", ch, err)
		_, _, ch, err = b.StoreFlags(ctx, mb.ID, []store.UID{store.UID(i + 1)}, store.FlagsAdd, store.FlagsFromNames([]string{`\Flagged`}), 0)
		check("STORE", ch, err)
	}
	_, ch, err = b.Expunge(ctx, mb.ID, []store.UID{3, 5})
	check("EXPUNGE", ch, err)
}

// TestClaimRecentFanout: many sessions on two nodes claim \Recent for
// the same new messages at once (an IDLE fan-out): exactly one of them
// gets each message (RFC 3501 §2.3.2), whichever path (node memory,
// plain read, locked update) each call takes.
func TestClaimRecentFanout(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	a, b, acct := twoNodes(t)
	in, err := a.Mailbox(ctx, acct.ID, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	for round, n := range []int{1, 2, 1} {
		var batch []store.NewMessage
		for i := range n {
			batch = append(batch, msg(fmt.Sprint("r", round, "m", i)))
		}
		uids, _, err := b.AppendMessages(ctx, in.ID, batch)
		if err != nil {
			t.Fatal(err)
		}
		upTo := uids[len(uids)-1]
		var mu sync.Mutex
		var winners []store.UID
		var wg sync.WaitGroup
		for i := range 40 {
			s := a
			if i%2 == 1 {
				s = b
			}
			wg.Go(func() {
				first, err := s.ClaimRecent(ctx, in.ID, upTo)
				if err != nil {
					t.Error(err)
					return
				}
				if first <= uids[0] {
					mu.Lock()
					winners = append(winners, first)
					mu.Unlock()
				} else if first <= upTo {
					t.Errorf("round %d: a claim got %d, inside the new UIDs %v", round, first, uids)
				}
			})
		}
		wg.Wait()
		if len(winners) != 1 || winners[0] != uids[0] {
			t.Fatalf("round %d: new UIDs %v claimed by %d sessions (%v), want exactly one from %d", round, uids, len(winners), winners, uids[0])
		}
	}
}

// TestListenReconnectCatchUpACLAndPrivateSeen: ACL changes (SETACL and
// a group membership change) and private \Seen changes that node B
// commits while node A's listening connection is down reach A's bus
// after the reconnect: a store.ChangeACL once per mailbox whose ACL
// changed, to every subscription, and bob's private \Seen rows, each
// with its state and MODSEQ, to bob's subscription only.
func TestListenReconnectCatchUpACLAndPrivateSeen(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	a, b, alice := twoNodes(t)
	bob, err := a.CreateAccount(ctx, "bob", []byte("x"))
	if err != nil {
		t.Fatal(err)
	}
	team, _, err := b.CreateMailbox(ctx, alice.ID, "Team", "")
	if err != nil {
		t.Fatal(err)
	}
	crew, _, err := b.CreateMailbox(ctx, alice.ID, "Crew", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := b.AppendMessages(ctx, team.ID, []store.NewMessage{msg("one"), msg("two"), msg("three")}); err != nil {
		t.Fatal(err)
	}
	if err := b.SetACL(ctx, crew.ID, "$staff", "lr"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.SetPrivateSeen(ctx, team.ID, bob.ID, []store.UID{1}, true); err != nil {
		t.Fatal(err)
	}
	busA := notify.New()
	bobSub := busA.Subscribe(bob.ID)
	defer bobSub.Close()
	aliceSub := busA.Subscribe(alice.ID)
	defer aliceSub.Close()
	_, relisten := startKilledListener(t, a, b, busA)
	// While A is away: two ACL writes on Team (one change to replay),
	// bob joins staff (Crew's ACL names it), and bob's private \Seen
	// changes on Team.
	if err := b.SetACL(ctx, team.ID, "bob", "lr"); err != nil {
		t.Fatal(err)
	}
	if err := b.SetACL(ctx, team.ID, "bob", "lrs"); err != nil {
		t.Fatal(err)
	}
	if ch, err := b.SetGroupMember(ctx, "staff", "bob", true); err != nil || len(ch) != 1 {
		t.Fatalf("SetGroupMember: %v %v", ch, err)
	}
	seen, err := b.SetPrivateSeen(ctx, team.ID, bob.ID, []store.UID{2, 3}, true)
	if err != nil || len(seen) != 2 {
		t.Fatalf("SetPrivateSeen: %v %v", seen, err)
	}
	unseen, err := b.SetPrivateSeen(ctx, team.ID, bob.ID, []store.UID{1}, false)
	if err != nil || len(unseen) != 1 {
		t.Fatalf("SetPrivateSeen: %v %v", unseen, err)
	}
	wroteAt := time.Now()

	acl := func(mb *store.Mailbox) string {
		return key(store.Change{Kind: store.ChangeACL, AccountID: alice.ID, MailboxID: mb.ID, Name: mb.Name})
	}
	pvt := func(uid store.UID, seen bool, ms store.ModSeq) string {
		return fmt.Sprintf("pvt acct=%d mbox=%d uid=%d seen=%v modseq=%d", bob.ID, team.ID, uid, seen, ms)
	}
	show := func(cs []store.Change) []string {
		var out []string
		for _, c := range cs {
			if c.Kind == store.ChangePrivateSeen {
				out = append(out, pvt(c.UID, c.Flags.System&store.FlagSeen != 0, c.ModSeq))
				if c.AccountID != bob.ID || c.MailboxID != team.ID {
					out = append(out, "(wrong account or mailbox)")
				}
			} else {
				out = append(out, key(c))
			}
		}
		slices.Sort(out)
		return out
	}
	wantBob := []string{acl(team), acl(crew), pvt(1, false, unseen[0].ModSeq), pvt(2, true, seen[0].ModSeq), pvt(3, true, seen[1].ModSeq)}
	slices.Sort(wantBob)
	gotBob := show(collect(t, bobSub, len(wantBob), 15*time.Second))
	again, _ := relisten()
	if !again.After(wroteAt) {
		t.Fatalf("listening again at %v, writes done at %v: the writes did not happen while the listener was away", again, wroteAt)
	}
	if !slices.Equal(gotBob, wantBob) {
		t.Fatalf("bob heard after the reconnect:\n%s\nwant:\n%s", strings.Join(gotBob, "\n"), strings.Join(wantBob, "\n"))
	}
	wantAlice := []string{acl(crew), acl(team)}
	slices.Sort(wantAlice)
	if got := show(collect(t, aliceSub, 2, 10*time.Second)); !slices.Equal(got, wantAlice) {
		t.Fatalf("alice heard after the reconnect:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(wantAlice, "\n"))
	}
	time.Sleep(200 * time.Millisecond)
	if cs := append(bobSub.Drain(), aliceSub.Drain()...); len(cs) != 0 {
		t.Fatalf("heard more:%s", fmtChanges(cs))
	}
}

// TestListenPollACL: an ACL change heard live is not replayed by the
// poll; one whose notification never came (notifications switched off)
// is found by the poll.
func TestListenPollACL(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	a, b, alice := twoNodes(t)
	team, _, err := b.CreateMailbox(ctx, alice.ID, "Team", "")
	if err != nil {
		t.Fatal(err)
	}
	busA := notify.New()
	sub := busA.Subscribe(alice.ID)
	defer sub.Close()
	listening := make(chan struct{}, 4)
	startListener(t, a, busA, ListenOptions{Poll: 500 * time.Millisecond, OnListen: func(uint32) { listening <- struct{}{} }})
	<-listening
	want := key(store.Change{Kind: store.ChangeACL, AccountID: alice.ID, MailboxID: team.ID, Name: "Team"})
	if err := b.SetACL(ctx, team.ID, "bob", "lr"); err != nil {
		t.Fatal(err)
	}
	if got := collect(t, sub, 1, 10*time.Second); len(got) != 1 || key(got[0]) != want {
		t.Fatalf("heard:%s", fmtChanges(got))
	}
	time.Sleep(1500 * time.Millisecond) // polls
	if cs := sub.Drain(); len(cs) != 0 {
		t.Fatalf("the poll replayed what was heard:%s", fmtChanges(cs))
	}
	b.silent = true
	if err := b.SetACL(ctx, team.ID, "bob", ""); err != nil {
		t.Fatal(err)
	}
	if got := collect(t, sub, 1, 10*time.Second); len(got) != 1 || key(got[0]) != want {
		t.Fatalf("the poll found:%s", fmtChanges(got))
	}
}
