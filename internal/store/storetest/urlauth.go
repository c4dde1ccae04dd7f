package storetest

import (
	"bytes"
	"context"
	"testing"

	"barid/internal/store"
)

// testURLAuthKeys exercises store.URLAuthKeys (RFC 4467 §7 mailbox
// access keys) on a backend that has it: first use stores the key,
// later uses return it, RESETKEY removes one mailbox's key or all of an
// account's, other accounts keep theirs, and a deleted mailbox takes its
// key along.
func testURLAuthKeys(t *testing.T, open func(t *testing.T) store.Store) {
	s := openClosed(t, open)
	ks, ok := s.(store.URLAuthKeys)
	if !ok {
		t.Skip("backend has no store.URLAuthKeys")
	}
	ctx := context.Background()
	a, inboxA := setup(t, s)
	draftsA := mkbox(t, s, a.ID, "Drafts")
	b := must[*store.Account](t)(s.CreateAccount(ctx, "bob", nil))
	inboxB := inbox(t, s, b.ID)

	get := func(mb int64, newKey string) []byte {
		t.Helper()
		var nk []byte
		if newKey != "" {
			nk = []byte(newKey)
		}
		k, err := ks.URLAuthKey(ctx, mb, nk)
		noErr(t, err)
		return k
	}
	if k := get(inboxA.ID, ""); k != nil {
		t.Fatalf("key before any: %q", k)
	}
	if k := get(inboxA.ID, "key-a1"); string(k) != "key-a1" {
		t.Fatalf("first use: %q", k)
	}
	if k := get(inboxA.ID, "key-a2"); string(k) != "key-a1" {
		t.Fatalf("second use replaced the key: %q", k)
	}
	get(draftsA.ID, "key-d1")
	get(inboxB.ID, "key-b1")

	// RESETKEY mailbox: only that mailbox.
	noErr(t, ks.ResetURLAuthKeys(ctx, a.ID, inboxA.ID))
	if k := get(inboxA.ID, ""); k != nil {
		t.Fatalf("after reset: %q", k)
	}
	if k := get(draftsA.ID, ""); string(k) != "key-d1" {
		t.Fatalf("other mailbox after reset: %q", k)
	}
	// Another account cannot reset bob's key.
	noErr(t, ks.ResetURLAuthKeys(ctx, a.ID, inboxB.ID))
	if k := get(inboxB.ID, ""); string(k) != "key-b1" {
		t.Fatalf("reset across accounts: %q", k)
	}
	// RESETKEY without arguments: every mailbox of the account.
	get(inboxA.ID, "key-a3")
	noErr(t, ks.ResetURLAuthKeys(ctx, a.ID, 0))
	if get(inboxA.ID, "") != nil || get(draftsA.ID, "") != nil {
		t.Fatal("account reset left a key")
	}
	if k := get(inboxB.ID, ""); !bytes.Equal(k, []byte("key-b1")) {
		t.Fatalf("account reset touched bob: %q", k)
	}

	// A deleted mailbox takes its key along; a new one of the same name
	// starts without.
	get(draftsA.ID, "key-d2")
	_, err := s.DeleteMailbox(ctx, a.ID, "Drafts")
	noErr(t, err)
	again := mkbox(t, s, a.ID, "Drafts")
	if k := get(again.ID, ""); k != nil {
		t.Fatalf("recreated mailbox inherited key %q", k)
	}
	if _, err := ks.URLAuthKey(ctx, 1<<40, []byte("x")); err == nil {
		t.Fatal("key stored for a mailbox that does not exist")
	}
}
