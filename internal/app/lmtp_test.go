package app_test

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-smtp"

	"barid/internal/app"
	"barid/internal/config"
	"barid/internal/lmtp"
	"barid/internal/store"
	"barid/internal/testkit"
)

// lmtpApp is a whole barid (IMAP + LMTP + hand-off socket) on loopback
// over a t.TempDir() data folder: a testkit.Server with LMTP on.
type lmtpApp struct {
	*testkit.Server
	t     *testing.T
	cfg   config.Config
	app   *app.App
	addrs map[string]string
}

func lmtpTestConfig(t *testing.T, dir string) config.Config {
	cfg := config.Default()
	cfg.DataDir = dir
	cfg.IMAP.Listen = "127.0.0.1:0"
	cfg.IMAP.ListenTLS = ""
	cfg.LMTP.Listen = "127.0.0.1:0"
	cfg.LogLevel = "error"
	// The same metadata store as the server the test starts on dir, for
	// the app.Deliver calls made with this configuration.
	testkit.ApplyMetadataEnv(t, &cfg)
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	return cfg
}

func startLMTPApp(t *testing.T, cfg config.Config) *lmtpApp {
	t.Helper()
	ks := testkit.StartAt(t, cfg.DataDir, testkit.WithConfig(cfg))
	return &lmtpApp{Server: ks, t: t, cfg: ks.Cfg, app: ks.App, addrs: ks.App.Addrs()}
}

func (s *lmtpApp) stop() { s.Stop() }

func lmtpAddUser(t *testing.T, st store.Store, name, pw string) *store.Account {
	t.Helper()
	acct, err := app.CreateAccountWith(context.Background(), st, name, pw, testkit.CheapParams)
	if err != nil {
		t.Fatal(err)
	}
	return acct
}

func lmtpCount(t *testing.T, st store.Store, acct *store.Account, mailbox string) int {
	t.Helper()
	mb, err := st.Mailbox(context.Background(), acct.ID, mailbox)
	if err != nil {
		t.Fatal(err)
	}
	s, err := st.MailboxStatus(context.Background(), mb.ID)
	if err != nil {
		t.Fatal(err)
	}
	return int(s.Messages)
}

// An IMAP client idling on INBOX sees a delivery made over LMTP, and one
// made by "barid deliver" (its engine, app.Deliver, which hands off over
// <data>/lmtp.sock), each within a second.
func TestIdleSeesLMTPAndDeliver(t *testing.T) {
	s := startLMTPApp(t, lmtpTestConfig(t, t.TempDir()))
	st := s.app.Data().Store
	lmtpAddUser(t, st, "alice@example.org", "pw")
	lmtpAddUser(t, st, "bob", "pw")
	exists := make(chan uint32, 16)
	c, err := imapclient.DialStartTLS(s.addrs["imap"], &imapclient.Options{
		TLSConfig: &tls.Config{InsecureSkipVerify: true},
		UnilateralDataHandler: &imapclient.UnilateralDataHandler{
			Mailbox: func(d *imapclient.UnilateralDataMailbox) {
				if d.NumMessages != nil {
					exists <- *d.NumMessages
				}
			},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login("alice@example.org", "pw").Wait(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	for len(exists) > 0 {
		<-exists
	}
	idle, err := c.Idle()
	if err != nil {
		t.Fatal(err)
	}
	// Let the server enter IDLE before delivering.
	time.Sleep(50 * time.Millisecond)

	waitExists := func(how string, want uint32) {
		t.Helper()
		start := time.Now()
		select {
		case n := <-exists:
			if n != want {
				t.Errorf("%s: EXISTS %d, want %d", how, n, want)
			}
			t.Logf("%s: IDLE saw the delivery %v after the 250", how, time.Since(start))
		case <-time.After(time.Second):
			t.Fatalf("%s: IDLE saw nothing within 1 s", how)
		}
	}

	// LMTP over TCP; two recipients, one unknown.
	conn, err := net.Dial("tcp", s.addrs["lmtp"])
	if err != nil {
		t.Fatal(err)
	}
	cl := smtp.NewClientLMTP(conn)
	defer cl.Close()
	err = cl.SendMail("sender@example.net", []string{"alice@example.org", "nobody@example.org"}, strings.NewReader("Subject: via lmtp\r\n\r\nhi\r\n"))
	var se *smtp.SMTPError
	if !errors.As(err, &se) || se.Code != 550 {
		t.Fatalf("SendMail: %v (want the 550 for nobody)", err)
	}
	cl.Reset()
	if err := cl.SendMail("sender@example.net", []string{"alice@example.org"}, strings.NewReader("Subject: via lmtp\r\n\r\nhi\r\n")); err != nil {
		t.Fatal(err)
	}
	waitExists("lmtp", 1)

	cfg := s.cfg
	via, err := app.Deliver(context.Background(), &cfg, testkit.Logger(), app.DeliverRequest{
		User:    "Alice@Example.org",
		Message: strings.NewReader("From sender@example.net Thu Nov 26 11:00:00 2026\nSubject: via barid deliver\n\nhello\n"),
	})
	if err != nil || via != app.ViaServer {
		t.Fatalf("Deliver: %q %v", via, err)
	}
	waitExists("barid deliver", 2)

	if err := idle.Close(); err != nil {
		t.Fatal(err)
	}
	if err := idle.Wait(); err != nil {
		t.Fatal(err)
	}
	// The hand-off message was stored with CRLF line ends and without
	// the mbox envelope line.
	msgs, err := c.Fetch(imap.SeqSetNum(2), &imap.FetchOptions{BodySection: []*imap.FetchItemBodySection{{Peek: true}}}).Collect()
	if err != nil || len(msgs) != 1 {
		t.Fatalf("fetch: %v", err)
	}
	var body []byte
	for _, b := range msgs[0].BodySection {
		body = b.Bytes
	}
	if string(body) != "Subject: via barid deliver\r\n\r\nhello\r\n" {
		t.Errorf("stored %q", body)
	}
}

// The private socket: mode 0600, replaced when stale, removed at
// shutdown; with the server down "barid deliver" writes directly.
func TestHandoffSocketLifecycle(t *testing.T) {
	dir := t.TempDir()
	cfg := lmtpTestConfig(t, dir)
	sock := filepath.Join(dir, app.HandoffSocket)
	// A stale socket file from a crashed server.
	os.MkdirAll(dir, 0o700)
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	ln.Close()

	s := startLMTPApp(t, cfg)
	st := s.app.Data().Store
	alice := lmtpAddUser(t, st, "alice", "pw")
	fi, err := os.Stat(sock)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode()&os.ModeSocket == 0 || fi.Mode().Perm() != 0o600 {
		t.Errorf("hand-off socket mode %v, want socket 0600", fi.Mode())
	}
	if s.addrs["lmtp-handoff"] != sock {
		t.Errorf("Addrs: %v", s.addrs)
	}
	via, err := app.Deliver(context.Background(), &cfg, nil, app.DeliverRequest{User: "alice", Mailbox: "Archive", Message: strings.NewReader("Subject: 1\r\n\r\n1\r\n")})
	if err != nil || via != app.ViaServer {
		t.Fatalf("live: %q %v", via, err)
	}
	// Unknown user, through the server.
	_, err = app.Deliver(context.Background(), &cfg, nil, app.DeliverRequest{User: "nobody", Message: strings.NewReader("Subject: 1\r\n\r\n1\r\n")})
	if got := lmtp.ExitCode(lmtp.Status(err, false)); got != 67 {
		t.Errorf("unknown user via server: %v -> exit %d, want 67", err, got)
	}
	s.stop()
	if _, err := os.Lstat(sock); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("socket left after shutdown: %v", err)
	}

	// Server down: direct delivery, same rules.
	via, err = app.Deliver(context.Background(), &cfg, nil, app.DeliverRequest{User: "alice@localhost", Mailbox: "nosuch", From: "x@example.net", Message: strings.NewReader("Subject: 2\n\n2\n")})
	if err != nil || via != app.ViaDirect {
		t.Fatalf("direct: %q %v", via, err)
	}
	_, err = app.Deliver(context.Background(), &cfg, nil, app.DeliverRequest{User: "nobody", Message: strings.NewReader("Subject: 1\r\n\r\n1\r\n")})
	if got := lmtp.ExitCode(lmtp.Status(err, false)); got != 67 {
		t.Errorf("unknown user direct: %v -> exit %d, want 67", err, got)
	}
	// A stale socket with nobody behind it also means direct delivery.
	ln, _ = net.Listen("unix", sock)
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	ln.Close()
	via, err = app.Deliver(context.Background(), &cfg, nil, app.DeliverRequest{User: "alice", Message: strings.NewReader("Subject: 3\r\n\r\n3\r\n")})
	if err != nil || via != app.ViaDirect {
		t.Fatalf("stale socket: %q %v", via, err)
	}
	// A wrong data folder is a temporary failure, never "no such user".
	bad := cfg
	bad.DataDir = filepath.Join(dir, "nope")
	_, err = app.Deliver(context.Background(), &bad, nil, app.DeliverRequest{User: "alice", Message: strings.NewReader("x")})
	if got := lmtp.ExitCode(lmtp.Status(err, false)); got != 75 {
		t.Errorf("missing data folder: %v -> exit %d, want 75", err, got)
	}
	if _, err := os.Stat(bad.DataDir); err == nil {
		t.Error("Deliver created a data folder")
	}

	d, err := app.OpenData(context.Background(), &cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if n := lmtpCount(t, d.Store, alice, "Archive"); n != 1 {
		t.Errorf("Archive: %d", n)
	}
	if n := lmtpCount(t, d.Store, alice, "INBOX"); n != 2 {
		t.Errorf("INBOX: %d", n)
	}
}
