package testkit

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"barid/internal/app"
	"barid/internal/auth"
	"barid/internal/config"
	"barid/internal/store"
	"barid/internal/store/postgres/pgtest"
)

// CheapParams keep argon2id fast under -race; production uses
// auth.DefaultParams.
var CheapParams = auth.Params{ArgonTime: 1, ArgonMemory: 1024, ArgonThreads: 1, SCRAMIterations: 4096}

// Server is a whole barid running in this process on loopback, wired as
// `barid serve` wires it (app.New, Listen, Run).
type Server struct {
	T       testing.TB
	Addr    string // plain IMAP (STARTTLS offered; plaintext LOGIN allowed from loopback)
	TLSAddr string // implicit TLS, "" when the option turned it off
	Dir     string // data folder
	App     *app.App
	Cfg     config.Config
	Logs    *LogBuffer // everything the server logged
	// POP3Addr and POP3TLSAddr are the POP3 listeners (STLS and
	// implicit TLS), "" unless WithPOP3 turned them on.
	POP3Addr, POP3TLSAddr string
	// SubmissionAddr and SubmissionsAddr are the submission listeners
	// (587-style STARTTLS, 465-style TLS), "" unless WithSubmission.
	SubmissionAddr, SubmissionsAddr string

	// Nodes are the barid nodes behind the addresses above: App alone,
	// or App (node A) and node B in the two-node mode of
	// ClusterEnvVar.
	Nodes []*app.App

	addrs      map[string]string
	stops      []func() // one a node
	frontStops []*front
	once       sync.Once
}

// Option changes the configuration before the server starts.
type Option func(*config.Config)

// WithoutTLSListener turns the implicit-TLS listener off.
func WithoutTLSListener() Option { return func(c *config.Config) { c.IMAP.ListenTLS = "" } }

// WithPOP3 turns on the POP3 listeners (STLS and implicit TLS) on
// 127.0.0.1 ephemeral ports.
func WithPOP3() Option {
	return func(c *config.Config) { c.POP3.Listen, c.POP3.ListenTLS = "127.0.0.1:0", "127.0.0.1:0" }
}

// WithLogLevel sets the server's log level (default "error").
func WithLogLevel(l string) Option { return func(c *config.Config) { c.LogLevel = l } }

// WithConfig replaces the whole configuration with cfg (a test that
// builds its own, e.g. with LMTP listeners).
func WithConfig(cfg config.Config) Option { return func(c *config.Config) { *c = cfg } }

// WithMetadata selects the metadata store by URL ([storage] metadata):
// "" for SQLite in the data folder, or a postgres:// URL.
func WithMetadata(url string) Option { return func(c *config.Config) { c.Storage.Metadata = url } }

// WithPostgres runs the server on a fresh PostgreSQL database of its own
// (pgtest.Database, dropped when the test ends); it skips the test when
// BARID_TEST_POSTGRES is unset.
func WithPostgres(t testing.TB) Option {
	t.Helper()
	return WithMetadata(pgtest.Database(t))
}

// MetadataEnvVar, set to "postgres", makes every server the kit starts
// (and every harness that calls ApplyMetadataEnv) use a fresh PostgreSQL
// database instead of SQLite, so whole suites run against PostgreSQL:
//
//	BARID_TEST_METADATA=postgres go test ./internal/e2e/...
//
// It needs BARID_TEST_POSTGRES (pgtest); without it the tests skip.
const MetadataEnvVar = "BARID_TEST_METADATA"

// WALSyncEnvVar runs the servers the kit starts with the given
// [storage] wal_sync ("syncer" or "commit"), unless the test chose one
// itself, so the whole-server suites can be run in both modes (the
// default is "syncer"):
//
//	BARID_TEST_WAL_SYNC=commit go test ./internal/imap/server/ ./internal/e2e/
const WALSyncEnvVar = "BARID_TEST_WAL_SYNC"

// envDBs maps data folders to the databases ApplyMetadataEnv made.
var envDBs = struct {
	sync.Mutex
	byDir map[string]string
}{byDir: map[string]string{}}

// ApplyMetadataEnv points cfg at a fresh PostgreSQL database when
// MetadataEnvVar says so, unless the test chose a metadata store itself.
// A server started again on the same data folder (a restart test) gets
// the same database back.
func ApplyMetadataEnv(t testing.TB, cfg *config.Config) {
	t.Helper()
	switch v := os.Getenv(MetadataEnvVar); v {
	case "", "sqlite":
	case "postgres":
		if cfg.Storage.Metadata != "" {
			return
		}
		envDBs.Lock()
		defer envDBs.Unlock()
		u, ok := envDBs.byDir[cfg.DataDir]
		if !ok {
			u = pgtest.Database(t)
			envDBs.byDir[cfg.DataDir] = u
		}
		cfg.Storage.Metadata = u
	default:
		t.Fatalf("%s=%q: want sqlite or postgres", MetadataEnvVar, v)
	}
}

// WithSubmission turns on both submission listeners on 127.0.0.1
// ephemeral ports, relaying to relay ("" leaves it unset).
func WithSubmission(relay string) Option {
	return func(c *config.Config) {
		c.Submission.Listen, c.Submission.ListenTLS = "127.0.0.1:0", "127.0.0.1:0"
		c.Submission.Relay = relay
	}
}

// Start runs barid on a fresh data folder in t.TempDir(), with IMAP and
// IMAPS on 127.0.0.1 ephemeral ports and short login-failure delays. The
// server stops when the test ends. Its metadata is in SQLite, or in
// PostgreSQL with WithPostgres or BARID_TEST_METADATA=postgres.
func Start(t testing.TB, opts ...Option) *Server {
	t.Helper()
	return StartAt(t, t.TempDir(), opts...)
}

// StartAt is Start on an existing data folder (a restart test reopens
// the folder of a stopped server).
func StartAt(t testing.TB, dir string, opts ...Option) *Server {
	t.Helper()
	return StartLog(t, dir, nil, opts...)
}

// StartLog is StartAt with the server's log sent to h as well as to
// Logs (nil: Logs only, and stderr with BARID_TEST_LOG set).
func StartLog(t testing.TB, dir string, h slog.Handler, opts ...Option) *Server {
	t.Helper()
	cfg := config.Default()
	cfg.DataDir = dir
	cfg.IMAP.Listen = "127.0.0.1:0"
	cfg.IMAP.ListenTLS = "127.0.0.1:0"
	cfg.Auth.FailureDelay = config.Duration{Duration: 5 * time.Millisecond}
	cfg.Auth.MaxFailureDelay = config.Duration{Duration: 20 * time.Millisecond}
	cfg.LogLevel = "error"
	for _, o := range opts {
		o(&cfg)
	}
	if v := os.Getenv(WALSyncEnvVar); v != "" && cfg.Storage.WALSync == config.Default().Storage.WALSync {
		cfg.Storage.WALSync = v
	}
	cl := applyClusterEnv(t, &cfg)
	ApplyMetadataEnv(t, &cfg)
	verbose := os.Getenv("BARID_TEST_LOG") != ""
	if verbose {
		cfg.LogLevel = "trace"
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	logs := &LogBuffer{}
	var w io.Writer = logs
	if verbose {
		w = io.MultiWriter(logs, os.Stderr)
	}
	var handler slog.Handler = slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug})
	if h != nil {
		handler = teeHandler{handler, h}
	}
	s := &Server{T: t, Dir: dir, Cfg: cfg, Logs: logs}
	t.Cleanup(s.Stop)
	a := s.startNode(cfg, slog.New(handler))
	s.App, s.Nodes = a, []*app.App{a}
	addrs := a.Addrs()
	if cl != nil {
		// Node B: the same database and bucket, its own data folder,
		// node A's certificate (one name behind one front), its log
		// lines in the same buffer marked node=B.
		cfgB := cfg
		cfgB.DataDir = cl.dirB
		if cfgB.TLS.CertFile == "" && len(cfgB.TLS.ACMEDomains) == 0 {
			cfgB.TLS.CertFile, cfgB.TLS.KeyFile = s.CertFile(), filepath.Join(dir, "tls", "key.pem")
		}
		s.Nodes = []*app.App{a, s.startNode(cfgB, slog.New(handler).With("node", "B"))}
		addrs = s.startFronts(s.Nodes)
	}
	s.addrs = addrs
	s.Addr, s.TLSAddr = addrs["imap"], addrs["imaps"]
	s.POP3Addr, s.POP3TLSAddr = addrs["pop3"], addrs["pop3s"]
	s.SubmissionAddr, s.SubmissionsAddr = addrs["submission"], addrs["submissions"]
	return s
}

// startNode runs one barid (app.New, Listen, Run) until Stop.
func (s *Server) startNode(cfg config.Config, log *slog.Logger) *app.App {
	t := s.T
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	a, err := app.New(ctx, cfg, log)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if err := a.Listen(); err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := a.Run(ctx); err != nil {
			t.Errorf("server run: %v", err)
		}
	}()
	s.stops = append(s.stops, func() {
		cancel()
		select {
		case <-done:
		case <-time.After(40 * time.Second):
			t.Errorf("server did not shut down within 40s")
		}
	})
	return a
}

// Addrs are the addresses clients dial, by listener name (as
// app.App.Addrs): the node's own, or the fronts in the two-node mode.
func (s *Server) Addrs() map[string]string { return s.addrs }

// Stop shuts the server (every node, and the fronts) down and waits for
// it (at most 40 s a node); it is safe to call more than once.
func (s *Server) Stop() {
	s.once.Do(func() {
		// The fronts take no new connection; the nodes stop at once
		// (each says BYE through the fronts); the fronts cut what is
		// left.
		for _, f := range s.frontStops {
			f.ln.Close()
		}
		var wg sync.WaitGroup
		for _, stop := range s.stops {
			wg.Go(stop)
		}
		wg.Wait()
		for _, f := range s.frontStops {
			f.close()
		}
	})
}

// Store is the server's metadata store.
func (s *Server) Store() store.Store { return s.App.Data().Store }

// AddUser creates an account with the default mailboxes (INBOX, Sent,
// Drafts, Trash, Junk, Archive).
func (s *Server) AddUser(name, password string) *store.Account {
	s.T.Helper()
	acct, err := app.CreateAccountWith(context.Background(), s.Store(), name, password, CheapParams)
	if err != nil {
		s.T.Fatal(err)
	}
	return acct
}

// CertFile is the server's generated self-signed certificate.
func (s *Server) CertFile() string { return filepath.Join(s.Dir, "tls", "cert.pem") }

// TLSConfig trusts exactly the server's self-signed certificate.
func (s *Server) TLSConfig() *tls.Config {
	s.T.Helper()
	pem, err := os.ReadFile(s.CertFile())
	if err != nil {
		s.T.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		s.T.Fatal("no certificate in " + s.CertFile())
	}
	return &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}
}

// LogBuffer collects a server's log so a test can look for a line (a
// "command failed" line means a client got NO [SERVERBUG]).
type LogBuffer struct {
	mu  sync.Mutex
	buf []byte
}

func (b *LogBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	b.buf = append(b.buf, p...)
	b.mu.Unlock()
	return len(p), nil
}

func (b *LogBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}

// teeHandler sends every record to two handlers.
type teeHandler struct{ a, b slog.Handler }

func (h teeHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.a.Enabled(ctx, l) || h.b.Enabled(ctx, l)
}

func (h teeHandler) Handle(ctx context.Context, r slog.Record) error {
	if h.a.Enabled(ctx, r.Level) {
		if err := h.a.Handle(ctx, r.Clone()); err != nil {
			return err
		}
	}
	if h.b.Enabled(ctx, r.Level) {
		return h.b.Handle(ctx, r)
	}
	return nil
}

func (h teeHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return teeHandler{h.a.WithAttrs(as), h.b.WithAttrs(as)}
}

func (h teeHandler) WithGroup(n string) slog.Handler {
	return teeHandler{h.a.WithGroup(n), h.b.WithGroup(n)}
}

// Logger is a logger for code a test runs outside a Server (a delivery
// command, a store opened by hand): silent, or verbose on stderr with
// BARID_TEST_LOG set.
func Logger() *slog.Logger {
	var w io.Writer = io.Discard
	if os.Getenv("BARID_TEST_LOG") != "" {
		w = os.Stderr
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}
