package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha1"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"barid/internal/store"
)

// ldapEnv is the slapd that scripts/ci-ldap started.
type ldapEnv struct {
	url, urls, ca      string
	admin, password    string
	base               string // this test's own ou=…
	reader, readerPass string
}

// SSHA computes an RFC 2307 {SSHA} value, as slappasswd writes.
func testSSHA(pw string) string {
	salt := make([]byte, 8)
	rand.Read(salt)
	h := sha1.Sum(append([]byte(pw), salt...))
	return "{SSHA}" + base64.StdEncoding.EncodeToString(append(h[:], salt...))
}

// newLDAPEnv makes a fresh ou for the test under the suffix, or skips
// when BARID_TEST_LDAP is not set (CI sets it: scripts/ci-ldap).
func newLDAPEnv(t *testing.T) *ldapEnv {
	t.Helper()
	url := os.Getenv("BARID_TEST_LDAP")
	if url == "" {
		t.Skip("BARID_TEST_LDAP not set: no OpenLDAP server (start one with: . scripts/ci-ldap)")
	}
	suffix := os.Getenv("BARID_TEST_LDAP_BASE")
	e := &ldapEnv{url: url, urls: os.Getenv("BARID_TEST_LDAPS"), ca: os.Getenv("BARID_TEST_LDAP_CA"),
		admin: os.Getenv("BARID_TEST_LDAP_ADMIN"), password: os.Getenv("BARID_TEST_LDAP_PASSWORD"),
		reader: "cn=reader," + suffix, readerPass: os.Getenv("BARID_TEST_LDAP_PASSWORD")}
	b := make([]byte, 6)
	rand.Read(b)
	ou := "t" + hex.EncodeToString(b)
	e.base = "ou=" + ou + "," + suffix
	e.add(t, e.base, map[string][]string{"objectClass": {"organizationalUnit"}, "ou": {ou}})
	return e
}

func (e *ldapEnv) conn(t *testing.T) *ldap.Conn {
	t.Helper()
	c, err := ldap.DialURL(e.url)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Bind(e.admin, e.password); err != nil {
		t.Fatal(err)
	}
	return c
}

func (e *ldapEnv) add(t *testing.T, dn string, attrs map[string][]string) {
	t.Helper()
	c := e.conn(t)
	defer c.Close()
	req := ldap.NewAddRequest(dn, nil)
	for k, v := range attrs {
		req.Attribute(k, v)
	}
	if err := c.Add(req); err != nil {
		t.Fatalf("add %s: %v", dn, err)
	}
}

// addUser adds an inetOrgPerson with the barid test schema's attributes.
func (e *ldapEnv) addUser(t *testing.T, uid, password string, extra map[string][]string) {
	t.Helper()
	attrs := map[string][]string{
		"objectClass":  {"inetOrgPerson", "baridMailUser"},
		"uid":          {uid},
		"cn":           {uid},
		"sn":           {uid},
		"userPassword": {password},
	}
	for k, v := range extra {
		attrs[k] = v
	}
	e.add(t, "uid="+uid+","+e.base, attrs)
}

func (e *ldapEnv) config() LDAPConfig {
	return LDAPConfig{URL: e.url, BindDN: e.reader, BindPassword: e.readerPass, BaseDN: e.base,
		QuotaAttribute: "mailQuota", EnabledAttribute: "mailEnabled", Timeout: 3 * time.Second}
}

func (e *ldapEnv) fill(t *testing.T) {
	e.addUser(t, "alice", testSSHA("alice-pw"), map[string][]string{
		"mail": {"alice@example.org"}, "mailAlternateAddress": {"a.smith@example.org", "postmaster@example.org"},
		"mailQuota": {"10M"}, "mailEnabled": {"TRUE"}})
	e.addUser(t, "bob", testSSHA("bob-pw"), map[string][]string{"mail": {"bob@example.org"}, "mailEnabled": {"FALSE"}})
	e.addUser(t, "carol", "{SHA512-CRYPT}$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1",
		map[string][]string{"mail": {"carol@example.org"}, "mailEnabled": {"TRUE"}})
	// Two entries share one address: ambiguous, so neither gets it.
	e.addUser(t, "dup1", testSSHA("dup-pw"), map[string][]string{"mail": {"shared@example.org"}, "mailEnabled": {"TRUE"}})
	e.addUser(t, "dup2", testSSHA("dup-pw"), map[string][]string{"mail": {"shared@example.org"}, "mailEnabled": {"TRUE"}})
}

func TestLDAPSearchThenBind(t *testing.T) {
	e := newLDAPEnv(t)
	e.fill(t)
	l := NewLDAP(e.config())
	defer l.Close()
	ctx := context.Background()
	for _, login := range []string{"alice", "ALICE", "alice@example.org"} {
		u, err := l.Authenticate(ctx, login, "alice-pw")
		if err != nil {
			t.Fatalf("%s: %v", login, err)
		}
		if u.Name != "alice" || u.QuotaBytes != 10<<20 || u.Disabled ||
			strings.Join(u.Addresses, ",") != "alice@example.org,a.smith@example.org,postmaster@example.org" {
			t.Errorf("%s: user %+v", login, u)
		}
	}
	if _, err := l.Authenticate(ctx, "alice", "wrong"); !errors.Is(err, ErrAuthFailed) {
		t.Errorf("wrong password: %v", err)
	}
	if _, err := l.Authenticate(ctx, "alice", ""); !errors.Is(err, ErrAuthFailed) {
		t.Errorf("empty password (unauthenticated bind): %v", err)
	}
	if _, err := l.Authenticate(ctx, "nobody", "x"); !errors.Is(err, ErrUnknownUser) {
		t.Errorf("unknown user: %v", err)
	}
	if _, err := l.Authenticate(ctx, "shared@example.org", "dup-pw"); !errors.Is(err, ErrUnknownUser) {
		t.Errorf("ambiguous name: %v", err)
	}
	u, err := l.Authenticate(ctx, "bob", "bob-pw")
	if err != nil || !u.Disabled {
		t.Errorf("disabled bob: %+v %v", u, err)
	}
	// After a user bind the pooled connection is bound back to the
	// service account: many logins in a row keep working.
	for range 10 {
		if _, err := l.Authenticate(ctx, "alice", "alice-pw"); err != nil {
			t.Fatal(err)
		}
		if _, err := l.Lookup(ctx, "carol@example.org"); err != nil {
			t.Fatal(err)
		}
	}
}

// TestLDAPInjection: names with filter metacharacters are escaped
// (RFC 4515 §3) and match nobody, whatever the password.
func TestLDAPInjection(t *testing.T) {
	e := newLDAPEnv(t)
	e.fill(t)
	l := NewLDAP(e.config())
	defer l.Close()
	ctx := context.Background()
	for _, name := range []string{"*", "*)(uid=*", "alice)(|(uid=*", "al*", "*)(|(objectClass=*)", "alice\x00", `alice\2a`, "(uid=alice)"} {
		if u, err := l.Authenticate(ctx, name, "alice-pw"); !errors.Is(err, ErrUnknownUser) {
			t.Errorf("login %q: %+v %v, want ErrUnknownUser", name, u, err)
		}
		if u, err := l.Lookup(ctx, name); !errors.Is(err, ErrUnknownUser) {
			t.Errorf("lookup %q: %+v %v, want ErrUnknownUser", name, u, err)
		}
	}
}

func TestLDAPFilterEscaping(t *testing.T) {
	for _, c := range []struct{ tmpl, name, want string }{
		{"(uid=%u)", "*)(uid=*", `(uid=\2a\29\28uid=\2a)`},
		{"(&(uid=%n)(dc=%d))", "a*b@ex(ample", `(&(uid=a\2ab)(dc=ex\28ample))`},
		{"(uid=%u)", `a\b`, `(uid=a\5cb)`},
		{"(uid=%u)", "a\x00b", `(uid=a\00b)`},
		{"(cn=100%%)", "x", "(cn=100%)"},
	} {
		if got := filter(c.tmpl, c.name); got != c.want {
			t.Errorf("filter(%q, %q) = %q, want %q", c.tmpl, c.name, got, c.want)
		}
		if _, err := ldap.CompileFilter(filter(c.tmpl, c.name)); err != nil {
			t.Errorf("filter(%q, %q) does not compile: %v", c.tmpl, c.name, err)
		}
	}
}

func TestLDAPCompare(t *testing.T) {
	e := newLDAPEnv(t)
	e.fill(t)
	cfg := e.config()
	cfg.Compare = true
	l := NewLDAP(cfg)
	defer l.Close()
	ctx := context.Background()
	if _, err := l.Authenticate(ctx, "alice", "alice-pw"); err != nil {
		t.Errorf("alice ({SSHA}): %v", err)
	}
	if _, err := l.Authenticate(ctx, "carol", "Hello world!"); err != nil {
		t.Errorf("carol ({SHA512-CRYPT}): %v", err)
	}
	if _, err := l.Authenticate(ctx, "carol", "hello world!"); !errors.Is(err, ErrAuthFailed) {
		t.Errorf("carol, wrong password: %v", err)
	}
}

// TestLDAPCompareDESAndLimits: in compare mode a userPassword in
// traditional DES crypt ({CRYPT}, 13 characters) logs in; a SHA-crypt
// value over the crypt_rounds limit does not, and does under a higher
// limit.
func TestLDAPCompareDESAndLimits(t *testing.T) {
	e := newLDAPEnv(t)
	e.addUser(t, "dave", "{CRYPT}M06l3Lf14Iov.", map[string][]string{"mail": {"dave@example.org"}})
	e.addUser(t, "erin", "{SHA256-CRYPT}$5$rounds=10000$saltstringsaltst$3xv.VbSHBb41AL9AvLeujZkZRBAwqFMz2.opqey6IcA",
		map[string][]string{"mail": {"erin@example.org"}})
	ctx := context.Background()
	for _, c := range []struct {
		rounds  int
		erinErr error
	}{{5000, ErrAuthFailed}, {10000, nil}} {
		cfg := e.config()
		cfg.Compare = true
		cfg.Limits = SchemeLimits{MaxCryptRounds: c.rounds}
		l := NewLDAP(cfg)
		if _, err := l.Authenticate(ctx, "dave", "secret"); err != nil {
			t.Errorf("dave ({CRYPT} DES): %v", err)
		}
		if _, err := l.Authenticate(ctx, "dave", "Secret"); !errors.Is(err, ErrAuthFailed) {
			t.Errorf("dave, wrong password: %v", err)
		}
		if _, err := l.Authenticate(ctx, "erin", "Hello world!"); !errors.Is(err, c.erinErr) {
			t.Errorf("erin with crypt_rounds %d: %v, want %v", c.rounds, err, c.erinErr)
		}
		l.Close()
	}
}

func TestLDAPLookup(t *testing.T) {
	e := newLDAPEnv(t)
	e.fill(t)
	l := NewLDAP(e.config())
	defer l.Close()
	ctx := context.Background()
	for _, a := range []string{"alice", "alice@example.org", "A.Smith@example.org", "postmaster@example.org"} {
		u, err := l.Lookup(ctx, a)
		if err != nil || u.Name != "alice" {
			t.Errorf("%s: %+v %v", a, u, err)
		}
	}
	if _, err := l.Lookup(ctx, "nobody@example.org"); !errors.Is(err, ErrUnknownUser) {
		t.Errorf("nobody: %v", err)
	}
	if _, err := l.Lookup(ctx, "shared@example.org"); !errors.Is(err, ErrUnknownUser) {
		t.Errorf("ambiguous: %v", err)
	}
	// Only user_filter configured (the example): recipients are
	// found by it and by the mail attributes.
	cfg := e.config()
	cfg.UserFilter = "(&(objectClass=inetOrgPerson)(|(uid=%u)(mail=%u)))"
	l2 := NewLDAP(cfg)
	defer l2.Close()
	for _, a := range []string{"alice", "alice@example.org", "a.smith@example.org"} {
		if u, err := l2.Lookup(ctx, a); err != nil || u.Name != "alice" {
			t.Errorf("user_filter only, %s: %+v %v", a, u, err)
		}
	}
	if _, err := l2.Lookup(ctx, "*"); !errors.Is(err, ErrUnknownUser) {
		t.Errorf("user_filter only, *: %v", err)
	}
}

// TestLDAPTLS: ldaps:// and ldap:// with STARTTLS, verified against the
// test server's certificate; a wrong CA is refused (an outage, not a
// wrong password).
func TestLDAPTLS(t *testing.T) {
	e := newLDAPEnv(t)
	if e.urls == "" || e.ca == "" {
		t.Skip("BARID_TEST_LDAPS not set (slapd without TLS)")
	}
	e.fill(t)
	ctx := context.Background()
	tc, err := LDAPTLSConfig(e.urls, e.ca, false)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		url      string
		starttls bool
	}{{e.urls, false}, {e.url, true}} {
		cfg := e.config()
		cfg.URL, cfg.StartTLS, cfg.TLS = c.url, c.starttls, tc
		l := NewLDAP(cfg)
		if _, err := l.Authenticate(ctx, "alice", "alice-pw"); err != nil {
			t.Errorf("%s starttls=%v: %v", c.url, c.starttls, err)
		}
		l.Close()
	}
	cfg := e.config()
	cfg.URL, cfg.TLS = e.urls, &tlsConfigNoRoots
	l := NewLDAP(cfg)
	defer l.Close()
	_, err = l.Authenticate(ctx, "alice", "alice-pw")
	if err == nil || errors.Is(err, ErrAuthFailed) || errors.Is(err, ErrUnknownUser) {
		t.Errorf("untrusted certificate: %v, want a connection error", err)
	}
}

// TestLDAPOutage: a server that does not answer is an error (never
// "unknown" or "wrong password"); reconnects back off; through the
// Authenticator that is ErrUnavailable, and delivery lookups too.
func TestLDAPOutage(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	l := NewLDAP(LDAPConfig{URL: "ldap://" + addr, BaseDN: "dc=example,dc=org", Timeout: time.Second, MaxBackoff: time.Minute})
	defer l.Close()
	ctx := context.Background()
	_, err = l.Authenticate(ctx, "alice", "pw")
	if err == nil || errors.Is(err, ErrUnknownUser) || errors.Is(err, ErrAuthFailed) {
		t.Fatalf("first try: %v", err)
	}
	// Within the back-off the source does not dial again: it answers
	// with the back-off error at once.
	_, err = l.Lookup(ctx, "alice@example.org")
	if !errors.Is(err, errBackoff) {
		t.Fatalf("second try: %v, want the back-off error", err)
	}

	st := openTestStore(t)
	a, d := newDirAuth(t, st, nil, l)
	_, err = a.Plain(ctx, testRemote, "alice", "pw")
	if !errors.Is(err, ErrUnavailable) || errors.Is(err, ErrAuthFailed) {
		t.Errorf("login during outage: %v", err)
	}
	if _, err := d.FindAccount(ctx, "alice@example.org"); !errors.Is(err, ErrUnavailable) || errors.Is(err, store.ErrNoAccount) {
		t.Errorf("recipient during outage: %v", err)
	}
}

// TestLDAPChain: through the Authenticator, a directory user logs in
// with its uid or its address, gets one store account named by its
// uid, and is found for delivery by any of its addresses.
func TestLDAPChain(t *testing.T) {
	e := newLDAPEnv(t)
	e.fill(t)
	l := NewLDAP(e.config())
	defer l.Close()
	st := openTestStore(t)
	a, d := newDirAuth(t, st, nil, l)
	ctx := context.Background()
	id1, err := a.Plain(ctx, testRemote, "alice", "alice-pw")
	if err != nil {
		t.Fatal(err)
	}
	id2, err := a.Plain(ctx, testRemote, "alice@example.org", "alice-pw")
	if err != nil || id1 != id2 {
		t.Fatalf("login by address: %d %v, want account %d", id2, err, id1)
	}
	if _, err := a.Plain(ctx, testRemote, "bob", "bob-pw"); !errors.Is(err, ErrAuthFailed) {
		t.Errorf("disabled bob logged in: %v", err)
	}
	if _, err := a.Plain(ctx, testRemote, "*)(uid=*", "alice-pw"); !errors.Is(err, ErrAuthFailed) {
		t.Errorf("injection: %v", err)
	}
	acct, err := d.FindAccount(ctx, "a.smith@example.org")
	if err != nil || acct.ID != id1 {
		t.Errorf("FindAccount(a.smith) = %+v %v", acct, err)
	}
	if _, err := d.FindAccount(ctx, "bob@example.org"); !errors.Is(err, store.ErrNoAccount) {
		t.Errorf("disabled bob found for delivery: %v", err)
	}
	// The store account made for alice has no password of its own: a
	// builtin-only server does not let anyone in as alice.
	b := New(StoreAccounts{Store: st}, Config{Params: testParams, Clock: newFakeClock()}, nil)
	if _, err := b.Plain(ctx, testRemote, "alice", "alice-pw"); !errors.Is(err, ErrAuthFailed) {
		t.Errorf("builtin login as a directory user: %v", err)
	}
}

var tlsConfigNoRoots = tls.Config{RootCAs: x509.NewCertPool(), MinVersion: tls.VersionTLS12}

// tcpProxy forwards loopback connections to target; cut closes every
// connection it carries (a directory restart, as the pool sees it), and
// pause refuses new ones until resume.
type tcpProxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	conns  []net.Conn
	paused bool
}

func newTCPProxy(t *testing.T, target string) *tcpProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &tcpProxy{ln: ln, target: target}
	t.Cleanup(func() { ln.Close(); p.cut() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.mu.Lock()
			paused := p.paused
			p.mu.Unlock()
			if paused {
				c.Close()
				continue
			}
			u, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, u)
			p.mu.Unlock()
			go func() { io.Copy(u, c); u.Close() }()
			go func() { io.Copy(c, u); c.Close() }()
		}
	}()
	return p
}

func (p *tcpProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

func (p *tcpProxy) setPaused(v bool) {
	p.mu.Lock()
	p.paused = v
	p.mu.Unlock()
}

// TestLDAPReconnect: pooled connections the server dropped are replaced
// without a failed login; while the server refuses connections logins
// are unavailable, and after the back-off they work again.
func TestLDAPReconnect(t *testing.T) {
	e := newLDAPEnv(t)
	e.fill(t)
	proxy := newTCPProxy(t, strings.TrimPrefix(e.url, "ldap://"))
	cfg := e.config()
	cfg.URL = "ldap://" + proxy.ln.Addr().String()
	cfg.MaxBackoff = 300 * time.Millisecond
	l := NewLDAP(cfg)
	defer l.Close()
	ctx := context.Background()
	for range 3 {
		if _, err := l.Authenticate(ctx, "alice", "alice-pw"); err != nil {
			t.Fatal(err)
		}
	}
	proxy.cut() // every pooled connection is now dead
	if _, err := l.Authenticate(ctx, "alice", "alice-pw"); err != nil {
		t.Fatalf("login after the server dropped the pool: %v", err)
	}
	proxy.setPaused(true)
	proxy.cut()
	_, err := l.Authenticate(ctx, "alice", "alice-pw")
	if err == nil || errors.Is(err, ErrAuthFailed) || errors.Is(err, ErrUnknownUser) {
		t.Fatalf("login while the server is gone: %v", err)
	}
	proxy.setPaused(false)
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, err := l.Authenticate(ctx, "alice", "alice-pw")
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no reconnect after the back-off: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
