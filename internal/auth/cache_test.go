package auth

import (
	"context"
	"errors"
	"net/netip"
	"testing"
	"time"
)

// A right password is hashed once per TTL; a wrong one, a changed
// password and an expired entry always go through argon2id.
func TestLoginCache(t *testing.T) {
	ctx := context.Background()
	ip := netip.MustParseAddr("192.0.2.1")
	a, accts, clk := newTestAuth(t, func(c *Config) { c.CacheTTL = time.Minute })
	login := func(pw string) error {
		t.Helper()
		_, err := a.Plain(ctx, ip, "user", pw)
		return err
	}
	hashes := func() int64 { return a.Hashes() }
	if err := login("pencil"); err != nil {
		t.Fatal(err)
	}
	if err := login("pencil"); err != nil || hashes() != 1 {
		t.Fatalf("second login: err %v, %d hashes, want 1", err, hashes())
	}
	if err := login("pencil2"); !errors.Is(err, ErrAuthFailed) || hashes() != 2 {
		t.Fatalf("wrong password: err %v, %d hashes, want ErrAuthFailed after a hash", err, hashes())
	}
	clk.takeSlept()
	clk.advance(time.Hour) // past the failure penalties too
	if err := login("pencil"); err != nil || hashes() != 3 {
		t.Fatalf("after the TTL: err %v, %d hashes, want a fresh hash", err, hashes())
	}
	// A new password: the old one fails at once, the new one hashes.
	accts.add(t, 7, "user", "crayon")
	if err := login("pencil"); !errors.Is(err, ErrAuthFailed) || hashes() != 4 {
		t.Fatalf("old password after a change: err %v, %d hashes", err, hashes())
	}
	clk.advance(time.Hour)
	if err := login("crayon"); err != nil || hashes() != 5 {
		t.Fatalf("new password: err %v, %d hashes", err, hashes())
	}
	if err := login("crayon"); err != nil || hashes() != 5 {
		t.Fatalf("new password again: err %v, %d hashes, want a cache hit", err, hashes())
	}
	// The same password stored anew (a new salt) is a new secret.
	accts.add(t, 7, "user", "crayon")
	if err := login("crayon"); err != nil || hashes() != 6 {
		t.Fatalf("re-set password: err %v, %d hashes", err, hashes())
	}
	// authzid is still checked on a hit.
	if _, err := a.plain(ctx, "PLAIN", ip, "other", "user", "crayon"); !errors.Is(err, ErrAuthzFailed) {
		t.Fatalf("authzid on a cache hit: %v", err)
	}
}

// With cache_ttl 0 every login hashes.
func TestLoginCacheOff(t *testing.T) {
	a, _, _ := newTestAuth(t, func(c *Config) { c.CacheTTL = 0 })
	for range 3 {
		if _, err := a.Plain(context.Background(), netip.MustParseAddr("192.0.2.1"), "user", "pencil"); err != nil {
			t.Fatal(err)
		}
	}
	if a.Hashes() != 3 {
		t.Fatalf("%d hashes for 3 logins without a cache", a.Hashes())
	}
}

// A full cache drops expired entries first, and never grows past its
// size.
func TestLoginCacheBound(t *testing.T) {
	c := newLoginCache(time.Minute, 2)
	now := time.Unix(0, 0)
	c.add(1, []byte("s1"), "p", now)
	c.add(2, []byte("s2"), "p", now.Add(50*time.Second))
	c.add(3, []byte("s3"), "p", now.Add(70*time.Second)) // 1 has expired
	if len(c.m) != 2 || !c.hit(2, []byte("s2"), "p", now.Add(71*time.Second)) || !c.hit(3, []byte("s3"), "p", now.Add(71*time.Second)) {
		t.Fatalf("after expiry: %d entries", len(c.m))
	}
	c.add(4, []byte("s4"), "p", now.Add(72*time.Second)) // none expired: one goes
	if len(c.m) != 2 || !c.hit(4, []byte("s4"), "p", now.Add(73*time.Second)) {
		t.Fatalf("full cache: %d entries", len(c.m))
	}
	if c.hit(4, []byte("s4"), "q", now.Add(73*time.Second)) || c.hit(4, []byte("s5"), "p", now.Add(73*time.Second)) {
		t.Fatal("a hit with another password or secret")
	}
	if newLoginCache(0, 10) != nil || newLoginCache(time.Minute, 0) != nil {
		t.Fatal("a cache with TTL or size 0")
	}
}

// Logins counts every password check, hashed or not (the app frees the
// heap after a burst of them).
func TestLoginsCounted(t *testing.T) {
	a, _, _ := newTestAuth(t, nil)
	for _, pw := range []string{"pencil", "pencil", "wrong"} {
		a.Plain(context.Background(), netip.MustParseAddr("192.0.2.9"), "user", pw)
	}
	if a.Logins() != 3 || a.Hashes() != 2 {
		t.Fatalf("3 logins, one from the cache: Logins %d, Hashes %d", a.Logins(), a.Hashes())
	}
}
