package storetest

import (
	"context"
	"slices"
	"testing"

	"barid/internal/store"
)

// testTextIndex: the full-text index bookkeeping of store.TextIndexer.
// Every delivered content is pending (and a candidate for any needle)
// until indexed; an indexed content is a candidate only for needles
// whose trigrams it holds; a COPY, a MOVE and a second delivery of the
// same content share its entry; expunging the last message that holds
// a content makes its entry an orphan that PurgeTextIndex removes.
func testTextIndex(t *testing.T, open func(t *testing.T) store.Store) {
	s := openClosed(t, open)
	ti, ok := s.(store.TextIndexer)
	if !ok {
		t.Skip("store has no text index")
	}
	ctx := context.Background()
	a, in := setup(t, s)
	other := mkbox(t, s, a.ID, "Other")
	_, _, err := s.AppendMessages(ctx, in.ID, []store.NewMessage{msg(1), msg(2), msg(3)})
	noErr(t, err)
	cands := func(mb int64, needles ...string) []store.UID {
		t.Helper()
		got, err := ti.TextCandidates(ctx, mb, needles)
		noErr(t, err)
		return got
	}
	// status is TextIndexStatus, checked against TextIndexLag, which
	// must count the same pending contents.
	status := func() (store.TextIndexStatus, error) {
		t.Helper()
		st, err := ti.TextIndexStatus(ctx)
		noErr(t, err)
		lag, err := ti.TextIndexLag(ctx)
		noErr(t, err)
		if lag != st.Pending {
			t.Fatalf("TextIndexLag %d, TextIndexStatus says %d pending", lag, st.Pending)
		}
		return st, nil
	}
	if lag, err := ti.TextIndexLag(ctx); err != nil || lag != 3 {
		t.Fatalf("TextIndexLag after three deliveries = %d, %v; want 3", lag, err)
	}
	want := func(what string, got []store.UID, want ...store.UID) {
		t.Helper()
		if !slices.Equal(got, want) && !(len(got) == 0 && len(want) == 0) {
			t.Fatalf("%s = %v, want %v", what, got, want)
		}
	}
	pend, err := ti.TextPending(ctx, 0, 100)
	noErr(t, err)
	if len(pend) != 3 {
		t.Fatalf("pending %+v, want 3 contents", pend)
	}
	for _, p := range pend {
		if p.MailboxID != in.ID || p.BlobID != msg(int(p.UID)).BlobID {
			t.Fatalf("pending %+v does not name its message", p)
		}
	}
	want("candidates before indexing", cands(in.ID, "hello"), 1, 2, 3)
	if _, err := ti.TextCandidates(ctx, in.ID, []string{"hi"}); err != store.ErrNoTrigram {
		t.Fatalf("two-character needle: err %v, want ErrNoTrigram", err)
	}

	noErr(t, ti.IndexText(ctx, []store.TextDoc{
		{BlobID: msg(1).BlobID, Head: "from: ann\n", Body: "hello world\n"},
		{BlobID: msg(2).BlobID, Head: "subject: greetings\nfrom: bob\n", Body: "goodbye world 100% _x_\n"},
		{BlobID: msg(3).BlobID, Body: "σίγμα ς κόσμος\n"},
	}))
	pend, err = ti.TextPending(ctx, 0, 100)
	noErr(t, err)
	want("pending after indexing", pendingUIDs(pend))
	want("hello", cands(in.ID, "hello"), 1)
	want("world", cands(in.ID, "world"), 1, 2)
	want("hello AND world", cands(in.ID, "hello", "world"), 1)
	want("rld", cands(in.ID, "rld"), 1, 2)
	want("σίγ", cands(in.ID, "σίγ"), 3)
	want("ς κ", cands(in.ID, "ς κ"), 3)
	want("% _", cands(in.ID, "0% _x"), 2)
	want("absent", cands(in.ID, "zanzibar"))
	// TextLookup: every match is in maybe, and sure holds matches only;
	// a needle that begins a word is answered for sure by every store.
	lookup := func(mb int64, needle string, body bool, matches, sureAtLeast []store.UID) {
		t.Helper()
		maybe, sure, err := ti.TextLookup(ctx, mb, needle, body)
		noErr(t, err)
		for _, u := range matches {
			if !slices.Contains(maybe, u) {
				t.Fatalf("TextLookup(%q, body %v): maybe %v lacks match %d", needle, body, maybe, u)
			}
		}
		for _, u := range sure {
			if !slices.Contains(matches, u) || !slices.Contains(maybe, u) {
				t.Fatalf("TextLookup(%q, body %v): sure %v has %d, not a match (matches %v, maybe %v)", needle, body, sure, u, matches, maybe)
			}
		}
		for _, u := range sureAtLeast {
			if !slices.Contains(sure, u) {
				t.Fatalf("TextLookup(%q, body %v): sure %v lacks %d", needle, body, sure, u)
			}
		}
		if !slices.IsSorted(maybe) || !slices.IsSorted(sure) {
			t.Fatalf("TextLookup(%q): not ascending: %v %v", needle, maybe, sure)
		}
	}
	u := func(us ...store.UID) []store.UID { return us }
	lookup(in.ID, "world", true, u(1, 2), u(1, 2))
	lookup(in.ID, "hello", false, u(1), u(1))
	lookup(in.ID, "greetings", false, u(2), u(2))
	lookup(in.ID, "greetings", true, nil, nil)
	lookup(in.ID, "bob", true, nil, nil)
	lookup(in.ID, "orld", false, u(1, 2), nil)
	lookup(in.ID, "σίγ", false, u(3), u(3))
	lookup(in.ID, "κόσμος", true, u(3), u(3))
	lookup(in.ID, "hello world", false, u(1), nil)
	lookup(in.ID, "ann\nhello", false, nil, nil) // across the join: may be a candidate, never sure
	lookup(in.ID, "0% _x", true, u(2), nil)
	lookup(in.ID, "zanzibar", false, nil, nil)
	if _, _, err := ti.TextLookup(ctx, in.ID, "hi", false); err != store.ErrNoTrigram {
		t.Fatalf("TextLookup of a two-character needle: err %v, want ErrNoTrigram", err)
	}
	st, err := status()
	noErr(t, err)
	if st.Indexed != 3 || st.Pending != 0 || st.Bytes <= 0 {
		t.Fatalf("status %+v, want 3 indexed, none pending, some bytes", st)
	}

	// COPY and MOVE share the entry; so does the same content delivered
	// again.
	res, _, err := s.CopyMessages(ctx, in.ID, []store.UID{1}, other.ID)
	noErr(t, err)
	mres, _, err := s.MoveMessages(ctx, in.ID, []store.UID{2}, other.ID)
	noErr(t, err)
	dup, _, err := s.AppendMessages(ctx, other.ID, []store.NewMessage{msg(3)})
	noErr(t, err)
	pend, err = ti.TextPending(ctx, 0, 100)
	noErr(t, err)
	want("pending after copy, move, same content", pendingUIDs(pend))
	want("hello in Other", cands(other.ID, "hello"), res.DstUIDs[0])
	want("goodbye in Other", cands(other.ID, "goodbye"), mres.DstUIDs[0])
	want("goodbye in INBOX after move", cands(in.ID, "goodbye"))
	want("σίγμα in Other", cands(other.ID, "σίγμα"), dup[0])
	lookup(other.ID, "hello", true, res.DstUIDs, res.DstUIDs)
	lookup(other.ID, "ello", true, res.DstUIDs, nil)
	lookup(other.ID, "oodby", true, mres.DstUIDs, nil)
	lookup(other.ID, "ίγμ", true, dup, nil)
	if maybe, _, err := ti.TextLookup(ctx, in.ID, "oodby", true); err != nil || len(maybe) != 0 {
		t.Fatalf("oodby in INBOX after the move: maybe %v (%v), want none", maybe, err)
	}

	// A new content is pending, and a candidate, until indexed.
	nu, _, err := s.AppendMessages(ctx, in.ID, []store.NewMessage{msg(4)})
	noErr(t, err)
	want("hello with one pending", cands(in.ID, "hello"), 1, nu[0])
	lookup(in.ID, "hello", false, u(1, nu[0]), u(1))
	if _, sure, err := ti.TextLookup(ctx, in.ID, "hello", false); err != nil || slices.Contains(sure, nu[0]) {
		t.Fatalf("a pending message is sure (%v, %v)", sure, err)
	}

	// Expunge: the entry stays while a message holds the content.
	expunge := func(mb int64, uids ...store.UID) {
		t.Helper()
		_, _, _, err := s.StoreFlags(ctx, mb, uids, store.FlagsAdd, store.FlagsFromNames([]string{`\Deleted`}), 0)
		noErr(t, err)
		_, _, err = s.Expunge(ctx, mb, uids)
		noErr(t, err)
	}
	expunge(in.ID, 1)
	n, err := ti.PurgeTextIndex(ctx)
	noErr(t, err)
	if n != 0 {
		t.Fatalf("purged %d entries while copies remain", n)
	}
	want("hello in Other after the original's expunge", cands(other.ID, "hello"), res.DstUIDs[0])
	if maybe, _, err := ti.TextLookup(ctx, in.ID, "ello", true); err != nil || slices.Contains(maybe, 1) {
		t.Fatalf("ello in INBOX after the expunge: maybe %v (%v), want no UID 1", maybe, err)
	}
	lookup(other.ID, "ello", true, res.DstUIDs, nil)
	expunge(other.ID, res.DstUIDs[0])
	st, err = status()
	noErr(t, err)
	if st.Orphans != 1 {
		t.Fatalf("status %+v, want 1 orphan", st)
	}
	n, err = ti.PurgeTextIndex(ctx)
	noErr(t, err)
	if n != 1 {
		t.Fatalf("purged %d entries, want 1", n)
	}
	st, err = status()
	noErr(t, err)
	if st.Indexed != 2 || st.Orphans != 0 || st.Pending != 1 {
		t.Fatalf("status %+v, want 2 indexed, 1 pending, no orphans", st)
	}
	// An expunged pending content leaves the list; indexing it late is
	// a no-op.
	expunge(in.ID, nu[0])
	pend, err = ti.TextPending(ctx, 0, 100)
	noErr(t, err)
	want("pending after expunging the pending message", pendingUIDs(pend))
	noErr(t, ti.IndexText(ctx, []store.TextDoc{{BlobID: msg(4).BlobID, Body: "late"}}))
	st, err = status()
	noErr(t, err)
	if st.Indexed != 2 {
		t.Fatalf("status %+v after a late IndexText, want 2 indexed", st)
	}

	// TextPending filters by account.
	b := must[*store.Account](t)(s.CreateAccount(ctx, "other@example.org", nil))
	bin := inbox(t, s, b.ID)
	_, _, err = s.AppendMessages(ctx, bin.ID, []store.NewMessage{msg(5)})
	noErr(t, err)
	pa, err := ti.TextPending(ctx, a.ID, 100)
	noErr(t, err)
	pb, err := ti.TextPending(ctx, b.ID, 100)
	noErr(t, err)
	if len(pa) != 0 || len(pb) != 1 || pb[0].MailboxID != bin.ID {
		t.Fatalf("pending per account: %+v, %+v", pa, pb)
	}
	// Line breaks in the text and the needle: a store may keep each line
	// once and drop the CR before LF (store/postgres TextLines), so a
	// needle with breaks must still find its message.
	lbox := mkbox(t, s, a.ID, "Lines")
	lines, _, err := s.AppendMessages(ctx, lbox.ID, []store.NewMessage{msg(6)})
	noErr(t, err)
	noErr(t, ti.IndexText(ctx, []store.TextDoc{{BlobID: msg(6).BlobID,
		Head: "from: cyd\r\nsubject: lines\r\nreply once\r\n",
		Body: "reply once\r\nreply once\r\nthanks, cyd\r\n\r\nreply once\n"}}))
	lookup(lbox.ID, "once\r\nreply once", true, lines, nil)
	lookup(lbox.ID, "once\r\nthanks", true, lines, nil)
	lookup(lbox.ID, "cyd\r\n\r\nreply", true, lines, nil)
	lookup(lbox.ID, "cyd\r\nsubject: li", false, lines, nil)
	lookup(lbox.ID, "lines\r\nreply once\r", false, lines, nil)
	lookup(lbox.ID, "reply once\r", true, lines, nil)
	lookup(lbox.ID, "reply once", true, lines, nil)
	lookup(lbox.ID, "once", true, lines, lines)
	lookup(lbox.ID, "subject", false, lines, lines)
	lookup(lbox.ID, "subject", true, nil, nil)
	want("cyd\r\nreply", cands(lbox.ID, "cyd\r\nsubject", "reply once\r\n"), lines...)
}

func pendingUIDs(ps []store.TextPending) []store.UID {
	var out []store.UID
	for _, p := range ps {
		out = append(out, p.UID)
	}
	return out
}

// RunText runs the suite's full-text cases only, for a store variant
// that changes nothing but how lookups are answered.
func RunText(t *testing.T, open func(t *testing.T) store.Store) {
	for name, fn := range map[string]func(t *testing.T, open func(t *testing.T) store.Store){
		"TextIndex": testTextIndex, "TextInsideWords": testTextInsideWords, "TextClaim": testTextClaim,
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			fn(t, open)
		})
	}
}
