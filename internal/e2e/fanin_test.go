package e2e

import (
	"fmt"
	"sync"
	"testing"
)

// TestConcurrentAppendsReachEverySession: while eight sessions APPEND
// at once, a session with INBOX selected must be told about every new
// message (RFC 9051 §7.4.1 EXISTS). A message it is never told about
// is invisible to it until it selects the mailbox again.
func TestConcurrentAppendsReachEverySession(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	acct := s.addUser("fanin@example.org", "pw")
	watcher := login(t, s, "w", "fanin@example.org", "pw")
	watcher.sel(t, "INBOX", false)
	var wg sync.WaitGroup
	for i := range 8 {
		c := login(t, s, fmt.Sprintf("p%d", i), "fanin@example.org", "pw")
		wg.Go(func() {
			for k := range 25 {
				if _, _, err := c.appendMsg("INBOX", "", testMessage(fmt.Sprintf("%s-%d", c.name, k))); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	watcher.ok(t, "NOOP")
	_, msgs := s.storeMessages(acct.ID, "INBOX")
	if len(watcher.uids) != len(msgs) {
		t.Fatalf("after NOOP the session counts %d messages, the store has %d: %d appends never announced", len(watcher.uids), len(msgs), len(msgs)-len(watcher.uids))
	}
}
