package pop3_test

import (
	"strings"
	"testing"
	"time"

	"barid/internal/testkit"
)

// One mailbox used by IMAP and POP3 at once: UIDLs do not change when
// IMAP changes flags (or expunges other messages), and the expunge a
// POP3 QUIT makes reaches an IMAP client in IDLE at once, as does the
// \Seen its RETR set.
func TestIMAPAndPOP3(t *testing.T) {
	t.Parallel()
	f := start(t)
	for _, s := range []string{"one", "two", "three"} {
		f.add(testkit.Message(s))
	}
	c := f.pop()
	_, before := c.Multi("UIDL")
	c.OK("QUIT")

	// IMAP changes flags and expunges message 1.
	f.imap.ExpectOK("s", "SELECT INBOX")
	f.imap.ExpectOK("f", `STORE 2:3 +FLAGS (\Flagged $Label1)`)
	f.imap.ExpectOK("d", `STORE 1 +FLAGS (\Deleted)`)
	f.imap.ExpectOK("e", "EXPUNGE")

	c = f.pop()
	_, after := c.Multi("UIDL")
	// Same unique-ids for the messages left (renumbered from 1).
	bl := strings.Split(strings.TrimSuffix(before, "\r\n"), "\r\n")
	al := strings.Split(strings.TrimSuffix(after, "\r\n"), "\r\n")
	if len(al) != 2 || strings.Fields(al[0])[1] != strings.Fields(bl[1])[1] || strings.Fields(al[1])[1] != strings.Fields(bl[2])[1] {
		t.Fatalf("UIDL before %q, after IMAP flag changes and an expunge %q", bl, al)
	}

	// A second IMAP client idles on INBOX while POP3 deletes.
	idler := f.Dial()
	idler.Login(user, pass)
	idler.ExpectOK("s", "SELECT INBOX")
	idler.Send("i IDLE\r\n")
	if l := idler.ReadLine(); !strings.HasPrefix(l, "+ ") {
		t.Fatalf("IDLE: %q", l)
	}
	c.Multi("RETR 2")
	c.OK("DELE 1")
	quit := time.Now()
	if got := c.Cmd("QUIT"); got != "+OK Logging out, messages deleted." {
		t.Fatalf("QUIT = %q", got)
	}
	idler.Timeout = 5 * time.Second
	var got []string
	for len(got) < 2 {
		got = append(got, idler.ReadLine())
	}
	t.Logf("IDLE got %q %v after QUIT", got, time.Since(quit).Round(time.Millisecond))
	testkit.MustHave(t, got, `^\* 1 EXPUNGE$`)
	testkit.MustHave(t, got, `^\* \d FETCH \(.*FLAGS \(.*\\Seen.*\)\)$`)
	idler.Send("DONE\r\n")
	idler.Until("i")
	if fl := f.flags(); len(fl) != 1 || !strings.Contains(fl[0], `\Seen`) || !strings.Contains(fl[0], `\Flagged`) {
		t.Errorf("INBOX after the POP3 session: %v", fl)
	}
}
