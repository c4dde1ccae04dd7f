package config

import (
	"strings"
	"time"
)

// Account sources ([auth] sources): where logins and recipients are
// looked up, in order. See docs/accounts.md.
const (
	SourceBuiltin    = "builtin"
	SourceLDAP       = "ldap"
	SourcePasswdFile = "passwd-file"
	SourceSQL        = "sql"
)

// PasswdFile is [auth.passwd_file]: a Dovecot passwd-file.
type PasswdFile struct {
	// Path of the file, "user:{SCHEME}hash:uid:gid::home::extra" lines.
	Path string `toml:"path"`
	// DefaultScheme for passwords written without "{SCHEME}" (default
	// CRYPT, as Dovecot's passwd-file).
	DefaultScheme string `toml:"default_scheme"`
}

// LDAP is [auth.ldap].
type LDAP struct {
	// URL is ldap://host:port (with StartTLS = true for STARTTLS,
	// RFC 4511 §4.14) or ldaps://host:port.
	URL      string `toml:"url"`
	StartTLS bool   `toml:"starttls"`
	// CAFile verifies the server's certificate (default: system roots).
	CAFile string `toml:"ca_file"`
	// InsecureSkipVerify skips certificate verification (tests only).
	InsecureSkipVerify bool `toml:"insecure_skip_verify"`
	// BindDN and BindPasswordFile are the service account that
	// searches; empty BindDN binds anonymously.
	BindDN           string `toml:"bind_dn"`
	BindPasswordFile string `toml:"bind_password_file"`
	BaseDN           string `toml:"base_dn"`
	// UserFilter finds the entry of a login name; %u is the name, %n
	// its local part, %d its domain, each escaped per RFC 4515 §3.
	// Default (&(objectClass=inetOrgPerson)(|(uid=%u)(mail=%u))).
	UserFilter string `toml:"user_filter"`
	// AddressFilter finds the entry of a recipient address (%u) for
	// delivery. Default
	// (&(objectClass=inetOrgPerson)(|(uid=%u)(mail=%u)(mailAlternateAddress=%u))).
	AddressFilter string `toml:"address_filter"`
	// AuthMethod is "bind" (search, then bind as the user's DN: the
	// default) or "compare" (read PasswordAttribute and check it as a
	// {SCHEME} hash).
	AuthMethod        string `toml:"auth_method"`
	PasswordAttribute string `toml:"password_attribute"` // default userPassword
	// Attribute mapping.
	LoginAttribute   string   `toml:"login_attribute"`   // default uid
	MailAttributes   []string `toml:"mail_attributes"`   // default mail, mailAlternateAddress
	QuotaAttribute   string   `toml:"quota_attribute"`   // bytes, with an optional K/M/G suffix; "" none
	EnabledAttribute string   `toml:"enabled_attribute"` // "" none: everyone is enabled
	// EnabledValues are the values of EnabledAttribute that mean
	// enabled (case-insensitive; default TRUE, yes, 1, enabled, active).
	EnabledValues []string `toml:"enabled_values"`
	// PoolSize is the number of connections kept open (default 4).
	PoolSize int `toml:"pool_size"`
	// Timeout bounds a connect and each request (default 5s).
	Timeout Duration `toml:"timeout"`
	// MaxBackoff caps the wait between reconnect attempts after a
	// failure (default 30s); during it lookups fail at once.
	MaxBackoff Duration `toml:"max_backoff"`
}

// SQL is [auth.sql]: accounts in a PostgreSQL database.
type SQL struct {
	// DSN is a postgres:// URL.
	DSN string `toml:"dsn"`
	// PasswordQuery returns the password ({SCHEME}hash) and the login
	// name of $1, the name given at login, as columns "password" and
	// "user" (user optional).
	PasswordQuery string `toml:"password_query"`
	// UserQuery returns the user of $1, a login name or an address, as
	// columns "user" (required), "quota_bytes" and "enabled" (optional).
	UserQuery string `toml:"user_query"`
	// DefaultScheme for passwords without "{SCHEME}" (default CRYPT).
	DefaultScheme string `toml:"default_scheme"`
	// Timeout bounds each query (default 5s).
	Timeout Duration `toml:"timeout"`
}

// OAuth is [auth.oauth]: OAUTHBEARER (RFC 7628) and XOAUTH2 logins
// with access tokens of an OpenID provider. Off unless Issuer is set.
type OAuth struct {
	// Issuer is the provider's issuer URL (discovery at
	// Issuer/.well-known/openid-configuration names the JWKS).
	Issuer string `toml:"issuer"`
	// JWKSURL skips discovery.
	JWKSURL string `toml:"jwks_url"`
	// Audience is the client id tokens must carry in "aud".
	Audience string `toml:"audience"`
	// UsernameClaim holds the barid login name (default "email").
	UsernameClaim string `toml:"username_claim"`
	// IntrospectionURL validates opaque tokens by RFC 7662 token
	// introspection, as ClientID with the secret in ClientSecretFile.
	IntrospectionURL string `toml:"introspection_url"`
	ClientID         string `toml:"client_id"`
	ClientSecretFile string `toml:"client_secret_file"`
}

// validateSources checks [auth] sources and each named section.
func (c *Config) validateSources(add func(string, ...any)) {
	seen := map[string]bool{}
	for _, s := range c.Auth.Sources {
		if seen[s] {
			add("auth.sources: %q listed twice", s)
		}
		seen[s] = true
		switch s {
		case SourceBuiltin:
		case SourcePasswdFile:
			if c.Auth.PasswdFile.Path == "" {
				add("auth.sources has passwd-file but auth.passwd_file.path is not set")
			}
		case SourceLDAP:
			l := c.Auth.LDAP
			if !strings.HasPrefix(l.URL, "ldap://") && !strings.HasPrefix(l.URL, "ldaps://") {
				add("auth.ldap.url must be ldap://… or ldaps://…, not %q", l.URL)
			}
			if l.StartTLS && strings.HasPrefix(l.URL, "ldaps://") {
				add("auth.ldap.starttls is for ldap:// URLs; ldaps:// is TLS already")
			}
			if l.BaseDN == "" {
				add("auth.ldap.base_dn must be set")
			}
			if l.AuthMethod != "" && l.AuthMethod != "bind" && l.AuthMethod != "compare" {
				add("auth.ldap.auth_method must be bind or compare, not %q", l.AuthMethod)
			}
			if l.BindDN != "" && l.BindPasswordFile == "" {
				add("auth.ldap.bind_dn needs auth.ldap.bind_password_file")
			}
			if l.PoolSize < 0 || l.Timeout.Duration < 0 || l.MaxBackoff.Duration < 0 {
				add("auth.ldap: pool_size, timeout and max_backoff must not be negative")
			}
		case SourceSQL:
			if !IsPostgresURL(c.Auth.SQL.DSN) {
				add("auth.sql.dsn must be a postgres:// URL")
			}
			if c.Auth.SQL.PasswordQuery == "" || c.Auth.SQL.UserQuery == "" {
				add("auth.sql: password_query and user_query must be set")
			}
		default:
			add("auth.sources: unknown source %q (builtin, ldap, passwd-file, sql)", s)
		}
	}
	if o := c.Auth.OAuth; o.Issuer == "" && (o.JWKSURL != "" || o.IntrospectionURL != "") {
		add("auth.oauth: issuer must be set")
	}
	// Drepper's SHA-crypt: rounds from 1000 to 999,999,999; bcrypt:
	// cost 4 to 31.
	if l := c.Limits.CryptRounds; l < 1000 || l > 999_999_999 {
		add("limits.crypt_rounds must be from 1000 to 999999999 (SHA-crypt's range), not %d", l)
	}
	if l := c.Limits.BcryptCost; l < 4 || l > 31 {
		add("limits.bcrypt_cost must be from 4 to 31 (bcrypt's range), not %d", l)
	}
	if l := c.Limits.OAuthTokenSize; l < 1024 || l > 1<<20 {
		add("limits.oauth_token_size must be from 1024 to 1048576 bytes, not %d", l)
	}
	if c.Auth.NegativeCacheTTL.Duration < 0 {
		add("auth.negative_cache_ttl must not be negative")
	}
}

// AuthSources is [auth] sources, or builtin alone when unset.
func (c *Config) AuthSources() []string {
	if len(c.Auth.Sources) == 0 {
		return []string{SourceBuiltin}
	}
	return c.Auth.Sources
}

// defaultNegativeTTL is [auth] negative_cache_ttl's default: a new
// directory user receives mail within a minute of being added.
const defaultNegativeTTL = time.Minute
