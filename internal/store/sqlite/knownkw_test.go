package sqlite

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"barid/internal/store"
)

// TestKeywordsKnownOtherWriter: the known keyword spellings of one Store
// are dropped when another connection to the same file (another process:
// an import, an offline admin command) has committed, here by deleting
// a mailbox and making a new one under the same id with the same
// UIDVALIDITY. The first Store must register the keyword in the new
// mailbox instead of trusting what it knew of the old one.
//
// Twice: the append is s1's first transaction after the other
// connection's commits (seen when the cache is consulted), or comes
// after a commit of s1's that did not consult it (seen at that commit).
func TestKeywordsKnownOtherWriter(t *testing.T) {
	for _, between := range []bool{false, true} {
		t.Run(map[bool]string{false: "direct", true: "after-own-commit"}[between], func(t *testing.T) {
			testKeywordsKnownOtherWriter(t, between)
		})
	}
}

func testKeywordsKnownOtherWriter(t *testing.T, between bool) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "barid.db")
	s1, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s1.Close()
	a, err := s1.CreateAccount(ctx, "kw@example.org", []byte("pw"))
	if err != nil {
		t.Fatal(err)
	}
	box, _, err := s1.CreateMailbox(ctx, a.ID, "Sorted", "")
	if err != nil {
		t.Fatal(err)
	}
	nm := func(kw string) []store.NewMessage {
		return []store.NewMessage{{BlobID: "kw-blob", Size: 10, InternalDate: time.Now(), Flags: store.FlagsFromNames([]string{kw})}}
	}
	key := store.KeywordBox{ID: box.ID, UIDValidity: box.UIDValidity}
	for i := range 3 {
		if _, _, err := s1.AppendMessages(ctx, box.ID, nm("$Bench")); err != nil {
			t.Fatal(err)
		}
		// Known after the first commit, and still known after the
		// commits that used it: the writer's own commits do not
		// look like another connection's.
		if name, ok := s1.kwKnown.Get(key, "$bench"); !ok || name != "$Bench" {
			t.Fatalf("after append %d: known %q %v", i+1, name, ok)
		}
	}

	s2, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s2.DeleteMailbox(ctx, a.ID, "Sorted"); err != nil {
		t.Fatal(err)
	}
	again, _, err := s2.CreateMailbox(ctx, a.ID, "Sorted", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s2.SetUIDValidity(ctx, again.ID, box.UIDValidity); err != nil {
		t.Fatal(err)
	}
	s2.Close()
	if again.ID != box.ID {
		t.Fatalf("the new mailbox has id %d, not the old one's %d: the case is not made", again.ID, box.ID)
	}

	// A commit of s1's that does not consult the cache comes first:
	// the other connection's commits must not be taken for its own.
	if between {
		if _, _, err := s1.CreateMailbox(ctx, a.ID, "Other", ""); err != nil {
			t.Fatal(err)
		}
	}
	uids, _, err := s1.AppendMessages(ctx, again.ID, nm("$bench"))
	if err != nil {
		t.Fatal(err)
	}
	kws, err := s1.Keywords(ctx, again.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(kws, []string{"$bench"}) {
		t.Fatalf("keywords of the new mailbox: %q, want [$bench]", kws)
	}
	err = s1.FetchMessages(ctx, again.ID, uids, store.FieldFlags, func(m *store.Message) error {
		if !slices.Equal(m.Flags.Keywords, []string{"$bench"}) {
			t.Errorf("message keywords %q", m.Flags.Keywords)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
