package app_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/oauth2-proxy/mockoidc"

	"barid/internal/config"
	"barid/internal/testkit"
)

// oidcCodeFlow runs the authorization-code flow against the provider as
// a mail client would (authorize, then token with the code) and
// returns the access token it issues.
func oidcCodeFlow(t *testing.T, m *mockoidc.MockOIDC) string {
	t.Helper()
	cfg := m.Config()
	const redirect = "http://127.0.0.1/callback"
	cl := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	q := url.Values{"client_id": {cfg.ClientID}, "scope": {"openid email"}, "response_type": {"code"},
		"redirect_uri": {redirect}, "state": {"s1"}}
	resp, err := cl.Get(m.AuthorizationEndpoint() + "?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || loc.Query().Get("code") == "" {
		t.Fatalf("authorize: HTTP %d, Location %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, err = http.PostForm(m.TokenEndpoint(), url.Values{"grant_type": {"authorization_code"},
		"code": {loc.Query().Get("code")}, "client_id": {cfg.ClientID}, "client_secret": {cfg.ClientSecret},
		"redirect_uri": {redirect}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var tr struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tr); err != nil || tr.AccessToken == "" {
		t.Fatalf("token: HTTP %d, %v", resp.StatusCode, err)
	}
	return tr.AccessToken
}

// TestOAuthBearerMockOIDC: an access token issued over HTTP by an
// independent OpenID provider implementation (github.com/oauth2-proxy/
// mockoidc: discovery, JWKS, authorization-code flow) logs in over IMAP
// OAUTHBEARER, found through discovery; a token of another provider
// instance (other key, other issuer) does not.
func TestOAuthBearerMockOIDC(t *testing.T) {
	m, err := mockoidc.Run()
	if err != nil {
		t.Fatal(err)
	}
	defer m.Shutdown()
	other, err := mockoidc.Run()
	if err != nil {
		t.Fatal(err)
	}
	defer other.Shutdown()
	s := testkit.StartAt(t, filepath.Join(t.TempDir(), "data"), withSources([]string{"builtin"}, func(c *config.Config) {
		c.Auth.OAuth = config.OAuth{Issuer: m.Issuer(), Audience: m.Config().ClientID, UsernameClaim: "sub"}
	}))
	lmtpAddUser(t, s.App.Data().Store, "alice@example.org", "pw")
	m.QueueUser(&mockoidc.MockUser{Subject: "alice@example.org", Email: "alice@example.org", EmailVerified: true})
	tok := oidcCodeFlow(t, m)
	ir := func(tok string) string {
		return base64.StdEncoding.EncodeToString([]byte("n,,\x01auth=Bearer " + tok + "\x01\x01"))
	}
	c := s.DialTLS()
	c.ExpectOK("A", "AUTHENTICATE OAUTHBEARER "+ir(tok))
	c.ExpectOK("S", "SELECT INBOX")

	other.QueueUser(&mockoidc.MockUser{Subject: "alice@example.org"})
	foreign := oidcCodeFlow(t, other)
	c = s.DialTLS()
	c.Send("B AUTHENTICATE OAUTHBEARER " + ir(foreign) + "\r\n")
	if l := c.ReadLine(); !strings.HasPrefix(l, "+ ") {
		t.Fatalf("want the error challenge, got %q", l)
	}
	c.Send("AQ==\r\n")
	testkit.MustHave(t, c.Until("B"), `^B NO \[AUTHENTICATIONFAILED\]`)
}
