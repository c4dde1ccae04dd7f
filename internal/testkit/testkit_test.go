package testkit

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// TestSession drives a short session through the kit: the server it
// starts answers, Cmd reads to the tagged line, literals come back
// inline, and a wrong password is refused.
func TestSession(t *testing.T) {
	s := Start(t)
	s.AddUser("alice", "secret-pw")
	c := s.Dial()
	lines := c.Cmd("a0", "LOGIN alice wrong")
	if !strings.HasPrefix(lines[len(lines)-1], "a0 NO") {
		t.Fatalf("wrong password accepted: %q", lines)
	}
	c.Login("alice", "secret-pw")
	msg := Message("kit")
	c.Send(fmt.Sprintf("a1 APPEND INBOX {%d}\r\n", len(msg)))
	if l := c.ReadLine(); !strings.HasPrefix(l, "+") {
		t.Fatalf("no continuation: %q", l)
	}
	c.Send(msg + "\r\n")
	MustHave(t, c.Until("a1"), `^a1 OK \[APPENDUID \d+ 1\]`)
	c.ExpectOK("a2", "SELECT INBOX")
	lines = c.ExpectOK("a3", "FETCH 1 BODY.PEEK[]")
	MustHave(t, lines, `^\* 1 FETCH \(BODY\[\] \{\d+\}`)
	if !strings.Contains(strings.Join(lines, "\n"), "Body of kit.") {
		t.Fatalf("literal not read inline: %q", lines)
	}
	MustNotHave(t, lines, `BAD`)
	tc := s.DialTLS()
	tc.Login("alice", "secret-pw")
}

func TestLiteralSuffix(t *testing.T) {
	for _, tc := range []struct {
		line string
		n    int
		ok   bool
	}{
		{"* 1 FETCH (BODY[] {12}", 12, true},
		{"* 1 FETCH (BINARY[] ~{3}", 3, true},
		{"a1 APPEND x {5+}", 5, true},
		{"* OK {}", 0, false},
		{"* OK {1a}", 0, false},
		{"* OK done", 0, false},
	} {
		n, ok := LiteralSuffix(tc.line)
		if n != tc.n || ok != tc.ok {
			t.Errorf("LiteralSuffix(%q) = %d, %v; want %d, %v", tc.line, n, ok, tc.n, tc.ok)
		}
	}
}

func TestQuote(t *testing.T) {
	if got := Quote(`a "b" \c`); got != `"a \"b\" \\c"` {
		t.Errorf("Quote = %s", got)
	}
}

// TestDovecot starts the oracle with POP3 and LMTP and reads each
// greeting (skips where Dovecot is not installed).
func TestDovecot(t *testing.T) {
	d := StartDovecot(t, DovecotOptions{Users: []string{"u1"}, POP3: true, LMTP: true})
	c := DialAddr(t, d.Addr)
	c.Login("u1", "pw")
	for _, a := range []string{d.POP3Addr, d.LMTPAddr} {
		nc, err := net.DialTimeout("tcp", a, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		nc.SetReadDeadline(time.Now().Add(5 * time.Second))
		line, err := bufio.NewReader(nc).ReadString('\n')
		nc.Close()
		if err != nil || !(strings.HasPrefix(line, "+OK") || strings.HasPrefix(line, "220")) {
			t.Fatalf("greeting on %s: %q %v", a, line, err)
		}
	}
}

// TestOpenData: a data folder opened without listeners keeps a message
// through the store and reads its bytes back through the tiered blobs,
// and a second data folder is a separate store.
func TestOpenData(t *testing.T) {
	ctx := context.Background()
	d := OpenData(t)
	other := OpenData(t)
	if d.Dir == other.Dir {
		t.Fatal("two OpenData calls share a folder")
	}
	acct, err := d.Store.CreateAccount(ctx, "kit", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.Store.Account(ctx, "kit"); err == nil {
		t.Fatal("the second store has the first one's account")
	}
	w, err := d.Blobs.Create(ctx)
	if err != nil {
		t.Fatal(err)
	}
	msg := Message("data")
	io.WriteString(w, msg)
	id, _, err := w.Commit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	r, err := d.Blobs.Open(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	b, err := io.ReadAll(io.NewSectionReader(r, 0, r.Size()))
	if err != nil || string(b) != msg {
		t.Fatalf("read back %q, %v", b, err)
	}
	if acct.ID == 0 || d.Cfg.DataDir != d.Dir {
		t.Fatalf("account %d, config folder %q, folder %q", acct.ID, d.Cfg.DataDir, d.Dir)
	}
}

// TestFakeServer: the scripted peer greets, reads tagged commands and
// answers what the script writes.
func TestFakeServer(t *testing.T) {
	addr := FakeServer(t, "* OK fake\r\n", func(r *bufio.Reader, w io.Writer) {
		for {
			tag, rest := ReadCommand(r)
			if tag == "" {
				return
			}
			io.WriteString(w, tag+" OK "+rest+"\r\n")
		}
	})
	c := DialAddr(t, addr) // reads and checks the greeting
	MustHave(t, c.Cmd("x1", "NOOP now"), `^x1 OK NOOP now$`)
}
