package storetest

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"barid/internal/mail/header"
	"barid/internal/store"
)

// threadMsg is message i with a Message-ID (none if id is "") and,
// when refs are given, an In-Reply-To naming the last of them and a
// References field naming them all, threaded as internal/deliver does.
func threadMsg(i int, id string, refs ...string) store.NewMessage {
	m := msg(i)
	var b strings.Builder
	if id != "" {
		fmt.Fprintf(&b, "Message-ID: <%s>\r\n", id)
	}
	if len(refs) > 0 {
		fmt.Fprintf(&b, "In-Reply-To: <%s>\r\nReferences:", refs[len(refs)-1])
		for _, r := range refs {
			fmt.Fprintf(&b, " <%s>", r)
		}
		b.WriteString("\r\n")
	}
	fmt.Fprintf(&b, "Subject: m%d\r\n\r\n", i)
	m.Header = []byte(b.String())
	m.MessageID, m.References = header.ThreadFields(m.Header)
	return m
}

// testThreads: RFC 8474 §5.2 THREADID by the rules of store/thread.go:
// per account across mailboxes, a reply before its parent, batches,
// kept by COPY and MOVE, never changed when a later message connects
// two threads, remembered after an expunge, separate per account, and
// one thread for a parent and a reply delivered at the same time.
func testThreads(t *testing.T, open func(t *testing.T) store.Store) {
	s := openClosed(t, open)
	ctx := context.Background()
	a, in := setup(t, s)
	sent := mkbox(t, s, a.ID, "Sent")
	arch := mkbox(t, s, a.ID, "Archive")
	get := func(mb int64, uid store.UID) store.Message {
		t.Helper()
		var out store.Message
		found := false
		noErr(t, s.FetchMessages(ctx, mb, []store.UID{uid}, store.FieldBasics, func(m *store.Message) error {
			out, found = *m, true
			return nil
		}))
		if !found {
			t.Fatalf("mailbox %d uid %d missing", mb, uid)
		}
		return out
	}
	add := func(mb int64, msgs ...store.NewMessage) []store.Message {
		t.Helper()
		uids, _, err := s.AppendMessages(ctx, mb, msgs)
		noErr(t, err)
		out := make([]store.Message, len(uids))
		for i, u := range uids {
			out[i] = get(mb, u)
			if out[i].ThreadID <= 0 {
				t.Fatalf("message %d of mailbox %d: THREADID %d", u, mb, out[i].ThreadID)
			}
		}
		return out
	}
	same := func(what string, ms ...store.Message) {
		t.Helper()
		for _, m := range ms[1:] {
			if m.ThreadID != ms[0].ThreadID {
				t.Fatalf("%s: threads %d and %d differ", what, ms[0].ThreadID, m.ThreadID)
			}
		}
	}
	differ := func(what string, x, y store.Message) {
		t.Helper()
		if x.ThreadID == y.ThreadID {
			t.Fatalf("%s: both in thread %d", what, x.ThreadID)
		}
	}

	// A parent in INBOX, the user's reply in Sent, an answer in INBOX.
	p := add(in.ID, threadMsg(1, "p1@x"))[0]
	if p.ThreadID != p.EmailID {
		t.Fatalf("a new thread's id %d is not its first message's EMAILID %d", p.ThreadID, p.EmailID)
	}
	r := add(sent.ID, threadMsg(2, "r1@x", "p1@x"))[0]
	ans := add(in.ID, threadMsg(3, "a1@x", "p1@x", "r1@x"))[0]
	same("parent, reply in Sent, answer", p, r, ans)
	// Unrelated, and without any ids: threads of their own.
	u := add(in.ID, threadMsg(4, "u1@x"))[0]
	n1 := add(in.ID, threadMsg(5, ""))[0]
	n2 := add(in.ID, threadMsg(6, ""))[0]
	differ("unrelated", p, u)
	differ("no ids", n1, n2)
	differ("no ids vs unrelated", n1, u)
	// The same Message-ID again (delivered twice): its thread.
	same("duplicate Message-ID", u, add(arch.ID, threadMsg(7, "u1@x"))[0])

	// A reply that arrives before its parent: the parent joins it; so
	// does a sibling that names only the parent.
	late := add(in.ID, threadMsg(8, "c2@x", "root2@x", "p2@x"))[0]
	parent := add(arch.ID, threadMsg(9, "p2@x", "root2@x"))[0]
	sib := add(sent.ID, threadMsg(10, "s2@x", "p2@x"))[0]
	root := add(in.ID, threadMsg(11, "root2@x"))[0]
	same("reply before parent", late, parent, sib, root)
	differ("second thread", late, p)

	// One batch (MULTIAPPEND) of a parent and its reply.
	b := add(in.ID, threadMsg(12, "p3@x"), threadMsg(13, "r3@x", "p3@x"), threadMsg(14, "x3@x"))
	same("batch", b[0], b[1])
	differ("batch, unrelated", b[0], b[2])

	// A message connecting two threads joins its nearest ancestor's
	// (In-Reply-To); the other thread keeps its id, and so does every
	// message already given one.
	bridge := add(in.ID, threadMsg(15, "br@x", "u1@x", "p1@x"))[0]
	same("bridge joins In-Reply-To's thread", bridge, p)
	same("the other thread keeps its id", u, get(in.ID, u.UID))
	same("the first thread keeps its id", p, get(in.ID, p.UID))
	// Its own id is now the first thread's: a reply to it follows.
	same("reply to the bridge", p, add(in.ID, threadMsg(16, "br2@x", "br@x"))[0])

	// A THREADID given (barid store copy) is kept, and the index learns
	// the message's ids: a later reply joins that thread.
	given := threadMsg(17, "g@x")
	given.ThreadID = 424242
	if g := add(arch.ID, given)[0]; g.ThreadID != 424242 {
		t.Fatalf("given THREADID not kept: %d", g.ThreadID)
	}
	if g := add(in.ID, threadMsg(18, "g2@x", "g@x"))[0]; g.ThreadID != 424242 {
		t.Fatalf("reply to a copied message: THREADID %d, want 424242", g.ThreadID)
	}

	// COPY and MOVE keep the id, to another mailbox and across a RENAME.
	res, _, err := s.CopyMessages(ctx, in.ID, []store.UID{p.UID}, arch.ID)
	noErr(t, err)
	same("copy", p, get(arch.ID, res.DstUIDs[0]))
	res, _, err = s.MoveMessages(ctx, in.ID, []store.UID{ans.UID}, arch.ID)
	noErr(t, err)
	same("move", p, get(arch.ID, res.DstUIDs[0]))
	_, err = s.RenameMailbox(ctx, a.ID, "Archive", "Old")
	noErr(t, err)
	same("rename", p, get(arch.ID, res.DstUIDs[0]))

	// Expunged messages leave their ids behind: a late reply to a
	// message that is gone still finds its thread.
	gone := add(in.ID, threadMsg(19, "gone@x"))[0]
	_, _, err = s.Expunge(ctx, in.ID, []store.UID{gone.UID})
	noErr(t, err)
	same("reply to an expunged message", gone, add(in.ID, threadMsg(20, "gone2@x", "gone@x"))[0])

	// Threads are per user: another account's copy of the same
	// conversation has threads of its own.
	b2 := must[*store.Account](t)(s.CreateAccount(ctx, "other@example.org", nil))
	in2 := inbox(t, s, b2.ID)
	o1 := add(in2.ID, threadMsg(21, "p1@x"))[0]
	o2 := add(in2.ID, threadMsg(22, "r1@x", "p1@x"))[0]
	same("other account's thread", o1, o2)
	differ("two accounts", o1, p)

	// A parent and its reply appended at the same time to two mailboxes
	// of one account end up in one thread, whichever commits first.
	const pairs = 12
	var wg sync.WaitGroup
	errs := make(chan error, 2*pairs)
	for i := range pairs {
		for j, mb := range []int64{in.ID, sent.ID} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				m := threadMsg(100+2*i+j, fmt.Sprintf("cp%d@x", i))
				if j == 1 {
					m = threadMsg(100+2*i+j, fmt.Sprintf("cr%d@x", i), fmt.Sprintf("cp%d@x", i))
				}
				_, _, err := s.AppendMessages(ctx, mb, []store.NewMessage{m})
				errs <- err
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		noErr(t, err)
	}
	byID := map[string]int64{}
	for _, mb := range []int64{in.ID, sent.ID} {
		_, uids, err := s.MessageUIDs(ctx, mb)
		noErr(t, err)
		noErr(t, s.FetchMessages(ctx, mb, uids, store.FieldBasics|store.FieldHeader, func(m *store.Message) error {
			if id, _ := header.ThreadFields(m.Header); strings.HasPrefix(id, "c") {
				byID[id] = m.ThreadID
			}
			return nil
		}))
	}
	for i := range pairs {
		pt, rt := byID[fmt.Sprintf("cp%d@x", i)], byID[fmt.Sprintf("cr%d@x", i)]
		if pt == 0 || pt != rt {
			t.Fatalf("concurrent pair %d: parent thread %d, reply thread %d", i, pt, rt)
		}
	}

	// THREADID's text form round-trips; other forms are refused.
	if id, ok := store.ParseThreadObjectID(store.ThreadObjectID(p.ThreadID)); !ok || id != p.ThreadID {
		t.Fatalf("THREADID round trip %d -> %d %v", p.ThreadID, id, ok)
	}
	for _, bad := range []string{"", "T", "T0", "t1", "M1", "T01", "Tzz", "T8000000000000000"} {
		if _, ok := store.ParseThreadObjectID(bad); ok {
			t.Fatalf("ParseThreadObjectID(%q) accepted", bad)
		}
	}
	if store.ThreadObjectID(0) != "" {
		t.Fatal("ThreadObjectID(0) is not empty (FETCH must answer NIL)")
	}
}

// ThreadBackfill checks a backend's threading of messages stored before
// it kept threads: it fills s, calls forget, which must close s, make
// the store look as one written before THREADID existed (no thread ids,
// an empty thread index, the backfill pending) and open it again, then
// checks that opening threaded every message by the delivery rules:
// a reply in another mailbox with its parent, a reply stored before its
// parent, a COPY with its original (one EMAILID, one THREADID), an
// unrelated message apart, and a delivery after the backfill finding
// the rebuilt index.
func ThreadBackfill(t *testing.T, s store.Store, forget func(store.Store) store.Store) {
	ctx := context.Background()
	a, in := setup(t, s)
	sent := mkbox(t, s, a.ID, "Sent")
	arch := mkbox(t, s, a.ID, "Archive")
	_, _, err := s.AppendMessages(ctx, in.ID, []store.NewMessage{
		threadMsg(1, "p@x"), threadMsg(2, "u@x"), threadMsg(3, "c@x", "q@x"), threadMsg(4, "q@x")})
	noErr(t, err)
	_, _, err = s.AppendMessages(ctx, sent.ID, []store.NewMessage{threadMsg(5, "r@x", "p@x")})
	noErr(t, err)
	// A copy of a message without ids: only its EMAILID ties it.
	_, _, err = s.AppendMessages(ctx, in.ID, []store.NewMessage{threadMsg(6, "")})
	noErr(t, err)
	_, _, err = s.CopyMessages(ctx, in.ID, []store.UID{5}, arch.ID)
	noErr(t, err)
	s = forget(s)
	defer s.Close()
	thread := func(mb int64, uid store.UID) int64 {
		t.Helper()
		var id int64
		noErr(t, s.FetchMessages(ctx, mb, []store.UID{uid}, store.FieldBasics, func(m *store.Message) error {
			id = m.ThreadID
			return nil
		}))
		if id <= 0 {
			t.Fatalf("mailbox %d uid %d: THREADID %d after the backfill", mb, uid, id)
		}
		return id
	}
	p, u, c, q := thread(in.ID, 1), thread(in.ID, 2), thread(in.ID, 3), thread(in.ID, 4)
	r, n, cp := thread(sent.ID, 1), thread(in.ID, 5), thread(arch.ID, 1)
	switch {
	case p != r:
		t.Errorf("reply in Sent: thread %d, parent %d", r, p)
	case c != q:
		t.Errorf("reply stored before its parent: thread %d, parent %d", c, q)
	case n != cp:
		t.Errorf("copy: thread %d, original %d", cp, n)
	case p == u || p == c || u == c || n == p || n == u || n == c:
		t.Errorf("unrelated messages share a thread: %d %d %d %d", p, u, c, n)
	}
	uids, _, err := s.AppendMessages(ctx, sent.ID, []store.NewMessage{threadMsg(7, "u2@x", "u@x")})
	noErr(t, err)
	if got := thread(sent.ID, uids[0]); got != u {
		t.Errorf("a reply delivered after the backfill: thread %d, want its parent's %d", got, u)
	}
}
