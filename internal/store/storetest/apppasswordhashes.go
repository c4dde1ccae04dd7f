package storetest

import (
	"bytes"
	"context"
	"slices"
	"testing"

	"barid/internal/store"
)

// testAppPasswordHashes: store.AppPasswordHasher lists an account's app
// passwords with the hashes they were added with, and only that
// account's.
func testAppPasswordHashes(t *testing.T, open func(t *testing.T) store.Store) {
	s := openClosed(t, open)
	ap := s.(store.AppPasswords)
	ah, ok := s.(store.AppPasswordHasher)
	if !ok {
		t.Fatal("backend does not implement store.AppPasswordHasher")
	}
	ctx := context.Background()
	a := must[*store.Account](t)(s.CreateAccount(ctx, "alice", nil))
	b := must[*store.Account](t)(s.CreateAccount(ctx, "bob", nil))
	noErr(t, ap.AddAppPassword(ctx, a.ID, "phone", []byte("h-phone"), []string{"imap"}))
	noErr(t, ap.AddAppPassword(ctx, a.ID, "laptop", []byte("h-laptop"), nil))
	noErr(t, ap.AddAppPassword(ctx, b.ID, "tablet", []byte("h-tablet"), nil))
	got, err := ah.AppPasswordHashes(ctx, a.ID)
	noErr(t, err)
	if len(got) != 2 || got[0].Label != "laptop" || !bytes.Equal(got[0].Hash, []byte("h-laptop")) ||
		got[1].Label != "phone" || !bytes.Equal(got[1].Hash, []byte("h-phone")) || !slices.Equal(got[1].Protocols, []string{"imap"}) ||
		got[1].AccountID != a.ID || got[1].Created.IsZero() {
		t.Fatalf("AppPasswordHashes(alice) = %+v", got)
	}
}
