package pop3_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"

	"barid/internal/config"
	"barid/internal/deliver"
	"barid/internal/notify"
	"barid/internal/store"
	"barid/internal/testkit"
)

// An over-long command line ends the connection with an error naming
// line_length, without the server buffering it all.
func TestLineLengthLimit(t *testing.T) {
	t.Parallel()
	f := start(t, func(c *config.Config) { c.Limits.LineLength = 1024 })
	c := f.DialPOP3()
	c.Send("USER " + strings.Repeat("a", 5000))
	if got := c.Line(); got != "-ERR line_length limit exceeded (max 1024 bytes)" {
		t.Errorf("long line = %q", got)
	}
	if _, err := c.RawLine(); err != io.EOF {
		t.Errorf("connection still open after the limit: %v", err)
	}
	// The same bound on a SASL response line.
	c = f.DialPOP3()
	if got := c.Cmd("AUTH PLAIN"); got != "+ " {
		t.Fatalf("AUTH PLAIN = %q", got)
	}
	c.Send(strings.Repeat("A", 4000) + "\r\n")
	if got := c.Line(); !strings.Contains(got, "line_length") {
		t.Errorf("long SASL line = %q", got)
	}
}

// commands_before_login bounds what an unauthenticated client may send
// (CAPA, failed USER/PASS, garbage), and names itself.
func TestCommandsBeforeLogin(t *testing.T) {
	t.Parallel()
	f := start(t, func(c *config.Config) { c.Limits.CommandsBeforeLogin = 5 })
	c := f.DialPOP3()
	c.Send(strings.Repeat("NOOP\r\n", 5) + "CAPA\r\n")
	for i := 0; i < 5; i++ {
		if got := c.Line(); !strings.HasPrefix(got, "-ERR NOOP is not allowed") {
			t.Fatalf("command %d = %q", i, got)
		}
	}
	if got := c.Line(); got != "-ERR commands_before_login limit exceeded (max 5)" {
		t.Errorf("sixth command = %q", got)
	}
}

// Bad base64 in AUTH (initial response or continuation) is refused with
// [AUTH]; the session stays usable.
func TestBadBase64(t *testing.T) {
	t.Parallel()
	f := start(t)
	c := f.DialPOP3()
	if got := c.Cmd("AUTH PLAIN !!!notbase64"); got != "-ERR [AUTH] Invalid base64 in the initial response" {
		t.Errorf("bad initial response = %q", got)
	}
	c.Cmd("AUTH LOGIN")
	if got := c.Cmd("%%%"); got != "-ERR [AUTH] Invalid base64 in the SASL response" {
		t.Errorf("bad continuation = %q", got)
	}
	if got := c.Cmd("AUTH PLAIN " + b64("\x00\x00\x00")); !strings.HasPrefix(got, "-ERR [AUTH]") {
		t.Errorf("garbage PLAIN message = %q", got)
	}
	c.Login(user, pass)
}

// Ten thousand DELEs pipelined in one write on a 10,000-message
// maildrop, all expunged at QUIT in one transaction.
func TestTenThousandDeles(t *testing.T) {
	t.Parallel()
	const n = 10000
	f := start(t)
	msg := "Subject: x\r\n\r\nx\r\n"
	// Through the one ingest path, directly (IMAP APPEND of 10,000
	// messages takes long under -race on a shared machine).
	ctx := context.Background()
	dl := &deliver.Deliverer{Store: f.Store(), Blobs: f.App.Data().Blobs, Bus: notify.New(), InlineMax: 64 << 10}
	mb, err := f.Store().Mailbox(ctx, f.account(), "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	p, err := dl.Prepare(ctx, strings.NewReader(msg), 0, store.Flags{}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	batch := make([]*deliver.Prepared, 1000)
	for i := range batch {
		batch[i] = p
	}
	for i := 0; i < n/len(batch); i++ {
		if _, err := dl.Commit(ctx, mb.ID, batch); err != nil {
			t.Fatal(err)
		}
	}
	c := f.pop()
	// A safety net for a hung server, not a speed check: the QUIT's
	// expunge of 10,000 messages took up to 69 s under -race on a
	// machine loaded thirty times over its two cores.
	c.Timeout = 5 * time.Minute
	if got := c.Cmd("STAT"); got != fmt.Sprintf("+OK %d %d", n, n*len(msg)) {
		t.Fatalf("STAT = %q", got)
	}
	var dele strings.Builder
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&dele, "DELE %d\r\n", i)
	}
	start := time.Now()
	go c.NC.Write([]byte(dele.String())) // replies are read meanwhile
	for i := 1; i <= n; i++ {
		if got := c.Line(); got != "+OK Marked to be deleted." {
			t.Fatalf("DELE %d = %q", i, got)
		}
	}
	if got := c.Cmd("STAT"); got != "+OK 0 0" {
		t.Errorf("STAT after DELEs = %q", got)
	}
	if got := c.Cmd("QUIT"); got != "+OK Logging out, messages deleted." {
		t.Errorf("QUIT = %q", got)
	}
	t.Logf("%d DELEs and the QUIT expunge in %v", n, time.Since(start).Round(time.Millisecond))
	testkit.MustHave(t, f.imap.ExpectOK("s", "STATUS INBOX (MESSAGES)"), `MESSAGES 0\)`)
}

// A client that vanishes in the middle of a RETR of a large message:
// the session ends (no goroutine left), the lock is released, its DELE
// is not applied and \Seen is not set (the RETR never completed).
// Not parallel: it counts the server's connection goroutines.
func TestVanishMidRETR(t *testing.T) {
	f := start(t)
	big := "Subject: big\r\n\r\n" + strings.Repeat(strings.Repeat("x", 998)+"\r\n", 8000) // 8 MB
	f.add(big)
	f.add(testkit.Message("small"))
	for i := 0; i < 3; i++ {
		c := f.pop()
		c.OK("DELE 2")
		c.Send("RETR 1\r\n")
		buf := make([]byte, 4096)
		if _, err := io.ReadFull(c.BR, buf); err != nil {
			t.Fatal(err)
		}
		if tc, ok := c.NC.(*net.TCPConn); ok {
			tc.SetLinger(0) // a reset, as from a client that died
		}
		c.NC.Close()
		waitNoSessions(t)
	}
	c := f.pop() // the lock was released
	if got := c.Cmd("STAT"); !strings.HasPrefix(got, "+OK 2 ") {
		t.Errorf("STAT after the vanished sessions = %q", got)
	}
	c.OK("QUIT")
	if fl := f.flags(); len(fl) != 2 || strings.Contains(strings.Join(fl, " "), `\Seen`) {
		t.Errorf("flags after an interrupted RETR: %v", fl)
	}
}

// waitNoSessions waits (at most 10 s) until no goroutine serves a POP3
// connection.
func waitNoSessions(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for popGoroutines() > 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := popGoroutines(); n > 0 {
		buf := make([]byte, 1<<20)
		t.Fatalf("%d POP3 connection goroutines left:\n%s", n, buf[:runtime.Stack(buf, true)])
	}
}

// popGoroutines counts goroutines serving a POP3 connection.
func popGoroutines() int {
	buf := make([]byte, 4<<20)
	buf = buf[:runtime.Stack(buf, true)]
	return strings.Count(string(buf), "barid/internal/pop3.(*conn).serve(")
}
