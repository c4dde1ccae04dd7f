package oracle

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"barid/internal/testkit"
)

// dovecotPOP3 starts a private Dovecot (Debian's dovecot-pop3d and
// dovecot-imapd) with IMAP and POP3 on loopback ports, one user "pop"
// with password "pw", mail in maildir (LF line ends on disk, as Dovecot
// stores it). It returns the IMAP and POP3 addresses.
func dovecotPOP3(t *testing.T) (imapAddr, popAddr string) {
	t.Helper()
	if _, err := os.Stat("/usr/lib/dovecot/pop3"); err != nil {
		t.Skip("dovecot-pop3d is not installed: POP3 oracle skipped")
	}
	// Dovecot's POP3 defaults are kept: pop3_uidl_format %08Xu%08Xv,
	// no pop3_lock_session, \Seen set by RETR.
	d := testkit.StartDovecot(t, testkit.DovecotOptions{Users: []string{"pop"}, POP3: true})
	return d.Addr, d.POP3Addr
}

// popMessages are the POP3 oracle's messages: the MIME corpus plus the
// line-end and dot cases POP3 must get right.
func popMessages(t *testing.T) [][]byte {
	files, _ := filepath.Glob(filepath.Join("..", "..", "testdata", "mime", "*.eml"))
	var out [][]byte
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	return append(out,
		[]byte("From: a@example.org\nSubject: bare LF\n\n.dot\n..dots\n.\nlast\n"),
		[]byte("From: a@example.org\r\nSubject: no final line end\r\n\r\nbody"),
		[]byte("From: a@example.org\r\nSubject: header only\r\n"),
		[]byte("From: a@example.org\r\nSubject: mixed\r\n\r\nCRLF\r\nLF\nend\r\n"),
		[]byte("Subject: empty body\r\n\r\n"),
	)
}

// TestPOP3AgainstDovecot stores the same messages in barid and in
// Dovecot (over IMAP APPEND) and compares, byte for byte, what their
// POP3 servers answer to STAT, LIST, RETR and TOP, and checks that both
// UIDLs are Dovecot's default pop3_uidl_format %08Xu%08Xv of the
// server's own IMAP UID and UIDVALIDITY (which Dovecot 2.3 writes in
// lower-case hex).
func TestPOP3AgainstDovecot(t *testing.T) {
	dIMAP, dPOP := dovecotPOP3(t)
	s := testkit.Start(t, testkit.WithPOP3())
	s.AddUser("pop", "pw")
	msgs := popMessages(t)
	type server struct {
		name     string
		imap     *testkit.Conn
		pop      *testkit.POP3Conn
		validity uint32
	}
	servers := []*server{{name: "barid", imap: s.Dial()}, {name: "dovecot", imap: testkit.DialAddr(t, dIMAP)}}
	for _, sv := range servers {
		sv.imap.Login("pop", "pw")
		for _, m := range msgs {
			sv.imap.Send(fmt.Sprintf("ap APPEND INBOX {%d+}\r\n%s\r\n", len(m), m))
			if l := sv.imap.Until("ap"); !strings.HasPrefix(l[len(l)-1], "ap OK") {
				t.Fatalf("%s APPEND: %q", sv.name, l)
			}
		}
		l := sv.imap.ExpectOK("st", "STATUS INBOX (UIDVALIDITY)")
		v, _ := strconv.ParseUint(regexp.MustCompile(`UIDVALIDITY (\d+)`).FindStringSubmatch(strings.Join(l, " "))[1], 10, 32)
		sv.validity = uint32(v)
	}
	servers[0].pop = s.DialPOP3()
	servers[1].pop = testkit.DialPOP3Addr(t, dPOP)
	for _, sv := range servers {
		sv.pop.Login("pop", "pw")
	}
	both := func(cmd string, multi bool) {
		t.Helper()
		var got [2]string
		for i, sv := range servers {
			if multi {
				st, body := sv.pop.Multi(cmd)
				got[i] = st + "\n" + body
			} else {
				got[i] = sv.pop.Cmd(cmd)
			}
		}
		if got[0] != got[1] {
			t.Errorf("%s:\nbarid   %q\ndovecot %q", cmd, clipped(got[0]), clipped(got[1]))
		}
	}
	both("STAT", false)
	both("LIST", true)
	for i := 1; i <= len(msgs); i++ {
		both(fmt.Sprintf("LIST %d", i), false)
		both(fmt.Sprintf("RETR %d", i), true)
		both(fmt.Sprintf("TOP %d 0", i), true)
		both(fmt.Sprintf("TOP %d 3", i), true)
	}
	for _, sv := range servers {
		st, body := sv.pop.Multi("UIDL")
		if st != "+OK" {
			t.Fatalf("%s UIDL: %q", sv.name, st)
		}
		var want strings.Builder
		for i := 1; i <= len(msgs); i++ {
			fmt.Fprintf(&want, "%d %08x%08x\r\n", i, i, sv.validity)
		}
		if body != want.String() {
			t.Errorf("%s UIDL is not %%08Xu%%08Xv of its IMAP UID and UIDVALIDITY:\n%q\nwant\n%q", sv.name, clipped(body), clipped(want.String()))
		}
	}
	// Errors and the DELE/RSET bookkeeping, worded as Dovecot words
	// them. (A TOP without its line count differs on purpose: barid
	// says what is missing, Dovecot "-ERR Noise after message number".)
	for _, cmd := range []string{"RETR 0", "RETR 9999", "LIST abc", "DELE 2", "DELE 2", "RETR 2", "STAT", "LIST 2", "RSET", "STAT", "NOOP"} {
		both(cmd, false)
	}
	for _, sv := range servers {
		sv.pop.OK("QUIT")
	}
	t.Logf("%d messages: STAT, LIST, RETR, TOP 0 and TOP 3 identical to Dovecot's", len(msgs))
}

func clipped(s string) string {
	if len(s) > 600 {
		return s[:600] + "..."
	}
	return s
}
