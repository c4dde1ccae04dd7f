package submission_test

import (
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"net"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
	"github.com/xdg-go/scram"

	"barid/internal/auth"
	"barid/internal/config"
	"barid/internal/submission"
	"barid/internal/testkit"
)

// imapLiteral is an IMAP LITERAL+ ({n+}) followed by s.
func imapLiteral(s string) string { return fmt.Sprintf("{%d+}\r\n%s", len(s), s) }

// fetchBody returns BODY.PEEK[] of uid in the selected mailbox.
func fetchBody(t *testing.T, c *testkit.Conn, uid int) string {
	t.Helper()
	lines := c.Cmd("F1", fmt.Sprintf("UID FETCH %d BODY.PEEK[]", uid))
	for _, l := range lines {
		if i := strings.Index(l, "BODY[] {"); i >= 0 {
			rest := l[i+len("BODY[] {"):]
			j := strings.Index(rest, "}\n")
			n, _ := strconv.Atoi(rest[:j])
			return rest[j+2 : j+2+n]
		}
	}
	t.Fatalf("no BODY[] in %q", lines)
	return ""
}

var (
	appendUIDRe = regexp.MustCompile(`\[APPENDUID (\d+) (\d+)\]`)
	genURLRe    = regexp.MustCompile(`\* GENURLAUTH "([^"]+)"`)
)

// The whole LEMONADE forward (RFC 5550 §5.3 without downloading the
// attachment): IMAP APPEND of an original with an attachment; CATENATE
// of a new message from a TEXT part and the attachment section of the
// original (by URL, RFC 4469); GENURLAUTH of the new message for
// "submit+alice" (RFC 4467); then submission with STARTTLS: AUTH, MAIL,
// RCPT, "BURL <url> LAST" (RFC 4468). The relay receives the new
// message byte for byte as the IMAP server stores it, while the client
// sent the attachment neither to IMAP nor to SMTP.
func TestLemonadeForward(t *testing.T) {
	sink := testkit.StartSink(t, nil)
	srv := testkit.Start(t, testkit.WithSubmission(sink.Addr))
	srv.AddUser("alice", "wonderland")

	imap := srv.Dial()
	imap.Login("alice", "wonderland")
	attachment := strings.Repeat("QmFyaWQgTEVNT05BREUgYXR0YWNobWVudCBieXRlcy4K", 40) // base64 lines
	var att strings.Builder
	for i := 0; i < len(attachment); i += 76 {
		att.WriteString(attachment[i:min(i+76, len(attachment))] + "\r\n")
	}
	original := "From: Bob <bob@example.net>\r\nTo: alice@localhost\r\nSubject: Report\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: multipart/mixed; boundary=\"orig\"\r\n\r\n--orig\r\nContent-Type: text/plain\r\n\r\nThe report is attached.\r\n" +
		"--orig\r\nContent-Type: application/pdf; name=\"report.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
		att.String() + "--orig--\r\n"
	r := imap.ExpectOK("a1", "APPEND INBOX "+imapLiteral(original))
	m := appendUIDRe.FindStringSubmatch(r[len(r)-1])
	if m == nil {
		t.Fatalf("APPEND: %q", r)
	}
	uv := m[1]

	// The forward: new header and text, then the attachment's MIME
	// header and body from the original, by URL (RFC 4469 §5).
	head := "From: Alice <alice@localhost>\r\nTo: carol@example.org\r\nSubject: Fwd: Report\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: multipart/mixed; boundary=\"fwd\"\r\n\r\n--fwd\r\nContent-Type: text/plain\r\n\r\nCarol, Bob's report.\r\n--fwd\r\n"
	base := "/INBOX;UIDVALIDITY=" + uv + "/;UID=" + m[2]
	r = imap.ExpectOK("a2", "APPEND Drafts (\\Seen) CATENATE (TEXT "+imapLiteral(head)+
		" URL \""+base+"/;SECTION=2.MIME\" URL \""+base+"/;SECTION=2\" TEXT "+imapLiteral("\r\n--fwd--\r\n")+")")
	m = appendUIDRe.FindStringSubmatch(r[len(r)-1])
	if m == nil {
		t.Fatalf("CATENATE: %q", r)
	}
	draftUV, draftUID := m[1], m[2]
	imap.ExpectOK("a3", "SELECT Drafts")
	stored := fetchBody(t, imap, 1)
	if !strings.Contains(stored, att.String()) || !strings.HasPrefix(stored, head) {
		t.Fatalf("the catenated message lacks the attachment or the new header:\n%s", stored)
	}

	rump := "imap://alice@localhost/Drafts;UIDVALIDITY=" + draftUV + "/;UID=" + draftUID + ";URLAUTH=submit+alice"
	r = imap.ExpectOK("a4", `GENURLAUTH "`+rump+`" INTERNAL`)
	gm := genURLRe.FindStringSubmatch(r[0])
	if gm == nil {
		t.Fatalf("GENURLAUTH: %q", r)
	}
	url := gm[1]

	c := testkit.DialSMTP(t, srv.SubmissionAddr, false)
	c.Expect("EHLO client.example", "250 ")
	c.StartTLS()
	ehlo := c.Expect("EHLO client.example", "250 ")
	if ehlo[len(ehlo)-1] != "250 BURL" {
		t.Errorf("EHLO before AUTH ends with %q, want BURL without arguments", ehlo[len(ehlo)-1])
	}
	c.AuthPlain("alice", "wonderland")
	ehlo = c.Expect("EHLO client.example", "250 ")
	if got := ehlo[len(ehlo)-1]; got != "250 BURL imap imap://localhost" {
		t.Errorf("EHLO after AUTH: %q", got)
	}
	c.Expect("MAIL FROM:<alice@localhost>", "250 ")
	c.Expect("RCPT TO:<carol@example.org>", "250 ")
	cmd := "BURL " + url + " LAST"
	reply := c.Expect(cmd, "250 2.0.0 Ok: queued as SINK1")
	t.Logf("client sent %d bytes for a %d-byte message: %q", len(cmd)+2, len(stored), reply)

	got := sink.WaitMessages(t, 1)[0]
	if string(got.Data) != stored {
		t.Fatalf("relayed message differs from the stored one:\n got %q\nwant %q", got.Data, stored)
	}
	if got.From != "alice@localhost" || len(got.Rcpts) != 1 || got.Rcpts[0] != "carol@example.org" {
		t.Errorf("envelope: %q %q", got.From, got.Rcpts)
	}
}

// Port 465 (RFC 8314 §3.3): TLS from the first byte, no STARTTLS, the
// -PLUS SCRAM mechanisms offered; a real client (go-smtp's, PLAIN)
// submits over it and over 587 with STARTTLS.
func TestImplicitTLSAndSTARTTLSClients(t *testing.T) {
	sink := testkit.StartSink(t, nil)
	srv := testkit.Start(t, testkit.WithSubmission(sink.Addr))
	srv.AddUser("alice", "wonderland")

	c := testkit.DialSMTP(t, srv.SubmissionsAddr, true)
	ehlo := strings.Join(c.Expect("EHLO client.example", "250 "), "\n")
	if strings.Contains(ehlo, "STARTTLS") || !strings.Contains(ehlo, "AUTH SCRAM-SHA-256-PLUS SCRAM-SHA-256 SCRAM-SHA-1-PLUS SCRAM-SHA-1 PLAIN LOGIN") {
		t.Errorf("EHLO on 465:\n%s", ehlo)
	}

	msg := "From: alice@localhost\r\nTo: bob@example.org\r\nSubject: hi\r\n\r\n.leading dot\r\nbye\r\n"
	send := func(cl *smtp.Client) {
		t.Helper()
		defer cl.Close()
		if err := cl.Auth(sasl.NewPlainClient("", "alice", "wonderland")); err != nil {
			t.Fatal(err)
		}
		if err := cl.SendMail("alice@localhost", []string{"bob@example.org"}, strings.NewReader(msg)); err != nil {
			t.Fatal(err)
		}
		cl.Quit()
	}
	tc := &tls.Config{InsecureSkipVerify: true}
	cl, err := smtp.DialTLS(srv.SubmissionsAddr, tc)
	if err != nil {
		t.Fatal(err)
	}
	send(cl)
	cl, err = smtp.DialStartTLS(srv.SubmissionAddr, tc)
	if err != nil {
		t.Fatal(err)
	}
	send(cl)
	for _, m := range sink.WaitMessages(t, 2) {
		if string(m.Data) != msg {
			t.Errorf("relayed %q, want %q", m.Data, msg)
		}
	}
}

// A non-loopback client without TLS is offered STARTTLS and no AUTH
// mechanism, and AUTH is refused with 538 5.7.11 (RFC 4954 §6), the
// rule IMAP's LOGINDISABLED follows; submission.allow_plaintext_auth
// lifts it. net.Pipe gives a connection that is not loopback.
func TestAuthWithoutTLSFromNonLoopback(t *testing.T) {
	for _, allow := range []bool{false, true} {
		t.Run(fmt.Sprintf("allow=%v", allow), func(t *testing.T) {
			srv := testkit.Start(t)
			srv.AddUser("alice", "wonderland")
			c := pipeConn(t, srv, allow)
			ehlo := strings.Join(c.Expect("EHLO client.example", "250 "), "\n")
			if !strings.Contains(ehlo, "STARTTLS") {
				t.Errorf("STARTTLS not offered:\n%s", ehlo)
			}
			if strings.Contains(ehlo, "AUTH ") == !allow {
				t.Errorf("allow=%v, AUTH offered: %v\n%s", allow, !allow, ehlo)
			}
			plain := "AUTH PLAIN " + b64("\x00alice\x00wonderland")
			if allow {
				c.Expect(plain, "235 ")
				return
			}
			c.Expect(plain, "538 5.7.11 ")
			c.Expect("AUTH SCRAM-SHA-256", "538 5.7.11 ")
			c.Expect("MAIL FROM:<alice@localhost>", "530 5.7.0 ")
			// After STARTTLS the same client may authenticate.
			c.StartTLS()
			ehlo = strings.Join(c.Expect("EHLO client.example", "250 "), "\n")
			if !strings.Contains(ehlo, "AUTH SCRAM-SHA-256-PLUS") {
				t.Errorf("AUTH not offered after STARTTLS:\n%s", ehlo)
			}
			c.Expect(plain, "235 ")
		})
	}
}

// Relay failures reach the client: a relay that does not answer (451
// 4.4.1, temporary), no relay configured (451 4.3.5, naming the key),
// a relay requiring STARTTLS that it does not offer; and a relay that
// offers STARTTLS gets it (relay_tls = may).
func TestRelayFailures(t *testing.T) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := ln.Addr().String()
	ln.Close()
	cases := []struct {
		name, relay, tlsMode, want string
	}{
		{"down", dead, "may", "451 4.4.1 Relay unavailable: dial tcp " + dead},
		{"none", "", "may", "451 4.3.5 Submission is not configured: no relay (set [submission] relay)"},
		{"tls-required", "SINK", "encrypt", "451 4.4.1 Relay unavailable: the relay does not offer STARTTLS (submission.relay_tls = encrypt)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			relay := tc.relay
			if relay == "SINK" {
				relay = testkit.StartSink(t, nil).Addr
			}
			srv := testkit.Start(t, testkit.WithSubmission(relay), func(c *config.Config) { c.Submission.RelayTLS = tc.tlsMode })
			srv.AddUser("alice", "wonderland")
			c := testkit.DialSMTP(t, srv.SubmissionAddr, false)
			c.AuthPlain("alice", "wonderland")
			c.Expect("MAIL FROM:<alice@localhost>", tc.want)
		})
	}
	t.Run("starttls", func(t *testing.T) {
		tlsSrv := testkit.Start(t) // only for its certificate
		sink := testkit.StartSink(t, serverTLS(t, tlsSrv))
		srv := testkit.Start(t, testkit.WithSubmission(sink.Addr), func(c *config.Config) { c.Submission.RelayTLS = "encrypt" })
		srv.AddUser("alice", "wonderland")
		c := testkit.DialSMTP(t, srv.SubmissionAddr, false)
		c.AuthPlain("alice", "wonderland")
		c.Expect("MAIL FROM:<alice@localhost>", "250 ")
		c.Expect("RCPT TO:<bob@example.org>", "250 ")
		c.Send("BDAT 26 LAST\r\nFrom: alice@localhost\r\n\r\nx\r\n")
		if r := c.Reply(); !strings.HasPrefix(r[0], "250 2.0.0 Ok: queued as") {
			t.Fatalf("BDAT LAST: %q", r)
		}
		if m := sink.WaitMessages(t, 1)[0]; !m.TLS {
			t.Errorf("the relay session did not use STARTTLS")
		}
	})
	// The relay closed the kept connection between two messages: the
	// next MAIL opens a new one.
	t.Run("reconnect", func(t *testing.T) {
		sink := testkit.StartSink(t, nil)
		srv := testkit.Start(t, testkit.WithSubmission(sink.Addr))
		srv.AddUser("alice", "wonderland")
		c := testkit.DialSMTP(t, srv.SubmissionAddr, false)
		c.AuthPlain("alice", "wonderland")
		for i := 0; i < 2; i++ {
			c.Expect("MAIL FROM:<alice@localhost>", "250 ")
			c.Expect("RCPT TO:<bob@example.org>", "250 ")
			c.Expect("DATA", "354 ")
			c.Expect("From: alice@localhost\r\n\r\nx\r\n.", "250 2.0.0 Ok: queued")
			if i == 0 {
				sink.CloseConns()
			}
		}
		sink.WaitMessages(t, 2)
	})
}

// The named limits: submission.max_recipients (452 4.5.3),
// limits.literal_size for a BURL chunk (554 5.3.4, RFC 4468 §6) and
// limits.header_size for the header read before relaying (552 5.3.4).
func TestLimits(t *testing.T) {
	sink := testkit.StartSink(t, nil)
	srv := testkit.Start(t, testkit.WithSubmission(sink.Addr), func(c *config.Config) {
		c.Submission.MaxRecipients = 2
		c.Limits.LiteralSize = 4096
		c.Limits.HeaderSize = 1024
	})
	srv.AddUser("alice", "wonderland")
	imap := srv.Dial()
	imap.Login("alice", "wonderland")
	big := "From: alice@localhost\r\nSubject: big\r\n\r\n" + strings.Repeat("0123456789abcdef\r\n", 150)
	imap.Send("a1 APPEND Drafts " + imapLiteral(big) + "\r\n")
	imap.Until("a1")

	c := testkit.DialSMTP(t, srv.SubmissionAddr, false)
	c.AuthPlain("alice", "wonderland")
	c.Expect("MAIL FROM:<alice@localhost>", "250 ")
	c.Expect("RCPT TO:<a@example.org>", "250 ")
	c.Expect("RCPT TO:<b@example.org>", "250 ")
	c.Expect("RCPT TO:<c@example.org>", "452 4.5.3 Too many recipients (limit submission.max_recipients = 2)")
	// 2,000 bytes by BDAT, then a 2,739-byte BURL chunk: over 4,096.
	c.Send("BDAT 2000\r\n" + "From: alice@localhost\r\n\r\n" + strings.Repeat("z", 2000-25))
	if r := c.Reply(); r[0] != "250 2.0.0 Continue" {
		t.Fatalf("BDAT: %q", r)
	}
	c.Expect("BURL imap://localhost/Drafts/;UID=1 LAST", "554 5.3.4 ")

	c.Expect("MAIL FROM:<alice@localhost>", "250 ")
	c.Expect("RCPT TO:<a@example.org>", "250 ")
	c.Expect("DATA", "354 ")
	c.Expect("From: alice@localhost\r\nX-Long: "+strings.Repeat("y", 1100)+"\r\n\r\nbody\r\n.", "552 5.3.4 Message header exceeds limits.header_size (1024 bytes)")
	if n := len(sink.Messages()); n != 0 {
		t.Errorf("the sink got %d messages", n)
	}
}

// limits.login_timeout: a client that does not authenticate in time is
// told 421 and disconnected, even while it keeps sending commands; one
// that did authenticate stays.
func TestLoginTimeout(t *testing.T) {
	srv := testkit.Start(t, testkit.WithSubmission(""), func(c *config.Config) {
		c.Limits.LoginTimeout = config.Duration{Duration: time.Second}
	})
	srv.AddUser("alice", "wonderland")
	idle := testkit.DialSMTP(t, srv.SubmissionAddr, false)
	idle.Expect("EHLO client.example", "250 ")
	busy := testkit.DialSMTP(t, srv.SubmissionAddr, false)
	authed := testkit.DialSMTP(t, srv.SubmissionAddr, false)
	authed.AuthPlain("alice", "wonderland")
	// A client that keeps sending commands is cut off all the same
	// (10 s bounds the wait on a loaded machine; the limit is 1 s).
	start, cut := time.Now(), false
	for !cut && time.Since(start) < 10*time.Second {
		if r := busy.Cmd("NOOP"); !strings.HasPrefix(r[0], "250 ") {
			if !strings.HasPrefix(r[0], "421 ") || strings.Contains(r[0], "commands_before_login") {
				t.Fatalf("NOOP: %q, want the login timeout's 421", r)
			}
			cut = true
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !cut {
		t.Errorf("the busy unauthenticated client was not cut off by limits.login_timeout")
	}
	if r := idle.Reply(); !strings.HasPrefix(r[0], "421 ") {
		t.Errorf("idle client: %q", r)
	}
	authed.Expect("NOOP", "250 ")
}

// A client that goes away in the middle of a chunked message: the relay
// connection is dropped in the middle of its DATA, so the relay keeps
// nothing (a truncated message is never delivered).
func TestClientGoneMidMessage(t *testing.T) {
	sink := testkit.StartSink(t, nil)
	srv := testkit.Start(t, testkit.WithSubmission(sink.Addr))
	srv.AddUser("alice", "wonderland")
	c := testkit.DialSMTP(t, srv.SubmissionAddr, false)
	c.AuthPlain("alice", "wonderland")
	c.Expect("MAIL FROM:<alice@localhost>", "250 ")
	c.Expect("RCPT TO:<bob@example.org>", "250 ")
	chunk := "From: alice@localhost\r\n\r\nfirst part of the body\r\n"
	c.Send(fmt.Sprintf("BDAT %d\r\n%s", len(chunk), chunk))
	c.Reply()
	c.NC.Close()
	ok := c2ok(t, srv)
	time.Sleep(200 * time.Millisecond)
	if n := len(sink.Messages()); n != 0 || !ok {
		t.Fatalf("the sink kept %d messages", n)
	}
}

// c2ok checks the server still serves a new client.
func c2ok(t *testing.T, srv *testkit.Server) bool {
	c := testkit.DialSMTP(t, srv.SubmissionAddr, false)
	c.AuthPlain("alice", "wonderland")
	c.Expect("QUIT", "221 ")
	return true
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// serverTLS is the server side TLS configuration of srv's generated
// certificate.
func serverTLS(t *testing.T, srv *testkit.Server) *tls.Config {
	t.Helper()
	cert, err := tls.LoadX509KeyPair(srv.CertFile(), filepath.Join(srv.Dir, "tls", "key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}}
}

// pipeListener hands out the server ends of net.Pipe connections.
type pipeListener struct {
	conns chan net.Conn
	done  chan struct{}
}

func (l *pipeListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}
func (l *pipeListener) Close() error {
	select {
	case <-l.done:
	default:
		close(l.done)
	}
	return nil
}
func (l *pipeListener) Addr() net.Addr { return pipeAddr{} }

type pipeAddr struct{}

func (pipeAddr) Network() string { return "pipe" }
func (pipeAddr) String() string  { return "pipe" }

// pipeConn runs a submission server over srv's store and connects to it
// through an in-memory pipe, so the server sees a non-loopback peer.
func pipeConn(t *testing.T, srv *testkit.Server, allowPlaintext bool) *testkit.SMTPConn {
	t.Helper()
	ac := auth.DefaultConfig()
	ac.Params = testkit.CheapParams
	s := submission.New(submission.Config{
		Store:              srv.Store(),
		Auth:               auth.New(auth.StoreAccounts{Store: srv.Store()}, ac, nil),
		TLS:                serverTLS(t, srv),
		AllowPlaintextAuth: allowPlaintext,
	})
	ln := &pipeListener{conns: make(chan net.Conn, 1), done: make(chan struct{})}
	go s.Serve(ln, false)
	t.Cleanup(func() { s.Close() })
	client, server := net.Pipe()
	ln.conns <- server
	return testkit.NewSMTPConn(t, client)
}

// SCRAM-SHA-256 (RFC 7677) over SMTP AUTH (RFC 4954 §4): the exchange
// runs in 334 challenges, the server-final message as a last challenge
// the client answers with an empty line, then 235; a wrong password is
// 535 5.7.8.
func TestAuthSCRAM(t *testing.T) {
	srv := testkit.Start(t, testkit.WithSubmission(""))
	srv.AddUser("alice", "wonderland")
	for _, pw := range []string{"wonderland", "looking-glass"} {
		c := testkit.DialSMTP(t, srv.SubmissionAddr, false)
		c.Expect("EHLO client.example", "250 ")
		client, err := scram.SHA256.NewClient("alice", pw, "")
		if err != nil {
			t.Fatal(err)
		}
		conv := client.NewConversation()
		first, _ := conv.Step("")
		r := c.Cmd("AUTH SCRAM-SHA-256 " + b64(first))
		for strings.HasPrefix(r[0], "334 ") {
			chal, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(r[0], "334 "))
			if err != nil {
				t.Fatal(err)
			}
			resp, err := conv.Step(string(chal))
			if err != nil {
				t.Fatalf("SCRAM client: %v", err)
			}
			r = c.Cmd(b64(resp))
		}
		switch {
		case pw == "wonderland" && (r[0] != "235 2.0.0 Authentication succeeded" || !conv.Valid()):
			t.Errorf("SCRAM: %q (server verified: %v)", r, conv.Valid())
		case pw != "wonderland" && !strings.HasPrefix(r[0], "535 5.7.8 "):
			t.Errorf("SCRAM with a wrong password: %q", r)
		}
	}
}

// DSN (RFC 3461) and SIZE parameters reach the relay: RET, ENVID,
// NOTIFY, ORCPT, SIZE; a client's AUTH= does not.
func TestParametersPassedToRelay(t *testing.T) {
	sink := testkit.StartSink(t, nil)
	srv := testkit.Start(t, testkit.WithSubmission(sink.Addr))
	srv.AddUser("alice", "wonderland")
	c := testkit.DialSMTP(t, srv.SubmissionAddr, false)
	c.AuthPlain("alice", "wonderland")
	msg := "From: alice@localhost\r\n\r\nx\r\n"
	c.Expect(fmt.Sprintf("MAIL FROM:<alice@localhost> SIZE=%d RET=HDRS ENVID=QQ314159 AUTH=mallory@example.org", len(msg)), "250 ")
	c.Expect("RCPT TO:<bob@example.org> NOTIFY=SUCCESS,DELAY ORCPT=rfc822;bob+2Borig@example.org", "250 ")
	c.Send(fmt.Sprintf("BDAT %d LAST\r\n%s", len(msg), msg))
	c.Reply()
	m := sink.WaitMessages(t, 1)[0]
	if m.Mail.Return != smtp.DSNReturnHeaders || m.Mail.EnvelopeID != "QQ314159" || m.Mail.Size != int64(len(msg)) || m.Mail.Auth != nil {
		t.Errorf("MAIL parameters at the relay: %+v", m.Mail)
	}
	if r := m.Rcpt[0]; len(r.Notify) != 2 || r.Notify[0] != smtp.DSNNotifySuccess || r.Notify[1] != smtp.DSNNotifyDelayed ||
		r.OriginalRecipientType != smtp.DSNAddressTypeRFC822 || r.OriginalRecipient != "bob+orig@example.org" {
		t.Errorf("RCPT parameters at the relay: %+v", r)
	}
}

// limits.commands_before_login: a connection that has not authenticated
// gets 421 naming the limit after that many commands, counted across
// STARTTLS; QUIT is always allowed, and after AUTH there is no count.
func TestCommandsBeforeLogin(t *testing.T) {
	srv := testkit.Start(t, testkit.WithSubmission(""), func(c *config.Config) {
		c.Limits.CommandsBeforeLogin = 4
	})
	srv.AddUser("alice", "wonderland")

	c := testkit.DialSMTP(t, srv.SubmissionAddr, false)
	c.Expect("EHLO client.example", "250")
	c.StartTLS() // EHLO, STARTTLS
	c.Expect("EHLO client.example", "250")
	c.Expect("NOOP", "250")
	c.Expect("NOOP", "421 4.7.0 Too many commands before authentication (limits.commands_before_login = 4)")
	c.NC.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := c.NC.Read(make([]byte, 1)); n != 0 || err == nil {
		t.Errorf("connection still open after the 421: %d, %v", n, err)
	}

	// QUIT past the limit still gets its 221.
	q := testkit.DialSMTP(t, srv.SubmissionAddr, false)
	for range 4 {
		q.Expect("NOOP", "250")
	}
	q.Expect("QUIT", "221")

	// Authenticated sessions are not counted.
	a := testkit.DialSMTP(t, srv.SubmissionAddr, false)
	a.Expect("EHLO client.example", "250")
	a.AuthPlain("alice", "wonderland")
	for range 10 {
		a.Expect("NOOP", "250")
	}
}
