package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"barid/internal/admin"
	"barid/internal/app"
	"barid/internal/config"
	"barid/internal/testkit"
)

// Every admin command answers --help on standard output with exit 0,
// and names its usage.
func TestAdminCommandsHelp(t *testing.T) {
	for _, args := range [][]string{
		{"mailbox", "--help"}, {"mailbox", "list", "--help"}, {"mailbox", "create", "-h"},
		{"search", "--help"}, {"expunge", "--help"}, {"fetch", "--help"}, {"who", "--help"}, {"kick", "--help"},
		{"backup", "--help"}, {"restore", "--help"}, {"check", "--help"},
	} {
		code, out, errs := adminRun(t, args...)
		if code != 0 || !strings.HasPrefix(out, "Usage: barid "+args[0]) {
			t.Errorf("%v: exit %d, stdout %q, stderr %q", args, code, out, errs)
		}
	}
	if _, out, _ := adminRun(t, "expunge", "--help"); !strings.Contains(out, "N-UNIT-ago") || !strings.Contains(out, "-json") {
		t.Errorf("expunge --help does not define the relative dates and --json: %s", out)
	}
}

// The admin CLI on a data folder with no server running: mailbox
// create, rename, subscribe, delete, list and status; search with IMAP
// SEARCH syntax; fetch of the raw bytes; expunge; errors exit 1.
func TestAdminCLIOffline(t *testing.T) {
	dir := t.TempDir()
	cfg := config.Default()
	cfg.DataDir = dir
	d, err := app.OpenData(context.Background(), &cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := app.CreateAccountWith(context.Background(), d.Store, "alice", "pw", testkit.CheapParams); err != nil {
		t.Fatal(err)
	}
	d.Close()
	msgs := []string{
		"From: Ann <ann@example.org>\r\nSubject: lunch\r\n\r\nsoup today\r\n",
		"From: Bob <bob@example.org>\r\nSubject: Re: lunch\r\n\r\nno soup\r\n",
		"From: Ann <ann@example.org>\r\nSubject: report\r\n\r\n" + strings.Repeat("figures ", 200) + "\r\n",
	}
	for _, m := range msgs {
		if code, out := deliverRun(t, m, "--data", dir, "alice"); code != 0 {
			t.Fatalf("deliver: %s", out)
		}
	}
	ok := func(args ...string) string {
		t.Helper()
		code, out, errs := adminRun(t, append(args, "--data", dir)...)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, errs)
		}
		return out
	}
	fails := func(want string, args ...string) {
		t.Helper()
		code, _, errs := adminRun(t, append(args, "--data", dir)...)
		if code != 1 || !strings.Contains(errs, want) {
			t.Errorf("%v: exit %d, stderr %q; want 1 and %q", args, code, errs, want)
		}
	}
	for _, tc := range []struct {
		query []string
		want  string
	}{
		{[]string{"ALL"}, "1\n2\n3\n"},
		{[]string{"FROM", "ann"}, "1\n3\n"},
		{[]string{`SUBJECT "re: lunch"`}, "2\n"},
		{[]string{"SUBJECT", "re: lunch"}, "2\n"}, // several arguments: one with a space is quoted
		{[]string{"BODY soup NOT FROM bob"}, "1\n"},
		{[]string{"LARGER 1000"}, "3\n"},
		{[]string{"OR UID 1 SUBJECT report"}, "1\n3\n"},
		{[]string{"2:*"}, "2\n3\n"},
		{[]string{"SINCE today"}, "1\n2\n3\n"},
		{[]string{"BEFORE 30-days-ago"}, ""},
		{[]string{"SEEN"}, ""},
	} {
		args := append([]string{"search", "alice", "INBOX"}, tc.query...)
		if got := ok(args...); got != tc.want {
			t.Errorf("search %q: %q, want %q", tc.query, got, tc.want)
		}
	}
	var js struct{ UIDs []int }
	if err := json.Unmarshal([]byte(ok("search", "--json", "alice", "inbox", "FROM ann")), &js); err != nil || fmt.Sprint(js.UIDs) != "[1 3]" {
		t.Errorf("search --json: %v %v", js, err)
	}
	fails("Unknown search key", "search", "alice", "INBOX", "FROOM ann")
	fails("invalid relative date", "search", "alice", "INBOX", "BEFORE 3-eons-ago")
	fails("no account", "search", "nobody", "INBOX", "ALL")
	fails(`no mailbox "Nope"`, "search", "alice", "Nope", "ALL")

	if got := ok("fetch", "alice", "INBOX", "2"); got != msgs[1] {
		t.Errorf("fetch: %q", got)
	}
	fails("no message with UID 9", "fetch", "alice", "INBOX", "9")

	ok("mailbox", "create", "alice", "Projects/2026", "--special-use", `\Flagged`)
	ok("mailbox", "rename", "alice", "Projects", "Work")
	ok("mailbox", "subscribe", "alice", "Work/2026")
	ok("mailbox", "subscribe", "--remove", "alice", "Archive")
	fails("already exists", "mailbox", "create", "alice", "Work")
	fails("can't be deleted", "mailbox", "delete", "alice", "INBOX")
	var list []admin.MailboxInfo
	if err := json.Unmarshal([]byte(ok("mailbox", "list", "--json", "alice")), &list); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, m := range list {
		names = append(names, fmt.Sprintf("%s:%d:%v:%s", m.Name, m.Messages, m.Subscribed, m.SpecialUse))
	}
	if got := strings.Join(names, " "); got != `Archive:0:false:\Archive Drafts:0:true:\Drafts INBOX:3:true: Junk:0:true:\Junk Sent:0:true:\Sent Trash:0:true:\Trash Work:0:false: Work/2026:0:true:\Flagged` {
		t.Errorf("mailbox list: %s", got)
	}
	// RFC 9051 §6.3.5: a mailbox with inferiors may be deleted; they stay.
	ok("mailbox", "delete", "alice", "Work")
	if out := ok("mailbox", "list", "alice"); strings.Contains(out, "Work ") || !strings.Contains(out, "Work/2026") {
		t.Errorf("after deleting Work: %s", out)
	}

	if got := ok("expunge", "alice", "INBOX", "FROM", "ann"); got != "expunged 2 messages\n" {
		t.Errorf("expunge: %q", got)
	}
	st := ok("mailbox", "status", "alice", "INBOX")
	if !strings.Contains(st, "messages: 1\n") || !strings.Contains(st, "uidnext: 4\n") {
		t.Errorf("status after expunge: %s", st)
	}
	if got := ok("search", "alice", "INBOX", "ALL"); got != "2\n" {
		t.Errorf("left after expunge: %q", got)
	}
}

// TestAdminCLISharing: the mailbox verbs go through the mailbox service
// (internal/mailbox), so the command line follows IMAP's rules for
// shared folders (RFC 4314, docs/sharing.md): what bob shares with
// alice is listed under her name for it, status and search need "r",
// delete needs "x" (else "permission denied"), and a folder she may
// not look up is answered as missing.
func TestAdminCLISharing(t *testing.T) {
	dir := t.TempDir()
	cfg := config.Default()
	cfg.DataDir = dir
	d, err := app.OpenData(context.Background(), &cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"alice", "bob"} {
		if _, err := app.CreateAccountWith(context.Background(), d.Store, u, "pw", testkit.CheapParams); err != nil {
			t.Fatal(err)
		}
	}
	d.Close()
	ok := func(args ...string) string {
		t.Helper()
		code, out, errs := adminRun(t, append(args, "--data", dir)...)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, errs)
		}
		return out
	}
	fails := func(want string, args ...string) {
		t.Helper()
		code, _, errs := adminRun(t, append(args, "--data", dir)...)
		if code != 1 || !strings.Contains(errs, want) {
			t.Errorf("%v: exit %d, stderr %q; want 1 and %q", args, code, errs, want)
		}
	}
	ok("mailbox", "create", "bob", "Team")
	if code, out := deliverRun(t, "Subject: hi\r\n\r\nhello\r\n", "--data", dir, "--mailbox", "Team", "bob"); code != 0 {
		t.Fatalf("deliver: %s", out)
	}
	const team = "Other Users/bob/Team"
	fails(`alice has no mailbox "Other Users/bob/Team"`, "mailbox", "status", "alice", team)
	fails(`no mailbox`, "search", "alice", team, "ALL")
	if out := ok("mailbox", "list", "alice"); strings.Contains(out, "Team") {
		t.Errorf("alice lists bob's Team before any grant: %s", out)
	}
	ok("mailbox", "setacl", "--user", "bob", "Team", "alice", "l")
	if out := ok("mailbox", "list", "alice"); !strings.Contains(out, team) {
		t.Errorf("alice does not list %s with l: %s", team, out)
	}
	fails("permission denied", "mailbox", "status", "alice", team)
	ok("mailbox", "setacl", "--user", "bob", "Team", "alice", "lr")
	if st := ok("mailbox", "status", "alice", team); !strings.Contains(st, "messages: 1\n") {
		t.Errorf("status of %s for alice: %s", team, st)
	}
	if got := ok("search", "alice", team, "ALL"); got != "1\n" {
		t.Errorf("search %s: %q", team, got)
	}
	fails("permission denied", "mailbox", "delete", "alice", team)
	fails("permission denied", "expunge", "alice", team, "ALL")
	ok("mailbox", "setacl", "--user", "bob", "Team", "alice", "lrx")
	ok("mailbox", "delete", "alice", team)
	if out := ok("mailbox", "list", "bob"); strings.Contains(out, "Team") {
		t.Errorf("bob still has Team after alice deleted it with x: %s", out)
	}
}
