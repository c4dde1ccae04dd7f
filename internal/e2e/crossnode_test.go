package e2e

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"barid/internal/config"
	"barid/internal/store/postgres/pgtest"
	"barid/internal/testkit"
)

// Two whole barid nodes on one PostgreSQL database (docs/scale-out.md,
// "Change bus between nodes"): what a client does on node B reaches
// IDLE, NOOP and NOTIFY sessions on node A. Messages stay below
// inline_max_bytes, so their bytes live in the shared database too.

// twoNodes starts nodes A and B on one fresh database, with LMTP on
// both and the poll an hour away (only LISTEN/NOTIFY and the catch-up
// after a reconnect carry changes).
func twoNodes(t *testing.T) (a, b *server, dbURL string) {
	t.Helper()
	dbURL = pgtest.Database(t)
	opt := func(c *config.Config) {
		c.Storage.Metadata = dbURL
		c.Storage.NotifyPoll = config.Duration{Duration: time.Hour}
		c.LMTP.Listen = "127.0.0.1:0"
		c.LMTP.LocalDomains = []string{"example.org"}
		c.LMTP.DetailDelivery = true
	}
	a, b = startServer(t, opt), startServer(t, opt)
	a.addUser("alice@example.org", "pw")
	return a, b, dbURL
}

// idleUntil reads lines from an idling connection until one satisfies
// match, returning what it read; it fails the test after 5 s.
func idleUntil(t *testing.T, c *testkit.Conn, what string, match func(string) bool) []string {
	t.Helper()
	var lines []string
	c.Timeout = 5 * time.Second
	defer func() { c.Timeout = 10 * time.Second }()
	for {
		l := c.ReadLine()
		lines = append(lines, l)
		if match(l) {
			return lines
		}
		if len(lines) > 50 {
			t.Fatalf("%s: no match in %q", what, lines)
		}
	}
}

func startIdle(t *testing.T, c *testkit.Conn, tag string) {
	t.Helper()
	c.Send(tag + " IDLE\r\n")
	if l := c.ReadLine(); !strings.HasPrefix(l, "+ ") {
		t.Fatalf("IDLE: %q", l)
	}
}

func lmtpDeliver(t *testing.T, addr, rcpt, msg string) {
	t.Helper()
	lc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer lc.Close()
	lc.SetDeadline(time.Now().Add(20 * time.Second))
	br := bufio.NewReader(lc)
	reply := func(code string) {
		t.Helper()
		for {
			l, err := br.ReadString('\n')
			if err != nil || !strings.HasPrefix(l, code) {
				t.Fatalf("LMTP: want %s, got %q %v", code, l, err)
			}
			if len(l) < 4 || l[3] != '-' {
				return
			}
		}
	}
	send := func(s string) {
		if _, err := io.WriteString(lc, s); err != nil {
			t.Fatal(err)
		}
	}
	reply("220")
	for _, step := range []struct{ cmd, code string }{
		{"LHLO e2e.example\r\n", "250"}, {"MAIL FROM:<s@example.net>\r\n", "250"},
		{"RCPT TO:<" + rcpt + ">\r\n", "250"}, {"DATA\r\n", "354"}, {msg + ".\r\n", "250"},
	} {
		send(step.cmd)
		reply(step.code)
	}
	send("QUIT\r\n")
}

// TestCrossNodeIdle: an APPEND, a STORE and an EXPUNGE made on node B
// reach an IDLE session and a NOOP session on node A; a CREATE and an
// LMTP delivery on B reach a NOTIFY session on A.
func TestCrossNodeIdle(t *testing.T) {
	t.Parallel()
	a, b, _ := twoNodes(t)
	const user = "alice@example.org"

	idler := a.Dial()
	idler.Login(user, "pw")
	idler.ExpectOK("s", "SELECT INBOX")
	noop := a.Dial()
	noop.Login(user, "pw")
	noop.ExpectOK("s", "SELECT INBOX")
	// NOTIFY (RFC 5465) for the other mailboxes: MailboxName for the
	// CREATE, MessageNew for a delivery into one that is not selected.
	notifier := a.Dial()
	notifier.Login(user, "pw")
	notifier.ExpectOK("n", "NOTIFY SET (personal (MessageNew MessageExpunge MailboxName SubscriptionChange))")
	startIdle(t, idler, "i1")
	startIdle(t, notifier, "i2")

	w := b.Dial()
	w.Login(user, "pw")
	w.ExpectOK("s", "SELECT INBOX")

	start := time.Now()
	w.ExpectOK("a", "APPEND INBOX {"+fmt.Sprint(len(testMessage("cross")))+"+}\r\n"+testMessage("cross"))
	idleUntil(t, idler, "APPEND", func(l string) bool { return l == "* 1 EXISTS" })
	t.Logf("APPEND on B -> EXISTS in IDLE on A: %s", time.Since(start).Round(time.Microsecond))
	if lines := noop.ExpectOK("n1", "NOOP"); !slices.Contains(lines, "* 1 EXISTS") {
		t.Fatalf("NOOP on A after APPEND on B: %q", lines)
	}

	w.ExpectOK("f", `STORE 1 +FLAGS (\Flagged)`)
	idleUntil(t, idler, "STORE", func(l string) bool {
		return strings.HasPrefix(l, "* 1 FETCH (") && strings.Contains(l, `\Flagged`)
	})
	if lines := noopUntil(t, noop, "n2", func(l string) bool { return strings.HasPrefix(l, "* 1 FETCH") && strings.Contains(l, `\Flagged`) }); lines != nil {
		t.Fatalf("NOOP on A after STORE on B: %q", lines)
	}

	w.ExpectOK("e", `STORE 1 +FLAGS.SILENT (\Deleted)`)
	w.ExpectOK("x", "EXPUNGE")
	idleUntil(t, idler, "EXPUNGE", func(l string) bool { return l == "* 1 EXPUNGE" })
	if lines := noopUntil(t, noop, "n3", func(l string) bool { return l == "* 1 EXPUNGE" }); lines != nil {
		t.Fatalf("NOOP on A after EXPUNGE on B: %q", lines)
	}

	w.ExpectOK("c", "CREATE Projects")
	idleUntil(t, notifier, "CREATE", func(l string) bool {
		return strings.HasPrefix(l, "* LIST ") && (strings.HasSuffix(l, ` Projects`) || strings.HasSuffix(l, `"Projects"`))
	})

	// A delivery on B's LMTP into a mailbox A's notifier watches
	// (not selected): STATUS with the new count (RFC 5465 §5.2).
	start = time.Now()
	lmtpDeliver(t, b.Addrs()["lmtp"], "alice+Projects@example.org", testMessage("delivered"))
	idleUntil(t, notifier, "LMTP delivery", func(l string) bool {
		return strings.HasPrefix(l, `* STATUS "Projects"`) || strings.HasPrefix(l, `* STATUS Projects`)
	})
	t.Logf("LMTP delivery on B -> STATUS for NOTIFY on A: %s", time.Since(start).Round(time.Microsecond))
	// And into INBOX: the IDLE session on A sees it.
	lmtpDeliver(t, b.Addrs()["lmtp"], user, testMessage("delivered2"))
	idleUntil(t, idler, "LMTP into INBOX", func(l string) bool { return l == "* 1 EXISTS" })

	idler.Send("DONE\r\n")
	idler.Until("i1")
	notifier.Send("DONE\r\n")
	notifier.Until("i2")
}

// TestCrossNodeListenerKilled terminates both nodes' listening
// connections (pg_terminate_backend on application_name "barid change
// bus") and makes changes on B at once: A's IDLE session still gets them
// once its listener is back.
func TestCrossNodeListenerKilled(t *testing.T) {
	t.Parallel()
	a, b, dbURL := twoNodes(t)
	const user = "alice@example.org"
	idler := a.Dial()
	idler.Login(user, "pw")
	idler.ExpectOK("s", "SELECT INBOX")
	startIdle(t, idler, "i1")
	w := b.Dial()
	w.Login(user, "pw")
	w.ExpectOK("s", "SELECT INBOX")
	msg := testMessage("before")
	w.ExpectOK("a", "APPEND INBOX {"+fmt.Sprint(len(msg))+"+}\r\n"+msg)
	idleUntil(t, idler, "APPEND before the kill", func(l string) bool { return l == "* 1 EXISTS" })

	ctx := context.Background()
	pc, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close(ctx)
	killed := 0
	for deadline := time.Now().Add(5 * time.Second); killed < 2 && time.Now().Before(deadline); {
		var n int
		err := pc.QueryRow(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
			WHERE application_name = 'barid change bus' AND datname = current_database()`).Scan(&n)
		if err != nil {
			t.Fatal(err)
		}
		killed += n
		if killed < 2 {
			time.Sleep(20 * time.Millisecond)
		}
	}
	if killed < 2 {
		t.Fatalf("found %d listening connections to terminate, want 2", killed)
	}
	// Right after the kill, before the listeners are back (they wait
	// 100 ms, then connect): a STORE on the message A's idler knows,
	// and a new message.
	w.ExpectOK("f", `STORE 1 +FLAGS (\Answered)`)
	msg = testMessage("while-away")
	w.ExpectOK("a2", "APPEND INBOX {"+fmt.Sprint(len(msg))+"+}\r\n"+msg)
	var flagged, exists bool
	idleUntil(t, idler, "STORE and APPEND while the listener was away", func(l string) bool {
		flagged = flagged || strings.HasPrefix(l, "* 1 FETCH (") && strings.Contains(l, `\Answered`)
		exists = exists || l == "* 2 EXISTS"
		return flagged && exists
	})
	if !strings.Contains(a.logs.String(), "listening connection lost") {
		t.Fatalf("node A never logged the lost connection:\n%s", a.logs.String())
	}
	idler.Send("DONE\r\n")
	idler.Until("i1")
}

// rawIdler is an IDLE session read by its own goroutine.
type rawIdler struct {
	nc net.Conn
	br *bufio.Reader
}

func dialIdler(addr, user string) (*rawIdler, error) {
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return nil, err
	}
	r := &rawIdler{nc: nc, br: bufio.NewReader(nc)}
	nc.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := r.br.ReadString('\n'); err != nil {
		return nil, err
	}
	for _, cmd := range []string{`l LOGIN "` + user + `" "pw"`, "s SELECT INBOX"} {
		tag := cmd[:1]
		fmt.Fprintf(nc, "%s\r\n", cmd)
		for {
			l, err := r.br.ReadString('\n')
			if err != nil {
				return nil, err
			}
			if strings.HasPrefix(l, tag+" ") {
				if !strings.HasPrefix(l, tag+" OK") {
					return nil, fmt.Errorf("%s: %s", cmd, l)
				}
				break
			}
		}
	}
	fmt.Fprintf(nc, "i IDLE\r\n")
	if l, err := r.br.ReadString('\n'); err != nil || !strings.HasPrefix(l, "+ ") {
		return nil, fmt.Errorf("IDLE: %q %v", l, err)
	}
	nc.SetDeadline(time.Time{})
	return r, nil
}

// TestCrossNodeFanoutLatency checks that every APPEND on node B reaches
// every IDLE session on both nodes (100 idlers on A, across nodes, and
// 100 on B), 20 appends one after the other, and logs how long that took
// (p50/p99/max, the figures docs/scale-out.md records). Speed is reported,
// not asserted: the only bound is the 10 s within which every idler must
// hear of every append.
func TestCrossNodeFanoutLatency(t *testing.T) {
	if testing.Short() {
		t.Skip("fan-out measurement skipped in -short")
	}
	a, b, _ := twoNodes(t)
	const user = "alice@example.org"
	const perNode, appends = 100, 20
	type sample struct {
		node string
		d    time.Duration
	}
	var mu sync.Mutex
	var samples []sample
	sent := make([]time.Time, appends+1) // by EXISTS count
	var sentMu sync.RWMutex
	var wg sync.WaitGroup
	seen := make(chan struct{}, 2*perNode*appends)
	var idlers []*rawIdler
	for i := 0; i < 2*perNode; i++ {
		node, addr := "A (other node)", a.addr
		if i%2 == 1 {
			node, addr = "B (same node)", b.addr
		}
		r, err := dialIdler(addr, user)
		if err != nil {
			t.Fatal(err)
		}
		idlers = append(idlers, r)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				l, err := r.br.ReadString('\n')
				if err != nil {
					return
				}
				var n int
				if _, err := fmt.Sscanf(l, "* %d EXISTS", &n); err != nil || n < 1 || n > appends {
					continue
				}
				at := time.Now()
				sentMu.RLock()
				d := at.Sub(sent[n])
				sentMu.RUnlock()
				mu.Lock()
				samples = append(samples, sample{node, d})
				mu.Unlock()
				seen <- struct{}{}
			}
		}()
	}
	w := b.Dial()
	w.Login(user, "pw")
	for i := 1; i <= appends; i++ {
		msg := testMessage(fmt.Sprintf("fanout-%d", i))
		sentMu.Lock()
		sent[i] = time.Now()
		sentMu.Unlock()
		w.ExpectOK("a", "APPEND INBOX {"+fmt.Sprint(len(msg))+"+}\r\n"+msg)
		timeout := time.After(10 * time.Second)
		for k := 0; k < 2*perNode; k++ {
			select {
			case <-seen:
			case <-timeout:
				t.Fatalf("append %d: %d of %d idlers told within 10 s", i, k, 2*perNode)
			}
		}
	}
	for _, r := range idlers {
		r.nc.Close()
	}
	wg.Wait()
	for _, node := range []string{"A (other node)", "B (same node)"} {
		var ds []time.Duration
		for _, s := range samples {
			if s.node == node {
				ds = append(ds, s.d)
			}
		}
		slices.Sort(ds)
		pct := func(p float64) time.Duration { return ds[min(len(ds)-1, int(float64(len(ds))*p))] }
		t.Logf("fan-out to %d idlers on node %s, %d appends on B: p50 %s p99 %s max %s (%d samples, from APPEND sent to EXISTS read)",
			perNode, node, appends, pct(0.50).Round(time.Microsecond), pct(0.99).Round(time.Microsecond), ds[len(ds)-1].Round(time.Microsecond), len(ds))
	}
}

// noopUntil sends NOOP on c until a response line satisfies want, for at
// most 5 s (the change reaches node A's bus through PostgreSQL's
// LISTEN/NOTIFY, asynchronously to the writer's OK). It returns nil when
// the line came, or the last NOOP's lines when it did not.
func noopUntil(t *testing.T, c *testkit.Conn, tag string, want func(string) bool) []string {
	t.Helper()
	var lines []string
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		lines = c.ExpectOK(tag, "NOOP")
		if slices.ContainsFunc(lines, want) {
			return nil
		}
	}
	return lines
}
