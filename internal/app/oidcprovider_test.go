package app_test

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"barid/internal/config"
	"barid/internal/testkit"
)

// The tests in this file get their tokens from a real OpenID provider
// run as its own process: Ory Hydra, started by scripts/ci-oidc (which
// .ci/run sources). Hydra keeps no users: it hands each authorization
// request to a login and a consent app through its admin API. The
// tests play that app (accepting the login as the user, and granting
// the scopes, the audience and the email claim) and the browser (the
// redirects of the authorization-code flow), then redeem the code at
// the token endpoint as the mail client would.

// oidcProvider is the provider of scripts/ci-oidc.
type oidcProvider struct {
	issuer, admin, redirect string
	client                  oidcClient
}

type oidcClient struct{ id, secret string }

// realOIDC returns the provider, or skips without BARID_TEST_OIDC.
func realOIDC(t *testing.T) *oidcProvider {
	t.Helper()
	p := &oidcProvider{issuer: os.Getenv("BARID_TEST_OIDC"), admin: os.Getenv("BARID_TEST_OIDC_ADMIN"),
		redirect: os.Getenv("BARID_TEST_OIDC_REDIRECT"),
		client:   oidcClient{os.Getenv("BARID_TEST_OIDC_CLIENT_ID"), os.Getenv("BARID_TEST_OIDC_CLIENT_SECRET")}}
	if p.issuer == "" {
		t.Skip("BARID_TEST_OIDC not set: no OpenID provider (start Ory Hydra with: . scripts/ci-oidc)")
	}
	if p.admin == "" || p.client.id == "" || p.redirect == "" {
		t.Fatal("BARID_TEST_OIDC is set but BARID_TEST_OIDC_ADMIN, _CLIENT_ID or _REDIRECT is not")
	}
	return p
}

// adminJSON sends a JSON request to the admin API and decodes the
// answer into out (if not nil).
func (p *oidcProvider) adminJSON(t *testing.T, method, path string, in, out any) {
	t.Helper()
	b, _ := json.Marshal(in)
	req, err := http.NewRequest(method, p.admin+path, bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		t.Fatalf("%s %s: HTTP %d: %s", method, path, resp.StatusCode, body)
	}
	if out != nil {
		if err := json.Unmarshal(body, out); err != nil {
			t.Fatalf("%s %s: %v: %s", method, path, err, body)
		}
	}
}

// newClient registers another client (for settings of its own, such
// as short token lifespans) and removes it when the test ends.
func (p *oidcProvider) newClient(t *testing.T) oidcClient {
	t.Helper()
	var c struct {
		ID     string `json:"client_id"`
		Secret string `json:"client_secret"`
	}
	p.adminJSON(t, http.MethodPost, "/admin/clients", map[string]any{
		"client_name": "barid-" + t.Name(), "grant_types": []string{"authorization_code"},
		"response_types": []string{"code"}, "scope": "openid email", "audience": []string{"barid"},
		"redirect_uris": []string{p.redirect}, "token_endpoint_auth_method": "client_secret_post",
	}, &c)
	t.Cleanup(func() {
		req, _ := http.NewRequest(http.MethodDelete, p.admin+"/admin/clients/"+url.PathEscape(c.ID), nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
	})
	return oidcClient{c.ID, c.Secret}
}

// token runs the authorization-code flow of client for user, asking
// for an access token for audience, and returns it.
func (p *oidcProvider) token(t *testing.T, client oidcClient, user, audience string) string {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	// next follows one redirect and returns where it leads.
	next := func(u string) *url.URL {
		t.Helper()
		resp, err := browser.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		loc, err := resp.Location()
		if err != nil {
			t.Fatalf("GET %s: HTTP %d without a redirect: %s", u, resp.StatusCode, body)
		}
		return loc
	}
	state := make([]byte, 12)
	rand.Read(state)
	q := url.Values{"client_id": {client.id}, "response_type": {"code"}, "scope": {"openid email"},
		"redirect_uri": {p.redirect}, "state": {hex.EncodeToString(state)}, "audience": {audience}}
	login := next(p.issuer + "oauth2/auth?" + q.Encode())
	challenge := login.Query().Get("login_challenge")
	if challenge == "" {
		t.Fatalf("authorize: redirected to %s, no login_challenge", login)
	}
	// The login app: the user is who they say (a real one would check
	// a password here).
	var accepted struct {
		RedirectTo string `json:"redirect_to"`
	}
	p.adminJSON(t, http.MethodPut, "/admin/oauth2/auth/requests/login/accept?login_challenge="+url.QueryEscape(challenge),
		map[string]any{"subject": user}, &accepted)
	consent := next(accepted.RedirectTo)
	challenge = consent.Query().Get("consent_challenge")
	if challenge == "" {
		t.Fatalf("after login: redirected to %s, no consent_challenge", consent)
	}
	p.adminJSON(t, http.MethodPut, "/admin/oauth2/auth/requests/consent/accept?consent_challenge="+url.QueryEscape(challenge),
		map[string]any{"grant_scope": []string{"openid", "email"}, "grant_access_token_audience": []string{audience},
			"session": map[string]any{"access_token": map[string]any{"email": user}, "id_token": map[string]any{"email": user}}},
		&accepted)
	back := next(accepted.RedirectTo)
	code := back.Query().Get("code")
	if code == "" {
		t.Fatalf("after consent: redirected to %s, no code", back)
	}
	resp, err := http.PostForm(p.issuer+"oauth2/token", url.Values{"grant_type": {"authorization_code"},
		"code": {code}, "redirect_uri": {p.redirect}, "client_id": {client.id}, "client_secret": {client.secret}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var tr struct {
		AccessToken string `json:"access_token"`
		Error       string `json:"error_description"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tr); err != nil || tr.AccessToken == "" {
		t.Fatalf("token endpoint: HTTP %d, %v %s", resp.StatusCode, err, tr.Error)
	}
	return tr.AccessToken
}

// jwtHeader returns the "kid" of a JWT's header.
func jwtKeyID(t *testing.T, tok string) string {
	t.Helper()
	h, _, _ := strings.Cut(tok, ".")
	b, err := base64.RawURLEncoding.DecodeString(h)
	if err != nil {
		t.Fatalf("not a JWT: %q", tok)
	}
	var hdr struct {
		Kid string `json:"kid"`
	}
	json.Unmarshal(b, &hdr)
	return hdr.Kid
}

func oauthBearerIR(authzid, tok string) string {
	a := ""
	if authzid != "" {
		a = "a=" + authzid
	}
	return base64.StdEncoding.EncodeToString([]byte("n," + a + ",\x01auth=Bearer " + tok + "\x01\x01"))
}

func xoauth2IR(user, tok string) string {
	return base64.StdEncoding.EncodeToString([]byte("user=" + user + "\x01auth=Bearer " + tok + "\x01\x01"))
}

// expectBearerRefused sends a rejected OAUTHBEARER or XOAUTH2 initial
// response: the server answers with the RFC 7628 §3.2.2 error
// challenge, the client ends the exchange, and the command fails with
// NO [AUTHENTICATIONFAILED].
func expectBearerRefused(t *testing.T, c *testkit.Conn, tag, mech, ir string) {
	t.Helper()
	c.Send(tag + " AUTHENTICATE " + mech + " " + ir + "\r\n")
	l := c.ReadLine()
	ch, ok := strings.CutPrefix(l, "+ ")
	if !ok {
		t.Fatalf("%s: want the error challenge, got %q", mech, l)
	}
	if js, _ := base64.StdEncoding.DecodeString(ch); !strings.Contains(string(js), `"invalid_token"`) {
		t.Errorf("%s: error challenge %q", mech, js)
	}
	if mech == "XOAUTH2" {
		c.Send("\r\n")
	} else {
		c.Send("AQ==\r\n")
	}
	testkit.MustHave(t, c.Until(tag), `^`+tag+` NO \[AUTHENTICATIONFAILED\]`)
}

// startOIDCServer starts barid with [auth.oauth] from f and the account
// alice@example.org.
func startOIDCServer(t *testing.T, oauth config.OAuth) *testkit.Server {
	t.Helper()
	s := testkit.StartAt(t, filepath.Join(t.TempDir(), "data"), withSources([]string{"builtin"}, func(c *config.Config) {
		c.Auth.OAuth = oauth
	}))
	lmtpAddUser(t, s.App.Data().Store, "alice@example.org", "pw")
	return s
}

// TestOIDCProviderLogin: access tokens that Ory Hydra issues (JWTs
// signed with its JWKS, found through its discovery document) log in
// over IMAP with OAUTHBEARER and XOAUTH2, with the username from the
// "email" claim; a token issued for another audience, a token for a user
// barid does not know, and a token presented for another account
// (authzid) are refused.
func TestOIDCProviderLogin(t *testing.T) {
	p := realOIDC(t)
	s := startOIDCServer(t, config.OAuth{Issuer: p.issuer, Audience: "barid"})
	tok := p.token(t, p.client, "alice@example.org", "barid")

	c := s.DialTLS()
	c.ExpectOK("A", "AUTHENTICATE OAUTHBEARER "+oauthBearerIR("", tok))
	c.ExpectOK("S", "SELECT INBOX")
	c = s.DialTLS()
	c.ExpectOK("A", "AUTHENTICATE OAUTHBEARER "+oauthBearerIR("alice@example.org", tok))
	c = s.DialTLS()
	c.ExpectOK("X", "AUTHENTICATE XOAUTH2 "+xoauth2IR("alice@example.org", tok))
	c.ExpectOK("S", "SELECT INBOX")

	other := p.token(t, p.client, "alice@example.org", "other")
	expectBearerRefused(t, s.DialTLS(), "B", "OAUTHBEARER", oauthBearerIR("", other))
	expectBearerRefused(t, s.DialTLS(), "C", "XOAUTH2", xoauth2IR("alice@example.org", other))

	stranger := p.token(t, p.client, "mallory@example.org", "barid")
	expectBearerRefused(t, s.DialTLS(), "D", "OAUTHBEARER", oauthBearerIR("", stranger))

	lmtpAddUser(t, s.App.Data().Store, "bob@example.org", "pw")
	expectBearerRefused(t, s.DialTLS(), "E", "OAUTHBEARER", oauthBearerIR("bob@example.org", tok))
	expectBearerRefused(t, s.DialTLS(), "F", "XOAUTH2", xoauth2IR("bob@example.org", tok))
	// A token with a byte changed in its signature.
	bad := []byte(tok)
	bad[len(bad)-5] ^= 1
	expectBearerRefused(t, s.DialTLS(), "G", "OAUTHBEARER", oauthBearerIR("", string(bad)))
}

// TestOIDCProviderKeyRotation: the provider gets a new signing key
// while barid runs; barid, which fetched the key set at the first
// login, fetches it again for the unknown key id and accepts the new
// tokens, and the old ones (whose key is still in the set) too.
func TestOIDCProviderKeyRotation(t *testing.T) {
	p := realOIDC(t)
	s := startOIDCServer(t, config.OAuth{Issuer: p.issuer, Audience: "barid"})
	before := p.token(t, p.client, "alice@example.org", "barid")
	s.DialTLS().ExpectOK("A", "AUTHENTICATE OAUTHBEARER "+oauthBearerIR("", before))

	kid := fmt.Sprintf("barid-rotated-%d", time.Now().UnixNano())
	p.adminJSON(t, http.MethodPost, "/admin/keys/hydra.jwt.access-token", map[string]any{"alg": "RS256", "use": "sig", "kid": kid}, nil)
	after := p.token(t, p.client, "alice@example.org", "barid")
	if got := jwtKeyID(t, after); got != kid {
		t.Fatalf("after rotation the token is signed with key %q, want %q", got, kid)
	}
	s.DialTLS().ExpectOK("B", "AUTHENTICATE OAUTHBEARER "+oauthBearerIR("", after))
	s.DialTLS().ExpectOK("C", "AUTHENTICATE XOAUTH2 "+xoauth2IR("alice@example.org", before))
}

// TestOIDCProviderExpiry: a client whose access tokens live 2 seconds;
// its token logs in at once and is refused once it has expired.
func TestOIDCProviderExpiry(t *testing.T) {
	p := realOIDC(t)
	client := p.newClient(t)
	p.adminJSON(t, http.MethodPut, "/admin/clients/"+url.PathEscape(client.id)+"/lifespans",
		map[string]any{"authorization_code_grant_access_token_lifespan": "2s"}, nil)
	s := startOIDCServer(t, config.OAuth{Issuer: p.issuer, Audience: "barid"})
	tok := p.token(t, client, "alice@example.org", "barid")
	var claims struct {
		Exp int64 `json:"exp"`
	}
	parts := strings.Split(tok, ".")
	if b, err := base64.RawURLEncoding.DecodeString(parts[1]); err != nil || json.Unmarshal(b, &claims) != nil || claims.Exp == 0 {
		t.Fatalf("token has no exp: %v", err)
	}
	c := s.DialTLS()
	c.ExpectOK("A", "AUTHENTICATE OAUTHBEARER "+oauthBearerIR("", tok))
	// Wait past exp (whole seconds) by the clock barid checks with.
	time.Sleep(time.Until(time.Unix(claims.Exp+1, 0)))
	expectBearerRefused(t, s.DialTLS(), "B", "OAUTHBEARER", oauthBearerIR("", tok))
	expectBearerRefused(t, s.DialTLS(), "C", "XOAUTH2", xoauth2IR("alice@example.org", tok))
}

// TestOIDCProviderIntrospectionRevoked: barid validates tokens by
// asking the provider (RFC 7662 introspection at Hydra's admin API)
// instead of checking the JWT itself; a token logs in until the client
// revokes it (RFC 7009 at the provider), then it is refused. A token for
// another audience is refused there too.
func TestOIDCProviderIntrospectionRevoked(t *testing.T) {
	p := realOIDC(t)
	s := startOIDCServer(t, config.OAuth{Issuer: p.issuer, Audience: "barid", UsernameClaim: "sub",
		IntrospectionURL: p.admin + "/admin/oauth2/introspect"})
	tok := p.token(t, p.client, "alice@example.org", "barid")
	c := s.DialTLS()
	c.ExpectOK("A", "AUTHENTICATE OAUTHBEARER "+oauthBearerIR("", tok))
	c.ExpectOK("S", "SELECT INBOX")
	s.DialTLS().ExpectOK("X", "AUTHENTICATE XOAUTH2 "+xoauth2IR("alice@example.org", tok))

	resp, err := http.PostForm(p.issuer+"oauth2/revoke", url.Values{"token": {tok},
		"client_id": {p.client.id}, "client_secret": {p.client.secret}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("revoke: HTTP %d", resp.StatusCode)
	}
	expectBearerRefused(t, s.DialTLS(), "B", "OAUTHBEARER", oauthBearerIR("", tok))
	expectBearerRefused(t, s.DialTLS(), "C", "XOAUTH2", xoauth2IR("alice@example.org", tok))

	other := p.token(t, p.client, "alice@example.org", "other")
	expectBearerRefused(t, s.DialTLS(), "D", "OAUTHBEARER", oauthBearerIR("", other))
}
