package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"barid/internal/store"
	"barid/internal/store/sqlite"
)

// TestMailboxSharedSeen: "barid mailbox sharedseen" sets and removes the
// METADATA entry the IMAP server reads to make \Seen shared, on a
// user's mailbox and on a public one; a missing mailbox and a bad value
// are refused.
func TestMailboxSharedSeen(t *testing.T) {
	dir := t.TempDir()
	if code, _, errs := runCLI(t, "pw\n", "user", "add", "--data", dir, "bob"); code != 0 {
		t.Fatalf("user add: %d %q", code, errs)
	}
	if code, _, errs := runCLI(t, "", "mailbox", "create", "--data", dir, "bob", "Team"); code != 0 {
		t.Fatalf("create: %d %q", code, errs)
	}
	if code, _, errs := runCLI(t, "", "mailbox", "sharedseen", "--data", dir, "--shared", "News", "on"); code != 1 || !strings.Contains(errs, "no such mailbox") {
		t.Fatalf("sharedseen on a missing mailbox: %d %q", code, errs)
	}
	if code, _, errs := runCLI(t, "", "mailbox", "create", "--data", dir, "--shared", "News"); code != 0 {
		t.Fatalf("create --shared: %d %q", code, errs)
	}
	if code, _, errs := runCLI(t, "", "mailbox", "sharedseen", "--data", dir, "--user", "bob", "Team", "maybe"); code != 2 {
		t.Fatalf("sharedseen maybe: %d %q", code, errs)
	}
	for _, a := range [][]string{{"--user", "bob", "Team", "on"}, {"--shared", "News", "on"}, {"--shared", "News", "off"}} {
		args := append([]string{"mailbox", "sharedseen", "--data", dir}, a...)
		if code, out, errs := runCLI(t, "", args...); code != 0 || !strings.Contains(out, "sharedseen "+a[len(a)-1]) {
			t.Fatalf("%v: %d %q %q", a, code, out, errs)
		}
	}
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(dir, "barid.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	value := func(owner, name string) string {
		t.Helper()
		acct, err := st.Account(ctx, owner)
		if err != nil {
			t.Fatal(err)
		}
		mb, err := st.Mailbox(ctx, acct.ID, name)
		if err != nil {
			t.Fatal(err)
		}
		es, err := st.MetadataEntries(ctx, acct.ID, mb.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range es {
			if e.Name == sharedSeenEntry {
				return string(e.Value)
			}
		}
		return ""
	}
	if v := value("bob", "Team"); v != "true" {
		t.Fatalf("Team: %q", v)
	}
	if v := value("#public", "News"); v != "" {
		t.Fatalf("News after off: %q", v)
	}
	var _ store.Metadata = st
}
