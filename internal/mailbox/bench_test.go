package mailbox_test

import (
	"context"
	"fmt"
	"testing"

	"barid/internal/mailbox"
	"barid/internal/store"
)

// BenchmarkResolve compares the mailbox service with the store calls
// the IMAP handlers made before it: an own mailbox (no ACL read), a
// shared one (one ACL read), and LIST (own mailboxes plus one
// SharedWith query and the group table).
func BenchmarkResolve(b *testing.B) {
	ctx := context.Background()
	svc, st, _ := setupB(b)
	bob, alice := userB(b, st, "bob"), userB(b, st, "alice")
	for i := 0; i < 20; i++ {
		if _, err := svc.Create(ctx, bob, fmt.Sprintf("F%d", i), ""); err != nil {
			b.Fatal(err)
		}
	}
	if err := svc.SetACL(ctx, bob, "F1", "alice", "lr"); err != nil {
		b.Fatal(err)
	}
	b.Run("store.Mailbox", func(b *testing.B) {
		for b.Loop() {
			if _, err := st.Mailbox(ctx, bob.ID, "F3"); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Resolve/own", func(b *testing.B) {
		for b.Loop() {
			if _, err := svc.Resolve(ctx, bob, "F3", mailbox.RightRead); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Resolve/shared", func(b *testing.B) {
		for b.Loop() {
			if _, err := svc.Resolve(ctx, alice, "Other Users/bob/F1", mailbox.RightRead); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("store.Mailboxes", func(b *testing.B) {
		for b.Loop() {
			if _, err := st.Mailboxes(ctx, bob.ID); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("List/own", func(b *testing.B) {
		for b.Loop() {
			if _, err := svc.List(ctx, bob); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkListShared is LIST's service call for a user with one folder
// shared with them, against the store calls it makes: the user's own
// mailboxes, and SharedWith (which also reads the entries that apply
// and the user's stored groups, issue #13).
func BenchmarkListShared(b *testing.B) {
	ctx := context.Background()
	svc, st, _ := setupB(b)
	bob, alice := userB(b, st, "bob"), userB(b, st, "alice")
	for i := 0; i < 5; i++ {
		if _, err := svc.Create(ctx, alice, fmt.Sprintf("F%d", i), ""); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := svc.Create(ctx, bob, "Team", ""); err != nil {
		b.Fatal(err)
	}
	if err := svc.SetACL(ctx, bob, "Team", "alice", "lrs"); err != nil {
		b.Fatal(err)
	}
	b.Run("store.Mailboxes", func(b *testing.B) {
		for b.Loop() {
			if _, err := st.Mailboxes(ctx, alice.ID); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("store.SharedWith", func(b *testing.B) {
		as := st.(store.ACLStore)
		ids := []string{"alice", "anyone", "authenticated"}
		for b.Loop() {
			if sh, err := as.SharedWith(ctx, alice.ID, "alice", ids); err != nil || len(sh) != 1 {
				b.Fatal(len(sh), err)
			}
		}
	})
	b.Run("store.SharedWith/none", func(b *testing.B) {
		as := st.(store.ACLStore)
		ids := []string{"bob", "anyone", "authenticated"}
		for b.Loop() {
			if sh, err := as.SharedWith(ctx, bob.ID, "bob", ids); err != nil || len(sh) != 0 {
				b.Fatal(len(sh), err)
			}
		}
	})
	b.Run("List", func(b *testing.B) {
		for b.Loop() {
			refs, err := svc.List(ctx, alice)
			if err != nil || len(refs) != 7 {
				b.Fatal(len(refs), err)
			}
		}
	})
}
