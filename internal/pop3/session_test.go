package pop3_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"barid/internal/config"
	"barid/internal/testkit"
)

// The example session of RFC 1939 §10, on real sockets: STAT, LIST,
// RETR, DELE, QUIT; the deletions are expunged at QUIT and IMAP sees an
// empty INBOX.
func TestRFC1939Session(t *testing.T) {
	t.Parallel()
	f := start(t)
	m1, m2 := testkit.Message("one"), testkit.Message("two")
	f.add(m1)
	f.add(m2)
	c := f.DialPOP3()
	if !strings.HasPrefix(c.Greeting, "+OK ") {
		t.Fatalf("greeting %q", c.Greeting)
	}
	c.OK("USER " + user)
	c.OK("PASS " + pass)
	if got, want := c.Cmd("STAT"), fmt.Sprintf("+OK 2 %d", len(m1)+len(m2)); got != want {
		t.Errorf("STAT = %q, want %q", got, want)
	}
	st, body := c.Multi("LIST")
	if want := fmt.Sprintf("1 %d\r\n2 %d\r\n", len(m1), len(m2)); !strings.HasPrefix(st, "+OK 2 messages") || body != want {
		t.Errorf("LIST = %q %q, want %q", st, body, want)
	}
	if got := c.Cmd("LIST 2"); got != fmt.Sprintf("+OK 2 %d", len(m2)) {
		t.Errorf("LIST 2 = %q", got)
	}
	if got := c.Cmd("LIST 3"); got != "-ERR There's no message 3." {
		t.Errorf("LIST 3 = %q", got)
	}
	st, body = c.Multi("RETR 1")
	if st != fmt.Sprintf("+OK %d octets", len(m1)) || body != m1 {
		t.Errorf("RETR 1 = %q %q", st, body)
	}
	c.OK("DELE 1")
	if got := c.Cmd("DELE 1"); got != "-ERR Message is deleted." {
		t.Errorf("second DELE 1 = %q", got)
	}
	if got := c.Cmd("RETR 1"); got != "-ERR Message is deleted." {
		t.Errorf("RETR of a deleted message = %q", got)
	}
	if got := c.Cmd("STAT"); got != fmt.Sprintf("+OK 1 %d", len(m2)) {
		t.Errorf("STAT after DELE = %q", got)
	}
	c.Multi("RETR 2")
	c.OK("DELE 2")
	if got := c.Cmd("QUIT"); got != "+OK Logging out, messages deleted." {
		t.Errorf("QUIT = %q", got)
	}
	if fl := f.flags(); len(fl) != 0 {
		t.Errorf("INBOX after QUIT: %v", fl)
	}
}

// RFC 2449 §5 CAPA in each state, RFC 2595 STLS only before TLS, USER
// and SASL only before login.
func TestCapa(t *testing.T) {
	t.Parallel()
	f := start(t)
	capa := func(c *testkit.POP3Conn) string {
		t.Helper()
		st, body := c.Multi("CAPA")
		if !strings.HasPrefix(st, "+OK") {
			t.Fatalf("CAPA: %q", st)
		}
		return body
	}
	c := f.DialPOP3()
	got := capa(c)
	for _, want := range []string{"TOP", "UIDL", "RESP-CODES", "PIPELINING", "AUTH-RESP-CODE", "USER", "STLS",
		"SASL SCRAM-SHA-256 SCRAM-SHA-1 PLAIN LOGIN", "IMPLEMENTATION barid"} {
		if !strings.Contains(got, "\r\n"+want+"\r\n") && !strings.HasPrefix(got, want+"\r\n") {
			t.Errorf("CAPA before login lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "APOP") || strings.Contains(got, "LOGIN-DELAY") {
		t.Errorf("CAPA offers APOP or LOGIN-DELAY:\n%s", got)
	}
	if g := c.Greeting; strings.Contains(g, "<") {
		t.Errorf("greeting has an APOP timestamp: %q", g)
	}
	c.Login(user, pass)
	got = capa(c)
	for _, gone := range []string{"USER", "STLS", "SASL"} {
		if strings.Contains(got, gone) {
			t.Errorf("CAPA after login offers %s:\n%s", gone, got)
		}
	}
	if !strings.Contains(got, "UIDL") || !strings.Contains(got, "PIPELINING") {
		t.Errorf("CAPA after login:\n%s", got)
	}
	c.OK("QUIT")
	// Implicit TLS: no STLS, the -PLUS mechanisms.
	tc := f.DialPOP3TLS()
	got = capa(tc)
	if strings.Contains(got, "STLS") || !strings.Contains(got, "SCRAM-SHA-256-PLUS") {
		t.Errorf("CAPA over TLS:\n%s", got)
	}
}

// UIDL is Dovecot's default pop3_uidl_format %08Xu%08Xv, the same in
// every session.
func TestUIDL(t *testing.T) {
	t.Parallel()
	f := start(t)
	u1 := f.add(testkit.Message("a"))
	u2 := f.add(testkit.Message("b"))
	v := f.uidValidity()
	want := fmt.Sprintf("1 %08x%08x\r\n2 %08x%08x\r\n", u1, v, u2, v)
	for i := 0; i < 2; i++ {
		c := f.pop()
		if st, body := c.Multi("UIDL"); st != "+OK" || body != want {
			t.Errorf("session %d UIDL = %q %q, want %q", i, st, body, want)
		}
		if got := c.Cmd("UIDL 2"); got != fmt.Sprintf("+OK 2 %08x%08x", u2, v) {
			t.Errorf("UIDL 2 = %q", got)
		}
		c.OK("QUIT")
	}
}

// The maildrop is a snapshot taken at login: a message delivered during
// the session is listed by the next one.
func TestSnapshot(t *testing.T) {
	t.Parallel()
	f := start(t)
	f.add(testkit.Message("before"))
	c := f.pop()
	f.add(testkit.Message("during"))
	if got := c.Cmd("STAT"); !strings.HasPrefix(got, "+OK 1 ") {
		t.Errorf("STAT during = %q", got)
	}
	c.OK("QUIT")
	c = f.pop()
	if got := c.Cmd("STAT"); !strings.HasPrefix(got, "+OK 2 ") {
		t.Errorf("STAT in the next session = %q", got)
	}
}

// A second POP3 session on the maildrop gets -ERR [IN-USE] (RFC 2449
// §8.1.2) and stays in AUTHORIZATION; after the first QUITs it may log
// in. IMAP sessions do not count.
func TestInUse(t *testing.T) {
	t.Parallel()
	f := start(t)
	first := f.pop()
	second := f.DialPOP3()
	second.OK("USER " + user)
	if got := second.Cmd("PASS " + pass); got != "-ERR [IN-USE] Mailbox is locked by another POP3 session." {
		t.Fatalf("second PASS = %q", got)
	}
	if got := second.Cmd("STAT"); !strings.HasPrefix(got, "-ERR") {
		t.Errorf("STAT after IN-USE = %q", got)
	}
	first.OK("QUIT")
	second.Login(user, pass)
	second.OK("STAT")
}

// max_conns_per_user counts POP3 sessions with IMAP's, and its error
// names the limit.
func TestMaxConnsPerUser(t *testing.T) {
	t.Parallel()
	f := start(t, func(c *config.Config) { c.Limits.MaxConnsPerUser = 1 })
	c := f.DialPOP3() // the fixture's IMAP session holds the one slot
	c.OK("USER " + user)
	if got := c.Cmd("PASS " + pass); !strings.HasPrefix(got, "-ERR [IN-USE]") || !strings.Contains(got, "max_conns_per_user") {
		t.Errorf("PASS over max_conns_per_user = %q", got)
	}
}

// RETR sets \Seen as Dovecot does (TOP does not), written at QUIT or
// when the connection ends; RSET forgets it; DELE without QUIT deletes
// nothing.
func TestSeenAndAbort(t *testing.T) {
	t.Parallel()
	f := start(t)
	u1 := f.add(testkit.Message("r"))
	u2 := f.add(testkit.Message("t"))
	u3 := f.add(testkit.Message("rset"))
	c := f.pop()
	c.Multi("RETR 3")
	c.OK("RSET")
	c.Multi("RETR 1")
	c.Multi("TOP 2 0")
	c.OK("DELE 2")
	c.NC.Close() // no QUIT
	want := []string{fmt.Sprintf("%d:\\Seen", u1), fmt.Sprintf("%d:", u2), fmt.Sprintf("%d:", u3)}
	var got []string
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if got = f.flags(); strings.Join(got, " ") == strings.Join(want, " ") {
			break
		}
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("after an aborted session: %v, want %v", got, want)
	}
	// The lock went with the connection.
	f.pop().OK("QUIT")
}

// Bad arguments get -ERR with Dovecot's wording and the session goes on.
func TestErrors(t *testing.T) {
	t.Parallel()
	f := start(t)
	f.add(testkit.Message("x"))
	c := f.pop()
	for cmd, want := range map[string]string{
		"RETR":         "-ERR Missing message number",
		"RETR 0":       "-ERR There's no message 0.",
		"RETR 2":       "-ERR There's no message 2.",
		"RETR x":       "-ERR Invalid message number: x",
		"RETR 1 2":     "-ERR Invalid message number: 1 2",
		"TOP 1":        "-ERR TOP needs a message number and a line count",
		"TOP 1 -1":     "-ERR Invalid line count: -1",
		"STAT 1":       "-ERR STAT takes no argument",
		"XYZZ":         "-ERR Unknown command: XYZZ",
		"USER x":       "-ERR USER is not allowed in the TRANSACTION state",
		"RETR 9999999": "-ERR There's no message 9999999.",
	} {
		if got := c.Cmd(cmd); got != want {
			t.Errorf("%s = %q, want %q", cmd, got, want)
		}
	}
	c.OK("NOOP")
}

// Every command is refused in the state where it does not belong
// (STYLE.md §2), and accepted (not "not allowed") where it does.
func TestCommandStates(t *testing.T) {
	t.Parallel()
	f := start(t)
	f.add(testkit.Message("x"))
	before := f.DialPOP3()
	for _, cmd := range []string{"STAT", "LIST", "RETR 1", "DELE 1", "RSET", "TOP 1 1", "UIDL", "NOOP"} {
		if got := before.Cmd(cmd); !strings.Contains(got, "not allowed in the AUTHORIZATION state") {
			t.Errorf("%s before login = %q", cmd, got)
		}
	}
	after := f.pop()
	for _, cmd := range []string{"USER x", "PASS x", "AUTH PLAIN", "STLS"} {
		if got := after.Cmd(cmd); !strings.Contains(got, "not allowed in the TRANSACTION state") {
			t.Errorf("%s after login = %q", cmd, got)
		}
	}
}

// RFC 2449 §6.6 PIPELINING: many commands in one write are answered in
// order (and in one batch).
func TestPipelining(t *testing.T) {
	t.Parallel()
	f := start(t)
	m := testkit.Message("p")
	f.add(m)
	f.add(m)
	c := f.DialPOP3()
	c.Send("USER " + user + "\r\nPASS " + pass + "\r\nSTAT\r\nLIST\r\nRETR 1\r\nTOP 2 0\r\nUIDL 1\r\nDELE 2\r\nNOOP\r\nRSET\r\nQUIT\r\n")
	want := []string{"+OK", "+OK Logged in.", fmt.Sprintf("+OK 2 %d", 2*len(m)), "+OK 2 messages:", "", fmt.Sprintf("+OK %d octets", len(m)), "", "+OK", "", "+OK 1 ", "+OK Marked to be deleted.", "+OK", "+OK", "+OK Logging out."}
	for i, w := range want {
		if w == "" {
			c.ReadMulti()
			continue
		}
		if got := c.Line(); !strings.HasPrefix(got, w) {
			t.Fatalf("reply %d = %q, want %q", i, got, w)
		}
	}
	if len(f.flags()) != 2 {
		t.Error("RSET did not undo the pipelined DELE")
	}
}

// A message stored with bare LFs is listed and sent with CRLFs, as
// Dovecot does: LIST, STAT and "+OK n octets" give the CRLF size, which
// is IMAP's RFC822.SIZE, and RETR sends exactly that many octets.
func TestBareLFSizes(t *testing.T) {
	t.Parallel()
	f := start(t)
	lf := "From: a@example.org\nSubject: lf\n\n.starts with a dot\nline\r\r\nend"
	crlf := "From: a@example.org\r\nSubject: lf\r\n\r\n.starts with a dot\r\nline\r\nend"
	f.add(lf)
	lines := f.imap.ExpectOK("s", "EXAMINE INBOX")
	_ = lines
	sz := f.imap.ExpectOK("z", "FETCH 1 RFC822.SIZE")
	testkit.MustHave(t, sz, fmt.Sprintf(`RFC822.SIZE %d\)`, len(crlf)))
	f.imap.ExpectOK("c", "CLOSE")
	c := f.pop()
	if got := c.Cmd("LIST 1"); got != fmt.Sprintf("+OK 1 %d", len(crlf)) {
		t.Errorf("LIST 1 = %q, want size %d", got, len(crlf))
	}
	st, body := c.Multi("RETR 1")
	if st != fmt.Sprintf("+OK %d octets", len(crlf)) {
		t.Errorf("RETR status %q", st)
	}
	// The last line had no line end: CRLF is added before ".", as in
	// Dovecot.
	if un := testkit.Unstuff(body); un != crlf+"\r\n" {
		t.Errorf("RETR body %q, want %q", un, crlf+"\r\n")
	}
	if !strings.Contains(body, "\r\n..starts with a dot\r\n") {
		t.Errorf("no dot-stuffing: %q", body)
	}
	if _, top := c.Multi("TOP 1 1"); top != "From: a@example.org\r\nSubject: lf\r\n\r\n..starts with a dot\r\n" {
		t.Errorf("TOP 1 1 = %q", top)
	}
}

// Shutdown tells a session waiting for a command why it ends
// ([SYS/TEMP], RFC 3206 §5) and deletes nothing it marked.
func TestShutdown(t *testing.T) {
	t.Parallel()
	f := start(t)
	f.add(testkit.Message("kept"))
	c := f.pop()
	c.OK("DELE 1")
	f.Stop()
	if got := c.Line(); got != "-ERR [SYS/TEMP] Server shutting down." {
		t.Errorf("at shutdown: %q", got)
	}
	s := testkit.StartAt(t, f.Dir, testkit.WithPOP3())
	p := s.DialPOP3()
	p.Login(user, pass)
	if got := p.Cmd("STAT"); !strings.HasPrefix(got, "+OK 1 ") {
		t.Errorf("after restart: %q (the DELE without QUIT must not apply)", got)
	}
}

// A message another client expunges during the session answers
// "-ERR Message n expunged." (Dovecot's words), whether or not the
// session had already read its record, and the others still come.
func TestExpungedDuringSession(t *testing.T) {
	t.Parallel()
	f := start(t)
	for _, s := range []string{"a", "b", "c"} {
		f.add(testkit.Message(s))
	}
	c := f.pop()
	c.Multi("RETR 1") // reads the records of 1..3
	f.imap.ExpectOK("s", "SELECT INBOX")
	f.imap.ExpectOK("d", `STORE 2:3 +FLAGS.SILENT (\Deleted)`)
	f.imap.ExpectOK("e", "EXPUNGE")
	for _, n := range []string{"2", "3"} {
		if got := c.Cmd("RETR " + n); got != "-ERR Message "+n+" expunged." {
			t.Errorf("RETR %s after an IMAP expunge = %q", n, got)
		}
	}
	if st, body := c.Multi("RETR 1"); !strings.HasPrefix(st, "+OK") || body != testkit.Message("a") {
		t.Errorf("RETR 1 = %q %q", st, body)
	}
	c.OK("DELE 2") // already gone: QUIT still succeeds
	if got := c.Cmd("QUIT"); got != "+OK Logging out, messages deleted." {
		t.Errorf("QUIT = %q", got)
	}
}

// RETRs pipelined with QUIT (RFC 2449 §6.6) in one write: each message
// comes whole and in order (read ahead together from the store), and
// each gets \Seen, part of the QUIT update although their replies were
// still buffered when QUIT came; TOP still sets none.
func TestPipelinedRetrSeen(t *testing.T) {
	t.Parallel()
	f := start(t)
	var msgs []string
	var want []string
	for i := range 5 {
		m := testkit.Message(fmt.Sprintf("pipelined %d", i))
		u := f.add(m)
		msgs = append(msgs, m)
		if i == 4 {
			want = append(want, fmt.Sprintf("%d:", u))
		} else {
			want = append(want, fmt.Sprintf("%d:\\Seen", u))
		}
	}
	c := f.pop()
	c.Send("RETR 2\r\nRETR 1\r\nRETR 3\r\nRETR 4\r\nRETR 2\r\nTOP 5 0\r\nQUIT\r\n")
	for _, n := range []int{2, 1, 3, 4, 2} {
		if st := c.Line(); st != fmt.Sprintf("+OK %d octets", len(msgs[n-1])) {
			t.Fatalf("RETR %d: %q", n, st)
		}
		if body := c.ReadMulti(); body != msgs[n-1] {
			t.Errorf("RETR %d: %q, want %q", n, body, msgs[n-1])
		}
	}
	if st := c.Line(); st != "+OK" {
		t.Fatalf("TOP: %q", st)
	}
	c.ReadMulti()
	if got := c.Line(); got != "+OK Logging out." {
		t.Errorf("QUIT = %q", got)
	}
	if got := f.flags(); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("flags after QUIT: %v, want %v", got, want)
	}
}
