package e2e

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// TestCrossNodeSeqCommands: FETCH and STORE by sequence number skip the
// cross-node read barrier (internal/imap/server/barrier.go), so what
// they answer must come from the shared store: a STORE acknowledged on
// node B is in a FETCH FLAGS on node A at once, and a STORE on A after
// B's builds on B's flags. A message B expunged is not reported as
// EXPUNGE by A's FETCH (RFC 9051 §7.5.1) but by the next NOOP.
func TestCrossNodeSeqCommands(t *testing.T) {
	t.Parallel()
	a, b, _ := twoNodes(t)
	const user = "alice@example.org"
	w := b.Dial()
	w.Login(user, "pw")
	for i := range 3 {
		m := testMessage(fmt.Sprint("seq", i))
		w.ExpectOK("a", "APPEND INBOX {"+fmt.Sprint(len(m))+"+}\r\n"+m)
	}
	w.ExpectOK("s", "SELECT INBOX")
	r := a.Dial()
	r.Login(user, "pw")
	r.ExpectOK("s", "SELECT INBOX")

	flagsOf := func(lines []string, seq int) string {
		for _, l := range lines {
			if strings.HasPrefix(l, fmt.Sprintf("* %d FETCH (", seq)) {
				return l
			}
		}
		return ""
	}
	for i := range 20 {
		kw := fmt.Sprintf("$k%d", i)
		w.ExpectOK("f", "STORE 2 +FLAGS ("+kw+")")
		if l := flagsOf(r.ExpectOK("g", "FETCH 2 (FLAGS)"), 2); !strings.Contains(l, kw) {
			t.Fatalf("round %d: FETCH on A right after STORE +%s on B: %q", i, kw, l)
		}
		// A's STORE reads the flags under the mailbox lock: B's
		// keyword stays.
		lines := r.ExpectOK("h", `STORE 2 +FLAGS (\Seen)`)
		if l := flagsOf(lines, 2); !strings.Contains(l, kw) || !strings.Contains(l, `\Seen`) {
			t.Fatalf("round %d: STORE on A after B's: %q", i, lines)
		}
		r.ExpectOK("u", `STORE 2 -FLAGS.SILENT (\Seen)`)
	}

	w.ExpectOK("d", `STORE 3 +FLAGS.SILENT (\Deleted)`)
	w.ExpectOK("x", "EXPUNGE")
	lines := r.Cmd("g", "FETCH 1:3 (UID)")
	last := lines[len(lines)-1]
	if !strings.HasPrefix(last, "g OK") {
		t.Fatalf("FETCH 1:3 on A after EXPUNGE on B: %q", lines)
	}
	for _, l := range lines {
		if strings.HasSuffix(l, " EXPUNGE") {
			t.Fatalf("FETCH by sequence number sent %q (RFC 9051 §7.5.1): %q", l, lines)
		}
	}
	if lines := r.ExpectOK("n", "NOOP"); !slices.Contains(lines, "* 3 EXPUNGE") {
		t.Fatalf("NOOP on A after EXPUNGE on B: %q", lines)
	}
}
