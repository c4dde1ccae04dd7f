package sqlite

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"barid/internal/store"
)

// syncDocMap loads document maps in the lookup that needs them, for
// the rest of the test (docMapAsync).
func syncDocMap(t *testing.T) {
	docMapAsync.Store(false)
	t.Cleanup(func() { docMapAsync.Store(true) })
}

// docMapWords are the words of TestDocMapAgreesWithSQL's texts: few, so
// that every lookup hits many documents.
var docMapWords = []string{"regards", "thanks", "zanzibarite", "meeting", "kelmonaut", "data"}

func docMapText(r *rand.Rand) string {
	var b []byte
	for i := r.IntN(6); i >= 0; i-- {
		b = append(b, docMapWords[r.IntN(len(docMapWords))]...)
		b = append(b, ' ')
	}
	return string(b)
}

// TestDocMapAgreesWithSQL: every TextLookup answered through the
// mailbox's document map (ftsdocmap.go; DocMapMinHits 1, so every
// lookup uses it) equals the SQL join's answer in the same state, while
// the map is brought forward through what changes fts_where: new
// messages (pending, then indexed), copies and moves of indexed
// contents into the mailbox, expunges, orphans purged (the highest
// document id deleted and given again to a new content), a mailbox
// deleted and created again, and a snapshot older than the map.
func TestDocMapAgreesWithSQL(t *testing.T) {
	syncDocMap(t)
	ctx := context.Background()
	r := rand.New(rand.NewPCG(7, 11))
	serial := 0
	newMsgs := func(n int) ([]store.NewMessage, []store.TextDoc) {
		msgs := make([]store.NewMessage, n)
		docs := make([]store.TextDoc, n)
		for i := range msgs {
			serial++
			msgs[i] = store.NewMessage{BlobID: fmt.Sprintf("blob%d", serial), Size: 10}
			docs[i] = store.TextDoc{BlobID: msgs[i].BlobID, Head: docMapText(r), Body: docMapText(r)}
		}
		return msgs, docs
	}
	msgs, docs := newMsgs(120)
	s, inbox, _ := openInbox(t, "", Options{DocMapMinHits: 1}, msgs)
	if err := s.IndexText(ctx, docs[:100]); err != nil { // 20 stay pending
		t.Fatal(err)
	}
	other, _, err := s.CreateMailbox(ctx, inbox.AccountID, "Other", "")
	if err != nil {
		t.Fatal(err)
	}
	omsgs, odocs := newMsgs(40)
	if _, _, err := s.AppendMessages(ctx, other.ID, omsgs); err != nil {
		t.Fatal(err)
	}
	if err := s.IndexText(ctx, odocs); err != nil {
		t.Fatal(err)
	}
	mapped := 0
	check := func(step string, mb int64) {
		t.Helper()
		for _, w := range append(slices.Clone(docMapWords), "egard", "anks") {
			for _, body := range []bool{true, false} {
				dm := s.docmaps
				s.docmaps = nil
				wantMaybe, wantSure, err := s.TextLookup(ctx, mb, w, body)
				s.docmaps = dm
				if err != nil {
					t.Fatal(err)
				}
				maybe, sure, err := s.TextLookup(ctx, mb, w, body)
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(maybe, wantMaybe) || !slices.Equal(sure, wantSure) {
					t.Fatalf("%s: TextLookup(%q, body %v) through the map: maybe %v sure %v; SQL: maybe %v sure %v",
						step, w, body, maybe, sure, wantMaybe, wantSure)
				}
			}
		}
		s.docmaps.mu.Lock()
		if b := s.docmaps.boxes[mb]; b != nil && b.loaded {
			mapped++
		}
		s.docmaps.mu.Unlock()
	}
	check("first load", inbox.ID)

	// New messages: pending first, then indexed (documents above the
	// map's cover).
	msgs, docs = newMsgs(30)
	if _, _, err := s.AppendMessages(ctx, inbox.ID, msgs); err != nil {
		t.Fatal(err)
	}
	check("pending arrivals", inbox.ID)
	if err := s.IndexText(ctx, docs); err != nil {
		t.Fatal(err)
	}
	check("arrivals indexed", inbox.ID)

	// Copies and a move of indexed contents: new UIDs of old documents.
	ouids, err := s.UIDsAfter(ctx, other.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.CopyMessages(ctx, other.ID, ouids[:10], inbox.ID); err != nil {
		t.Fatal(err)
	}
	check("copies", inbox.ID)
	if _, _, err := s.MoveMessages(ctx, other.ID, ouids[10:20], inbox.ID); err != nil {
		t.Fatal(err)
	}
	check("move in", inbox.ID)
	check("move out", other.ID)

	// Expunges, some of them the only holders of their content, then
	// the orphans purged and the highest document id given again.
	uids, err := s.UIDsAfter(ctx, inbox.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	var gone []store.UID
	for i, u := range uids {
		if i%3 == 0 || i == len(uids)-1 {
			gone = append(gone, u)
		}
	}
	if _, _, err := s.Expunge(ctx, inbox.ID, gone); err != nil {
		t.Fatal(err)
	}
	check("expunged", inbox.ID)
	if _, err := s.PurgeTextIndex(ctx); err != nil {
		t.Fatal(err)
	}
	check("purged", inbox.ID)
	var top int64
	if err := s.read(ctx, func(r *reader) error {
		return r.c.conn.QueryRowContext(r.ctx, `SELECT max(id) FROM fts_docs`).Scan(&top)
	}); err != nil {
		t.Fatal(err)
	}
	msgs, docs = newMsgs(5)
	if _, _, err := s.AppendMessages(ctx, inbox.ID, msgs); err != nil {
		t.Fatal(err)
	}
	if err := s.IndexText(ctx, docs); err != nil {
		t.Fatal(err)
	}
	check("after purge", inbox.ID)
	// Expunge the newest and purge: its id is the highest and is given
	// to the next content.
	uids, _ = s.UIDsAfter(ctx, inbox.ID, 0)
	if _, _, err := s.Expunge(ctx, inbox.ID, uids[len(uids)-1:]); err != nil {
		t.Fatal(err)
	}
	if _, err := s.PurgeTextIndex(ctx); err != nil {
		t.Fatal(err)
	}
	msgs, docs = newMsgs(1)
	if _, _, err := s.AppendMessages(ctx, other.ID, msgs); err != nil {
		t.Fatal(err)
	}
	if err := s.IndexText(ctx, docs); err != nil {
		t.Fatal(err)
	}
	var reused int64
	if err := s.read(ctx, func(r *reader) error {
		return r.c.conn.QueryRowContext(r.ctx, `SELECT max(id) FROM fts_docs`).Scan(&reused)
	}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.CopyMessages(ctx, other.ID, []store.UID{store.UID(len(ouids) + 1)}, inbox.ID); err != nil {
		t.Fatal(err)
	}
	check("id given again", inbox.ID)

	// A content pending when the map was brought forward takes the
	// highest document id again (its holder expunged and purged): its
	// message is below the map's highest UID, so only the check of the
	// cover's last document finds it.
	msgs, docs = newMsgs(2)
	if _, _, err := s.AppendMessages(ctx, inbox.ID, msgs); err != nil {
		t.Fatal(err)
	}
	if err := s.IndexText(ctx, docs[:1]); err != nil {
		t.Fatal(err)
	}
	check("one of two indexed", inbox.ID)
	uids, _ = s.UIDsAfter(ctx, inbox.ID, 0)
	if _, _, err := s.Expunge(ctx, inbox.ID, uids[len(uids)-2:len(uids)-1]); err != nil {
		t.Fatal(err)
	}
	if _, err := s.PurgeTextIndex(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.IndexText(ctx, docs[1:]); err != nil {
		t.Fatal(err)
	}
	check("pending content at the reused id", inbox.ID)

	// A mailbox deleted and created again under the same name.
	if _, err := s.DeleteMailbox(ctx, inbox.AccountID, "Other"); err != nil {
		t.Fatal(err)
	}
	again, _, err := s.CreateMailbox(ctx, inbox.AccountID, "Other", "")
	if err != nil {
		t.Fatal(err)
	}
	msgs, docs = newMsgs(20)
	if _, _, err := s.AppendMessages(ctx, again.ID, msgs); err != nil {
		t.Fatal(err)
	}
	if err := s.IndexText(ctx, docs); err != nil {
		t.Fatal(err)
	}
	check("recreated", again.ID)
	if mapped < 8 {
		t.Fatalf("only %d steps answered through the map", mapped)
	}
	t.Logf("highest document %d, after reuse %d", top, reused)
}

// A lookup in a snapshot older than the map does not use it, and a map
// that does not fit in DocMapEntries is not kept.
func TestDocMapLimits(t *testing.T) {
	syncDocMap(t)
	ctx := context.Background()
	r := rand.New(rand.NewPCG(1, 2))
	msgs := make([]store.NewMessage, 50)
	docs := make([]store.TextDoc, 50)
	for i := range msgs {
		msgs[i] = store.NewMessage{BlobID: fmt.Sprintf("b%d", i), Size: 10}
		docs[i] = store.TextDoc{BlobID: msgs[i].BlobID, Body: "regards " + docMapText(r)}
	}
	s, inbox, _ := openInbox(t, "", Options{DocMapMinHits: 1, DocMapEntries: 40}, msgs)
	if err := s.IndexText(ctx, docs); err != nil {
		t.Fatal(err)
	}
	maybe, sure, err := s.TextLookup(ctx, inbox.ID, "regards", true)
	if err != nil || len(maybe) != 50 || len(sure) != 50 {
		t.Fatalf("lookup: %v, %d maybe, %d sure", err, len(maybe), len(sure))
	}
	s.docmaps.mu.Lock()
	n, used := len(s.docmaps.boxes), s.docmaps.used
	s.docmaps.mu.Unlock()
	if n != 0 || used != 0 {
		t.Fatalf("50 messages over fts_docmap_entries 40: %d maps, %d entries kept", n, used)
	}

	s2, inbox2, _ := openInbox(t, "", Options{DocMapMinHits: 1}, msgs)
	if err := s2.IndexText(ctx, docs); err != nil {
		t.Fatal(err)
	}
	// An old snapshot: a read transaction opened before the map moves.
	err = s2.bulkTx(ctx, func(old *reader) error {
		if _, err := s2.docMapFor(old, inbox2.ID, true); err != nil {
			return err
		}
		s2.docmaps.boxes[inbox2.ID].mu.Unlock()
		more := []store.NewMessage{{BlobID: "late", Size: 10}}
		if _, _, err := s2.AppendMessages(ctx, inbox2.ID, more); err != nil {
			return err
		}
		if err := s2.IndexText(ctx, []store.TextDoc{{BlobID: "late", Body: "regards"}}); err != nil {
			return err
		}
		if _, _, err := s2.TextLookup(ctx, inbox2.ID, "regards", true); err != nil { // moves the map on
			return err
		}
		b, err := s2.docMapFor(old, inbox2.ID, true)
		if b != nil {
			b.mu.Unlock()
			t.Errorf("a snapshot older than the map used it")
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// The first lookup of a mailbox without a map answers in SQL and loads
// the map in the background; once it is loaded, lookups use it.
func TestDocMapLoadsInBackground(t *testing.T) {
	ctx := context.Background()
	msgs := make([]store.NewMessage, 30)
	docs := make([]store.TextDoc, 30)
	for i := range msgs {
		msgs[i] = store.NewMessage{BlobID: fmt.Sprintf("b%d", i), Size: 10}
		docs[i] = store.TextDoc{BlobID: msgs[i].BlobID, Body: "regards"}
	}
	s, inbox, uids := openInbox(t, "", Options{DocMapMinHits: 1}, msgs)
	if err := s.IndexText(ctx, docs); err != nil {
		t.Fatal(err)
	}
	loaded := func() bool {
		s.docmaps.mu.Lock()
		b := s.docmaps.boxes[inbox.ID]
		s.docmaps.mu.Unlock()
		if b == nil {
			return false
		}
		b.mu.Lock()
		defer b.mu.Unlock()
		return b.loaded
	}
	for i := 0; ; i++ {
		maybe, sure, err := s.TextLookup(ctx, inbox.ID, "regards", true)
		if err != nil || !slices.Equal(maybe, uids) || !slices.Equal(sure, uids) {
			t.Fatalf("lookup %d: %v, maybe %v, sure %v, want %v", i, err, maybe, sure, uids)
		}
		if loaded() {
			break
		}
		if i == 1000 {
			t.Fatal("the document map was not loaded after 1000 lookups")
		}
		time.Sleep(time.Millisecond)
	}
	maybe, _, err := s.TextLookup(ctx, inbox.ID, "regards", true)
	if err != nil || !slices.Equal(maybe, uids) {
		t.Fatalf("lookup through the map: %v, %v", err, maybe)
	}
}

// FuzzDocMapHelpers checks the document map's array helpers against
// their plain forms: sortUIDSet against sort and compact (dense inputs
// take the bitmap path), uidsOf's gallop against a scan of every pair,
// merge against sorting the union, and parseInts against the list it
// was written from.
func FuzzDocMapHelpers(f *testing.F) {
	f.Add([]byte{1, 2, 3, 200, 7, 7, 9}, uint16(1500))
	f.Add([]byte{0, 0, 0}, uint16(3))
	f.Add([]byte{255, 1, 128, 64, 32}, uint16(4000))
	f.Fuzz(func(t *testing.T, seed []byte, n uint16) {
		r := rand.New(rand.NewPCG(uint64(len(seed)), uint64(n)))
		for _, b := range seed {
			r = rand.New(rand.NewPCG(r.Uint64()^uint64(b), uint64(n)))
		}
		span := 1 + int(n)%5000
		// sortUIDSet
		u := make([]store.UID, int(n)%3000)
		for i := range u {
			u[i] = store.UID(1 + r.IntN(span))
		}
		want := slices.Clone(u)
		slices.Sort(want)
		want = slices.Compact(want)
		if got := sortUIDSet(slices.Clone(u)); !slices.Equal(got, want) {
			t.Fatalf("sortUIDSet(%v) = %v, want %v", u, got, want)
		}
		// a map with repeats and dead entries, and documents to look up
		var b docBox
		for i := 0; i < int(n)%700; i++ {
			b.docs = append(b.docs, int64(r.IntN(span)))
			b.uids = append(b.uids, store.UID(r.IntN(4)*(1+r.IntN(span))))
		}
		sortPairs(b.docs, b.uids)
		if !slices.IsSorted(b.docs) {
			t.Fatalf("sortPairs left %v", b.docs)
		}
		var ds []int64
		for i := 0; i < int(n)%300; i++ {
			ds = append(ds, int64(r.IntN(span)))
		}
		slices.Sort(ds)
		ds = slices.Compact(ds)
		var naive []store.UID
		for _, d := range ds {
			for i := range b.docs {
				if b.docs[i] == d && b.uids[i] != 0 {
					naive = append(naive, b.uids[i])
				}
			}
		}
		if got := b.uidsOf(nil, ds); !slices.Equal(got, naive) {
			t.Fatalf("uidsOf(%v) over %v/%v = %v, want %v", ds, b.docs, b.uids, got, naive)
		}
		// merge: live pairs plus additions, sorted by document
		addD := []int64{int64(r.IntN(span)), int64(r.IntN(span))}
		addU := []store.UID{1, 2}
		type pair struct {
			d int64
			u store.UID
		}
		var all []pair
		for i := range b.docs {
			if b.uids[i] != 0 {
				all = append(all, pair{b.docs[i], b.uids[i]})
			}
		}
		all = append(all, pair{addD[0], 1}, pair{addD[1], 2})
		b.dead = 0
		for _, x := range b.uids {
			if x == 0 {
				b.dead++
			}
		}
		b.merge(addD, addU)
		if !slices.IsSorted(b.docs) || len(b.docs) != len(all) || b.dead != 0 || slices.Contains(b.uids, 0) {
			t.Fatalf("merge: %v/%v from %d live pairs", b.docs, b.uids, len(all))
		}
		for _, p := range all {
			found := false
			for i := range b.docs {
				if b.docs[i] == p.d && b.uids[i] == p.u {
					found = true
				}
			}
			if !found {
				t.Fatalf("merge lost (%d, %d)", p.d, p.u)
			}
		}
		// parseInts
		var txt []byte
		for i, d := range ds {
			if i > 0 {
				txt = append(txt, ',')
			}
			txt = fmt.Appendf(txt, "%d", d)
		}
		if got, err := parseInts(nil, txt); err != nil || !slices.Equal(got, ds) && len(ds) > 0 {
			t.Fatalf("parseInts(%q) = %v, %v", txt, got, err)
		}
	})
}
