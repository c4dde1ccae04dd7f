package app_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"barid/internal/app"
	"barid/internal/testkit"
)

// TestAppPasswords: an app password logs in only to the protocols it
// names, only as its own account, as typed with other case and without
// dashes; revoking one leaves the others and the main password working.
func TestAppPasswords(t *testing.T) {
	s := testkit.StartAt(t, filepath.Join(t.TempDir(), "data"), testkit.WithPOP3(), withSources([]string{"builtin"}, nil))
	st := s.App.Data().Store
	ctx := context.Background()
	lmtpAddUser(t, st, "alice", "main-pw")
	lmtpAddUser(t, st, "bob", "bob-pw")
	imapOnly, err := app.AddAppPassword(ctx, &s.Cfg, st, "alice", "phone", []string{"imap"})
	if err != nil {
		t.Fatal(err)
	}
	all, err := app.AddAppPassword(ctx, &s.Cfg, st, "ALICE", "laptop", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := app.AddAppPassword(ctx, &s.Cfg, st, "alice", "phone", nil); err == nil {
		t.Error("second app password labelled phone accepted")
	}
	if len(imapOnly) != 29 || strings.Count(imapOnly, "-") != 5 {
		t.Errorf("app password %q: want 6 groups of 4", imapOnly)
	}
	imapLogin := func(user, pw string) string {
		c := s.Dial()
		lines := c.Cmd("A", "LOGIN "+testkit.Quote(user)+" "+testkit.Quote(pw))
		return lines[len(lines)-1]
	}
	pop3Login := func(user, pw string) string {
		p := s.DialPOP3()
		p.OK("USER " + user)
		return p.Cmd("PASS " + pw)
	}
	for _, c := range []struct {
		how, got, want string
	}{
		{"IMAP, imap-only password", imapLogin("alice", imapOnly), "A OK"},
		{"IMAP, typed in capitals without dashes", imapLogin("alice", strings.ToUpper(strings.ReplaceAll(imapOnly, "-", ""))), "A OK"},
		{"POP3, imap-only password", pop3Login("alice", imapOnly), "-ERR [AUTH]"},
		{"POP3, all-protocols password", pop3Login("alice", all), "+OK"},
		{"IMAP as bob with alice's password", imapLogin("bob", all), "A NO [AUTHENTICATIONFAILED]"},
		{"IMAP, main password", imapLogin("alice", "main-pw"), "A OK"},
	} {
		if !strings.HasPrefix(c.got, c.want) {
			t.Errorf("%s: %q, want %q", c.how, c.got, c.want)
		}
	}
	if err := app.RevokeAppPassword(ctx, st, "alice", "phone"); err != nil {
		t.Fatal(err)
	}
	if got := imapLogin("alice", imapOnly); !strings.HasPrefix(got, "A NO [AUTHENTICATIONFAILED]") {
		t.Errorf("revoked password: %q", got)
	}
	if got := imapLogin("alice", all); !strings.HasPrefix(got, "A OK") {
		t.Errorf("other app password after a revoke: %q", got)
	}
	list, err := app.ListAppPasswords(ctx, st, "alice")
	if err != nil || len(list) != 1 || list[0].Label != "laptop" {
		t.Errorf("list: %+v %v", list, err)
	}
}
