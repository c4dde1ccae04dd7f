package lmtp_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"barid/internal/blob"
	"barid/internal/deliver"
	"barid/internal/lmtp"
	"barid/internal/mail/mime"
	"barid/internal/notify"
	"barid/internal/store"
	"barid/internal/testkit"
)

// env is an LMTP server on a data folder opened as barid serve opens it
// (testkit.OpenData: SQLite, or PostgreSQL with BARID_TEST_METADATA,
// blob files in t.TempDir() behind blob/tiered, small messages inline),
// listening on loopback TCP and on a unix socket. The LMTP server is
// built here, not by internal/app, so a test can change its Config and
// wrap its store.
type env struct {
	t    testing.TB
	dir  string
	st   store.Store
	bs   blob.Store
	bus  *notify.Bus
	dl   *deliver.Deliverer
	srv  *lmtp.Server
	addr string // TCP
	sock string // unix
}

type envOpt func(*lmtp.Config, *env)

func withStore(wrap func(store.Store) store.Store) envOpt {
	return func(c *lmtp.Config, e *env) {
		c.Store = wrap(c.Store)
		e.dl.Store = c.Store
	}
}

func newEnv(t testing.TB, opts ...envOpt) *env {
	t.Helper()
	d := testkit.OpenData(t)
	e := &env{t: t, dir: d.Dir, st: d.Store, bs: d.Blobs, bus: notify.New()}
	e.dl = &deliver.Deliverer{Store: d.Store, Blobs: d.Blobs, Bus: e.bus, Limits: mime.Limits{MaxDepth: 20, MaxParts: 1000, MaxHeaderBytes: 1 << 20},
		InlineMax: d.Cfg.Storage.InlineMaxBytes}
	cfg := lmtp.Config{
		Store:           d.Store,
		Deliver:         e.dl,
		Logger:          testkit.Logger(),
		Hostname:        "mx.test",
		MaxMessageBytes: 64 << 20,
		LocalDomains:    []string{"localhost", "Example.COM"},
	}
	for _, o := range opts {
		o(&cfg, e)
	}
	e.srv = lmtp.New(cfg)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e.addr = ln.Addr().String()
	e.sock = filepath.Join(e.dir, "lmtp.sock")
	uln, err := net.Listen("unix", e.sock)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for _, l := range []net.Listener{ln, uln} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := e.srv.Serve(l); err != nil {
				t.Errorf("Serve: %v", err)
			}
		}()
	}
	// Registered after OpenData's: runs first, so the stores close
	// after the server has stopped.
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := e.srv.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		wg.Wait()
	})
	return e
}

// addUser creates an account with an INBOX and the extra mailboxes.
func (e *env) addUser(name string, mailboxes ...string) *store.Account {
	e.t.Helper()
	ctx := context.Background()
	acct, err := e.st.CreateAccount(ctx, name, []byte("not a real secret"))
	if err != nil {
		e.t.Fatal(err)
	}
	for _, mb := range append([]string{"INBOX"}, mailboxes...) {
		if _, _, err := e.st.CreateMailbox(ctx, acct.ID, mb, ""); err != nil && !errors.Is(err, store.ErrMailboxExists) {
			e.t.Fatal(err)
		}
	}
	return acct
}

// messages returns the stored bytes of every message in a mailbox, in
// UID order.
func (e *env) messages(acct *store.Account, mailbox string) []string {
	e.t.Helper()
	ctx := context.Background()
	mb, err := e.st.Mailbox(ctx, acct.ID, mailbox)
	if err != nil {
		e.t.Fatal(err)
	}
	_, uids, err := e.st.MessageUIDs(ctx, mb.ID)
	if err != nil {
		e.t.Fatal(err)
	}
	var out []string
	err = e.st.FetchMessages(ctx, mb.ID, uids, store.FieldBasics, func(m *store.Message) error {
		r, err := e.bs.Open(ctx, m.BlobID)
		if err != nil {
			return err
		}
		defer r.Close()
		b, err := io.ReadAll(io.NewSectionReader(r, 0, r.Size()))
		if err != nil {
			return err
		}
		if int64(len(b)) != m.Size {
			return fmt.Errorf("uid %d: blob has %d bytes, record says %d", m.UID, len(b), m.Size)
		}
		out = append(out, string(b))
		return nil
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return out
}

func (e *env) count(acct *store.Account, mailbox string) int {
	e.t.Helper()
	mb, err := e.st.Mailbox(context.Background(), acct.ID, mailbox)
	if err != nil {
		e.t.Fatal(err)
	}
	stt, err := e.st.MailboxStatus(context.Background(), mb.ID)
	if err != nil {
		e.t.Fatal(err)
	}
	return int(stt.Messages)
}

// dial opens a go-smtp LMTP client on the TCP listener.
func (e *env) dial() *smtp.Client {
	e.t.Helper()
	conn, err := net.Dial("tcp", e.addr)
	if err != nil {
		e.t.Fatal(err)
	}
	c := smtp.NewClientLMTP(conn)
	if err := c.Hello("client.test"); err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { c.Close() })
	return c
}

// raw opens a line-level LMTP conversation (testkit.SMTPConn) on the
// TCP listener or the unix socket, past the 220 greeting.
func (e *env) raw(network string) *testkit.SMTPConn {
	e.t.Helper()
	addr := e.addr
	if network == "unix" {
		addr = e.sock
	}
	c, err := net.Dial(network, addr)
	if err != nil {
		e.t.Fatal(err)
	}
	r := testkit.NewSMTPConn(e.t, c)
	r.Timeout = 20 * time.Second
	return r
}
