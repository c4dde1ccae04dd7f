package main

import (
	"path/filepath"
	"strings"
	"testing"

	"barid/internal/testkit"
)

// TestImportDovecotMaildir fills a real Dovecot (maildir) over IMAP,
// imports its Maildir into barid and checks that barid serves the same
// UIDVALIDITY, UIDNEXT, UIDs, flags, keywords, INTERNALDATEs, sizes,
// bytes and subscriptions; then that a second import adds nothing.
func TestImportDovecotMaildir(t *testing.T) {
	dv := testkit.StartDovecot(t, testkit.DovecotOptions{Users: []string{"alice"}})
	populate(t, dv.Addr, "alice", "pw", 0)
	want := takeSnapshot(t, dv.Addr, "alice", "pw")
	if len(want.Boxes) < 8 || len(want.Boxes["Work"].Msgs) != 6 {
		t.Fatalf("Dovecot was not filled as expected: %d mailboxes", len(want.Boxes))
	}

	dir := t.TempDir()
	if code, _, errs := runCLI(t, "pw\n", "user", "add", "--data", dir, "alice"); code != 0 {
		t.Fatalf("user add: %s", errs)
	}
	maildir := filepath.Join(dv.Dir, "mail", "alice")
	code, out, errs := runCLI(t, "", "import", "maildir", "--data", dir, "alice", maildir)
	if code != 0 {
		t.Fatalf("import: %d\n%s\n%s", code, out, errs)
	}
	if !strings.Contains(out, "UIDs kept") || strings.Contains(out, "new UIDs") {
		t.Errorf("import did not keep every mailbox's UIDs:\n%s", out)
	}
	// Again: nothing is added.
	code, out2, errs := runCLI(t, "", "import", "maildir", "--data", dir, "alice", maildir)
	if code != 0 || strings.Contains(out2, "imported, 0 already") && !strings.Contains(out2, " 0 imported") {
		t.Fatalf("second import: %d\n%s\n%s", code, out2, errs)
	}
	for _, l := range strings.Split(strings.TrimSpace(out2), "\n") {
		if !strings.Contains(l, ": 0 imported") {
			t.Errorf("second import added messages: %s", l)
		}
	}

	srv := testkit.StartAt(t, dir, testkit.WithoutTLSListener())
	got := takeSnapshot(t, srv.Addr, "alice", "pw")
	compareSnapshots(t, want, got, true)
}
