package app

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"barid/internal/auth"
	"barid/internal/config"
	"barid/internal/store"
)

// NewDirectory builds the account sources [auth] sources names, in
// order, over st (which holds the builtin accounts and the accounts made
// for directory users). See docs/accounts.md.
func NewDirectory(ctx context.Context, cfg *config.Config, st store.Store, logger *slog.Logger) (*auth.Directory, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	d := &auth.Directory{
		Store:       st,
		CacheTTL:    cfg.Auth.CacheTTL.Duration,
		NegativeTTL: cfg.Auth.NegativeCacheTTL.Duration,
		CacheSize:   cfg.Auth.CacheSize,
		Logger:      logger,
		Provision: func(ctx context.Context, source string, u *auth.User) (*store.Account, error) {
			return CreateExternalAccount(ctx, st, source, u)
		},
	}
	lim := SchemeLimits(cfg)
	for _, name := range cfg.AuthSources() {
		switch name {
		case config.SourceBuiltin:
			d.Sources = append(d.Sources, nil)
		case config.SourcePasswdFile:
			d.Sources = append(d.Sources, &auth.PasswdFile{Path: cfg.Auth.PasswdFile.Path,
				DefaultScheme: cfg.Auth.PasswdFile.DefaultScheme, Limits: lim, Logger: logger})
		case config.SourceLDAP:
			l, err := newLDAPSource(cfg.Auth.LDAP, lim, logger)
			if err != nil {
				d.Close()
				return nil, err
			}
			d.Sources = append(d.Sources, l)
		case config.SourceSQL:
			s, err := auth.NewSQL(ctx, auth.SQLConfig{DSN: cfg.Auth.SQL.DSN, PasswordQuery: cfg.Auth.SQL.PasswordQuery,
				UserQuery: cfg.Auth.SQL.UserQuery, DefaultScheme: cfg.Auth.SQL.DefaultScheme,
				Timeout: cfg.Auth.SQL.Timeout.Duration, Limits: lim, Logger: logger})
			if err != nil {
				d.Close()
				return nil, fmt.Errorf("auth.sql: %w", err)
			}
			d.Sources = append(d.Sources, s)
		default:
			d.Close()
			return nil, fmt.Errorf("auth.sources: unknown source %q", name)
		}
	}
	return d, nil
}

// NewTokenVerifier builds the OAUTHBEARER/XOAUTH2 token verifier of
// [auth.oauth], or nil when it is not configured.
func NewTokenVerifier(c config.OAuth) (auth.TokenVerifier, error) {
	if c.Issuer == "" {
		return nil, nil
	}
	oc := auth.OIDCConfig{Issuer: c.Issuer, JWKSURL: c.JWKSURL, Audience: c.Audience, UsernameClaim: c.UsernameClaim,
		IntrospectionURL: c.IntrospectionURL, ClientID: c.ClientID}
	if c.ClientSecretFile != "" {
		b, err := os.ReadFile(c.ClientSecretFile)
		if err != nil {
			return nil, fmt.Errorf("auth.oauth.client_secret_file: %w", err)
		}
		oc.ClientSecret = strings.TrimRight(string(b), "\r\n")
	}
	return auth.NewOIDC(oc), nil
}

// SchemeLimits are the [limits] crypt_rounds and bcrypt_cost, for the
// sources that read stored hashes.
func SchemeLimits(cfg *config.Config) auth.SchemeLimits {
	return auth.SchemeLimits{MaxCryptRounds: cfg.Limits.CryptRounds, MaxBcryptCost: cfg.Limits.BcryptCost}
}

func newLDAPSource(c config.LDAP, lim auth.SchemeLimits, logger *slog.Logger) (*auth.LDAP, error) {
	lc := auth.LDAPConfig{URL: c.URL, StartTLS: c.StartTLS, BindDN: c.BindDN, BaseDN: c.BaseDN,
		UserFilter: c.UserFilter, AddressFilter: c.AddressFilter, Compare: c.AuthMethod == "compare",
		PasswordAttribute: c.PasswordAttribute, Limits: lim, LoginAttribute: c.LoginAttribute, MailAttributes: c.MailAttributes,
		QuotaAttribute: c.QuotaAttribute, EnabledAttribute: c.EnabledAttribute, EnabledValues: c.EnabledValues,
		PoolSize: c.PoolSize, Timeout: c.Timeout.Duration, MaxBackoff: c.MaxBackoff.Duration, Logger: logger}
	if c.BindPasswordFile != "" {
		b, err := os.ReadFile(c.BindPasswordFile)
		if err != nil {
			return nil, fmt.Errorf("auth.ldap.bind_password_file: %w", err)
		}
		lc.BindPassword = strings.TrimRight(string(b), "\r\n")
	}
	if strings.HasPrefix(c.URL, "ldaps://") || c.StartTLS {
		tc, err := auth.LDAPTLSConfig(c.URL, c.CAFile, c.InsecureSkipVerify)
		if err != nil {
			return nil, err
		}
		lc.TLS = tc
	}
	return auth.NewLDAP(lc), nil
}

// CreateExternalAccount makes the store account of a user of a
// directory source: no password of its own (auth.ExternalSecret), the
// default mailboxes, and the directory's quota if it gives one.
func CreateExternalAccount(ctx context.Context, st store.Store, source string, u *auth.User) (*store.Account, error) {
	name := store.NormalizeAccountName(u.Name)
	if err := ValidateAccountName(name); err != nil {
		return nil, fmt.Errorf("%s user: %w", source, err)
	}
	acct, err := st.CreateAccount(ctx, name, auth.ExternalSecret(source))
	if err != nil {
		return nil, err
	}
	if err := EnsureDefaultMailboxes(ctx, st, acct.ID); err != nil {
		return nil, err
	}
	if q, ok := st.(interface {
		SetQuota(ctx context.Context, accountID, quotaBytes int64) error
	}); ok && u.QuotaBytes > 0 {
		if err := q.SetQuota(ctx, acct.ID, u.QuotaBytes); err != nil {
			return nil, err
		}
		acct.QuotaBytes = u.QuotaBytes
	}
	return acct, nil
}
