package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestLMTPDirectoryChangesFromCLI: a running server keeps the answers
// of recipient lookups (accounts, misses included, aliases, the active
// Sieve script) between its own commits (internal/store/sqlite
// dircache.go). The CLI writes the same database from another process;
// every change it makes must apply to the very next RCPT or delivery,
// after the server has answered the same question from memory.
func TestLMTPDirectoryChangesFromCLI(t *testing.T) {
	t.Parallel()
	bin := baridBinary(t)
	data := t.TempDir()
	conf := filepath.Join(t.TempDir(), "barid.toml")
	if err := os.WriteFile(conf, []byte("[lmtp]\nlocal_domains = [\"localhost\"]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	addUserCLI(t, bin, data, "alice", "pw-alice")
	p := startProc(t, bin, data, "--config", conf, "--lmtp", "127.0.0.1:0")
	m := p.waitLog(lmtpListeningRE, 10*time.Second)
	if m == nil {
		t.Fatalf("no LMTP listener:\n%s", p.log)
	}
	c, err := dialLMTP(m[1])
	if err != nil {
		t.Fatal(err)
	}
	defer c.nc.Close()
	cli := func(stdin string, args ...string) {
		t.Helper()
		cmd := exec.Command(bin, append([]string{args[0], args[1], "--data", data}, args[2:]...)...)
		cmd.Stdin = strings.NewReader(stdin)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("barid %v: %v\n%s", args, err, out)
		}
	}
	body := []byte("From: a@example.net\r\nSubject: dir\r\n\r\nhello\r\n")
	// rcpt asks twice, so the second answer can come from memory.
	rcpt := func(addr, code string) {
		t.Helper()
		for range 2 {
			if err := c.cmd("MAIL FROM:<sender@example.net>\r\n", "250"); err != nil {
				t.Fatal(err)
			}
			if err := c.cmd("RCPT TO:<"+addr+">\r\n", code); err != nil {
				t.Fatalf("RCPT %s: %v", addr, err)
			}
			if err := c.cmd("RSET\r\n", "250"); err != nil {
				t.Fatal(err)
			}
		}
	}
	// Deliveries commit in between, as on a busy server.
	for range 2 {
		if err := c.deliver("alice@localhost", body); err != nil {
			t.Fatal(err)
		}
	}

	rcpt("bob@localhost", "550")
	addUserCLI(t, bin, data, "bob", "pw-bob")
	rcpt("bob@localhost", "250")

	rcpt("info@localhost", "550")
	cli("", "alias", "add", "info@localhost", "alice")
	rcpt("info@localhost", "250")
	if err := c.deliver("info@localhost", body); err != nil {
		t.Fatal(err)
	}
	cli("", "alias", "del", "info@localhost")
	rcpt("info@localhost", "550")

	// The active script: none, then one that refuses (RFC 5429 ereject).
	if err := c.deliver("alice@localhost", body); err != nil {
		t.Fatal(err)
	}
	cli(`require "ereject"; ereject "closed";`, "sieve", "put", "alice", "closed")
	cli("", "sieve", "activate", "alice", "closed")
	for range 2 {
		if err := c.cmd("MAIL FROM:<sender@example.net>\r\n", "250"); err != nil {
			t.Fatal(err)
		}
		if err := c.cmd("RCPT TO:<alice@localhost>\r\n", "250"); err != nil {
			t.Fatal(err)
		}
		if err := c.cmd("DATA\r\n", "354"); err != nil {
			t.Fatal(err)
		}
		if _, err := c.nc.Write(append(body, ".\r\n"...)); err != nil {
			t.Fatal(err)
		}
		if err := c.expect("550"); err != nil {
			t.Fatalf("delivery after the CLI activated an ereject script: %v", err)
		}
	}
	cli("", "sieve", "deactivate", "alice")
	if err := c.deliver("alice@localhost", body); err != nil {
		t.Fatalf("delivery after the CLI deactivated the script: %v", err)
	}
}
