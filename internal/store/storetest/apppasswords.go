package storetest

import (
	"context"
	"errors"
	"slices"
	"testing"

	"barid/internal/store"
)

// testAppPasswords exercises store.AppPasswords: add, find by hash,
// refuse a second label of the same name, list by label, revoke one,
// and lose an account's with the account.
func testAppPasswords(t *testing.T, open func(t *testing.T) store.Store) {
	s := openClosed(t, open)
	ap, ok := s.(store.AppPasswords)
	if !ok {
		t.Fatal("backend does not implement store.AppPasswords")
	}
	ctx := context.Background()
	a := must[*store.Account](t)(s.CreateAccount(ctx, "alice", nil))
	b := must[*store.Account](t)(s.CreateAccount(ctx, "bob", nil))
	h1, h2, h3 := []byte("hash-1-phone"), []byte("hash-2-laptop"), []byte("hash-3-bob")
	noErr(t, ap.AddAppPassword(ctx, a.ID, "phone", h1, []string{"imap", "smtp"}))
	noErr(t, ap.AddAppPassword(ctx, a.ID, "laptop", h2, nil))
	noErr(t, ap.AddAppPassword(ctx, b.ID, "phone", h3, []string{"pop3"}))
	if err := ap.AddAppPassword(ctx, a.ID, "phone", []byte("other"), nil); !errors.Is(err, store.ErrAppPasswordExists) {
		t.Fatalf("second phone: %v", err)
	}
	if err := ap.AddAppPassword(ctx, 999999, "x", []byte("h"), nil); !errors.Is(err, store.ErrNoAccount) {
		t.Fatalf("missing account: %v", err)
	}
	p, err := ap.AppPasswordByHash(ctx, h1)
	noErr(t, err)
	if p.AccountID != a.ID || p.Label != "phone" || !slices.Equal(p.Protocols, []string{"imap", "smtp"}) || p.Created.IsZero() {
		t.Fatalf("by hash: %+v", p)
	}
	if _, err := ap.AppPasswordByHash(ctx, []byte("nope")); !errors.Is(err, store.ErrNoAppPassword) {
		t.Fatalf("unknown hash: %v", err)
	}
	list, err := ap.AppPasswords(ctx, a.ID)
	noErr(t, err)
	if len(list) != 2 || list[0].Label != "laptop" || list[0].Protocols != nil || list[1].Label != "phone" {
		t.Fatalf("list: %+v", list)
	}
	noErr(t, ap.RevokeAppPassword(ctx, a.ID, "phone"))
	if err := ap.RevokeAppPassword(ctx, a.ID, "phone"); !errors.Is(err, store.ErrNoAppPassword) {
		t.Fatalf("second revoke: %v", err)
	}
	if _, err := ap.AppPasswordByHash(ctx, h1); !errors.Is(err, store.ErrNoAppPassword) {
		t.Fatalf("revoked still found: %v", err)
	}
	if p, err := ap.AppPasswordByHash(ctx, h3); err != nil || p.AccountID != b.ID {
		t.Fatalf("bob's phone after alice's revoke: %+v %v", p, err)
	}
	noErr(t, s.DeleteAccount(ctx, b.ID))
	if _, err := ap.AppPasswordByHash(ctx, h3); !errors.Is(err, store.ErrNoAppPassword) {
		t.Fatalf("deleted account's app password: %v", err)
	}
}
