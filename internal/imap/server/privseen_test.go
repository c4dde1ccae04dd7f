package server_test

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
)

// TestPrivateSeen: on a folder bob shares with alice and carol, each
// user's \Seen is their own (Dovecot's INDEXPVT): STORE, FETCH FLAGS,
// SEARCH SEEN/UNSEEN, STATUS UNSEEN, SELECT's [UNSEEN] and CONDSTORE
// MODSEQ follow the user's \Seen; bob's (the owner's) is the message's;
// other flags stay shared; a private change reaches the user's other
// sessions and no one else's.
func TestPrivateSeen(t *testing.T) {
	ts := startServer(t)
	for _, u := range []string{"bob", "alice", "carol"} {
		ts.addUser(u, "pw")
	}
	bob := ts.dial()
	bob.login("bob", "pw")
	bob.expectOK("b1", "CREATE F")
	for i := 1; i <= 4; i++ {
		body := fmt.Sprintf("Subject: m%d\r\n\r\nhi\r\n", i)
		bob.expectOK("b2", fmt.Sprintf("APPEND F {%d+}\r\n%s", len(body), body))
	}
	bob.expectOK("b3", "SETACL F alice lrswit")
	bob.expectOK("b4", "SETACL F carol lrswi")
	bob.expectOK("b5", "SELECT F")
	bob.expectOK("b6", `STORE 4 +FLAGS (\Seen)`) // the owner's

	const F = `"Other Users/bob/F"`
	alice := ts.dial()
	alice.login("alice", "pw")
	alice2 := ts.dial()
	alice2.login("alice", "pw")
	carol := ts.dial()
	carol.login("carol", "pw")

	// Nobody but bob has seen message 4.
	mustHave(t, alice.expectOK("a0", "STATUS "+F+" (MESSAGES UNSEEN)"), `UNSEEN 4\)`)
	sel := alice.expectOK("a1", "SELECT "+F+" (CONDSTORE)")
	mustHave(t, sel, `OK \[UNSEEN 1\]`)
	hms := modseqOf(t, sel, `HIGHESTMODSEQ (\d+)`)
	mustNotHave(t, alice.expectOK("a2", "FETCH 1:* (FLAGS)"), `\\Seen`)
	alice2.expectOK("a2s", "SELECT "+F)
	carol.expectOK("c1", "SELECT "+F)

	// alice marks 1 and 2; carol 3.
	got := alice.expectOK("a3", `STORE 1:2 +FLAGS (\Seen)`)
	mustHave(t, got, `^\* 1 FETCH \(UID 1 FLAGS \(\\Seen\) MODSEQ \(\d+\)\)`)
	if m := modseqOf(t, got, `^\* 1 FETCH .*MODSEQ \((\d+)\)`); m <= hms {
		t.Fatalf("private \\Seen gave MODSEQ %d, not above %d", m, hms)
	}
	carol.expectOK("c2", `STORE 3 +FLAGS.SILENT (\Seen)`)
	// CONDSTORE: the change is a change for alice only
	since := fmt.Sprintf("FETCH 1:* (FLAGS) (CHANGEDSINCE %d)", hms)
	got = alice.expectOK("m1", since)
	mustHave(t, got, `^\* 1 FETCH`)
	mustHave(t, got, `^\* 2 FETCH`)
	mustNotHave(t, got, `^\* [34] FETCH`)
	mustNotHave(t, bob.expectOK("m2", since), `^\* [123] FETCH`)
	// UNCHANGEDSINCE compares with the MODSEQ the user sees
	mustHave(t, alice.cmd("m3", fmt.Sprintf(`STORE 1 (UNCHANGEDSINCE %d) -FLAGS (\Seen)`, hms)), `^m3 OK \[MODIFIED 1\]`)
	mustHave(t, bob.cmd("m4", fmt.Sprintf(`STORE 1 (UNCHANGEDSINCE %d) +FLAGS.SILENT ($Old)`, hms)), `^m4 OK Store`)
	bob.expectOK("m5", `STORE 1 -FLAGS.SILENT ($Old)`)

	want := map[*rawConn]string{alice: "1 2", carol: "3", bob: "4"}
	for c, seen := range want {
		got := c.expectOK("s1", "SEARCH SEEN")
		mustHave(t, got, `^\* SEARCH `+seen+`$`)
		got = c.expectOK("s2", "FETCH 1:4 (FLAGS)")
		for i := 1; i <= 4; i++ {
			has := strings.Contains(" "+seen+" ", fmt.Sprintf(" %d ", i))
			re := fmt.Sprintf(`^\* %d FETCH \(FLAGS \([^)]*\\Seen`, i)
			if has {
				mustHave(t, got, re)
			} else {
				mustNotHave(t, got, re)
			}
		}
	}
	mustHave(t, alice.expectOK("s3", "SEARCH UNSEEN"), `^\* SEARCH 3 4$`)
	mustHave(t, carol.expectOK("s4", "SEARCH UNSEEN"), `^\* SEARCH 1 2 4$`)

	// Live: bob hears nothing of alice's or carol's \Seen; alice's other
	// session hears hers, carol's does not reach alice.
	mustNotHave(t, bob.expectOK("n1", "NOOP"), `FETCH`)
	got = alice2.expectOK("n2", "NOOP")
	mustHave(t, got, `^\* 1 FETCH \((UID 1 )?FLAGS \(\\Seen\)\)`)
	mustHave(t, got, `^\* 2 FETCH \((UID 2 )?FLAGS \(\\Seen\)\)`)
	mustNotHave(t, got, `^\* [34] FETCH`)
	// a change by one session is read by the other's next command
	alice2.expectOK("n3", `STORE 3 +FLAGS.SILENT (\Seen)`)
	mustHave(t, alice.expectOK("n4", "SEARCH SEEN"), `^\* SEARCH 1 2 3$`)
	alice2.expectOK("n5", `STORE 3 -FLAGS.SILENT (\Seen)`)
	mustHave(t, alice.expectOK("n6", "FETCH 3 (FLAGS)"), `^\* 3 FETCH \(FLAGS \(\)\)`)

	// Other flags are shared: bob's \Flagged reaches alice, with her \Seen.
	bob.expectOK("f1", `STORE 1 +FLAGS (\Flagged)`)
	mustHave(t, alice.expectOK("f2", "NOOP"), `^\* 1 FETCH \((UID 1 )?FLAGS \((\\Seen \\Flagged|\\Flagged \\Seen)\) MODSEQ \(\d+\)\)`)
	mustHave(t, carol.expectOK("f3", "NOOP"), `^\* 1 FETCH \((UID 1 )?FLAGS \(\\Flagged\)\)`)

	// FLAGS (replace) by alice keeps bob's \Seen on 4, sets hers.
	alice.expectOK("r1", `STORE 4 FLAGS (\Seen $Work)`)
	mustHave(t, bob.expectOK("r2", "FETCH 4 (FLAGS)"), `^\* 4 FETCH \(FLAGS \(\\Seen( \\Recent)? \$Work\)\)`)
	alice.expectOK("r3", `STORE 4 FLAGS ($Work)`)
	mustHave(t, bob.expectOK("r4", "FETCH 4 (FLAGS)"), `^\* 4 FETCH \(FLAGS \(\\Seen( \\Recent)? \$Work\)\)`)
	mustHave(t, alice.expectOK("r5", "FETCH 4 (FLAGS)"), `^\* 4 FETCH \(FLAGS \(\$Work\)\)`)

	// -FLAGS \Seen and a body FETCH (implicit \Seen) are private too.
	alice.expectOK("u1", `STORE 1 -FLAGS (\Seen)`)
	mustHave(t, alice.expectOK("u2", "FETCH 3 BODY[TEXT]"), `FLAGS \(\\Seen\)`)
	mustHave(t, bob.expectOK("u3", "SEARCH UNSEEN"), `^\* SEARCH 1 2 3$`)
	mustHave(t, alice.expectOK("u4", "SEARCH UNSEEN"), `^\* SEARCH 1 4$`)

	// STATUS per user.
	mustHave(t, alice.expectOK("t1", "STATUS "+F+" (UNSEEN)"), `UNSEEN 2\)`)
	mustHave(t, carol.expectOK("t2", "STATUS "+F+" (UNSEEN)"), `UNSEEN 3\)`)
	mustHave(t, bob.expectOK("t3", "STATUS F (UNSEEN)"), `UNSEEN 3\)`)
	// SELECT again: the [UNSEEN] is alice's first unseen
	mustHave(t, alice.expectOK("t4", "SELECT "+F), `OK \[UNSEEN 1\]`)
	mustHave(t, carol.expectOK("t5", "SELECT "+F), `OK \[UNSEEN 1\]`)
	alice.expectOK("t6", `STORE 1 +FLAGS (\Seen)`)
	mustHave(t, alice.expectOK("t7", "SELECT "+F), `OK \[UNSEEN 4\]`)

	// sharedseen on: \Seen is the message's for everyone.
	bob.expectOK("h1", `SETMETADATA F (/shared/vendor/cmu/cyrus-imapd/sharedseen "true")`)
	mustHave(t, alice.expectOK("h2", "STATUS "+F+" (UNSEEN)"), `UNSEEN 3\)`)
	alice.expectOK("h3", "SELECT "+F)
	mustHave(t, alice.expectOK("h4", "SEARCH SEEN"), `^\* SEARCH 4$`)
	alice.expectOK("h5", `STORE 2 +FLAGS (\Seen)`)
	mustHave(t, bob.expectOK("h6", "NOOP"), `^\* 2 FETCH \((UID 2 )?FLAGS \(\\Seen[ )]`)
	mustHave(t, carol.expectOK("h7", "SELECT "+F), `OK \[UNSEEN 1\]`)
	mustHave(t, carol.expectOK("h8", "SEARCH SEEN"), `^\* SEARCH 2 4$`)
	// and off again: each user's private state is back (alice's 2 from
	// before), the owner keeps what was set while it was shared
	bob.expectOK("h9", `SETMETADATA F (/shared/vendor/cmu/cyrus-imapd/sharedseen NIL)`)
	alice.expectOK("h10", "SELECT "+F)
	mustHave(t, alice.expectOK("h11", "SEARCH SEEN"), `^\* SEARCH 1 2 3$`)
	carol.expectOK("h12", "SELECT "+F)
	mustHave(t, carol.expectOK("h13", "SEARCH SEEN"), `^\* SEARCH 3$`)
	mustHave(t, bob.expectOK("h14", "SEARCH SEEN"), `^\* SEARCH 2 4$`)
}

// modseqOf returns the number the first line matching re captures.
func modseqOf(t *testing.T, lines []string, re string) uint64 {
	t.Helper()
	rx := regexp.MustCompile(re)
	for _, l := range lines {
		if m := rx.FindStringSubmatch(l); m != nil {
			var n uint64
			fmt.Sscan(m[1], &n)
			return n
		}
	}
	t.Fatalf("no line matches %s in %q", re, lines)
	return 0
}

// TestPrivateSeenCopy: COPY and MOVE carry the \Seen the user sees, as
// Dovecot does with INDEXPVT: out of a shared folder the copy has the
// user's \Seen, not the owner's; into one, the user's \Seen becomes
// their private \Seen there and the owner's copy is unseen.
func TestPrivateSeenCopy(t *testing.T) {
	ts := startServer(t)
	ts.addUser("bob", "pw")
	ts.addUser("alice", "pw")
	bob := ts.dial()
	bob.login("bob", "pw")
	bob.expectOK("b1", "CREATE F")
	bob.expectOK("b2", "APPEND F (\\Seen) {11+}\r\nSubject: 1\r\n")
	bob.expectOK("b3", "APPEND F {11+}\r\nSubject: 2\r\n")
	bob.expectOK("b4", "SETACL F alice lrswite")
	const F = `"Other Users/bob/F"`
	alice := ts.dial()
	alice.login("alice", "pw")
	alice.expectOK("a1", "SELECT "+F)
	alice.expectOK("a2", `STORE 2 +FLAGS (\Seen)`)
	alice.expectOK("a3", "COPY 1:2 INBOX")
	alice.expectOK("a4", "CREATE Moved")
	alice.expectOK("a5", "MOVE 2 Moved")
	alice.expectOK("a6", "SELECT INBOX")
	mustHave(t, alice.expectOK("a7", "SEARCH SEEN"), `^\* SEARCH 2$`)
	alice.expectOK("a8", "SELECT Moved")
	mustHave(t, alice.expectOK("a9", "SEARCH SEEN"), `^\* SEARCH 1$`)
	// into the shared folder: alice's \Seen is hers there
	alice.expectOK("c1", "COPY 1 "+F)
	bob.expectOK("c2", "SELECT F")
	mustHave(t, bob.expectOK("c3", "SEARCH SEEN"), `^\* SEARCH 1$`)
	mustHave(t, bob.expectOK("c4", "SEARCH ALL"), `^\* SEARCH 1 2$`)
	alice.expectOK("c5", "SELECT "+F)
	mustHave(t, alice.expectOK("c6", "SEARCH SEEN"), `^\* SEARCH 2$`)
	// APPEND with \Seen: the appender's own
	alice.expectOK("d1", "APPEND "+F+" (\\Seen \\Flagged) {11+}\r\nSubject: 3\r\n")
	mustHave(t, alice.expectOK("d2", "SEARCH SEEN"), `^\* SEARCH 2 3$`)
	mustHave(t, bob.expectOK("d3", "SEARCH SEEN"), `^\* SEARCH 1$`)
	mustHave(t, bob.expectOK("d4", "SEARCH FLAGGED"), `^\* SEARCH 3$`)
	// REPLACE with \Seen likewise (RFC 8508)
	got := alice.expectOK("e1", "REPLACE 3 "+F+" (\\Seen) {11+}\r\nSubject: 4\r\n")
	mustHave(t, got, `APPENDUID \d+ 5\]`)
	mustHave(t, alice.expectOK("e2", "SEARCH SEEN"), `^\* SEARCH 2 3$`)
	mustHave(t, bob.expectOK("e3", "UID SEARCH SEEN"), `^\* SEARCH 1$`)
}
