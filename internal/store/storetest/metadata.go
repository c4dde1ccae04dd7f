package storetest

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"barid/internal/store"
)

func metadataStore(t *testing.T, s store.Store) store.Metadata {
	t.Helper()
	m, ok := s.(store.Metadata)
	if !ok {
		t.Fatalf("%T does not implement store.Metadata", s)
	}
	return m
}

// entriesOf renders a scope as "name=value" lines ("name=<nil>" never
// appears: removed entries are gone).
func entriesOf(t *testing.T, m store.Metadata, accountID, mailboxID int64) string {
	t.Helper()
	es, err := m.MetadataEntries(context.Background(), accountID, mailboxID)
	noErr(t, err)
	var b strings.Builder
	for _, e := range es {
		if e.Value == nil {
			t.Fatalf("entry %s has a nil value", e.Name)
		}
		fmt.Fprintf(&b, "%s=%s;", e.Name, e.Value)
	}
	return b.String()
}

func ent(name string, v *string) store.MetadataEntry {
	if v == nil {
		return store.MetadataEntry{Name: name}
	}
	return store.MetadataEntry{Name: name, Value: []byte(*v)}
}

func sp(s string) *string { return &s }

// testMetadata: RFC 5464 entries by scope, case folding, removal, the
// limits (all or nothing), and the entries' life with their mailbox.
func testMetadata(t *testing.T, open func(t *testing.T) store.Store) {
	s := openClosed(t, open)
	ctx := context.Background()
	m := metadataStore(t, s)
	a, in := setup(t, s)
	b := must[*store.Account](t)(s.CreateAccount(ctx, "other", nil))
	lim := store.MetadataLimits{MaxEntries: 3, MaxTotalSize: 20}

	noErr(t, m.SetMetadata(ctx, a.ID, 0, []store.MetadataEntry{ent("/private/Vendor/X", sp("1")), ent("/shared/comment", sp("srv"))}, lim))
	noErr(t, m.SetMetadata(ctx, a.ID, in.ID, []store.MetadataEntry{ent("/private/comment", sp("mine")), ent("/shared/comment", sp("")), ent("/shared/x", sp("y"))}, lim))
	if got := entriesOf(t, m, a.ID, 0); got != "/private/vendor/x=1;/shared/comment=srv;" {
		t.Fatalf("server entries of a: %q", got)
	}
	if got := entriesOf(t, m, a.ID, in.ID); got != "/private/comment=mine;/shared/comment=;/shared/x=y;" {
		t.Fatalf("INBOX entries of a: %q", got)
	}
	// Server entries are per account; a mailbox's /private entries are
	// per account, its /shared ones are the mailbox's.
	if got := entriesOf(t, m, b.ID, 0); got != "" {
		t.Fatalf("server entries of b: %q", got)
	}
	if got := entriesOf(t, m, b.ID, in.ID); got != "/shared/comment=;/shared/x=y;" {
		t.Fatalf("a's INBOX as b sees it: %q", got)
	}
	// Over the count limit: nothing of the command is stored.
	err := m.SetMetadata(ctx, a.ID, in.ID, []store.MetadataEntry{ent("/shared/x", nil), ent("/shared/y", sp("1")), ent("/shared/z", sp("2"))}, lim)
	wantErr(t, err, store.ErrMetadataTooMany)
	if !strings.Contains(err.Error(), "limit 3") {
		t.Fatalf("error does not name the limit: %v", err)
	}
	if got := entriesOf(t, m, a.ID, in.ID); got != "/private/comment=mine;/shared/comment=;/shared/x=y;" {
		t.Fatalf("after refused set: %q", got)
	}
	// Over the size limit.
	err = m.SetMetadata(ctx, a.ID, in.ID, []store.MetadataEntry{ent("/shared/x", sp(strings.Repeat("v", 17)))}, lim)
	wantErr(t, err, store.ErrMetadataTooMany)
	// Replacing and removing (case-insensitively) within the limits.
	noErr(t, m.SetMetadata(ctx, a.ID, in.ID, []store.MetadataEntry{ent("/SHARED/X", nil), ent("/shared/Comment", sp("hello"))}, lim))
	if got := entriesOf(t, m, a.ID, in.ID); got != "/private/comment=mine;/shared/comment=hello;" {
		t.Fatalf("after replace: %q", got)
	}
	// Removing what is not there is fine, also at the limit.
	noErr(t, m.SetMetadata(ctx, a.ID, in.ID, []store.MetadataEntry{ent("/shared/none", nil)}, store.MetadataLimits{MaxEntries: 1}))

	// RENAME keeps the entries; DELETE takes them, and a new mailbox of
	// the same name starts with none.
	box, _, err := s.CreateMailbox(ctx, a.ID, "Box", "")
	noErr(t, err)
	noErr(t, m.SetMetadata(ctx, a.ID, box.ID, []store.MetadataEntry{ent("/shared/comment", sp("box")), ent("/private/p", sp("q"))}, lim))
	_, err = s.RenameMailbox(ctx, a.ID, "Box", "Moved")
	noErr(t, err)
	moved := must[*store.Mailbox](t)(s.Mailbox(ctx, a.ID, "Moved"))
	if got := entriesOf(t, m, a.ID, moved.ID); got != "/private/p=q;/shared/comment=box;" {
		t.Fatalf("after rename: %q", got)
	}
	_, err = s.DeleteMailbox(ctx, a.ID, "Moved")
	noErr(t, err)
	if got := entriesOf(t, m, a.ID, moved.ID); got != "" {
		t.Fatalf("entries outlived their mailbox: %q", got)
	}
	wantErr(t, m.SetMetadata(ctx, a.ID, moved.ID, []store.MetadataEntry{ent("/shared/x", sp("1"))}, lim), store.ErrNoMailbox)
	again, _, err := s.CreateMailbox(ctx, a.ID, "Moved", "")
	noErr(t, err)
	if got := entriesOf(t, m, a.ID, again.ID); got != "" {
		t.Fatalf("new mailbox inherited entries: %q", got)
	}
	// Deleting the account takes its server and mailbox entries.
	noErr(t, m.SetMetadata(ctx, b.ID, 0, []store.MetadataEntry{ent("/private/keep", sp("b"))}, lim))
	noErr(t, s.DeleteAccount(ctx, a.ID))
	if got := entriesOf(t, m, a.ID, 0); got != "" {
		t.Fatalf("server entries outlived their account: %q", got)
	}
	if got := entriesOf(t, m, a.ID, in.ID); got != "" {
		t.Fatalf("INBOX entries outlived their account: %q", got)
	}
	if got := entriesOf(t, m, b.ID, 0); got != "/private/keep=b;" {
		t.Fatalf("other account's entries: %q", got)
	}
}
