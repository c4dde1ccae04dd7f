package mailbox_test

import (
	"context"
	"errors"
	"testing"

	"barid/internal/mailbox"
	"barid/internal/store"
)

// TestQuotaOwner: GETQUOTAROOT's account (RFC 9208 §4.1.2) is the
// mailbox owner's: the user's own for every personal name, created or
// not; the public owner's for a public name; for another user's folder
// the same refusal whether the folder or the user exists or not, except
// for a quota admin. QuotaAccount (GETQUOTA's roots) lets a user read
// their own root and the public one, an admin any.
func TestQuotaOwner(t *testing.T) {
	ctx := context.Background()
	svc, st, _ := setup(t, nil)
	bob, alice := user(t, st, "bob"), user(t, st, "alice")
	pub := user(t, st, mailbox.PublicAccountName)
	if _, err := svc.Create(ctx, bob, "Team", ""); err != nil {
		t.Fatal(err)
	}
	if err := svc.SetACL(ctx, bob, "Team", "alice", "lrsi"); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Create(ctx, pub, "News", ""); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		admin bool
		want  mailbox.User
		err   error
	}{
		{name: "INBOX", want: alice},
		{name: "Not/Yet/Created", want: alice},
		{name: "Shared/News", want: mailbox.User{ID: pub.ID, Name: pub.Name}},
		{name: "Shared/Nothing", want: mailbox.User{ID: pub.ID, Name: pub.Name}},
		{name: "Other Users/bob/Team", err: mailbox.ErrOtherUsersQuota},
		{name: "Other Users/bob/Secret", err: mailbox.ErrOtherUsersQuota},
		{name: "Other Users/nobody/X", err: mailbox.ErrOtherUsersQuota},
		{name: "Other Users", err: mailbox.ErrOtherUsersQuota},
		{name: "Other Users/bob/Team", admin: true, want: mailbox.User{ID: bob.ID, Name: bob.Name}},
		{name: "Other Users/nobody/X", admin: true, err: store.ErrNoMailbox},
		{name: "Shared", err: store.ErrNoMailbox},
	} {
		got, err := svc.QuotaOwner(ctx, alice, tc.name, tc.admin)
		if tc.err != nil {
			if !errors.Is(err, tc.err) {
				t.Errorf("QuotaOwner(%q, admin %v) = %v, %v; want %v", tc.name, tc.admin, got, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("QuotaOwner(%q, admin %v) = %v, %v; want %v", tc.name, tc.admin, got, err, tc.want)
		}
	}
	for _, tc := range []struct {
		account string
		admin   bool
		ok      bool
	}{
		{"alice", false, true},
		{"ALICE", false, true},
		{mailbox.PublicAccountName, false, true},
		{"bob", false, false},
		{"bob", true, true},
		{"nobody", true, false},
	} {
		got, err := svc.QuotaAccount(ctx, alice, tc.account, tc.admin)
		switch {
		case tc.ok && (err != nil || got.Name != store.NormalizeAccountName(tc.account)):
			t.Errorf("QuotaAccount(%q, admin %v) = %v, %v", tc.account, tc.admin, got, err)
		case !tc.ok && !errors.Is(err, mailbox.ErrNoQuotaRoot):
			t.Errorf("QuotaAccount(%q, admin %v) = %v, %v; want ErrNoQuotaRoot", tc.account, tc.admin, got, err)
		}
	}
	// Usage is the owner's: alice's APPEND into bob's folder is bob's.
	if err := st.(store.Quotas).SetQuotaLimits(ctx, bob.ID, store.QuotaLimits{Storage: 1 << 20, Messages: store.QuotaInherit}); err != nil {
		t.Fatal(err)
	}
	ref, err := svc.Resolve(ctx, alice, "Other Users/bob/Team", mailbox.RightInsert)
	if err != nil {
		t.Fatal(err)
	}
	body := []byte("Subject: x\r\n\r\nx\r\n")
	if _, _, err := st.AppendMessages(ctx, ref.ID, []store.NewMessage{{BlobID: "b1", Size: int64(len(body)), Inline: body}}); err != nil {
		t.Fatal(err)
	}
	for u, want := range map[mailbox.User]int64{bob: int64(len(body)), alice: 0} {
		q, err := svc.Quota(ctx, u.ID)
		if err != nil || q.Usage.Storage != want {
			t.Errorf("Quota(%s) = %+v, %v; want storage %d", u.Name, q, err, want)
		}
	}
}

// TestGroupChangePublishes: a group membership change puts a
// store.ChangeACL for each mailbox whose ACL names the group on the
// bus, as SETACL does, so that sessions work out their rights again;
// a change that changes nothing publishes nothing.
func TestGroupChangePublishes(t *testing.T) {
	ctx := context.Background()
	svc, st, bus := setup(t, nil)
	bob, alice := user(t, st, "bob"), user(t, st, "alice")
	if _, err := svc.Create(ctx, bob, "Team", ""); err != nil {
		t.Fatal(err)
	}
	if err := svc.SetACL(ctx, bob, "Team", "$staff", "lr"); err != nil {
		t.Fatal(err)
	}
	sub := bus.Subscribe(alice.ID)
	defer sub.Close()
	if err := svc.SetGroupMember(ctx, "staff", "Alice", true); err != nil {
		t.Fatal(err)
	}
	cs := sub.Drain()
	if len(cs) != 1 || cs[0].Kind != store.ChangeACL || cs[0].AccountID != bob.ID || cs[0].Name != "Team" {
		t.Fatalf("after group add: %+v", cs)
	}
	if ref, err := svc.MyRights(ctx, alice, "Other Users/bob/Team"); err != nil || ref.Rights.String() != "lr" {
		t.Fatalf("rights through the group: %v %v", ref, err)
	}
	if err := svc.SetGroupMember(ctx, "staff", "alice", true); err != nil {
		t.Fatal(err)
	}
	if cs := sub.Drain(); len(cs) != 0 {
		t.Fatalf("a membership that was there already published %+v", cs)
	}
}
