package managesieve_test

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"io"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"barid/internal/auth"
	"barid/internal/filter"
	"barid/internal/managesieve"
	"barid/internal/sieve"
	"barid/internal/store"
	"barid/internal/store/sqlite"
)

// fixture is a ManageSieve server on a fresh SQLite store.
type fixture struct {
	t     testing.TB
	st    *sqlite.Store
	auth  *auth.Authenticator
	srv   *managesieve.Server
	addr  string
	tlsOn bool
}

type option func(*managesieve.Config)

func withTLS(t testing.TB) option {
	return func(c *managesieve.Config) { c.TLS = testTLS(t) }
}

func startServer(t testing.TB, opts ...option) *fixture {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "barid.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	acfg := auth.DefaultConfig()
	acfg.Params = auth.Params{ArgonTime: 1, ArgonMemory: 64, ArgonThreads: 1, SCRAMIterations: 4096}
	acfg.FailureDelay = time.Millisecond
	acfg.MaxFailureDelay = 5 * time.Millisecond
	a := auth.New(auth.StoreAccounts{Store: st}, acfg, nil)
	var logger *slog.Logger
	if testing.Verbose() {
		logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	cfg := managesieve.Config{
		Store:   st,
		Scripts: &filter.Scripts{Store: st, Options: sieve.Options{MaxScriptSize: 2000}, MaxScripts: 3, MaxNameLength: 64},
		Auth:    a,
		Logger:  logger,
		Limits: managesieve.Limits{LineLength: 1000, LiteralSize: 10000, MaxScriptSize: 2000,
			CommandsBeforeLogin: 8, LoginTimeout: 5 * time.Second},
		Extensions:    sieve.Capabilities(),
		NotifyMethods: sieve.NotifyMethods(),
		MaxRedirects:  4,
	}
	for _, o := range opts {
		o(&cfg)
	}
	srv := managesieve.New(cfg)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	})
	return &fixture{t: t, st: st, auth: a, srv: srv, addr: ln.Addr().String(), tlsOn: cfg.TLS != nil}
}

func (f *fixture) addUser(name, pass string) *store.Account {
	f.t.Helper()
	sec, err := f.auth.NewSecret(pass)
	if err != nil {
		f.t.Fatal(err)
	}
	a, err := f.st.CreateAccount(context.Background(), name, sec)
	if err != nil {
		f.t.Fatal(err)
	}
	return a
}

// testTLS is a server configuration with a fresh self-signed
// certificate for 127.0.0.1.
func testTLS(t testing.TB) *tls.Config {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, DNSNames: []string{"localhost"}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
}

// client is a raw ManageSieve connection.
type client struct {
	t  testing.TB
	nc net.Conn
	br *bufio.Reader
}

func (f *fixture) dial() *client {
	f.t.Helper()
	nc, err := net.Dial("tcp", f.addr)
	if err != nil {
		f.t.Fatal(err)
	}
	f.t.Cleanup(func() { nc.Close() })
	nc.SetDeadline(time.Now().Add(20 * time.Second))
	return &client{t: f.t, nc: nc, br: bufio.NewReader(nc)}
}

func (c *client) send(s string) {
	c.t.Helper()
	if _, err := io.WriteString(c.nc, s); err != nil {
		c.t.Fatal(err)
	}
}

// readLine reads one response line; a literal-s2c "{N}" is followed by
// its N bytes, rendered on the same line with CR and LF escaped.
func (c *client) readLine() string {
	c.t.Helper()
	l, err := c.br.ReadString('\n')
	if err != nil {
		c.t.Fatalf("read: %v (got %q)", err, l)
	}
	l = strings.TrimRight(l, "\r\n")
	if m := regexp.MustCompile(`\{(\d+)\}$`).FindStringSubmatch(l); m != nil {
		n, _ := strconv.Atoi(m[1])
		buf := make([]byte, n)
		if _, err := io.ReadFull(c.br, buf); err != nil {
			c.t.Fatal(err)
		}
		rest := c.readLine()
		l += escape(string(buf)) + rest
	}
	return l
}

// response reads lines up to and including OK, NO or BYE.
func (c *client) response() []string {
	c.t.Helper()
	var out []string
	for {
		l := c.readLine()
		out = append(out, l)
		if strings.HasPrefix(l, "OK") || strings.HasPrefix(l, "NO") || strings.HasPrefix(l, "BYE") {
			return out
		}
	}
}

func escape(s string) string {
	return strings.NewReplacer("\\", "\\\\", "\r", `\r`, "\n", `\n`).Replace(s)
}

func unescape(s string) string {
	return strings.NewReplacer(`\\`, "\\", `\r`, "\r", `\n`, "\n").Replace(s)
}

// match compares a line with a pattern in which {{re}} segments are
// regular expressions and the rest is literal.
func match(pattern, line string) bool {
	var re strings.Builder
	re.WriteString("^")
	for {
		i := strings.Index(pattern, "{{")
		if i < 0 {
			re.WriteString(regexp.QuoteMeta(pattern))
			break
		}
		j := strings.Index(pattern[i:], "}}")
		if j < 0 {
			re.WriteString(regexp.QuoteMeta(pattern))
			break
		}
		re.WriteString(regexp.QuoteMeta(pattern[:i]))
		re.WriteString(pattern[i+2 : i+j])
		pattern = pattern[i+j+2:]
	}
	re.WriteString("$")
	ok, err := regexp.MatchString(re.String(), line)
	return err == nil && ok
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
