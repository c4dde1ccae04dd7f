package auth

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"runtime"
	"sync/atomic"
	"time"
	"unicode/utf8"
)

// Errors returned by the Authenticator and its mechanisms.
var (
	// ErrUnknownUser is what Accounts.Secret returns for a name with no
	// account. The Authenticator never returns it to its callers: an
	// unknown user gets ErrAuthFailed, like a wrong password.
	ErrUnknownUser = errors.New("auth: unknown user")
	// ErrAuthFailed means the credentials were rejected (IMAP:
	// NO [AUTHENTICATIONFAILED], RFC 5530 §3).
	ErrAuthFailed = errors.New("auth: authentication failed")
	// ErrThrottled is the sentinel behind every *LimitError
	// (errors.Is(err, ErrThrottled)); IMAP: NO [LIMIT] or BYE.
	ErrThrottled = errors.New("auth: throttled")
	// ErrMalformed means a client SASL message did not parse. The
	// exchange is over; IMAP answers BAD (RFC 9051 §6.2.2).
	ErrMalformed = errors.New("auth: malformed SASL message")
	// ErrUnsupportedMechanism is returned by Start for a mechanism that is
	// unknown or not available on this connection (IMAP: NO).
	ErrUnsupportedMechanism = errors.New("auth: unsupported mechanism")
	// ErrAuthzFailed means the client asked to act as another identity
	// (SASL authzid, RFC 4422 §3.4.1) than the one it authenticated as;
	// barid has no proxy authorization. errors.Is(ErrAuthzFailed,
	// ErrAuthFailed) is true; IMAP may answer NO [AUTHORIZATIONFAILED].
	ErrAuthzFailed error = authzError{}
)

type authzError struct{}

func (authzError) Error() string {
	return "auth: authorization identity differs from authentication identity"
}
func (authzError) Is(target error) bool { return target == ErrAuthFailed }

// LimitError reports that a named limit was reached. Limit is the config
// name of the limit ("max_conns_per_ip", "max_conns_per_user",
// "max_conns_per_user_ip", "conn_rate_per_ip"). errors.Is(err,
// ErrThrottled) is true.
type LimitError struct {
	Limit string
	Max   int
}

// limitMeaning says in words what each limit counts, for the error a
// client sees.
var limitMeaning = map[string]string{
	"max_conns_per_ip":      "connections from this address",
	"max_conns_per_user":    "sessions of this account",
	"max_conns_per_user_ip": "sessions of this account from this address",
	"conn_rate_per_ip":      "new connections per minute from this address",
}

func (e *LimitError) Error() string {
	if m := limitMeaning[e.Limit]; m != "" {
		return fmt.Sprintf("auth: limit %s (%d) reached: too many %s", e.Limit, e.Max, m)
	}
	return fmt.Sprintf("auth: limit %s (%d) reached", e.Limit, e.Max)
}

// Is makes every LimitError match ErrThrottled.
func (e *LimitError) Is(target error) bool { return target == ErrThrottled }

// Accounts is the lookup the Authenticator needs. The server passes an
// adapter over store.Store (see StoreAccounts).
type Accounts interface {
	// Secret returns the account id and its stored secret (as made by
	// NewSecret). It returns ErrUnknownUser if there is no such account.
	// Names are matched the way the store matches them (case-insensitive).
	Secret(ctx context.Context, username string) (accountID int64, secret []byte, err error)
}

// Clock is time as the throttle sees it; tests swap it for a fake so
// nothing sleeps for real.
type Clock interface {
	Now() time.Time
	// Sleep waits d or until ctx is done, returning ctx.Err() then.
	Sleep(ctx context.Context, d time.Duration) error
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Config tunes throttling and limits. A zero duration or count means
// "off" for delays and limits; fields marked (default) get their default
// when zero. DefaultConfig returns the values barid ships with.
type Config struct {
	// FailureDelay is the delay after the first failed login from an IP
	// or for an account. 0 disables failure delays.
	FailureDelay time.Duration
	// MaxFailureDelay caps the delay.
	MaxFailureDelay time.Duration
	// IPGrowth and UserGrowth multiply the delay for each further failure
	// from the same address (IPv6: the same /IPv6Prefix) and for the same
	// account name. (default 2)
	IPGrowth, UserGrowth float64
	// FailureWindow: a failure count is forgotten once this long has
	// passed since its last failure. (default 15m)
	FailureWindow time.Duration
	// MaxTrackedFailures bounds the memory of the failure and rate
	// tables; past it, expired entries and then arbitrary ones are
	// dropped. (default 100000)
	MaxTrackedFailures int
	// IPv6Prefix groups IPv6 clients for failure counting and connection
	// limits: one end site usually gets a whole /64. (default 64)
	IPv6Prefix int

	// MaxConnsPerIP limits concurrent connections from one address
	// (named limit "max_conns_per_ip"). 0 = unlimited. Many users
	// behind one NAT share an address, so it is a coarse ceiling
	// against a flood from one host, not a per-user limit.
	MaxConnsPerIP int
	// MaxConnsPerUser limits concurrent authenticated sessions of one
	// account ("max_conns_per_user"). 0 = unlimited. Applies to trusted
	// networks too.
	MaxConnsPerUser int
	// MaxConnsPerUserIP limits concurrent authenticated sessions of one
	// account from one address ("max_conns_per_user_ip"; IPv6: one
	// /IPv6Prefix), like Dovecot's mail_max_userip_connections: a
	// runaway client cannot use up the account's MaxConnsPerUser and
	// lock out its owner's other devices. 0 = unlimited. Trusted
	// networks are exempt (behind a proxy every user shares its
	// address).
	MaxConnsPerUserIP int
	// ConnRatePerIP limits new connections per minute from one address
	// ("conn_rate_per_ip"), as a token bucket with that burst. 0 = off.
	ConnRatePerIP int
	// TrustedNetworks are exempt from MaxConnsPerIP and ConnRatePerIP
	// (load balancers, load tests), but not from failed-login delays.
	// Empty by default: loopback is not special.
	TrustedNetworks []netip.Prefix

	// Params are the hash costs of the dummy secret that unknown users
	// are checked against; set them to what new secrets use so both
	// paths take the same time. (default DefaultParams())
	Params Params
	// MaxConcurrentHashes bounds argon2id verifications running at once;
	// each uses Params.ArgonMemory KiB. Further logins wait their turn.
	// (default 2 × GOMAXPROCS)
	MaxConcurrentHashes int

	// CacheTTL is how long a verified password is remembered (see
	// loginCache); CacheSize bounds the accounts remembered. Either 0:
	// no cache, every login hashes.
	CacheTTL  time.Duration
	CacheSize int

	// Clock is for tests. (default: the real clock)
	Clock Clock

	// Directory is the chain of account sources ([auth] sources). Nil:
	// the builtin accounts (Accounts) only.
	Directory *Directory
	// OAuth validates bearer tokens for OAUTHBEARER and XOAUTH2
	// ([auth.oauth]); nil: those mechanisms are not offered.
	OAuth TokenVerifier
	// SchemeLimits bound the work of the stored hashes checked at
	// login ([limits] crypt_rounds and bcrypt_cost) where the
	// Authenticator checks them itself (builtin accounts holding an
	// imported {SCHEME} hash).
	SchemeLimits SchemeLimits
	// NoRehash keeps imported and bare-PHC secrets of builtin accounts
	// as they are after a successful login instead of replacing them
	// with a barid secret ([auth] rehash_on_login = false; rehash.go).
	NoRehash bool
	// MaxTokenBytes caps one bearer token ([limits] oauth_token_size;
	// default DefaultMaxTokenBytes); a longer one is a *TokenSizeError.
	MaxTokenBytes int
}

// DefaultConfig is barid's default throttling: 1s after a failed login,
// doubling per further failure per IP and per account up to 15s,
// forgotten after 15 minutes; 1000 connections per IP, 100 sessions
// per user, 10 per user and IP, as in internal/config's defaults.
func DefaultConfig() Config {
	return Config{
		FailureDelay:      time.Second,
		MaxFailureDelay:   15 * time.Second,
		IPGrowth:          2,
		UserGrowth:        2,
		FailureWindow:     15 * time.Minute,
		MaxConnsPerIP:     1000,
		MaxConnsPerUser:   100,
		MaxConnsPerUserIP: 10,
		Params:            DefaultParams(),
		CacheTTL:          time.Hour,
		CacheSize:         100_000,
	}
}

func (c *Config) fillDefaults() {
	if c.IPGrowth < 1 {
		c.IPGrowth = 2
	}
	if c.UserGrowth < 1 {
		c.UserGrowth = 2
	}
	if c.FailureWindow <= 0 {
		c.FailureWindow = 15 * time.Minute
	}
	if c.MaxFailureDelay < c.FailureDelay {
		c.MaxFailureDelay = c.FailureDelay
	}
	if c.MaxTrackedFailures <= 0 {
		c.MaxTrackedFailures = 100_000
	}
	if c.IPv6Prefix <= 0 || c.IPv6Prefix > 128 {
		c.IPv6Prefix = 64
	}
	if c.Params == (Params{}) {
		c.Params = DefaultParams()
	}
	if c.MaxConcurrentHashes <= 0 {
		c.MaxConcurrentHashes = 2 * runtime.GOMAXPROCS(0)
	}
	if c.Clock == nil {
		c.Clock = realClock{}
	}
	if c.MaxTokenBytes <= 0 {
		c.MaxTokenBytes = DefaultMaxTokenBytes
	}
}

// Authenticator checks credentials, runs SASL mechanisms, delays failed
// logins and counts connections. It is safe for concurrent use; one is
// shared by all listeners.
type Authenticator struct {
	accts Accounts
	cfg   Config
	log   *slog.Logger
	clock Clock

	dummy   *argonHash    // checked for unknown users (same cost as real ones)
	fakeKey []byte        // keys fake SCRAM salts for unknown users
	hashSem chan struct{} // MaxConcurrentHashes
	hashes  atomic.Int64  // argon2id verifications run
	logins  atomic.Int64  // password checks, hashed or answered by the cache
	cache   *loginCache   // nil: off
	fails   failTable
	conns   connTable
	nonce   func() string // SCRAM server nonce; tests replace it

	// dummies counts logins checked against the dummy hash because no
	// source knew the name.
	dummies atomic.Int64

	// rehashes counts secrets re-hashed at login (rehash.go).
	rehashes atomic.Int64

	// cacheHits and cacheMisses count password checks of known accounts
	// the login cache answered, or that had to hash (cache on only).
	cacheHits, cacheMisses atomic.Int64
}

// Hashes returns how many argon2id verifications have run. Each uses
// Params.ArgonMemory KiB of heap that is garbage right after.
func (a *Authenticator) Hashes() int64 { return a.hashes.Load() }

// DummyChecks returns how many logins were checked against the dummy
// argon2id hash because no source knew the user: such a login costs the
// same hash as a wrong password.
func (a *Authenticator) DummyChecks() int64 { return a.dummies.Load() }

// Directory returns the configured account sources (nil if none).
func (a *Authenticator) Directory() *Directory { return a.cfg.Directory }

// Logins returns how many password checks have run, hashed or answered
// by the login cache. The app watches it to hand the heap a burst of
// logins left behind (argon2id's memory, new sessions' buffers) back to
// the operating system once the burst is over.
func (a *Authenticator) Logins() int64 { return a.logins.Load() }

// CacheStats returns how many password checks of existing accounts the
// login cache answered (hits) and how many had to run argon2id
// (misses), since New; both stay 0 with the cache off.
func (a *Authenticator) CacheStats() (hits, misses int64) {
	return a.cacheHits.Load(), a.cacheMisses.Load()
}

// New returns an Authenticator over accts. A nil logger discards.
func New(accts Accounts, cfg Config, logger *slog.Logger) *Authenticator {
	cfg.fillDefaults()
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	a := &Authenticator{
		accts:   accts,
		cfg:     cfg,
		log:     logger,
		clock:   cfg.Clock,
		fakeKey: make([]byte, 32),
		hashSem: make(chan struct{}, cfg.MaxConcurrentHashes),
		nonce:   randomNonce,
		cache:   newLoginCache(cfg.CacheTTL, cfg.CacheSize),
	}
	rand.Read(a.fakeKey)
	p := cfg.Params
	if p.validate() != nil {
		p = DefaultParams()
	}
	pw := make([]byte, 16)
	rand.Read(pw)
	salt := make([]byte, saltLen)
	rand.Read(salt)
	// The dummy hash is never computed from a known password: only its
	// cost matters. It is built directly rather than through NewSecret to
	// skip the SCRAM key derivation.
	a.dummy = &argonHash{Time: p.ArgonTime, Memory: p.ArgonMemory, Threads: p.ArgonThreads, Salt: salt,
		Hash: make([]byte, argonKeyLen)}
	rand.Read(a.dummy.Hash)
	a.fails.init(&a.cfg)
	a.conns.init(&a.cfg)
	if cfg.Directory != nil {
		cfg.Directory.init()
	}
	return a
}

// Limits on client-supplied credentials; longer ones fail like a wrong
// password (with the delay), without being hashed.
const (
	maxUsernameLen = 255
	maxPasswordLen = 1024
)

// Plain checks a username and password, as LOGIN (RFC 9051 §6.2.3) and
// the PLAIN and LOGIN SASL mechanisms need.
//
// If earlier logins from remote or for username failed recently, it
// first waits the current penalty (so a client can't learn the outcome
// early by timing out: a success also waits). On failure it records the
// failure and waits only what the grown delay adds to the wait already
// paid, so a failed login waits at most MaxFailureDelay in all, then
// returns ErrAuthFailed. An unknown
// user is checked against a dummy argon2id hash of the same cost, so it
// gets the same error in the same time as a wrong password. Waits end
// early with ctx.Err() when ctx is cancelled.
func (a *Authenticator) Plain(ctx context.Context, remote netip.Addr, username, password string) (int64, error) {
	return a.plain(ctx, "password", remote, "", username, password)
}

// plain checks a password; authzid, if not empty, must name the same
// account (RFC 4616 §2; barid has no proxy authorization).
func (a *Authenticator) plain(ctx context.Context, mech string, remote netip.Addr, authzid, username, password string) (int64, error) {
	a.logins.Add(1)
	waited, err := a.waitPenalty(ctx, remote, username)
	if err != nil {
		return 0, err
	}
	if len(username) == 0 || len(username) > maxUsernameLen || !utf8.ValidString(username) ||
		len(password) == 0 || len(password) > maxPasswordLen {
		return 0, a.fail(ctx, mech, remote, username, "credentials out of bounds", waited)
	}
	if d := a.cfg.Directory; d != nil {
		// An app password ("barid user app-password") logs in for the
		// protocols it names, instead of the account's password.
		id, ok, err := d.appPassword(ctx, username, password)
		if err != nil {
			return 0, err
		}
		if ok {
			return a.succeed(mech+" (app password)", remote, authzid, username, id)
		}
	}
	for _, src := range a.cfg.Directory.sources() {
		if src == nil {
			id, done, err := a.builtin(ctx, mech, remote, authzid, username, password, waited)
			if done || err != nil {
				return id, err
			}
			continue
		}
		u, err := a.cfg.Directory.authenticate(ctx, src, username, password)
		switch {
		case errors.Is(err, ErrUnknownUser):
			continue
		case errors.Is(err, ErrAuthFailed):
			return 0, a.fail(ctx, mech, remote, username, "wrong password ("+src.Name()+")", waited)
		case err != nil:
			// An outage: nobody logs in, and the client is told to
			// come back rather than that its password is wrong.
			return 0, err
		case u.Disabled:
			return 0, a.fail(ctx, mech, remote, username, "account disabled ("+src.Name()+")", waited)
		}
		acct, err := a.cfg.Directory.account(ctx, src.Name(), u)
		if err != nil {
			return 0, fmt.Errorf("%w: store account for %s user: %v", ErrUnavailable, src.Name(), err)
		}
		return a.succeed(mech, remote, authzid, username, acct.ID)
	}
	// No source knows the name: check the password against the dummy
	// hash all the same, so this costs what a wrong password costs.
	a.dummies.Add(1)
	if err := a.verifyHash(ctx, a.dummy, password); err != nil {
		return 0, err
	}
	return 0, a.fail(ctx, mech, remote, username, "unknown user", waited)
}

// builtin checks a login against the store's own accounts. done=false
// means the store has no such account (or only one made for a
// directory user), so the next source is asked.
func (a *Authenticator) builtin(ctx context.Context, mech string, remote netip.Addr, authzid, username, password string, waited time.Duration) (int64, bool, error) {
	id, raw, err := a.accts.Secret(ctx, username)
	switch {
	case errors.Is(err, ErrUnknownUser):
		return 0, false, nil
	case err != nil:
		return 0, true, fmt.Errorf("%w: account lookup: %v", ErrUnavailable, err)
	}
	if isExternalSecret(raw) {
		return 0, false, nil
	}
	if a.cache != nil {
		if a.cache.hit(id, raw, password, a.clock.Now()) {
			a.cacheHits.Add(1)
			id, err := a.succeed(mech, remote, authzid, username, id)
			return id, true, err
		}
		a.cacheMisses.Add(1)
	}
	s, perr := parseSecret(raw)
	switch {
	case perr != nil:
		a.log.Error("stored secret unreadable", "user", logName(username), "err", perr)
		return 0, false, nil
	case s.Argon == nil && s.Imported == "":
		a.log.Warn("account has no argon2id hash", "user", logName(username))
		return 0, false, nil
	}
	ok := false
	if s.Imported != "" {
		// A hash imported from another server (rehash.go).
		var err error
		ok, err = a.verifyImported(ctx, s.Imported, password)
		switch {
		case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
			return 0, true, err
		case err != nil:
			a.log.Error("imported password hash unusable", "user", logName(username), "err", err)
			ok = false
		}
	} else if err := a.verifyHashOK(ctx, s.Argon, password, &ok); err != nil {
		return 0, true, err
	}
	if ok {
		raw = a.rehash(ctx, id, username, raw, s, password)
		a.cache.add(id, raw, password, a.clock.Now())
		id, err := a.succeed(mech, remote, authzid, username, id)
		return id, true, err
	}
	return 0, true, a.fail(ctx, mech, remote, username, "wrong password", waited)
}

// verifyHash runs one argon2id verification under MaxConcurrentHashes,
// discarding the result (the dummy check).
func (a *Authenticator) verifyHash(ctx context.Context, h *argonHash, password string) error {
	var ok bool
	return a.verifyHashOK(ctx, h, password, &ok)
}

func (a *Authenticator) verifyHashOK(ctx context.Context, h *argonHash, password string, ok *bool) error {
	select {
	case a.hashSem <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	*ok = h.verify(password)
	<-a.hashSem
	a.hashes.Add(1)
	return nil
}

// succeed ends a login whose password was right: authzid, if given,
// must name the same account (RFC 4616 §2; barid has no proxy
// authorization).
func (a *Authenticator) succeed(mech string, remote netip.Addr, authzid, username string, id int64) (int64, error) {
	if authzid != "" && !sameAccount(authzid, username) {
		a.log.Info("login refused: authzid differs", "mech", mech, "remote", remote,
			"user", logName(username), "authzid", logName(authzid))
		return 0, ErrAuthzFailed
	}
	a.log.Info("login", "mech", mech, "remote", remote, "user", logName(username))
	return id, nil
}

// NewSecret is NewSecret with the configured Params.
func (a *Authenticator) NewSecret(password string) ([]byte, error) {
	return NewSecret(password, a.cfg.Params)
}

// waitPenalty sleeps the delay earned by recent failures, if any, and
// returns how long that was (for fail).
func (a *Authenticator) waitPenalty(ctx context.Context, remote netip.Addr, username string) (time.Duration, error) {
	d := a.fails.penalty(a.clock.Now(), a.ipKey(remote), username)
	if d <= 0 {
		return 0, ctx.Err()
	}
	return d, a.clock.Sleep(ctx, d)
}

// fail records a failed login and returns ErrAuthFailed (or ctx.Err() if
// the wait was cut short) once the attempt has been delayed by the
// failure delay now owed: waited, what waitPenalty already slept before
// the check, counts towards it, so the attempt waits max(waited, delay)
// in all, never more than MaxFailureDelay (docs/security.md promises
// that bound; waiting both in full took up to twice as long).
func (a *Authenticator) fail(ctx context.Context, mech string, remote netip.Addr, username, reason string, waited time.Duration) error {
	now := a.clock.Now()
	ipk := a.ipKey(remote)
	a.fails.record(now, ipk, username)
	d := a.fails.penalty(now, ipk, username)
	a.log.Info("login failed", "mech", mech, "remote", remote, "user", logName(username),
		"reason", reason, "delay", max(d, waited))
	if err := a.clock.Sleep(ctx, d-waited); err != nil {
		return err
	}
	return ErrAuthFailed
}

// logName bounds a client-supplied name for logging: at most 64 bytes,
// cut at a rune boundary; the slog handler does the quoting. (Users
// sometimes type their password into the name field; the cap limits
// what such a mistake puts in the log.)
func logName(s string) string {
	if len(s) <= 64 {
		return s
	}
	i := 64
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i] + "…"
}
