package auth

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"sync"
	"time"
)

// loginCache remembers, for a while, that an account's password was
// verified, so that the next login with the same password needs one
// HMAC-SHA-256 instead of an argon2id hash (tens of milliseconds of CPU
// and 19 MiB at the default cost). Mail clients log in all the time:
// Thunderbird opens several connections, a phone reconnects on every
// network change. Dovecot has the same cache (auth_cache_size,
// auth_cache_ttl), off by default there.
//
// What is kept per account is an HMAC of the password under a key drawn
// at start and never stored, and a digest of the stored secret the
// password was checked against: a password change, a new secret or a
// deleted account (the secret is read from the store on every login)
// makes the entry useless at once. Nothing is cached for a failed login,
// so a wrong password and an unknown user still cost one argon2id hash
// and take the same time. A login that hits the cache is faster, which
// tells only its own client, who knew the password, that the account
// logged in recently. Someone who can read the process's memory can
// test guesses against an entry at HMAC speed rather than argon2id
// speed; set auth.cache_ttl = "0s" to keep argon2id for every login.
type loginCache struct {
	key []byte
	ttl time.Duration
	max int

	mu sync.Mutex
	m  map[int64]cachedLogin
}

type cachedLogin struct {
	secret  [sha256.Size]byte // digest of the stored secret
	mac     [sha256.Size]byte // HMAC-SHA-256(key, password)
	expires time.Time
}

// newLoginCache returns nil (no cache) when ttl or max is not positive.
func newLoginCache(ttl time.Duration, max int) *loginCache {
	if ttl <= 0 || max <= 0 {
		return nil
	}
	c := &loginCache{key: make([]byte, 32), ttl: ttl, max: max, m: map[int64]cachedLogin{}}
	rand.Read(c.key)
	return c
}

func (c *loginCache) mac(password string) (out [sha256.Size]byte) {
	h := hmac.New(sha256.New, c.key)
	h.Write([]byte(password))
	h.Sum(out[:0])
	return out
}

// hit reports whether account id logged in with password against the
// stored secret raw within the TTL.
func (c *loginCache) hit(id int64, raw []byte, password string, now time.Time) bool {
	if c == nil {
		return false
	}
	c.mu.Lock()
	e, ok := c.m[id]
	c.mu.Unlock()
	if !ok || !now.Before(e.expires) || sha256.Sum256(raw) != e.secret {
		return false
	}
	mac := c.mac(password)
	return hmac.Equal(mac[:], e.mac[:])
}

// add records a verified login. A full cache first drops expired
// entries, then arbitrary ones.
func (c *loginCache) add(id int64, raw []byte, password string, now time.Time) {
	if c == nil {
		return
	}
	e := cachedLogin{secret: sha256.Sum256(raw), mac: c.mac(password), expires: now.Add(c.ttl)}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[id]; !ok && len(c.m) >= c.max {
		for k, v := range c.m {
			if !now.Before(v.expires) {
				delete(c.m, k)
			}
		}
		for k := range c.m {
			if len(c.m) < c.max {
				break
			}
			delete(c.m, k)
		}
	}
	c.m[id] = e
}
