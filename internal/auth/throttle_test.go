package auth

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/xdg-go/scram"
)

const s = time.Second

// attempt runs one failing Plain login and returns the sleeps it made.
func attempt(t *testing.T, a *Authenticator, clk *fakeClock, ip, user, pw string) []time.Duration {
	t.Helper()
	_, err := a.Plain(context.Background(), netip.MustParseAddr(ip), user, pw)
	if !errors.Is(err, ErrAuthFailed) {
		t.Fatalf("Plain(%s, %s) err = %v, want ErrAuthFailed", ip, user, err)
	}
	return clk.takeSlept()
}

func TestFailureDelayGrowth(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		mod  func(*Config)
		// ip and user of attempt i
		ip, user func(i int) string
		want     [][]time.Duration // sleeps per attempt: [penalty owed before the check, what the grown failure delay adds]
	}{
		{
			name: "per IP, distinct unknown users",
			ip:   func(int) string { return "192.0.2.1" },
			user: func(i int) string { return fmt.Sprintf("ghost%d", i) },
			want: [][]time.Duration{{1 * s}, {1 * s, 1 * s}, {2 * s, 2 * s}, {4 * s, 4 * s}, {8 * s, 7 * s}, {15 * s}},
		},
		{
			name: "per account, distinct IPs",
			ip:   func(i int) string { return fmt.Sprintf("198.51.100.%d", i+1) },
			user: func(int) string { return "User" },
			want: [][]time.Duration{{1 * s}, {1 * s, 1 * s}, {2 * s, 2 * s}, {4 * s, 4 * s}},
		},
		{
			name: "independent growth factors",
			mod:  func(c *Config) { c.IPGrowth = 3; c.UserGrowth = 1.5; c.MaxFailureDelay = time.Minute },
			ip:   func(int) string { return "192.0.2.9" },
			user: func(int) string { return "user" },
			want: [][]time.Duration{{1 * s}, {1 * s, 2 * s}, {3 * s, 6 * s}, {9 * s, 18 * s}, {27 * s, 33 * s}},
		},
		{
			name: "account growth alone",
			mod:  func(c *Config) { c.UserGrowth = 3; c.MaxFailureDelay = time.Minute },
			ip:   func(i int) string { return fmt.Sprintf("2001:db8:%x::1", i) },
			user: func(int) string { return "user" },
			want: [][]time.Duration{{1 * s}, {1 * s, 2 * s}, {3 * s, 6 * s}},
		},
		{
			name: "delays off",
			mod:  func(c *Config) { c.FailureDelay = 0 },
			ip:   func(int) string { return "192.0.2.1" },
			user: func(int) string { return "user" },
			want: [][]time.Duration{nil, nil, nil},
		},
		{
			name: "loopback is not exempt, even when trusted",
			mod:  func(c *Config) { c.TrustedNetworks = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")} },
			ip:   func(int) string { return "127.0.0.1" },
			user: func(i int) string { return fmt.Sprintf("u%d", i) },
			want: [][]time.Duration{{1 * s}, {1 * s, 1 * s}},
		},
		{
			name: "IPv6 /64 counts together, IPv4-mapped as IPv4",
			ip: func(i int) string {
				return []string{"2001:db8::1", "2001:db8::ffff", "2001:db8:0:1::1", "192.0.2.7", "::ffff:192.0.2.7"}[i]
			},
			user: func(i int) string { return fmt.Sprintf("u%d", i) },
			want: [][]time.Duration{{1 * s}, {1 * s, 1 * s}, {1 * s}, {1 * s}, {1 * s, 1 * s}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			a, _, clk := newTestAuth(t, tc.mod)
			for i, want := range tc.want {
				got := attempt(t, a, clk, tc.ip(i), tc.user(i), "wrong")
				if !slices.Equal(got, want) {
					t.Errorf("attempt %d sleeps = %v, want %v", i, got, want)
				}
			}
		})
	}
}

func TestFailureWindow(t *testing.T) {
	t.Parallel()
	a, _, clk := newTestAuth(t, nil)
	attempt(t, a, clk, "192.0.2.1", "user", "x")
	attempt(t, a, clk, "192.0.2.1", "user", "x")
	if got := attempt(t, a, clk, "192.0.2.1", "user", "x"); !slices.Equal(got, []time.Duration{2 * s, 2 * s}) {
		t.Fatalf("third attempt %v", got)
	}
	clk.advance(15 * time.Minute)
	if got := attempt(t, a, clk, "192.0.2.1", "user", "x"); !slices.Equal(got, []time.Duration{1 * s}) {
		t.Fatalf("after the window: %v, want [1s]", got)
	}
}

// TestSuccessAfterFailures: a correct password still pays the penalty
// owed (so timing out early tells an attacker nothing) and succeeds; it
// does not reset the counts.
func TestSuccessAfterFailures(t *testing.T) {
	t.Parallel()
	a, _, clk := newTestAuth(t, nil)
	ctx := context.Background()
	if id, err := a.Plain(ctx, testRemote, "user", "pencil"); err != nil || id != 7 {
		t.Fatalf("Plain = %d, %v", id, err)
	}
	if sl := clk.takeSlept(); len(sl) != 0 {
		t.Fatalf("clean success slept %v", sl)
	}
	attempt(t, a, clk, testRemote.String(), "user", "bad")
	attempt(t, a, clk, testRemote.String(), "user", "bad")
	if id, err := a.Plain(ctx, testRemote, "USER", "pencil"); err != nil || id != 7 {
		t.Fatalf("Plain = %d, %v", id, err)
	}
	if sl := clk.takeSlept(); !slices.Equal(sl, []time.Duration{2 * s}) {
		t.Fatalf("success after two failures slept %v, want [2s]", sl)
	}
	if got := attempt(t, a, clk, testRemote.String(), "user", "bad"); !slices.Equal(got, []time.Duration{2 * s, 2 * s}) {
		t.Fatalf("counts were reset by success: %v", got)
	}
}

// TestUnknownUserSameAsWrongPassword: same error, same delays, and the
// dummy hash has the configured cost.
func TestUnknownUserSameAsWrongPassword(t *testing.T) {
	t.Parallel()
	a1, _, c1 := newTestAuth(t, nil)
	a2, _, c2 := newTestAuth(t, nil)
	for i := range 4 {
		_, e1 := a1.Plain(context.Background(), testRemote, "user", "wrong")
		_, e2 := a2.Plain(context.Background(), testRemote, "nosuchuser", "wrong")
		if e1 != e2 || e1 != ErrAuthFailed {
			t.Fatalf("attempt %d: wrong password %v, unknown user %v", i, e1, e2)
		}
		if s1, s2 := c1.takeSlept(), c2.takeSlept(); !slices.Equal(s1, s2) {
			t.Fatalf("attempt %d: delays differ: %v vs %v", i, s1, s2)
		}
	}
	d := a1.dummy
	if d.Time != testParams.ArgonTime || d.Memory != testParams.ArgonMemory || d.Threads != testParams.ArgonThreads {
		t.Errorf("dummy hash params %+v, want %+v", d, testParams)
	}
}

// TestUnknownUserCostsAHash: with the default argon2id cost, a login for
// a name no source knows is checked against the dummy hash, whose cost is
// that of a real secret, so it costs what a wrong password costs (the
// durations are measured by BenchmarkUnknownUserVsWrongPassword, not
// asserted here).
func TestUnknownUserCostsAHash(t *testing.T) {
	accts := &memAccounts{}
	sec, err := NewSecret("pencil", DefaultParams())
	if err != nil {
		t.Fatal(err)
	}
	accts.set(1, "user", sec)
	cfg := DefaultConfig()
	cfg.FailureDelay = 0
	a := New(accts, cfg, nil)
	p := DefaultParams()
	if d := a.dummy; d.Time != p.ArgonTime || d.Memory != p.ArgonMemory || d.Threads != p.ArgonThreads || len(d.Hash) == 0 {
		t.Fatalf("dummy hash %+v, want the cost of a real secret %+v", d, p)
	}
	if _, err := a.Plain(context.Background(), testRemote, "user", "wrong"); err != ErrAuthFailed {
		t.Fatalf("wrong password: %v", err)
	}
	if n := a.DummyChecks(); n != 0 {
		t.Fatalf("a known user was checked against the dummy hash (%d)", n)
	}
	if _, err := a.Plain(context.Background(), testRemote, "ghost", "wrong"); err != ErrAuthFailed {
		t.Fatalf("unknown user: %v", err)
	}
	if n := a.DummyChecks(); n != 1 {
		t.Fatalf("unknown user: %d dummy checks, want 1", n)
	}
}

// BenchmarkUnknownUserVsWrongPassword times a failed login for a known
// user (wrong password) and for an unknown one with the default argon2id
// cost; the two should be alike.
func BenchmarkUnknownUserVsWrongPassword(b *testing.B) {
	accts := &memAccounts{}
	sec, err := NewSecret("pencil", DefaultParams())
	if err != nil {
		b.Fatal(err)
	}
	accts.set(1, "user", sec)
	cfg := DefaultConfig()
	cfg.FailureDelay = 0
	a := New(accts, cfg, nil)
	for _, user := range []string{"user", "ghost"} {
		b.Run(user, func(b *testing.B) {
			for b.Loop() {
				a.Plain(context.Background(), testRemote, user, "wrong")
			}
		})
	}
}

func TestPlainCancelled(t *testing.T) {
	t.Parallel()
	a, _, clk := newTestAuth(t, nil)
	attempt(t, a, clk, testRemote.String(), "user", "x")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := a.Plain(ctx, testRemote, "user", "pencil"); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled Plain: %v", err)
	}
	// The real clock's Sleep returns at once when ctx is done.
	t0 := time.Now()
	if err := (realClock{}).Sleep(ctx, time.Hour); !errors.Is(err, context.Canceled) || time.Since(t0) > time.Second {
		t.Fatalf("realClock.Sleep: %v after %v", err, time.Since(t0))
	}
	if err := (realClock{}).Sleep(context.Background(), time.Millisecond); err != nil {
		t.Fatal(err)
	}
}

type failingAccounts struct{}

func (failingAccounts) Secret(context.Context, string) (int64, []byte, error) {
	return 0, nil, errors.New("database is down")
}

// A store failure is not a failed login: no delay, and not ErrAuthFailed.
func TestLookupError(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	cfg := DefaultConfig()
	cfg.Clock = clk
	cfg.Params = testParams
	a := New(failingAccounts{}, cfg, nil)
	_, err := a.Plain(context.Background(), testRemote, "user", "pencil")
	if err == nil || errors.Is(err, ErrAuthFailed) {
		t.Fatalf("err = %v", err)
	}
	m, _ := a.Start(context.Background(), "SCRAM-SHA-1", testRemote, nil)
	if _, _, err := m.Next([]byte("n,,n=user,r=abc")); err == nil || errors.Is(err, ErrAuthFailed) {
		t.Fatalf("SCRAM err = %v", err)
	}
	if sl := clk.takeSlept(); len(sl) != 0 {
		t.Fatalf("slept %v", sl)
	}
}

func TestCredentialBounds(t *testing.T) {
	t.Parallel()
	a, accts, _ := newTestAuth(t, nil)
	before := accts.calls
	for _, c := range [][2]string{{"", "pencil"}, {"user", ""}, {strings.Repeat("u", 256), "x"}, {"user", strings.Repeat("p", 2000)}, {"\xff", "x"}} {
		if _, err := a.Plain(context.Background(), testRemote, c[0], c[1]); err != ErrAuthFailed {
			t.Errorf("Plain(len %d, len %d) = %v", len(c[0]), len(c[1]), err)
		}
	}
	if accts.calls != before {
		t.Error("out-of-bounds credentials reached the account lookup")
	}
}

func TestFailTablePruned(t *testing.T) {
	t.Parallel()
	a, _, clk := newTestAuth(t, func(c *Config) { c.MaxTrackedFailures = 10; c.FailureDelay = time.Millisecond })
	for i := range 100 {
		attempt(t, a, clk, fmt.Sprintf("10.0.%d.%d", i/256, i%256), fmt.Sprintf("u%d", i), "x")
	}
	if n, m := len(a.fails.byIP), len(a.fails.byUser); n > 10 || m > 10 {
		t.Fatalf("tables hold %d IPs, %d users; limit 10", n, m)
	}
}

func TestAcquireConn(t *testing.T) {
	t.Parallel()
	a, _, _ := newTestAuth(t, func(c *Config) {
		c.MaxConnsPerIP = 2
		c.TrustedNetworks = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	})
	ip := netip.MustParseAddr("192.0.2.1")
	r1, err := a.AcquireConn(ip)
	if err != nil {
		t.Fatal(err)
	}
	r2, err := a.AcquireConn(netip.MustParseAddr("::ffff:192.0.2.1"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = a.AcquireConn(ip)
	var le *LimitError
	if !errors.As(err, &le) || le.Limit != "max_conns_per_ip" || le.Max != 2 || !errors.Is(err, ErrThrottled) ||
		!strings.Contains(err.Error(), "max_conns_per_ip") {
		t.Fatalf("third conn: %v", err)
	}
	if _, err := a.AcquireConn(netip.MustParseAddr("192.0.2.2")); err != nil {
		t.Fatalf("other IP: %v", err)
	}
	r1()
	r1() // idempotent
	if _, err := a.AcquireConn(ip); err != nil {
		t.Fatalf("after release: %v", err)
	}
	if _, err := a.AcquireConn(ip); err == nil {
		t.Fatal("double release freed two slots")
	}
	r2()
	// Trusted networks and Unix sockets are not counted.
	for range 5 {
		if _, err := a.AcquireConn(netip.MustParseAddr("10.1.2.3")); err != nil {
			t.Fatalf("trusted: %v", err)
		}
		if _, err := a.AcquireConn(netip.Addr{}); err != nil {
			t.Fatalf("invalid addr: %v", err)
		}
	}
	// IPv6 counts per /64.
	if _, err := a.AcquireConn(netip.MustParseAddr("2001:db8::1")); err != nil {
		t.Fatal(err)
	}
	if _, err := a.AcquireConn(netip.MustParseAddr("2001:db8::2")); err != nil {
		t.Fatal(err)
	}
	if _, err := a.AcquireConn(netip.MustParseAddr("2001:db8::3")); err == nil {
		t.Fatal("third connection from one /64 admitted")
	}
}

func TestConnRate(t *testing.T) {
	t.Parallel()
	a, _, clk := newTestAuth(t, func(c *Config) { c.ConnRatePerIP = 3; c.MaxConnsPerIP = 0 })
	ip := netip.MustParseAddr("192.0.2.1")
	for i := range 3 {
		if _, err := a.AcquireConn(ip); err != nil {
			t.Fatalf("conn %d: %v", i, err)
		}
	}
	var le *LimitError
	if _, err := a.AcquireConn(ip); !errors.As(err, &le) || le.Limit != "conn_rate_per_ip" {
		t.Fatalf("4th conn in a minute: %v", err)
	}
	clk.advance(20 * time.Second) // one token back
	if _, err := a.AcquireConn(ip); err != nil {
		t.Fatalf("after 20s: %v", err)
	}
	if _, err := a.AcquireConn(ip); err == nil {
		t.Fatal("second conn after 20s admitted")
	}
}

func TestAcquireUser(t *testing.T) {
	t.Parallel()
	a, _, _ := newTestAuth(t, func(c *Config) { c.MaxConnsPerUser = 2 })
	r1, _ := a.AcquireUser(7)
	if _, err := a.AcquireUser(7); err != nil {
		t.Fatal(err)
	}
	var le *LimitError
	if _, err := a.AcquireUser(7); !errors.As(err, &le) || le.Limit != "max_conns_per_user" || !errors.Is(err, ErrThrottled) {
		t.Fatalf("third session: %v", err)
	}
	if _, err := a.AcquireUser(8); err != nil {
		t.Fatalf("other account: %v", err)
	}
	r1()
	r1()
	if _, err := a.AcquireUser(7); err != nil {
		t.Fatalf("after release: %v", err)
	}
	unl, _, _ := newTestAuth(t, func(c *Config) { c.MaxConnsPerUser = 0 })
	for range 500 {
		if _, err := unl.AcquireUser(1); err != nil {
			t.Fatal("0 should mean unlimited")
		}
	}
}

// TestNoSecretsInLogs runs successful and failed logins of every kind
// with a debug logger and checks that neither the password nor any
// client SASL message shows up.
func TestNoSecretsInLogs(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	const pw = "Sup3rS3cretPassw0rd"
	accts := &memAccounts{}
	accts.add(t, 1, "alice", pw)
	cfg := DefaultConfig()
	cfg.Params = testParams
	cfg.Clock = newFakeClock()
	a := New(accts, cfg, slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})))
	ctx := context.Background()
	var clientMsgs []string
	for _, p := range []string{pw, pw + "x"} {
		a.Plain(ctx, testRemote, "alice", p)
		m, _ := a.Start(ctx, "PLAIN", testRemote, nil)
		msg := "\x00alice\x00" + p
		m.Next([]byte(msg))
		m, _ = a.Start(ctx, "LOGIN", testRemote, nil)
		m.Next([]byte("alice"))
		m.Next([]byte(p))
		for mech, gen := range map[string]scram.HashGeneratorFcn{"SCRAM-SHA-1": scram.SHA1, "SCRAM-SHA-256": scram.SHA256} {
			c, _ := gen.NewClient("alice", p, "")
			conv := c.NewConversation()
			m, _ := a.Start(ctx, mech, testRemote, nil)
			r, _ := conv.Step("")
			for range 3 {
				clientMsgs = append(clientMsgs, r)
				ch, done, err := m.Next([]byte(r))
				if done || err != nil {
					break
				}
				r, _ = conv.Step(string(ch))
			}
		}
	}
	out := buf.String()
	if !strings.Contains(out, "login failed") || !strings.Contains(out, "user=alice") {
		t.Fatalf("expected login lines in log:\n%s", out)
	}
	if strings.Contains(out, pw) {
		t.Fatalf("password in log:\n%s", out)
	}
	for _, m := range clientMsgs {
		if len(m) > 12 && strings.Contains(out, m) {
			t.Fatalf("client message %q in log", m)
		}
		if i := strings.Index(m, ",p="); i >= 0 && strings.Contains(out, m[i+3:]) {
			t.Fatalf("client proof in log")
		}
	}
}

func TestLogName(t *testing.T) {
	t.Parallel()
	if got := logName("bob"); got != "bob" {
		t.Errorf("logName(bob) = %q", got)
	}
	long := strings.Repeat("é", 40) // 80 bytes
	got := logName(long)
	if len(got) > 64+len("…") || !strings.HasSuffix(got, "…") || !utf8ValidPrefix(got) {
		t.Errorf("logName(long) = %q", got)
	}
	if ErrAuthzFailed.Error() == "" || (&SCRAMError{Code: "invalid-proof", Err: ErrAuthFailed}).Error() == "" {
		t.Error("empty error text")
	}
}

func utf8ValidPrefix(s string) bool { return strings.ToValidUTF8(s, "\uFFFD") == s }

// TestConcurrent exercises the tables from many goroutines (run with
// -race).
func TestConcurrent(t *testing.T) {
	t.Parallel()
	a, _, _ := newTestAuth(t, func(c *Config) { c.MaxConcurrentHashes = 2 })
	done := make(chan struct{})
	for g := range 8 {
		go func() {
			defer func() { done <- struct{}{} }()
			ip := netip.AddrFrom4([4]byte{192, 0, 2, byte(g)})
			for i := range 10 {
				rel, err := a.AcquireConn(ip)
				if err != nil {
					t.Error(err)
					return
				}
				pw := "pencil"
				if i%2 == 0 {
					pw = "wrong"
				}
				id, err := a.Plain(context.Background(), ip, "user", pw)
				if (err == nil) != (pw == "pencil") || (err == nil && id != 7) {
					t.Errorf("Plain(%s) = %d, %v", pw, id, err)
				}
				if err == nil {
					relU, err := a.AcquireUser(id)
					if err != nil {
						t.Error(err)
					} else {
						relU()
					}
				}
				rel()
			}
		}()
	}
	for range 8 {
		<-done
	}
	if len(a.conns.perIP) != 0 || len(a.conns.perAcc) != 0 {
		t.Errorf("connection counts leak: %v %v", a.conns.perIP, a.conns.perAcc)
	}
}
