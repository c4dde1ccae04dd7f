package app_test

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"barid/internal/config"
	"barid/internal/testkit"
)

// TestOAuthBearerIMAP: with [auth.oauth] set, IMAP over TLS announces
// AUTH=OAUTHBEARER and AUTH=XOAUTH2 and logs a token's user in; a
// token for another audience gets NO [AUTHENTICATIONFAILED]; the plain
// port without TLS does not offer them.
func TestOAuthBearerIMAP(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	jwks := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: "k1", Algorithm: "RS256", Use: "sig"}}})
	}))
	defer jwks.Close()
	const issuer = "https://op.example.org"
	s := testkit.StartAt(t, filepath.Join(t.TempDir(), "data"), testkit.WithPOP3(), withSources([]string{"builtin"}, func(c *config.Config) {
		c.Auth.OAuth = config.OAuth{Issuer: issuer, JWKSURL: jwks.URL, Audience: "barid"}
	}))
	lmtpAddUser(t, s.App.Data().Store, "alice@example.org", "pw")
	token := func(aud string) string {
		sg, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: key}, (&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", "k1"))
		if err != nil {
			t.Fatal(err)
		}
		p, _ := json.Marshal(map[string]any{"iss": issuer, "aud": aud, "sub": "1", "email": "alice@example.org",
			"exp": time.Now().Add(time.Hour).Unix(), "iat": time.Now().Unix()})
		j, err := sg.Sign(p)
		if err != nil {
			t.Fatal(err)
		}
		out, _ := j.CompactSerialize()
		return out
	}
	ir := func(tok string) string {
		return base64.StdEncoding.EncodeToString([]byte("n,a=alice@example.org,\x01auth=Bearer " + tok + "\x01\x01"))
	}
	c := s.DialTLS()
	caps := strings.Join(c.Cmd("C", "CAPABILITY"), "\n")
	if !strings.Contains(caps, "AUTH=OAUTHBEARER") || !strings.Contains(caps, "AUTH=XOAUTH2") {
		t.Errorf("TLS capabilities lack the bearer mechanisms: %s", caps)
	}
	c.ExpectOK("A", "AUTHENTICATE OAUTHBEARER "+ir(token("barid")))
	c.ExpectOK("S", "SELECT INBOX")

	c = s.DialTLS()
	c.Send("B AUTHENTICATE OAUTHBEARER " + ir(token("other")) + "\r\n")
	if l := c.ReadLine(); !strings.HasPrefix(l, "+ ") {
		t.Fatalf("want the RFC 7628 error challenge, got %q", l)
	}
	c.Send(base64.StdEncoding.EncodeToString([]byte{1}) + "\r\n")
	testkit.MustHave(t, c.Until("B"), `^B NO \[AUTHENTICATIONFAILED\]`)

	x := s.DialTLS()
	x.ExpectOK("X", "AUTHENTICATE XOAUTH2 "+base64.StdEncoding.EncodeToString([]byte("user=alice@example.org\x01auth=Bearer "+token("barid")+"\x01\x01")))

	// POP3 AUTH with an initial response (RFC 5034 §4) over POP3S.
	p3 := s.DialPOP3TLS()
	if l := p3.Cmd("AUTH OAUTHBEARER " + ir(token("barid"))); !strings.HasPrefix(l, "+OK") {
		t.Errorf("POP3 AUTH OAUTHBEARER: %q", l)
	}

	p := s.Dial()
	if caps := strings.Join(p.Cmd("C", "CAPABILITY"), "\n"); strings.Contains(caps, "OAUTHBEARER") {
		t.Errorf("plain connection offers OAUTHBEARER: %s", caps)
	}
}
