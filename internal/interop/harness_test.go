package interop

import (
	"crypto/tls"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"

	"barid/internal/app"
	"barid/internal/testkit"
)

// server is a full barid (SQLite + blob files + IMAP) on loopback, the
// same wiring as `barid serve`: a testkit.Server with the fields these
// tests use.
type server struct {
	*testkit.Server
	t       testing.TB
	addr    string // plain IMAP (STARTTLS; plaintext LOGIN allowed from loopback)
	tlsAddr string // implicit TLS (IMAPS)
	dataDir string
	app     *app.App
}

func startServer(t testing.TB) *server {
	t.Helper()
	ks := testkit.Start(t)
	return &server{Server: ks, t: t, addr: ks.Addr, tlsAddr: ks.TLSAddr, dataDir: ks.Dir, app: ks.App}
}

// addUser creates an account with the default mailboxes (INBOX, Sent,
// Drafts, Trash, Junk, Archive).
func (s *server) addUser(name, password string) { s.AddUser(name, password) }

// certFile is barid's generated self-signed certificate.
func (s *server) certFile() string { return s.CertFile() }

// tlsConfig pins barid's self-signed certificate.
func (s *server) tlsConfig() *tls.Config { return s.TLSConfig() }

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
func needBinary(t *testing.T, bin, pkg string) string { return testkit.NeedBinary(t, bin, pkg) }

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
	return testkit.Run(t, timeout, dir, name, args...)
}

func runErr(timeout time.Duration, dir string, name string, args ...string) (string, error) {
	return testkit.RunErr(timeout, dir, name, args...)
}
