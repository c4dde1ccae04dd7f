package filter_test

import (
	"context"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"barid/internal/config"
	"barid/internal/store"
	"barid/internal/testkit"
)

// TestOutboxSurvivesRestart: a redirect queued while the smarthost is
// down is retried, survives a restart of the server in the spool, and is
// sent once the smarthost answers.
func TestOutboxSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	// A port nobody listens on: every attempt fails.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := ln.Addr().String()
	ln.Close()
	s := startSieve(t, dir, nil, func(c *config.Config) { c.Sieve.SMTP = dead })
	s.AddUser("alice@example.org", "pw")
	s.putScript("alice@example.org", "pw", "fwd", "redirect \"dora@remote.example\";\n")
	if r := s.lmtpSend("carol@example.net", []string{"alice@example.org"}, msg("carol@example.net", "alice@example.org", "forward me")); !strings.HasPrefix(r[0], "250") {
		t.Fatalf("delivery: %q", r)
	}
	ss := s.Store().(store.SieveScripts)
	deadline := time.Now().Add(10 * time.Second)
	for {
		due, err := ss.DueOutgoing(context.Background(), time.Now().Add(time.Hour), 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(due) == 1 && due[0].Attempts >= 1 && due[0].LastError != "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no failed attempt recorded: %+v", due)
		}
		time.Sleep(20 * time.Millisecond)
	}
	s.Stop()

	sink := testkit.StartSink(t, nil)
	s2 := startSieve(t, dir, sink)
	m := sink.WaitMessages(t, 1)[0]
	if m.From != "carol@example.net" || !slices.Equal(m.Rcpts, []string{"dora@remote.example"}) ||
		!strings.Contains(string(m.Data), "Subject: forward me") {
		t.Fatalf("sent after restart: %q %q\n%s", m.From, m.Rcpts, m.Data)
	}
	// Sent once, and gone from the spool.
	time.Sleep(200 * time.Millisecond)
	if n := len(sink.Messages()); n != 1 {
		t.Fatalf("%d messages sent", n)
	}
	if due, _ := s2.Store().(store.SieveScripts).DueOutgoing(context.Background(), time.Now().Add(24*time.Hour), 10); len(due) != 0 {
		t.Fatalf("spool after sending: %+v", due)
	}
	// redirect without :copy cancels the implicit keep.
	if got := s2.box("alice@example.org", "INBOX"); len(got) != 0 {
		t.Fatalf("INBOX: %q", got)
	}
}

// TestRuntimeErrorKeeps: a script that fails while running (more
// redirects than max_redirects) keeps the message in INBOX and logs the
// script line; the duplicate test (RFC 7352) sees the second copy of a
// message.
func TestRuntimeErrorKeeps(t *testing.T) {
	s := startSieve(t, t.TempDir(), nil, func(c *config.Config) { c.Sieve.MaxRedirects = 1 })
	s.AddUser("alice@example.org", "pw")
	s.putScript("alice@example.org", "pw", "bad", `require ["fileinto", "duplicate", "mailbox"];
if header :contains "subject" "redirects" {
  redirect "one@remote.example";
  redirect "two@remote.example";
}
if duplicate {
  fileinto :create "Dups";
}
`)
	if r := s.lmtpSend("carol@example.net", []string{"alice@example.org"}, msg("carol@example.net", "alice@example.org", "two redirects")); !strings.HasPrefix(r[0], "250") {
		t.Fatalf("delivery: %q", r)
	}
	if got := s.box("alice@example.org", "INBOX"); !slices.Equal(got, []string{"two redirects []"}) {
		t.Fatalf("INBOX: %q", got)
	}
	if logs := s.Logs.String(); !strings.Contains(logs, "sieve: runtime error; keeping the message") || !strings.Contains(logs, "line=4") {
		t.Fatalf("log has no runtime error with its line:\n%s", logs)
	}
	if n := len(s.sink.Messages()); n != 0 {
		t.Fatalf("%d redirects sent by a failed script", n)
	}
	dup := msg("carol@example.net", "alice@example.org", "same message")
	s.lmtpSend("carol@example.net", []string{"alice@example.org"}, dup)
	s.lmtpSend("carol@example.net", []string{"alice@example.org"}, dup)
	if got := s.box("alice@example.org", "Dups"); !slices.Equal(got, []string{"same message []"}) {
		t.Fatalf("Dups: %q", got)
	}
}

// TestSpamtestConfiguredHeader: spamtest (RFC 5235) reads the header
// and scale of [sieve] spam_header and spam_max.
func TestSpamtestConfiguredHeader(t *testing.T) {
	s := startSieve(t, t.TempDir(), nil, func(c *config.Config) {
		c.Sieve.SpamHeader, c.Sieve.SpamMax = "X-My-Spam", 100
	})
	s.AddUser("alice@example.org", "pw")
	s.putScript("alice@example.org", "pw", "spam", `require ["spamtest", "relational", "comparator-i;ascii-numeric", "fileinto"];
if spamtest :value "ge" :comparator "i;ascii-numeric" "5" { fileinto "Junk"; }
`)
	s.lmtpSend("x@example.net", []string{"alice@example.org"}, msg("x@example.net", "alice@example.org", "scored high", "X-My-Spam: 80"))
	s.lmtpSend("x@example.net", []string{"alice@example.org"}, msg("x@example.net", "alice@example.org", "other header", "X-Spam-Score: 80"))
	s.lmtpSend("x@example.net", []string{"alice@example.org"}, msg("x@example.net", "alice@example.org", "scored low", "X-My-Spam: 10"))
	if got := s.box("alice@example.org", "Junk"); !slices.Equal(got, []string{"scored high []"}) {
		t.Fatalf("Junk: %q", got)
	}
	if got := s.box("alice@example.org", "INBOX"); !slices.Equal(got, []string{"other header []", "scored low []"}) {
		t.Fatalf("INBOX: %q", got)
	}
}
