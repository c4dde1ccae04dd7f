package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"barid/internal/imap/server"
	"barid/internal/testkit"
)

// adminRun runs "barid ARGS" in-process.
func adminRun(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

// The control socket of a running server: mode 0600; "barid who" lists
// the IMAP and POP3 sessions with user, protocol and selected mailbox;
// an expunge made with the CLI reaches a client idling on the mailbox
// (through the server and its change bus); "barid kick" ends one user's
// sessions with BYE and -ERR and leaves the others; the socket speaks
// one JSON answer per line and refuses nonsense; it is gone after
// shutdown and "who" then says no server runs.
func TestControlSocketWhoKickExpunge(t *testing.T) {
	s := testkit.Start(t, testkit.WithoutTLSListener(), testkit.WithPOP3())
	s.AddUser("alice", "pw")
	s.AddUser("bob", "pw")
	sock := filepath.Join(s.Dir, "control.sock")
	fi, err := os.Stat(sock)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode()&os.ModeSocket == 0 || fi.Mode().Perm() != 0o600 {
		t.Fatalf("control socket mode %v, want a socket with 0600", fi.Mode())
	}

	alice := testkit.DialAddr(t, s.Addr)
	alice.Login("alice", "pw")
	// An old message in Trash and a new one: BEFORE 30-days-ago takes
	// only the old one.
	for _, date := range []string{"01-Jan-2020 10:00:00 +0000", time.Now().Format("02-Jan-2006 15:04:05 -0700")} {
		msg := "Subject: " + date + "\r\n\r\nx\r\n"
		alice.Send(fmt.Sprintf("A APPEND Trash \"%s\" {%d+}\r\n%s\r\n", date, len(msg), msg))
		if l := alice.Until("A"); !strings.HasPrefix(l[len(l)-1], "A OK") {
			t.Fatalf("append: %q", l)
		}
	}
	alice.ExpectOK("S", "SELECT Trash")
	bob := testkit.DialAddr(t, s.Addr)
	bob.Login("bob", "pw")
	anon := testkit.DialAddr(t, s.Addr)
	_ = anon
	pop := dialPOP3(t, s.POP3Addr)
	pop.cmd(t, "USER alice", "+OK")
	pop.cmd(t, "PASS pw", "+OK")

	code, out, errs := adminRun(t, "who", "--data", s.Dir, "--json")
	if code != 0 {
		t.Fatalf("who: %d %s", code, errs)
	}
	var sessions []server.SessionInfo
	if err := json.Unmarshal([]byte(out), &sessions); err != nil {
		t.Fatalf("who --json: %v: %s", err, out)
	}
	var got []string
	for _, se := range sessions {
		if se.Since.IsZero() || se.Remote == "" || se.ID == 0 {
			t.Errorf("incomplete session %+v", se)
		}
		got = append(got, se.Protocol+":"+se.User+":"+se.Mailbox)
	}
	slices.Sort(got)
	want := []string{"imap::", "imap:alice:Trash", "imap:bob:", "pop3:alice:"}
	if !slices.Equal(got, want) {
		t.Fatalf("who: %v, want %v", got, want)
	}
	if code, out, _ := adminRun(t, "who", "--data", s.Dir); code != 0 || !strings.Contains(out, "alice") || !strings.HasPrefix(out, "ID") {
		t.Errorf("who (text): %d %q", code, out)
	}

	// An expunge by the CLI goes through the server: the idling client
	// hears of it.
	alice.Send("I IDLE\r\n")
	if l := alice.ReadLine(); !strings.HasPrefix(l, "+") {
		t.Fatalf("idle: %q", l)
	}
	code, out, errs = adminRun(t, "expunge", "--data", s.Dir, "--json", "alice", "Trash", "BEFORE", "30-days-ago")
	if code != 0 || !strings.Contains(out, `"via": "server"`) || !strings.Contains(out, `"expunged": [`+"\n    1\n  ]") {
		t.Fatalf("expunge: %d %s %s", code, out, errs)
	}
	if l := alice.ReadLine(); l != "* 1 EXPUNGE" {
		t.Fatalf("idling client got %q, want * 1 EXPUNGE", l)
	}
	alice.Send("DONE\r\n")
	alice.Until("I")
	// And a mailbox created through the server is listed at once.
	if code, _, errs := adminRun(t, "mailbox", "create", "--data", s.Dir, "alice", "Lists/go"); code != 0 {
		t.Fatalf("create: %s", errs)
	}
	if l := alice.Cmd("L", `LIST "" "Lists/*"`); len(l) != 2 || !strings.HasSuffix(l[0], ` Lists/go`) {
		t.Fatalf("LIST after create: %q", l)
	}

	// kick ends alice's sessions (IMAP and POP3), not bob's.
	code, out, errs = adminRun(t, "kick", "--data", s.Dir, "ALICE", "--json")
	if code != 0 || !strings.Contains(out, `"kicked": 2`) {
		t.Fatalf("kick: %d %s %s", code, out, errs)
	}
	if l := alice.ReadLine(); l != "* BYE Disconnected by the administrator" {
		t.Errorf("kicked IMAP session got %q", l)
	}
	if l := pop.line(t); l != "-ERR [SYS/TEMP] Disconnected by the administrator" {
		t.Errorf("kicked POP3 session got %q", l)
	}
	bob.ExpectOK("N", "NOOP")
	// A session in IDLE is told at once.
	bob.Send("I IDLE\r\n")
	if l := bob.ReadLine(); !strings.HasPrefix(l, "+") {
		t.Fatalf("idle: %q", l)
	}
	if code, out, _ := adminRun(t, "kick", "--data", s.Dir, "bob", "--text", "Maintenance, back in 5 minutes"); code != 0 || out != "kicked 1 sessions of bob\n" {
		t.Fatalf("kick bob: %d %q", code, out)
	}
	if l := bob.ReadLine(); l != "* BYE Maintenance, back in 5 minutes" {
		t.Errorf("kicked IDLE session got %q", l)
	}

	// The protocol: one JSON line per request; errors are answers.
	nc, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	br := bufio.NewReader(nc)
	for _, tc := range []struct{ req, want string }{
		{`{"op":"ping"}`, `{"ok":true}`},
		{`{"op":"nonsense"}`, `{"ok":false,"error":"unknown op \"nonsense\""}`},
		{`not json`, `{"ok":false,"error":"request is not a JSON object: invalid character 'o' in literal null (expecting 'u')"}`},
		{`{"op":"kick"}`, `{"ok":false,"error":"kick needs a user"}`},
		{`{"op":"mailbox.delete","user":"alice","mailbox":"INBOX"}`, `{"ok":false,"error":"INBOX can't be deleted"}`},
		{`{"op":"kick","user":"nobody"}`, `{"ok":true}`},
	} {
		fmt.Fprintf(nc, "%s\n", tc.req)
		nc.SetReadDeadline(time.Now().Add(10 * time.Second))
		l, err := br.ReadString('\n')
		if err != nil || strings.TrimSpace(l) != tc.want {
			t.Errorf("%s: got %q (%v), want %s", tc.req, l, err, tc.want)
		}
	}
	// A request line over MaxRequestLine is refused, naming the limit,
	// and the connection ends.
	fmt.Fprintf(nc, "{\"op\":\"%s\"}\n", strings.Repeat("x", 1<<20))
	nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	if l, _ := br.ReadString('\n'); !strings.Contains(l, "MaxRequestLine") {
		t.Errorf("over-long request: %q", l)
	}
	if _, err := br.ReadString('\n'); err == nil {
		t.Error("connection still open after an over-long request")
	}
	nc.Close()

	s.Stop()
	if _, err := os.Stat(sock); !os.IsNotExist(err) {
		t.Errorf("control socket left after shutdown: %v", err)
	}
	if code, _, errs := adminRun(t, "who", "--data", s.Dir); code != 1 || !strings.Contains(errs, "no running server") {
		t.Errorf("who without a server: %d %q", code, errs)
	}
}

type pop3Conn struct {
	nc net.Conn
	br *bufio.Reader
}

func dialPOP3(t *testing.T, addr string) *pop3Conn {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	c := &pop3Conn{nc: nc, br: bufio.NewReader(nc)}
	if l := c.line(t); !strings.HasPrefix(l, "+OK") {
		t.Fatalf("pop3 greeting %q", l)
	}
	return c
}

func (c *pop3Conn) line(t *testing.T) string {
	t.Helper()
	c.nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	l, err := c.br.ReadString('\n')
	if err != nil {
		t.Fatalf("pop3 read: %v", err)
	}
	return strings.TrimSuffix(l, "\r\n")
}

func (c *pop3Conn) cmd(t *testing.T, cmd, want string) {
	t.Helper()
	fmt.Fprintf(c.nc, "%s\r\n", cmd)
	if l := c.line(t); !strings.HasPrefix(l, want) {
		t.Fatalf("pop3 %s: %q", cmd, l)
	}
}
