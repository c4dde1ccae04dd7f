package main

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"
)

func TestUserQuota(t *testing.T) {
	dir := t.TempDir()
	if code, _, errs := runCLI(t, "pw\n", "user", "add", "--data", dir, "alice"); code != 0 {
		t.Fatalf("add: %d %q", code, errs)
	}
	code, out, errs := runCLI(t, "", "user", "quota", "--data", dir, "alice")
	if code != 0 || out != "alice: storage 0 of unlimited (default), messages 0 of unlimited (default)\n" {
		t.Fatalf("show: %d %q %q", code, out, errs)
	}
	code, out, errs = runCLI(t, "", "user", "quota", "--data", dir, "alice", "--storage", "1048576", "--messages", "10")
	if code != 0 || out != "alice: storage 0 of 1048576 bytes, messages 0 of 10\n" {
		t.Fatalf("set: %d %q %q", code, out, errs)
	}
	// --messages alone keeps the storage limit; -1 is the default again.
	code, out, _ = runCLI(t, "", "user", "quota", "--data", dir, "--messages", "-1", "alice")
	if code != 0 || out != "alice: storage 0 of 1048576 bytes, messages 0 of unlimited (default)\n" {
		t.Fatalf("set messages: %d %q", code, out)
	}
	if code, _, errs := runCLI(t, "", "user", "quota", "--data", dir, "--storage", "-5", "alice"); code != 2 || !strings.Contains(errs, "--storage") {
		t.Fatalf("bad --storage: %d %q", code, errs)
	}
	if code, _, errs := runCLI(t, "", "user", "quota", "--data", dir, "--recalc", "--storage", "5"); code != 2 || !strings.Contains(errs, "expected one account NAME") {
		t.Fatalf("limits without NAME: %d %q", code, errs)
	}
	if code, _, errs := runCLI(t, "", "user", "quota", "--data", dir, "nobody"); code != 1 || !strings.Contains(errs, "no account") {
		t.Fatalf("unknown account: %d %q", code, errs)
	}
	code, out, _ = runCLI(t, "", "user", "quota", "--data", dir, "--recalc")
	if code != 0 || !strings.HasPrefix(out, "alice: no drift\n") {
		t.Fatalf("recalc: %d %q", code, out)
	}
	// Damage the kept usage; --recalc reports and repairs it, exit 1.
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "barid.db"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(context.Background(), `UPDATE quotas SET storage = 123, messages = 4`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	code, out, _ = runCLI(t, "", "user", "quota", "--data", dir, "--recalc", "alice")
	if code != 1 || !strings.HasPrefix(out, "alice: drift corrected: storage 123 -> 0 bytes, messages 4 -> 0\n") {
		t.Fatalf("recalc with drift: %d %q", code, out)
	}
	if code, _, _ := runCLI(t, "", "user", "quota", "--data", dir, "--recalc", "alice"); code != 0 {
		t.Fatalf("recalc after repair: %d", code)
	}
}
