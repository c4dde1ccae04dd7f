package storetest

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"barid/internal/store"
)

// testACL exercises store.ACLStore (RFC 4314 mailbox ACLs and groups):
// entries are set, replaced and removed; SharedWith finds the mailboxes
// of other accounts that name one of the identifiers, never the
// caller's own; RENAME keeps a mailbox's ACL and DELETE drops it, so a
// mailbox created again under the name starts with none.
func testACL(t *testing.T, open func(t *testing.T) store.Store) {
	s := openClosed(t, open)
	as, ok := s.(store.ACLStore)
	if !ok {
		t.Fatal("backend has no store.ACLStore")
	}
	ctx := context.Background()
	a, inboxA := setup(t, s)
	b := must[*store.Account](t)(s.CreateAccount(ctx, "bob", nil))
	folder := mkbox(t, s, b.ID, "Folder")
	mkbox(t, s, b.ID, "Private")

	acl := func(id int64) []store.ACLEntry {
		t.Helper()
		es, err := as.ACL(ctx, id)
		noErr(t, err)
		return es
	}
	if es := acl(folder.ID); len(es) != 0 {
		t.Fatalf("new mailbox has ACL %v", es)
	}
	noErr(t, as.SetACL(ctx, folder.ID, a.Name, "lr"))
	noErr(t, as.SetACL(ctx, folder.ID, "-anyone", "w"))
	noErr(t, as.SetACL(ctx, folder.ID, a.Name, "lrs"))
	want := []store.ACLEntry{{Identifier: "-anyone", Rights: "w"}, {Identifier: a.Name, Rights: "lrs"}}
	if es := acl(folder.ID); !reflect.DeepEqual(es, want) {
		t.Fatalf("ACL = %v, want %v", es, want)
	}
	if err := as.SetACL(ctx, 1<<40, a.Name, "l"); !errors.Is(err, store.ErrNoMailbox) {
		t.Fatalf("SetACL on a missing mailbox: %v", err)
	}

	sh, err := as.SharedWith(ctx, a.ID, []string{a.Name, "anyone"})
	noErr(t, err)
	if len(sh) != 1 || sh[0].Mailbox.ID != folder.ID || sh[0].Owner != "bob" || sh[0].Mailbox.Name != "Folder" {
		t.Fatalf("SharedWith = %+v", sh)
	}
	// The caller's own mailboxes are never "shared with" it.
	noErr(t, as.SetACL(ctx, inboxA.ID, a.Name, "lr"))
	sh, err = as.SharedWith(ctx, a.ID, []string{a.Name})
	noErr(t, err)
	if len(sh) != 1 {
		t.Fatalf("SharedWith lists own mailbox: %+v", sh)
	}
	if sh, _ := as.SharedWith(ctx, a.ID, []string{"nobody"}); len(sh) != 0 {
		t.Fatalf("SharedWith(nobody) = %+v", sh)
	}

	// RENAME keeps the ACL; DELETE drops it.
	_, err = s.RenameMailbox(ctx, b.ID, "Folder", "Renamed")
	noErr(t, err)
	if es := acl(folder.ID); len(es) != 2 {
		t.Fatalf("ACL after rename: %v", es)
	}
	noErr(t, as.SetACL(ctx, folder.ID, "-anyone", ""))
	if es := acl(folder.ID); len(es) != 1 {
		t.Fatalf("ACL after removal: %v", es)
	}
	_, err = s.DeleteMailbox(ctx, b.ID, "Renamed")
	noErr(t, err)
	again := mkbox(t, s, b.ID, "Renamed")
	if es := acl(again.ID); len(es) != 0 {
		t.Fatalf("recreated mailbox inherited ACL %v", es)
	}
	if sh, _ := as.SharedWith(ctx, a.ID, []string{a.Name}); len(sh) != 0 {
		t.Fatalf("SharedWith after delete: %+v", sh)
	}

	// Groups.
	noErr(t, as.SetGroupMember(ctx, "staff", "bob", true))
	noErr(t, as.SetGroupMember(ctx, "staff", "alice", true))
	noErr(t, as.SetGroupMember(ctx, "staff", "alice", true))
	noErr(t, as.SetGroupMember(ctx, "admins", "bob", true))
	noErr(t, as.SetGroupMember(ctx, "admins", "bob", false))
	gm, err := as.GroupMembers(ctx)
	noErr(t, err)
	wantG := []store.GroupMember{{Group: "staff", Account: "alice"}, {Group: "staff", Account: "bob"}}
	if !reflect.DeepEqual(gm, wantG) {
		t.Fatalf("GroupMembers = %v, want %v", gm, wantG)
	}

	// A deleted account takes its ACL entries and memberships along: a
	// new account of the same name inherits nothing.
	noErr(t, as.SetACL(ctx, again.ID, a.Name, "lr"))
	noErr(t, as.SetACL(ctx, again.ID, "-"+a.Name, "w"))
	noErr(t, as.SetACL(ctx, again.ID, "anyone", "l"))
	noErr(t, as.SetGroupMember(ctx, "staff", a.Name, true))
	noErr(t, s.DeleteAccount(ctx, a.ID))
	if es := acl(again.ID); len(es) != 1 || es[0].Identifier != "anyone" {
		t.Fatalf("ACL after the account's deletion: %v", es)
	}
	gm, err = as.GroupMembers(ctx)
	noErr(t, err)
	if !reflect.DeepEqual(gm, wantG) {
		t.Fatalf("groups after the account's deletion: %v", gm)
	}
}
