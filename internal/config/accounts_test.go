package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// [limits] oauth_token_size, crypt_rounds, bcrypt_cost and [auth]
// rehash_on_login load from TOML, default to what the example file
// shows, and out-of-range values are refused with an error naming the
// key.
func TestAccountLimitKeys(t *testing.T) {
	def := Default()
	if def.Limits.OAuthTokenSize != 16384 || def.Limits.CryptRounds != 10_000_000 || def.Limits.BcryptCost != 16 || !def.Auth.RehashOnLogin {
		t.Fatalf("defaults: %+v, rehash %v", def.Limits, def.Auth.RehashOnLogin)
	}
	ex, err := Load(filepath.Join("..", "..", "barid.example.toml"))
	if err != nil {
		t.Fatal(err)
	}
	if ex.Auth.RehashOnLogin != def.Auth.RehashOnLogin || ex.Limits != def.Limits {
		t.Fatalf("example file differs from the defaults: rehash_on_login %v, limits %+v", ex.Auth.RehashOnLogin, ex.Limits)
	}
	p := filepath.Join(t.TempDir(), "barid.toml")
	os.WriteFile(p, []byte(`[auth]
rehash_on_login = false
[limits]
oauth_token_size = 4096
crypt_rounds = 50000
bcrypt_cost = 12
`), 0o600)
	cfg, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Auth.RehashOnLogin || cfg.Limits.OAuthTokenSize != 4096 || cfg.Limits.CryptRounds != 50000 || cfg.Limits.BcryptCost != 12 {
		t.Fatalf("loaded: rehash %v, %+v", cfg.Auth.RehashOnLogin, cfg.Limits)
	}
	for name, mut := range map[string]func(*Config){
		"limits.oauth_token_size": func(c *Config) { c.Limits.OAuthTokenSize = 100 },
		"limits.crypt_rounds":     func(c *Config) { c.Limits.CryptRounds = 999 },
		"limits.bcrypt_cost":      func(c *Config) { c.Limits.BcryptCost = 32 },
	} {
		c := Default()
		mut(&c)
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s: got %v", name, err)
		}
	}
}
