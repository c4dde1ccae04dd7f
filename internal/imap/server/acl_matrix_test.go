package server_test

import (
	"fmt"
	"strings"
	"testing"
)

// TestACLMatrix drives every command RFC 4314 §4 names against a
// shared mailbox whose ACL grants alice every right but the one the
// command needs, over real sockets. Each must answer NO, change nothing
// and, where the missing right leaves the mailbox invisible (no "l"),
// answer exactly as for a mailbox that does not exist.
func TestACLMatrix(t *testing.T) {
	ts := startServer(t)
	ts.addUser("bob", "pw")
	ts.addUser("alice", "pw")
	bob := ts.dial()
	bob.login("bob", "pw")
	bob.expectOK("o1", "CREATE F")
	bob.expectOK("o2", "APPEND F {20+}\r\nSubject: secret\r\n\r\n")
	alice := ts.dial()
	alice.login("alice", "pw")
	alice.expectOK("p1", "APPEND INBOX {16+}\r\nSubject: mine\r\n")

	const F = `"Other Users/bob/F"`
	cases := []struct {
		name    string
		missing string // the right taken away
		sel     bool   // SELECT F first (with every other right)
		selIn   bool   // SELECT alice's own INBOX first
		cmd     string
		check   string // a command bob runs afterwards ...
		want    string // ... whose output must contain this (nothing changed)
		absent  string // ... and must not contain this
	}{
		{name: "SELECT", missing: "r", cmd: "SELECT " + F},
		{name: "EXAMINE", missing: "r", cmd: "EXAMINE " + F},
		{name: "STATUS", missing: "r", cmd: "STATUS " + F + " (MESSAGES)"},
		{name: "APPEND", missing: "i", cmd: "APPEND " + F + " {5+}\r\nhello", check: "STATUS F (MESSAGES)", want: "MESSAGES 1"},
		{name: "COPY", missing: "i", selIn: true, cmd: "COPY 1 " + F, check: "STATUS F (MESSAGES)", want: "MESSAGES 1"},
		{name: "MOVE", missing: "i", selIn: true, cmd: "MOVE 1 " + F, check: "STATUS F (MESSAGES)", want: "MESSAGES 1"},
		{name: "MOVE out", missing: "e", sel: true, cmd: "MOVE 1 INBOX", check: "STATUS F (MESSAGES)", want: "MESSAGES 1"},
		{name: "STORE Seen", missing: "s", sel: true, cmd: `STORE 1 +FLAGS (\Seen)`, check: "STATUS F (UNSEEN)", want: "UNSEEN 1"},
		{name: "STORE Deleted", missing: "t", sel: true, cmd: `STORE 1 +FLAGS (\Deleted)`, check: "STATUS F (DELETED)", want: "DELETED 0"},
		{name: "STORE keyword", missing: "w", sel: true, cmd: `STORE 1 +FLAGS ($Label)`, check: "STATUS F (MESSAGES)", want: "MESSAGES 1"},
		{name: "STORE FLAGS", missing: "w", sel: true, cmd: `STORE 1 FLAGS (\Seen)`, check: "STATUS F (UNSEEN)", want: "UNSEEN 1"},
		{name: "EXPUNGE", missing: "e", sel: true, cmd: "EXPUNGE", check: "STATUS F (MESSAGES)", want: "MESSAGES 1"},
		{name: "UID EXPUNGE", missing: "e", sel: true, cmd: "UID EXPUNGE 1", check: "STATUS F (MESSAGES)", want: "MESSAGES 1"},
		{name: "CREATE below", missing: "k", cmd: `CREATE "Other Users/bob/F/sub"`, check: `LIST "" "*"`, want: "List completed", absent: "F/sub"},
		{name: "DELETE", missing: "x", cmd: "DELETE " + F, check: "STATUS F (MESSAGES)", want: "MESSAGES 1"},
		{name: "RENAME", missing: "x", cmd: "RENAME " + F + ` "Other Users/bob/G"`, check: "STATUS F (MESSAGES)", want: "MESSAGES 1"},
		{name: "SETACL", missing: "a", cmd: "SETACL " + F + " alice lrswipkxtea", check: "GETACL F", want: "alice"},
		{name: "DELETEACL", missing: "a", cmd: "DELETEACL " + F + " alice", check: "GETACL F", want: "alice"},
		{name: "GETACL", missing: "a", cmd: "GETACL " + F},
		{name: "LISTRIGHTS", missing: "a", cmd: "LISTRIGHTS " + F + " alice"},
		// Without "l" and "r" the mailbox does not exist for alice.
		{name: "SELECT invisible", missing: "lr", cmd: "SELECT " + F},
		{name: "STATUS invisible", missing: "lr", cmd: "STATUS " + F + " (MESSAGES)"},
		{name: "GETACL invisible", missing: "la", cmd: "GETACL " + F},
		{name: "MYRIGHTS invisible", missing: "lrswipkxtea", cmd: "MYRIGHTS " + F},
		{name: "DELETE invisible", missing: "lx", cmd: "DELETE " + F},
		{name: "APPEND invisible", missing: "li", cmd: "APPEND " + F + " {5+}\r\nhello"},
	}
	all := "lrswipkxtea"
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rights := all
			for _, r := range tc.missing {
				rights = strings.ReplaceAll(rights, string(r), "")
			}
			tag := func(s string) string { return fmt.Sprintf("%s%d", s, i) }
			if rights == "" {
				rights = `""`
			}
			bob.expectOK(tag("s"), "SETACL F alice "+rights)
			if tc.sel {
				alice.expectOK(tag("x"), "SELECT "+F)
			}
			if tc.selIn {
				alice.expectOK(tag("x"), "SELECT INBOX")
			}
			got := alice.cmd(tag("c"), tc.cmd)
			last := got[len(got)-1]
			if !strings.HasPrefix(last, tag("c")+" NO ") {
				t.Fatalf("%s without %q: %q", tc.cmd, tc.missing, got)
			}
			for _, l := range got {
				if strings.Contains(l, "secret") {
					t.Fatalf("%s leaks the message: %q", tc.cmd, got)
				}
			}
			if strings.Contains(tc.missing, "l") {
				// The same answer as for a name that does not exist.
				other := strings.ReplaceAll(tc.cmd, F, `"Other Users/bob/Nope"`)
				ref := alice.cmd(tag("n"), other)
				a := strings.TrimPrefix(last, tag("c"))
				b := strings.TrimPrefix(ref[len(ref)-1], tag("n"))
				b = strings.ReplaceAll(b, "Nope", "F")
				if a != b || len(got) != len(ref) {
					t.Fatalf("invisible mailbox answers %q, a missing one %q", got, ref)
				}
				lst := alice.cmd(tag("l"), `LIST "" "*"`)
				mustNotHave(t, lst, "bob")
			}
			if tc.sel || tc.selIn {
				alice.expectOK(tag("u"), "UNSELECT")
			}
			if tc.check != "" {
				out := bob.expectOK(tag("k"), tc.check)
				mustHave(t, out, tc.want)
				if tc.absent != "" {
					mustNotHave(t, out, tc.absent)
				}
			}
		})
	}
}
