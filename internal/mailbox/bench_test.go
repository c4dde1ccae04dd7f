package mailbox_test

import (
	"context"
	"fmt"
	"testing"

	"barid/internal/mailbox"
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
