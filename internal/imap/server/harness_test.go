package server_test

import (
	"bufio"
	"log/slog"
	"net"
	"testing"

	"barid/internal/app"
	"barid/internal/config"
	"barid/internal/store"
	"barid/internal/testkit"
)

// testServer is a full barid (SQLite + blob files + IMAP) on loopback:
// a testkit.Server with the names these tests use.
type testServer struct {
	*testkit.Server
	t       testing.TB
	addr    string // plain IMAP (STARTTLS)
	tlsAddr string // implicit TLS
	dataDir string
	app     *app.App
	cfg     config.Config
}

type serverOpt = testkit.Option

func startServer(t testing.TB, opts ...serverOpt) *testServer {
	t.Helper()
	return startServerAt(t, t.TempDir(), opts...)
}

func startServerAt(t testing.TB, dir string, opts ...serverOpt) *testServer {
	t.Helper()
	return startServerLog(t, dir, nil, opts...)
}

// startServerLog starts a server whose log also goes to h (nil: only
// the kit's buffer, or stderr with BARID_TEST_LOG set).
func startServerLog(t testing.TB, dir string, h slog.Handler, opts ...serverOpt) *testServer {
	t.Helper()
	ks := testkit.StartLog(t, dir, h, opts...)
	return &testServer{Server: ks, t: t, addr: ks.Addr, tlsAddr: ks.TLSAddr, dataDir: ks.Dir, app: ks.App, cfg: ks.Cfg}
}

func (ts *testServer) stop() { ts.Stop() }

// addUser creates an account with default mailboxes.
func (ts *testServer) addUser(name, password string) *store.Account {
	return ts.AddUser(name, password)
}

// rawConn is the kit's raw line client under the names these tests use.
// nc and br may be replaced (COMPRESS, STARTTLS tests wrap the socket);
// every call hands the current pair to the kit's client.
type rawConn struct {
	k  *testkit.Conn
	t  testing.TB
	nc net.Conn
	br *bufio.Reader
}

func wrapConn(k *testkit.Conn) *rawConn { return &rawConn{k: k, t: k.T, nc: k.NC, br: k.BR} }

// newRawConn wraps a connection the test dialled itself and reads the
// greeting.
func newRawConn(t testing.TB, nc net.Conn) *rawConn {
	t.Helper()
	return wrapConn(testkit.NewConn(t, nc))
}

func (c *rawConn) kit() *testkit.Conn {
	c.k.NC, c.k.BR = c.nc, c.br
	return c.k
}

func (ts *testServer) dial() *rawConn {
	ts.t.Helper()
	return wrapConn(ts.Dial())
}

func (ts *testServer) dialTLS() *rawConn {
	ts.t.Helper()
	return wrapConn(ts.DialTLS())
}

func (c *rawConn) send(s string) {
	c.t.Helper()
	c.kit().Send(s)
}

// readLine reads one response line; a literal's bytes follow its {N}
// after a newline (testkit.Conn.ReadLine).
func (c *rawConn) readLine() string {
	c.t.Helper()
	return c.kit().ReadLine()
}

// literalSuffix reports whether line ends in a literal announcement.
func literalSuffix(line string) (int, bool) { return testkit.LiteralSuffix(line) }

// cmd sends "tag command\r\n" and returns every line up to and including
// the tagged completion.
func (c *rawConn) cmd(tag, command string) []string {
	c.t.Helper()
	return c.kit().Cmd(tag, command)
}

func (c *rawConn) until(tag string) []string {
	c.t.Helper()
	return c.kit().Until(tag)
}

// expectOK runs a command and fails unless it completes with OK.
func (c *rawConn) expectOK(tag, command string) []string {
	c.t.Helper()
	return c.kit().ExpectOK(tag, command)
}

func (c *rawConn) login(user, pass string) {
	c.t.Helper()
	c.kit().Login(user, pass)
}

func mustHave(t testing.TB, lines []string, re string) {
	t.Helper()
	testkit.MustHave(t, lines, re)
}

func mustNotHave(t testing.TB, lines []string, re string) {
	t.Helper()
	testkit.MustNotHave(t, lines, re)
}

func splitHostPort(t *testing.T, addr string) (string, string) {
	t.Helper()
	h, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	return h, p
}
