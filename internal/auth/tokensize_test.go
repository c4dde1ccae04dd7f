package auth

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// TestTokenSizeLimit: a bearer token longer than MaxTokenBytes
// ([limits] oauth_token_size) ends the exchange as malformed with an
// error that names the limit, before the provider is asked; one at the
// limit is checked as usual. The default is DefaultMaxTokenBytes.
func TestTokenSizeLimit(t *testing.T) {
	op := newTestOP(t)
	st := openTestStore(t)
	ctx := context.Background()
	secret, _ := NewSecret("pw", testParams)
	acct, err := st.CreateAccount(ctx, "alice@example.org", secret)
	if err != nil {
		t.Fatal(err)
	}
	claims := op.claims("alice@example.org", time.Hour)
	claims["padding"] = strings.Repeat("x", 1500)
	tok := op.token(t, claims)
	for _, c := range []struct {
		limit   int
		wantErr bool
	}{{len(tok) - 1, true}, {len(tok), false}, {0, false}} {
		a := New(StoreAccounts{Store: st}, Config{Params: testParams, Clock: newFakeClock(), Directory: &Directory{Store: st},
			OAuth: NewOIDC(OIDCConfig{Issuer: op.srv.URL, Audience: "barid"}), MaxTokenBytes: c.limit}, nil)
		for _, ir := range []struct{ mech, ir string }{
			{MechOAuthBearer, oauthBearerIR("", tok)},
			{MechXOAuth2, "user=alice@example.org\x01auth=Bearer " + tok + "\x01\x01"},
		} {
			id, err := bearerLogin(t, a, ir.mech, ir.ir)
			if !c.wantErr {
				if err != nil || id != acct.ID {
					t.Errorf("limit %d, token of %d bytes, %s: %d %v", c.limit, len(tok), ir.mech, id, err)
				}
				continue
			}
			var te *TokenSizeError
			if !errors.As(err, &te) || !errors.Is(err, ErrMalformed) || te.Max != c.limit ||
				!strings.Contains(err.Error(), "oauth_token_size") {
				t.Errorf("limit %d, token of %d bytes, %s: %v, want a TokenSizeError naming oauth_token_size", c.limit, len(tok), ir.mech, err)
			}
		}
	}
	// The default: a token of more than 16 KiB.
	a := New(StoreAccounts{Store: st}, Config{Params: testParams, Clock: newFakeClock(), Directory: &Directory{Store: st},
		OAuth: NewOIDC(OIDCConfig{Issuer: op.srv.URL, Audience: "barid"})}, nil)
	claims["padding"] = strings.Repeat("x", DefaultMaxTokenBytes)
	if _, err := bearerLogin(t, a, MechOAuthBearer, oauthBearerIR("", op.token(t, claims))); !errors.Is(err, ErrMalformed) {
		t.Errorf("token over the default limit: %v", err)
	}
}
