package filter_test

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"barid/internal/blob/fs"
	"barid/internal/config"
	"barid/internal/deliver"
	"barid/internal/filter"
	"barid/internal/notify"
	"barid/internal/sieve"
	"barid/internal/store"
	"barid/internal/store/sqlite"
)

// TestDefaultMailboxResolvedOnlyForKeep: Run resolves the recipient's
// default mailbox (Recipient.DefaultFunc, LMTP's resolver) only when
// the message is kept, so a message the script files into another
// folder costs the lookup of that folder alone, as an INBOX delivery
// without a script costs the lookup of INBOX. Keep, the implicit keep
// and the keep after a failed fileinto (RFC 5228 §2.10.6) still land
// in the default mailbox; a lookup error matters only when the default
// is needed.
func TestDefaultMailboxResolvedOnlyForKeep(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st, err := sqlite.Open(ctx, filepath.Join(dir, "meta.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	blobs, err := fs.Open(filepath.Join(dir, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	acct, err := st.CreateAccount(ctx, "alice@example.org", nil)
	if err != nil {
		t.Fatal(err)
	}
	inbox, err := st.Mailbox(ctx, acct.ID, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	scripts := &filter.Scripts{Store: st}
	dl := &deliver.Deliverer{Store: st, Blobs: blobs, Bus: notify.New()}
	f := &filter.Filter{Store: st, Scripts: scripts, Deliver: dl}
	lookupErr := errors.New("resolver down")

	for _, tc := range []struct {
		name, script string
		failLookup   bool
		lookups      int
		boxes        []string // Outcome.Mailboxes
		err          error
	}{
		{name: "fileinto :create", script: `require ["fileinto", "mailbox", "imap4flags"]; fileinto :create :flags "$Bench" "Topics/t3";`,
			lookups: 0, boxes: []string{"Topics/t3"}},
		{name: "fileinto an existing folder", script: `require "fileinto"; fileinto "Topics/t3";`,
			lookups: 0, boxes: []string{"Topics/t3"}},
		{name: "fileinto, lookup failing", script: `require "fileinto"; fileinto "Topics/t3";`, failLookup: true,
			lookups: 0, boxes: []string{"Topics/t3"}},
		{name: "implicit keep", script: `require "imap4flags"; addflag "$Bench";`,
			lookups: 1, boxes: []string{"INBOX"}},
		{name: "keep and fileinto", script: `require "fileinto"; keep; fileinto "Topics/t3"; keep;`,
			lookups: 1, boxes: []string{"INBOX", "Topics/t3"}},
		{name: "fileinto a missing folder: kept", script: `require "fileinto"; fileinto "No/Such";`,
			lookups: 1, boxes: []string{"INBOX"}},
		{name: "keep, lookup failing", script: `keep;`, failLookup: true,
			lookups: 1, err: lookupErr},
		{name: "discard", script: `discard;`, lookups: 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sc, err := sieve.Compile("t", []byte(tc.script), sieve.Options{}, nil)
			if err != nil {
				t.Fatal(err)
			}
			p, err := dl.Prepare(ctx, strings.NewReader("From: bob@example.net\r\nSubject: topic3 news\r\n\r\nbody\r\n"), 0, store.Flags{}, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			lookups := 0
			rc := filter.Recipient{Account: acct, Rcpt: "alice@example.org", From: "bob@example.net",
				DefaultFunc: func() (*store.Mailbox, error) {
					lookups++
					if tc.failLookup {
						return nil, lookupErr
					}
					return inbox, nil
				}}
			out, err := f.Run(ctx, sc, p, rc)
			if lookups != tc.lookups {
				t.Errorf("default mailbox looked up %d times, want %d", lookups, tc.lookups)
			}
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("Run: %v, want %v", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(out.Mailboxes, tc.boxes) {
				t.Errorf("stored in %q, want %q", out.Mailboxes, tc.boxes)
			}
			if out.Discarded != (len(tc.boxes) == 0) {
				t.Errorf("Discarded %v with %d copies", out.Discarded, len(tc.boxes))
			}
		})
	}
}

// TestDetailDefaultWithScript: over LMTP with detail_delivery on, the
// implicit keep of a recipient with a script files user+detail@ into
// the mailbox "detail" (resolved only now that the message is kept),
// a fileinto goes where the script says, and a +detail without such a
// mailbox keeps into INBOX, each with the script's flag.
func TestDetailDefaultWithScript(t *testing.T) {
	s := startSieve(t, t.TempDir(), nil, func(c *config.Config) { c.LMTP.DetailDelivery = true })
	const user = "alice@example.org"
	a := s.AddUser(user, "pw")
	if _, _, err := s.Store().CreateMailbox(context.Background(), a.ID, "Work", ""); err != nil {
		t.Fatal(err)
	}
	s.putScript(user, "pw", "main", `require ["fileinto", "mailbox", "imap4flags"];
addflag "$Seen1";
if header :contains "subject" "topic" { fileinto :create "Topics/t3"; }
`)
	for _, d := range []struct{ rcpt, subject string }{
		{"alice+Work@example.org", "kept in work"},
		{"alice+Work@example.org", "topic filed"},
		{"alice+none@example.org", "kept in inbox"},
	} {
		if r := s.lmtpSend("carol@example.net", []string{d.rcpt}, msg("carol@example.net", d.rcpt, d.subject)); !strings.HasPrefix(r[0], "250") {
			t.Fatalf("%s: %q", d.rcpt, r)
		}
	}
	for box, want := range map[string][]string{
		"Work":      {"kept in work [$Seen1]"},
		"Topics/t3": {"topic filed [$Seen1]"},
		"INBOX":     {"kept in inbox [$Seen1]"},
	} {
		if got := s.box(user, box); !slices.Equal(got, want) {
			t.Errorf("%s: %q, want %q", box, got, want)
		}
	}
}
