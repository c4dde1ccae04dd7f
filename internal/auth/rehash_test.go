package auth

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/xdg-go/scram"
)

// writableAccounts is memAccounts that barid may write, like the
// builtin store: ReplaceSecret swaps only from the secret it is given.
// beforeSwap, if set, runs first (a password change racing the login).
type writableAccounts struct {
	memAccounts
	beforeSwap func()
	swaps      int
}

func (w *writableAccounts) ReplaceSecret(_ context.Context, id int64, old, new []byte) (bool, error) {
	if w.beforeSwap != nil {
		w.beforeSwap()
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for name, u := range w.users {
		if u.id != id {
			continue
		}
		if !bytes.Equal(u.secret, old) {
			return false, nil
		}
		w.users[name] = memUser{id, bytes.Clone(new)}
		w.swaps++
		return true, nil
	}
	return false, errors.New("no such account")
}

func (w *writableAccounts) secretOf(name string) []byte {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.users[name].secret
}

func newRehashAuth(t *testing.T, mod func(*Config)) (*Authenticator, *writableAccounts) {
	t.Helper()
	accts := &writableAccounts{}
	cfg := DefaultConfig()
	cfg.Params = testParams
	cfg.Clock = newFakeClock()
	cfg.CacheTTL = 0
	if mod != nil {
		mod(&cfg)
	}
	return New(accts, cfg, nil), accts
}

// importedHashes of "secret" in old schemes, as `barid user add --hash`
// stores them (made with doveadm pw, Dovecot 2.3.19, and crypt(3)).
var importedHashes = []string{
	"{SHA512-CRYPT}$6$U4vAsQcoUwCAoq0b$Qyc/ebcLzkxn8k9pNuSQQcQN1T1jAmb5JF97Zs1Aubh8DlcimvdCFoM2PLfeCW/9lVwi9tseyqf4d1JxxuVr/1",
	"{BLF-CRYPT}$2y$05$GiZvDy22xyY3kkfl5WBrr.pzp626UqQGuvVzDhNI1kmWTKk9.SQ1m",
	"{SSHA}DqlHJqkJfHbhKjszv7YMhcYVQxqWO383",
	"{MD5-CRYPT}$1$XjG3WEdP$d5a63uII6ClNB.bFXQOCt/",
	"{CRYPT}M06l3Lf14Iov.", // DES crypt
	"{PLAIN}secret",
	"{ARGON2ID}$argon2id$v=19$m=65536,t=3,p=1$K5t3H9FJ2nCnJJtqMqqlnA$XUTqLualIVK03Kn+sx9zZw2u+vJbZXO7rlL8lbj+ws4",
	// A bare PHC string: argon2id already, but without SCRAM keys.
	"$argon2id$v=19$m=65536,t=3,p=1$K5t3H9FJ2nCnJJtqMqqlnA$XUTqLualIVK03Kn+sx9zZw2u+vJbZXO7rlL8lbj+ws4",
}

// TestRehashImportedOnLogin: a builtin account holding a hash imported
// in an old scheme logs in with its password; a wrong password changes
// nothing; the right one replaces the secret with barid's own (argon2id
// at the configured costs, with SCRAM keys), after which the password
// still logs in, now through argon2id, SCRAM works, and nothing is
// re-hashed again.
func TestRehashImportedOnLogin(t *testing.T) {
	ctx := context.Background()
	for i, h := range importedHashes {
		a, accts := newRehashAuth(t, nil)
		id := int64(100 + i)
		accts.set(id, "alice", []byte(h))
		if _, err := a.Plain(ctx, testRemote, "alice", "Secret"); !errors.Is(err, ErrAuthFailed) {
			t.Fatalf("%s: wrong password: %v", h, err)
		}
		if got := string(accts.secretOf("alice")); got != h {
			t.Fatalf("%s: a failed login changed the secret to %q", h, got)
		}
		if got, err := a.Plain(ctx, testRemote, "alice", "secret"); err != nil || got != id {
			t.Fatalf("%s: login = %d, %v", h, got, err)
		}
		s, err := parseSecret(accts.secretOf("alice"))
		if err != nil || s.Imported != "" || s.Argon == nil || s.SHA1 == nil || s.SHA256 == nil {
			t.Fatalf("%s: after login the secret is %q (%v), want a barid secret", h, accts.secretOf("alice"), err)
		}
		if s.Argon.Memory != testParams.ArgonMemory || s.Argon.Time != testParams.ArgonTime {
			t.Errorf("%s: re-hashed with m=%d t=%d, want the configured costs", h, s.Argon.Memory, s.Argon.Time)
		}
		if a.Rehashes() != 1 {
			t.Errorf("%s: Rehashes = %d, want 1", h, a.Rehashes())
		}
		if got, err := a.Plain(ctx, testRemote, "alice", "secret"); err != nil || got != id {
			t.Fatalf("%s: login after the re-hash = %d, %v", h, got, err)
		}
		if _, err := a.Plain(ctx, testRemote, "alice", "secreT"); !errors.Is(err, ErrAuthFailed) {
			t.Fatalf("%s: wrong password after the re-hash: %v", h, err)
		}
		c, _ := scram.SHA256.NewClient("alice", "secret", "")
		if _, err := runXDG(t, a, "SCRAM-SHA-256", nil, c.NewConversation()); err != nil {
			t.Errorf("%s: SCRAM-SHA-256 after the re-hash: %v", h, err)
		}
		if a.Rehashes() != 1 || accts.swaps != 1 {
			t.Errorf("%s: re-hashed %d times (%d swaps), want once", h, a.Rehashes(), accts.swaps)
		}
	}
}

// TestRehashOff: with NoRehash ([auth] rehash_on_login = false) the
// imported hash stays and keeps working.
func TestRehashOff(t *testing.T) {
	a, accts := newRehashAuth(t, func(c *Config) { c.NoRehash = true })
	h := importedHashes[0]
	accts.set(5, "alice", []byte(h))
	for range 2 {
		if id, err := a.Plain(context.Background(), testRemote, "alice", "secret"); err != nil || id != 5 {
			t.Fatalf("login = %d, %v", id, err)
		}
	}
	if got := string(accts.secretOf("alice")); got != h || a.Rehashes() != 0 {
		t.Fatalf("secret %q, %d re-hashes: want it untouched", got, a.Rehashes())
	}
}

// TestRehashReadOnlyAccounts: Accounts that barid may not write (no
// SecretReplacer) log in with the imported hash and are left alone.
func TestRehashReadOnlyAccounts(t *testing.T) {
	accts := &memAccounts{}
	cfg := DefaultConfig()
	cfg.Params, cfg.Clock = testParams, newFakeClock()
	a := New(accts, cfg, nil)
	accts.set(5, "alice", []byte(importedHashes[2]))
	if id, err := a.Plain(context.Background(), testRemote, "alice", "secret"); err != nil || id != 5 {
		t.Fatalf("login = %d, %v", id, err)
	}
	if a.Rehashes() != 0 {
		t.Fatalf("Rehashes = %d on read-only accounts", a.Rehashes())
	}
}

// TestRehashKeepsConcurrentPasswordChange: the password is changed
// between the check of the old hash and the swap; the swap, which is
// conditional on the old secret, does not undo the change.
func TestRehashKeepsConcurrentPasswordChange(t *testing.T) {
	a, accts := newRehashAuth(t, nil)
	accts.set(5, "alice", []byte(importedHashes[2]))
	changed, _ := NewSecret("new password", testParams)
	ran := false
	accts.beforeSwap = func() { ran = true; accts.set(5, "alice", changed) }
	if id, err := a.Plain(context.Background(), testRemote, "alice", "secret"); err != nil || id != 5 {
		t.Fatalf("login = %d, %v", id, err)
	}
	if !ran {
		t.Fatal("no re-hash was attempted")
	}
	if !bytes.Equal(accts.secretOf("alice"), changed) || a.Rehashes() != 0 {
		t.Fatalf("the concurrent password change was overwritten (%d re-hashes)", a.Rehashes())
	}
}

// TestRehashLeavesBaridSecrets: a barid secret is not rewritten at
// login, even one made with lower argon2id costs than configured.
func TestRehashLeavesBaridSecrets(t *testing.T) {
	a, accts := newRehashAuth(t, func(c *Config) { c.Params.ArgonMemory = 128 })
	s, _ := NewSecret("secret", testParams) // m=64
	accts.set(5, "alice", s)
	if _, err := a.Plain(context.Background(), testRemote, "alice", "secret"); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(accts.secretOf("alice"), s) || a.Rehashes() != 0 {
		t.Fatal("a barid secret was re-hashed")
	}
}

// TestImportedHashLimits: an imported SHA-crypt hash over the
// crypt_rounds limit cannot log in (and is not re-hashed); raising the
// limit lets it. CheckImportedHash refuses it at import, naming the
// limit, and refuses unknown schemes and malformed values.
func TestImportedHashLimits(t *testing.T) {
	// Drepper's test vector with rounds=10000.
	h := "{SHA256-CRYPT}$5$rounds=10000$saltstringsaltst$3xv.VbSHBb41AL9AvLeujZkZRBAwqFMz2.opqey6IcA"
	low := SchemeLimits{MaxCryptRounds: 5000}
	a, accts := newRehashAuth(t, func(c *Config) { c.SchemeLimits = low })
	accts.set(5, "alice", []byte(h))
	if _, err := a.Plain(context.Background(), testRemote, "alice", "Hello world!"); !errors.Is(err, ErrAuthFailed) {
		t.Fatalf("over crypt_rounds: %v", err)
	}
	if string(accts.secretOf("alice")) != h {
		t.Fatal("a refused hash was re-hashed")
	}
	err := CheckImportedHash(h, low)
	if err == nil || !strings.Contains(err.Error(), "crypt_rounds") {
		t.Fatalf("CheckImportedHash over the limit: %v", err)
	}
	if err := CheckImportedHash(h, SchemeLimits{}); err != nil {
		t.Fatalf("CheckImportedHash with the default limit: %v", err)
	}
	a, accts = newRehashAuth(t, nil)
	accts.set(5, "alice", []byte(h))
	if _, err := a.Plain(context.Background(), testRemote, "alice", "Hello world!"); err != nil {
		t.Fatalf("under crypt_rounds: %v", err)
	}
	for _, bad := range []string{"{NTLM}8846f7eaee8fb117ad06bdd830b7586c", "{SSHA}!!", "secret", "{PLAIN}a\nb", "{CRYPT}_J9..CCCCXBrJUJV154M"} {
		if err := CheckImportedHash(bad, SchemeLimits{}); err == nil {
			t.Errorf("CheckImportedHash(%q) accepted it", bad)
		}
	}
}
