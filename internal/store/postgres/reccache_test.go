package postgres

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"barid/internal/blob"
	"barid/internal/blob/tiered"
	"barid/internal/store"
)

// TestEnvelopeCache: node A's second FETCH (FLAGS RFC822.SIZE ENVELOPE)
// of a page reads msgflags alone and takes the ENVELOPEs from its
// cache, and what it answers stays what the store holds while node B
// changes flags, expunges and appends (an ENVELOPE never changes for a
// mailbox and UID, so the cache needs no invalidation); a request with
// other wide fields, or with the cache off, joins messages as before.
func TestEnvelopeCache(t *testing.T) {
	u, a, tr, b, _, in := tracedNodes(t, "user", nil, "INBOX")
	ctx := context.Background()
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
		return fetchByUID(t, s, in.ID, want, f)
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

// TestRecCacheBound: the cache holds at most about its budget, keeps
// what was just used, and drops the oldest generation.
func TestRecCacheBound(t *testing.T) {
	env := make([]byte, 100)
	c := newRecCache(10 * (&recEnt{envelope: env}).cost())
	for u := store.UID(1); u <= 100; u++ {
		c.fill(&store.Message{MailboxID: 1, UID: u, Envelope: env}, store.FieldEnvelope)
		if n := c.bytes(); n > c.max {
			t.Fatalf("after %d entries the cache holds %d bytes, budget %d", u, n, c.max)
		}
	}
	if _, ok := c.lookupRecs(1, []store.UID{100}, store.FieldEnvelope, false); !ok {
		t.Fatal("the last entry put is gone")
	}
	if _, ok := c.lookupRecs(1, []store.UID{1}, store.FieldEnvelope, false); ok {
		t.Fatal("the first of 100 entries is still there with room for 10")
	}
	if _, ok := c.lookupRecs(1, []store.UID{100}, store.FieldEnvelope|store.FieldStructure, false); ok {
		t.Fatal("an entry read without its structure answered for it")
	}
	if newRecCache(-1).on() || newRecCache(0).on() {
		t.Fatal("a cache of no bytes is on")
	}
	// A THREADID of 0 may still change (the backfill): not cached.
	c.fill(&store.Message{MailboxID: 2, UID: 1, BlobID: "x"}, store.FieldBasics)
	if _, ok := c.lookupRecs(2, []store.UID{1}, store.FieldBasics, false); ok {
		t.Fatal("a record without a THREADID was cached")
	}
}

// memFiles is a blob store in memory that counts its opens.
type memFiles struct {
	blobs map[string][]byte
	opens int
}

func (f *memFiles) Create(context.Context) (blob.Writer, error) { return nil, errors.ErrUnsupported }
func (f *memFiles) Open(_ context.Context, id string) (blob.Reader, error) {
	b, ok := f.blobs[id]
	if !ok {
		return nil, blob.ErrNotFound
	}
	f.opens++
	return memReader{bytes.NewReader(b)}, nil
}
func (f *memFiles) Delete(context.Context, string) error                                { return nil }
func (f *memFiles) List(context.Context, func(id string, ageSeconds int64) error) error { return nil }

type memReader struct{ *bytes.Reader }

func (memReader) Close() error { return nil }

// TestWholeMessageCache: node A's second FETCH of whole messages (the
// fields a FETCH BODY.PEEK[] asks, with store.FieldInline) reads
// msgflags alone, taking records and bytes from its caches, and answers
// what the store holds while node B changes flags and expunges; the
// bytes of a message in the blob store come through blob/tiered, which
// keeps them in the same cache and reads neither PostgreSQL nor the
// blob store for them again.
func TestWholeMessageCache(t *testing.T) {
	u, a, tr, b, _, in := tracedNodes(t, "user", nil, "INBOX")
	ctx := context.Background()
	files := &memFiles{blobs: map[string][]byte{}}
	var msgs []store.NewMessage
	for i := range 4 {
		body := []byte(fmt.Sprintf("Subject: %d\r\n\r\nbody %d\r\n", i, i))
		id := fmt.Sprintf("%x", sha256.Sum256(body))
		nm := store.NewMessage{BlobID: id, Size: int64(len(body)), Header: body[:15], Structure: []byte(fmt.Sprint("s", i)),
			Envelope: []byte(fmt.Sprint("e", i)), InternalDate: time.Unix(int64(1e9+i), 0)}
		if i == 3 {
			files.blobs[id] = body // in the blob store, not inline
		} else {
			nm.Inline = body
		}
		msgs = append(msgs, nm)
	}
	uids, _, err := b.AppendMessages(ctx, in.ID, msgs)
	if err != nil {
		t.Fatal(err)
	}
	const fields = store.FieldFlags | store.FieldSize | store.FieldBasics | store.FieldHeader | store.FieldStructure | store.FieldInline
	fetch := func(s *Store, want []store.UID) map[store.UID]store.Message {
		t.Helper()
		return fetchByUID(t, s, in.ID, want, fields)
	}
	same := func(step string, want, got map[store.UID]store.Message) {
		t.Helper()
		if len(got) != len(want) {
			t.Fatalf("%s: %d messages, the store has %d", step, len(got), len(want))
		}
		for u, w := range want {
			g, ok := got[u]
			if !ok || g.BlobID != w.BlobID || g.Size != w.Size || g.ModSeq != w.ModSeq || !g.Flags.Equal(w.Flags) ||
				!bytes.Equal(g.Inline, w.Inline) || (g.Inline == nil) != (w.Inline == nil) || !bytes.Equal(g.Structure, w.Structure) ||
				!bytes.Equal(g.Header, w.Header) || !g.InternalDate.Equal(w.InternalDate) || g.EmailID != w.EmailID || g.ThreadID != w.ThreadID {
				t.Fatalf("%s: UID %d: got %+v, the store has %+v", step, u, g, w)
			}
		}
	}
	wide := func() bool {
		_, st := tr.take()
		for _, q := range st {
			if strings.Contains(q, "messages m") || strings.Contains(q, "blobdata") {
				return true
			}
		}
		return false
	}
	tr.take()
	same("first fetch", fetch(b, uids), fetch(a, uids))
	if !wide() {
		t.Fatal("first fetch did not read records and bytes")
	}
	same("second fetch", fetch(b, uids), fetch(a, uids))
	if wide() {
		t.Fatal("second fetch read records or bytes: the cache missed")
	}
	// Node B changes flags and expunges UID 2: A's next fetch, from its
	// caches, has both at once.
	if _, _, _, err := b.StoreFlags(ctx, in.ID, uids, store.FlagsAdd, store.Flags{System: store.FlagFlagged}, 0); err != nil {
		t.Fatal(err)
	}
	if _, _, err := b.Expunge(ctx, in.ID, []store.UID{uids[1]}); err != nil {
		t.Fatal(err)
	}
	same("after B's STORE and EXPUNGE", fetch(b, uids), fetch(a, uids))
	if wide() {
		t.Fatal("fetch after B's changes read records or bytes")
	}
	// blob/tiered over node A: the inline message's bytes come from the
	// cache (no query), the blob-store message's are read once and then
	// come from the cache too.
	tb := tiered.New(a, files)
	for range 2 {
		for i, id := range []string{msgs[0].BlobID, msgs[3].BlobID} {
			r, err := tb.Open(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			got := make([]byte, r.Size())
			if _, err := r.ReadAt(got, 0); err != nil && err != io.EOF {
				t.Fatal(err)
			}
			r.Close()
			want := msgs[0].Inline
			if i == 1 {
				want = files.blobs[id]
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("blob %s: %q, want %q", id, got, want)
			}
		}
	}
	// One statement: the first open of the blob-store message asked
	// PostgreSQL first.
	if n, st := tr.take(); n != 1 || files.opens != 1 {
		t.Fatalf("tiered opens: %d statements %q, %d blob-store opens; want 1 and 1", n, st, files.opens)
	}
	// With the blob cache off, whole-message fetches read the bytes.
	off, tr2 := tracedStore(t, u, Options{BlobCacheBytes: -1})
	fetch(off, uids)
	fetch(off, uids)
	if _, st := tr2.take(); len(st) != 2 || !strings.Contains(st[1], "blobdata") {
		t.Fatalf("with the blob cache off: %q", st)
	}
}

// fetchByUID is FetchMessages of uids in mailbox, by UID.
func fetchByUID(t *testing.T, s *Store, mailbox int64, uids []store.UID, f store.Fields) map[store.UID]store.Message {
	t.Helper()
	got := map[store.UID]store.Message{}
	if err := s.FetchMessages(context.Background(), mailbox, uids, f, func(m *store.Message) error {
		got[m.UID] = *m
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return got
}
