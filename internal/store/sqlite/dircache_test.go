package sqlite

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"testing"

	"barid/internal/store"
)

// TestDirCache: what a delivery asks of the directory (the account by
// name, misses too, the target of an alias, the active Sieve script) is
// read from SQLite once and then answered from memory while only this
// store's writer commits other things (deliveries); a change made
// through this store, or by another process on the same file, is seen
// by the next lookup.
func TestDirCache(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "barid.db")
	s, mb, _ := openInbox(t, path, Options{}, tinyMessages(0, 1))
	bob, err := s.CreateAccount(ctx, "bob", []byte("secret1"))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.AppendMessages(ctx, mb.ID, tinyMessages(5, 1)); err != nil {
		t.Fatal(err)
	}
	// The questions an LMTP RCPT and delivery ask for bob@localhost.
	ask := func(st *Store) {
		t.Helper()
		if _, err := st.AliasTarget(ctx, "bob@localhost"); !errors.Is(err, store.ErrNoAlias) {
			t.Fatalf("alias bob@localhost: %v", err)
		}
		if _, err := st.Account(ctx, "bob@localhost"); !errors.Is(err, store.ErrNoAccount) {
			t.Fatalf("account bob@localhost: %v", err)
		}
		if _, err := st.AliasTarget(ctx, "bob"); !errors.Is(err, store.ErrNoAlias) {
			t.Fatalf("alias bob: %v", err)
		}
		a, err := st.Account(ctx, "bob")
		if err != nil || a.ID != bob.ID || string(a.Secret) != "secret1" {
			t.Fatalf("account bob: %+v, %v", a, err)
		}
		if name, _, err := st.ActiveSieveScriptDigest(ctx, bob.ID); err != nil || name != "" {
			t.Fatalf("active script: %q, %v", name, err)
		}
	}
	ask(s)
	hits, misses := s.dir.hits.Load(), s.dir.misses.Load()
	for i := range 3 {
		// Deliveries commit between lookups: the answers still hold.
		if _, _, err := s.AppendMessages(ctx, mb.ID, tinyMessages(10+i, 1)); err != nil {
			t.Fatal(err)
		}
		ask(s)
	}
	if got := s.dir.misses.Load() - misses; got != 0 {
		t.Errorf("%d SQLite reads after the writer's own commits, want 0", got)
	}
	if got := s.dir.hits.Load() - hits; got != 15 {
		t.Errorf("%d answers from memory, want 15", got)
	}
	// A returned account is the caller's to change.
	a, _ := s.Account(ctx, "bob")
	a.Secret[0] = 'X'
	if a, _ := s.Account(ctx, "bob"); string(a.Secret) != "secret1" {
		t.Fatalf("kept account changed through a returned copy: %q", a.Secret)
	}

	// Changes through this store. They move the directory's epoch, not
	// the chain's generation: the flag index and the mailbox rows the
	// writer keeps stay valid.
	gen := s.chain.generation()
	carol, err := s.CreateAccount(ctx, "bob@localhost", nil)
	if err != nil {
		t.Fatal(err)
	}
	if a, err := s.Account(ctx, "bob@localhost"); err != nil || a.ID != carol.ID {
		t.Fatalf("account created after a miss: %+v, %v", a, err)
	}
	if err := s.AddAlias(ctx, "bob", carol.ID); err != nil {
		t.Fatal(err)
	}
	if id, err := s.AliasTarget(ctx, "bob"); err != nil || id != carol.ID {
		t.Fatalf("alias added after a miss: %d, %v", id, err)
	}
	if g := s.chain.generation(); g != gen {
		t.Errorf("chain generation %d after CreateAccount and AddAlias, want %d", g, gen)
	}
	if err := s.DeleteAlias(ctx, "bob"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AliasTarget(ctx, "bob"); !errors.Is(err, store.ErrNoAlias) {
		t.Fatalf("alias after its deletion: %v", err)
	}
	if err := s.AddAlias(ctx, "carol@localhost", carol.ID); err != nil {
		t.Fatal(err)
	}
	if id, err := s.AliasTarget(ctx, "carol@localhost"); err != nil || id != carol.ID {
		t.Fatalf("alias: %d, %v", id, err)
	}
	if err := s.DeleteAccount(ctx, carol.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AliasTarget(ctx, "carol@localhost"); !errors.Is(err, store.ErrNoAlias) {
		t.Fatalf("alias of a deleted account: %v", err)
	}
	if _, err := s.Account(ctx, "bob@localhost"); !errors.Is(err, store.ErrNoAccount) {
		t.Fatalf("deleted account: %v", err)
	}
	if _, err := s.AccountByID(ctx, carol.ID); !errors.Is(err, store.ErrNoAccount) {
		t.Fatalf("deleted account by id: %v", err)
	}
	if err := s.SetAccountSecret(ctx, bob.ID, []byte("secret2")); err != nil {
		t.Fatal(err)
	}
	if a, err := s.Account(ctx, "bob"); err != nil || string(a.Secret) != "secret2" {
		t.Fatalf("secret after a change: %+v, %v", a, err)
	}
	if a, err := s.AccountByID(ctx, bob.ID); err != nil || string(a.Secret) != "secret2" {
		t.Fatalf("secret by id after a change: %+v, %v", a, err)
	}
	if err := s.PutSieveScript(ctx, bob.ID, "one", []byte("keep;"), 0); err != nil {
		t.Fatal(err)
	}
	if err := s.SetActiveSieveScript(ctx, bob.ID, "one"); err != nil {
		t.Fatal(err)
	}
	if name, d, err := s.ActiveSieveScriptDigest(ctx, bob.ID); err != nil || name != "one" || !bytes.Equal(d, store.ScriptDigest([]byte("keep;"))) {
		t.Fatalf("active script after activation: %q %x, %v", name, d, err)
	}
	if err := s.PutSieveScript(ctx, bob.ID, "one", []byte("discard;"), 0); err != nil {
		t.Fatal(err)
	}
	if _, d, _ := s.ActiveSieveScriptDigest(ctx, bob.ID); !bytes.Equal(d, store.ScriptDigest([]byte("discard;"))) {
		t.Fatalf("digest after the active script changed: %x", d)
	}

	// Changes by another process on the same file.
	other, err := Open(ctx, path, Options{FlagIndexEntries: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	ask2 := func() {
		t.Helper()
		if _, _, err := s.AppendMessages(ctx, mb.ID, tinyMessages(30, 1)); err != nil {
			t.Fatal(err)
		}
		s.Account(ctx, "dave")
		s.AliasTarget(ctx, "dave@localhost")
		s.ActiveSieveScriptDigest(ctx, bob.ID)
	}
	ask2()
	dave, err := other.CreateAccount(ctx, "dave", nil)
	if err != nil {
		t.Fatal(err)
	}
	if a, err := s.Account(ctx, "dave"); err != nil || a.ID != dave.ID {
		t.Fatalf("account created by another process: %+v, %v", a, err)
	}
	ask2()
	if err := other.AddAlias(ctx, "dave@localhost", dave.ID); err != nil {
		t.Fatal(err)
	}
	if id, err := s.AliasTarget(ctx, "dave@localhost"); err != nil || id != dave.ID {
		t.Fatalf("alias added by another process: %d, %v", id, err)
	}
	ask2()
	if err := other.SetActiveSieveScript(ctx, bob.ID, ""); err != nil {
		t.Fatal(err)
	}
	if name, _, err := s.ActiveSieveScriptDigest(ctx, bob.ID); err != nil || name != "" {
		t.Fatalf("active script after another process deactivated it: %q, %v", name, err)
	}
}
