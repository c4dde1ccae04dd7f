package main

import (
	"fmt"
	"strings"
	"testing"
)

// barid index status and rebuild: messages delivered without a running
// server are pending; rebuild --user indexes one account's, rebuild
// the rest, and status reports the lag going to zero.
func TestIndexCommand(t *testing.T) {
	dir := t.TempDir()
	for _, u := range []string{"alice", "bob"} {
		if code, _, errs := runCLI(t, "pw\n", "user", "add", "--data", dir, u); code != 0 {
			t.Fatalf("user add %s: %d %s", u, code, errs)
		}
	}
	for i := range 5 {
		for _, u := range []string{"alice", "bob"} {
			msg := fmt.Sprintf("From: x@example.net\nSubject: note %d for %s\n\nbody %d Grüße\n", i, u, i)
			if code, _, errs := runCLI(t, msg, "deliver", "--data", dir, u); code != 0 {
				t.Fatalf("deliver: %d %s", code, errs)
			}
		}
	}
	status := func() string {
		t.Helper()
		code, out, errs := runCLI(t, "", "index", "status", "--data", dir)
		if code != 0 {
			t.Fatalf("status: %d %s", code, errs)
		}
		return out
	}
	if s := status(); !strings.Contains(s, "indexed contents: 0\n") || !strings.Contains(s, "pending contents (lag): 10\n") {
		t.Fatalf("status before rebuild:\n%s", s)
	}
	if code, _, errs := runCLI(t, "", "index", "rebuild", "--data", dir, "--user", "nobody"); code != 1 || !strings.Contains(errs, "no account") {
		t.Fatalf("rebuild of an unknown user: %d %s", code, errs)
	}
	if code, out, errs := runCLI(t, "", "index", "rebuild", "--data", dir, "--user", "Alice"); code != 0 ||
		!strings.Contains(errs, "5 contents indexed") || !strings.Contains(out, "pending contents (lag): 5\n") {
		t.Fatalf("rebuild --user: %d\n%s\n%s", code, out, errs)
	}
	if code, _, errs := runCLI(t, "", "index", "rebuild", "--data", dir, "--batch-bytes", "0"); code != 2 || !strings.Contains(errs, "--batch-bytes") {
		t.Fatalf("rebuild --batch-bytes 0: %d %s", code, errs)
	}
	// One content per batch (any text reaches one byte), two per
	// transaction at most: bob's five all get indexed.
	if code, out, errs := runCLI(t, "", "index", "rebuild", "--data", dir, "--batch", "2", "--batch-bytes", "1"); code != 0 ||
		!strings.Contains(out, "indexed contents: 10\n") || !strings.Contains(out, "pending contents (lag): 0\n") {
		t.Fatalf("rebuild: %d\n%s\n%s", code, out, errs)
	}
	if s := status(); !strings.Contains(s, "index size: ") {
		t.Fatalf("status after rebuild:\n%s", s)
	}
	if code, _, _ := runCLI(t, "", "index", "frobnicate"); code != 2 {
		t.Fatalf("unknown verb: exit %d", code)
	}
}
