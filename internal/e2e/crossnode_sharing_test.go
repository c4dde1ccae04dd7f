package e2e

import (
	"fmt"
	"strings"
	"testing"
)

// TestCrossNodeSharing: two nodes on one PostgreSQL database and a
// folder bob shares with alice (RFC 4314, docs/sharing.md). alice's
// private \Seen set on node B reaches her idling session on node A at
// once (store.ChangePrivateSeen over the LISTEN/NOTIFY bus), while
// bob's session on A sees nothing of it; then bob takes "r" away on
// node B and alice's idling session on A is closed at once (BYE), as
// it would be on B.
func TestCrossNodeSharing(t *testing.T) {
	t.Parallel()
	a, b, _ := twoNodes(t)
	a.addUser("bob@example.org", "pw")

	owner := b.Dial()
	owner.Login("bob@example.org", "pw")
	owner.ExpectOK("c", "CREATE Team")
	for _, s := range []string{"one", "two"} {
		owner.ExpectOK("a", "APPEND Team {"+fmt.Sprint(len(testMessage(s)))+"+}\r\n"+testMessage(s))
	}
	owner.ExpectOK("acl", "SETACL Team alice@example.org lrs")

	const team = `"Other Users/bob@example.org/Team"`
	idler := a.Dial()
	idler.Login("alice@example.org", "pw")
	idler.ExpectOK("s", "SELECT "+team)
	ownerOnA := a.Dial()
	ownerOnA.Login("bob@example.org", "pw")
	ownerOnA.ExpectOK("s", "SELECT Team")
	startIdle(t, idler, "i1")

	w := b.Dial()
	w.Login("alice@example.org", "pw")
	w.ExpectOK("s", "SELECT "+team)
	w.ExpectOK("f", `STORE 2 +FLAGS.SILENT (\Seen)`)
	idleUntil(t, idler, "private \\Seen from node B", func(l string) bool {
		return strings.HasPrefix(l, "* 2 FETCH (") && strings.Contains(l, `\Seen`)
	})
	if lines := ownerOnA.ExpectOK("n", "NOOP"); len(lines) != 1 {
		t.Fatalf("the owner heard alice's private \\Seen: %q", lines)
	}
	w.ExpectOK("l", "LOGOUT")

	owner.ExpectOK("acl2", "SETACL Team alice@example.org l")
	idleUntil(t, idler, "losing r on node B", func(l string) bool {
		return strings.HasPrefix(l, "* BYE Permission to read the selected mailbox was removed")
	})
}
