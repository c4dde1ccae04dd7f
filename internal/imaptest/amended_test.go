package imaptest

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// amendment is a shipped scripted group that cannot pass on any server
// as shipped, with the one header line that makes it runnable. The
// amended copy is made at test time from the shipped file, so the test
// runs exactly the shipped commands and expectations.
type amendment struct {
	group  string
	header string // a "key: value" line added to the group's header
	// user2Mailbox: create imaptest's mailbox in the second user's
	// account first (every connection of a group SELECTs it in its own
	// account, and only the first connection creates it).
	user2Mailbox bool
	why          string
}

var amendments = []amendment{{
	group:        "urlauth2",
	header:       "messages: 2",
	user2Mailbox: true,
	// imaptest's test_parser_read_test starts every group with
	// message_count 0, and test-exec.c appends message_count messages
	// after emptying the mailbox: without the header the group's first
	// command, "fetch 1:2", runs on an empty mailbox and cannot return
	// the two FETCH responses the group expects, on barid or Dovecot.
	// And its second connection logs in as user 2 and, like every
	// connection (test-exec.c, test_send_lstate_commands), SELECTs the
	// test mailbox in its own account, where nobody created it.
	why: "no messages: header, so the mailbox is empty when its first fetch 1:2 runs; user 2 has no test mailbox to SELECT",
}}

// TestScriptedAmended runs each amended group (see amendments) and
// requires it to pass. It fails when the shipped group already has the
// header (upstream fixed it: the group must then pass in TestScripted and
// leave known-gaps.txt) and when the group is not listed in
// known-gaps.txt as failing as shipped.
func TestScriptedAmended(t *testing.T) {
	tl := needTool(t)
	gaps := readKnownGaps(t)
	s := startServer(t)
	host, port := s.hostPort()
	for _, a := range amendments {
		t.Run(a.group, func(t *testing.T) {
			if _, ok := gaps[a.group]; !ok {
				t.Errorf("%s is amended here but not listed in testdata/known-gaps.txt", a.group)
			}
			shipped, err := os.ReadFile(filepath.Join(tl.tests, a.group))
			if err != nil {
				t.Fatal(err)
			}
			key, _, _ := strings.Cut(a.header, ":")
			head, _, _ := strings.Cut(string(shipped), "\n\n")
			for _, l := range strings.Split(head, "\n") {
				if k, _, ok := strings.Cut(l, ":"); ok && strings.EqualFold(strings.TrimSpace(k), key) {
					t.Fatalf("shipped %s already has a %q header (%q): drop the amendment", a.group, key, l)
				}
			}
			dir := t.TempDir()
			amended := a.header + "\n" + string(shipped)
			if err := os.WriteFile(filepath.Join(dir, a.group), []byte(amended), 0o644); err != nil {
				t.Fatal(err)
			}
			mbox, err := os.ReadFile(filepath.Join(tl.tests, "default.mbox"))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "default.mbox"), mbox, 0o644); err != nil {
				t.Fatal(err)
			}
			user, user2 := "am-"+a.group, "am2-"+a.group
			s.addUser(user)
			s.addUser(user2)
			if a.user2Mailbox {
				rs, err := s.login(user2)
				if err != nil {
					t.Fatal(err)
				}
				_, err = rs.cmd("c", "CREATE imaptest")
				rs.c.Close()
				if err != nil {
					t.Fatal(err)
				}
			}
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			out, err := runImaptest(ctx, tl, t.TempDir(), "host="+host, "port="+port,
				"user="+user, "user2="+user2, "pass="+password, "test="+filepath.Join(dir, a.group))
			if o, why := judge(out, err); o != passed {
				t.Errorf("amended %s (%s) %s: %s\n%s", a.group, a.why, o, why, out)
			}
		})
	}
}
