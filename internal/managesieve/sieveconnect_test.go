package managesieve_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestSieveConnect drives the server with Debian's sieve-connect (a real
// ManageSieve client in Perl): STARTTLS, AUTHENTICATE PLAIN, upload,
// list, activate, download, deactivate and delete.
func TestSieveConnect(t *testing.T) {
	bin, err := exec.LookPath("sieve-connect")
	if err != nil {
		t.Skip("sieve-connect not installed (Debian package sieve-connect)")
	}
	t.Parallel()
	f := startServer(t, withTLS(t))
	acct := f.addUser("carol@example.org", "carol pass")
	host, port, _ := strings.Cut(f.addr, ":")
	dir := t.TempDir()
	script := "require [\"fileinto\", \"imap4flags\"];\r\nif header :contains \"subject\" \"report\" {\r\n  fileinto :flags \"\\\\Seen\" \"Reports\";\r\n}\r\n"
	local := filepath.Join(dir, "rules.sieve")
	if err := os.WriteFile(local, []byte(script), 0o600); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		pr, pw, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		pw.WriteString("carol pass\n")
		pw.Close()
		defer pr.Close()
		cmd := exec.CommandContext(ctx, bin, append([]string{"--server", host, "--port", port,
			"--user", "carol@example.org", "--passwordfd", "3", "--notlsverify", "--authmech", "PLAIN"}, args...)...)
		cmd.ExtraFiles = []*os.File{pr}
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("sieve-connect %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	run("--upload", "--localsieve", local, "--remotesieve", "rules")
	if out := run("--list"); !strings.Contains(out, "rules") || strings.Contains(out, "ACTIVE") {
		t.Fatalf("list after upload: %q", out)
	}
	run("--activate", "--remotesieve", "rules")
	if out := run("--list"); !strings.Contains(out, `"rules" ACTIVE`) {
		t.Fatalf("list after activate: %q", out)
	}
	sc, err := f.st.ActiveSieveScript(context.Background(), acct.ID)
	if err != nil || sc == nil || sc.Name != "rules" {
		t.Fatalf("active script in the store: %+v %v", sc, err)
	}
	back := filepath.Join(dir, "back.sieve")
	run("--download", "--remotesieve", "rules", "--localsieve", back)
	got, err := os.ReadFile(back)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != script {
		t.Fatalf("downloaded %q, uploaded %q", got, script)
	}
	run("--deactivate")
	run("--delete", "--remotesieve", "rules")
	if list, _ := f.st.SieveScripts(context.Background(), acct.ID); len(list) != 0 {
		t.Fatalf("scripts left: %+v", list)
	}
}
