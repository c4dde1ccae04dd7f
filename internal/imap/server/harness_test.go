package server_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"barid/internal/app"
	"barid/internal/auth"
	"barid/internal/config"
	"barid/internal/store"
	"barid/internal/testkit"
)

// testServer is a full barid (SQLite + blob files + IMAP) on loopback.
type testServer struct {
	t       testing.TB
	addr    string // plain IMAP (STARTTLS)
	tlsAddr string // implicit TLS
	dataDir string
	app     *app.App
	cancel  context.CancelFunc
	done    chan struct{}
	cfg     config.Config
}

// cheapParams keep argon2id fast under -race; production uses
// auth.DefaultParams.
var cheapParams = auth.Params{ArgonTime: 1, ArgonMemory: 1024, ArgonThreads: 1, SCRAMIterations: 4096}

type serverOpt func(*config.Config)

func startServer(t testing.TB, opts ...serverOpt) *testServer {
	t.Helper()
	dir := t.TempDir()
	return startServerAt(t, dir, opts...)
}

func startServerAt(t testing.TB, dir string, opts ...serverOpt) *testServer {
	t.Helper()
	return startServerLog(t, dir, nil, opts...)
}

// startServerLog starts a server whose log goes to h (nil: discarded,
// or stderr with BARID_TEST_LOG set).
func startServerLog(t testing.TB, dir string, h slog.Handler, opts ...serverOpt) *testServer {
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
	testkit.ApplyMetadataEnv(t, &cfg) // BARID_TEST_METADATA=postgres
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	var logw io.Writer = io.Discard
	if os.Getenv("BARID_TEST_LOG") != "" {
		logw = os.Stderr
		cfg.LogLevel = "trace"
	}
	if h == nil {
		h = slog.NewTextHandler(logw, &slog.HandlerOptions{Level: slog.LevelDebug})
	}
	logger := slog.New(h)
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
	ts := &testServer{t: t, dataDir: dir, app: a, cancel: cancel, done: make(chan struct{}), cfg: cfg}
	addrs := a.Addrs()
	ts.addr, ts.tlsAddr = addrs["imap"], addrs["imaps"]
	go func() {
		defer close(ts.done)
		if err := a.Run(ctx); err != nil {
			t.Errorf("server run: %v", err)
		}
	}()
	t.Cleanup(ts.stop)
	return ts
}

func (ts *testServer) stop() {
	ts.cancel()
	<-ts.done
}

// addUser creates an account with default mailboxes.
func (ts *testServer) addUser(name, password string) *store.Account {
	ts.t.Helper()
	acct, err := app.CreateAccountWith(context.Background(), ts.app.Data().Store, name, password, cheapParams)
	if err != nil {
		ts.t.Fatal(err)
	}
	return acct
}

// rawConn is a line-oriented raw IMAP client for transcript tests.
type rawConn struct {
	t  testing.TB
	nc net.Conn
	br *bufio.Reader
}

func (ts *testServer) dial() *rawConn {
	ts.t.Helper()
	nc, err := net.DialTimeout("tcp", ts.addr, 5*time.Second)
	if err != nil {
		ts.t.Fatal(err)
	}
	c := &rawConn{t: ts.t, nc: nc, br: bufio.NewReader(nc)}
	ts.t.Cleanup(func() { nc.Close() })
	greeting := c.readLine()
	if !strings.HasPrefix(greeting, "* OK ") {
		ts.t.Fatalf("greeting: %q", greeting)
	}
	return c
}

func (ts *testServer) dialTLS() *rawConn {
	ts.t.Helper()
	nc, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", ts.tlsAddr, &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		ts.t.Fatal(err)
	}
	c := &rawConn{t: ts.t, nc: nc, br: bufio.NewReader(nc)}
	ts.t.Cleanup(func() { nc.Close() })
	if g := c.readLine(); !strings.HasPrefix(g, "* OK ") {
		ts.t.Fatalf("greeting: %q", g)
	}
	return c
}

func (c *rawConn) send(s string) {
	c.t.Helper()
	c.nc.SetWriteDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c.nc, s); err != nil {
		c.t.Fatalf("write %q: %v", s, err)
	}
}

// readLine reads one response line. A line ending in a literal {N} gets
// the literal bytes and the rest of the line appended, with the literal
// shown as {N}\n<bytes> so transcripts stay readable.
func (c *rawConn) readLine() string {
	c.t.Helper()
	c.nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	var out strings.Builder
	for {
		line, err := c.br.ReadString('\n')
		if err != nil {
			c.t.Fatalf("read: %v (got %q)", err, out.String()+line)
		}
		line = strings.TrimSuffix(line, "\r\n")
		out.WriteString(line)
		n, ok := literalSuffix(line)
		if !ok {
			return out.String()
		}
		buf := make([]byte, n)
		if _, err := io.ReadFull(c.br, buf); err != nil {
			c.t.Fatalf("read literal: %v", err)
		}
		out.WriteString("\n")
		out.Write(buf)
	}
}

// literalSuffix reports whether line ends in a literal announcement
// "{n}" (or "~{n}") and returns n. Hand-written rather than a regular
// expression: the backtracking matcher cost more than the server in the
// Bigbox benchmarks, whose lines are long.
func literalSuffix(line string) (int, bool) {
	if !strings.HasSuffix(line, "}") {
		return 0, false
	}
	open := strings.LastIndexByte(line, '{')
	if open < 0 || open+2 > len(line)-1 {
		return 0, false
	}
	digits := line[open+1 : len(line)-1]
	for i := 0; i < len(digits); i++ {
		if digits[i] < '0' || digits[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.Atoi(digits)
	return n, err == nil
}

// cmd sends "tag command\r\n" and returns every line up to and including
// the tagged completion.
func (c *rawConn) cmd(tag, command string) []string {
	c.t.Helper()
	c.send(tag + " " + command + "\r\n")
	return c.until(tag)
}

func (c *rawConn) until(tag string) []string {
	c.t.Helper()
	var lines []string
	for {
		l := c.readLine()
		lines = append(lines, l)
		if strings.HasPrefix(l, tag+" ") {
			return lines
		}
	}
}

// expectOK runs a command and fails unless it completes with OK.
func (c *rawConn) expectOK(tag, command string) []string {
	c.t.Helper()
	lines := c.cmd(tag, command)
	if last := lines[len(lines)-1]; !strings.HasPrefix(last, tag+" OK") {
		c.t.Fatalf("%s %s: %q", tag, command, lines)
	}
	return lines
}

func (c *rawConn) login(user, pass string) {
	c.t.Helper()
	c.expectOK("L1", fmt.Sprintf("LOGIN %s %s", quote(user), quote(pass)))
}

func quote(s string) string {
	return `"` + strings.ReplaceAll(strings.ReplaceAll(s, `\`, `\\`), `"`, `\"`) + `"`
}

// hasLine reports whether some line matches the regular expression.
func hasLine(lines []string, re string) bool {
	r := regexp.MustCompile(re)
	for _, l := range lines {
		if r.MatchString(l) {
			return true
		}
	}
	return false
}

func mustHave(t testing.TB, lines []string, re string) {
	t.Helper()
	if !hasLine(lines, re) {
		t.Fatalf("no line matches %q in:\n%s", re, strings.Join(lines, "\n"))
	}
}

func mustNotHave(t testing.TB, lines []string, re string) {
	t.Helper()
	if hasLine(lines, re) {
		t.Fatalf("a line matches %q in:\n%s", re, strings.Join(lines, "\n"))
	}
}

func splitHostPort(t *testing.T, addr string) (string, string) {
	t.Helper()
	h, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	return h, p
}
