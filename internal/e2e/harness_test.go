package e2e

import (
	"context"
	"testing"

	"barid/internal/app"
	"barid/internal/config"
	"barid/internal/store"
	"barid/internal/testkit"
)

// server is a whole barid (SQLite + blob files + IMAP) running in this
// process on loopback: a testkit.Server with the fields these tests use.
type server struct {
	*testkit.Server
	t    testing.TB
	addr string
	dir  string
	app  *app.App
	logs *testkit.LogBuffer
}

// cheapParams keep argon2id cheap under -race; production uses
// auth.DefaultParams.
var cheapParams = testkit.CheapParams

// startServer starts barid on a fresh data folder with IMAP (no TLS
// listener) on 127.0.0.1, trusting loopback and with high connection
// limits, unless opts change it.
func startServer(t testing.TB, opts ...func(*config.Config)) *server {
	t.Helper()
	kopts := []testkit.Option{testkit.WithoutTLSListener(), testkit.WithLogLevel("info"), func(c *config.Config) {
		c.Auth.TrustedNetworks = []string{"127.0.0.0/8"}
		c.Limits.MaxConnsPerUser = 1000
		c.Limits.MaxConnsPerIP = 1000
	}}
	for _, o := range opts {
		kopts = append(kopts, o)
	}
	ks := testkit.Start(t, kopts...)
	return &server{Server: ks, t: t, addr: ks.Addr, dir: ks.Dir, app: ks.App, logs: ks.Logs}
}


// addUser creates an account with the default mailboxes.
func (s *server) addUser(name, password string) *store.Account { return s.AddUser(name, password) }

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
func testMessage(subject string) string { return testkit.Message(subject) }

type configT = config.Config
