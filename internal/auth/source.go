package auth

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"barid/internal/store"
)

// ErrUnavailable means an account source could not answer: a directory
// is down or times out, a passwd-file cannot be read, a SQL query fails.
// Nobody logs in and no recipient is refused while it lasts: IMAP
// answers NO [UNAVAILABLE] (RFC 5530 §3), POP3 -ERR [SYS/TEMP] (RFC
// 3206 §4), submission 454 4.7.0 and LMTP 451 4.3.0 (RFC 3463).
var ErrUnavailable = errors.New("auth: account source unavailable")

// Builtin is the name of the source that is barid's own store
// ("barid user add"), the default when [auth] sources is not set.
const Builtin = "builtin"

// User is an account as a source describes it.
type User struct {
	// Name is the login name, which is also the name of the account in
	// barid's store (lower-cased, see store.NormalizeAccountName).
	Name string
	// Addresses are the mail addresses that deliver to the account
	// (LDAP mail and mailAlternateAddress, for example).
	Addresses []string
	// QuotaBytes is the account's storage quota, 0 for none given.
	QuotaBytes int64
	// Disabled accounts can neither log in nor receive mail.
	Disabled bool
}

// Source is one place accounts come from: a directory (LDAP), a
// Dovecot-style passwd-file, a SQL database. The Authenticator tries
// the configured sources in order; the first one that knows a name
// decides.
type Source interface {
	// Name is the source's config name ("ldap", "passwd-file", "sql").
	Name() string
	// Authenticate checks a password. It returns ErrUnknownUser if the
	// source has no such login, ErrAuthFailed for a wrong password, and
	// any other error when it could not tell (outage, timeout); the
	// Authenticator turns those into ErrUnavailable.
	Authenticate(ctx context.Context, login, password string) (*User, error)
	// Lookup finds a user by login name or by one of its addresses,
	// without a password (for mail delivery). ErrUnknownUser if none.
	Lookup(ctx context.Context, name string) (*User, error)
}

// Closer is implemented by sources that hold connections or watchers.
type Closer interface{ Close() error }

// Directory is the configured chain of account sources with its cache.
// Config.Directory hands it to the Authenticator; the LMTP server uses
// FindAccount to resolve recipients through it.
type Directory struct {
	// Sources in the order they are tried. A nil entry stands for the
	// builtin store accounts. Empty means builtin only.
	Sources []Source
	// Store holds the builtin accounts and the accounts made for users
	// of the other sources.
	Store store.Store
	// Provision makes the store account of a user that a directory
	// source knows but barid has not seen yet (app.CreateExternalAccount:
	// default mailboxes too). Nil: store.CreateAccount alone.
	Provision func(ctx context.Context, source string, u *User) (*store.Account, error)
	// CacheTTL is how long a verified directory login and a found
	// recipient are remembered; NegativeTTL how long "no such user" is.
	// 0 turns that part of the cache off.
	CacheTTL, NegativeTTL time.Duration
	// CacheSize bounds the cache entries (default 100000).
	CacheSize int
	// Logger gets one debug line per source call, with its duration.
	Logger *slog.Logger
	// Now is the clock (tests); nil is time.Now.
	Now func() time.Time

	once  sync.Once
	key   []byte
	mu    sync.Mutex
	cache map[string]dirEntry
	// calls counts source calls (cache misses), for tests.
	calls map[string]int
}

type dirEntry struct {
	user    *User // nil: unknown user (negative entry)
	mac     [sha256.Size]byte
	expires time.Time
}

func (d *Directory) init() {
	d.once.Do(func() {
		d.key = make([]byte, 32)
		rand.Read(d.key)
		d.cache = map[string]dirEntry{}
		d.calls = map[string]int{}
		if d.Logger == nil {
			d.Logger = slog.New(slog.DiscardHandler)
		}
		if d.Now == nil {
			d.Now = time.Now
		}
		if d.CacheSize <= 0 {
			d.CacheSize = 100_000
		}
	})
}

// Calls returns how many times source was asked (cache hits excluded).
func (d *Directory) Calls(source string) int {
	d.init()
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.calls[source]
}

// Close closes the sources that hold resources.
func (d *Directory) Close() error {
	var errs []error
	for _, s := range d.Sources {
		if c, ok := s.(Closer); ok {
			errs = append(errs, c.Close())
		}
	}
	return errors.Join(errs...)
}

// external reports whether any source besides builtin is configured.
func (d *Directory) external() bool {
	if d == nil {
		return false
	}
	for _, s := range d.Sources {
		if s != nil {
			return true
		}
	}
	return false
}

func (d *Directory) sources() []Source {
	if d == nil || len(d.Sources) == 0 {
		return []Source{nil}
	}
	return d.Sources
}

func (d *Directory) mac(password string) (out [sha256.Size]byte) {
	h := hmac.New(sha256.New, d.key)
	h.Write([]byte(password))
	h.Sum(out[:0])
	return out
}

func (d *Directory) get(key string) (dirEntry, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	e, ok := d.cache[key]
	if ok && !d.Now().Before(e.expires) {
		delete(d.cache, key)
		return dirEntry{}, false
	}
	return e, ok
}

func (d *Directory) put(key string, e dirEntry, ttl time.Duration) {
	if ttl <= 0 {
		return
	}
	e.expires = d.Now().Add(ttl)
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.cache[key]; !ok && len(d.cache) >= d.CacheSize {
		now := d.Now()
		for k, v := range d.cache {
			if !now.Before(v.expires) {
				delete(d.cache, k)
			}
		}
		for k := range d.cache {
			if len(d.cache) < d.CacheSize {
				break
			}
			delete(d.cache, k)
		}
	}
	d.cache[key] = e
}

// Flush empties the cache (after "barid alias" changes or when a test
// changes a directory).
func (d *Directory) Flush() {
	d.init()
	d.mu.Lock()
	d.cache = map[string]dirEntry{}
	d.mu.Unlock()
}

// call runs one source call and logs it with its duration.
func (d *Directory) call(ctx context.Context, src Source, op, name string, f func(context.Context) (*User, error)) (*User, error) {
	start := time.Now()
	u, err := f(ctx)
	d.mu.Lock()
	d.calls[src.Name()]++
	d.mu.Unlock()
	result := "ok"
	switch {
	case errors.Is(err, ErrUnknownUser):
		result = "unknown"
	case errors.Is(err, ErrAuthFailed):
		result = "rejected"
	case err != nil:
		result = "error"
	}
	d.Logger.Debug("account source", "source", src.Name(), "op", op, "user", logName(name),
		"result", result, "duration", time.Since(start), "err", err)
	if err != nil && result == "error" {
		d.Logger.Warn("account source unavailable", "source", src.Name(), "op", op, "user", logName(name), "err", err)
		return nil, fmt.Errorf("%w: %s: %v", ErrUnavailable, src.Name(), err)
	}
	return u, err
}

func cacheKey(op, src, name string) string {
	return op + "\x00" + src + "\x00" + strings.ToLower(name)
}

// authenticate asks src, through the cache: a login verified within
// CacheTTL with the same password and an unknown name within
// NegativeTTL are answered without asking. Wrong passwords are never
// cached.
func (d *Directory) authenticate(ctx context.Context, src Source, login, password string) (*User, error) {
	key := cacheKey("auth", src.Name(), login)
	mac := d.mac(password)
	if e, ok := d.get(key); ok {
		if e.user == nil {
			return nil, ErrUnknownUser
		}
		if hmac.Equal(e.mac[:], mac[:]) {
			return e.user, nil
		}
	}
	u, err := d.call(ctx, src, "authenticate", login, func(ctx context.Context) (*User, error) {
		return src.Authenticate(ctx, login, password)
	})
	switch {
	case errors.Is(err, ErrUnknownUser):
		d.put(key, dirEntry{}, d.NegativeTTL)
	case err == nil:
		d.put(key, dirEntry{user: u, mac: mac}, d.CacheTTL)
	}
	return u, err
}

// lookup asks src for a user by name or address, through the cache.
func (d *Directory) lookup(ctx context.Context, src Source, name string) (*User, error) {
	key := cacheKey("lookup", src.Name(), name)
	if e, ok := d.get(key); ok {
		if e.user == nil {
			return nil, ErrUnknownUser
		}
		return e.user, nil
	}
	u, err := d.call(ctx, src, "lookup", name, func(ctx context.Context) (*User, error) {
		return src.Lookup(ctx, name)
	})
	switch {
	case errors.Is(err, ErrUnknownUser):
		d.put(key, dirEntry{}, d.NegativeTTL)
	case err == nil:
		d.put(key, dirEntry{user: u}, d.CacheTTL)
	}
	return u, err
}

// account returns the store account of a user a source vouched for,
// making it on first sight.
func (d *Directory) account(ctx context.Context, source string, u *User) (*store.Account, error) {
	name := store.NormalizeAccountName(u.Name)
	acct, err := d.Store.Account(ctx, name)
	if err == nil {
		d.syncQuota(ctx, acct, u)
		return acct, nil
	}
	if !errors.Is(err, store.ErrNoAccount) {
		return nil, err
	}
	if d.Provision != nil {
		acct, err = d.Provision(ctx, source, u)
	} else {
		acct, err = d.Store.CreateAccount(ctx, name, ExternalSecret(source))
	}
	if errors.Is(err, store.ErrAccountExists) {
		return d.Store.Account(ctx, name)
	}
	if err == nil {
		d.Logger.Info("account created for directory user", "source", source, "user", logName(name))
	}
	return acct, err
}

// syncQuota copies a quota the directory gives to the store account
// when they differ (the directory is the authority; 0 there means "not
// given", which leaves barid's own setting alone).
func (d *Directory) syncQuota(ctx context.Context, acct *store.Account, u *User) {
	q, ok := d.Store.(interface {
		SetQuota(ctx context.Context, accountID, quotaBytes int64) error
	})
	if !ok || u.QuotaBytes <= 0 || u.QuotaBytes == acct.QuotaBytes {
		return
	}
	if err := q.SetQuota(ctx, acct.ID, u.QuotaBytes); err != nil {
		d.Logger.Warn("directory quota not applied", "user", logName(acct.Name), "err", err)
		return
	}
	acct.QuotaBytes = u.QuotaBytes
}

// FindAccount resolves name, a login name or a mail address, to a store
// account through the sources in order: builtin accounts by name, then
// each directory source's Lookup (login names and address attributes).
// It returns store.ErrNoAccount when no source knows it, and an error
// matching ErrUnavailable when a source could not answer before one
// that knows it did (the MTA must retry, not bounce).
func (d *Directory) FindAccount(ctx context.Context, name string) (*store.Account, error) {
	d.init()
	for _, src := range d.sources() {
		if src == nil {
			acct, err := d.Store.Account(ctx, store.NormalizeAccountName(name))
			if errors.Is(err, store.ErrNoAccount) {
				continue
			}
			if err != nil {
				return nil, err
			}
			if isExternalSecret(acct.Secret) {
				// Made for a directory user: the directory decides.
				continue
			}
			return acct, nil
		}
		u, err := d.lookup(ctx, src, name)
		if errors.Is(err, ErrUnknownUser) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if u.Disabled {
			continue
		}
		return d.account(ctx, src.Name(), u)
	}
	return nil, store.ErrNoAccount
}

// externalMarker is the item in a store secret that marks an account
// made for a directory user: it has no password of its own.
const externalMarker = "external"

// ExternalSecret is the store secret of an account whose password lives
// in the named source. It parses as a barid secret without hashes, so
// no builtin login can succeed against it.
func ExternalSecret(source string) []byte {
	return []byte(secretMagic + "\n" + externalMarker + " " + source + "\n")
}

func isExternalSecret(raw []byte) bool {
	return bytes.HasPrefix(raw, []byte(secretMagic+"\n"+externalMarker+" "))
}
