package server_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"barid/internal/store"
)

// A session whose SELECT borrowed the flag index's UID array
// (store.SelectSnapshot) copies it before its view drops expunged
// messages: other sessions, and the index itself, still see every
// message that is left, under the right sequence numbers.
func TestSelectLentUIDsSurviveExpunge(t *testing.T) {
	ts := startServer(t)
	acct := ts.addUser("lend", "pw")
	ctx := context.Background()
	st := ts.app.Data().Store
	mb, err := st.Mailbox(ctx, acct.ID, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	var msgs []store.NewMessage
	for i := range 30 {
		msgs = append(msgs, store.NewMessage{BlobID: fmt.Sprintf("%064x", i), Size: 10, InternalDate: time.Unix(1700000000, 0)})
	}
	if _, _, err := st.AppendMessages(ctx, mb.ID, msgs); err != nil {
		t.Fatal(err)
	}
	uidsOf := func(lines []string) string {
		var out []string
		for _, l := range lines {
			var seq, uid int
			if _, err := fmt.Sscanf(l, "* %d FETCH (UID %d)", &seq, &uid); err == nil {
				out = append(out, fmt.Sprintf("%d:%d", seq, uid))
			}
		}
		return strings.Join(out, " ")
	}
	want := func(first, last int) string {
		var out []string
		for u := first; u <= last; u++ {
			out = append(out, fmt.Sprintf("%d:%d", u-first+1, u))
		}
		return strings.Join(out, " ")
	}
	a := ts.dial()
	a.login("lend", "pw")
	a.expectOK("a1", "SELECT INBOX")
	a.expectOK("a2", "FETCH 1:* (FLAGS)") // the index is loaded now
	a.expectOK("a3", "SELECT INBOX")      // and lends its UIDs

	b := ts.dial()
	b.login("lend", "pw")
	b.expectOK("b1", "SELECT INBOX")
	b.expectOK("b2", `STORE 1:10 +FLAGS.SILENT (\Deleted)`)
	mustHave(t, b.expectOK("b3", "EXPUNGE"), `^\* 1 EXPUNGE`)

	lines := a.expectOK("a4", "NOOP")
	n := 0
	for _, l := range lines {
		if strings.HasPrefix(l, "* ") && strings.HasSuffix(l, " EXPUNGE") {
			n++
		}
	}
	if n != 10 {
		t.Fatalf("session A heard %d of 10 expunges: %q", n, lines)
	}
	if got := uidsOf(a.expectOK("a5", "FETCH 1:* (UID)")); got != want(11, 30) {
		t.Fatalf("session A after the expunges: %s", got)
	}
	c := ts.dial()
	c.login("lend", "pw")
	mustHave(t, c.expectOK("c1", "SELECT INBOX"), `^\* 20 EXISTS`)
	if got := uidsOf(c.expectOK("c2", "FETCH 1:* (UID)")); got != want(11, 30) {
		t.Fatalf("a new session: %s", got)
	}
	v, ok := st.(interface {
		VerifyFlagIndex(context.Context) (int, error)
	})
	if !ok {
		t.Skip("store has no flag index")
	}
	if _, err := v.VerifyFlagIndex(ctx); err != nil {
		t.Fatal(err)
	}
}
