package server_test

import (
	"regexp"
	"testing"
)

// Restart the server and find every mailbox, message, flag, UIDVALIDITY
// and UIDNEXT as they were; a UID is never reused after a restart.
func TestStateSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	ts := startServerAt(t, dir)
	ts.addUser("gina", "pw")
	c := ts.dial()
	c.login("gina", "pw")
	c.expectOK("a1", "CREATE Projects/Alpha")
	for i := 0; i < 3; i++ {
		c.expectOK("a2", "APPEND Projects/Alpha (\\Flagged $Todo) {24+}\r\nSubject: keep me\r\n\r\nhi\r\n")
	}
	c.expectOK("a3", "SELECT Projects/Alpha")
	c.expectOK("a4", "STORE 2 +FLAGS (\\Deleted)")
	c.expectOK("a5", "EXPUNGE")
	c.expectOK("a6", "SUBSCRIBE Projects/Alpha")
	before := c.expectOK("a7", "STATUS Projects/Alpha (MESSAGES UIDNEXT UIDVALIDITY UNSEEN)")
	flagsBefore := c.expectOK("a8", "UID FETCH 1:* (FLAGS)")
	c.expectOK("a9", "LOGOUT")
	ts.stop()

	ts2 := startServerAt(t, dir)
	c2 := ts2.dial()
	c2.login("gina", "pw")
	after := c2.expectOK("b1", "STATUS Projects/Alpha (MESSAGES UIDNEXT UIDVALIDITY UNSEEN)")
	if before[0] != after[0] {
		t.Fatalf("STATUS changed across restart:\n%s\n%s", before[0], after[0])
	}
	mustHave(t, after, `MESSAGES 2 UIDNEXT 4 `)
	mustHave(t, c2.expectOK("b2", `LSUB "" "Projects/*"`), `^\* LSUB \(\) "/" Projects/Alpha$`)
	c2.expectOK("b3", "EXAMINE Projects/Alpha")
	flagsAfter := c2.expectOK("b4", "UID FETCH 1:* (FLAGS)")
	re := regexp.MustCompile(`\\Recent ?`)
	for i := range flagsBefore[:len(flagsBefore)-1] {
		if re.ReplaceAllString(flagsBefore[i], "") != re.ReplaceAllString(flagsAfter[i], "") {
			t.Fatalf("flags changed:\n%q\n%q", flagsBefore, flagsAfter)
		}
	}
	lines := c2.expectOK("b5", "APPEND Projects/Alpha {10+}\r\nSubject: n\r\n")
	mustHave(t, lines, `APPENDUID \d+ 4\]`)
}
