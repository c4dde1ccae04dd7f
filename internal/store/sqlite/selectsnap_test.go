package sqlite

import (
	"context"
	"slices"
	"testing"
	"unsafe"

	"barid/internal/store"
)

// SelectSnapshot answers what MessageUIDs, FirstUnseen and Keywords
// answer from SQLite, only once the flag index holds the mailbox; the
// UIDs it lends stay as they were while the index changes under them
// (appends, an insertion, compaction after expunges).
func TestSelectSnapshot(t *testing.T) {
	ctx := context.Background()
	s, mb, uids := openInbox(t, "", Options{FlagIndexMin: 1}, tinyMessages(0, 40))
	if _, ok, err := s.SelectSnapshot(ctx, mb.ID); err != nil || ok {
		t.Fatalf("before the index is loaded: ok %v, err %v", ok, err)
	}
	// Everything seen but the 7th and later every third; two keywords.
	if _, _, _, err := s.StoreFlags(ctx, mb.ID, uids[:6], store.FlagsAdd, store.Flags{System: store.FlagSeen}, 0); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := s.StoreFlags(ctx, mb.ID, uids[10:12], store.FlagsAdd, store.Flags{Keywords: []string{"Zeta", "$alpha"}}, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := s.box(ctx, mb.ID); err != nil {
		t.Fatal(err)
	}
	check := func() store.SelectSnapshot {
		t.Helper()
		snap, ok, err := s.SelectSnapshot(ctx, mb.ID)
		if err != nil || !ok {
			t.Fatalf("index loaded: ok %v, err %v", ok, err)
		}
		wantMB, wantUIDs, err := s.messageUIDsSQL(ctx, mb.ID)
		if err != nil {
			t.Fatal(err)
		}
		if *snap.Mailbox != *wantMB || !slices.Equal(snap.UIDs, wantUIDs) {
			t.Fatalf("snapshot %+v %v, SQL %+v %v", snap.Mailbox, snap.UIDs, wantMB, wantUIDs)
		}
		s.index.mu.Lock()
		b := s.index.boxes[mb.ID]
		s.index.mu.Unlock()
		s.index.mu.Lock()
		delete(s.index.boxes, mb.ID) // FirstUnseen from SQL
		s.index.mu.Unlock()
		first, err := s.FirstUnseen(ctx, mb.ID)
		s.index.mu.Lock()
		s.index.boxes[mb.ID] = b
		s.index.mu.Unlock()
		if err != nil || first != snap.FirstUnseen {
			t.Fatalf("first unseen %d, SQL %d (%v)", snap.FirstUnseen, first, err)
		}
		kws, err := s.Keywords(ctx, mb.ID)
		if err != nil || !slices.Equal(kws, snap.Keywords) {
			t.Fatalf("keywords %q, SQL %q (%v)", snap.Keywords, kws, err)
		}
		if cap(snap.UIDs) != len(snap.UIDs) {
			t.Fatalf("lent UIDs have capacity %d past length %d: an append would write into the index", cap(snap.UIDs), len(snap.UIDs))
		}
		return snap
	}
	snap := check()
	if snap.FirstUnseen != uids[6] || !snap.UIDsShared {
		t.Fatalf("first unseen %d (want %d), shared %v", snap.FirstUnseen, uids[6], snap.UIDsShared)
	}
	kept := slices.Clone(snap.UIDs)
	// Appends, then an insertion below the top (as a replay can bring)
	// and expunges past a quarter of the box, which compact the index.
	if _, _, err := s.AppendMessages(ctx, mb.ID, tinyMessages(100, 5)); err != nil {
		t.Fatal(err)
	}
	snap2 := check()
	s.index.mu.Lock()
	b := s.index.boxes[mb.ID]
	b.put(uids[3]+0, flagEnt{modseq: b.hms}) // an existing UID: replaced, no shift
	s.index.mu.Unlock()
	if _, _, err := s.Expunge(ctx, mb.ID, uids[1:20]); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(snap.UIDs, kept) {
		t.Fatalf("lent UIDs changed under the borrower: %v, were %v", snap.UIDs, kept)
	}
	if len(snap2.UIDs) != len(kept)+5 || !slices.Equal(snap2.UIDs[:len(kept)], kept) {
		t.Fatalf("second snapshot changed: %v", snap2.UIDs)
	}
	check()
	if n, err := s.VerifyFlagIndex(ctx); err != nil || n != 1 {
		t.Fatalf("verify: %d, %v", n, err)
	}
	// A mid-box insertion shifts the index's array: the lent copy must
	// not see it.
	snap3 := check()
	kept3 := slices.Clone(snap3.UIDs)
	s.index.mu.Lock()
	b = s.index.boxes[mb.ID]
	b.put(uids[1], flagEnt{modseq: b.hms})
	s.index.mu.Unlock()
	if !slices.Equal(snap3.UIDs, kept3) {
		t.Fatalf("an insertion changed lent UIDs: %v, were %v", snap3.UIDs, kept3)
	}
}

// CacheStats reports the memory of the flag index and the record cache,
// the server's memory for large mailboxes (docs/large-mailboxes.md).
func TestCacheStatsSizes(t *testing.T) {
	if got := int(unsafe.Sizeof(flagEnt{}) + unsafe.Sizeof(store.UID(0))); got != flagIndexEntryBytes {
		t.Fatalf("an index entry takes %d bytes, flagIndexEntryBytes says %d", got, flagIndexEntryBytes)
	}
	ctx := context.Background()
	s, mb, uids := openInbox(t, "", Options{FlagIndexMin: 1}, recMessages(0, 30))
	if st := s.CacheStats(); st.FlagIndexEntries != 0 || st.RecordBytes != 0 {
		t.Fatalf("before any read: %+v", st)
	}
	// UIDs alone (UID FETCH 1:* (UID)) come from the index and put
	// nothing in the record cache.
	n := 0
	err := s.FetchMessages(store.WithBulk(ctx), mb.ID, uids, 0, func(m *store.Message) error {
		if m.UID != uids[n] {
			t.Errorf("UID %d at %d, want %d", m.UID, n, uids[n])
		}
		n++
		return nil
	})
	if st := s.CacheStats(); err != nil || n != 30 || st.FlagIndexEntries != 30 || st.RecordBytes != 0 {
		t.Fatalf("after a FETCH of UIDs: %d messages (%v), %+v", n, err, st)
	}
	err = s.FetchMessages(ctx, mb.ID, uids, store.FieldFlags|store.FieldEnvelope, func(*store.Message) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	st := s.CacheStats()
	if st.FlagIndexEntries != 30 || st.FlagIndexBytes != 30*flagIndexEntryBytes || st.RecordBytes < 30*recEntOverhead {
		t.Fatalf("after a FETCH of 30 messages: %+v", st)
	}
}

// UIDsAfterRecent answers what UIDsAfter does, with the FIRSTRECENT that
// ClaimRecent leaves.
func TestUIDsAfterRecent(t *testing.T) {
	ctx := context.Background()
	s, mb, uids := openInbox(t, "", Options{FlagIndexMin: 1}, tinyMessages(0, 10))
	for _, after := range []store.UID{0, uids[4], uids[9]} {
		nu, err := s.UIDsAfterRecent(ctx, mb.ID, after)
		want, err2 := s.UIDsAfter(ctx, mb.ID, after)
		if err != nil || err2 != nil || !slices.Equal(nu.UIDs, want) || nu.FirstRecent != 1 {
			t.Fatalf("after %d: %+v (%v), UIDsAfter %v (%v)", after, nu, err, want, err2)
		}
	}
	prev, err := s.ClaimRecent(ctx, mb.ID, uids[6])
	if err != nil || prev != 1 {
		t.Fatalf("claim: %d, %v", prev, err)
	}
	if nu, err := s.UIDsAfterRecent(ctx, mb.ID, uids[2]); err != nil || nu.FirstRecent != uids[7] {
		t.Fatalf("after the claim: first recent %d (%v), want %d", nu.FirstRecent, err, uids[7])
	}
	// Nothing left to claim up to uids[6]: answered without a write, the
	// same FIRSTRECENT.
	if prev, err := s.ClaimRecent(ctx, mb.ID, uids[5]); err != nil || prev != uids[7] {
		t.Fatalf("second claim: %d, %v", prev, err)
	}
	if _, err := s.UIDsAfterRecent(ctx, mb.ID+100, 0); err != store.ErrNoMailbox {
		t.Fatalf("unknown mailbox: %v", err)
	}
}

// SelectSnapshotOf answers from the row the caller read (the one that
// resolved the mailbox's name) and memory when the flag index and the
// remembered keywords are current for it, and otherwise as
// SelectSnapshot does; a keyword defined without a new HIGHESTMODSEQ (a
// STORE whose messages were all expunged) is not missed.
func TestSelectSnapshotOf(t *testing.T) {
	ctx := context.Background()
	s, mb, uids := openInbox(t, "", Options{FlagIndexMin: 1}, tinyMessages(0, 20))
	if _, _, _, err := s.StoreFlags(ctx, mb.ID, uids[:3], store.FlagsAdd, store.Flags{System: store.FlagSeen, Keywords: []string{"$one"}}, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := s.box(ctx, mb.ID); err != nil {
		t.Fatal(err)
	}
	row := func() *store.Mailbox {
		t.Helper()
		m, err := s.Mailbox(ctx, mb.AccountID, "INBOX")
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	// of calls SelectSnapshotOf with a row whose Name is marked: the
	// answer carries the mark only when it came from the row given.
	of := func(m *store.Mailbox) (store.SelectSnapshot, bool) {
		t.Helper()
		probe := *m
		probe.Name = "from the caller's row"
		snap, ok, err := s.SelectSnapshotOf(ctx, &probe)
		if err != nil || !ok {
			t.Fatalf("SelectSnapshotOf: ok %v, err %v", ok, err)
		}
		want, ok, err := s.SelectSnapshot(ctx, mb.ID)
		if err != nil || !ok {
			t.Fatalf("SelectSnapshot: ok %v, err %v", ok, err)
		}
		got := *snap.Mailbox
		got.Name = want.Mailbox.Name
		if got != *want.Mailbox || !slices.Equal(snap.UIDs, want.UIDs) || snap.FirstUnseen != want.FirstUnseen ||
			!slices.Equal(snap.Keywords, want.Keywords) || !snap.UIDsShared {
			t.Fatalf("SelectSnapshotOf %+v %v first %d %q, SelectSnapshot %+v %v first %d %q", snap.Mailbox, snap.UIDs,
				snap.FirstUnseen, snap.Keywords, want.Mailbox, want.UIDs, want.FirstUnseen, want.Keywords)
		}
		return snap, snap.Mailbox.Name == probe.Name
	}
	// The first call remembers the keywords; the second needs no read.
	of(row())
	snap, fromRow := of(row())
	if !fromRow {
		t.Fatal("a current row and index: answered by a second read")
	}
	if !slices.Equal(snap.Keywords, []string{"$one"}) || snap.FirstUnseen != uids[3] {
		t.Fatalf("keywords %q, first unseen %d", snap.Keywords, snap.FirstUnseen)
	}

	// A keyword defined by a STORE on expunged messages only: the
	// mailbox's HIGHESTMODSEQ stays, its keywords change.
	if _, _, err := s.Expunge(ctx, mb.ID, uids[19:]); err != nil {
		t.Fatal(err)
	}
	m := row()
	of(m) // remembered at this HIGHESTMODSEQ
	if _, _, _, err := s.StoreFlags(ctx, mb.ID, uids[19:], store.FlagsAdd, store.Flags{Keywords: []string{"$late"}}, 0); err != nil {
		t.Fatal(err)
	}
	if m2 := row(); m2.HighestModSeq != m.HighestModSeq {
		t.Fatalf("HIGHESTMODSEQ %d after a STORE on expunged messages, was %d: the case is not tested", m2.HighestModSeq, m.HighestModSeq)
	}
	snap, _ = of(row()) // compares the keywords with SelectSnapshot's
	if !slices.Contains(snap.Keywords, "$late") {
		t.Fatalf("keywords %q after $late was defined", snap.Keywords)
	}

	// A row older than the index (read before a commit): answered by a
	// read, with the mailbox as it is now.
	old := row()
	if _, _, err := s.AppendMessages(ctx, mb.ID, tinyMessages(100, 1)); err != nil {
		t.Fatal(err)
	}
	snap, ok, err := s.SelectSnapshotOf(ctx, old)
	if err != nil || !ok {
		t.Fatalf("old row: ok %v, err %v", ok, err)
	}
	if snap.Mailbox.HighestModSeq == old.HighestModSeq || len(snap.UIDs) != 20 {
		t.Fatalf("old row: answered at HIGHESTMODSEQ %d with %d UIDs, want the new state (20)", snap.Mailbox.HighestModSeq, len(snap.UIDs))
	}
}
