package server_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"

	"barid/internal/config"
	"barid/internal/store"
	"barid/internal/testkit"
)

// transcriptQuota is the transcripts' "quota NAME BYTES MESSAGES" line.
func transcriptQuota(t *testing.T, ts *testServer, f []string) {
	t.Helper()
	if len(f) != 4 {
		t.Fatalf("quota line %q: want quota NAME BYTES MESSAGES", strings.Join(f, " "))
	}
	b, err1 := strconv.ParseInt(f[2], 10, 64)
	m, err2 := strconv.ParseInt(f[3], 10, 64)
	if err1 != nil || err2 != nil {
		t.Fatalf("quota line %q: bad numbers", strings.Join(f, " "))
	}
	setQuota(t, ts, f[1], b, m)
}

func setQuota(t testing.TB, ts *testServer, name string, bytes, msgs int64) {
	t.Helper()
	ctx := context.Background()
	a, err := ts.Store().Account(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	if err := ts.Store().(store.Quotas).SetQuotaLimits(ctx, a.ID, store.QuotaLimits{Storage: bytes, Messages: msgs}); err != nil {
		t.Fatal(err)
	}
}

// usage returns the kept usage and a recount of name's messages.
func usage(t testing.TB, ts *testServer, name string) (kept, count store.QuotaUsage) {
	t.Helper()
	ctx := context.Background()
	st := ts.Store()
	a, err := st.Account(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	q, err := st.(store.Quotas).Quota(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	mbs, err := st.Mailboxes(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, mb := range mbs {
		_, uids, err := st.MessageUIDs(ctx, mb.ID)
		if err != nil {
			t.Fatal(err)
		}
		if err := st.FetchMessages(ctx, mb.ID, uids, store.FieldSize, func(m *store.Message) error {
			count.Storage += m.Size
			count.Messages++
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	return q.Usage, count
}

func wantUsage(t testing.TB, ts *testServer, name string, want store.QuotaUsage) {
	t.Helper()
	kept, count := usage(t, ts, name)
	if kept != want || count != want {
		t.Fatalf("usage of %s: kept %+v, recount %+v, want %+v", name, kept, count, want)
	}
}

func msg(i, size int) string {
	h := fmt.Sprintf("Subject: m%d\r\n\r\n", i)
	return h + strings.Repeat("x", size-len(h))
}

// RFC 9208 §4.3: an APPEND whose literal cannot fit is refused before
// the "+" (synchronizing literal) or skipped (LITERAL+), and nothing is
// stored; the connection goes on.
func TestQuotaAppendBeforeContinuation(t *testing.T) {
	ts := startServer(t)
	ts.addUser("alice", "pw")
	setQuota(t, ts, "alice", 1000, 0)
	c := ts.dial()
	c.login("alice", "pw")
	c.expectOK("a1", "APPEND INBOX {600+}\r\n"+msg(1, 600))
	c.send("a2 APPEND INBOX {500}\r\n")
	if l := c.readLine(); !strings.HasPrefix(l, "a2 NO [OVERQUOTA] ") {
		t.Fatalf("over-quota synchronizing literal: %q, want a2 NO [OVERQUOTA] before any +", l)
	}
	c.send("a3 APPEND INBOX {500+}\r\n" + msg(3, 500) + "\r\n")
	mustHave(t, c.until("a3"), `^a3 NO \[OVERQUOTA\] Quota exceeded`)
	// MULTIAPPEND: the second literal does not fit: none is stored.
	c.send("a4 APPEND INBOX {100}\r\n")
	if l := c.readLine(); !strings.HasPrefix(l, "+") {
		t.Fatalf("want +, got %q", l)
	}
	c.send(msg(4, 100) + " {400}\r\n")
	if l := c.readLine(); !strings.HasPrefix(l, "a4 NO [OVERQUOTA] ") {
		t.Fatalf("over-quota second literal: %q", l)
	}
	mustHave(t, c.expectOK("a5", "STATUS INBOX (MESSAGES SIZE)"), `^\* STATUS INBOX \(MESSAGES 1 SIZE 600\)`)
	wantUsage(t, ts, "alice", store.QuotaUsage{Storage: 600, Messages: 1})
	// What fits still goes in.
	c.expectOK("a6", "APPEND INBOX {400+}\r\n"+msg(6, 400))
	wantUsage(t, ts, "alice", store.QuotaUsage{Storage: 1000, Messages: 2})
}

// MULTIAPPEND is all or none under the message limit too (RFC 3502).
func TestQuotaMultiAppendMessages(t *testing.T) {
	ts := startServer(t)
	ts.addUser("alice", "pw")
	setQuota(t, ts, "alice", 0, 2)
	c := ts.dial()
	c.login("alice", "pw")
	lines := c.cmd("a1", "APPEND INBOX {50+}\r\n"+msg(1, 50)+" {50+}\r\n"+msg(2, 50)+" {50+}\r\n"+msg(3, 50))
	mustHave(t, lines, `^a1 NO \[OVERQUOTA\]`)
	wantUsage(t, ts, "alice", store.QuotaUsage{})
	c.expectOK("a2", "APPEND INBOX {50+}\r\n"+msg(1, 50)+" {50+}\r\n"+msg(2, 50))
	wantUsage(t, ts, "alice", store.QuotaUsage{Storage: 100, Messages: 2})
}

// COPY over the limit is refused whole; MOVE within the account needs
// nothing more and works at the limit; the usage follows EXPUNGE.
func TestQuotaCopyMove(t *testing.T) {
	ts := startServer(t)
	ts.addUser("alice", "pw")
	c := ts.dial()
	c.login("alice", "pw")
	c.expectOK("a1", "APPEND INBOX {100+}\r\n"+msg(1, 100)+" {100+}\r\n"+msg(2, 100))
	setQuota(t, ts, "alice", 300, 0)
	c.expectOK("a2", "SELECT INBOX")
	mustHave(t, c.cmd("a3", "COPY 1:2 Archive"), `^a3 NO \[OVERQUOTA\] `)
	mustHave(t, c.cmd("a4", "UID COPY 1:* Archive"), `^a4 NO \[OVERQUOTA\] `)
	wantUsage(t, ts, "alice", store.QuotaUsage{Storage: 200, Messages: 2})
	c.expectOK("a5", "COPY 1 Archive")
	c.expectOK("a6", "MOVE 1:2 Trash")
	wantUsage(t, ts, "alice", store.QuotaUsage{Storage: 300, Messages: 3})
	mustHave(t, c.expectOK("a7", "GETQUOTAROOT Trash"), `^\* QUOTA "User quota" \(STORAGE 1 0\)$`)
	c.expectOK("a8", "SELECT Trash")
	c.expectOK("a9", "STORE 1 +FLAGS (\\Deleted)")
	c.expectOK("a10", "EXPUNGE")
	wantUsage(t, ts, "alice", store.QuotaUsage{Storage: 200, Messages: 2})
	c.expectOK("a11", "DELETE Archive")
	wantUsage(t, ts, "alice", store.QuotaUsage{Storage: 100, Messages: 1})
}

// CATENATE (RFC 4469): a TEXT part over the limit is refused before its
// "+"; a URL part the pre-check cannot see is refused at the commit.
func TestQuotaCatenate(t *testing.T) {
	ts := startServer(t)
	ts.addUser("alice", "pw")
	c := ts.dial()
	c.login("alice", "pw")
	c.expectOK("a1", "APPEND INBOX {300+}\r\n"+msg(1, 300))
	setQuota(t, ts, "alice", 500, 0)
	c.send("a2 APPEND Drafts CATENATE (TEXT {300}\r\n")
	if l := c.readLine(); !strings.HasPrefix(l, "a2 NO [OVERQUOTA] ") {
		t.Fatalf("over-quota CATENATE TEXT: %q", l)
	}
	mustHave(t, c.cmd("a3", `APPEND Drafts CATENATE (URL "/INBOX;UIDVALIDITY=`+uidValidity(t, c, "INBOX")+`/;UID=1" TEXT {10+}`+"\r\n0123456789)"), `^a3 NO \[OVERQUOTA\] `)
	wantUsage(t, ts, "alice", store.QuotaUsage{Storage: 300, Messages: 1})
	c.expectOK("a4", "APPEND Drafts CATENATE (TEXT {10+}\r\n0123456789)")
	wantUsage(t, ts, "alice", store.QuotaUsage{Storage: 310, Messages: 2})
}

func uidValidity(t *testing.T, c *rawConn, mailbox string) string {
	t.Helper()
	for _, l := range c.expectOK("uv", "STATUS "+mailbox+" (UIDVALIDITY)") {
		if _, rest, ok := strings.Cut(l, "UIDVALIDITY "); ok {
			return strings.TrimSuffix(rest, ")")
		}
	}
	t.Fatal("no UIDVALIDITY")
	return ""
}

// Many clients appending at once into several mailboxes of one account
// at its limit: exactly the limit is stored, every refusal is
// [OVERQUOTA], and the kept usage equals a recount.
func TestQuotaConcurrentAppend(t *testing.T) {
	ts := startServer(t)
	ts.addUser("alice", "pw")
	const clients, each, limit = 8, 8, 25
	setQuota(t, ts, "alice", 0, limit)
	boxes := []string{"INBOX", "Archive", "Drafts"}
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok, refused := 0, 0
	for i := range clients {
		c := ts.dial()
		c.login("alice", "pw")
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range each {
				tag := fmt.Sprintf("c%dm%d", i, j)
				lines := c.cmd(tag, "APPEND "+boxes[(i+j)%len(boxes)]+" {80+}\r\n"+msg(i*100+j, 80))
				last := lines[len(lines)-1]
				mu.Lock()
				switch {
				case strings.HasPrefix(last, tag+" OK"):
					ok++
				case strings.HasPrefix(last, tag+" NO [OVERQUOTA]"):
					refused++
				default:
					t.Errorf("unexpected answer %q", last)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if ok != limit || refused != clients*each-limit {
		t.Fatalf("%d stored, %d refused; want %d and %d", ok, refused, limit, clients*each-limit)
	}
	wantUsage(t, ts, "alice", store.QuotaUsage{Storage: 80 * limit, Messages: limit})
}

// GETQUOTA, GETQUOTAROOT and SETQUOTA (RFC 9208 §4.1), with the admin
// list of [quota] admins; QUOTASET only for admins.
func TestQuotaAdmin(t *testing.T) {
	ts := startServer(t, testkit.Option(func(c *config.Config) {
		c.Quota.Admins = []string{"Postmaster"}
		c.Quota.Storage = 10 << 20
	}))
	ts.addUser("alice", "pw")
	ts.addUser("postmaster", "pw")
	a := ts.dial()
	a.login("alice", "pw")
	caps := strings.Join(a.expectOK("a0", "CAPABILITY"), " ")
	if !strings.Contains(caps, " QUOTA QUOTA=RES-STORAGE QUOTA=RES-MESSAGE ") || strings.Contains(caps, "QUOTASET") {
		t.Fatalf("alice's capabilities: %s", caps)
	}
	mustHave(t, a.expectOK("a1", `GETQUOTA "User quota"`), `^\* QUOTA "User quota" \(STORAGE 0 10240\)$`)
	mustHave(t, a.cmd("a2", `SETQUOTA "User quota" (STORAGE 1)`), `^a2 NO \[NOPERM\] Quota can be changed only by admin$`)
	mustHave(t, a.cmd("a3", `GETQUOTA "#user/postmaster"`), `^a3 NO \[NONEXISTENT\] Quota root doesn't exist$`)
	mustHave(t, a.cmd("a4", `GETQUOTA ""`), `^a4 NO \[NONEXISTENT\] `)

	p := ts.dial()
	p.login("postmaster", "pw")
	mustHave(t, p.expectOK("b0", "CAPABILITY"), ` QUOTASET`)
	mustHave(t, p.expectOK("b1", `SETQUOTA "#user/alice" (STORAGE 1 MESSAGE 4)`), `^\* QUOTA #user/alice \(STORAGE 0 1 MESSAGE 0 4\)$`)
	// A resource not listed keeps its limit (as in Dovecot); 0 lifts one.
	mustHave(t, p.expectOK("b2", `SETQUOTA "#user/alice" (STORAGE 0)`), `^\* QUOTA #user/alice \(MESSAGE 0 4\)$`)
	mustHave(t, p.cmd("b3", `SETQUOTA "#user/alice" (MAILBOX 3)`), `^b3 NO \[CANNOT\] Unsupported quota resource: MAILBOX$`)
	mustHave(t, p.cmd("b4", `SETQUOTA "#user/nobody" (STORAGE 1)`), `^b4 NO \[NONEXISTENT\] `)
	mustHave(t, p.cmd("b5", `SETQUOTA "#user/alice" (STORAGE x)`), `^b5 BAD `)
	mustHave(t, a.expectOK("a5", "GETQUOTAROOT INBOX"), `^\* QUOTA "User quota" \(MESSAGE 0 4\)$`)
}
