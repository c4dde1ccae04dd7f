package auth

import (
	"context"
	"errors"
	"testing"

	"barid/internal/store"
)

// fakeStore implements only Account; other methods panic (nil embed).
type fakeStore struct {
	store.Store
	accts map[string]*store.Account
	err   error
}

func (f *fakeStore) Account(_ context.Context, name string) (*store.Account, error) {
	if f.err != nil {
		return nil, f.err
	}
	if a, ok := f.accts[name]; ok {
		return a, nil
	}
	return nil, store.ErrNoAccount
}

func TestStoreAccounts(t *testing.T) {
	t.Parallel()
	a0, _, _ := newTestAuth(t, nil)
	sec, err := a0.NewSecret("pencil")
	if err != nil {
		t.Fatal(err)
	}
	fs := &fakeStore{accts: map[string]*store.Account{"alice": {ID: 3, Name: "alice", Secret: sec}}}
	cfg := DefaultConfig()
	cfg.Params, cfg.Clock = testParams, newFakeClock()
	a := New(StoreAccounts{fs}, cfg, nil)
	ctx := context.Background()
	if id, err := a.Plain(ctx, testRemote, " Alice ", "pencil"); err != nil || id != 3 {
		t.Fatalf("Plain via store = %d, %v", id, err)
	}
	if _, err := a.Plain(ctx, testRemote, "bob", "pencil"); err != ErrAuthFailed {
		t.Fatalf("unknown via store: %v", err)
	}
	if _, _, err := (StoreAccounts{fs}).Secret(ctx, "bob"); err != ErrUnknownUser {
		t.Fatalf("Secret(bob) = %v", err)
	}
	fs.err = errors.New("disk on fire")
	if _, _, err := (StoreAccounts{fs}).Secret(ctx, "alice"); err == nil || errors.Is(err, ErrUnknownUser) {
		t.Fatalf("store error: %v", err)
	}
}
