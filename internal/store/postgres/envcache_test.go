package postgres

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"barid/internal/store"
	"barid/internal/store/postgres/pgtest"
)

// TestEnvelopeCache: node A's second FETCH (FLAGS RFC822.SIZE ENVELOPE)
// of a page reads msgflags alone and takes the ENVELOPEs from its
// cache, and what it answers stays what the store holds while node B
// changes flags, expunges and appends (an ENVELOPE never changes for a
// mailbox and UID, so the cache needs no invalidation); a request with
// other wide fields, or with the cache off, joins messages as before.
func TestEnvelopeCache(t *testing.T) {
	u := pgtest.Database(t)
	a, tr := tracedStore(t, u, Options{})
	b := openDB(t, u)
	ctx := context.Background()
	acct, err := b.CreateAccount(ctx, "user", nil)
	if err != nil {
		t.Fatal(err)
	}
	in, _ := b.Mailbox(ctx, acct.ID, "INBOX")
	var msgs []store.NewMessage
	for i := range 5 {
		msgs = append(msgs, store.NewMessage{BlobID: fmt.Sprint("b", i), Size: int64(10 + i),
			Envelope: []byte(fmt.Sprintf(`("date" "subject %d")`, i))})
	}
	uids, _, err := b.AppendMessages(ctx, in.ID, msgs)
	if err != nil {
		t.Fatal(err)
	}
	const fields = store.FieldFlags | store.FieldSize | store.FieldEnvelope
	fetch := func(s *Store, f store.Fields, want []store.UID) map[store.UID]store.Message {
		t.Helper()
		got := map[store.UID]store.Message{}
		err := s.FetchMessages(ctx, in.ID, want, f, func(m *store.Message) error {
			got[m.UID] = *m
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	same := func(step string, want, got map[store.UID]store.Message) {
		t.Helper()
		if len(got) != len(want) {
			t.Fatalf("%s: %d messages, the store has %d", step, len(got), len(want))
		}
		for u, w := range want {
			g, ok := got[u]
			if !ok || string(g.Envelope) != string(w.Envelope) || g.Size != w.Size || g.ModSeq != w.ModSeq || !g.Flags.Equal(w.Flags) {
				t.Fatalf("%s: UID %d: got %+v, the store has %+v", step, u, g, w)
			}
		}
	}
	joins := func() bool {
		_, st := tr.take()
		for _, q := range st {
			if strings.Contains(q, "JOIN messages") {
				return true
			}
		}
		return false
	}
	tr.take()
	same("first fetch", fetch(b, fields, uids), fetch(a, fields, uids))
	if !joins() {
		t.Fatal("first fetch did not read the envelopes from messages")
	}
	same("second fetch", fetch(b, fields, uids), fetch(a, fields, uids))
	if joins() {
		t.Fatal("second fetch joined messages: the cache missed")
	}
	// Node B changes flags, expunges UID 2 and appends a message.
	if _, _, _, err := b.StoreFlags(ctx, in.ID, uids[:3], store.FlagsAdd, store.Flags{System: store.FlagSeen | store.FlagDeleted}, 0); err != nil {
		t.Fatal(err)
	}
	if _, _, err := b.Expunge(ctx, in.ID, []store.UID{uids[1]}); err != nil {
		t.Fatal(err)
	}
	more, _, err := b.AppendMessages(ctx, in.ID, []store.NewMessage{{BlobID: "b9", Size: 99, Envelope: []byte(`("date" "new")`)}})
	if err != nil {
		t.Fatal(err)
	}
	all := append(append([]store.UID{}, uids...), more...)
	tr.take()
	same("after B's changes, with B's new message", fetch(b, fields, all), fetch(a, fields, all))
	if !joins() {
		t.Fatal("a fetch with an uncached message did not join messages")
	}
	same("after B's changes, cached", fetch(b, fields, all), fetch(a, fields, all))
	if joins() {
		t.Fatal("fetch after B's changes joined messages: the cache missed")
	}
	// Other wide fields bypass the cache.
	fetch(a, fields|store.FieldStructure, all)
	if !joins() {
		t.Fatal("a fetch asking for BODYSTRUCTURE too did not join messages")
	}
	off, tr2 := tracedStore(t, u, Options{RecordCacheBytes: -1})
	fetch(off, fields, all)
	fetch(off, fields, all)
	if _, st := tr2.take(); len(st) != 2 || !strings.Contains(st[1], "JOIN messages") {
		t.Fatalf("with the cache off: %q", st)
	}
}

// TestEnvCacheBound: the cache holds at most about its budget, keeps
// what was just used, and drops the oldest generation.
func TestEnvCacheBound(t *testing.T) {
	c := newEnvCache(10 * (100 + envEntOverhead))
	env := make([]byte, 100)
	for u := store.UID(1); u <= 100; u++ {
		c.put(1, u, env)
		if n := c.bytes(); n > c.max {
			t.Fatalf("after %d entries the cache holds %d bytes, budget %d", u, n, c.max)
		}
	}
	if _, ok := c.lookup(1, []store.UID{100}); !ok {
		t.Fatal("the last entry put is gone")
	}
	if _, ok := c.lookup(1, []store.UID{1}); ok {
		t.Fatal("the first of 100 entries is still there with room for 10")
	}
	if newEnvCache(-1).on() || newEnvCache(0).on() {
		t.Fatal("a cache of no bytes is on")
	}
}
