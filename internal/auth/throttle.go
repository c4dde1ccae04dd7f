package auth

import (
	"net/netip"
	"strings"
	"sync"
	"time"

	"barid/internal/store"
)

// ipKey is the unit the throttle counts an address in: the address for
// IPv4 (and IPv4-mapped IPv6), its /IPv6Prefix network for IPv6. An
// invalid address (a Unix socket) gives the zero prefix, which is not
// counted.
func (a *Authenticator) ipKey(ip netip.Addr) netip.Prefix {
	if !ip.IsValid() {
		return netip.Prefix{}
	}
	ip = ip.Unmap().WithZone("")
	bits := 32
	if ip.Is6() {
		bits = a.cfg.IPv6Prefix
	}
	p, _ := ip.Prefix(bits)
	return p
}

type failEntry struct {
	n    int
	last time.Time
}

// failTable counts recent failed logins per IP key and per account name.
type failTable struct {
	cfg    *Config
	mu     sync.Mutex
	byIP   map[netip.Prefix]*failEntry
	byUser map[string]*failEntry
}

func (t *failTable) init(cfg *Config) {
	t.cfg = cfg
	t.byIP = make(map[netip.Prefix]*failEntry)
	t.byUser = make(map[string]*failEntry)
}

// userKey folds the name like the store does, so "Bob" and "bob" share a
// count, whether or not the account exists.
func userKey(name string) string {
	name = store.NormalizeAccountName(name)
	if len(name) > maxUsernameLen {
		name = name[:maxUsernameLen]
	}
	return name
}

func (t *failTable) live(e *failEntry, now time.Time) int {
	if e == nil || now.Sub(e.last) >= t.cfg.FailureWindow {
		return 0
	}
	return e.n
}

// penalty is the delay owed for the failures recorded so far:
// FailureDelay × growth^(n-1) for the larger of the IP's and the
// account's counts, capped at MaxFailureDelay; 0 if neither has failed
// within the window.
func (t *failTable) penalty(now time.Time, ip netip.Prefix, user string) time.Duration {
	if t.cfg.FailureDelay <= 0 {
		return 0
	}
	t.mu.Lock()
	var nIP, nUser int
	if ip.IsValid() {
		nIP = t.live(t.byIP[ip], now)
	}
	nUser = t.live(t.byUser[userKey(user)], now)
	t.mu.Unlock()
	return max(t.grow(nIP, t.cfg.IPGrowth), t.grow(nUser, t.cfg.UserGrowth))
}

func (t *failTable) grow(n int, factor float64) time.Duration {
	if n <= 0 {
		return 0
	}
	d := float64(t.cfg.FailureDelay)
	limit := float64(t.cfg.MaxFailureDelay)
	for i := 1; i < n && d < limit; i++ {
		d *= factor
	}
	return time.Duration(min(d, limit))
}

// record counts one failure for ip and user.
func (t *failTable) record(now time.Time, ip netip.Prefix, user string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	bump := func(e *failEntry) *failEntry {
		if e == nil {
			e = &failEntry{}
		}
		e.n = t.live(e, now) + 1
		e.last = now
		return e
	}
	if ip.IsValid() {
		t.byIP[ip] = bump(t.byIP[ip])
		prune(t.byIP, t.cfg.MaxTrackedFailures, func(e *failEntry) bool { return t.live(e, now) == 0 })
	}
	k := userKey(user)
	t.byUser[k] = bump(t.byUser[k])
	prune(t.byUser, t.cfg.MaxTrackedFailures, func(e *failEntry) bool { return t.live(e, now) == 0 })
}

// prune keeps m within limit entries: first it drops entries that dead
// says are expired, then arbitrary ones (Go's map order), so a flood of
// addresses or names can't grow memory without bound.
func prune[K comparable, V any](m map[K]V, limit int, dead func(V) bool) {
	if len(m) <= limit {
		return
	}
	for k, v := range m {
		if dead(v) {
			delete(m, k)
		}
	}
	for k := range m {
		if len(m) <= limit*9/10 {
			break
		}
		delete(m, k)
	}
}

type bucket struct {
	tokens float64
	last   time.Time
}

// userIP keys the sessions of one account from one IP key.
type userIP struct {
	account int64
	ip      netip.Prefix
}

// connTable counts open connections per IP key, per account and per
// account and IP key.
type connTable struct {
	cfg       *Config
	mu        sync.Mutex
	perIP     map[netip.Prefix]int
	perAcc    map[int64]int
	perUserIP map[userIP]int
	rate      map[netip.Prefix]*bucket
}

func (t *connTable) init(cfg *Config) {
	t.cfg = cfg
	t.perIP = make(map[netip.Prefix]int)
	t.perAcc = make(map[int64]int)
	t.perUserIP = make(map[userIP]int)
	t.rate = make(map[netip.Prefix]*bucket)
}

func (a *Authenticator) trusted(ip netip.Addr) bool {
	ip = ip.Unmap().WithZone("")
	for _, p := range a.cfg.TrustedNetworks {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// AcquireConn admits a new connection from ip, enforcing MaxConnsPerIP
// ("max_conns_per_ip") and ConnRatePerIP ("conn_rate_per_ip"), and
// returns the function to call when it closes (safe to call twice).
// Addresses in TrustedNetworks, and invalid addresses (Unix sockets), are
// not limited. The error is a *LimitError.
func (a *Authenticator) AcquireConn(ip netip.Addr) (release func(), err error) {
	if !ip.IsValid() || a.trusted(ip) {
		return func() {}, nil
	}
	k := a.ipKey(ip)
	t := &a.conns
	t.mu.Lock()
	defer t.mu.Unlock()
	if max := a.cfg.MaxConnsPerIP; max > 0 && t.perIP[k] >= max {
		return nil, &LimitError{Limit: "max_conns_per_ip", Max: max}
	}
	if rate := a.cfg.ConnRatePerIP; rate > 0 {
		now := a.clock.Now()
		b := t.rate[k]
		if b == nil {
			b = &bucket{tokens: float64(rate), last: now}
			t.rate[k] = b
			prune(t.rate, a.cfg.MaxTrackedFailures, func(b *bucket) bool {
				return now.Sub(b.last) >= time.Minute
			})
		}
		b.tokens = min(float64(rate), b.tokens+now.Sub(b.last).Minutes()*float64(rate))
		b.last = now
		if b.tokens < 1 {
			return nil, &LimitError{Limit: "conn_rate_per_ip", Max: rate}
		}
		b.tokens--
	}
	t.perIP[k]++
	return sync.OnceFunc(func() {
		t.mu.Lock()
		defer t.mu.Unlock()
		if t.perIP[k]--; t.perIP[k] <= 0 {
			delete(t.perIP, k)
		}
	}), nil
}

// AcquireUser admits one more authenticated session of accountID,
// enforcing MaxConnsPerUser ("max_conns_per_user"); call release when
// the session ends or leaves the authenticated state. The error is a
// *LimitError. A session whose client address is known should use
// AcquireSession, which also enforces MaxConnsPerUserIP.
func (a *Authenticator) AcquireUser(accountID int64) (release func(), err error) {
	return a.AcquireSession(accountID, netip.Addr{})
}

// AcquireSession admits one more authenticated session of accountID
// from ip, enforcing MaxConnsPerUser ("max_conns_per_user") and
// MaxConnsPerUserIP ("max_conns_per_user_ip"; not for TrustedNetworks
// or an invalid address such as a Unix socket's). Call release when the
// session ends or leaves the authenticated state (safe to call twice).
// The error is a *LimitError.
func (a *Authenticator) AcquireSession(accountID int64, ip netip.Addr) (release func(), err error) {
	ui := userIP{account: accountID}
	if ip.IsValid() && !a.trusted(ip) {
		ui.ip = a.ipKey(ip)
	}
	t := &a.conns
	t.mu.Lock()
	defer t.mu.Unlock()
	if max := a.cfg.MaxConnsPerUser; max > 0 && t.perAcc[accountID] >= max {
		return nil, &LimitError{Limit: "max_conns_per_user", Max: max}
	}
	if max := a.cfg.MaxConnsPerUserIP; max > 0 && ui.ip.IsValid() && t.perUserIP[ui] >= max {
		return nil, &LimitError{Limit: "max_conns_per_user_ip", Max: max}
	}
	t.perAcc[accountID]++
	if ui.ip.IsValid() {
		t.perUserIP[ui]++
	}
	return sync.OnceFunc(func() {
		t.mu.Lock()
		defer t.mu.Unlock()
		if t.perAcc[accountID]--; t.perAcc[accountID] <= 0 {
			delete(t.perAcc, accountID)
		}
		if ui.ip.IsValid() {
			if t.perUserIP[ui]--; t.perUserIP[ui] <= 0 {
				delete(t.perUserIP, ui)
			}
		}
	}), nil
}

// sameAccount is used by authzid checks: SASL authzid and authcid name
// the same account when they match after the store's normalization.
func sameAccount(a, b string) bool {
	return strings.EqualFold(store.NormalizeAccountName(a), store.NormalizeAccountName(b))
}
