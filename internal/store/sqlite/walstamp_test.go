package sqlite

import (
	"context"
	"path/filepath"
	"testing"

	"barid/internal/store"
)

// TestWALStamp: the stamp stays while nothing commits and changes with
// every commit, this store's own and another connection's (another
// process on the same file).
func TestWALStamp(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "barid.db")
	s, mb, _ := openInbox(t, path, Options{}, nil)
	if s.wal == nil {
		t.Fatal("no WAL watch on a WAL database")
	}
	a := s.wal.stamp()
	if !a.ok || !a.same(s.wal.stamp()) {
		t.Fatalf("two stamps with no commit between differ (ok=%v)", a.ok)
	}
	if _, _, err := s.AppendMessages(ctx, mb.ID, tinyMessages(0, 1)); err != nil {
		t.Fatal(err)
	}
	b := s.wal.stamp()
	if a.same(b) {
		t.Fatal("stamp unchanged by this store's commit")
	}
	other, err := Open(ctx, path, Options{FlagIndexEntries: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	b = s.wal.stamp()
	if _, _, err := other.CreateMailbox(ctx, mb.AccountID, "X", ""); err != nil {
		t.Fatal(err)
	}
	if b.same(s.wal.stamp()) {
		t.Fatal("stamp unchanged by another connection's commit")
	}
	if (walStamp{}).same(walStamp{}) || (*walWatch)(nil).stamp().ok {
		t.Fatal("a missing stamp matches")
	}
}

// TestMailboxCacheOtherWriter: Mailbox answers from memory only while
// nothing committed; a row changed by another process (here a second
// store on the file, as barid deliver writing directly) is read again,
// as is one changed by this store.
func TestMailboxCacheOtherWriter(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "barid.db")
	s, mb, _ := openInbox(t, path, Options{}, nil)
	other, err := Open(ctx, path, Options{FlagIndexEntries: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	look := func() *store.Mailbox {
		t.Helper()
		m, err := s.Mailbox(ctx, mb.AccountID, "inbox")
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	first := look()
	st := s.wal.stamp()
	gen, chained := s.chain.current(st)
	if _, ok := s.mboxes.get(mb.AccountID, "INBOX", st); !ok {
		// Or kept by the writer since it created INBOX (mboxrows.go).
		if _, _, kept := s.boxes.getByName(gen, mb.AccountID, "INBOX"); !chained || !kept {
			t.Fatal("the row just read is not cached")
		}
	}
	first.UIDNext = 999 // a caller's change must not reach the cache
	if again := look(); again.UIDNext == 999 || again.HighestModSeq != mb.HighestModSeq {
		t.Fatalf("cached row changed by a caller: %+v", again)
	}
	if _, _, err := other.AppendMessages(ctx, mb.ID, tinyMessages(0, 2)); err != nil {
		t.Fatal(err)
	}
	if got := look(); got.UIDNext != mb.UIDNext+2 || got.HighestModSeq <= mb.HighestModSeq {
		t.Fatalf("after another process appended 2: UIDNEXT %d HIGHESTMODSEQ %d (before %d, %d)", got.UIDNext, got.HighestModSeq, mb.UIDNext, mb.HighestModSeq)
	}
	if _, _, err := s.AppendMessages(ctx, mb.ID, tinyMessages(2, 1)); err != nil {
		t.Fatal(err)
	}
	if got := look(); got.UIDNext != mb.UIDNext+3 {
		t.Fatalf("after this store appended 1 more: UIDNEXT %d, want %d", got.UIDNext, mb.UIDNext+3)
	}
	if _, err := other.DeleteMailbox(ctx, mb.AccountID, "INBOX"); err == nil {
		if _, err := s.Mailbox(ctx, mb.AccountID, "INBOX"); err == nil {
			t.Fatal("INBOX deleted by another process still found")
		}
	}
}

// TestFlagIndexStampOtherWriter: the flag index, once found current,
// is trusted without a read only until something commits: a flag set by
// another process shows at once.
func TestFlagIndexStampOtherWriter(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "barid.db")
	s, mb, uids := openInbox(t, path, Options{FlagIndexMin: 1}, tinyMessages(0, 4))
	other, err := Open(ctx, path, Options{FlagIndexEntries: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	for range 2 { // load, then validate (records the stamp)
		if b, err := s.box(ctx, mb.ID); b == nil || err != nil {
			t.Fatalf("mailbox not indexed: %v", err)
		}
	}
	hits := s.index.hits.Load()
	if b, _ := s.box(ctx, mb.ID); b == nil || s.index.hits.Load() != hits+1 {
		t.Fatal("a current index with nothing committed was not a hit")
	}
	if _, _, _, err := other.StoreFlags(ctx, mb.ID, uids[:1], store.FlagsAdd, store.Flags{System: store.FlagFlagged}, 0); err != nil {
		t.Fatal(err)
	}
	var f store.SysFlags
	if err := s.FetchMessages(ctx, mb.ID, uids[:1], store.FieldFlags, func(m *store.Message) error {
		f = m.Flags.System
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if f != store.FlagFlagged {
		t.Fatalf("flags %v after another process flagged the message", f)
	}
}

// TestFlagIndexOwnCommits checks ownChain: after commits of the store's
// own writer (applied to the flag index) the index is used without
// reading the mailbox row again, while a commit from another process is
// still noticed, and a commit of the writer after it does not hide it.
func TestFlagIndexOwnCommits(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "barid.db")
	s, mb, uids := openInbox(t, path, Options{FlagIndexMin: 1}, tinyMessages(0, 4))
	other, err := Open(ctx, path, Options{FlagIndexEntries: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	flagsOf := func(u store.UID) store.SysFlags {
		t.Helper()
		var f store.SysFlags
		if err := s.FetchMessages(ctx, mb.ID, []store.UID{u}, store.FieldFlags, func(m *store.Message) error {
			f = m.Flags.System
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		return f
	}
	set := func(st *Store, u store.UID, f store.SysFlags) {
		t.Helper()
		if _, _, _, err := st.StoreFlags(ctx, mb.ID, []store.UID{u}, store.FlagsAdd, store.Flags{System: f}, 0); err != nil {
			t.Fatal(err)
		}
	}
	set(s, uids[3], store.FlagDraft) // the writer has committed once: the chain has a head
	for range 2 {                    // load, then validate (joins the chain)
		if b, err := s.box(ctx, mb.ID); b == nil || err != nil {
			t.Fatalf("mailbox not indexed: %v", err)
		}
	}
	checks := s.index.checks.Load()
	for i, f := range []store.SysFlags{store.FlagSeen, store.FlagAnswered} {
		set(s, uids[i], f)
		if got := flagsOf(uids[i]); got != f {
			t.Fatalf("UID %d flags %v, want %v", uids[i], got, f)
		}
		// A transaction that writes no page (nothing is \Deleted)
		// leaves the WAL header as it was: still the writer's own.
		if _, _, err := s.Expunge(ctx, mb.ID, nil); err != nil {
			t.Fatal(err)
		}
	}
	if got := s.index.checks.Load() - checks; got != 0 {
		t.Errorf("%d reads of the mailbox row after the writer's own commits, want 0", got)
	}
	set(other, uids[2], store.FlagFlagged)
	if got := flagsOf(uids[2]); got != store.FlagFlagged {
		t.Errorf("UID %d flags %v after another process flagged it", uids[2], got)
	}
	set(other, uids[2], store.FlagSeen)
	set(s, uids[0], store.FlagFlagged) // begins after the other's commit
	if got := flagsOf(uids[2]); got != store.FlagFlagged|store.FlagSeen {
		t.Errorf("UID %d flags %v after another process and then the writer committed", uids[2], got)
	}
	if got := s.index.checks.Load() - checks; got == 0 {
		t.Error("no read of the mailbox row after another process's commit")
	}
	if _, err := s.VerifyFlagIndex(ctx); err != nil {
		t.Error(err)
	}
}
