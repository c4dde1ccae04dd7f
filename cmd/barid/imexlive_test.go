package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"barid/internal/testkit"
)

// copyMaildirFixture copies internal/imex/testdata/maildir, whose file
// names spell ":" as "%3A", with the colons back.
func copyMaildirFixture(t *testing.T) string {
	t.Helper()
	root := filepath.Join(t.TempDir(), "Maildir")
	if err := os.CopyFS(root, os.DirFS(filepath.Join("..", "..", "internal", "imex", "testdata", "maildir"))); err != nil {
		t.Fatal(err)
	}
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err == nil && strings.Contains(d.Name(), "%3A") {
			err = os.Rename(p, filepath.Join(filepath.Dir(p), strings.ReplaceAll(d.Name(), "%3A", ":")))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// TestImportThroughRunningServer: with a server running on the data
// folder, "barid import" hands the import to it over the control
// socket. A session idling on INBOX sees the imported messages arrive
// (the server published them on its change bus); a second run adds
// nothing; a Maildir with Dovecot UIDs keeps them, and giving an empty,
// existing INBOX the source's UIDVALIDITY ends the sessions of its
// account (a UIDVALIDITY never changes under a session) while another
// account's session goes on.
func TestImportThroughRunningServer(t *testing.T) {
	dir := t.TempDir()
	for _, u := range []string{"alice", "bob"} {
		if code, _, errs := runCLI(t, "pw\n", "user", "add", "--data", dir, u); code != 0 {
			t.Fatal(errs)
		}
	}
	srv := testkit.StartAt(t, dir, testkit.WithoutTLSListener())

	c := srv.Dial()
	c.Login("alice", "pw")
	c.ExpectOK("s", "SELECT INBOX")
	c.Send("i IDLE\r\n")
	if l := c.ReadLine(); !strings.HasPrefix(l, "+ ") {
		t.Fatalf("IDLE: %q", l)
	}
	mbox := filepath.Join(t.TempDir(), "in.mbox")
	src := "From a@example.org Mon Mar  2 10:00:00 2020\nSubject: one\n\nbody 1\n\n" +
		"From a@example.org Mon Mar  2 10:01:00 2020\nSubject: two\nStatus: RO\n\nbody 2\n\n" +
		"From a@example.org Mon Mar  2 10:02:00 2020\nSubject: three\n\nbody 3\n"
	if err := os.WriteFile(mbox, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errs := runCLI(t, "", "import", "mbox", "--data", dir, "alice", mbox)
	if code != 0 || !strings.Contains(out, "3 imported") || !strings.Contains(errs, "a server runs on this data folder") {
		t.Fatalf("import through the server: %d %q %q", code, out, errs)
	}
	for {
		l := c.ReadLine()
		if l == "* 3 EXISTS" {
			break
		}
		if !strings.HasPrefix(l, "* ") {
			t.Fatalf("IDLE: %q before 3 EXISTS", l)
		}
	}
	c.Send("DONE\r\n")
	c.Until("i")
	lines := strings.Join(c.ExpectOK("f", "UID FETCH 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])"), "\n")
	for _, want := range []string{"Subject: one", "Subject: two", "Subject: three", `UID 2 FLAGS (\Seen`} {
		if !strings.Contains(lines, want) {
			t.Errorf("FETCH lacks %q:\n%s", want, lines)
		}
	}
	if code, out, errs := runCLI(t, "", "import", "mbox", "--quiet", "--data", dir, "alice", mbox); code != 0 || !strings.Contains(out, "0 imported, 3 already there") {
		t.Fatalf("second import: %d %q %q", code, out, errs)
	}

	// bob's INBOX is empty and selected; the Maildir's INBOX has
	// UIDVALIDITY 1234567 in its dovecot-uidlist.
	b := srv.Dial()
	b.Login("bob", "pw")
	b.ExpectOK("s", "SELECT INBOX")
	root := copyMaildirFixture(t)
	code, out, errs = runCLI(t, "", "import", "maildir", "--quiet", "--data", dir, "bob", root)
	if code != 0 || !strings.Contains(out, "INBOX                          UIDVALIDITY 1234567 (UIDs kept): 5 imported") {
		t.Fatalf("maildir through the server: %d %q %q", code, out, errs)
	}
	if l := b.ReadLine(); !strings.HasPrefix(l, "* BYE ") || !strings.Contains(l, "UIDVALIDITY") {
		t.Fatalf("bob's session after its INBOX took a new UIDVALIDITY: %q", l)
	}
	// alice's session is not bob's.
	c.ExpectOK("n", "NOOP")
	b = srv.Dial()
	b.Login("bob", "pw")
	sel := strings.Join(b.ExpectOK("s", "SELECT INBOX"), "\n")
	if !strings.Contains(sel, "[UIDVALIDITY 1234567]") || !strings.Contains(sel, "* 5 EXISTS") {
		t.Fatalf("bob's INBOX after the import:\n%s", sel)
	}

	// Errors come back from the server.
	if code, _, errs := runCLI(t, "", "import", "mbox", "--data", dir, "nobody", mbox); code != 1 || !strings.Contains(errs, `no account "nobody"`) {
		t.Fatalf("unknown user: %d %q", code, errs)
	}
	if code, _, errs := runCLI(t, "", "import", "mbox", "--data", dir, "alice", filepath.Join(dir, "missing.mbox")); code != 1 || !strings.Contains(errs, "missing.mbox") {
		t.Fatalf("missing file: %d %q", code, errs)
	}
	// --force writes directly, as before.
	if code, out, errs := runCLI(t, "", "import", "mbox", "--force", "--quiet", "--data", dir, "alice", mbox); code != 0 || !strings.Contains(out, "0 imported, 3 already there") {
		t.Fatalf("--force: %d %q %q", code, out, errs)
	}
}
