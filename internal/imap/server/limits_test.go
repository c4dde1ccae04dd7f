package server_test

import (
	"bufio"
	"crypto/tls"
	"io"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"barid/internal/config"
)

// Each named limit is enforced with an error that names it, and the
// server keeps serving other clients afterwards (docs/style.md §5).

func stillServes(t *testing.T, ts *testServer) {
	t.Helper()
	c := ts.dial()
	c.login("victim", "pw")
	c.expectOK("z1", "SELECT INBOX")
	c.expectOK("z2", "LOGOUT")
}

func TestLimitLineLength(t *testing.T) {
	ts := startServer(t)
	ts.addUser("victim", "pw")
	c := ts.dial()
	// An 8 MB line: the server must answer BYE naming the limit without
	// buffering the whole line.
	go func() {
		big := strings.Repeat("A", 1<<20)
		c.nc.Write([]byte("a1 NOOP "))
		for i := 0; i < 8; i++ {
			if _, err := c.nc.Write([]byte(big)); err != nil {
				return
			}
		}
	}()
	l := c.readLine()
	if !strings.HasPrefix(l, "* BYE ") || !strings.Contains(l, "line_length") {
		t.Fatalf("got %q", l)
	}
	stillServes(t, ts)
}

func TestLimitLiteralSizeRefusedBeforeContinuation(t *testing.T) {
	ts := startServer(t, func(c *config.Config) { c.Limits.LiteralSize = 1 << 20 })
	ts.addUser("victim", "pw")
	c := ts.dial()
	c.login("victim", "pw")
	lines := c.cmd("a1", "APPEND INBOX {107374182400}")
	mustNotHave(t, lines, `^\+`)
	mustHave(t, lines, `^a1 NO \[TOOBIG\] literal_size`)
	// The connection is still in sync.
	c.expectOK("a2", "NOOP")
	// APPENDLIMIT advertises the same limit (RFC 7889).
	mustHave(t, c.expectOK("a3", "CAPABILITY"), `APPENDLIMIT=1048576`)
	stillServes(t, ts)
}

func TestLimitNestingDepth(t *testing.T) {
	ts := startServer(t)
	ts.addUser("victim", "pw")
	c := ts.dial()
	c.login("victim", "pw")
	c.expectOK("a0", "SELECT INBOX")
	c.send("a1 SEARCH " + strings.Repeat("(", 200000) + "ALL" + strings.Repeat(")", 200000) + "\r\n")
	l := c.readLine()
	if !strings.Contains(l, "BAD") && !strings.Contains(l, "BYE") {
		t.Fatalf("got %q", l)
	}
	if !strings.Contains(l, "nesting_depth") && !strings.Contains(l, "line_length") {
		t.Fatalf("error does not name the limit: %q", l)
	}
	stillServes(t, ts)
}

func TestSearchNotChainIsBounded(t *testing.T) {
	ts := startServer(t)
	ts.addUser("victim", "pw")
	c := ts.dial()
	c.login("victim", "pw")
	c.expectOK("a0", "SELECT INBOX")
	lines := c.cmd("a1", "SEARCH "+strings.Repeat("NOT ", 5000)+"ALL")
	mustHave(t, lines, `^a1 BAD .*nesting_depth`)
	c.expectOK("a2", "NOOP")
}

func TestHTTPOnIMAPPortGetsBye(t *testing.T) {
	ts := startServer(t)
	ts.addUser("victim", "pw")
	c := ts.dial()
	c.send("GET / HTTP/1.1\r\nHost: example.org\r\n\r\n")
	l := c.readLine()
	if !strings.HasPrefix(l, "* BYE") {
		t.Fatalf("got %q", l)
	}
	c.nc.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.br.ReadByte(); err != io.EOF {
		t.Fatalf("connection not closed: %v", err)
	}
	stillServes(t, ts)
}

func TestTLSOnPlainPortGetsBye(t *testing.T) {
	ts := startServer(t)
	ts.addUser("victim", "pw")
	c := ts.dial()
	// A TLS ClientHello starts with 0x16 0x03.
	c.send("\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03")
	l := c.readLine()
	if !strings.HasPrefix(l, "* BYE") || !strings.Contains(l, "TLS") {
		t.Fatalf("got %q", l)
	}
	stillServes(t, ts)
}

func TestLimitCommandsBeforeLogin(t *testing.T) {
	ts := startServer(t, func(c *config.Config) { c.Limits.CommandsBeforeLogin = 5 })
	ts.addUser("victim", "pw")
	c := ts.dial()
	for i := 0; i < 5; i++ {
		c.expectOK("n", "NOOP")
	}
	c.send("n NOOP\r\n")
	l := c.readLine()
	if !strings.HasPrefix(l, "* BYE") || !strings.Contains(l, "commands_before_login") {
		t.Fatalf("got %q", l)
	}
	stillServes(t, ts)
}

func TestLimitLoginTimeout(t *testing.T) {
	ts := startServer(t, func(c *config.Config) { c.Limits.LoginTimeout = config.Duration{Duration: time.Second} })
	ts.addUser("victim", "pw")
	c := ts.dial()
	// A slowloris client sends one byte and stalls.
	c.send("a")
	l := c.readLine()
	if !strings.HasPrefix(l, "* BYE") || !strings.Contains(l, "login_timeout") {
		t.Fatalf("got %q", l)
	}
	stillServes(t, ts)
}

func TestGarbageBeforeLoginGetsBye(t *testing.T) {
	ts := startServer(t)
	ts.addUser("victim", "pw")
	c := ts.dial()
	c.send("\x00\x01\x02\r\n!!!\r\n???\r\n")
	var last string
	for i := 0; i < 4; i++ {
		last = c.readLine()
		if strings.HasPrefix(last, "* BYE") {
			break
		}
	}
	if !strings.HasPrefix(last, "* BYE") {
		t.Fatalf("got %q", last)
	}
	stillServes(t, ts)
}

// After STARTTLS, commands the client pipelined in plaintext must be
// discarded, not executed inside the TLS session (STARTTLS injection).
func TestStartTLSInjection(t *testing.T) {
	ts := startServer(t)
	ts.addUser("victim", "pw")
	c := ts.dial()
	c.send("a1 STARTTLS\r\nb1 LOGIN victim pw\r\n")
	l := c.readLine()
	if !strings.HasPrefix(l, "a1 OK") {
		t.Fatalf("STARTTLS: %q", l)
	}
	tc := tls.Client(c.nc, &tls.Config{InsecureSkipVerify: true})
	if err := tc.Handshake(); err != nil {
		t.Fatal(err)
	}
	c.nc = tc
	c.br.Reset(tc)
	// If b1 had been executed, its reply would arrive now.
	lines := c.cmd("c1", "CAPABILITY")
	for _, l := range lines {
		if strings.HasPrefix(l, "b1 ") {
			t.Fatalf("injected command was executed: %q", l)
		}
	}
	mustNotHave(t, lines, `STARTTLS`)
	mustHave(t, lines, `^\* CAPABILITY .*AUTH=PLAIN`)
	if st := tc.ConnectionState(); st.Version < tls.VersionTLS12 {
		t.Fatalf("TLS version %x", st.Version)
	}
}

func TestOldTLSVersionsRefused(t *testing.T) {
	ts := startServer(t)
	for _, v := range []uint16{tls.VersionTLS10, tls.VersionTLS11} {
		conn, err := tls.Dial("tcp", ts.tlsAddr, &tls.Config{InsecureSkipVerify: true, MinVersion: v, MaxVersion: v})
		if err == nil {
			conn.Close()
			t.Fatalf("TLS version %x accepted", v)
		}
	}
	c := ts.dialTLS()
	mustHave(t, c.expectOK("a1", "CAPABILITY"), `^\* CAPABILITY .*AUTH=PLAIN`)
}

func TestTenWrongPasswordsThenOthersStillServed(t *testing.T) {
	ts := startServer(t)
	ts.addUser("victim", "pw")
	ts.addUser("target", "right")
	c := ts.dial()
	for i := 0; i < 10; i++ {
		lines := c.cmd("a", "LOGIN target wrong")
		mustHave(t, lines, `^a NO \[AUTHENTICATIONFAILED\]`)
		if strings.HasPrefix(lines[len(lines)-1], "* BYE") {
			break
		}
	}
	stillServes(t, ts)
	c2 := ts.dial()
	c2.login("target", "right")
}

func TestMailboxNamesCannotClimbOut(t *testing.T) {
	ts := startServer(t)
	ts.addUser("victim", "pw")
	c := ts.dial()
	c.login("victim", "pw")
	for _, n := range []string{`"../../etc"`, `"a/../../b"`, `"/abs"`, `"./x"`, `"a//b"`, "\"x\x01y\""} {
		lines := c.cmd("a", "CREATE "+n)
		mustHave(t, lines, `^a (NO|BAD) `)
	}
	stillServes(t, ts)
}

func TestLimitConnsPerIPAndUser(t *testing.T) {
	ts := startServer(t, func(c *config.Config) {
		c.Limits.MaxConnsPerIP = 3
		c.Limits.MaxConnsPerUser = 2
	})
	ts.addUser("victim", "pw")
	a, b := ts.dial(), ts.dial()
	a.login("victim", "pw")
	b.login("victim", "pw")
	// A third session of the same user is refused, naming the limit.
	c := ts.dial()
	mustHave(t, c.cmd("x", "LOGIN victim pw"), `^x NO \[LIMIT\] .*max_conns_per_user`)
	// A fourth connection from the same IP gets BYE naming the limit.
	nc, err := net.Dial("tcp", ts.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	line, _ := bufio.NewReader(nc).ReadString('\n')
	if !strings.HasPrefix(line, "* BYE") || !strings.Contains(line, "max_conns_per_ip") {
		t.Fatalf("got %q", line)
	}
	c.nc.Close()
	a.expectOK("y", "LOGOUT")
	// A slot is free again once a connection ends.
	time.Sleep(100 * time.Millisecond)
	d := ts.dial()
	d.login("victim", "pw")
}

// A SEARCH with thousands of sequence ranges still answers (it is not
// turned into an SQL expression deeper than SQLite allows).
func TestSearchManyRanges(t *testing.T) {
	ts := startServer(t)
	ts.addUser("victim", "pw")
	c := ts.dial()
	c.login("victim", "pw")
	for i := 0; i < 5; i++ {
		c.expectOK("a", "APPEND INBOX {12+}\r\nSubject: x\r\n")
	}
	c.expectOK("s", "SELECT INBOX")
	var b strings.Builder
	for i := 1; i < 10000; i += 2 {
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(i))
	}
	mustHave(t, c.expectOK("q", "SEARCH "+b.String()), `^\* SEARCH 1 3 5$`)
	mustHave(t, c.expectOK("u", "UID SEARCH UID "+b.String()+" SUBJECT x"), `^\* SEARCH 1 3 5$`)
}

// search_updates: past it, RETURN (UPDATE) answers the result with an
// untagged NO [NOUPDATE "tag"] naming the limit, and keeps no update
// (RFC 5267 §4.2); the others still work.
func TestLimitSearchUpdates(t *testing.T) {
	ts := startServer(t, func(c *config.Config) { c.Limits.SearchUpdates = 1 })
	ts.addUser("victim", "pw")
	c := ts.dial()
	c.login("victim", "pw")
	c.expectOK("a1", "APPEND INBOX {9+}\r\nSubject:\r\n")
	c.expectOK("a2", "SELECT INBOX")
	mustNotHave(t, c.expectOK("u1", "SEARCH RETURN (UPDATE) SEEN"), `NOUPDATE`)
	lines := c.expectOK("u2", "SEARCH RETURN (UPDATE COUNT) FLAGGED")
	mustHave(t, lines, `^\* NO \[NOUPDATE "u2"\] search_updates limit reached \(max 1\)$`)
	mustHave(t, lines, `^\* ESEARCH \(TAG "u2"\) COUNT 0$`)
	lines = c.expectOK("a3", "STORE 1 +FLAGS (\\Seen \\Flagged)")
	mustHave(t, lines, `^\* ESEARCH \(TAG "u1"\) ADDTO \(0 1\)$`)
	mustNotHave(t, lines, `"u2"`)
	c.expectOK("a4", `CANCELUPDATE "u1"`)
	mustNotHave(t, c.expectOK("u3", "SEARCH RETURN (UPDATE) SEEN"), `NOUPDATE`)
}
