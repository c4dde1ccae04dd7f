package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"slices"
	"testing"

	"barid/internal/store"
)

func TestKeywordSpellingPerMailbox(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "k.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	a, _ := s.CreateAccount(ctx, "u", nil)
	in, _ := s.Mailbox(ctx, a.ID, "INBOX")
	other, _, _ := s.CreateMailbox(ctx, a.ID, "Other", "")
	fl := func(n ...string) store.Flags { return store.FlagsFromNames(n) }

	uids, ch, err := s.AppendMessages(ctx, in.ID, []store.NewMessage{{Flags: fl("$Junk", "Work"), BlobID: "b1"}, {BlobID: "b2"}})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ch[0].Flags.Keywords, []string{"$Junk", "Work"}) {
		t.Fatalf("append change %v", ch[0].Flags)
	}
	// A later spelling of the same keyword becomes the first one.
	res, _, ch, err := s.StoreFlags(ctx, in.ID, uids[1:], store.FlagsAdd, fl("$JUNK", "new"), 0)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res[0].Flags.Keywords, []string{"$Junk", "new"}) || !slices.Equal(ch[0].Flags.Keywords, []string{"$Junk", "new"}) {
		t.Fatalf("store result %v change %v", res[0].Flags, ch[0].Flags)
	}
	kws, err := s.Keywords(ctx, in.ID)
	if err != nil || !slices.Equal(kws, []string{"$Junk", "new", "Work"}) {
		t.Fatalf("Keywords = %v, %v", kws, err)
	}
	// Other has its own first spelling; a copy takes it.
	if _, _, err := s.AppendMessages(ctx, other.ID, []store.NewMessage{{Flags: fl("WORK"), BlobID: "b3"}}); err != nil {
		t.Fatal(err)
	}
	_, ch, err = s.CopyMessages(ctx, in.ID, uids[:1], other.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ch[0].Flags.Keywords, []string{"$Junk", "WORK"}) {
		t.Fatalf("copy change %v", ch[0].Flags)
	}
	var got []string
	s.FetchMessages(ctx, other.ID, []store.UID{2}, store.FieldFlags, func(m *store.Message) error {
		got = m.Flags.Keywords
		return nil
	})
	if !slices.Equal(got, []string{"$Junk", "WORK"}) {
		t.Fatalf("copied keywords %v", got)
	}
	kws, _ = s.Keywords(ctx, other.ID)
	if !slices.Equal(kws, []string{"$Junk", "WORK"}) {
		t.Fatalf("Other keywords %v", kws)
	}
	// Removing never registers.
	if _, _, _, err := s.StoreFlags(ctx, other.ID, []store.UID{1}, store.FlagsRemove, fl("Gone"), 0); err != nil {
		t.Fatal(err)
	}
	kws, _ = s.Keywords(ctx, other.ID)
	if len(kws) != 2 {
		t.Fatalf("Other keywords after remove %v", kws)
	}
	if _, err := s.DeleteMailbox(ctx, a.ID, "Other"); err != nil {
		t.Fatal(err)
	}
	if kws, _ = s.Keywords(ctx, other.ID); len(kws) != 0 {
		t.Fatalf("keywords of deleted mailbox %v", kws)
	}
}

// TestMigrationBackfillsKeywords builds a version-1 database by hand and
// checks that opening it fills the keywords table from the messages.
func TestMigrationBackfillsKeywords(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.db")
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		migrations[0],
		`PRAGMA user_version = 1`,
		`INSERT INTO accounts (id, name, created) VALUES (1, 'u', 0)`,
		`INSERT INTO mailboxes (id, account, name, uidvalidity, uidnext, highestmodseq, firstrecent) VALUES (1, 1, 'INBOX', 1, 4, 3, 1)`,
		`INSERT INTO messages (mailbox, uid, modseq, sysflags, keywords, blob_id, size) VALUES
			(1, 1, 2, 0, '$Junk Work', 'a', 1), (1, 2, 2, 0, '', 'b', 1), (1, 3, 3, 0, 'Zed', 'c', 1)`,
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	s, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	kws, err := s.Keywords(ctx, 1)
	if err != nil || !slices.Equal(kws, []string{"$Junk", "Work", "Zed"}) {
		t.Fatalf("Keywords = %v, %v", kws, err)
	}
	// Migration 3 moved the flag state to msgflags.
	var got []string
	err = s.FetchMessages(ctx, 1, []store.UID{1, 2, 3}, store.FieldFlags|store.FieldBasics, func(m *store.Message) error {
		got = append(got, fmt.Sprintf("%d:%d:%v:%s:%d", m.UID, m.ModSeq, m.Flags.Keywords, m.BlobID, m.Size))
		return nil
	})
	if want := []string{"1:2:[$Junk Work]:a:1", "2:2:[]:b:1", "3:3:[Zed]:c:1"}; err != nil || !slices.Equal(got, want) {
		t.Fatalf("migrated messages %v, %v", got, err)
	}
	var v int
	s.wconn.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v)
	if v != len(migrations) {
		t.Fatalf("user_version %d", v)
	}
}
