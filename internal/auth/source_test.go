package auth

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"barid/internal/store"
	"barid/internal/store/sqlite"
)

// openTestStore opens a fresh SQLite store in a temporary folder.
func openTestStore(t testing.TB) store.Store {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "barid.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// newDirAuth returns an Authenticator over st's builtin accounts and the
// given sources, with no failure delays.
func newDirAuth(t testing.TB, st store.Store, sources ...Source) (*Authenticator, *Directory) {
	t.Helper()
	d := &Directory{Sources: sources, Store: st, CacheTTL: time.Minute, NegativeTTL: time.Minute}
	cfg := Config{Params: testParams, Clock: newFakeClock(), Directory: d}
	return New(StoreAccounts{Store: st}, cfg, nil), d
}

// TestPasswdFileEveryScheme logs in users of a passwd-file whose
// passwords doveadm pw made, one user per scheme.
func TestPasswdFileEveryScheme(t *testing.T) {
	doveadm, err := exec.LookPath("doveadm")
	if err != nil {
		t.Skip("doveadm not installed")
	}
	var b strings.Builder
	b.WriteString("# made by doveadm pw\n\n")
	for i, s := range dovecotSchemes {
		out, err := exec.Command(doveadm, "pw", "-s", s, "-p", "pw-"+s).Output()
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "user%d@example.org:%s:1000:1000::/home/u%d::userdb_quota_rule=*:storage=%dM\n", i, strings.TrimSpace(string(out)), i, i+1)
	}
	path := filepath.Join(t.TempDir(), "passwd")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	st := openTestStore(t)
	a, _ := newDirAuth(t, st, nil, &PasswdFile{Path: path})
	ctx := context.Background()
	for i, s := range dovecotSchemes {
		name := fmt.Sprintf("User%d@example.org", i)
		id, err := a.Plain(ctx, testRemote, name, "pw-"+s)
		if err != nil {
			t.Errorf("%s: login: %v", s, err)
			continue
		}
		acct, err := st.AccountByID(ctx, id)
		if err != nil || acct.Name != strings.ToLower(name) {
			t.Errorf("%s: account %v, %v", s, acct, err)
		}
		if _, err := a.Plain(ctx, testRemote, name, "pw-"+s+"-wrong"); !errors.Is(err, ErrAuthFailed) {
			t.Errorf("%s: wrong password: %v", s, err)
		}
	}
}

func writeFile(t testing.TB, path, data string) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// TestPasswdFileReload: a changed file is read again; a missing one
// makes logins fail with ErrUnavailable, never ErrAuthFailed.
func TestPasswdFileReload(t *testing.T) {
	path := filepath.Join(t.TempDir(), "passwd")
	writeFile(t, path, "alice:{PLAIN}one::::::\n")
	st := openTestStore(t)
	pf := &PasswdFile{Path: path}
	d := &Directory{Sources: []Source{pf}, Store: st} // no cache
	a := New(StoreAccounts{Store: st}, Config{Params: testParams, Clock: newFakeClock(), Directory: d}, nil)
	ctx := context.Background()
	if _, err := a.Plain(ctx, testRemote, "alice", "one"); err != nil {
		t.Fatal(err)
	}
	writeFile(t, path, "alice:{PLAIN}two\nbob:{SHA512-CRYPT}$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1:::::: nologin\n")
	if _, err := a.Plain(ctx, testRemote, "alice", "one"); !errors.Is(err, ErrAuthFailed) {
		t.Fatalf("old password after reload: %v", err)
	}
	if _, err := a.Plain(ctx, testRemote, "alice", "two"); err != nil {
		t.Fatalf("new password after reload: %v", err)
	}
	if _, err := a.Plain(ctx, testRemote, "bob", "Hello world!"); !errors.Is(err, ErrAuthFailed) {
		t.Fatalf("nologin user: %v", err)
	}
	os.Remove(path)
	_, err := a.Plain(ctx, testRemote, "alice", "two")
	if !errors.Is(err, ErrUnavailable) || errors.Is(err, ErrAuthFailed) {
		t.Fatalf("missing file: %v, want ErrUnavailable", err)
	}
	if _, err := d.FindAccount(ctx, "alice"); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("FindAccount with missing file: %v", err)
	}
}

// failingSource is unavailable for every call.
type failingSource struct{ calls int }

func (f *failingSource) Name() string { return "down" }
func (f *failingSource) Authenticate(context.Context, string, string) (*User, error) {
	f.calls++
	return nil, errors.New("connection refused")
}
func (f *failingSource) Lookup(context.Context, string) (*User, error) {
	f.calls++
	return nil, errors.New("connection refused")
}

// mapSource is a Source over a map (login → password), for chain tests.
type mapSource struct {
	mu    sync.Mutex
	name  string
	users map[string]string
	addrs map[string]string // address → login
	calls int
}

func (m *mapSource) Name() string { return m.name }
func (m *mapSource) Authenticate(_ context.Context, login, pw string) (*User, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls++
	p, ok := m.users[strings.ToLower(login)]
	if !ok {
		return nil, ErrUnknownUser
	}
	if p != pw {
		return nil, ErrAuthFailed
	}
	return &User{Name: strings.ToLower(login)}, nil
}
func (m *mapSource) Lookup(_ context.Context, name string) (*User, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls++
	name = strings.ToLower(name)
	if l, ok := m.addrs[name]; ok {
		name = l
	}
	if _, ok := m.users[name]; !ok {
		return nil, ErrUnknownUser
	}
	return &User{Name: name}, nil
}

// TestChainOrderAndOutage: sources are tried in order, the first that
// knows the name decides, and an outage before that answers
// ErrUnavailable (no login, no "unknown").
func TestChainOrderAndOutage(t *testing.T) {
	st := openTestStore(t)
	ctx := context.Background()
	secret, _ := NewSecret("builtin-pw", testParams)
	if _, err := st.CreateAccount(ctx, "carol", secret); err != nil {
		t.Fatal(err)
	}
	first := &mapSource{name: "first", users: map[string]string{"alice": "a1", "carol": "c-first"}}
	second := &mapSource{name: "second", users: map[string]string{"alice": "a2", "bob": "b2"},
		addrs: map[string]string{"bob@example.org": "bob"}}
	a, d := newDirAuth(t, st, nil, first, second)
	if _, err := a.Plain(ctx, testRemote, "alice", "a1"); err != nil {
		t.Errorf("alice via first: %v", err)
	}
	if _, err := a.Plain(ctx, testRemote, "alice", "a2"); !errors.Is(err, ErrAuthFailed) {
		t.Errorf("alice with second's password: %v (first decides)", err)
	}
	if _, err := a.Plain(ctx, testRemote, "bob", "b2"); err != nil {
		t.Errorf("bob via second: %v", err)
	}
	if _, err := a.Plain(ctx, testRemote, "carol", "builtin-pw"); err != nil {
		t.Errorf("carol via builtin: %v", err)
	}
	if _, err := a.Plain(ctx, testRemote, "carol", "c-first"); !errors.Is(err, ErrAuthFailed) {
		t.Errorf("carol with a later source's password: %v (builtin decides)", err)
	}
	acct, err := d.FindAccount(ctx, "bob@example.org")
	if err != nil || acct.Name != "bob" {
		t.Errorf("FindAccount(bob@example.org) = %v, %v", acct, err)
	}
	if _, err := d.FindAccount(ctx, "nobody@example.org"); !errors.Is(err, store.ErrNoAccount) {
		t.Errorf("FindAccount(nobody) = %v", err)
	}

	// A source that is down in front: nobody gets in, and nobody is
	// told "unknown".
	down := &failingSource{}
	a2, d2 := newDirAuth(t, st, down, first)
	if _, err := a2.Plain(ctx, testRemote, "alice", "a1"); !errors.Is(err, ErrUnavailable) || errors.Is(err, ErrAuthFailed) {
		t.Errorf("login with the first source down: %v", err)
	}
	if _, err := d2.FindAccount(ctx, "alice"); !errors.Is(err, ErrUnavailable) || errors.Is(err, store.ErrNoAccount) {
		t.Errorf("FindAccount with the first source down: %v", err)
	}
	// Failures are not cached: each attempt asks again.
	if _, err := a2.Plain(ctx, testRemote, "alice", "a1"); !errors.Is(err, ErrUnavailable) {
		t.Errorf("second login with the source down: %v", err)
	}
	if down.calls != 3 {
		t.Errorf("down source asked %d times, want 3", down.calls)
	}
}

// TestChainCache: a verified directory login and an unknown name are
// answered from the cache within their TTLs; a wrong password is not
// cached.
func TestChainCache(t *testing.T) {
	st := openTestStore(t)
	ctx := context.Background()
	src := &mapSource{name: "m", users: map[string]string{"alice": "pw"}}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	d := &Directory{Sources: []Source{src}, Store: st, CacheTTL: time.Minute, NegativeTTL: 10 * time.Second,
		Now: func() time.Time { return now }}
	a := New(StoreAccounts{Store: st}, Config{Params: testParams, Clock: newFakeClock(), Directory: d}, nil)
	for range 3 {
		if _, err := a.Plain(ctx, testRemote, "alice", "pw"); err != nil {
			t.Fatal(err)
		}
	}
	if src.calls != 1 {
		t.Errorf("3 logins asked the source %d times, want 1", src.calls)
	}
	for range 2 {
		if _, err := a.Plain(ctx, testRemote, "alice", "bad"); !errors.Is(err, ErrAuthFailed) {
			t.Fatal(err)
		}
	}
	if src.calls != 3 {
		t.Errorf("wrong passwords: source asked %d times in all, want 3", src.calls)
	}
	for range 2 {
		if _, err := d.FindAccount(ctx, "ghost"); !errors.Is(err, store.ErrNoAccount) {
			t.Fatal(err)
		}
	}
	if src.calls != 4 {
		t.Errorf("negative cache: source asked %d times in all, want 4", src.calls)
	}
	now = now.Add(11 * time.Second)
	d.FindAccount(ctx, "ghost")
	if src.calls != 5 {
		t.Errorf("after NegativeTTL: source asked %d times in all, want 5", src.calls)
	}
	now = now.Add(time.Minute)
	a.Plain(ctx, testRemote, "alice", "pw")
	if src.calls != 6 {
		t.Errorf("after CacheTTL: source asked %d times in all, want 6", src.calls)
	}
}

// TestMissingUserTakesDummyPath: a login for a name no source knows runs
// the dummy argon2id hash, as a wrong password runs the real one, so
// both cost one hash.
func TestMissingUserTakesDummyPath(t *testing.T) {
	st := openTestStore(t)
	ctx := context.Background()
	secret, _ := NewSecret("right", testParams)
	st.CreateAccount(ctx, "carol", secret)
	src := &mapSource{name: "m", users: map[string]string{}}
	a, _ := newDirAuth(t, st, nil, src)
	h0 := a.Hashes()
	if _, err := a.Plain(ctx, testRemote, "carol", "wrong"); !errors.Is(err, ErrAuthFailed) {
		t.Fatal(err)
	}
	if a.Hashes()-h0 != 1 || a.DummyChecks() != 0 {
		t.Fatalf("wrong password: %d hashes, %d dummy checks; want 1, 0", a.Hashes()-h0, a.DummyChecks())
	}
	if _, err := a.Plain(ctx, testRemote, "nobody", "wrong"); !errors.Is(err, ErrAuthFailed) {
		t.Fatal(err)
	}
	if a.Hashes()-h0 != 2 || a.DummyChecks() != 1 {
		t.Fatalf("missing user: %d hashes, %d dummy checks; want 2, 1", a.Hashes()-h0, a.DummyChecks())
	}
}

func TestAppPasswordFormat(t *testing.T) {
	pw, h := NewAppPassword()
	for _, typed := range []string{pw, strings.ToUpper(pw), strings.ReplaceAll(pw, "-", ""), strings.ReplaceAll(pw, "-", " ")} {
		got, ok := AppPasswordHash(typed)
		if !ok || string(got) != string(h) {
			t.Errorf("%q: ok=%v, hash differs=%v", typed, ok, string(got) != string(h))
		}
	}
	for _, not := range []string{"", "secret", pw + "a", pw[:len(pw)-1], strings.Replace(pw, pw[:1], "1", 1), strings.Repeat("a", 100)} {
		if _, ok := AppPasswordHash(not); ok {
			t.Errorf("%q taken for an app password", not)
		}
	}
	if p2, _ := NewAppPassword(); p2 == pw {
		t.Error("two app passwords alike")
	}
	if _, err := ParseProtocols("imap, POP3,submission,imap"); err != nil {
		t.Error(err)
	}
	if ps, _ := ParseProtocols("imap, POP3,submission,imap"); strings.Join(ps, ",") != "imap,pop3,smtp" {
		t.Errorf("ParseProtocols = %v", ps)
	}
	if _, err := ParseProtocols("imap,ftp"); err == nil {
		t.Error("ftp accepted")
	}
}
