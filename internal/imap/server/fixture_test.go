package server

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"barid/internal/auth"
	"barid/internal/blob"
	"barid/internal/blob/fs"
	"barid/internal/deliver"
	"barid/internal/mail/mime"
	"barid/internal/notify"
	"barid/internal/store"
	"barid/internal/store/sqlite"
)

// storeFixture is a store, a blob folder and a change bus in a test's
// temporary folder, with one account (password "pw") and a deliverer,
// for tests that build a Server by hand rather than through the app.
type storeFixture struct {
	st    *sqlite.Store
	bs    *fs.Store
	bus   *notify.Bus
	inbox *store.Mailbox
	deliv *deliver.Deliverer
	// blobs, if set, is what serve gives the server instead of bs
	// (tiered blobs over the store, for messages kept inline).
	blobs blob.Store
}

func newStoreFixture(t testing.TB, account string) *storeFixture {
	t.Helper()
	return newStoreFixtureOpts(t, account, sqlite.Options{})
}

// newStoreFixtureOpts is newStoreFixture with the SQLite store's options.
//
// The fixture is SQLite whatever BARID_TEST_METADATA says, so a test
// built on it skips in the pass that runs this package again with
// BARID_TEST_METADATA=postgres (scripts/test): it ran, on the same
// store, in the SQLite pass, and only the harness's tests
// (testkit.OpenData) change store in the PostgreSQL pass.
func newStoreFixtureOpts(t testing.TB, account string, opts sqlite.Options) *storeFixture {
	t.Helper()
	// testkit.MetadataEnvVar (testkit imports this package, so it cannot
	// be imported here).
	if os.Getenv("BARID_TEST_METADATA") == "postgres" {
		t.Skip("SQLite-only fixture: this test ran in the SQLite pass; BARID_TEST_METADATA=postgres reruns only the tests whose store it changes")
	}
	ctx := context.Background()
	dir := t.TempDir()
	st, err := sqlite.Open(ctx, filepath.Join(dir, "db"), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	bs, err := fs.Open(filepath.Join(dir, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	secret, _ := auth.NewSecret("pw", auth.Params{ArgonTime: 1, ArgonMemory: 1024, ArgonThreads: 1, SCRAMIterations: 4096})
	acct, err := st.CreateAccount(ctx, account, secret)
	if err != nil {
		t.Fatal(err)
	}
	inbox, err := st.Mailbox(ctx, acct.ID, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	bus := notify.New()
	return &storeFixture{st: st, bs: bs, bus: bus, inbox: inbox,
		deliv: &deliver.Deliverer{Store: st, Blobs: bs, Bus: bus, Limits: mime.DefaultLimits()}}
}

// fixtureLimits are roomy limits for tests that do not test a limit.
var fixtureLimits = Limits{LineLength: 65536, LiteralSize: 1 << 20, NestingDepth: 64, CommandsBeforeLogin: 10,
	LoginTimeout: 5 * time.Second, Autologout: time.Hour, IdleKeepalive: time.Minute}

// serve starts a Server over the fixture on ln (a new loopback listener
// if nil), shut down with the test, and returns its address. cfg gives
// the rest of the configuration; Store, Bus and Auth are the fixture's,
// and so is Blobs unless cfg sets it (then f.blobs, else bs), and zero
// Limits mean fixtureLimits.
func (f *storeFixture) serve(t testing.TB, cfg Config, ln net.Listener) string {
	t.Helper()
	cfg.Store, cfg.Bus = f.st, f.bus
	if cfg.Blobs == nil {
		cfg.Blobs = f.bs
		if f.blobs != nil {
			cfg.Blobs = f.blobs
		}
	}
	cfg.Auth = auth.New(auth.StoreAccounts{Store: f.st}, auth.Config{}, nil)
	if cfg.Limits == (Limits{}) {
		cfg.Limits = fixtureLimits
	}
	if ln == nil {
		var err error
		if ln, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
			t.Fatal(err)
		}
	}
	srv := New(cfg)
	go srv.Serve(ln, false)
	t.Cleanup(func() { srv.Shutdown(context.Background()) })
	return ln.Addr().String()
}
