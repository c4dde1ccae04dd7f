package main

import (
	"strings"
	"testing"
)

// TestAliasCLI: barid alias add, list, del and their refusals, then
// "barid deliver" through an alias and a catch-all.
func TestAliasCLI(t *testing.T) {
	dir := t.TempDir()
	if code, _, errs := runCLI(t, "pw\n", "user", "add", "--data", dir, "alice"); code != 0 {
		t.Fatalf("user add: %d %s", code, errs)
	}
	for _, c := range []struct {
		args []string
		code int
		out  string
	}{
		{[]string{"add", "Sales@Example.org", "alice"}, 0, "alias sales@example.org -> alice\n"},
		{[]string{"add", "@example.net", "ALICE"}, 0, "alias @example.net -> alice\n"},
		{[]string{"add", "sales@example.org", "alice"}, 1, ""},
		{[]string{"add", "x@example.org", "bob"}, 1, ""},
		{[]string{"add", "no-domain", "alice"}, 1, ""},
		{[]string{"add", "a b@example.org", "alice"}, 1, ""},
		{[]string{"list"}, 0, "@example.net alice\nsales@example.org alice\n"},
		{[]string{"del", "sales@example.org"}, 0, "alias sales@example.org removed\n"},
		{[]string{"del", "sales@example.org"}, 1, ""},
		{[]string{"list"}, 0, "@example.net alice\n"},
		{[]string{"add", "one"}, 2, ""},
	} {
		code, out, _ := runCLI(t, "", append([]string{"alias", c.args[0], "--data", dir}, c.args[1:]...)...)
		if code != c.code || out != c.out {
			t.Errorf("alias %s: %d %q, want %d %q", strings.Join(c.args, " "), code, out, c.code, c.out)
		}
	}
	if code, _, errs := runCLI(t, "Subject: x\n\nhi\n", "deliver", "--data", dir, "anyone@example.net"); code != 0 {
		t.Errorf("deliver to the catch-all: %d %s", code, errs)
	}
	if code, _, _ := runCLI(t, "Subject: x\n\nhi\n", "deliver", "--data", dir, "anyone@example.com"); code != 67 {
		t.Errorf("deliver to an unknown address: %d, want 67 (EX_NOUSER)", code)
	}
}

// TestAppPasswordCLI: add prints a password once, list shows labels
// and protocols (never the password), revoke removes one.
func TestAppPasswordCLI(t *testing.T) {
	dir := t.TempDir()
	if code, _, errs := runCLI(t, "pw\n", "user", "add", "--data", dir, "alice"); code != 0 {
		t.Fatalf("user add: %d %s", code, errs)
	}
	code, pw, errs := runCLI(t, "", "user", "app-password", "add", "--data", dir, "alice", "phone", "--protocols", "imap,submission")
	if code != 0 || len(strings.TrimSpace(pw)) != 29 {
		t.Fatalf("add: %d %q %s", code, pw, errs)
	}
	if code, _, _ := runCLI(t, "", "user", "app-password", "add", "--data", dir, "alice", "phone"); code != 1 {
		t.Errorf("duplicate label: %d", code)
	}
	if code, _, _ := runCLI(t, "", "user", "app-password", "add", "--data", dir, "alice", "tv", "--protocols", "ftp"); code != 2 {
		t.Errorf("unknown protocol: %d", code)
	}
	if code, _, _ := runCLI(t, "", "user", "app-password", "add", "--data", dir, "nobody", "tv"); code != 1 {
		t.Errorf("unknown user: %d", code)
	}
	code, out, _ := runCLI(t, "", "user", "app-password", "list", "--data", dir, "alice")
	if code != 0 || !strings.HasPrefix(out, "phone imap,smtp ") || strings.Contains(out, strings.TrimSpace(pw)) {
		t.Errorf("list: %d %q", code, out)
	}
	if code, _, _ := runCLI(t, "", "user", "app-password", "revoke", "--data", dir, "alice", "phone"); code != 0 {
		t.Errorf("revoke: %d", code)
	}
	if code, _, _ := runCLI(t, "", "user", "app-password", "revoke", "--data", dir, "alice", "phone"); code != 1 {
		t.Errorf("second revoke: %d", code)
	}
	if code, out, _ := runCLI(t, "", "user", "app-password", "list", "--data", dir, "alice"); code != 0 || out != "" {
		t.Errorf("list after revoke: %d %q", code, out)
	}
}
