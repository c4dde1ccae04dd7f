package auth

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"
)

// testParams are cheap costs so tests and fuzzing run fast.
var testParams = Params{ArgonTime: 1, ArgonMemory: 64, ArgonThreads: 1, SCRAMIterations: 4096}

// memAccounts is an in-memory Accounts keyed by lower-cased name.
type memAccounts struct {
	mu    sync.Mutex
	users map[string]memUser
	calls int
}

type memUser struct {
	id     int64
	secret []byte
}

func (m *memAccounts) Secret(_ context.Context, name string) (int64, []byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls++
	u, ok := m.users[strings.ToLower(name)]
	if !ok {
		return 0, nil, ErrUnknownUser
	}
	return u.id, u.secret, nil
}

func (m *memAccounts) add(t testing.TB, id int64, name, password string) {
	t.Helper()
	s, err := NewSecret(password, testParams)
	if err != nil {
		t.Fatal(err)
	}
	m.set(id, name, s)
}

func (m *memAccounts) set(id int64, name string, secret []byte) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.users == nil {
		m.users = make(map[string]memUser)
	}
	m.users[strings.ToLower(name)] = memUser{id, secret}
}

// fakeClock never sleeps: Sleep records the duration and moves Now.
type fakeClock struct {
	mu    sync.Mutex
	now   time.Time
	slept []time.Duration
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if d > 0 {
		c.slept = append(c.slept, d)
		c.now = c.now.Add(d)
	}
	return ctx.Err()
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// takeSlept returns and clears the recorded sleeps.
func (c *fakeClock) takeSlept() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.slept
	c.slept = nil
	return s
}

// newTestAuth returns an Authenticator with a fake clock, cheap hashes and
// one user "user"/"pencil" (id 7).
func newTestAuth(t testing.TB, mod func(*Config)) (*Authenticator, *memAccounts, *fakeClock) {
	t.Helper()
	accts := &memAccounts{}
	accts.add(t, 7, "user", "pencil")
	clk := newFakeClock()
	cfg := DefaultConfig()
	cfg.Params = testParams
	cfg.Clock = clk
	if mod != nil {
		mod(&cfg)
	}
	return New(accts, cfg, nil), accts, clk
}
