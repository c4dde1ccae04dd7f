package lmtp_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"barid/internal/blob"
	"barid/internal/blob/fs"
	"barid/internal/blob/tiered"
	"barid/internal/deliver"
	"barid/internal/lmtp"
	"barid/internal/mail/mime"
	"barid/internal/notify"
	"barid/internal/store"
	"barid/internal/store/sqlite"
)

// env is an LMTP server on the embedded backends (SQLite + blob files in
// t.TempDir()), listening on loopback TCP and on a unix socket.
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
	dir := t.TempDir()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(dir, "barid.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	bs, err := fs.Open(filepath.Join(dir, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	// As internal/app wires it: messages up to 64 KiB (the default
	// inline_max_bytes) inside barid.db, reads through blob/tiered.
	tb := tiered.New(st, bs)
	e := &env{t: t, dir: dir, st: st, bs: tb, bus: notify.New()}
	e.dl = &deliver.Deliverer{Store: st, Blobs: tb, Bus: e.bus, Limits: mime.Limits{MaxDepth: 20, MaxParts: 1000, MaxHeaderBytes: 1 << 20},
		InlineMax: 64 << 10}
	var logw io.Writer = io.Discard
	if os.Getenv("BARID_TEST_LOG") != "" {
		logw = os.Stderr
	}
	cfg := lmtp.Config{
		Store:           st,
		Deliver:         e.dl,
		Logger:          slog.New(slog.NewTextHandler(logw, &slog.HandlerOptions{Level: slog.LevelDebug})),
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
	e.sock = filepath.Join(dir, "lmtp.sock")
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
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := e.srv.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		wg.Wait()
		st.Close()
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

// raw is a line-level LMTP conversation for transcript tests.
type raw struct {
	t testing.TB
	c net.Conn
	r *bufio.Reader
}

func (e *env) raw(network string) *raw {
	e.t.Helper()
	addr := e.addr
	if network == "unix" {
		addr = e.sock
	}
	c, err := net.Dial(network, addr)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(20 * time.Second))
	r := &raw{t: e.t, c: c, r: bufio.NewReader(c)}
	if g := r.reply(); !strings.HasPrefix(g[0], "220 ") {
		e.t.Fatalf("greeting %q", g)
	}
	return r
}

func (r *raw) send(s string) {
	r.t.Helper()
	if _, err := io.WriteString(r.c, s); err != nil {
		r.t.Fatal(err)
	}
}

// reply reads one (possibly multi-line) reply.
func (r *raw) reply() []string {
	r.t.Helper()
	var lines []string
	for {
		l, err := r.r.ReadString('\n')
		if err != nil {
			r.t.Fatalf("reading reply after %q: %v", lines, err)
		}
		l = strings.TrimRight(l, "\r\n")
		lines = append(lines, l)
		if len(l) < 4 || l[3] != '-' {
			return lines
		}
	}
}

// line reads one single-line reply.
func (r *raw) line() string {
	r.t.Helper()
	l := r.reply()
	return l[len(l)-1]
}
