package main

import (
	"strings"
	"testing"

	"barid/internal/testkit"
)

// TestGroupLive: "barid group add|del" while the server runs goes
// through its control socket, and the sessions whose rights the
// membership changes hear it as they hear SETACL (docs/sharing.md "Live
// changes"): a NOTIFY session is told the folder appears (RFC 5465 §5.4:
// gaining "l" is the mailbox's creation), and a session that has it
// selected is closed when "r" and "l" go, with the deleted mailbox's
// BYE. Without a server the same verb works on the data folder.
func TestGroupLive(t *testing.T) {
	s := testkit.Start(t, testkit.WithoutTLSListener())
	s.AddUser("alice", "pw")
	s.AddUser("bob", "pw")
	bob := testkit.DialAddr(t, s.Addr)
	bob.Login("bob", "pw")
	bob.ExpectOK("a1", "CREATE Team")
	bob.ExpectOK("a2", `SETACL Team $staff lr`)

	alice := testkit.DialAddr(t, s.Addr)
	alice.Login("alice", "pw")
	if l := alice.ExpectOK("b1", `LIST "" "Other Users/*"`); len(l) != 1 {
		t.Fatalf("LIST before the group change: %q", l)
	}
	alice.ExpectOK("b2", `NOTIFY SET (subtree "Other Users" (MailboxName))`)

	if code, out, errs := adminRun(t, "group", "add", "--data", s.Dir, "staff", "alice"); code != 0 {
		t.Fatalf("group add: %d %s %s", code, out, errs)
	}
	if l := alice.ReadLine(); l != `* LIST (\HasNoChildren) "/" "Other Users/bob/Team"` {
		t.Fatalf("NOTIFY after group add: %q", l)
	}

	watcher := testkit.DialAddr(t, s.Addr)
	watcher.Login("alice", "pw")
	watcher.ExpectOK("c1", `EXAMINE "Other Users/bob/Team"`)
	watcher.Send("c2 IDLE\r\n")
	if l := watcher.ReadLine(); !strings.HasPrefix(l, "+") {
		t.Fatalf("IDLE: %q", l)
	}
	// A group no ACL names changes nobody's rights: nothing is sent.
	if code, _, errs := adminRun(t, "group", "add", "--data", s.Dir, "others", "alice"); code != 0 {
		t.Fatalf("group add others: %s", errs)
	}
	if code, _, errs := adminRun(t, "group", "del", "--data", s.Dir, "staff", "alice"); code != 0 {
		t.Fatalf("group del: %s", errs)
	}
	if l := watcher.ReadLine(); l != "* BYE Selected mailbox was deleted, have to disconnect." {
		t.Fatalf("selected session after group del: %q", l)
	}
	if l := alice.ReadLine(); l != `* LIST (\NonExistent) "/" "Other Users/bob/Team"` {
		t.Fatalf("NOTIFY after group del: %q", l)
	}

	// Without a server: the data folder, read at the next start.
	s.Stop()
	if code, _, errs := adminRun(t, "group", "add", "--data", s.Dir, "staff", "carol"); code != 0 {
		t.Fatalf("group add without a server: %s", errs)
	}
	if code, out, _ := adminRun(t, "group", "list", "--data", s.Dir); code != 0 || !strings.Contains(out, "$staff carol\n") || strings.Contains(out, "$staff alice") {
		t.Fatalf("group list: %d %q", code, out)
	}
}
