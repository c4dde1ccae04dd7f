package sqlite

import (
	"context"
	"fmt"
	"testing"
	"time"

	"barid/internal/store"
)

func recMessages(first, n int) []store.NewMessage {
	msgs := tinyMessages(first, n)
	for i := range msgs {
		msgs[i].Envelope = []byte(fmt.Sprintf("(envelope %d)", first+i))
		msgs[i].Structure = []byte(fmt.Sprintf("structure %d", first+i))
		msgs[i].InternalDate = time.Unix(int64(1e9+first+i), 0)
	}
	return msgs
}

// fetchEnv returns "uid:flags:envelope" for each message FETCHed with
// FLAGS, ENVELOPE and the basics.
func fetchEnv(t *testing.T, s *Store, mb int64, uids []store.UID) []string {
	t.Helper()
	var out []string
	err := s.FetchMessages(context.Background(), mb, uids, store.FieldFlags|store.FieldEnvelope|store.FieldBasics|store.FieldStructure,
		func(m *store.Message) error {
			out = append(out, fmt.Sprintf("%d:%d:%s:%s:%d:%d", m.UID, m.Flags.System, m.Envelope, m.Structure, m.Size, m.InternalDate.Unix()))
			return nil
		})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// A second FETCH of envelopes is answered from the record cache (the
// test changes a row behind the store's back, which a real message never
// sees, to tell the two apart); flags still come from the flag index,
// expunged messages are not answered from the cache, and the cache keeps
// to its byte bound.
func TestRecordCache(t *testing.T) {
	ctx := context.Background()
	s, mb, uids := openInbox(t, "", Options{FlagIndexMin: 1}, recMessages(0, 50))
	first := fetchEnv(t, s, mb.ID, uids)
	if len(first) != 50 || first[7] != fmt.Sprintf("%d:0:(envelope 7):structure 7:10:%d", uids[7], int(1e9)+7) {
		t.Fatalf("first fetch: %d, %q", len(first), first[7])
	}
	if _, err := s.wconn.ExecContext(ctx, `UPDATE messages SET envelope = 'changed' WHERE mailbox = ?`, mb.ID); err != nil {
		t.Fatal(err)
	}
	if again := fetchEnv(t, s, mb.ID, uids); fmt.Sprint(again) != fmt.Sprint(first) {
		t.Fatalf("second fetch did not come from the cache:\n%q\n%q", again[:2], first[:2])
	}
	// Flags are not cached: a STORE shows at once.
	if _, _, _, err := s.StoreFlags(ctx, mb.ID, uids[:1], store.FlagsAdd, store.Flags{System: store.FlagSeen}, 0); err != nil {
		t.Fatal(err)
	}
	if got := fetchEnv(t, s, mb.ID, uids[:1])[0]; got != fmt.Sprintf("%d:%d:(envelope 0):structure 0:10:%d", uids[0], store.FlagSeen, int(1e9)) {
		t.Fatalf("after STORE: %q", got)
	}
	// An expunged message is not answered, cached or not.
	if _, _, err := s.Expunge(ctx, mb.ID, uids[3:4]); err != nil {
		t.Fatal(err)
	}
	if got := fetchEnv(t, s, mb.ID, uids[2:5]); len(got) != 2 {
		t.Fatalf("fetch over an expunged message: %q", got)
	}
	// A message not cached yet is read from the database.
	more, _, err := s.AppendMessages(ctx, mb.ID, recMessages(100, 1))
	if err != nil {
		t.Fatal(err)
	}
	if got := fetchEnv(t, s, mb.ID, more); len(got) != 1 || got[0] != fmt.Sprintf("%d:0:(envelope 100):structure 100:10:%d", more[0], int(1e9)+100) {
		t.Fatalf("new message: %q", got)
	}
	s.recs.mu.Lock()
	n, bytes := len(s.recs.m), s.recs.bytes
	s.recs.mu.Unlock()
	if n != 51 || bytes <= 51*recEntOverhead {
		t.Fatalf("cache holds %d entries, %d bytes", n, bytes)
	}
}

// The cache never holds more than its bound, dropping the least
// recently used records first.
func TestRecordCacheBound(t *testing.T) {
	c := newRecCache(10 * (recEntOverhead + 20))
	ents := make([]indexed, 30)
	for i := range ents {
		ents[i].uid = store.UID(i + 1)
		c.add(1, 7, &store.Message{UID: ents[i].uid, BlobID: "0123456789", Envelope: []byte("0123456789")}, false)
		if c.bytes > c.max {
			t.Fatalf("%d bytes over a bound of %d", c.bytes, c.max)
		}
	}
	hits, missed := c.lookup(1, 7, ents, false, nil, nil)
	if len(hits) != 30 || len(missed) != 20 || missed[0] != 1 || missed[19] != 20 || hits[29] == nil {
		t.Fatalf("after 30 adds to a 10-entry cache: %d missed (%v)", len(missed), missed)
	}
	// Another UIDVALIDITY is another mailbox.
	if _, missed := c.lookup(1, 8, ents[29:], false, nil, nil); len(missed) != 1 {
		t.Fatal("a hit across UIDVALIDITY")
	}
	if newRecCache(0) != nil || newRecCache(-1) != nil {
		t.Fatal("a cache with no bytes")
	}
}

// A scan (store.WithBulk, FETCH 1:* of 512 messages or more) goes through
// the record cache when the whole mailbox fits in a share of it, for
// ENVELOPE alone too (the flag index says which messages exist), and
// bypasses it when the mailbox is too large for that: then the cache
// keeps what it held.
func TestRecordCacheScan(t *testing.T) {
	ctx := context.Background()
	// 600 records, counted at recEntGuess (1200 bytes) while the cache is
	// empty, fit in half of a 2 MiB cache, not in half of 200 KiB.
	for _, tc := range []struct {
		name   string
		bytes  int
		cached bool
	}{{"fits", 2 << 20, true}, {"too large", 200 << 10, false}} {
		t.Run(tc.name, func(t *testing.T) {
			s, mb, uids := openInbox(t, "", Options{FlagIndexMin: 1, RecordCacheBytes: tc.bytes}, recMessages(0, 600))
			envs := func() []string {
				var out []string
				err := s.FetchMessages(store.WithBulk(ctx), mb.ID, uids, store.FieldEnvelope, func(m *store.Message) error {
					out = append(out, fmt.Sprintf("%d:%s", m.UID, m.Envelope))
					return nil
				})
				if err != nil {
					t.Fatal(err)
				}
				return out
			}
			first := envs()
			if len(first) != 600 || first[9] != fmt.Sprintf("%d:(envelope 9)", uids[9]) {
				t.Fatalf("first scan: %d, %q", len(first), first[9])
			}
			if _, err := s.wconn.ExecContext(ctx, `UPDATE messages SET envelope = 'changed' WHERE mailbox = ?`, mb.ID); err != nil {
				t.Fatal(err)
			}
			again := envs()
			fromCache := fmt.Sprint(again) == fmt.Sprint(first)
			if fromCache != tc.cached {
				t.Fatalf("second scan from the cache: %v, want %v (%q)", fromCache, tc.cached, again[9])
			}
			s.recs.mu.Lock()
			n := len(s.recs.m)
			s.recs.mu.Unlock()
			if tc.cached != (n == 600) || (!tc.cached && n != 0) {
				t.Fatalf("cache holds %d entries after the scans", n)
			}
		})
	}
}

// TestRecordCacheHeader: a FETCH that needs the header (a section,
// HEADER.FIELDS) is answered from the record cache the second time,
// header and all (the test changes the rows behind the store's back to
// tell the two apart); an entry made by a FETCH without the header is
// read again once the header is asked for, and then holds it; entries
// of envelope listings stay without the header's bytes.
func TestRecordCacheHeader(t *testing.T) {
	ctx := context.Background()
	msgs := recMessages(0, 20)
	for i := range msgs {
		msgs[i].Header = []byte(fmt.Sprintf("Subject: header %d\r\n\r\n", i))
	}
	s, mb, uids := openInbox(t, "", Options{FlagIndexMin: 1}, msgs)
	const withHeader = store.FieldFlags | store.FieldHeader | store.FieldStructure | store.FieldBasics
	fetch := func(uids []store.UID, fields store.Fields) []string {
		t.Helper()
		var out []string
		err := s.FetchMessages(ctx, mb.ID, uids, fields, func(m *store.Message) error {
			out = append(out, fmt.Sprintf("%d:%s:%s:%s", m.UID, m.Header, m.Structure, m.Envelope))
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	// The first ten are listed by envelope first: cached without header.
	fetch(uids[:10], store.FieldFlags|store.FieldEnvelope)
	s.recs.mu.Lock()
	for _, u := range uids[:10] {
		if e := s.recs.m[recKey{mb.ID, mb.UIDValidity, u}]; e == nil || e.hasHeader || e.header != nil {
			t.Fatalf("UID %d after an envelope listing: %+v", u, e)
		}
	}
	s.recs.mu.Unlock()
	first := fetch(uids, withHeader)
	if len(first) != 20 || first[3] != fmt.Sprintf("%d:Subject: header 3\r\n\r\n:structure 3:", uids[3]) {
		t.Fatalf("first fetch with the header: %d %q", len(first), first[3])
	}
	misses := s.recs.misses.Load()
	if _, err := s.wconn.ExecContext(ctx, `UPDATE messages SET header = 'changed', structure = 'changed' WHERE mailbox = ?`, mb.ID); err != nil {
		t.Fatal(err)
	}
	if again := fetch(uids, withHeader); fmt.Sprint(again) != fmt.Sprint(first) {
		t.Fatalf("second fetch with the header did not come from the cache:\n%q\n%q", again[:2], first[:2])
	}
	if m := s.recs.misses.Load(); m != misses {
		t.Fatalf("%d misses on the second fetch", m-misses)
	}
	// Expunged messages are not answered from the cache.
	if _, _, err := s.Expunge(ctx, mb.ID, uids[:2]); err != nil {
		t.Fatal(err)
	}
	if got := fetch(uids[:4], withHeader); len(got) != 2 {
		t.Fatalf("fetch over expunged messages: %q", got)
	}
}
