package pop3_test

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"barid/internal/testkit"
)

const user, pass = "popper@example.org", "pop secret"

// fixture is a whole barid with POP3 on, one account, and an IMAP
// connection logged in as it.
type fixture struct {
	*testkit.Server
	imap *testkit.Conn
}

func start(t *testing.T, opts ...testkit.Option) *fixture {
	t.Helper()
	s := testkit.Start(t, append([]testkit.Option{testkit.WithPOP3()}, opts...)...)
	s.AddUser(user, pass)
	c := s.Dial()
	c.Login(user, pass)
	return &fixture{Server: s, imap: c}
}

// account is the fixture account's id.
func (f *fixture) account() int64 {
	f.T.Helper()
	a, err := f.Store().Account(context.Background(), user)
	if err != nil {
		f.T.Fatal(err)
	}
	return a.ID
}

// add appends a message to INBOX over IMAP and returns its UID.
func (f *fixture) add(msg string) uint32 {
	f.T.Helper()
	f.imap.Send(fmt.Sprintf("ap APPEND INBOX {%d+}\r\n%s\r\n", len(msg), msg))
	lines := f.imap.Until("ap")
	m := regexp.MustCompile(`APPENDUID \d+ (\d+)`).FindStringSubmatch(lines[len(lines)-1])
	if m == nil {
		f.T.Fatalf("APPEND: %q", lines)
	}
	n, _ := strconv.Atoi(m[1])
	return uint32(n)
}

// uidValidity is INBOX's UIDVALIDITY as IMAP reports it.
func (f *fixture) uidValidity() uint32 {
	f.T.Helper()
	lines := f.imap.ExpectOK("st", "STATUS INBOX (UIDVALIDITY)")
	m := regexp.MustCompile(`UIDVALIDITY (\d+)`).FindStringSubmatch(strings.Join(lines, "\n"))
	if m == nil {
		f.T.Fatalf("STATUS: %q", lines)
	}
	n, _ := strconv.ParseUint(m[1], 10, 32)
	return uint32(n)
}

// flags returns "uid:flags" of every INBOX message, over IMAP.
func (f *fixture) flags() []string {
	f.T.Helper()
	f.imap.ExpectOK("ex", "EXAMINE INBOX")
	lines := f.imap.ExpectOK("fl", "UID FETCH 1:* (FLAGS)")
	re := regexp.MustCompile(`UID (\d+) FLAGS \(([^)]*)\)|FLAGS \(([^)]*)\) UID (\d+)`)
	var out []string
	for _, l := range lines {
		if m := re.FindStringSubmatch(l); m != nil {
			uid, fl := m[1], m[2]
			if uid == "" {
				uid, fl = m[4], m[3]
			}
			// \Recent belongs to this EXAMINE, not to the message.
			fl = strings.Join(strings.Fields(strings.ReplaceAll(fl, `\Recent`, "")), " ")
			out = append(out, uid+":"+fl)
		}
	}
	f.imap.ExpectOK("cl", "CLOSE")
	return out
}

// pop logs in a new POP3 session on the plain listener (loopback:
// USER/PASS allowed without TLS, as in IMAP).
func (f *fixture) pop() *testkit.POP3Conn {
	f.T.Helper()
	c := f.DialPOP3()
	c.Login(user, pass)
	return c
}
