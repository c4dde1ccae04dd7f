package auth

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
)

// TestAcquireSessionPerUserIP: max_conns_per_user_ip counts one
// account's sessions from one address (IPv6: one /64), independently of
// other accounts behind the same address (a NATed office) and of the
// same account elsewhere; trusted networks and Unix sockets are exempt.
func TestAcquireSessionPerUserIP(t *testing.T) {
	t.Parallel()
	a, _, _ := newTestAuth(t, func(c *Config) {
		c.MaxConnsPerUser = 5
		c.MaxConnsPerUserIP = 2
		c.TrustedNetworks = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	})
	office := netip.MustParseAddr("192.0.2.1")
	r1, err := a.AcquireSession(7, office)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.AcquireSession(7, netip.MustParseAddr("::ffff:192.0.2.1")); err != nil {
		t.Fatal(err)
	}
	_, err = a.AcquireSession(7, office)
	var le *LimitError
	if !errors.As(err, &le) || le.Limit != "max_conns_per_user_ip" || le.Max != 2 || !errors.Is(err, ErrThrottled) ||
		!strings.Contains(err.Error(), "max_conns_per_user_ip (2)") || !strings.Contains(err.Error(), "from this address") {
		t.Fatalf("third session from one address: %v", err)
	}
	// Colleagues behind the same NAT are not affected.
	for id := int64(100); id < 110; id++ {
		if _, err := a.AcquireSession(id, office); err != nil {
			t.Fatalf("account %d behind the same address: %v", id, err)
		}
	}
	// The same account from elsewhere is, up to max_conns_per_user.
	if _, err := a.AcquireSession(7, netip.MustParseAddr("198.51.100.9")); err != nil {
		t.Fatalf("same account, other address: %v", err)
	}
	r1()
	r1() // idempotent
	if _, err := a.AcquireSession(7, office); err != nil {
		t.Fatalf("after release: %v", err)
	}
	if _, err := a.AcquireSession(7, office); err == nil {
		t.Fatal("double release freed two slots")
	}
	// Trusted (a proxy every user shares) and Unix sockets: only
	// max_conns_per_user applies (3 used of 5).
	if _, err := a.AcquireSession(7, netip.MustParseAddr("10.1.1.1")); err != nil {
		t.Fatalf("trusted: %v", err)
	}
	if _, err := a.AcquireSession(7, netip.Addr{}); err != nil {
		t.Fatalf("unix socket: %v", err)
	}
	if _, err := a.AcquireSession(7, netip.MustParseAddr("10.1.1.1")); !errors.As(err, &le) || le.Limit != "max_conns_per_user" {
		t.Fatalf("6th session of the account: %v", err)
	}
	// IPv6 counts per /64, like max_conns_per_ip.
	b, _, _ := newTestAuth(t, func(c *Config) { c.MaxConnsPerUserIP = 2 })
	for _, ip := range []string{"2001:db8::1", "2001:db8::2"} {
		if _, err := b.AcquireSession(1, netip.MustParseAddr(ip)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := b.AcquireSession(1, netip.MustParseAddr("2001:db8::3")); err == nil {
		t.Fatal("third session from one /64 admitted")
	}
	if _, err := b.AcquireSession(1, netip.MustParseAddr("2001:db8:1::1")); err != nil {
		t.Fatalf("other /64: %v", err)
	}
	// 0 = unlimited.
	unl, _, _ := newTestAuth(t, func(c *Config) { c.MaxConnsPerUserIP = 0; c.MaxConnsPerUser = 0 })
	for range 200 {
		if _, err := unl.AcquireSession(1, office); err != nil {
			t.Fatal("0 should mean unlimited")
		}
	}
}

// TestDefaultConnLimits: the defaults let an office behind one NAT in
// (many accounts, 1000 connections) while one account on one address
// gets 10 sessions, as Dovecot's mail_max_userip_connections.
func TestDefaultConnLimits(t *testing.T) {
	t.Parallel()
	d := DefaultConfig()
	if d.MaxConnsPerIP != 1000 || d.MaxConnsPerUserIP != 10 || d.MaxConnsPerUser != 100 {
		t.Fatalf("defaults: per IP %d, per user+IP %d, per user %d", d.MaxConnsPerIP, d.MaxConnsPerUserIP, d.MaxConnsPerUser)
	}
	a, _, _ := newTestAuth(t, func(c *Config) {
		c.MaxConnsPerIP, c.MaxConnsPerUser, c.MaxConnsPerUserIP = d.MaxConnsPerIP, d.MaxConnsPerUser, d.MaxConnsPerUserIP
	})
	nat := netip.MustParseAddr("203.0.113.7")
	// 150 people, 6 connections each (a desktop client and a phone).
	for id := int64(1); id <= 150; id++ {
		for range 6 {
			if _, err := a.AcquireConn(nat); err != nil {
				t.Fatalf("connection of account %d: %v", id, err)
			}
			if _, err := a.AcquireSession(id, nat); err != nil {
				t.Fatalf("session of account %d: %v", id, err)
			}
		}
	}
}
