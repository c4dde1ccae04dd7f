package testkit

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestClusterSpreadsClients: with ClusterEnvVar=2 the kit runs two
// nodes behind fronts that hand connections out in turn (1st and 3rd to
// node A, 2nd and 4th to node B, as each node's session list shows),
// TLS works on both with one certificate, and what a client does on one
// node is what the others see: an APPEND on A reaches an IDLE on B, a
// STORE acknowledged on A is in the very next FETCH on B.
func TestClusterSpreadsClients(t *testing.T) {
	t.Setenv(ClusterEnvVar, "2")
	s := Start(t)
	if len(s.Nodes) != 2 {
		t.Fatalf("%d nodes, want 2", len(s.Nodes))
	}
	s.AddUser("alice", "pw")
	var cs []*Conn
	for i := range 4 {
		c := s.Dial()
		c.Login("alice", "pw")
		c.ExpectOK(fmt.Sprint("s", i), "SELECT INBOX")
		cs = append(cs, c)
	}
	for i, n := range s.Nodes {
		users := 0
		for _, si := range n.Sessions() {
			if si.User == "alice" && si.Mailbox == "INBOX" {
				users++
			}
		}
		if users != 2 {
			t.Errorf("node %c serves %d of the 4 sessions, want 2", 'A'+i, users)
		}
	}
	tc := s.DialTLS() // node A's, then node B's
	tc.Login("alice", "pw")
	tc2 := s.DialTLS()
	tc2.Login("alice", "pw")

	a, b := cs[0], cs[1] // node A, node B
	b.Send("i IDLE\r\n")
	if l := b.ReadLine(); !strings.HasPrefix(l, "+ ") {
		t.Fatalf("IDLE: %q", l)
	}
	msg := Message("across")
	start := time.Now()
	a.ExpectOK("a", fmt.Sprintf("APPEND INBOX {%d+}\r\n%s", len(msg), msg))
	for {
		l := b.ReadLine()
		if l == "* 1 EXISTS" {
			break
		}
	}
	t.Logf("APPEND on node A -> EXISTS in IDLE on node B: %s", time.Since(start).Round(time.Microsecond))
	b.Send("DONE\r\n")
	b.Until("i")

	a2, b2 := cs[2], cs[3]
	MustHave(t, a2.ExpectOK("n", "NOOP"), `^\* 1 EXISTS$`)
	MustHave(t, b2.ExpectOK("n", "NOOP"), `^\* 1 EXISTS$`)
	a2.ExpectOK("f", `STORE 1 +FLAGS (\Flagged)`)
	lines := b2.ExpectOK("g", "FETCH 1 (FLAGS)")
	if !slices.ContainsFunc(lines, func(l string) bool { return strings.HasPrefix(l, "* 1 FETCH") && strings.Contains(l, `\Flagged`) }) {
		t.Fatalf("FETCH on node B right after STORE OK on node A: %q", lines)
	}
}
