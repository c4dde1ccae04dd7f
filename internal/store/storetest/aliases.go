package storetest

import (
	"context"
	"errors"
	"testing"

	"barid/internal/store"
)

// testAliases exercises store.Aliases: add, look up (case-insensitive),
// refuse duplicates and unknown accounts, list in address order, delete,
// and lose an account's aliases with the account.
func testAliases(t *testing.T, open func(t *testing.T) store.Store) {
	s := openClosed(t, open)
	as, ok := s.(store.Aliases)
	if !ok {
		t.Fatal("backend does not implement store.Aliases")
	}
	ctx := context.Background()
	a := must[*store.Account](t)(s.CreateAccount(ctx, "alice", nil))
	b := must[*store.Account](t)(s.CreateAccount(ctx, "bob", nil))
	noErr(t, as.AddAlias(ctx, "Postmaster@Example.org", a.ID))
	noErr(t, as.AddAlias(ctx, "@example.net", b.ID))
	noErr(t, as.AddAlias(ctx, "sales@example.org", b.ID))
	if err := as.AddAlias(ctx, "postmaster@example.org", b.ID); !errors.Is(err, store.ErrAliasExists) {
		t.Fatalf("duplicate alias: %v", err)
	}
	if err := as.AddAlias(ctx, "x@example.org", 999999); !errors.Is(err, store.ErrNoAccount) {
		t.Fatalf("alias to a missing account: %v", err)
	}
	if id, err := as.AliasTarget(ctx, "POSTMASTER@example.org"); err != nil || id != a.ID {
		t.Fatalf("AliasTarget(postmaster) = %d, %v; want %d", id, err, a.ID)
	}
	if id, err := as.AliasTarget(ctx, "@Example.NET"); err != nil || id != b.ID {
		t.Fatalf("AliasTarget(@example.net) = %d, %v; want %d", id, err, b.ID)
	}
	if _, err := as.AliasTarget(ctx, "nobody@example.org"); !errors.Is(err, store.ErrNoAlias) {
		t.Fatalf("AliasTarget(nobody) = %v", err)
	}
	list, err := as.ListAliases(ctx)
	noErr(t, err)
	want := []store.Alias{
		{Address: "@example.net", AccountID: b.ID, Account: "bob"},
		{Address: "postmaster@example.org", AccountID: a.ID, Account: "alice"},
		{Address: "sales@example.org", AccountID: b.ID, Account: "bob"},
	}
	if len(list) != len(want) {
		t.Fatalf("ListAliases = %v, want %v", list, want)
	}
	for i := range want {
		if list[i] != want[i] {
			t.Fatalf("ListAliases[%d] = %v, want %v", i, list[i], want[i])
		}
	}
	noErr(t, as.DeleteAlias(ctx, "Sales@example.org"))
	if err := as.DeleteAlias(ctx, "sales@example.org"); !errors.Is(err, store.ErrNoAlias) {
		t.Fatalf("second delete: %v", err)
	}
	noErr(t, s.DeleteAccount(ctx, b.ID))
	if _, err := as.AliasTarget(ctx, "@example.net"); !errors.Is(err, store.ErrNoAlias) {
		t.Fatalf("alias of a deleted account: %v", err)
	}
	list, err = as.ListAliases(ctx)
	noErr(t, err)
	if len(list) != 1 || list[0].Address != "postmaster@example.org" {
		t.Fatalf("after deleting bob: %v", list)
	}
}
