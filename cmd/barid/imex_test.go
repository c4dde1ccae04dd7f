package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

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
	srv.Stop()

	// Dovecot's mail changes (flags, a new message); a third import
	// brings exactly those changes.
	c := imapLogin(t, dv.Addr, "alice", "pw")
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	var set imap.UIDSet
	set.AddNum(1, 2)
	if err := c.Store(set, &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagFlagged, "$Later"}, Silent: true}, nil).Close(); err != nil {
		t.Fatal(err)
	}
	appendMsg(t, c, "INBOX", testMessage(999, "INBOX"), time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC), imap.FlagSeen)
	c.Close()
	want = takeSnapshot(t, dv.Addr, "alice", "pw")
	code, out3, errs := runCLI(t, "", "import", "maildir", "--data", dir, "alice", maildir)
	if code != 0 || !strings.Contains(out3, "1 imported") || !strings.Contains(out3, "(2 with new flags)") {
		t.Fatalf("third import: %d\n%s\n%s", code, out3, errs)
	}
	srv = testkit.StartAt(t, dir, testkit.WithoutTLSListener())
	compareSnapshots(t, want, takeSnapshot(t, srv.Addr, "alice", "pw"), true)
}

// TestExportRoundTrip: an account imported from Dovecot is exported as
// a Maildir (with dovecot-uidlist) and as mbox files; importing the
// Maildir into a new data folder gives the same account with the same
// UIDs, and importing the mbox files gives the same messages, flags,
// dates and bytes. A Dovecot reading barid's Maildir export serves the
// same UIDs too.
func TestExportRoundTrip(t *testing.T) {
	dv := testkit.StartDovecot(t, testkit.DovecotOptions{Users: []string{"alice", "carol"}})
	populate(t, dv.Addr, "alice", "pw", 100)

	src := t.TempDir()
	runCLI(t, "pw\n", "user", "add", "--data", src, "alice")
	if code, out, errs := runCLI(t, "", "import", "maildir", "--data", src, "alice", filepath.Join(dv.Dir, "mail", "alice")); code != 0 {
		t.Fatalf("import: %s %s", out, errs)
	}
	srv := testkit.StartAt(t, src, testkit.WithoutTLSListener())
	want := takeSnapshot(t, srv.Addr, "alice", "pw")
	srv.Stop()

	exp := filepath.Join(t.TempDir(), "export")
	if code, _, errs := runCLI(t, "", "export", "maildir", "--data", src, "alice", exp); code != 0 {
		t.Fatalf("export maildir: %s", errs)
	}
	// Exporting again changes nothing and fails nothing.
	if code, _, errs := runCLI(t, "", "export", "maildir", "--data", src, "alice", exp); code != 0 {
		t.Fatalf("export maildir again: %s", errs)
	}
	mboxes := filepath.Join(t.TempDir(), "mbox")
	if code, _, errs := runCLI(t, "", "export", "mbox", "--data", src, "alice", mboxes); code != 0 {
		t.Fatalf("export mbox: %s", errs)
	}

	t.Run("maildir", func(t *testing.T) {
		dst := t.TempDir()
		runCLI(t, "pw\n", "user", "add", "--data", dst, "alice")
		if code, out, errs := runCLI(t, "", "import", "maildir", "--data", dst, "alice", exp); code != 0 || strings.Contains(out, "new UIDs") {
			t.Fatalf("re-import: %d %s %s", code, out, errs)
		}
		srv := testkit.StartAt(t, dst, testkit.WithoutTLSListener())
		compareSnapshots(t, want, takeSnapshot(t, srv.Addr, "alice", "pw"), true)
	})
	t.Run("mbox", func(t *testing.T) {
		dst := t.TempDir()
		runCLI(t, "pw\n", "user", "add", "--data", dst, "alice")
		for name := range want.Boxes {
			file := filepath.Join(mboxes, filepath.FromSlash(name)+".mbox")
			for range 2 { // the second run adds nothing
				if code, out, errs := runCLI(t, "", "import", "mbox", "--data", dst, "--mailbox", name, "alice", file); code != 0 {
					t.Fatalf("import mbox %s: %d %s %s", name, code, out, errs)
				}
			}
		}
		// mbox keeps no subscriptions; UIDs travel in X-IMAPbase and
		// X-UID.
		srv := testkit.StartAt(t, dst, testkit.WithoutTLSListener())
		got := takeSnapshot(t, srv.Addr, "alice", "pw")
		got.Subscribed = want.Subscribed
		compareSnapshots(t, want, got, true)
	})
	t.Run("dovecot", func(t *testing.T) {
		// carol's maildir is barid's export; Dovecot serves it.
		home := filepath.Join(dv.Dir, "mail", "carol")
		if err := exec.Command("cp", "-a", exp, home).Run(); err != nil {
			t.Fatal(err)
		}
		st, err := os.Stat(filepath.Join(dv.Dir, "mail"))
		if err != nil {
			t.Fatal(err)
		}
		sys := st.Sys().(*syscall.Stat_t)
		if err := exec.Command("chown", "-R", fmt.Sprintf("%d:%d", sys.Uid, sys.Gid), home).Run(); err != nil {
			t.Fatal(err)
		}
		got := takeSnapshot(t, dv.Addr, "carol", "pw")
		compareSnapshots(t, want, got, true)
	})
}

// TestMigrateFromDovecot copies an account from a live Dovecot over
// IMAP, checks that barid serves the same UIDs, flags, dates, bytes and
// subscriptions, then changes the source (new messages, flag changes,
// a new folder) and checks that a second run copies only those.
func TestMigrateFromDovecot(t *testing.T) {
	dv := testkit.StartDovecot(t, testkit.DovecotOptions{Users: []string{"alice"}})
	populate(t, dv.Addr, "alice", "pw", 200)
	want := takeSnapshot(t, dv.Addr, "alice", "pw")

	dir := t.TempDir()
	runCLI(t, "pw\n", "user", "add", "--data", dir, "alice")
	src := "imap://alice@" + dv.Addr
	code, out, errs := runCLI(t, "pw\n", "migrate", "--data", dir, "alice", src)
	if code != 0 || strings.Contains(out, "new UIDs") {
		t.Fatalf("migrate: %d\n%s\n%s", code, out, errs)
	}
	srv := testkit.StartAt(t, dir, testkit.WithoutTLSListener())
	compareSnapshots(t, want, takeSnapshot(t, srv.Addr, "alice", "pw"), true)
	srv.Stop()

	// Change the source.
	c := imapLogin(t, dv.Addr, "alice", "pw")
	appendMsg(t, c, "INBOX", testMessage(900, "INBOX"), time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC), imap.FlagSeen, "$Late")
	appendMsg(t, c, "Work/Projects", testMessage(901, "Work/Projects"), time.Date(2024, 5, 6, 7, 8, 10, 0, time.UTC))
	if err := c.Create("Brand New", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	appendMsg(t, c, "Brand New", testMessage(902, "Brand New"), time.Date(2024, 5, 6, 7, 8, 11, 0, time.UTC), imap.FlagFlagged)
	if _, err := c.Select("Sent", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	var set imap.UIDSet
	set.AddNum(1, 3)
	if err := c.Store(set, &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagAnswered, "ChangedLater"}, Silent: true}, nil).Close(); err != nil {
		t.Fatal(err)
	}
	c.Close()
	want = takeSnapshot(t, dv.Addr, "alice", "pw")

	code, out, errs = runCLI(t, "pw\n", "migrate", "--data", dir, "alice", src)
	if code != 0 {
		t.Fatalf("second migrate: %d\n%s\n%s", code, out, errs)
	}
	copied, flagUpdates := 0, 0
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		var n, m int
		if i := strings.Index(l, "): "); i >= 0 {
			fmt.Sscanf(l[i+3:], "%d copied", &n)
		}
		if i := strings.Index(l, "there, "); i >= 0 {
			fmt.Sscanf(l[i+7:], "%d flag updates", &m)
		}
		copied += n
		flagUpdates += m
		if strings.HasPrefix(l, "Sent ") && !strings.Contains(l, "(CONDSTORE)") {
			t.Errorf("second run did not use CONDSTORE for Sent: %s", l)
		}
	}
	if copied != 3 || flagUpdates != 2 {
		t.Errorf("second run copied %d messages and updated %d flags, want 3 and 2:\n%s", copied, flagUpdates, out)
	}
	srv = testkit.StartAt(t, dir, testkit.WithoutTLSListener())
	compareSnapshots(t, want, takeSnapshot(t, srv.Addr, "alice", "pw"), true)
}

func TestMigrateSourceURL(t *testing.T) {
	for _, bad := range []string{"http://a@b", "imaps://host", "imaps://u:pw@host", "imap://u@host/INBOX", "imaps://u@"} {
		if code, _, errs := runCLI(t, "pw\n", "migrate", "--data", t.TempDir(), "alice", bad); code != 2 || errs == "" {
			t.Errorf("%s: exit %d %q, want 2 with a message", bad, code, errs)
		}
	}
}

// TestImportRefusesRunningServer: import refuses a data folder a server
// is serving (its sessions would not see the change), unless --force.
// TestMigrateImapsFromBarid: migrate over implicit TLS (imaps://, a
// self-signed certificate accepted with --insecure-skip-verify) from
// another barid; a certificate that is not trusted is refused without
// the flag.
func TestMigrateImapsFromBarid(t *testing.T) {
	src := testkit.Start(t)
	src.AddUser("alice", "pw")
	populate(t, src.Addr, "alice", "pw", 300)
	want := takeSnapshot(t, src.Addr, "alice", "pw")

	dir := t.TempDir()
	runCLI(t, "pw\n", "user", "add", "--data", dir, "alice")
	url := "imaps://alice@" + src.TLSAddr
	if code, _, errs := runCLI(t, "pw\n", "migrate", "--data", dir, "alice", url); code != 1 || !strings.Contains(errs, "certificate") {
		t.Fatalf("untrusted certificate: %d %q", code, errs)
	}
	code, out, errs := runCLI(t, "pw\n", "migrate", "--insecure-skip-verify", "--data", dir, "alice", url)
	if code != 0 || strings.Contains(out, "new UIDs") {
		t.Fatalf("migrate: %d\n%s\n%s", code, out, errs)
	}
	srv := testkit.StartAt(t, dir, testkit.WithoutTLSListener())
	compareSnapshots(t, want, takeSnapshot(t, srv.Addr, "alice", "pw"), true)
}
