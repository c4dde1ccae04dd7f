package server

import (
	"bufio"
	"context"
	"net"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"barid/internal/store"
)

// lineConn is a bare IMAP client for the hand-built servers of this
// package's internal tests.
type lineConn struct {
	t  *testing.T
	nc net.Conn
	br *bufio.Reader
}

func dialLines(t *testing.T, addr string) *lineConn {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	c := &lineConn{t: t, nc: nc, br: bufio.NewReader(nc)}
	c.line() // greeting
	return c
}

func (c *lineConn) line() string {
	c.t.Helper()
	c.nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	l, err := c.br.ReadString('\n')
	if err != nil {
		c.t.Fatalf("read: %v (got %q)", err, l)
	}
	return strings.TrimSuffix(l, "\r\n")
}

// cmd sends a command and returns every line up to its tagged reply.
func (c *lineConn) cmd(tag, command string) []string {
	c.t.Helper()
	if _, err := c.nc.Write([]byte(tag + " " + command + "\r\n")); err != nil {
		c.t.Fatal(err)
	}
	var out []string
	for {
		l := c.line()
		out = append(out, l)
		if strings.HasPrefix(l, tag+" ") {
			return out
		}
	}
}

func (c *lineConn) expect(re string) {
	c.t.Helper()
	if l := c.line(); !regexp.MustCompile(re).MatchString(l) {
		c.t.Fatalf("got %q, want %s", l, re)
	}
}

// A delivery (LMTP, barid deliver: no IMAP session behind it) reaches a
// NOTIFY session that sends no command: EXISTS and the FETCH it asked
// for in the selected mailbox, STATUS for another (RFC 5465 §5.2). The
// test also measures the time from the delivery's commit to the FETCH.
func TestNotifyDeliveryReachesQuietSession(t *testing.T) {
	f := newStoreFixture(t, "quinn")
	ctx := context.Background()
	if _, _, err := f.st.CreateMailbox(ctx, f.inbox.AccountID, "Lists", ""); err != nil {
		t.Fatal(err)
	}
	addr := f.serve(t, Config{Deliver: f.deliv}, nil)
	c := dialLines(t, addr)
	c.cmd("a1", "LOGIN quinn pw")
	c.cmd("a2", "SELECT INBOX")
	if got := c.cmd("a3", "NOTIFY SET (selected (MessageNew (UID FLAGS ENVELOPE) MessageExpunge)) (mailboxes Lists (MessageNew MessageExpunge))"); len(got) != 1 || !strings.HasPrefix(got[0], "a3 OK") {
		t.Fatalf("NOTIFY SET: %q", got)
	}
	msg := "From: x@example.org\r\nSubject: pushed\r\n\r\nhi\r\n"
	var worst time.Duration
	for i := 1; i <= 5; i++ {
		start := time.Now()
		if _, err := f.deliv.Deliver(ctx, f.inbox.ID, strings.NewReader(msg), 0, store.Flags{}, time.Now()); err != nil {
			t.Fatal(err)
		}
		c.expect(`^\* ` + itoa(i) + ` EXISTS$`)
		c.expect(`^\* ` + itoa(i) + ` RECENT$`)
		c.expect(`^\* ` + itoa(i) + ` FETCH \(UID ` + itoa(i) + ` FLAGS \(\\Recent\) ENVELOPE \(.*"pushed".*\)\)$`)
		worst = max(worst, time.Since(start))
	}
	t.Logf("delivery to NOTIFY FETCH, worst of 5: %v", worst)
	lists, err := f.st.Mailbox(ctx, f.inbox.AccountID, "Lists")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.deliv.Deliver(ctx, lists.ID, strings.NewReader(msg), 0, store.Flags{}, time.Now()); err != nil {
		t.Fatal(err)
	}
	c.expect(`^\* STATUS Lists \(MESSAGES 1 UIDNEXT 2 UNSEEN 1\)$`)
	if got := c.cmd("a4", "NOOP"); len(got) != 1 {
		t.Fatalf("NOOP after the pushes: %q", got)
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

// notify_mailboxes refuses a NOTIFY SET naming too many mailboxes;
// notify_pending turns NOTIFY off with an untagged
// OK [NOTIFICATIONOVERFLOW] when too much is queued (RFC 5465 §5.8).
func TestNotifyLimits(t *testing.T) {
	f := newStoreFixture(t, "ruth")
	lim := fixtureLimits
	lim.NotifyMailboxes, lim.NotifyPending = 2, 3
	addr := f.serve(t, Config{Limits: lim}, nil)
	c := dialLines(t, addr)
	c.cmd("a1", "LOGIN ruth pw")
	got := c.cmd("a2", "NOTIFY SET (mailboxes (a b c) (MessageNew MessageExpunge))")
	if len(got) != 1 || got[0] != "a2 NO [NOTIFICATIONOVERFLOW] notify_mailboxes limit exceeded (max 2 mailbox names)" {
		t.Fatalf("three names under notify_mailboxes 2: %q", got)
	}
	got = c.cmd("a3", "NOTIFY SET (mailboxes (a b) (MessageNew MessageExpunge)) (personal (MailboxName))")
	if len(got) != 1 || !strings.HasPrefix(got[0], "a3 OK") {
		t.Fatalf("two names: %q", got)
	}
	// Four mailbox events in one batch: more than notify_pending (3)
	// before the session could send any.
	var burst []store.Change
	for _, n := range []string{"w", "x", "y", "z"} {
		burst = append(burst, store.Change{Kind: store.ChangeMailboxCreated, AccountID: f.inbox.AccountID, MailboxID: 1000, Name: n})
	}
	f.bus.Publish(burst)
	c.expect(`^\* OK \[NOTIFICATIONOVERFLOW\] notify_pending limit exceeded \(max 3\)`)
	// As after NOTIFY NONE: nothing more.
	f.bus.Publish([]store.Change{{Kind: store.ChangeMailboxCreated, AccountID: f.inbox.AccountID, MailboxID: 1001, Name: "v"}})
	if got := c.cmd("a4", "NOOP"); len(got) != 1 {
		t.Fatalf("NOTIFY still on after the overflow: %q", got)
	}
	// A new NOTIFY SET turns it on again.
	c.cmd("a5", "NOTIFY SET (personal (MailboxName))")
	f.bus.Publish([]store.Change{{Kind: store.ChangeMailboxCreated, AccountID: f.inbox.AccountID, MailboxID: 1002, Name: "u"}})
	c.expect(`^\* LIST \(\\NonExistent\) "/" u$`)
}

// With NOTIFY SELECTED, expunges go out as soon as no command is in
// progress, but never inside the answer to a command that uses sequence
// numbers (RFC 9051 §7.5.1): here the expunge happens while FETCH by
// sequence number is being received, and comes after its tagged OK.
func TestNotifyExpungeNotInsideFetchBySequence(t *testing.T) {
	f := newStoreFixture(t, "sara")
	ctx := context.Background()
	for range 2 {
		if _, err := f.deliv.Deliver(ctx, f.inbox.ID, strings.NewReader("Subject: x\r\n\r\n"), 0, store.Flags{}, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	addr := f.serve(t, Config{Deliver: f.deliv}, nil)
	c := dialLines(t, addr)
	c.cmd("a1", "LOGIN sara pw")
	c.cmd("a2", "SELECT INBOX")
	c.cmd("a3", "NOTIFY SET (selected (MessageNew MessageExpunge))")
	// The command starts: the server reads its first bytes.
	if _, err := c.nc.Write([]byte("a4 FETCH 1:2 (UID")); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	_, changes, err := f.st.Expunge(ctx, f.inbox.ID, []store.UID{1})
	if err != nil {
		t.Fatal(err)
	}
	f.bus.Publish(changes)
	time.Sleep(100 * time.Millisecond)
	if _, err := c.nc.Write([]byte(")\r\n")); err != nil {
		t.Fatal(err)
	}
	// The expunged message is still answered with what the session
	// knows of it, after the others (gone.go).
	want := []string{"* 2 FETCH (UID 2)", "* 1 FETCH (UID 1)", "a4 OK Fetch completed."}
	for _, w := range want {
		if l := c.line(); l != w {
			t.Fatalf("got %q, want %q", l, w)
		}
	}
	c.expect(`^\* 1 EXPUNGE$`)
}
