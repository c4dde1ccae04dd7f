package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func runCLI(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

func TestEverySubcommandHasHelp(t *testing.T) {
	for _, s := range subcommands() {
		if s.name == "bench" {
			continue // bench prints its own scenario help; checked below
		}
		code, out, errs := runCLI(t, "", s.name, "--help")
		if code != 0 || !strings.Contains(out+errs, "Usage: barid "+s.name) {
			t.Errorf("%s --help: code %d, output %q %q", s.name, code, out, errs)
		}
	}
	code, out, errs := runCLI(t, "", "bench", "--help")
	if code != 0 && code != 2 || !strings.Contains(strings.ToLower(out+errs), "usage") {
		t.Errorf("bench --help: %d %q %q", code, out, errs)
	}
	if code, out, _ := runCLI(t, "", "--help"); code != 0 || !strings.Contains(out, "quickstart") {
		t.Errorf("barid --help: %d %q", code, out)
	}
	if code, _, _ := runCLI(t, "", "frobnicate"); code != 2 {
		t.Errorf("unknown command: exit %d", code)
	}
}

func TestUserManagement(t *testing.T) {
	dir := t.TempDir()
	if code, out, errs := runCLI(t, "first-pw\n", "user", "add", "--data", dir, "Alice@Example.org"); code != 0 || !strings.Contains(out, "alice@example.org") {
		t.Fatalf("add: %d %q %q", code, out, errs)
	}
	if code, _, errs := runCLI(t, "x\n", "user", "add", "--data", dir, "ALICE@example.org"); code != 1 || !strings.Contains(errs, "already exists") {
		t.Fatalf("duplicate add (case-insensitive): %d %q", code, errs)
	}
	if code, _, errs := runCLI(t, "", "user", "add", "--data", dir, "bob"); code != 1 || !strings.Contains(errs, "password") {
		t.Fatalf("add without password: %d %q", code, errs)
	}
	runCLI(t, "pw\n", "user", "add", "bob", "--data", dir)
	code, out, _ := runCLI(t, "", "user", "list", "--data", dir)
	if code != 0 || out != "alice@example.org\nbob\n" {
		t.Fatalf("list: %d %q", code, out)
	}
	if code, _, errs := runCLI(t, "second-pw\r\n", "user", "passwd", "--data", dir, "alice@example.org"); code != 0 {
		t.Fatalf("passwd: %d %q", code, errs)
	}
	if code, _, errs := runCLI(t, "pw\n", "user", "passwd", "--data", dir, "nobody"); code != 1 || !strings.Contains(errs, "no account") {
		t.Fatalf("passwd unknown: %d %q", code, errs)
	}
	if code, _, _ := runCLI(t, "", "user", "del", "--data", dir, "bob"); code != 0 {
		t.Fatalf("del: %d", code)
	}
	if _, out, _ := runCLI(t, "", "user", "list", "--data", dir); out != "alice@example.org\n" {
		t.Fatalf("list after del: %q", out)
	}
	if code, out, _ := runCLI(t, "", "version"); code != 0 || !strings.HasPrefix(out, "barid ") {
		t.Fatalf("version: %d %q", code, out)
	}
}
