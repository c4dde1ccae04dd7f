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

	sh, err := as.SharedWith(ctx, a.ID, a.Name, []string{a.Name, "anyone"})
	noErr(t, err)
	if len(sh) != 1 || sh[0].Mailbox.ID != folder.ID || sh[0].Owner != "bob" || sh[0].Mailbox.Name != "Folder" {
		t.Fatalf("SharedWith = %+v", sh)
	}
	// With the entries that apply, negative ones included, so that the
	// caller need not read the ACL again.
	if !reflect.DeepEqual(sh[0].ACL, want) {
		t.Fatalf("SharedWith ACL = %v, want %v", sh[0].ACL, want)
	}
	if sh, _ := as.SharedWith(ctx, a.ID, a.Name, []string{a.Name}); len(sh) != 1 || !reflect.DeepEqual(sh[0].ACL, want[1:]) {
		t.Fatalf("SharedWith(name) = %+v", sh)
	}
	// The caller's own mailboxes are never "shared with" it.
	noErr(t, as.SetACL(ctx, inboxA.ID, a.Name, "lr"))
	sh, err = as.SharedWith(ctx, a.ID, a.Name, []string{a.Name})
	noErr(t, err)
	if len(sh) != 1 {
		t.Fatalf("SharedWith lists own mailbox: %+v", sh)
	}
	if sh, _ := as.SharedWith(ctx, a.ID, a.Name, []string{"nobody"}); len(sh) != 0 {
		t.Fatalf("SharedWith(nobody) = %+v", sh)
	}
	// store.ListReader answers Mailboxes and SharedWith together, each
	// as alone.
	if lr, ok := s.(store.ListReader); ok {
		for _, ids := range [][]string{{a.Name, "anyone"}, {a.Name}, {"nobody"}} {
			own, sh, err := lr.MailboxesShared(ctx, a.ID, a.Name, ids)
			noErr(t, err)
			wantOwn, err := s.Mailboxes(ctx, a.ID)
			noErr(t, err)
			wantSh, err := as.SharedWith(ctx, a.ID, a.Name, ids)
			noErr(t, err)
			if !reflect.DeepEqual(own, wantOwn) || !reflect.DeepEqual(sh, wantSh) {
				t.Fatalf("MailboxesShared(%q) = %+v, %+v; want %+v, %+v", ids, own, sh, wantOwn, wantSh)
			}
			if len(own) == 0 || (ids[0] == a.Name && len(sh) != 1) {
				t.Fatalf("MailboxesShared(%q) = %+v, %+v", ids, own, sh)
			}
		}
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
	if sh, _ := as.SharedWith(ctx, a.ID, a.Name, []string{a.Name}); len(sh) != 0 {
		t.Fatalf("SharedWith after delete: %+v", sh)
	}

	// Groups.
	setGroup(t, as, "staff", "bob", true)
	setGroup(t, as, "staff", "alice", true)
	setGroup(t, as, "staff", "alice", true)
	setGroup(t, as, "admins", "bob", true)
	setGroup(t, as, "admins", "bob", false)
	gm, err := as.GroupMembers(ctx)
	noErr(t, err)
	wantG := []store.GroupMember{{Group: "staff", Account: "alice"}, {Group: "staff", Account: "bob"}}
	if !reflect.DeepEqual(gm, wantG) {
		t.Fatalf("GroupMembers = %v, want %v", gm, wantG)
	}

	// The groups of one account; SharedWith adds the stored groups of
	// the account it is given to the identifiers, with their negative
	// forms, and leaves out a mailbox only negative entries apply to.
	if gs, err := as.AccountGroups(ctx, "alice"); err != nil || !reflect.DeepEqual(gs, []string{"staff"}) {
		t.Fatalf("AccountGroups(alice) = %v, %v", gs, err)
	}
	setGroup(t, as, "admins", "alice", true)
	if gs, err := as.AccountGroups(ctx, "alice"); err != nil || !reflect.DeepEqual(gs, []string{"admins", "staff"}) {
		t.Fatalf("AccountGroups(alice) = %v, %v", gs, err)
	}
	if gs, err := as.AccountGroups(ctx, "nobody"); err != nil || len(gs) != 0 {
		t.Fatalf("AccountGroups(nobody) = %v, %v", gs, err)
	}
	team := mkbox(t, s, b.ID, "Team")
	noErr(t, as.SetACL(ctx, team.ID, "$staff", "lrw"))
	noErr(t, as.SetACL(ctx, team.ID, "-$admins", "w"))
	noErr(t, as.SetACL(ctx, team.ID, "$others", "lrswipkxtea"))
	negOnly := mkbox(t, s, b.ID, "Hidden")
	noErr(t, as.SetACL(ctx, negOnly.ID, "-$staff", "l"))
	noErr(t, as.SetACL(ctx, negOnly.ID, "carol", "l"))
	// (the account name given is alice's: a is alice here)
	sh, err = as.SharedWith(ctx, a.ID, "alice", []string{a.Name, "anyone"})
	noErr(t, err)
	wantTeam := []store.ACLEntry{{Identifier: "$staff", Rights: "lrw"}, {Identifier: "-$admins", Rights: "w"}}
	if len(sh) != 1 || sh[0].Mailbox.ID != team.ID || !reflect.DeepEqual(sh[0].ACL, wantTeam) {
		t.Fatalf("SharedWith through groups = %+v, want Team with %v", sh, wantTeam)
	}
	// bob's groups are not alice's.
	if sh, _ := as.SharedWith(ctx, a.ID, "bob", []string{"nobody"}); len(sh) != 1 {
		t.Fatalf("SharedWith for bob's groups = %+v", sh)
	}
	if sh, _ := as.SharedWith(ctx, a.ID, "nobody", []string{"nobody"}); len(sh) != 0 {
		t.Fatalf("SharedWith(nobody) = %+v", sh)
	}
	// A membership change reports the mailboxes whose ACL names the
	// group, positive or negative, once each, for live sessions; a
	// change that changes nothing reports none.
	aclCh := func(mbs ...*store.Mailbox) []store.Change {
		var out []store.Change
		for _, mb := range mbs {
			out = append(out, store.Change{Kind: store.ChangeACL, AccountID: b.ID, MailboxID: mb.ID, Name: mb.Name})
		}
		return out
	}
	if ch := setGroup(t, as, "admins", "carol", true); !reflect.DeepEqual(ch, aclCh(team)) {
		t.Fatalf("SetGroupMember(admins, carol) changes = %+v, want %+v", ch, aclCh(team))
	}
	if ch := setGroup(t, as, "admins", "carol", true); len(ch) != 0 {
		t.Fatalf("SetGroupMember again: changes %+v", ch)
	}
	if ch := setGroup(t, as, "staff", "carol", true); !reflect.DeepEqual(ch, aclCh(team, negOnly)) {
		t.Fatalf("SetGroupMember(staff, carol) changes = %+v, want %+v", ch, aclCh(team, negOnly))
	}
	if ch := setGroup(t, as, "unnamed", "carol", true); len(ch) != 0 {
		t.Fatalf("SetGroupMember of a group no ACL names: changes %+v", ch)
	}
	if ch := setGroup(t, as, "staff", "carol", false); !reflect.DeepEqual(ch, aclCh(team, negOnly)) {
		t.Fatalf("removing carol from staff: changes = %+v", ch)
	}
	if ch := setGroup(t, as, "staff", "carol", false); len(ch) != 0 {
		t.Fatalf("removing a non-member: changes %+v", ch)
	}
	setGroup(t, as, "admins", "carol", false)
	setGroup(t, as, "unnamed", "carol", false)

	setGroup(t, as, "admins", "alice", false)
	noErr(t, as.SetACL(ctx, team.ID, "$others", ""))
	noErr(t, as.SetACL(ctx, team.ID, "-$admins", ""))
	noErr(t, as.SetACL(ctx, team.ID, "$staff", ""))

	// A deleted account takes its ACL entries and memberships along: a
	// new account of the same name inherits nothing.
	noErr(t, as.SetACL(ctx, again.ID, a.Name, "lr"))
	noErr(t, as.SetACL(ctx, again.ID, "-"+a.Name, "w"))
	noErr(t, as.SetACL(ctx, again.ID, "anyone", "l"))
	setGroup(t, as, "staff", a.Name, true)
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

func setGroup(t *testing.T, as store.ACLStore, group, account string, on bool) []store.Change {
	t.Helper()
	ch, err := as.SetGroupMember(context.Background(), group, account, on)
	noErr(t, err)
	return ch
}
