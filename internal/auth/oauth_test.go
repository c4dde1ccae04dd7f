package auth

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// testOP is an OpenID provider in the test process: discovery document,
// a JWKS whose keys the test rotates, an introspection endpoint, and a
// signer for tokens. (Not a full provider: it issues no tokens over
// HTTP; the tests mint them directly.)
type testOP struct {
	srv *httptest.Server

	mu      sync.Mutex
	keys    map[string]*rsa.PrivateKey // kid → key, published
	current string
	active  map[string]map[string]any // token → introspection answer
	down    bool
}

func newTestOP(t *testing.T) *testOP {
	op := &testOP{keys: map[string]*rsa.PrivateKey{}, active: map[string]map[string]any{}}
	op.rotate(t, "k1")
	mux := http.NewServeMux()
	mux.HandleFunc("/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		if op.isDown(w) {
			return
		}
		json.NewEncoder(w).Encode(map[string]any{"issuer": op.srv.URL, "jwks_uri": op.srv.URL + "/jwks",
			"authorization_endpoint": op.srv.URL + "/auth", "token_endpoint": op.srv.URL + "/token",
			"introspection_endpoint": op.srv.URL + "/introspect", "id_token_signing_alg_values_supported": []string{"RS256"}})
	})
	mux.HandleFunc("/jwks", func(w http.ResponseWriter, r *http.Request) {
		if op.isDown(w) {
			return
		}
		op.mu.Lock()
		var set jose.JSONWebKeySet
		for kid, k := range op.keys {
			set.Keys = append(set.Keys, jose.JSONWebKey{Key: &k.PublicKey, KeyID: kid, Algorithm: "RS256", Use: "sig"})
		}
		op.mu.Unlock()
		json.NewEncoder(w).Encode(set)
	})
	mux.HandleFunc("/introspect", func(w http.ResponseWriter, r *http.Request) {
		if op.isDown(w) {
			return
		}
		if u, p, ok := r.BasicAuth(); !ok || u != "barid" || p != "client-secret" {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		op.mu.Lock()
		ans, ok := op.active[r.FormValue("token")]
		op.mu.Unlock()
		if !ok {
			ans = map[string]any{"active": false}
		}
		json.NewEncoder(w).Encode(ans)
	})
	op.srv = httptest.NewServer(mux)
	t.Cleanup(op.srv.Close)
	return op
}

func (op *testOP) isDown(w http.ResponseWriter) bool {
	op.mu.Lock()
	defer op.mu.Unlock()
	if op.down {
		http.Error(w, "down", http.StatusServiceUnavailable)
	}
	return op.down
}

// rotate publishes a new signing key and signs with it from now on
// (the old keys stay published, as providers do during a rotation).
func (op *testOP) rotate(t *testing.T, kid string) {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	op.mu.Lock()
	op.keys[kid], op.current = k, kid
	op.mu.Unlock()
}

func (op *testOP) token(t *testing.T, claims map[string]any) string {
	op.mu.Lock()
	k, kid := op.keys[op.current], op.current
	op.mu.Unlock()
	return signToken(t, k, kid, claims)
}

func signToken(t *testing.T, k *rsa.PrivateKey, kid string, claims map[string]any) string {
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: k},
		(&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", kid))
	if err != nil {
		t.Fatal(err)
	}
	payload, _ := json.Marshal(claims)
	jws, err := s.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	out, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func (op *testOP) claims(email string, d time.Duration) map[string]any {
	now := time.Now()
	return map[string]any{"iss": op.srv.URL, "aud": "barid", "sub": "u-" + email, "email": email,
		"email_verified": true, "iat": now.Unix(), "exp": now.Add(d).Unix()}
}

// bearerLogin runs one OAUTHBEARER (or XOAUTH2) exchange and returns
// the account id or the error, checking the RFC 7628 §3.2.2 error
// challenge on the way.
func bearerLogin(t *testing.T, a *Authenticator, mech, initial string) (int64, error) {
	t.Helper()
	m, err := a.Start(context.Background(), mech, testRemote, &ChannelBinding{})
	if err != nil {
		t.Fatal(err)
	}
	ch, done, err := m.Next([]byte(initial))
	if err != nil {
		return 0, err
	}
	if done {
		return m.AccountID(), nil
	}
	var status map[string]any
	if json.Unmarshal(ch, &status) != nil || status["status"] != "invalid_token" {
		t.Fatalf("error challenge %q", ch)
	}
	_, _, err = m.Next([]byte{1})
	if err == nil {
		t.Fatal("no error after the error challenge")
	}
	return 0, err
}

func oauthBearerIR(authzid, token string) string {
	a := ""
	if authzid != "" {
		a = "a=" + authzid
	}
	return "n," + a + ",\x01host=imap.example.org\x01port=993\x01auth=Bearer " + token + "\x01\x01"
}

// TestOAuthBearer: tokens of an OpenID provider log in through
// OAUTHBEARER and XOAUTH2 when signed by a key of its JWKS (including a
// key published after start: rotation), for our audience, from its
// issuer, not expired, and naming a known account; anything else fails
// after the RFC 7628 error challenge; an unreachable provider is an
// outage.
func TestOAuthBearer(t *testing.T) {
	op := newTestOP(t)
	st := openTestStore(t)
	ctx := context.Background()
	secret, _ := NewSecret("pw", testParams)
	acct, err := st.CreateAccount(ctx, "alice@example.org", secret)
	if err != nil {
		t.Fatal(err)
	}
	d := &Directory{Store: st}
	a := New(StoreAccounts{Store: st}, Config{Params: testParams, Clock: newFakeClock(), Directory: d,
		OAuth: NewOIDC(OIDCConfig{Issuer: op.srv.URL, Audience: "barid"})}, nil)

	good := op.token(t, op.claims("alice@example.org", time.Hour))
	if id, err := bearerLogin(t, a, MechOAuthBearer, oauthBearerIR("alice@example.org", good)); err != nil || id != acct.ID {
		t.Fatalf("good token: %d %v", id, err)
	}
	if id, err := bearerLogin(t, a, MechOAuthBearer, oauthBearerIR("", good)); err != nil || id != acct.ID {
		t.Fatalf("good token without authzid: %d %v", id, err)
	}
	if id, err := bearerLogin(t, a, MechXOAuth2, "user=alice@example.org\x01auth=Bearer "+good+"\x01\x01"); err != nil || id != acct.ID {
		t.Fatalf("XOAUTH2: %d %v", id, err)
	}
	op.rotate(t, "k2")
	rotated := op.token(t, op.claims("alice@example.org", time.Hour))
	if _, err := bearerLogin(t, a, MechOAuthBearer, oauthBearerIR("", rotated)); err != nil {
		t.Fatalf("token signed with a rotated-in key: %v", err)
	}
	stranger, _ := rsa.GenerateKey(rand.Reader, 2048)
	wrongAud := op.claims("alice@example.org", time.Hour)
	wrongAud["aud"] = "someone-else"
	wrongIss := op.claims("alice@example.org", time.Hour)
	wrongIss["iss"] = "https://evil.example"
	unverified := op.claims("alice@example.org", time.Hour)
	unverified["email_verified"] = false
	for name, ir := range map[string]string{
		"expired":         oauthBearerIR("", op.token(t, op.claims("alice@example.org", -time.Minute))),
		"wrong audience":  oauthBearerIR("", op.token(t, wrongAud)),
		"wrong issuer":    oauthBearerIR("", op.token(t, wrongIss)),
		"unknown key":     oauthBearerIR("", signToken(t, stranger, "k2", op.claims("alice@example.org", time.Hour))),
		"other authzid":   oauthBearerIR("bob@example.org", good),
		"unknown user":    oauthBearerIR("", op.token(t, op.claims("nobody@example.org", time.Hour))),
		"unverified mail": oauthBearerIR("", op.token(t, unverified)),
		"garbage token":   oauthBearerIR("", "not.a.jwt"),
	} {
		if _, err := bearerLogin(t, a, MechOAuthBearer, ir); !errors.Is(err, ErrAuthFailed) {
			t.Errorf("%s: %v, want ErrAuthFailed", name, err)
		}
	}
	for name, ir := range map[string]string{
		"no gs2 header":    "auth=Bearer x\x01\x01",
		"no final kvsep":   "n,,\x01auth=Bearer x\x01",
		"not bearer":       "n,,\x01auth=Basic x\x01\x01",
		"channel binding":  "p=tls-unique,,\x01auth=Bearer x\x01\x01",
		"xoauth2 no user":  "auth=Bearer x\x01\x01",
		"xoauth2 no token": "user=a\x01\x01",
	} {
		mech := MechOAuthBearer
		if name[:7] == "xoauth2" {
			mech = MechXOAuth2
		}
		if _, err := bearerLogin(t, a, mech, ir); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v, want ErrMalformed", name, err)
		}
	}
	// Without TLS the mechanisms are neither offered nor started.
	if _, err := a.Start(ctx, MechOAuthBearer, testRemote, nil); !errors.Is(err, ErrUnsupportedMechanism) {
		t.Errorf("OAUTHBEARER without TLS: %v", err)
	}
	// A provider that does not answer: an outage, not a failed login.
	op2 := newTestOP(t)
	op2.mu.Lock()
	op2.down = true
	op2.mu.Unlock()
	b := New(StoreAccounts{Store: st}, Config{Params: testParams, Clock: newFakeClock(), Directory: d,
		OAuth: NewOIDC(OIDCConfig{Issuer: op2.srv.URL, Audience: "barid"})}, nil)
	if _, err := bearerLogin(t, b, MechOAuthBearer, oauthBearerIR("", op2.token(t, op2.claims("alice@example.org", time.Hour)))); !errors.Is(err, ErrUnavailable) {
		t.Errorf("provider down: %v, want ErrUnavailable", err)
	}
}

// TestOAuthIntrospection: with an introspection endpoint (RFC 7662) an
// opaque token is valid while the provider says it is active.
func TestOAuthIntrospection(t *testing.T) {
	op := newTestOP(t)
	st := openTestStore(t)
	ctx := context.Background()
	acct, err := st.CreateAccount(ctx, "alice@example.org", nil)
	if err != nil {
		t.Fatal(err)
	}
	op.active["opaque-1"] = map[string]any{"active": true, "username": "alice@example.org", "aud": "barid",
		"exp": float64(time.Now().Add(time.Hour).Unix()), "iss": op.srv.URL}
	op.active["opaque-old"] = map[string]any{"active": true, "username": "alice@example.org", "aud": "barid",
		"exp": float64(time.Now().Add(-time.Hour).Unix())}
	op.active["opaque-other"] = map[string]any{"active": true, "username": "alice@example.org", "aud": []any{"other"}}
	a := New(StoreAccounts{Store: st}, Config{Params: testParams, Clock: newFakeClock(), Directory: &Directory{Store: st},
		OAuth: NewOIDC(OIDCConfig{Issuer: op.srv.URL, Audience: "barid", IntrospectionURL: op.srv.URL + "/introspect",
			ClientID: "barid", ClientSecret: "client-secret"})}, nil)
	if id, err := bearerLogin(t, a, MechOAuthBearer, oauthBearerIR("", "opaque-1")); err != nil || id != acct.ID {
		t.Fatalf("active token: %d %v", id, err)
	}
	for _, tok := range []string{"opaque-old", "opaque-other", "opaque-unknown"} {
		if _, err := bearerLogin(t, a, MechOAuthBearer, oauthBearerIR("", tok)); !errors.Is(err, ErrAuthFailed) {
			t.Errorf("%s: %v", tok, err)
		}
	}
}
