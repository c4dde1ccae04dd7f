package e2e

import (
	"context"
	"io"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"barid/internal/app"
	"barid/internal/auth"
	"barid/internal/config"
	"barid/internal/store"
)

// server is a whole barid (SQLite + blob files + IMAP) running in this
// process on loopback.
type server struct {
	t      testing.TB
	addr   string
	dir    string
	app    *app.App
	cancel context.CancelFunc
	done   chan struct{}
	logs   *logBuffer
}

// cheapParams keep argon2id cheap under -race; production uses
// auth.DefaultParams.
var cheapParams = auth.Params{ArgonTime: 1, ArgonMemory: 1024, ArgonThreads: 1, SCRAMIterations: 4096}

// logBuffer collects the server's log so a test can look for errors
// (a "command failed" line means a client got NO [SERVERBUG]).
type logBuffer struct {
	mu  sync.Mutex
	buf []byte
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	b.buf = append(b.buf, p...)
	b.mu.Unlock()
	return len(p), nil
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}

// startServer starts barid on a fresh data folder with IMAP (no TLS
// listener) on 127.0.0.1 and a short keepalive unless opts change it.
func startServer(t testing.TB, opts ...func(*config.Config)) *server {
	t.Helper()
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.IMAP.Listen = "127.0.0.1:0"
	cfg.IMAP.ListenTLS = ""
	cfg.LogLevel = "info"
	cfg.Auth.TrustedNetworks = []string{"127.0.0.0/8"}
	cfg.Limits.MaxConnsPerUser = 1000
	cfg.Limits.MaxConnsPerIP = 1000
	for _, o := range opts {
		o(&cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	logs := &logBuffer{}
	var w io.Writer = logs
	if os.Getenv("BARID_TEST_LOG") != "" {
		w = io.MultiWriter(logs, os.Stderr)
	}
	logger := slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelInfo}))
	ctx, cancel := context.WithCancel(context.Background())
	a, err := app.New(ctx, cfg, logger)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if err := a.Listen(); err != nil {
		cancel()
		t.Fatal(err)
	}
	s := &server{t: t, addr: a.Addrs()["imap"], dir: cfg.DataDir, app: a, cancel: cancel, done: make(chan struct{}), logs: logs}
	go func() {
		defer close(s.done)
		if err := a.Run(ctx); err != nil {
			t.Errorf("server: %v", err)
		}
	}()
	t.Cleanup(s.stop)
	return s
}

func (s *server) stop() {
	s.cancel()
	select {
	case <-s.done:
	case <-time.After(40 * time.Second):
		s.t.Errorf("server did not shut down within 40s")
	}
}

// addUser creates an account with the default mailboxes.
func (s *server) addUser(name, password string) *store.Account {
	s.t.Helper()
	acct, err := app.CreateAccountWith(context.Background(), s.app.Data().Store, name, password, cheapParams)
	if err != nil {
		s.t.Fatal(err)
	}
	return acct
}

// storeMessages returns the store's own picture of a mailbox: UIDs in
// order and each message's flags and modseq.
func (s *server) storeMessages(accountID int64, name string) (*store.Mailbox, []store.Message) {
	s.t.Helper()
	ctx := context.Background()
	st := s.app.Data().Store
	mb, err := st.Mailbox(ctx, accountID, name)
	if err != nil {
		s.t.Fatal(err)
	}
	mb, uids, err := st.MessageUIDs(ctx, mb.ID)
	if err != nil {
		s.t.Fatal(err)
	}
	var msgs []store.Message
	if len(uids) > 0 {
		err = st.FetchMessages(ctx, mb.ID, uids, store.FieldFlags, func(m *store.Message) error {
			msgs = append(msgs, store.Message{UID: m.UID, ModSeq: m.ModSeq, Flags: m.Flags})
			return nil
		})
		if err != nil {
			s.t.Fatal(err)
		}
	}
	return mb, msgs
}

// testMessage is a small RFC 5322 message whose subject names it.
func testMessage(subject string) string {
	return "From: Tester <tester@example.org>\r\n" +
		"To: Alice <alice@example.org>\r\n" +
		"Subject: " + subject + "\r\n" +
		"Date: Tue, 6 Jan 2026 09:30:00 +0000\r\n" +
		"Message-ID: <" + subject + "@example.org>\r\n" +
		"\r\n" +
		"Body of " + subject + ".\r\n"
}

type configT = config.Config
