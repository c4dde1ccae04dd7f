package e2e

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"testing"
	"time"
)

// login dials s, logs in and registers a cleanup that fails the test if
// the client's model saw any protocol violation.
func login(t *testing.T, s *server, name, user, pass string) *client {
	t.Helper()
	c, err := dial(s.addr, name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c.close()
		for _, v := range c.takeViolations() {
			t.Errorf("protocol violation: %s", v)
		}
	})
	if err := c.login(user, pass); err != nil {
		t.Fatal(err)
	}
	return c
}

// ok runs a command that must succeed.
func (c *client) ok(t *testing.T, format string, args ...any) *response {
	t.Helper()
	r, err := c.mustOK(format, args...)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// sel selects a mailbox or fails the test.
func (c *client) sel(t *testing.T, name string, condstore bool) *response {
	t.Helper()
	r, err := c.selectBox(name, condstore)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// done ends IDLE or fails the test.
func (c *client) done(t *testing.T, tag string) *response {
	t.Helper()
	r, err := c.idleDone(tag)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// appendN appends n test messages to mbox and returns their UIDs.
func appendN(t *testing.T, c *client, mbox string, n int, prefix string) []uint32 {
	t.Helper()
	var uids []uint32
	for i := 0; i < n; i++ {
		u, _, err := c.appendMsg(mbox, "", testMessage(fmt.Sprintf("%s-%d", prefix, i+1)))
		if err != nil {
			t.Fatal(err)
		}
		uids = append(uids, u)
	}
	return uids
}

// expectView checks the client's seq -> UID map against want and
// against the store.
func expectView(t *testing.T, s *server, acct int64, c *client, mbox string, want []uint32) {
	t.Helper()
	got, err := c.view()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("%s: view %v, want %v", c.name, got, want)
	}
	_, msgs := s.storeMessages(acct, mbox)
	var st []uint32
	for _, m := range msgs {
		st = append(st, uint32(m.UID))
	}
	if !slices.Equal(got, st) {
		t.Fatalf("%s: view %v, store %v", c.name, got, st)
	}
}

// TestPendingExpungeRules: session B expunges UID 2 while A has INBOX
// selected (with and without QRESYNC). Commands that use sequence numbers (FETCH, STORE, SEARCH,
// COPY; MOVE for anything but the messages it moves) must not send the
// EXPUNGE (RFC 9051 §7.5.1, RFC 3501 §7.4.1); the others send it at
// their end. Either way A's sequence numbers stay right, and after NOOP
// A's view is the store's.
func TestPendingExpungeRules(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	tests := []struct {
		cmd string
		// releases: the command's own response may carry the pending
		// EXPUNGE (and must, the server having it queued).
		releases bool
		// moved: UIDs the command itself removes from A's view.
		moved []uint32
	}{
		{cmd: "FETCH 1:* (UID FLAGS)"},
		{cmd: "FETCH 2:3 (FLAGS)"},
		{cmd: "FETCH 1:5 (BODY.PEEK[HEADER.FIELDS (SUBJECT)])"},
		{cmd: `STORE 1:* +FLAGS (\Seen)`},
		{cmd: `STORE 3 +FLAGS.SILENT (\Answered)`},
		{cmd: "SEARCH ALL"},
		{cmd: "SEARCH 2:4 UNSEEN"},
		{cmd: "COPY 1:* Archive"},
		{cmd: "COPY 3 Archive"},
		{cmd: "MOVE 1 Archive", moved: []uint32{1}},
		{cmd: "MOVE 4:5 Archive", moved: []uint32{4, 5}},
		{cmd: "NOOP", releases: true},
		{cmd: "CHECK", releases: true},
		{cmd: "UID FETCH 1:* (FLAGS)", releases: true},
		{cmd: `UID STORE 3 +FLAGS (\Flagged)`, releases: true},
		{cmd: "UID SEARCH ALL", releases: true},
		{cmd: "UID COPY 1:* Archive", releases: true},
		{cmd: "STATUS INBOX (MESSAGES)", releases: true},
		{cmd: "LIST \"\" INBOX", releases: true},
	}
	for _, qresync := range []bool{false, true} {
		for i, tc := range tests {
			name := strings.ReplaceAll(tc.cmd, " ", "_")
			if qresync {
				name = "QRESYNC/" + name
			}
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				user := fmt.Sprintf("u%d-%v@example.org", i, qresync)
				acct := s.addUser(user, "pw")
				b := login(t, s, "b", user, "pw")
				appendN(t, b, "INBOX", 5, "m")
				a := login(t, s, "a", user, "pw")
				// With QRESYNC, VANISHED replaces EXPUNGE (RFC 7162
				// §3.2.10) under the same rules.
				gone, pendingGone := `^\* \d+ EXPUNGE`, "* 2 EXPUNGE"
				if qresync {
					if err := a.enable("QRESYNC"); err != nil {
						t.Fatal(err)
					}
					gone, pendingGone = `^\* VANISHED \d`, "* VANISHED 2"
				}
				a.sel(t, "INBOX", false)
				b.sel(t, "INBOX", false)
				b.ok(t, `UID STORE 2 +FLAGS.SILENT (\Deleted)`)
				b.ok(t, "EXPUNGE")

				r, err := a.cmd("%s", tc.cmd)
				if err != nil {
					t.Fatal(err)
				}
				if r.status == "BAD" || (r.status == "NO" && !strings.Contains(r.text, "[EXPUNGEISSUED]")) {
					t.Fatalf("A %s: %s %s", tc.cmd, r.status, r.text)
				}
				exp := r.matching(gone)
				switch {
				case tc.releases:
					if !slices.Equal(exp, []string{pendingGone}) {
						t.Fatalf("A %s: want the pending %s, got:\n%s", tc.cmd, pendingGone, r)
					}
				case len(tc.moved) == 0:
					if len(exp) > 0 {
						t.Fatalf("A %s sent %s while answering a command that uses sequence numbers:\n%s", tc.cmd, exp, r)
					}
				case qresync:
					// MOVE: one VANISHED with exactly the moved UIDs.
					want := imapUIDSet(tc.moved)
					if !slices.Equal(exp, []string{"* VANISHED " + want}) {
						t.Fatalf("A %s: want * VANISHED %s for the moved UIDs only:\n%s", tc.cmd, want, r)
					}
				default:
					// MOVE: exactly the moved messages, at A's numbering
					// (UID 2 still counted).
					if len(exp) != len(tc.moved) {
						t.Fatalf("A %s: want EXPUNGE for exactly the moved UIDs %v:\n%s", tc.cmd, tc.moved, r)
					}
				}
				// The seq -> UID map A had must still hold for the UIDs A
				// did not see go.
				if !tc.releases {
					r, err := a.cmd("FETCH 1:* (UID)")
					if err != nil || (!r.ok() && !strings.Contains(r.text, "[EXPUNGEISSUED]")) {
						t.Fatalf("FETCH 1:* (UID): %v\n%s", err, r)
					}
					if r.has(gone) {
						t.Fatalf("FETCH 1:* (UID) sent %s:\n%s", gone, r)
					}
				}
				a.ok(t, "NOOP")
				want := []uint32{1, 3, 4, 5}
				want = slices.DeleteFunc(want, func(u uint32) bool { return slices.Contains(tc.moved, u) })
				expectView(t, s, acct.ID, a, "INBOX", want)
			})
		}
	}
}

// imapUIDSet renders sorted UIDs as an IMAP sequence set with ranges.
func imapUIDSet(u []uint32) string {
	var parts []string
	for i := 0; i < len(u); {
		j := i
		for j+1 < len(u) && u[j+1] == u[j]+1 {
			j++
		}
		if j > i {
			parts = append(parts, fmt.Sprintf("%d:%d", u[i], u[j]))
		} else {
			parts = append(parts, fmt.Sprint(u[i]))
		}
		i = j + 1
	}
	return strings.Join(parts, ",")
}

// TestPendingUpdatesOrder: with INBOX selected in A (IMAP4rev1), B
// changes flags (a new keyword) and expunges, C appends. A's NOOP then
// reports, in order: the EXPUNGE, EXISTS and RECENT (rev1 only), the
// new keyword in FLAGS and PERMANENTFLAGS, and only then the FETCH that
// carries it. A rev2 session gets no RECENT and no \Recent.
func TestPendingUpdatesOrder(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	for _, rev2 := range []bool{false, true} {
		t.Run(fmt.Sprintf("rev2=%v", rev2), func(t *testing.T) {
			t.Parallel()
			user := fmt.Sprintf("order%v@example.org", rev2)
			acct := s.addUser(user, "pw")
			b := login(t, s, "b", user, "pw")
			appendN(t, b, "INBOX", 2, "old")
			a := login(t, s, "a", user, "pw")
			if rev2 {
				if err := a.enable("IMAP4rev2"); err != nil {
					t.Fatal(err)
				}
			}
			a.sel(t, "INBOX", false)
			b.sel(t, "INBOX", false)
			b.ok(t, `UID STORE 1 +FLAGS ($Important Work)`)
			b.ok(t, `UID STORE 2 +FLAGS (\Deleted)`)
			b.ok(t, "EXPUNGE")
			// C appends without selecting INBOX, so A is the first
			// session to see the new messages and claims \Recent.
			c := login(t, s, "c", user, "pw")
			newUIDs := appendN(t, c, "INBOX", 2, "new")

			r := a.ok(t, "NOOP")
			idx := func(re string) int {
				for i, l := range r.untagged {
					if strings.Contains(l, re) {
						return i
					}
				}
				return -1
			}
			// A claimed \Recent for UIDs 1 and 2 at SELECT; 2 is gone, the
			// two new ones are A's too: three recent messages.
			iExp, iExists, iRecent := idx("* 2 EXPUNGE"), idx("* 3 EXISTS"), idx("* 3 RECENT")
			iFlags, iFetch := idx("* FLAGS ("), idx("* 1 FETCH")
			if iExp < 0 || iExists < 0 || iFlags < 0 || iFetch < 0 {
				t.Fatalf("NOOP is missing updates:\n%s", r)
			}
			if rev2 != (iRecent < 0) {
				t.Fatalf("rev2=%v but RECENT at %d:\n%s", rev2, iRecent, r)
			}
			if iExp > iExists {
				t.Fatalf("EXPUNGE must come before EXISTS (the new count is after the removal):\n%s", r)
			}
			if iFlags > iFetch {
				t.Fatalf("keyword used in FETCH before FLAGS announced it:\n%s", r)
			}
			if !strings.Contains(r.untagged[iFlags], "$Important") || !strings.Contains(r.untagged[iFlags], "Work") {
				t.Fatalf("FLAGS lacks the new keywords:\n%s", r)
			}
			if !r.has(`PERMANENTFLAGS \(.*\$Important.*\\\*\)`) {
				t.Fatalf("PERMANENTFLAGS lacks the new keyword:\n%s", r)
			}
			// A's own numbering: old UID 1 at 1, the new ones at 2, 3.
			r = a.ok(t, "FETCH 1:* (UID FLAGS)")
			for i, u := range append([]uint32{1}, newUIDs...) {
				line := r.matching(fmt.Sprintf(`^\* %d FETCH \(.*UID %d\b`, i+1, u))
				if len(line) != 1 {
					t.Fatalf("seq %d should be UID %d:\n%s", i+1, u, r)
				}
				recent := strings.Contains(line[0], `\Recent`)
				if want := !rev2; recent != want {
					t.Fatalf("seq %d: \\Recent %v, want %v:\n%s", i+1, recent, want, r)
				}
			}
			expectView(t, s, acct.ID, a, "INBOX", append([]uint32{1}, newUIDs...))
			// Nothing is reported twice.
			if r := a.ok(t, "NOOP"); len(r.untagged) != 0 {
				t.Fatalf("second NOOP repeated updates:\n%s", r)
			}
		})
	}
}

// TestExpungedBeforeAnnounced: a message appended and expunged between
// two of A's commands is never announced to A at all, and A's EXISTS
// count stays the store's.
func TestExpungedBeforeAnnounced(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	acct := s.addUser("ghost@example.org", "pw")
	a := login(t, s, "a", "ghost@example.org", "pw")
	b := login(t, s, "b", "ghost@example.org", "pw")
	appendN(t, b, "INBOX", 1, "keep")
	a.sel(t, "INBOX", false)
	b.sel(t, "INBOX", false)
	ghost := appendN(t, b, "INBOX", 1, "ghost")[0]
	b.ok(t, `UID STORE %d +FLAGS (\Deleted)`, ghost)
	b.ok(t, "UID EXPUNGE %d", ghost)
	late := appendN(t, b, "INBOX", 1, "late")[0]
	r := a.ok(t, "NOOP")
	if r.has("EXPUNGE") || !r.has(`^\* 2 EXISTS$`) {
		t.Fatalf("want only * 2 EXISTS:\n%s", r)
	}
	a.ok(t, "FETCH 2 (UID)")
	expectView(t, s, acct.ID, a, "INBOX", []uint32{1, late})
}

// TestIdlePushLatency: A idles on INBOX (RFC 2177); B changes flags,
// expunges and appends. Each change must reach A while it idles. The
// latency is logged; the only timed assertion is a generous bound that
// catches "never arrives".
func TestIdlePushLatency(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	acct := s.addUser("idle@example.org", "pw")
	a := login(t, s, "a", "idle@example.org", "pw")
	b := login(t, s, "b", "idle@example.org", "pw")
	appendN(t, b, "INBOX", 3, "m")
	if err := a.enable("CONDSTORE"); err != nil {
		t.Fatal(err)
	}
	a.sel(t, "INBOX", false)
	b.sel(t, "INBOX", false)

	const bound = 5 * time.Second
	steps := []struct {
		name string
		do   string // B's command
		want string // prefix of A's untagged line
	}{
		{"flag change", `UID STORE 2 +FLAGS.SILENT (\Flagged)`, "* 2 FETCH ("},
		{"new keyword", `UID STORE 3 +FLAGS.SILENT (Urgent)`, "* 3 FETCH ("},
		{"expunge", `UID EXPUNGE 1`, "* 1 EXPUNGE"},
		{"append", "", "* 3 EXISTS"},
	}
	tag, err := a.idle()
	if err != nil {
		t.Fatal(err)
	}
	b.ok(t, `UID STORE 1 +FLAGS.SILENT (\Deleted)`)
	// The \Deleted change is itself pushed; wait for it first.
	if _, at, err := a.idleWait(bound, func(l string) bool { return strings.HasPrefix(l, "* 1 FETCH") }); err != nil || at.IsZero() {
		t.Fatalf("\\Deleted flag change never reached the idler (err %v)", err)
	}
	for _, st := range steps {
		type got struct {
			lines []string
			at    time.Time
			err   error
		}
		ch := make(chan got, 1)
		go func() {
			lines, at, err := a.idleWait(bound, func(l string) bool { return strings.HasPrefix(l, st.want) })
			ch <- got{lines, at, err}
		}()
		start := time.Now()
		if st.do != "" {
			b.ok(t, "%s", st.do)
		} else if _, _, err := b.appendMsg("INBOX", "", testMessage("pushed")); err != nil {
			t.Fatal(err)
		}
		ack := time.Since(start)
		g := <-ch
		if g.err != nil {
			t.Fatalf("%s: %v", st.name, g.err)
		}
		if g.at.IsZero() {
			t.Fatalf("%s: %q never reached the idler within %v; got %q", st.name, st.want, bound, g.lines)
		}
		t.Logf("IDLE push latency, %-11s: %6.2f ms after B sent the command (B's own OK after %.2f ms)",
			st.name, float64(g.at.Sub(start).Microseconds())/1000, float64(ack.Microseconds())/1000)
		if st.name == "new keyword" {
			if !slices.ContainsFunc(g.lines, func(l string) bool { return strings.HasPrefix(l, "* FLAGS (") && strings.Contains(l, "Urgent") }) {
				t.Fatalf("keyword pushed without a FLAGS announcement first: %q", g.lines)
			}
		}
	}
	a.done(t, tag)
	a.ok(t, "NOOP")
	_, msgs := s.storeMessages(acct.ID, "INBOX")
	if len(msgs) != 3 {
		t.Fatalf("store has %d messages", len(msgs))
	}
	if _, err := a.mustOK("FETCH 1:* (UID)"); err != nil {
		t.Fatal(err)
	}
	var want []uint32
	for _, m := range msgs {
		want = append(want, uint32(m.UID))
	}
	expectView(t, s, acct.ID, a, "INBOX", want)
}

// TestIdleKeepalive: an idling client gets "* OK Still here" every
// idle_keepalive (the minimum, 1 s, here).
func TestIdleKeepalive(t *testing.T) {
	t.Parallel()
	s := startServer(t, func(c *configT) { c.IMAP.IdleKeepalive.Duration = time.Second })
	s.addUser("ka@example.org", "pw")
	a := login(t, s, "a", "ka@example.org", "pw")
	a.sel(t, "INBOX", false)
	tag, err := a.idle()
	if err != nil {
		t.Fatal(err)
	}
	lines, at, err := a.idleWait(5*time.Second, func(l string) bool { return strings.HasPrefix(l, "* OK") })
	if err != nil || at.IsZero() {
		t.Fatalf("no keepalive within 5s: %q %v", lines, err)
	}
	a.done(t, tag)
}

// TestSelectedMailboxDeleted: another session deletes the mailbox A has
// selected. A gets a clear BYE (as Dovecot does) at its next command or
// at once while idling; never a crash or a stale view.
func TestSelectedMailboxDeleted(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	for _, mode := range []string{"noop", "fetch", "idle"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			user := "del-" + mode + "@example.org"
			s.addUser(user, "pw")
			b := login(t, s, "b", user, "pw")
			b.ok(t, "CREATE Work")
			appendN(t, b, "Work", 2, "w")
			a := login(t, s, "a", user, "pw")
			a.sel(t, "Work", false)
			var tag string
			if mode == "idle" {
				var err error
				if tag, err = a.idle(); err != nil {
					t.Fatal(err)
				}
			}
			b.ok(t, "DELETE Work")
			switch mode {
			case "idle":
				lines, at, err := a.idleWait(5*time.Second, func(l string) bool { return strings.HasPrefix(l, "* BYE") })
				if at.IsZero() {
					t.Fatalf("idler got no BYE: %q %v", lines, err)
				}
				_ = tag
			default:
				cmd := "NOOP"
				if mode == "fetch" {
					cmd = "FETCH 1:* (UID FLAGS)"
				}
				r, err := a.cmd("%s", cmd)
				if !r.has(`^\* BYE`) {
					t.Fatalf("%s after DELETE: want BYE, got %v\n%s", cmd, err, r)
				}
			}
			// The connection is then closed by the server.
			a.timeout = 3 * time.Second
			if l, err := a.readLine(); err == nil {
				t.Fatalf("connection still open after BYE, read %q", l)
			}
			// The server is fine: B carries on.
			b.ok(t, "LIST \"\" *")
			b.ok(t, "CREATE Work")
		})
	}
}

// TestSelectedMailboxRenamed: another session renames the mailbox A has
// selected; A's session keeps working on the same messages (the
// mailbox keeps its UIDVALIDITY), and later deliveries to the new name
// reach it.
func TestSelectedMailboxRenamed(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	acct := s.addUser("ren@example.org", "pw")
	b := login(t, s, "b", "ren@example.org", "pw")
	b.ok(t, "CREATE Work")
	uids := appendN(t, b, "Work", 2, "w")
	a := login(t, s, "a", "ren@example.org", "pw")
	a.sel(t, "Work", false)
	b.ok(t, "RENAME Work Play")
	r := a.ok(t, "NOOP")
	if r.has("BYE") || r.has("EXPUNGE") {
		t.Fatalf("rename must not disturb A:\n%s", r)
	}
	u3, _, err := b.appendMsg("Play", "", testMessage("after-rename"))
	if err != nil {
		t.Fatal(err)
	}
	r = a.ok(t, "NOOP")
	if !r.has(`^\* 3 EXISTS`) {
		t.Fatalf("append to the new name did not reach A:\n%s", r)
	}
	a.ok(t, `STORE 1 +FLAGS (\Seen)`)
	a.ok(t, "FETCH 1:* (UID FLAGS)")
	expectView(t, s, acct.ID, a, "Play", append(uids, u3))
}

// TestSelectedInboxRenamed: RENAME INBOX moves every message to the new
// name and leaves INBOX empty (RFC 9051 §6.3.6). A session with INBOX
// selected must then see its messages go, not keep a stale view.
func TestSelectedInboxRenamed(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	acct := s.addUser("reninbox@example.org", "pw")
	b := login(t, s, "b", "reninbox@example.org", "pw")
	appendN(t, b, "INBOX", 3, "i")
	a := login(t, s, "a", "reninbox@example.org", "pw")
	a.sel(t, "INBOX", false)
	b.ok(t, "RENAME INBOX Old")
	a.ok(t, "NOOP")
	expectView(t, s, acct.ID, a, "INBOX", nil)
	u, _, err := b.appendMsg("INBOX", "", testMessage("fresh"))
	if err != nil {
		t.Fatal(err)
	}
	a.ok(t, "NOOP")
	a.ok(t, "FETCH 1:* (UID)")
	expectView(t, s, acct.ID, a, "INBOX", []uint32{u})
}

// TestCondstoreFetchCarriesUIDAndModseq: once CONDSTORE is enabled,
// every untagged FETCH the client did not ask for by FETCH (STORE
// results, other sessions' changes, and a FETCH that implicitly set
// \Seen) carries UID and MODSEQ (RFC 7162 §3.1), so the client can tell
// which message changed and how far it is synchronised.
func TestCondstoreFetchCarriesUIDAndModseq(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	s.addUser("cs@example.org", "pw")
	b := login(t, s, "b", "cs@example.org", "pw")
	appendN(t, b, "INBOX", 3, "m")
	a := login(t, s, "a", "cs@example.org", "pw")
	if err := a.enable("CONDSTORE"); err != nil {
		t.Fatal(err)
	}
	a.sel(t, "INBOX", false)
	b.sel(t, "INBOX", false)
	// The client model flags any STORE or NOOP FETCH without UID and
	// MODSEQ as a violation (reported at cleanup).
	a.ok(t, `STORE 1 +FLAGS (\Seen)`)
	a.ok(t, `STORE 1 -FLAGS.SILENT (\Seen)`)
	b.ok(t, `UID STORE 2 +FLAGS (\Flagged)`)
	a.ok(t, "NOOP")
	r := a.ok(t, "FETCH 3 (BODY[TEXT])")
	if !r.has(`^\* 3 FETCH \(.*UID 3\b`) || !r.has(`^\* 3 FETCH \(.*MODSEQ \(\d+\)`) || !r.has(`^\* 3 FETCH \(.*FLAGS \(\\Seen\b`) {
		t.Errorf("FETCH that set \\Seen implicitly must report FLAGS, UID and MODSEQ (RFC 7162 §3.1):\n%s", r)
	}
}

// TestIdlePushFromLMTP: a delivery over LMTP (RFC 2033), the path an MTA
// uses, reaches an idling session like an APPEND does.
func TestIdlePushFromLMTP(t *testing.T) {
	t.Parallel()
	s := startServer(t, func(c *configT) {
		c.LMTP.Listen = "127.0.0.1:0"
		c.LMTP.LocalDomains = []string{"example.org"}
	})
	acct := s.addUser("lmtp@example.org", "pw")
	a := login(t, s, "a", "lmtp@example.org", "pw")
	a.sel(t, "INBOX", false)
	tag, err := a.idle()
	if err != nil {
		t.Fatal(err)
	}
	lc, err := net.DialTimeout("tcp", s.Addrs()["lmtp"], 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer lc.Close()
	lc.SetDeadline(time.Now().Add(20 * time.Second))
	br := bufio.NewReader(lc)
	// reply reads one (possibly multi-line) reply and checks its code.
	reply := func(code string) {
		t.Helper()
		for {
			l, err := br.ReadString('\n')
			if err != nil {
				t.Fatalf("LMTP: %v", err)
			}
			if !strings.HasPrefix(l, code) {
				t.Fatalf("LMTP: want %s, got %q", code, l)
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
	send("LHLO e2e.example\r\n")
	reply("250")
	send("MAIL FROM:<sender@example.net>\r\n")
	reply("250")
	send("RCPT TO:<lmtp@example.org>\r\n")
	reply("250")
	send("DATA\r\n")
	reply("354")
	type got struct {
		lines []string
		at    time.Time
		err   error
	}
	ch := make(chan got, 1)
	go func() {
		lines, at, err := a.idleWait(5*time.Second, func(l string) bool { return l == "* 1 EXISTS" })
		ch <- got{lines, at, err}
	}()
	start := time.Now()
	send(testMessage("via-lmtp") + ".\r\n")
	reply("250")
	ack := time.Since(start)
	g := <-ch
	if g.err != nil || g.at.IsZero() {
		t.Fatalf("LMTP delivery never reached the idler: %q %v", g.lines, g.err)
	}
	t.Logf("IDLE push latency, LMTP delivery: %.2f ms after the end of DATA (LMTP 250 after %.2f ms)",
		float64(g.at.Sub(start).Microseconds())/1000, float64(ack.Microseconds())/1000)
	send("QUIT\r\n")
	a.done(t, tag)
	a.ok(t, "FETCH 1 (UID)")
	_, msgs := s.storeMessages(acct.ID, "INBOX")
	if len(msgs) != 1 {
		t.Fatalf("store has %d messages", len(msgs))
	}
	expectView(t, s, acct.ID, a, "INBOX", []uint32{uint32(msgs[0].UID)})
}
