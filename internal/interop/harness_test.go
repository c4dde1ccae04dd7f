package interop

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"barid/internal/app"
	"barid/internal/auth"
	"barid/internal/config"
)

// server is a full barid (SQLite + blob files + IMAP) on loopback, the
// same wiring as `barid serve` (app.New, Listen, Run).
type server struct {
	t       testing.TB
	addr    string // plain IMAP (STARTTLS; plaintext LOGIN allowed from loopback)
	tlsAddr string // implicit TLS (IMAPS)
	dataDir string
	app     *app.App
	cancel  context.CancelFunc
	done    chan struct{}
}

// cheapParams keep argon2id fast under -race; production uses
// auth.DefaultParams.
var cheapParams = auth.Params{ArgonTime: 1, ArgonMemory: 1024, ArgonThreads: 1, SCRAMIterations: 4096}

func startServer(t testing.TB) *server {
	t.Helper()
	dir := t.TempDir()
	cfg := config.Default()
	cfg.DataDir = dir
	cfg.IMAP.Listen = "127.0.0.1:0"
	cfg.IMAP.ListenTLS = "127.0.0.1:0"
	cfg.Auth.FailureDelay = config.Duration{Duration: 5 * time.Millisecond}
	cfg.Auth.MaxFailureDelay = config.Duration{Duration: 20 * time.Millisecond}
	cfg.LogLevel = "error"
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	var logw io.Writer = io.Discard
	if os.Getenv("BARID_TEST_LOG") != "" {
		logw = os.Stderr
		cfg.LogLevel = "trace"
	}
	logger := slog.New(slog.NewTextHandler(logw, &slog.HandlerOptions{Level: slog.LevelDebug}))
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
	s := &server{t: t, dataDir: dir, app: a, cancel: cancel, done: make(chan struct{})}
	addrs := a.Addrs()
	s.addr, s.tlsAddr = addrs["imap"], addrs["imaps"]
	go func() {
		defer close(s.done)
		if err := a.Run(ctx); err != nil {
			t.Errorf("server run: %v", err)
		}
	}()
	t.Cleanup(func() {
		s.cancel()
		<-s.done
	})
	return s
}

// addUser creates an account with the default mailboxes (INBOX, Sent,
// Drafts, Trash, Junk, Archive).
func (s *server) addUser(name, password string) {
	s.t.Helper()
	if _, err := app.CreateAccountWith(context.Background(), s.app.Data().Store, name, password, cheapParams); err != nil {
		s.t.Fatal(err)
	}
}

// certFile is barid's generated self-signed certificate.
func (s *server) certFile() string { return filepath.Join(s.dataDir, "tls", "cert.pem") }

// tlsConfig pins barid's self-signed certificate.
func (s *server) tlsConfig() *tls.Config {
	s.t.Helper()
	pem, err := os.ReadFile(s.certFile())
	if err != nil {
		s.t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		s.t.Fatal("no certificate in " + s.certFile())
	}
	return &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}
}

func hostPort(t testing.TB, addr string) (string, string) {
	t.Helper()
	h, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	return h, p
}

// needBinary returns the path of a client binary or skips the test,
// naming the binary and the Debian package .ci/run installs it from.
func needBinary(t *testing.T, bin, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(bin)
	if err != nil {
		t.Skipf("%s not installed (Debian package %q, installed by .ci/run): %s interop test skipped", bin, pkg, bin)
	}
	return p
}

// clientVersion runs the binary with args and returns the first line of
// its output that contains want (case-insensitive), for t.Logf and
// docs/clients.md.
func clientVersion(t *testing.T, bin, want string, args ...string) string {
	t.Helper()
	out, _ := exec.Command(bin, args...).CombinedOutput()
	for l := range strings.Lines(string(out)) {
		if strings.Contains(strings.ToLower(l), strings.ToLower(want)) {
			return strings.TrimSpace(l)
		}
	}
	return strings.TrimSpace(string(out))
}

// run runs a client command with a deadline and returns its combined
// output; a non-zero exit fails the test with the output.
func run(t *testing.T, timeout time.Duration, dir string, name string, args ...string) string {
	t.Helper()
	out, err := runErr(timeout, dir, name, args...)
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return out
}

func runErr(timeout time.Duration, dir string, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "HOME="+dir, "LC_ALL=C.UTF-8")
	out, err := cmd.CombinedOutput()
	return string(out), err
}
