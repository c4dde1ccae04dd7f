package auth

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"

	"barid/internal/store"
)

// SASL mechanism names for bearer tokens.
const (
	MechOAuthBearer = "OAUTHBEARER" // RFC 7628
	MechXOAuth2     = "XOAUTH2"     // Google's, https://developers.google.com/gmail/imap/xoauth2-protocol
)

// TokenVerifier checks an OAuth 2.0 bearer token and returns the user
// name it was issued for. ErrAuthFailed (wrapped) for a bad, expired or
// foreign token; other errors mean the provider could not be asked
// (ErrUnavailable).
type TokenVerifier interface {
	VerifyToken(ctx context.Context, token string) (username string, err error)
}

// OIDCConfig configures token validation against an OpenID provider
// ([auth.oauth]).
type OIDCConfig struct {
	// Issuer is the provider's issuer URL; its discovery document
	// (/.well-known/openid-configuration) names the JWKS.
	Issuer string
	// JWKSURL, if set, skips discovery.
	JWKSURL string
	// Audience is the client id tokens must be issued for ("aud").
	Audience string
	// UsernameClaim names the claim holding the barid login name
	// (default "email"; "preferred_username" and "sub" are common).
	UsernameClaim string
	// IntrospectionURL, if set, validates tokens by RFC 7662 token
	// introspection instead of as JWTs, authenticating as ClientID /
	// ClientSecret.
	IntrospectionURL       string
	ClientID, ClientSecret string
	// HTTPClient is used for discovery, JWKS and introspection
	// (default: a client with a 10 s timeout).
	HTTPClient *http.Client
}

// OIDC validates bearer tokens: JWTs signed with a key of the
// provider's JWKS (fetched again when a token names an unknown key id:
// key rotation), with the configured issuer and audience, not expired
// (go-oidc's verifier, github.com/coreos/go-oidc/v3); or, with
// IntrospectionURL, by asking the provider (RFC 7662).
type OIDC struct {
	cfg OIDCConfig

	mu       sync.Mutex
	verifier *oidc.IDTokenVerifier
}

// NewOIDC returns a verifier; discovery happens on first use, so a
// provider that is down at startup is an outage at login, not a failed
// start.
func NewOIDC(cfg OIDCConfig) *OIDC {
	if cfg.UsernameClaim == "" {
		cfg.UsernameClaim = "email"
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	return &OIDC{cfg: cfg}
}

func (o *OIDC) jwtVerifier(ctx context.Context) (*oidc.IDTokenVerifier, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.verifier != nil {
		return o.verifier, nil
	}
	// The key set outlives this request: its context only carries the
	// HTTP client.
	kctx := oidc.ClientContext(context.Background(), o.cfg.HTTPClient)
	vc := &oidc.Config{ClientID: o.cfg.Audience, SkipClientIDCheck: o.cfg.Audience == ""}
	if o.cfg.JWKSURL != "" {
		o.verifier = oidc.NewVerifier(o.cfg.Issuer, oidc.NewRemoteKeySet(kctx, o.cfg.JWKSURL), vc)
		return o.verifier, nil
	}
	p, err := oidc.NewProvider(oidc.ClientContext(ctx, o.cfg.HTTPClient), o.cfg.Issuer)
	if err != nil {
		return nil, fmt.Errorf("oidc discovery: %w", err)
	}
	var meta struct {
		JWKS string `json:"jwks_uri"`
	}
	if err := p.Claims(&meta); err != nil || meta.JWKS == "" {
		return nil, fmt.Errorf("oidc discovery: no jwks_uri (%v)", err)
	}
	o.verifier = oidc.NewVerifier(o.cfg.Issuer, oidc.NewRemoteKeySet(kctx, meta.JWKS), vc)
	return o.verifier, nil
}

// VerifyToken implements TokenVerifier.
func (o *OIDC) VerifyToken(ctx context.Context, token string) (string, error) {
	if o.cfg.IntrospectionURL != "" {
		return o.introspect(ctx, token)
	}
	v, err := o.jwtVerifier(ctx)
	if err != nil {
		return "", err
	}
	t, err := v.Verify(oidc.ClientContext(ctx, o.cfg.HTTPClient), token)
	if err != nil {
		var exp *oidc.TokenExpiredError
		if errors.As(err, &exp) || !isFetchError(err) {
			return "", fmt.Errorf("%w: token: %v", ErrAuthFailed, err)
		}
		return "", err
	}
	var claims map[string]any
	if err := t.Claims(&claims); err != nil {
		return "", fmt.Errorf("%w: token claims: %v", ErrAuthFailed, err)
	}
	return o.username(claims)
}

// isFetchError tells a JWKS that could not be fetched (an outage) from
// a token that does not verify.
func isFetchError(err error) bool {
	s := err.Error()
	return strings.Contains(s, "fetching keys") || strings.Contains(s, "failed to verify signature: fetching")
}

func (o *OIDC) username(claims map[string]any) (string, error) {
	name, _ := claims[o.cfg.UsernameClaim].(string)
	if name == "" {
		return "", fmt.Errorf("%w: token has no %q claim", ErrAuthFailed, o.cfg.UsernameClaim)
	}
	if o.cfg.UsernameClaim == "email" {
		if v, ok := claims["email_verified"].(bool); ok && !v {
			return "", fmt.Errorf("%w: token's email is not verified", ErrAuthFailed)
		}
	}
	return name, nil
}

// introspect asks the provider about the token (RFC 7662 §2).
func (o *OIDC) introspect(ctx context.Context, token string) (string, error) {
	form := url.Values{"token": {token}, "token_type_hint": {"access_token"}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, o.cfg.IntrospectionURL, strings.NewReader(form.Encode()))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	if o.cfg.ClientID != "" {
		req.SetBasicAuth(url.QueryEscape(o.cfg.ClientID), url.QueryEscape(o.cfg.ClientSecret))
	}
	resp, err := o.cfg.HTTPClient.Do(req)
	if err != nil {
		return "", fmt.Errorf("introspection: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return "", fmt.Errorf("introspection: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("introspection: HTTP %d", resp.StatusCode)
	}
	var r map[string]any
	if err := json.Unmarshal(body, &r); err != nil {
		return "", fmt.Errorf("introspection: %w", err)
	}
	// RFC 7662 §2.2: active is required; the rest is optional.
	if active, _ := r["active"].(bool); !active {
		return "", fmt.Errorf("%w: token not active", ErrAuthFailed)
	}
	if exp, ok := r["exp"].(float64); ok && time.Now().After(time.Unix(int64(exp), 0)) {
		return "", fmt.Errorf("%w: token expired", ErrAuthFailed)
	}
	if o.cfg.Issuer != "" {
		if iss, ok := r["iss"].(string); ok && iss != o.cfg.Issuer {
			return "", fmt.Errorf("%w: token from issuer %q", ErrAuthFailed, iss)
		}
	}
	if o.cfg.Audience != "" && !audienceHas(r["aud"], o.cfg.Audience) {
		return "", fmt.Errorf("%w: token not for audience %q", ErrAuthFailed, o.cfg.Audience)
	}
	claim := o.cfg.UsernameClaim
	if claim == "email" && r["email"] == nil {
		claim = "username" // RFC 7662 §2.2 names it so
	}
	name, _ := r[claim].(string)
	if name == "" {
		return "", fmt.Errorf("%w: introspection has no %q", ErrAuthFailed, claim)
	}
	return name, nil
}

func audienceHas(aud any, want string) bool {
	switch a := aud.(type) {
	case string:
		return a == want
	case []any:
		return slices.ContainsFunc(a, func(x any) bool { s, _ := x.(string); return s == want })
	}
	return false
}

// bearer checks a token for the client at remote and maps its user to
// a store account. authzid, if given, must name the same account.
func (a *Authenticator) bearer(ctx context.Context, mech string, remote netip.Addr, authzid, token string) (int64, string, error) {
	a.logins.Add(1)
	waited, err := a.waitPenalty(ctx, remote, authzid)
	if err != nil {
		return 0, "", err
	}
	if a.cfg.OAuth == nil || token == "" {
		return 0, "", a.fail(ctx, mech, remote, authzid, "no usable token", waited)
	}
	start := time.Now()
	name, err := a.cfg.OAuth.VerifyToken(ctx, token)
	a.log.Debug("token check", "mech", mech, "duration", time.Since(start), "err", err)
	switch {
	case errors.Is(err, ErrAuthFailed):
		return 0, "", a.fail(ctx, mech, remote, authzid, err.Error(), waited)
	case err != nil:
		a.log.Warn("token provider unavailable", "err", err)
		return 0, "", fmt.Errorf("%w: token provider: %v", ErrUnavailable, err)
	}
	if authzid != "" && !sameAccount(authzid, name) {
		return 0, "", a.fail(ctx, mech, remote, authzid, "token issued to "+logName(name), waited)
	}
	var acct *store.Account
	if d := a.cfg.Directory; d != nil {
		acct, err = d.FindAccount(ctx, name)
	} else {
		err = errors.New("no account directory")
	}
	switch {
	case errors.Is(err, store.ErrNoAccount):
		return 0, "", a.fail(ctx, mech, remote, name, "token for an unknown user", waited)
	case err != nil:
		return 0, "", err
	}
	a.log.Info("login", "mech", mech, "remote", remote, "user", logName(name))
	return acct.ID, name, nil
}

// DefaultMaxTokenBytes bounds a bearer token by default ([limits]
// oauth_token_size): JWTs with many claims run to a few KiB.
const DefaultMaxTokenBytes = 16 << 10

// TokenSizeError reports a bearer token over the named limit
// oauth_token_size. errors.Is(err, ErrMalformed) is true: the exchange
// ends with BAD, whose text names the limit.
type TokenSizeError struct{ Max int }

func (e *TokenSizeError) Error() string {
	return fmt.Sprintf("bearer token over limit oauth_token_size (%d bytes)", e.Max)
}

// Is makes a TokenSizeError match ErrMalformed.
func (e *TokenSizeError) Is(target error) bool { return target == ErrMalformed }

// bearerMech is OAUTHBEARER (RFC 7628 §3.1) or XOAUTH2.
type bearerMech struct {
	a      *Authenticator
	ctx    context.Context
	remote netip.Addr
	xoauth bool
	step   int // 0 first, 1 waiting for the client's answer to an error, 2 over
	err    error
	id     int64
	user   string
}

// Next implements Mechanism. A rejected token gets the error challenge
// of RFC 7628 §3.2.2 (a JSON status), which the client answers with a
// single 0x01 (XOAUTH2: an empty line); only then does Next return the
// failure.
func (m *bearerMech) Next(resp []byte) ([]byte, bool, error) {
	switch m.step {
	case 0:
		if resp == nil {
			return []byte{}, false, nil // RFC 7628 §3.1: client sends first
		}
		m.step = 2
		limit := m.a.cfg.MaxTokenBytes
		if len(resp) > limit+maxUsernameLen+64 {
			return nil, false, &TokenSizeError{Max: limit}
		}
		var authzid, token string
		var err error
		if m.xoauth {
			authzid, token, err = parseXOAuth2(resp)
		} else {
			authzid, token, err = parseOAuthBearer(resp)
		}
		if err != nil {
			return nil, false, err
		}
		if len(token) > limit {
			return nil, false, &TokenSizeError{Max: limit}
		}
		mech := MechOAuthBearer
		if m.xoauth {
			mech = MechXOAuth2
		}
		id, name, err := m.a.bearer(m.ctx, mech, m.remote, authzid, token)
		if errors.Is(err, ErrAuthFailed) {
			m.step, m.err = 1, err
			return []byte(`{"status":"invalid_token","scope":"openid email"}`), false, nil
		}
		if err != nil {
			return nil, false, err
		}
		m.id, m.user = id, name
		return nil, true, nil
	case 1:
		m.step = 2
		return nil, false, m.err
	}
	return nil, false, ErrMalformed
}

func (m *bearerMech) AccountID() int64 { return m.id }
func (m *bearerMech) Username() string { return m.user }

// parseOAuthBearer reads the client's initial response (RFC 7628 §3.1):
//
//	gs2-header kvsep *kvpair kvsep   with kvsep = %x01
//	gs2-header = ("n" / "y") "," ["a=" saslname] ","
//	kvpair     = key "=" value kvsep; auth = "Bearer " token
//
// Channel binding ("p=") is not supported (§3.1: OAUTHBEARER does not
// define any).
func parseOAuthBearer(b []byte) (authzid, token string, err error) {
	s := string(b)
	if len(s) < 2 || (s[0] != 'n' && s[0] != 'y') || s[1] != ',' {
		return "", "", ErrMalformed
	}
	rest := s[2:]
	i := strings.IndexByte(rest, ',')
	if i < 0 {
		return "", "", ErrMalformed
	}
	if a := rest[:i]; a != "" {
		v, ok := strings.CutPrefix(a, "a=")
		if !ok {
			return "", "", ErrMalformed
		}
		// RFC 5801 §4 saslname: "=2C" is ',' and "=3D" is '='.
		authzid = strings.NewReplacer("=2C", ",", "=3D", "=").Replace(v)
	}
	kv := rest[i+1:]
	// kvsep *kvpair kvsep, each kvpair ending in its own kvsep: after
	// the first 0x01, the rest ends in 0x01 0x01, or is a lone 0x01 when
	// there are no pairs (then there is no token either).
	if len(kv) < 3 || kv[0] != 1 || !strings.HasSuffix(kv[1:], "\x01\x01") {
		return "", "", ErrMalformed
	}
	for _, pair := range strings.Split(kv[1:len(kv)-2], "\x01") {
		k, v, ok := strings.Cut(pair, "=")
		if !ok {
			return "", "", ErrMalformed
		}
		if k == "auth" {
			t, ok := cutBearer(v)
			if !ok {
				return "", "", ErrMalformed
			}
			token = t
		}
	}
	if token == "" {
		return "", "", ErrMalformed
	}
	return authzid, token, nil
}

// parseXOAuth2 reads "user=" user ^A "auth=Bearer " token ^A ^A.
func parseXOAuth2(b []byte) (user, token string, err error) {
	s := string(b)
	if len(s) < 3 || !strings.HasSuffix(s, "\x01\x01") {
		return "", "", ErrMalformed
	}
	for _, pair := range strings.Split(s[:len(s)-2], "\x01") {
		k, v, ok := strings.Cut(pair, "=")
		if !ok {
			return "", "", ErrMalformed
		}
		switch k {
		case "user":
			user = v
		case "auth":
			t, ok := cutBearer(v)
			if !ok {
				return "", "", ErrMalformed
			}
			token = t
		}
	}
	if token == "" || user == "" {
		return "", "", ErrMalformed
	}
	return user, token, nil
}

// cutBearer takes "Bearer <token>" (the scheme is case-insensitive,
// RFC 6750 §2.1).
func cutBearer(v string) (string, bool) {
	if len(v) < 7 || !strings.EqualFold(v[:7], "Bearer ") {
		return "", false
	}
	t := strings.TrimSpace(v[7:])
	return t, t != "" && !bytes.ContainsAny([]byte(t), " \x00")
}
