package submission_test

import (
	"fmt"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"barid/internal/config"
	"barid/internal/testkit"
)

// ehloKeywords sends EHLO and returns its keywords (the lines after the
// greeting line, without "250-" / "250 ").
func ehloKeywords(c *testkit.SMTPConn) []string {
	c.T.Helper()
	r := c.Expect("EHLO client.example", "250 ")
	var kws []string
	for _, l := range r[1:] {
		kws = append(kws, l[4:])
	}
	return kws
}

// waitEHLO repeats EHLO (on an authenticated connection, which the
// pre-login command count does not limit) until want says yes, up to
// 10 s: barid learns the relay's extensions in the background.
func waitEHLO(t *testing.T, c *testkit.SMTPConn, want func([]string) bool) []string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		kws := ehloKeywords(c)
		if want(kws) {
			return kws
		}
		if time.Now().After(deadline) {
			t.Fatalf("EHLO still %q", kws)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func has(kws []string, kw string) bool { return slices.Contains(kws, kw) }

// barid's EHLO follows the relay's: with a relay that has 8BITMIME,
// SMTPUTF8 and DSN, barid announces them and SIZE as the smaller of
// limits.literal_size and the relay's; with a relay that has none of
// them and a smaller SIZE, barid announces none, SIZE as the relay's,
// and refuses MAIL and RCPT parameters the relay cannot carry (555 5.5.4,
// RFC 5321 §4.1.1.11; SIZE over the relay's maximum 552 5.3.4, RFC 1870
// §6.1) before anything is sent to it; the relay gets a message without
// them.
func TestEHLOFollowsRelay(t *testing.T) {
	cases := []struct {
		name   string
		opts   testkit.SinkOptions
		want   []string // keywords announced
		absent []string
	}{
		{"full", testkit.SinkOptions{}, []string{"8BITMIME", "SMTPUTF8", "DSN", "SIZE 1048576", "PIPELINING", "CHUNKING", "ENHANCEDSTATUSCODES"}, nil},
		{"bare", testkit.SinkOptions{No8BitMIME: true, NoUTF8: true, NoDSN: true, MaxBytes: 5000},
			[]string{"SIZE 5000", "PIPELINING", "CHUNKING", "ENHANCEDSTATUSCODES"}, []string{"8BITMIME", "SMTPUTF8", "DSN"}},
		{"size-unlimited", testkit.SinkOptions{NoUTF8: true, MaxBytes: -1}, []string{"8BITMIME", "DSN", "SIZE 1048576"}, []string{"SMTPUTF8"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sink := testkit.StartSinkWith(t, tc.opts)
			srv := testkit.Start(t, testkit.WithSubmission(sink.Addr), func(c *config.Config) { c.Limits.LiteralSize = 1 << 20 })
			srv.AddUser("alice", "wonderland")
			c := testkit.DialSMTP(t, srv.SubmissionAddr, false)
			c.AuthPlain("alice", "wonderland")
			kws := waitEHLO(t, c, func(k []string) bool {
				for _, a := range tc.absent {
					if has(k, a) {
						return false
					}
				}
				return true
			})
			for _, w := range tc.want {
				if !has(kws, w) {
					t.Errorf("EHLO %q lacks %q", kws, w)
				}
			}
			if tc.name != "bare" {
				return
			}
			// Every parameter the relay cannot carry is refused at
			// MAIL or RCPT, with a text naming it.
			for _, p := range []struct{ args, reply string }{
				{"SMTPUTF8", "555 5.5.4 SMTPUTF8 not available: the relay does not support SMTPUTF8 (RFC 6531)"},
				{"BODY=8BITMIME", "555 5.5.4 BODY=8BITMIME not available: the relay does not support 8BITMIME (RFC 6152)"},
				{"RET=HDRS", "555 5.5.4 RET not available: the relay does not support DSN (RFC 3461)"},
				{"ENVID=QQ314159", "555 5.5.4 ENVID not available: the relay does not support DSN (RFC 3461)"},
				{"SIZE=5001", "552 5.3.4 Message size exceeds the relay's fixed maximum (SIZE 5000)"},
			} {
				c.Expect("MAIL FROM:<alice@localhost> "+p.args, p.reply)
			}
			c.Expect("MAIL FROM:<alice@localhost> SIZE=5000 BODY=7BIT", "250 ")
			c.Expect("RCPT TO:<bob@example.org> NOTIFY=SUCCESS", "555 5.5.4 NOTIFY not available: the relay does not support DSN (RFC 3461)")
			c.Expect("RCPT TO:<bob@example.org> ORCPT=rfc822;bob@example.org", "555 5.5.4 ORCPT not available: the relay does not support DSN (RFC 3461)")
			c.Expect("RCPT TO:<bob@example.org>", "250 ")
			msg := "From: alice@localhost\r\n\r\nx\r\n"
			c.Send(fmt.Sprintf("BDAT %d LAST\r\n%s", len(msg), msg))
			if r := c.Reply(); !strings.HasPrefix(r[0], "250 2.0.0 ") {
				t.Fatalf("BDAT: %q", r)
			}
			m := sink.WaitMessages(t, 1)
			if len(m) != 1 || len(m[0].Rcpts) != 1 || string(m[0].Data) != msg {
				t.Errorf("the relay got %+v", m)
			}
		})
	}
}

// With the full relay, the parameters refused above are passed on.
func TestEHLOFullRelayTakesParameters(t *testing.T) {
	sink := testkit.StartSink(t, nil)
	srv := testkit.Start(t, testkit.WithSubmission(sink.Addr))
	srv.AddUser("alice", "wonderland")
	c := testkit.DialSMTP(t, srv.SubmissionAddr, false)
	c.AuthPlain("alice", "wonderland")
	c.Expect("MAIL FROM:<alice@localhost> SMTPUTF8 BODY=8BITMIME RET=FULL ENVID=e1", "250 ")
	c.Expect("RCPT TO:<bob@example.org> NOTIFY=FAILURE ORCPT=rfc822;bob@example.org", "250 ")
	msg := "From: alice@localhost\r\n\r\nx\r\n"
	c.Send(fmt.Sprintf("BDAT %d LAST\r\n%s", len(msg), msg))
	c.Reply()
	m := sink.WaitMessages(t, 1)[0]
	if !m.Mail.UTF8 || m.Mail.EnvelopeID != "e1" || m.Mail.Return != "FULL" || len(m.Rcpt[0].Notify) != 1 {
		t.Errorf("at the relay: %+v %+v", m.Mail, m.Rcpt)
	}
}

// A relay that cannot be reached does not hold EHLO up: one that
// accepts the connection and never answers, and one that refuses it.
// While barid has never reached the relay it announces its own set
// (8BITMIME, SMTPUTF8, DSN, SIZE as limits.literal_size); MAIL then
// fails with 451 4.4.1 (temporary), so a client keeps its message.
func TestEHLORelayUnreachable(t *testing.T) {
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { silent.Close() })
	var held []net.Conn
	go func() {
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			held = append(held, c) // never answered
		}
	}()
	refused, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := refused.Addr().String()
	refused.Close()

	for _, tc := range []struct{ name, relay string }{{"silent", silent.Addr().String()}, {"refused", dead}} {
		t.Run(tc.name, func(t *testing.T) {
			srv := testkit.Start(t, testkit.WithSubmission(tc.relay), func(c *config.Config) { c.Limits.LiteralSize = 1 << 20 })
			srv.AddUser("alice", "wonderland")
			c := testkit.DialSMTP(t, srv.SubmissionAddr, false)
			c.Timeout = 3 * time.Second // the relay timeout is 5 minutes
			kws := ehloKeywords(c)
			for _, w := range []string{"8BITMIME", "SMTPUTF8", "DSN", "SIZE 1048576"} {
				if !has(kws, w) {
					t.Errorf("EHLO %q lacks %q", kws, w)
				}
			}
			if tc.name == "refused" {
				c.AuthPlain("alice", "wonderland")
				c.Expect("MAIL FROM:<alice@localhost> SMTPUTF8", "451 4.4.1 Relay unavailable")
			}
		})
	}
}

// The relay changed (another MTA on the same address, with fewer
// extensions): the next MAIL, which connects to it, is checked against
// what it announces and teaches barid its set at once; a background
// probe learns it too once submission.relay_ehlo_ttl has passed.
func TestEHLORelayChanges(t *testing.T) {
	first := testkit.StartSink(t, nil)
	srv := testkit.Start(t, testkit.WithSubmission(first.Addr), func(c *config.Config) {
		c.Submission.RelayEHLOTTL = config.Duration{Duration: time.Second}
	})
	srv.AddUser("alice", "wonderland")
	c := testkit.DialSMTP(t, srv.SubmissionAddr, false)
	c.AuthPlain("alice", "wonderland")
	waitEHLO(t, c, func(k []string) bool { return has(k, "SMTPUTF8") && has(k, "SIZE 67108864") })

	// The MAIL path: a new relay without SMTPUTF8; barid's EHLO still
	// announces it (learned from the first), but MAIL asks the relay.
	first.Close()
	second := testkit.StartSinkWith(t, testkit.SinkOptions{Addr: first.Addr, NoUTF8: true, MaxBytes: 4096})
	c.Expect("MAIL FROM:<alice@localhost> SMTPUTF8", "555 5.5.4 SMTPUTF8 not available")
	kws := ehloKeywords(c)
	if has(kws, "SMTPUTF8") || !has(kws, "SIZE 4096") || !has(kws, "DSN") {
		t.Errorf("EHLO after MAIL learned the new relay: %q", kws)
	}

	// The probe path: no MAIL, only EHLO, which refreshes the set once
	// it is older than relay_ehlo_ttl.
	srv2 := testkit.Start(t, testkit.WithSubmission(first.Addr), func(c *config.Config) {
		c.Submission.RelayEHLOTTL = config.Duration{Duration: time.Second}
	})
	srv2.AddUser("alice", "wonderland")
	c2 := testkit.DialSMTP(t, srv2.SubmissionAddr, false)
	c2.AuthPlain("alice", "wonderland")
	waitEHLO(t, c2, func(k []string) bool { return has(k, "SIZE 4096") })
	third := testkit.SinkOptions{Addr: first.Addr, NoDSN: true, MaxBytes: 8192}
	second.Close()
	testkit.StartSinkWith(t, third)
	kws = waitEHLO(t, c2, func(k []string) bool { return has(k, "SIZE 8192") })
	if has(kws, "DSN") || !has(kws, "SMTPUTF8") {
		t.Errorf("EHLO after the probe: %q", kws)
	}
}
