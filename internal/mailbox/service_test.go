package mailbox_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"barid/internal/mailbox"
	"barid/internal/notify"
	"barid/internal/store"
	"barid/internal/store/sqlite"
)

func setupB(b *testing.B) (*mailbox.Service, store.Store, *notify.Bus) {
	return setup(b, nil)
}

func userB(b *testing.B, st store.Store, name string) mailbox.User { return user(b, st, name) }

func setup(t testing.TB, groups map[string][]string) (*mailbox.Service, store.Store, *notify.Bus) {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	bus := notify.New()
	return mailbox.New(mailbox.Config{Store: st, Bus: bus, Groups: groups}), st, bus
}

func user(t testing.TB, st store.Store, name string) mailbox.User {
	t.Helper()
	a, err := st.CreateAccount(context.Background(), name, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.CreateMailbox(context.Background(), a.ID, "INBOX", ""); err != nil && !errors.Is(err, store.ErrMailboxExists) {
		t.Fatal(err)
	}
	return mailbox.User{ID: a.ID, Name: a.Name}
}

// TestRightsResolution: RFC 4314 §2 identifiers (user, anyone,
// authenticated, $group from the config and from the store), negative
// rights, and the owner's implicit rights.
func TestRightsResolution(t *testing.T) {
	ctx := context.Background()
	svc, st, _ := setup(t, map[string][]string{"cfg": {"Carol"}})
	bob, alice, carol := user(t, st, "bob"), user(t, st, "alice"), user(t, st, "carol")
	if _, err := svc.Create(ctx, bob, "Team/Plans", ""); err != nil {
		t.Fatal(err)
	}
	if err := svc.SetGroupMember(ctx, "$db", "alice", true); err != nil {
		t.Fatal(err)
	}
	const F = "Other Users/bob/Team/Plans"
	rights := func(u mailbox.User) string {
		t.Helper()
		ref, err := svc.MyRights(ctx, u, F)
		if errors.Is(err, store.ErrNoMailbox) {
			return "none"
		}
		if err != nil {
			t.Fatal(err)
		}
		return ref.Rights.String()
	}
	set := func(id, r string) {
		t.Helper()
		if err := svc.SetACL(ctx, bob, "Team/Plans", id, r); err != nil {
			t.Fatal(err)
		}
	}
	if got := rights(alice); got != "none" {
		t.Fatalf("before any grant: %s", got)
	}
	set("anyone", "lr")
	set("$db", "+w")
	set("$cfg", "lrs")
	set("-carol", "r")
	for _, tc := range []struct {
		u    mailbox.User
		want string
	}{{alice, "lrw"}, {carol, "ls"}} {
		if got := rights(tc.u); got != tc.want {
			t.Errorf("%s: %s, want %s", tc.u.Name, got, tc.want)
		}
	}
	ref, err := svc.MyRights(ctx, bob, "Team/Plans")
	if err != nil || ref.Rights != mailbox.All {
		t.Fatalf("owner: %v %v", ref, err)
	}
	set("$db", "-w")
	set("authenticated", "i")
	if got := rights(alice); got != "lri" {
		t.Fatalf("after -w and authenticated i: %s", got)
	}
	// SETACL needs "a".
	if err := svc.SetACL(ctx, alice, F, "alice", "lrswipkxtea"); !mailbox.IsNoPerm(err) {
		t.Fatalf("SETACL without a: %v", err)
	}
	// List: the shared mailbox appears with its visible name; its
	// parent only if granted.
	refs, err := svc.List(ctx, alice)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, r := range refs {
		if r.Shared() {
			names = append(names, r.Name)
		}
	}
	if len(names) != 1 || names[0] != F {
		t.Fatalf("alice lists %v", names)
	}
}

// TestRenameAndDelete: the rules that moved out of the IMAP handlers.
func TestRenameAndDelete(t *testing.T) {
	ctx := context.Background()
	svc, st, bus := setup(t, nil)
	bob := user(t, st, "bob")
	sub := bus.Subscribe(bob.ID)
	defer sub.Close()
	if _, err := svc.Create(ctx, bob, "a/b/c", ""); err != nil {
		t.Fatal(err)
	}
	if ch := sub.Drain(); len(ch) != 3 {
		t.Fatalf("create with parents published %d changes, want 3", len(ch))
	}
	if err := svc.SetSubscribed(ctx, bob, "a/b", true); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Rename(ctx, bob, "a", "x/y"); err != nil {
		t.Fatal(err)
	}
	subs, _ := svc.Subscriptions(ctx, bob)
	if len(subs) != 1 || subs[0] != "x/y/b" {
		t.Fatalf("subscriptions after rename: %v", subs)
	}
	if _, err := svc.Rename(ctx, bob, "x", "x/y/z"); err == nil {
		t.Fatal("rename under itself accepted")
	}
	var me *mailbox.Error
	if _, err := svc.Rename(ctx, bob, "x/y", "INBOX"); !errors.As(err, &me) || me.Kind != mailbox.KindExists {
		t.Fatalf("rename onto INBOX: %v", err)
	}
	// RENAME INBOX moves its messages and leaves INBOX.
	inbox, _ := st.Mailbox(ctx, bob.ID, "INBOX")
	if _, _, err := st.AppendMessages(ctx, inbox.ID, []store.NewMessage{{BlobID: "b1", Size: 1}}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Rename(ctx, bob, "inbox", "Old"); err != nil {
		t.Fatal(err)
	}
	old, err := svc.Resolve(ctx, bob, "Old", mailbox.RightRead)
	if err != nil {
		t.Fatal(err)
	}
	if s, _ := st.MailboxStatus(ctx, old.ID); s.Messages != 1 {
		t.Fatalf("Old has %d messages", s.Messages)
	}
	if s, _ := st.MailboxStatus(ctx, inbox.ID); s.Messages != 0 {
		t.Fatalf("INBOX kept %d messages", s.Messages)
	}
	// Renaming into another namespace: one answer whether the account
	// exists or not.
	user(t, st, "carol")
	_, e1 := svc.Rename(ctx, bob, "x/y", "Other Users/carol/z")
	_, e2 := svc.Rename(ctx, bob, "x/y", "Other Users/nobody/z")
	if e1 == nil || e2 == nil || e1.Error() != e2.Error() {
		t.Fatalf("rename into other namespaces: %v / %v", e1, e2)
	}
	if err := svc.Delete(ctx, bob, "INBOX"); !errors.As(err, &me) || me.Kind != mailbox.KindCannot {
		t.Fatalf("delete INBOX: %v", err)
	}
	if err := svc.Delete(ctx, bob, "Old"); err != nil {
		t.Fatal(err)
	}
}

// TestSharedCreateAndDelivery: CREATE below a shared mailbox needs "k"
// and inherits the parent's ACL; delivery to a folder needs "p".
func TestSharedCreateAndDelivery(t *testing.T) {
	ctx := context.Background()
	svc, st, _ := setup(t, nil)
	bob, alice := user(t, st, "bob"), user(t, st, "alice")
	if _, err := svc.Create(ctx, bob, "F", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Create(ctx, alice, "Other Users/bob/F/sub", ""); !mailbox.IsNoPerm(err) {
		t.Fatalf("create without k: %v", err)
	}
	if _, err := svc.Create(ctx, alice, "Other Users/bob/G", ""); !mailbox.IsNoPerm(err) {
		t.Fatalf("create at the owner's top level: %v", err)
	}
	if err := svc.SetACL(ctx, bob, "F", "alice", "lrk"); err != nil {
		t.Fatal(err)
	}
	ref, err := svc.Create(ctx, alice, "Other Users/bob/F/sub", "")
	if err != nil {
		t.Fatal(err)
	}
	if ref.Local != "F/sub" || ref.Rights.String() != "lrk" {
		t.Fatalf("created %+v", ref)
	}
	aliceAcct, _ := st.AccountByID(ctx, alice.ID)
	mb, _, err := svc.DeliveryTarget(ctx, aliceAcct, "Other Users/bob/F")
	if err != nil || mb.Name != "INBOX" || mb.AccountID != alice.ID {
		t.Fatalf("delivery without p went to %+v, %v", mb, err)
	}
	if err := svc.SetACL(ctx, bob, "F", "alice", "+p"); err != nil {
		t.Fatal(err)
	}
	mb, _, err = svc.DeliveryTarget(ctx, aliceAcct, "Other Users/bob/F")
	if err != nil || mb.Name != "F" || mb.AccountID != bob.ID {
		t.Fatalf("delivery with p went to %+v, %v", mb, err)
	}
	mb, _, err = svc.DeliveryTarget(ctx, aliceAcct, "inbox")
	if err != nil || mb.Name != "INBOX" {
		t.Fatalf("delivery to inbox: %+v %v", mb, err)
	}
}

// TestShadowedPersonal: a personal mailbox named like a namespace prefix
// is neither listed nor reachable, and cannot be created.
func TestShadowedPersonal(t *testing.T) {
	ctx := context.Background()
	svc, st, _ := setup(t, nil)
	bob := user(t, st, "bob")
	if _, _, err := st.CreateMailbox(ctx, bob.ID, "Shared", ""); err != nil {
		t.Fatal(err)
	}
	refs, err := svc.List(ctx, bob)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range refs {
		if r.Name == "Shared" {
			t.Fatal("shadowed mailbox listed")
		}
	}
	if _, err := svc.Resolve(ctx, bob, "Shared", 0); !errors.Is(err, store.ErrNoMailbox) {
		t.Fatalf("resolve shadowed: %v", err)
	}
	if _, err := svc.Create(ctx, bob, "Other Users/x", ""); !mailbox.IsNoPerm(err) {
		t.Fatalf("create in the namespace: %v", err)
	}
}

// TestNoACL: with access control off ([sharing] acl = false) an ACL
// entry left in the store gives nobody anything: the other owner's
// mailbox is neither listed nor reachable, the namespace names are the
// user's own, and SETACL and DELETEACL are refused; the ACL change is
// not published. The owner keeps every right.
func TestNoACL(t *testing.T) {
	ctx := context.Background()
	on, st, _ := setup(t, nil)
	bob, alice := user(t, st, "bob"), user(t, st, "alice")
	if _, err := on.Create(ctx, bob, "Team", ""); err != nil {
		t.Fatal(err)
	}
	if err := on.SetACL(ctx, bob, "Team", "anyone", "lr"); err != nil {
		t.Fatal(err)
	}
	if _, err := on.Resolve(ctx, alice, "Other Users/bob/Team", mailbox.RightRead); err != nil {
		t.Fatalf("with ACLs on: %v", err)
	}
	bus := notify.New()
	sub := bus.Subscribe(alice.ID)
	defer sub.Close()
	off := mailbox.New(mailbox.Config{Store: st, Bus: bus, NoACL: true})
	if _, err := off.Resolve(ctx, alice, "Other Users/bob/Team", 0); !errors.Is(err, store.ErrNoMailbox) {
		t.Fatalf("Resolve with ACLs off: %v", err)
	}
	refs, err := off.List(ctx, alice)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range refs {
		if r.Shared() {
			t.Fatalf("List with ACLs off shows %s", r.Name)
		}
	}
	if off.OtherUsersPrefix() != "" || off.PublicPrefix() != "" {
		t.Fatalf("namespaces with ACLs off: %q %q", off.OtherUsersPrefix(), off.PublicPrefix())
	}
	// "Other Users/…" is an ordinary personal name now.
	if _, err := off.Create(ctx, alice, "Other Users/x", ""); err != nil {
		t.Fatalf("CREATE of a personal name under the old prefix: %v", err)
	}
	if ref, err := off.Resolve(ctx, alice, "Other Users/x", mailbox.RightAdmin); err != nil || ref.Shared() || ref.Rights != mailbox.All {
		t.Fatalf("own mailbox with ACLs off: %+v %v", ref, err)
	}
	for _, err := range []error{off.SetACL(ctx, bob, "Team", "alice", "lr"), off.DeleteACL(ctx, bob, "Team", "anyone"), off.SetACLOwned(ctx, bob.ID, "Team", "alice", "l")} {
		if !errors.Is(err, mailbox.ErrACLOff) {
			t.Fatalf("ACL change with ACLs off: %v", err)
		}
	}
	for _, c := range sub.Drain() {
		if c.Kind == store.ChangeACL {
			t.Fatalf("an ACL change was published with ACLs off: %+v", c)
		}
	}
}
