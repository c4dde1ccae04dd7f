package lmtp_test

import (
	"context"
	"strings"
	"testing"

	"barid/internal/lmtp"
	"barid/internal/store"
)

// RFC 8474 THREADID at LMTP delivery: a reply that arrives before its
// parent, delivered to another folder (detail delivery), shares the
// parent's thread; an unrelated message and another user's copy of the
// parent do not. One transaction delivers to both users (one DATA).
func TestDeliveryThreads(t *testing.T) {
	e := newEnv(t, func(c *lmtp.Config, _ *env) { c.DetailDelivery = true })
	alice := e.addUser("alice", "lists")
	bob := e.addUser("bob")
	c := e.dial()
	for _, m := range []struct {
		rcpts []string
		body  string
	}{
		{[]string{"alice+lists@localhost"}, "Message-ID: <reply@x>\r\nIn-Reply-To: <parent@x>\r\nReferences: <parent@x>\r\nSubject: Re: p\r\n\r\nr\r\n"},
		{[]string{"alice@localhost", "bob@localhost"}, "Message-ID: <parent@x>\r\nSubject: p\r\n\r\np\r\n"},
		{[]string{"alice@localhost"}, "Message-ID: <other@x>\r\nSubject: o\r\n\r\no\r\n"},
	} {
		if err := c.SendMail("s@example.net", m.rcpts, strings.NewReader(m.body)); err != nil {
			t.Fatal(err)
		}
	}
	threads := func(acct *store.Account, mailbox string) []int64 {
		t.Helper()
		ctx := context.Background()
		mb, err := e.st.Mailbox(ctx, acct.ID, mailbox)
		if err != nil {
			t.Fatal(err)
		}
		_, uids, err := e.st.MessageUIDs(ctx, mb.ID)
		if err != nil {
			t.Fatal(err)
		}
		var out []int64
		err = e.st.FetchMessages(ctx, mb.ID, uids, store.FieldBasics, func(m *store.Message) error {
			out = append(out, m.ThreadID)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	lists, in, bobs := threads(alice, "lists"), threads(alice, "INBOX"), threads(bob, "INBOX")
	if len(lists) != 1 || len(in) != 2 || len(bobs) != 1 {
		t.Fatalf("messages: lists %d, INBOX %d, bob %d", len(lists), len(in), len(bobs))
	}
	switch {
	case lists[0] == 0 || lists[0] != in[0]:
		t.Errorf("reply (lists) thread %d, parent (INBOX) %d", lists[0], in[0])
	case in[1] == in[0]:
		t.Errorf("unrelated message in the parent's thread %d", in[1])
	case bobs[0] == 0 || bobs[0] == in[0]:
		t.Errorf("bob's copy: thread %d, alice's %d", bobs[0], in[0])
	}
}
