package sqlite

import (
	"context"
	"path/filepath"
	"testing"
)

// TestSharedWithNoACL: on a store where nothing is shared, SharedWith
// reads the acl table once and then answers from memory while only the
// store's own writer commits; a grant made here or by another process
// on the same file is seen at once.
func TestSharedWithNoACL(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "barid.db")
	s, mb, _ := openInbox(t, path, Options{}, tinyMessages(0, 1))
	bob, err := s.CreateAccount(ctx, "bob", nil)
	if err != nil {
		t.Fatal(err)
	}
	shared := func(st *Store) int {
		t.Helper()
		sm, err := st.SharedWith(ctx, bob.ID, "bob", []string{"bob", "anyone"})
		if err != nil {
			t.Fatal(err)
		}
		return len(sm)
	}
	checks := s.acl.checks.Load()
	if n := shared(s); n != 0 {
		t.Fatalf("%d mailboxes shared before any ACL", n)
	}
	if got := s.acl.checks.Load() - checks; got != 1 {
		t.Fatalf("%d reads of the acl table by the first SharedWith, want 1", got)
	}
	checks++
	for range 3 {
		if _, _, err := s.AppendMessages(ctx, mb.ID, tinyMessages(10, 1)); err != nil {
			t.Fatal(err)
		}
		if n := shared(s); n != 0 {
			t.Fatalf("%d mailboxes shared", n)
		}
	}
	if got := s.acl.checks.Load() - checks; got != 0 {
		t.Errorf("%d reads of the acl table after the writer's own commits, want 0", got)
	}

	if err := s.SetACL(ctx, mb.ID, "bob", "lr"); err != nil {
		t.Fatal(err)
	}
	if n := shared(s); n != 1 {
		t.Fatalf("%d mailboxes shared with bob after SetACL, want 1", n)
	}
	if err := s.SetACL(ctx, mb.ID, "bob", ""); err != nil {
		t.Fatal(err)
	}
	if n := shared(s); n != 0 {
		t.Fatalf("%d mailboxes shared with bob after the grant was removed", n)
	}

	other, err := Open(ctx, path, Options{FlagIndexEntries: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if err := other.SetACL(ctx, mb.ID, "anyone", "lr"); err != nil {
		t.Fatal(err)
	}
	if n := shared(s); n != 1 {
		t.Fatalf("%d mailboxes shared after another process granted anyone, want 1", n)
	}
	if _, _, err := s.AppendMessages(ctx, mb.ID, tinyMessages(20, 1)); err != nil {
		t.Fatal(err)
	}
	if n := shared(s); n != 1 {
		t.Fatalf("%d mailboxes shared after another process's grant and the writer's commit, want 1", n)
	}
}
