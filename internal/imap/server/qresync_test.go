package server_test

import (
	"fmt"
	"regexp"
	"testing"
)

// QRESYNC (RFC 7162 §3.2.5): a client that comes back with the
// UIDVALIDITY and modseq it last saw is told what vanished and which
// flags changed, inside SELECT, instead of refetching everything.
func TestQresyncSelect(t *testing.T) {
	ts := startServer(t)
	ts.addUser("quinn", "pw")
	a := ts.dial()
	a.login("quinn", "pw")
	for i := 1; i <= 5; i++ {
		a.expectOK("ap", fmt.Sprintf("APPEND INBOX {12+}\r\nSubject: %d\r\n", i))
	}
	st := a.expectOK("s", "STATUS INBOX (UIDVALIDITY HIGHESTMODSEQ)")
	m := regexp.MustCompile(`UIDVALIDITY (\d+) HIGHESTMODSEQ (\d+)`).FindStringSubmatch(st[0])
	if m == nil {
		t.Fatalf("status: %q", st)
	}
	uidv, modseq := m[1], m[2]
	// Another client changes things while "we" are away.
	b := ts.dial()
	b.login("quinn", "pw")
	b.expectOK("b1", "SELECT INBOX")
	b.expectOK("b2", "STORE 2 +FLAGS (\\Flagged)")
	b.expectOK("b3", "STORE 4 +FLAGS (\\Deleted)")
	b.expectOK("b4", "EXPUNGE")
	a.expectOK("e", "ENABLE QRESYNC")
	lines := a.expectOK("q", fmt.Sprintf("SELECT INBOX (QRESYNC (%s %s))", uidv, modseq))
	mustHave(t, lines, `^\* 4 EXISTS$`)
	mustHave(t, lines, `^\* VANISHED \(EARLIER\) 4$`)
	mustHave(t, lines, `^\* 2 FETCH \(UID 2 FLAGS \(\\Flagged.*\) MODSEQ \(\d+\)\)$`)
	mustNotHave(t, lines, `FETCH \(UID [135] `)
	// With known UIDs, VANISHED only covers those.
	lines = a.expectOK("q2", fmt.Sprintf("SELECT INBOX (QRESYNC (%s %s 1:3))", uidv, modseq))
	mustNotHave(t, lines, `VANISHED`)
	mustHave(t, lines, `^\* OK \[CLOSED\]`)
	// A wrong UIDVALIDITY gets a plain SELECT.
	lines = a.expectOK("q3", fmt.Sprintf("SELECT INBOX (QRESYNC (1 %s))", modseq))
	mustNotHave(t, lines, `VANISHED|FETCH`)
	// Expunges by others arrive as VANISHED, not EXPUNGE.
	b.expectOK("b5", "STORE 1 +FLAGS (\\Deleted)")
	b.expectOK("b6", "EXPUNGE")
	lines = a.expectOK("n", "NOOP")
	mustHave(t, lines, `^\* VANISHED 1$`)
	mustNotHave(t, lines, `EXPUNGE`)
	// QRESYNC in SELECT without ENABLE is a client error.
	c := ts.dial()
	c.login("quinn", "pw")
	mustHave(t, c.cmd("x", fmt.Sprintf("SELECT INBOX (QRESYNC (%s 1))", uidv)), `^x BAD .*ENABLE QRESYNC`)
}
