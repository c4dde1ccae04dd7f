package auth

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/go-ldap/ldap/v3"
)

// LDAPConfig configures the LDAP source (config.LDAP, [auth.ldap]).
type LDAPConfig struct {
	URL                string // ldap:// or ldaps://
	StartTLS           bool   // RFC 4511 §4.14 on an ldap:// URL
	TLS                *tls.Config
	BindDN             string // "" binds anonymously
	BindPassword       string
	BaseDN             string
	UserFilter         string // %u %n %d, escaped per RFC 4515 §3
	AddressFilter      string
	Compare            bool         // check PasswordAttribute instead of binding as the user
	PasswordAttribute  string       // default userPassword
	Limits             SchemeLimits // on the hashes read in compare mode
	LoginAttribute     string       // default uid
	MailAttributes     []string
	QuotaAttribute     string
	EnabledAttribute   string
	EnabledValues      []string
	PoolSize           int           // default 4
	Timeout            time.Duration // default 5s
	MaxBackoff         time.Duration // default 30s
	DefaultScheme      string        // for userPassword values without {SCHEME}; "" is CRYPT
	Logger             *slog.Logger
	dialForTestingOnly func() (*ldap.Conn, error)
}

// Defaults of LDAPConfig.
const (
	DefaultLDAPUserFilter    = "(&(objectClass=inetOrgPerson)(|(uid=%u)(mail=%u)))"
	DefaultLDAPAddressFilter = "(&(objectClass=inetOrgPerson)(|(uid=%u)(mail=%u)(mailAlternateAddress=%u)))"
)

// LDAP is the LDAP source (RFC 4511): it finds a user's entry with the
// service account (bind_dn) and checks the password by binding as that
// entry's DN (RFC 4513 §5.1.3 simple bind; the default), or by reading
// the password attribute and checking it as a {SCHEME} hash. Connections
// are pooled; a failed connect starts a back-off (doubling up to
// MaxBackoff) during which lookups fail at once with an error, which the
// Authenticator reports as ErrUnavailable.
type LDAP struct {
	cfg LDAPConfig
	log *slog.Logger

	slots chan struct{} // PoolSize: connections open or being opened
	idle  chan *ldapConn

	mu           sync.Mutex
	backoff      time.Duration
	backoffUntil time.Time
	lastErr      error
	closed       bool
}

type ldapConn struct {
	*ldap.Conn
	asService bool // bound as the service account (not a user)
}

// NewLDAP returns an LDAP source; it connects on first use.
func NewLDAP(cfg LDAPConfig) *LDAP {
	if cfg.MailAttributes == nil {
		cfg.MailAttributes = []string{"mail", "mailAlternateAddress"}
	}
	switch {
	case cfg.AddressFilter != "":
	case cfg.UserFilter == "":
		cfg.AddressFilter = DefaultLDAPAddressFilter
	default:
		// Only user_filter configured: a recipient is whoever logs in
		// under that name, or has it in one of the mail attributes.
		f := "(|" + cfg.UserFilter
		for _, a := range cfg.MailAttributes {
			f += "(" + a + "=%u)"
		}
		cfg.AddressFilter = f + ")"
	}
	if cfg.UserFilter == "" {
		cfg.UserFilter = DefaultLDAPUserFilter
	}
	if cfg.PasswordAttribute == "" {
		cfg.PasswordAttribute = "userPassword"
	}
	if cfg.LoginAttribute == "" {
		cfg.LoginAttribute = "uid"
	}
	if len(cfg.EnabledValues) == 0 {
		cfg.EnabledValues = []string{"TRUE", "yes", "1", "enabled", "active"}
	}
	if cfg.PoolSize <= 0 {
		cfg.PoolSize = 4
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 5 * time.Second
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = 30 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &LDAP{cfg: cfg, log: cfg.Logger, slots: make(chan struct{}, cfg.PoolSize),
		idle: make(chan *ldapConn, cfg.PoolSize)}
}

// LDAPTLSConfig builds the TLS settings of an LDAP connection: the
// system roots or caFile's certificates, the URL's host as server name.
func LDAPTLSConfig(url, caFile string, insecure bool) (*tls.Config, error) {
	host := url
	if i := strings.Index(host, "://"); i >= 0 {
		host = host[i+3:]
	}
	host, _, _ = strings.Cut(host, "/")
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	tc := &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12, InsecureSkipVerify: insecure}
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("ldap ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("ldap ca_file %s: no certificates", caFile)
		}
		tc.RootCAs = pool
	}
	return tc, nil
}

// Name is "ldap".
func (l *LDAP) Name() string { return "ldap" }

// Close closes the idle connections; the source cannot be used again.
func (l *LDAP) Close() error {
	l.mu.Lock()
	l.closed = true
	l.mu.Unlock()
	for {
		select {
		case c := <-l.idle:
			c.Close()
		default:
			return nil
		}
	}
}

// errBackoff is returned while reconnecting is paused.
var errBackoff = errors.New("ldap: server unreachable, waiting before reconnecting")

// dial opens and binds a new connection, or refuses during back-off.
func (l *LDAP) dial() (*ldapConn, error) {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil, errors.New("ldap: source closed")
	}
	if time.Now().Before(l.backoffUntil) {
		err := fmt.Errorf("%w (last error: %v)", errBackoff, l.lastErr)
		l.mu.Unlock()
		return nil, err
	}
	l.mu.Unlock()
	c, err := l.connect()
	l.mu.Lock()
	defer l.mu.Unlock()
	if err != nil {
		l.backoff = min(max(2*l.backoff, 250*time.Millisecond), l.cfg.MaxBackoff)
		l.backoffUntil = time.Now().Add(l.backoff)
		l.lastErr = err
		l.log.Warn("ldap: connect failed", "url", l.cfg.URL, "err", err, "retry_in", l.backoff)
		return nil, err
	}
	l.backoff, l.lastErr = 0, nil
	return c, nil
}

func (l *LDAP) connect() (*ldapConn, error) {
	var conn *ldap.Conn
	var err error
	if l.cfg.dialForTestingOnly != nil {
		conn, err = l.cfg.dialForTestingOnly()
	} else {
		opts := []ldap.DialOpt{ldap.DialWithDialer(&net.Dialer{Timeout: l.cfg.Timeout})}
		if l.cfg.TLS != nil {
			opts = append(opts, ldap.DialWithTLSConfig(l.cfg.TLS))
		}
		conn, err = ldap.DialURL(l.cfg.URL, opts...)
	}
	if err != nil {
		return nil, err
	}
	conn.SetTimeout(l.cfg.Timeout)
	if l.cfg.StartTLS {
		tc := l.cfg.TLS
		if tc == nil {
			tc = &tls.Config{MinVersion: tls.VersionTLS12}
		}
		if err := conn.StartTLS(tc); err != nil {
			conn.Close()
			return nil, fmt.Errorf("ldap: starttls: %w", err)
		}
	}
	c := &ldapConn{Conn: conn}
	if err := l.bindService(c); err != nil {
		conn.Close()
		return nil, err
	}
	return c, nil
}

func (l *LDAP) bindService(c *ldapConn) error {
	if l.cfg.BindDN == "" {
		// RFC 4513 §5.1.1: anonymous; a bind with empty name and
		// password resets a connection that was bound as a user.
		if err := c.UnauthenticatedBind(""); err != nil {
			return fmt.Errorf("ldap: anonymous bind: %w", err)
		}
	} else if err := c.Bind(l.cfg.BindDN, l.cfg.BindPassword); err != nil {
		return fmt.Errorf("ldap: bind as %s: %w", l.cfg.BindDN, err)
	}
	c.asService = true
	return nil
}

// get returns a connection bound as the service account. fresh reports
// whether it was just opened (a request failing on a reused connection
// is retried once on a new one: the server may have closed it).
func (l *LDAP) get(ctx context.Context) (c *ldapConn, fresh bool, err error) {
	select {
	case l.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, false, ctx.Err()
	}
	for {
		select {
		case c = <-l.idle:
		default:
			c, err = l.dial()
			if err != nil {
				<-l.slots
				return nil, false, err
			}
			return c, true, nil
		}
		if c.IsClosing() {
			c.Close()
			continue
		}
		if !c.asService {
			if err := l.bindService(c); err != nil {
				c.Close()
				continue
			}
		}
		return c, false, nil
	}
}

// put returns c to the pool, or closes it when broken.
func (l *LDAP) put(c *ldapConn, broken bool) {
	if broken || c.IsClosing() {
		c.Close()
	} else {
		select {
		case l.idle <- c:
		default:
			c.Close()
		}
	}
	<-l.slots
}

// isNetwork reports errors that mean the connection is unusable.
func isNetwork(err error) bool {
	var le *ldap.Error
	if errors.As(err, &le) {
		return le.ResultCode == ldap.ErrorNetwork || le.ResultCode >= ldap.LDAPResultTimeout && le.ResultCode < 300
	}
	return err != nil
}

// with runs f on a service-bound connection, retrying once on a new
// connection when a pooled one turns out to be dead.
func (l *LDAP) with(ctx context.Context, f func(c *ldapConn) error) error {
	for attempt := 0; ; attempt++ {
		c, fresh, err := l.get(ctx)
		if err != nil {
			return err
		}
		err = f(c)
		broken := isNetwork(err)
		l.put(c, broken)
		if broken && !fresh && attempt == 0 {
			continue
		}
		return err
	}
}

// filter fills %u (the whole name), %n (before the last '@'), %d (after
// it) and %% into tmpl, each value escaped per RFC 4515 §3 so that a
// name such as "*)(uid=*" matches only itself.
func filter(tmpl, name string) string {
	local, domain := name, ""
	if i := strings.LastIndexByte(name, '@'); i >= 0 {
		local, domain = name[:i], name[i+1:]
	}
	var b strings.Builder
	for i := 0; i < len(tmpl); i++ {
		if tmpl[i] != '%' || i+1 == len(tmpl) {
			b.WriteByte(tmpl[i])
			continue
		}
		i++
		switch tmpl[i] {
		case 'u':
			b.WriteString(ldap.EscapeFilter(name))
		case 'n':
			b.WriteString(ldap.EscapeFilter(local))
		case 'd':
			b.WriteString(ldap.EscapeFilter(domain))
		case '%':
			b.WriteByte('%')
		default:
			b.WriteByte('%')
			b.WriteByte(tmpl[i])
		}
	}
	return b.String()
}

// search finds the one entry tmpl selects for name; ErrUnknownUser if
// none or more than one (an ambiguous name logs in nobody).
func (l *LDAP) search(ctx context.Context, tmpl, name string, withPassword bool) (*ldap.Entry, error) {
	attrs := []string{l.cfg.LoginAttribute}
	attrs = append(attrs, l.cfg.MailAttributes...)
	for _, a := range []string{l.cfg.QuotaAttribute, l.cfg.EnabledAttribute} {
		if a != "" {
			attrs = append(attrs, a)
		}
	}
	if withPassword {
		attrs = append(attrs, l.cfg.PasswordAttribute)
	}
	req := ldap.NewSearchRequest(l.cfg.BaseDN, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases,
		2, int(l.cfg.Timeout/time.Second)+1, false, filter(tmpl, name), attrs, nil)
	var res *ldap.SearchResult
	err := l.with(ctx, func(c *ldapConn) error {
		var err error
		res, err = c.Search(req)
		return err
	})
	switch {
	case ldap.IsErrorWithCode(err, ldap.LDAPResultSizeLimitExceeded):
		l.log.Warn("ldap: name matches more than one entry; refused", "user", logName(name))
		return nil, ErrUnknownUser
	case ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject):
		return nil, ErrUnknownUser
	case err != nil:
		return nil, err
	}
	switch len(res.Entries) {
	case 0:
		return nil, ErrUnknownUser
	case 1:
		return res.Entries[0], nil
	}
	l.log.Warn("ldap: name matches more than one entry; refused", "user", logName(name))
	return nil, ErrUnknownUser
}

// user maps an entry's attributes to a User.
func (l *LDAP) user(e *ldap.Entry, name string) *User {
	u := &User{Name: strings.ToLower(e.GetAttributeValue(l.cfg.LoginAttribute))}
	if u.Name == "" {
		u.Name = strings.ToLower(name)
	}
	for _, a := range l.cfg.MailAttributes {
		for _, v := range e.GetAttributeValues(a) {
			u.Addresses = append(u.Addresses, strings.ToLower(v))
		}
	}
	if l.cfg.QuotaAttribute != "" {
		if q, ok := ParseSize(e.GetAttributeValue(l.cfg.QuotaAttribute)); ok {
			u.QuotaBytes = q
		}
	}
	if l.cfg.EnabledAttribute != "" {
		v := e.GetAttributeValue(l.cfg.EnabledAttribute)
		u.Disabled = true
		for _, ok := range l.cfg.EnabledValues {
			if strings.EqualFold(v, ok) {
				u.Disabled = false
			}
		}
	}
	return u
}

// Authenticate finds the entry with UserFilter and checks the password.
func (l *LDAP) Authenticate(ctx context.Context, login, password string) (*User, error) {
	if password == "" {
		// RFC 4513 §5.1.2: a simple bind with a DN and an empty
		// password is an unauthenticated bind that servers may accept.
		return nil, ErrAuthFailed
	}
	e, err := l.search(ctx, l.cfg.UserFilter, login, l.cfg.Compare)
	if err != nil {
		return nil, err
	}
	if l.cfg.Compare {
		ok := false
		for _, stored := range e.GetAttributeValues(l.cfg.PasswordAttribute) {
			good, err := l.cfg.Limits.Verify(stored, password, l.cfg.DefaultScheme)
			if err != nil {
				l.log.Error("ldap: unusable password attribute", "dn", e.DN, "err", err)
				continue
			}
			ok = ok || good
		}
		if !ok {
			return nil, ErrAuthFailed
		}
		return l.user(e, login), nil
	}
	// Search-then-bind (RFC 4513 §5.1.3): the bind leaves the
	// connection bound as the user; get binds it back before reuse.
	err = l.with(ctx, func(c *ldapConn) error {
		c.asService = false
		return c.Bind(e.DN, password)
	})
	var le *ldap.Error
	if errors.As(err, &le) {
		switch le.ResultCode {
		case ldap.LDAPResultInvalidCredentials, ldap.LDAPResultInappropriateAuthentication,
			ldap.LDAPResultInsufficientAccessRights, ldap.LDAPResultUnwillingToPerform,
			ldap.LDAPResultConstraintViolation:
			// 49; 53 and 19 are what AD and ppolicy answer for
			// disabled or locked accounts.
			return nil, ErrAuthFailed
		}
	}
	if err != nil {
		return nil, err
	}
	return l.user(e, login), nil
}

// Lookup finds the entry of a login name or address with AddressFilter.
func (l *LDAP) Lookup(ctx context.Context, name string) (*User, error) {
	e, err := l.search(ctx, l.cfg.AddressFilter, name, false)
	if err != nil {
		return nil, err
	}
	return l.user(e, name), nil
}
