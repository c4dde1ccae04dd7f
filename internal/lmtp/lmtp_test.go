package lmtp_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/emersion/go-smtp"

	"barid/internal/lmtp"
	"barid/internal/store"
)

const msg = "From: sender@example.net\r\nTo: alice@example.com\r\nSubject: hello\r\nMessage-ID: <1@example.net>\r\n\r\nHi.\r\n.dot-stuffed line\r\n"

// The RFC 2033 §4.3 example, adapted: three recipients, one unknown; one
// reply per RCPT, then one reply per accepted recipient after DATA.
// Commands are pipelined (RFC 2920) in two bursts, on TCP and on the
// unix socket.
func TestTranscriptPipelined(t *testing.T) {
	for _, network := range []string{"tcp", "unix"} {
		t.Run(network, func(t *testing.T) {
			e := newEnv(t)
			alice := e.addUser("alice")
			bob := e.addUser("bob@example.org")
			c := e.raw(network)
			c.Send("LHLO mta.example.net\r\n")
			caps := c.Reply()
			for _, want := range []string{"PIPELINING", "8BITMIME", "ENHANCEDSTATUSCODES", fmt.Sprintf("SIZE %d", 64<<20)} {
				if !slices.ContainsFunc(caps, func(l string) bool { return l[4:] == want }) {
					t.Errorf("LHLO lacks %s: %q", want, caps)
				}
			}
			c.Send("MAIL FROM:<sender@example.net>\r\nRCPT TO:<alice@example.com>\r\nRCPT TO:<nobody@example.com>\r\nRCPT TO:<Bob@Example.org>\r\nDATA\r\n")
			want := []string{"250 2.0.0", "250 2.0.0", "550 5.1.1", "250 2.0.0", "354 "}
			for _, w := range want {
				if l := c.Line(); !strings.HasPrefix(l, w) {
					t.Fatalf("got %q, want %s", l, w)
				}
			}
			c.Send(strings.ReplaceAll(msg, "\r\n.dot", "\r\n..dot") + ".\r\nQUIT\r\n")
			for _, rcpt := range []string{"alice@example.com", "Bob@Example.org"} {
				l := c.Line()
				if !strings.HasPrefix(l, "250 2.0.0 <"+rcpt+"> ") {
					t.Errorf("DATA reply %q, want 250 for %s", l, rcpt)
				}
			}
			if l := c.Line(); !strings.HasPrefix(l, "221") {
				t.Errorf("QUIT: %q", l)
			}
			for _, acct := range []*store.Account{alice, bob} {
				got := e.messages(acct, "INBOX")
				if len(got) != 1 {
					t.Fatalf("%s has %d messages", acct.Name, len(got))
				}
				m := got[0]
				if !strings.HasPrefix(m, "Return-Path: <sender@example.net>\r\n") {
					t.Errorf("no Return-Path first: %q", m)
				}
				if strings.Contains(m, "Delivered-To:") {
					t.Errorf("Delivered-To with two recipients (Dovecot adds it only for one): %q", m)
				}
				if !strings.Contains(m, "\r\n\tby mx.test with LMTP id ") {
					t.Errorf("no Received trace: %q", m)
				}
				if !strings.HasSuffix(m, "\r\n\r\nHi.\r\n.dot-stuffed line\r\n") {
					t.Errorf("body not preserved / unstuffed: %q", m)
				}
			}
		})
	}
}

// RFC 2033 §4.1: LMTP servers refuse HELO and EHLO.
func TestRefusesEHLO(t *testing.T) {
	e := newEnv(t)
	c := e.raw("tcp")
	for _, cmd := range []string{"EHLO x\r\n", "HELO x\r\n"} {
		c.Send(cmd)
		if l := c.Line(); !strings.HasPrefix(l, "500 5.5.1") {
			t.Errorf("%q -> %q", cmd, l)
		}
	}
}

func TestSizeLimit(t *testing.T) {
	e := newEnv(t, func(c *lmtp.Config, _ *env) { c.MaxMessageBytes = 2000 })
	alice := e.addUser("alice")
	c := e.raw("tcp")
	c.Send("LHLO x\r\n")
	if caps := c.Reply(); !slices.Contains(caps, "250-SIZE 2000") && !slices.Contains(caps, "250 SIZE 2000") {
		t.Errorf("SIZE not advertised: %q", caps)
	}
	// RFC 1870 §6.2: a declared size over the limit fails at MAIL.
	c.Send("MAIL FROM:<a@b> SIZE=5000\r\n")
	if l := c.Line(); !strings.HasPrefix(l, "552 5.3.4") {
		t.Errorf("MAIL SIZE=5000: %q", l)
	}
	// An undeclared oversize message fails after DATA, per recipient.
	c.Send("MAIL FROM:<a@b>\r\nRCPT TO:<alice@localhost>\r\nDATA\r\n")
	for _, w := range []string{"250", "250", "354"} {
		if l := c.Line(); !strings.HasPrefix(l, w) {
			t.Fatalf("%q, want %s", l, w)
		}
	}
	c.Send("Subject: big\r\n\r\n" + strings.Repeat("0123456789abcdef\r\n", 200) + ".\r\n")
	if l := c.Line(); !strings.HasPrefix(l, "552 5.3.4 <alice@localhost>") {
		t.Errorf("oversize DATA: %q", l)
	}
	if n := e.count(alice, "INBOX"); n != 0 {
		t.Errorf("oversize message stored: %d", n)
	}
	// The session goes on.
	c.Send("MAIL FROM:<a@b>\r\nRCPT TO:<alice@localhost>\r\nDATA\r\n")
	for _, w := range []string{"250", "250", "354"} {
		if l := c.Line(); !strings.HasPrefix(l, w) {
			t.Fatalf("%q, want %s", l, w)
		}
	}
	c.Send("Subject: small\r\n\r\nok\r\n.\r\n")
	if l := c.Line(); !strings.HasPrefix(l, "250 2.0.0 <alice@localhost>") {
		t.Errorf("small DATA: %q", l)
	}
}

// faultStore makes AppendMessages fail for chosen mailboxes.
type faultStore struct {
	store.Store
	mu   sync.Mutex
	fail map[string]error // account name -> error
}

func (f *faultStore) AppendMessages(ctx context.Context, mailboxID int64, msgs []store.NewMessage) ([]store.UID, []store.Change, error) {
	mb, err := f.Store.MailboxByID(ctx, mailboxID)
	if err != nil {
		return nil, nil, err
	}
	a, err := f.Store.AccountByID(ctx, mb.AccountID)
	if err != nil {
		return nil, nil, err
	}
	f.mu.Lock()
	ferr := f.fail[a.Name]
	f.mu.Unlock()
	if ferr != nil {
		return nil, nil, ferr
	}
	return f.Store.AppendMessages(ctx, mailboxID, msgs)
}

// Per-recipient status after DATA: over quota is 552 5.2.2, or 452 4.2.2
// with quota_tempfail; a store failure is 451 4.3.0 (the MTA retries);
// the other recipients are delivered regardless.
func TestPerRecipientFailures(t *testing.T) {
	for _, tempfail := range []bool{false, true} {
		t.Run(fmt.Sprintf("quota_tempfail=%v", tempfail), func(t *testing.T) {
			fs := &faultStore{fail: map[string]error{
				"full":   fmt.Errorf("append: %w", store.ErrOverQuota),
				"broken": errors.New("disk I/O error"),
			}}
			e := newEnv(t, withStore(func(s store.Store) store.Store { fs.Store = s; return fs }),
				func(c *lmtp.Config, _ *env) { c.QuotaTempFail = tempfail })
			ok := e.addUser("ok")
			e.addUser("full")
			e.addUser("broken")
			c := e.dial()
			if err := c.Mail("s@example.net", nil); err != nil {
				t.Fatal(err)
			}
			for _, r := range []string{"full@localhost", "ok@localhost", "broken@localhost"} {
				if err := c.Rcpt(r, nil); err != nil {
					t.Fatal(err)
				}
			}
			w, err := c.Data()
			if err != nil {
				t.Fatal(err)
			}
			w.Write([]byte(msg))
			_, err = w.CloseWithLMTPResponse()
			var le smtp.LMTPDataError
			if !errors.As(err, &le) {
				t.Fatalf("want LMTPDataError, got %v", err)
			}
			quota := smtp.EnhancedCode{5, 2, 2}
			qcode := 552
			if tempfail {
				quota, qcode = smtp.EnhancedCode{4, 2, 2}, 452
			}
			if se := le["full@localhost"]; se == nil || se.Code != qcode || se.EnhancedCode != quota {
				t.Errorf("full: %v", se)
			}
			if se := le["broken@localhost"]; se == nil || se.Code != 451 || se.EnhancedCode != (smtp.EnhancedCode{4, 3, 0}) {
				t.Errorf("broken: %v", se)
			}
			if se, bad := le["ok@localhost"]; bad {
				t.Errorf("ok failed: %v", se)
			}
			if n := e.count(ok, "INBOX"); n != 1 {
				t.Errorf("ok has %d messages", n)
			}
			// The MTA retries "broken" once the store recovers.
			fs.mu.Lock()
			delete(fs.fail, "broken")
			fs.mu.Unlock()
			if err := c.SendMail("s@example.net", []string{"broken@localhost"}, strings.NewReader(msg)); err != nil {
				t.Errorf("retry: %v", err)
			}
		})
	}
}

// Two RCPTs that reach one mailbox give one copy and two 250s (as
// Dovecot does), and a single-recipient delivery carries Delivered-To.
func TestDuplicateRecipientsAndDeliveredTo(t *testing.T) {
	e := newEnv(t)
	alice := e.addUser("alice")
	c := e.dial()
	if err := c.SendMail("s@example.net", []string{"alice@localhost", "ALICE@example.com", "alice@localhost"}, strings.NewReader(msg)); err != nil {
		t.Fatal(err)
	}
	if got := e.messages(alice, "INBOX"); len(got) != 1 {
		t.Fatalf("%d copies", len(got))
	}
	if err := c.SendMail("", []string{"Alice@LOCALHOST"}, strings.NewReader(msg)); err != nil {
		t.Fatal(err)
	}
	got := e.messages(alice, "INBOX")
	m := got[len(got)-1]
	if !strings.HasPrefix(m, "Return-Path: <>\r\nDelivered-To: Alice@LOCALHOST\r\nReceived: from client.test ([127.0.0.1])\r\n\tby mx.test with LMTP id ") ||
		!strings.Contains(m, "\r\n\t(envelope-from <>)\r\n\tfor <Alice@LOCALHOST>; ") {
		t.Errorf("trace headers: %q", m[:min(len(m), 300)])
	}
}

func TestDetailDelivery(t *testing.T) {
	for _, on := range []bool{false, true} {
		t.Run(fmt.Sprintf("detail_delivery=%v", on), func(t *testing.T) {
			e := newEnv(t, func(c *lmtp.Config, _ *env) { c.DetailDelivery = on })
			alice := e.addUser("alice", "lists", "Sent")
			c := e.dial()
			for _, r := range []string{"alice+lists@localhost", "alice+LISTS@localhost", "alice+nosuch@localhost", "alice+sent@localhost"} {
				if err := c.SendMail("s@x", []string{r}, strings.NewReader(msg)); err != nil {
					t.Fatalf("%s: %v", r, err)
				}
			}
			want := map[string]int{"INBOX": 4, "lists": 0, "Sent": 0}
			if on {
				// Missing mailbox: INBOX; case-insensitive match otherwise.
				want = map[string]int{"INBOX": 1, "lists": 2, "Sent": 1}
			}
			for mb, n := range want {
				if got := e.count(alice, mb); got != n {
					t.Errorf("%s: %d messages, want %d", mb, got, n)
				}
			}
		})
	}
}

// The hand-off recipient form is refused on the public listeners.
func TestHandoffRecipientRefusedOnPublic(t *testing.T) {
	e := newEnv(t)
	e.addUser("alice")
	c := e.dial()
	c.Mail("", nil)
	err := c.Rcpt(lmtp.HandoffRecipient("alice", ""), nil)
	var se *smtp.SMTPError
	if !errors.As(err, &se) || se.Code != 550 {
		t.Errorf("got %v", err)
	}
}

// A burst of 400 deliveries over 8 concurrent connections: every 250 is
// a stored message, none lost, UIDs distinct.
func TestBurst400Over8(t *testing.T) {
	e := newEnv(t)
	alice := e.addUser("alice")
	const conns, per = 8, 50
	var wg sync.WaitGroup
	errs := make(chan error, conns*per)
	for w := range conns {
		c := e.dial()
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range per {
				body := fmt.Sprintf("Subject: burst %d/%d\r\n\r\nmessage %d from worker %d\r\n", w, i, i, w)
				if err := c.SendMail("s@x", []string{"alice@localhost"}, strings.NewReader(body)); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := e.count(alice, "INBOX"); n != conns*per {
		t.Fatalf("INBOX has %d messages, want %d", n, conns*per)
	}
	mb, _ := e.st.Mailbox(context.Background(), alice.ID, "INBOX")
	_, uids, _ := e.st.MessageUIDs(context.Background(), mb.ID)
	seen := map[string]bool{}
	for _, m := range e.messages(alice, "INBOX") {
		i := strings.Index(m, "Subject: burst ")
		seen[m[i:i+25]] = true
	}
	if len(uids) != conns*per || len(seen) != conns*per {
		t.Errorf("%d UIDs, %d distinct subjects", len(uids), len(seen))
	}
}

// Shutdown closes idle connections at once (an MTA caches them) and lets
// a transaction in progress finish with its 250.
func TestShutdownDrains(t *testing.T) {
	e := newEnv(t)
	alice := e.addUser("alice")
	idle := e.dial()
	_ = idle
	busy := e.dial()
	if err := busy.Mail("s@x", nil); err != nil {
		t.Fatal(err)
	}
	if err := busy.Rcpt("alice@localhost", nil); err != nil {
		t.Fatal(err)
	}
	w, err := busy.Data()
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("Subject: during shutdown\r\n\r\n"))
	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10e9)
		defer cancel()
		done <- e.srv.Shutdown(ctx)
	}()
	w.Write([]byte("still here\r\n"))
	if _, err := w.CloseWithLMTPResponse(); err != nil {
		t.Errorf("in-flight delivery: %v", err)
	}
	if err := <-done; err != nil {
		t.Errorf("Shutdown: %v", err)
	}
	if n := e.count(alice, "INBOX"); n != 1 {
		t.Errorf("%d messages", n)
	}
	if err := idle.Noop(); err == nil {
		t.Error("idle connection still open after Shutdown")
	}
}

// limits.line_length bounds DATA lines too: the recipient gets a
// permanent 552 5.3.4 naming the limit (go-smtp then closes the
// connection).
func TestLineLimit(t *testing.T) {
	e := newEnv(t, func(c *lmtp.Config, _ *env) { c.MaxLineLength = 1200 })
	alice := e.addUser("alice")
	c := e.raw("tcp")
	c.Send("LHLO x\r\nMAIL FROM:<a@b>\r\nRCPT TO:<alice@localhost>\r\nDATA\r\n")
	c.Reply()
	for _, w := range []string{"250", "250", "354"} {
		if l := c.Line(); !strings.HasPrefix(l, w) {
			t.Fatalf("%q, want %s", l, w)
		}
	}
	c.Send("Subject: long\r\n\r\n" + strings.Repeat("x", 1000) + "\r\n" + strings.Repeat("y", 1300) + "\r\n.\r\n")
	if l := c.Line(); !strings.HasPrefix(l, "552 5.3.4 <alice@localhost> ") || !strings.Contains(l, "line_length") {
		t.Errorf("too long line: %q", l)
	}
	if n := e.count(alice, "INBOX"); n != 0 {
		t.Errorf("%d messages stored", n)
	}
}

// RFC 3030 CHUNKING (advertised by go-smtp): BDAT chunks, no dot-stuffing,
// per-recipient replies after BDAT ... LAST as after DATA.
func TestBDAT(t *testing.T) {
	e := newEnv(t)
	alice := e.addUser("alice")
	c := e.raw("tcp")
	c.Send("LHLO x\r\n")
	c.Reply()
	part1 := "Subject: chunked\r\n\r\n"
	part2 := ".not stuffed\r\n"
	c.Send("MAIL FROM:<a@b>\r\nRCPT TO:<alice@localhost>\r\nRCPT TO:<ghost@localhost>\r\n" +
		fmt.Sprintf("BDAT %d\r\n%s", len(part1), part1))
	for _, w := range []string{"250", "250", "550 5.1.1", "250"} {
		if l := c.Line(); !strings.HasPrefix(l, w) {
			t.Fatalf("%q, want %s", l, w)
		}
	}
	c.Send(fmt.Sprintf("BDAT %d LAST\r\n%s", len(part2), part2))
	if l := c.Line(); !strings.HasPrefix(l, "250 2.0.0 <alice@localhost>") {
		t.Errorf("BDAT LAST: %q", l)
	}
	m := e.messages(alice, "INBOX")
	if len(m) != 1 || !strings.HasSuffix(m[0], "\r\n\r\n.not stuffed\r\n") {
		t.Errorf("stored %q", m)
	}
}
