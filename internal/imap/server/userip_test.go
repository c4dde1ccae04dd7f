package server_test

import (
	"net"
	"strings"
	"testing"
	"time"

	"barid/internal/config"
)

// dialFrom connects from a chosen loopback address (Linux routes all of
// 127.0.0.0/8 to lo), so one test can be several clients' addresses.
func (ts *testServer) dialFrom(local string) *rawConn {
	ts.t.Helper()
	d := net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}}
	nc, err := d.Dial("tcp", ts.addr)
	if err != nil {
		ts.t.Skipf("cannot dial from %s: %v", local, err)
	}
	return newRawConn(ts.t, nc)
}

// TestLimitConnsPerUserIP: limits.max_conns_per_user_ip refuses one
// more session of an account from the same address at login with NO
// [LIMIT] naming the limit, while other accounts behind that address,
// and the same account from another address, still log in; a freed
// slot is usable again; trusted_networks are exempt.
func TestLimitConnsPerUserIP(t *testing.T) {
	ts := startServer(t, func(c *config.Config) {
		c.Limits.MaxConnsPerUserIP = 2
		c.Auth.TrustedNetworks = []string{"127.0.0.3/32"}
	})
	ts.addUser("alice", "pw")
	ts.addUser("bob", "pw")
	a1, a2 := ts.dialFrom("127.0.0.1"), ts.dialFrom("127.0.0.1")
	a1.login("alice", "pw")
	a2.login("alice", "pw")
	a3 := ts.dialFrom("127.0.0.1")
	lines := a3.cmd("x", "LOGIN alice pw")
	mustHave(t, lines, `^x NO \[LIMIT\] .*max_conns_per_user_ip \(2\)`)
	// The refused connection is still not authenticated and may retry.
	mustHave(t, a3.cmd("y", "SELECT INBOX"), `^y BAD`)
	// A colleague behind the same address is not affected.
	ts.dialFrom("127.0.0.1").login("bob", "pw")
	// Nor is alice from another address.
	ts.dialFrom("127.0.0.2").login("alice", "pw")
	// A trusted address (a proxy) is not counted per user.
	for range 3 {
		ts.dialFrom("127.0.0.3").login("alice", "pw")
	}
	// Once a session ends, its slot is free again.
	a1.expectOK("z", "LOGOUT")
	deadline := time.Now().Add(5 * time.Second)
	for {
		last := a3.cmd("w", "LOGIN alice pw")
		if strings.HasPrefix(last[len(last)-1], "w OK") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("slot not freed after LOGOUT: %q", last)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestLimitConnsPerIPDefaultAllowsNAT: with the default limits, 30
// accounts behind one address (a NATed office) each open 5 sessions
// (Thunderbird's default connection cache); nothing is refused.
func TestLimitConnsPerIPDefaultAllowsNAT(t *testing.T) {
	ts := startServer(t)
	const users, each = 30, 5
	for u := range users {
		ts.addUser(userName(u), "pw")
	}
	for u := range users {
		for range each {
			ts.dial().login(userName(u), "pw")
		}
	}
	// The per-address ceiling is far above that; the per-person limit
	// is what stops a runaway client.
	def := config.Default().Limits
	if def.MaxConnsPerIP < users*each || def.MaxConnsPerUserIP != 10 {
		t.Fatalf("defaults: max_conns_per_ip %d, max_conns_per_user_ip %d", def.MaxConnsPerIP, def.MaxConnsPerUserIP)
	}
	for range 5 {
		ts.dial().login(userName(0), "pw")
	}
	mustHave(t, ts.dial().cmd("x", "LOGIN "+userName(0)+" pw"), `^x NO \[LIMIT\] .*max_conns_per_user_ip \(10\)`)
}

func userName(i int) string { return "office" + string(rune('a'+i/26)) + string(rune('a'+i%26)) }
