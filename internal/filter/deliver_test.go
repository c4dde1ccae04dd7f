package filter_test

import (
	"bufio"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"barid/internal/config"
	"barid/internal/store"
	"barid/internal/testkit"
)

// server is a whole barid with LMTP, ManageSieve and the Sieve outbox
// pointed at an SMTP sink.
type server struct {
	*testkit.Server
	sink *testkit.Sink
	lmtp string
	ms   string
}

func startSieve(t *testing.T, dir string, sink *testkit.Sink, opts ...testkit.Option) *server {
	t.Helper()
	return startSieveTB(t, dir, sink, opts...)
}

// startSieveB is startSieve for benchmarks.
func startSieveB(b *testing.B) *server { return startSieveTB(b, b.TempDir(), nil) }

func startSieveTB(t testing.TB, dir string, sink *testkit.Sink, opts ...testkit.Option) *server {
	t.Helper()
	if sink == nil {
		sink = testkit.StartSink(t, nil)
	}
	base := []testkit.Option{func(c *config.Config) {
		c.LMTP.Listen = "127.0.0.1:0"
		c.LMTP.LocalDomains = []string{"example.org"}
		c.ManageSieve.Listen = "127.0.0.1:0"
		c.Sieve.SMTP = sink.Addr
		c.Sieve.VacationMinPeriod = config.Duration{}
		c.Sieve.RetryInterval = config.Duration{Duration: 50 * time.Millisecond}
	}}
	s := testkit.StartAt(t, dir, append(base, opts...)...)
	a := s.App.Addrs()
	return &server{Server: s, sink: sink, lmtp: a["lmtp"], ms: a["managesieve"]}
}

// putScript uploads and activates a script over ManageSieve, as a
// client would (the whole path: upload, SETACTIVE, then delivery).
func (s *server) putScript(user, pass, name, script string) {
	t := s.T
	t.Helper()
	nc, err := net.Dial("tcp", s.ms)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(nc)
	resp := func() string {
		t.Helper()
		for {
			l, err := br.ReadString('\n')
			if err != nil {
				t.Fatal(err)
			}
			if strings.HasPrefix(l, "OK") || strings.HasPrefix(l, "NO") || strings.HasPrefix(l, "BYE") {
				return strings.TrimSpace(l)
			}
		}
	}
	resp()
	cmd := func(c string) {
		t.Helper()
		io.WriteString(nc, c+"\r\n")
		if r := resp(); !strings.HasPrefix(r, "OK") {
			t.Fatalf("%.60q: %s", c, r)
		}
	}
	ir := []byte("\x00" + user + "\x00" + pass)
	cmd(fmt.Sprintf(`AUTHENTICATE "PLAIN" "%s"`, b64(ir)))
	cmd(fmt.Sprintf("PUTSCRIPT %q {%d+}\r\n%s", name, len(script), script))
	cmd(fmt.Sprintf("SETACTIVE %q", name))
	cmd("LOGOUT")
}

// lmtpSend runs one LMTP transaction and returns one reply per
// recipient.
func (s *server) lmtpSend(from string, rcpts []string, msg string) []string {
	t := s.T
	t.Helper()
	c := testkit.DialSMTP(t, s.lmtp, false)
	c.Expect("LHLO test", "250")
	c.Expect("MAIL FROM:<"+from+">", "250")
	for _, r := range rcpts {
		c.Expect("RCPT TO:<"+r+">", "250")
	}
	c.Expect("DATA", "354")
	c.Send(strings.ReplaceAll(msg, "\n", "\r\n") + ".\r\n")
	var out []string
	for range rcpts {
		r := c.Reply()
		out = append(out, r[len(r)-1])
	}
	c.Cmd("QUIT")
	return out
}

// box lists a mailbox as "subject [flags]" lines, in UID order.
func (s *server) box(user, mailbox string) []string {
	t := s.T
	t.Helper()
	ctx := context.Background()
	st := s.Store()
	a, err := st.Account(ctx, user)
	if err != nil {
		t.Fatal(err)
	}
	mb, err := st.Mailbox(ctx, a.ID, mailbox)
	if err != nil {
		return []string{"(" + err.Error() + ")"}
	}
	_, uids, err := st.MessageUIDs(ctx, mb.ID)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	st.FetchMessages(ctx, mb.ID, uids, store.FieldFlags|store.FieldSearch, func(m *store.Message) error {
		out = append(out, m.Subject+" "+fmt.Sprint(m.Flags.Names()))
		return nil
	})
	return out
}

func msg(from, to, subject string, extra ...string) string {
	h := "From: " + from + "\nTo: " + to + "\nSubject: " + subject + "\nMessage-ID: <" + strings.ReplaceAll(subject, " ", ".") + "@example.net>\n"
	for _, e := range extra {
		h += e + "\n"
	}
	return h + "\nbody of " + subject + "\n"
}

const rules = `require ["fileinto", "mailbox", "imap4flags", "reject", "ereject", "vacation", "vacation-seconds", "envelope", "copy"];
if header :contains "subject" "spam" {
  ereject "no spam here";
  stop;
}
if header :contains "subject" "refuse" {
  reject "I do not want this";
  stop;
}
if header :contains "subject" "list" {
  fileinto :create :flags ["\\Seen", "$Label1"] "Lists/go";
  stop;
}
if header :contains "subject" "both" {
  addflag "\\Flagged";
  fileinto "Archive";
  fileinto :flags "$Work" "Work";
  keep;
  stop;
}
if header :contains "subject" "forward" {
  redirect :copy "dora@remote.example";
}
if header :contains "subject" "missing" {
  fileinto "NoSuchBox";
  stop;
}
if header :contains "subject" "gone" {
  discard;
  stop;
}
if header :contains "subject" "away" {
  vacation :seconds 1 :subject "Away" "I am away until Monday.";
}
`

// TestDeliverySieve: a script uploaded over ManageSieve and activated
// runs at LMTP delivery: fileinto with flags (several folders in one
// transaction), :create, a missing mailbox falling back to INBOX,
// discard, ereject refusing one recipient alone with 550 5.7.1 while
// the other is delivered, reject answering 250 and mailing the MDN,
// redirect and vacation through the smarthost with Auto-Submitted and
// the vacation period.
func TestDeliverySieve(t *testing.T) {
	s := startSieve(t, t.TempDir(), nil)
	s.AddUser("alice@example.org", "pw")
	s.AddUser("bob@example.org", "pw")
	ctx := context.Background()
	a, _ := s.Store().Account(ctx, "alice@example.org")
	if _, _, err := s.Store().CreateMailbox(ctx, a.ID, "Work", ""); err != nil {
		t.Fatal(err)
	}
	s.putScript("alice@example.org", "pw", "rules", rules)

	both := []string{"alice@example.org", "bob@example.org"}
	if r := s.lmtpSend("carol@example.net", both, msg("carol@example.net", "alice@example.org", "go list digest")); !strings.HasPrefix(r[0], "250") || !strings.HasPrefix(r[1], "250") {
		t.Fatalf("list: %q", r)
	}
	if got := s.box("alice@example.org", "Lists/go"); !slices.Equal(got, []string{`go list digest [\Seen $Label1]`}) {
		t.Fatalf("Lists/go: %q", got)
	}
	if got := s.box("bob@example.org", "INBOX"); !slices.Equal(got, []string{"go list digest []"}) {
		t.Fatalf("bob's INBOX (no script): %q", got)
	}
	if got := s.box("alice@example.org", "INBOX"); len(got) != 0 {
		t.Fatalf("alice's INBOX after fileinto: %q", got)
	}

	// ereject: 550 5.7.1 for alice alone; bob gets his copy.
	r := s.lmtpSend("carol@example.net", both, msg("carol@example.net", "alice@example.org", "buy spam now"))
	if !strings.HasPrefix(r[0], "550 5.7.1") || !strings.Contains(r[0], "no spam here") || !strings.HasPrefix(r[1], "250") {
		t.Fatalf("ereject: %q", r)
	}
	if got := s.box("bob@example.org", "INBOX"); len(got) != 2 {
		t.Fatalf("bob after ereject: %q", got)
	}

	// Several mailboxes and flags in one delivery.
	s.lmtpSend("carol@example.net", []string{"alice@example.org"}, msg("carol@example.net", "alice@example.org", "both ways"))
	if got := s.box("alice@example.org", "Archive"); !slices.Equal(got, []string{`both ways [\Flagged]`}) {
		t.Fatalf("Archive: %q", got)
	}
	if got := s.box("alice@example.org", "Work"); !slices.Equal(got, []string{`both ways [$Work]`}) {
		t.Fatalf("Work: %q", got)
	}
	if got := s.box("alice@example.org", "INBOX"); !slices.Equal(got, []string{`both ways [\Flagged]`}) {
		t.Fatalf("INBOX (keep): %q", got)
	}

	// A fileinto to a mailbox that does not exist (no :create) saves to
	// INBOX; discard stores nothing and still answers 250.
	s.lmtpSend("carol@example.net", []string{"alice@example.org"}, msg("carol@example.net", "alice@example.org", "missing box"))
	if r := s.lmtpSend("carol@example.net", []string{"alice@example.org"}, msg("carol@example.net", "alice@example.org", "gone now")); !strings.HasPrefix(r[0], "250") {
		t.Fatalf("discard: %q", r)
	}
	if got := s.box("alice@example.org", "INBOX"); !slices.Equal(got, []string{`both ways [\Flagged]`, "missing box []"}) {
		t.Fatalf("INBOX after missing and discard: %q", got)
	}

	// reject: 250, and the refusal goes to the envelope sender.
	if r := s.lmtpSend("carol@example.net", []string{"alice@example.org"}, msg("carol@example.net", "alice@example.org", "please refuse")); !strings.HasPrefix(r[0], "250") {
		t.Fatalf("reject: %q", r)
	}
	m := s.sink.WaitMessages(t, 1)[0]
	if m.From != "" || !slices.Equal(m.Rcpts, []string{"carol@example.net"}) ||
		!strings.Contains(string(m.Data), "Auto-Submitted: auto-replied") ||
		!strings.Contains(string(m.Data), "report-type=disposition-notification") ||
		!strings.Contains(string(m.Data), "I do not want this") ||
		!strings.Contains(string(m.Data), "Subject: Rejected: please refuse\r\n") ||
		!strings.Contains(string(m.Data), "Disposition: automatic-action/MDN-sent-automatically; deleted") {
		t.Fatalf("MDN: from %q to %q\n%s", m.From, m.Rcpts, m.Data)
	}

	// redirect :copy: kept and sent on with Delivered-To, the original
	// envelope sender; the same message again is not redirected twice.
	fwd := msg("carol@example.net", "alice@example.org", "forward this")
	s.lmtpSend("carol@example.net", []string{"alice@example.org"}, fwd)
	ms := s.sink.WaitMessages(t, 2)
	m = ms[1]
	if m.From != "carol@example.net" || !slices.Equal(m.Rcpts, []string{"dora@remote.example"}) ||
		!strings.HasPrefix(string(m.Data), "Delivered-To: alice@example.org\r\n") {
		t.Fatalf("redirect: from %q to %q\n%s", m.From, m.Rcpts, m.Data)
	}
	s.lmtpSend("carol@example.net", []string{"alice@example.org"}, fwd)
	if got := s.box("alice@example.org", "INBOX"); len(got) != 4 {
		t.Fatalf("INBOX after two redirect :copy: %q", got)
	}
	// A message that already passed here (our Delivered-To) is a loop.
	s.lmtpSend("carol@example.net", []string{"alice@example.org"}, "Delivered-To: alice@example.org\n"+msg("carol@example.net", "alice@example.org", "forward loop"))

	// vacation: one reply per sender within :seconds 1 (min period 0s).
	away := msg("erin@example.net", "alice@example.org", "are you away")
	s.lmtpSend("erin@example.net", []string{"alice@example.org"}, away)
	s.lmtpSend("erin@example.net", []string{"alice@example.org"}, away)
	ms = s.sink.WaitMessages(t, 3)
	m = ms[2]
	if m.From != "" || !slices.Equal(m.Rcpts, []string{"erin@example.net"}) ||
		!strings.Contains(string(m.Data), "Auto-Submitted: auto-replied") ||
		!strings.Contains(string(m.Data), "Subject: Away") ||
		!strings.Contains(string(m.Data), "In-Reply-To: <are.you.away@example.net>") {
		t.Fatalf("vacation: from %q to %q\n%s", m.From, m.Rcpts, m.Data)
	}
	// No reply to a list, nor to a null sender.
	s.lmtpSend("frank@example.net", []string{"alice@example.org"}, msg("frank@example.net", "alice@example.org", "away list", "List-Id: <l.example.net>"))
	s.lmtpSend("", []string{"alice@example.org"}, msg("frank@example.net", "alice@example.org", "away bounce"))
	time.Sleep(1100 * time.Millisecond)
	s.lmtpSend("erin@example.net", []string{"alice@example.org"}, away)
	s.sink.WaitMessages(t, 4)
	time.Sleep(300 * time.Millisecond)
	ms = s.sink.Messages()
	if len(ms) != 4 || !slices.Equal(ms[3].Rcpts, []string{"erin@example.net"}) {
		for _, m := range ms {
			t.Logf("sink: %q -> %q %.80q", m.From, m.Rcpts, m.Data)
		}
		t.Fatalf("after the period: %d messages in the sink, want 4", len(ms))
	}
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
