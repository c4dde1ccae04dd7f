package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// The example file in the repository must parse and equal the defaults,
// so that it really shows every key with its default value.
func TestExampleFileMatchesDefaults(t *testing.T) {
	cfg, err := Load(filepath.Join("..", "..", "barid.example.toml"))
	if err != nil {
		t.Fatal(err)
	}
	def := Default()
	if cfg.DataDir != def.DataDir || !reflect.DeepEqual(cfg.IMAP, def.IMAP) || !tlsEqual(cfg.TLS, def.TLS) || cfg.Control != def.Control || cfg.Limits != def.Limits || cfg.Storage != def.Storage ||
		cfg.Auth.FailureDelay != def.Auth.FailureDelay || cfg.Auth.MaxFailureDelay != def.Auth.MaxFailureDelay ||
		cfg.Hostname != def.Hostname || cfg.LogLevel != def.LogLevel || cfg.Proxy.HeaderTimeout != def.Proxy.HeaderTimeout || len(cfg.Proxy.Trusted) != 0 ||
		cfg.Sieve != def.Sieve || cfg.ManageSieve != def.ManageSieve {
		t.Fatalf("example differs from defaults:\n%+v\n%+v", cfg, def)
	}
}

func TestUnknownKeyRejected(t *testing.T) {
	p := filepath.Join(t.TempDir(), "c.toml")
	os.WriteFile(p, []byte("data_dir = \"x\"\n[limits]\nline_lenght = 5\n"), 0o600)
	_, err := Load(p)
	if err == nil || !strings.Contains(err.Error(), "limits.line_lenght") {
		t.Fatalf("want unknown key error, got %v", err)
	}
}

func TestValidateNamesTheLimit(t *testing.T) {
	cases := map[string]func(*Config){
		"limits.autologout":     func(c *Config) { c.Limits.Autologout.Duration = 1 },
		"limits.line_length":    func(c *Config) { c.Limits.LineLength = 10 },
		"limits.literal_size":   func(c *Config) { c.Limits.LiteralSize = 1 },
		"limits.nesting_depth":  func(c *Config) { c.Limits.NestingDepth = 1 },
		"limits.search_updates": func(c *Config) { c.Limits.SearchUpdates = -1 },
		"tls.cert_file":         func(c *Config) { c.TLS.CertFile = "x" },
		"storage.inline_max_bytes": func(c *Config) {
			c.Storage.InlineMaxBytes = MaxInlineBytes + 1
		},
		"storage.notify_poll": func(c *Config) {
			c.Storage.NotifyPoll.Duration = 500 * time.Millisecond
		},
		"storage.fts_index_interval": func(c *Config) {
			c.Storage.FTSIndexInterval.Duration = 10 * time.Millisecond
		},
		"storage.fts_index_duty":      func(c *Config) { c.Storage.FTSIndexDuty = 1.5 },
		"storage.fts_index_busy_duty": func(c *Config) { c.Storage.FTSIndexBusyDuty = 0 },
		"storage.fts_vocab_terms":     func(c *Config) { c.Storage.FTSVocabTerms = -1 },
		"storage.fts_docmap_entries":  func(c *Config) { c.Storage.FTSDocMapEntries = -1 },
		"storage.blob_cache_bytes":    func(c *Config) { c.Storage.BlobCacheBytes = -1 },
		"storage.fts_index_lease": func(c *Config) {
			c.Storage.FTSIndexLease.Duration = time.Second
		},
		"auth.trusted_networks": func(c *Config) {
			c.Auth.TrustedNetworks = []string{"not-a-net"}
		},
		"proxy.trusted": func(c *Config) {
			c.Proxy.Trusted = []string{"lb.example"}
		},
		"proxy.header_timeout": func(c *Config) {
			c.Proxy.HeaderTimeout.Duration = time.Millisecond
		},
	}
	for name, mut := range cases {
		c := Default()
		mut(&c)
		err := c.Validate()
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s: got %v", name, err)
		}
	}
}

// storage.metadata: empty (SQLite) or a PostgreSQL URL; anything else
// is refused with an error that names the key but not the value, which
// may hold a password.
func TestStorageMetadata(t *testing.T) {
	for _, ok := range []string{"", "postgres://u:p@h:5432/db?sslmode=disable", "postgresql://h/db"} {
		c := Default()
		c.Storage.Metadata = ok
		if err := c.Validate(); err != nil {
			t.Errorf("%q refused: %v", ok, err)
		}
	}
	for _, bad := range []string{"mysql://u:hunter2@h/db", "/var/lib/barid/hunter2.db", "sqlite:hunter2"} {
		c := Default()
		c.Storage.Metadata = bad
		err := c.Validate()
		if err == nil || !strings.Contains(err.Error(), "storage.metadata") {
			t.Errorf("%q: want a storage.metadata error, got %v", bad, err)
			continue
		}
		if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("%q: error echoes the value: %v", bad, err)
		}
	}
}

// [submission]: relay_tls is one of its four values, relay is HOST:PORT,
// max_recipients at least 1; each error names its key.
func TestSubmissionValidate(t *testing.T) {
	for _, tc := range []struct {
		mod  func(*Config)
		want string
	}{
		{func(c *Config) { c.Submission.RelayTLS = "always" }, "submission.relay_tls"},
		{func(c *Config) { c.Submission.Relay = "localhost" }, "submission.relay must be HOST:PORT"},
		{func(c *Config) { c.Submission.MaxRecipients = 0 }, "submission.max_recipients"},
		{func(c *Config) { c.Submission.RelayEHLOTTL = Duration{time.Millisecond} }, "submission.relay_ehlo_ttl must be at least 1s"},
		{func(c *Config) { c.Submission.Relay, c.Submission.RelayTLS = "127.0.0.1:25", "verify" }, ""},
	} {
		c := Default()
		tc.mod(&c)
		err := c.Validate()
		if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("got %v, want %q", err, tc.want)
		}
	}
}

// proxy.trusted takes prefixes and single addresses (IPv4-mapped ones
// unmapped), each masked to its network.
func TestProxyPrefixes(t *testing.T) {
	c := Default()
	c.Proxy.Trusted = []string{"10.1.2.3/8", "192.0.2.1", "::ffff:192.0.2.9", "2001:db8::/32"}
	p, err := c.ProxyPrefixes()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"10.0.0.0/8", "192.0.2.1/32", "192.0.2.9/32", "2001:db8::/32"}
	if len(p) != len(want) {
		t.Fatalf("got %v", p)
	}
	for i, w := range want {
		if p[i].String() != w {
			t.Errorf("entry %d = %s, want %s", i, p[i], w)
		}
	}
}

func TestFuzzyLanguagesChecked(t *testing.T) {
	p := filepath.Join(t.TempDir(), "c.toml")
	os.WriteFile(p, []byte("[imap]\nfuzzy_languages = [\"english\", \"klingon\"]\n"), 0o600)
	_, err := Load(p)
	if err == nil || !strings.Contains(err.Error(), `imap.fuzzy_languages: unknown language "klingon"`) {
		t.Fatalf("err = %v", err)
	}
	os.WriteFile(p, []byte("[imap]\nfuzzy_languages = [\"german\", \"arabic\"]\n"), 0o600)
	if _, err := Load(p); err != nil {
		t.Fatal(err)
	}
}

// [storage] sync_flags, sync_index's former name, still works; both set
// to different values is refused with a message naming both.
func TestSyncIndexFormerName(t *testing.T) {
	load := func(body string) (Config, error) {
		p := filepath.Join(t.TempDir(), "c.toml")
		if err := os.WriteFile(p, []byte("data_dir = \"x\"\n[storage]\n"+body), 0o600); err != nil {
			t.Fatal(err)
		}
		return Load(p)
	}
	for _, c := range []struct {
		body string
		want bool
	}{
		{"", false},
		{"sync_flags = true\n", true},
		{"sync_flags = false\n", false},
		{"sync_index = true\n", true},
		{"sync_index = true\nsync_flags = true\n", true},
	} {
		cfg, err := load(c.body)
		if err != nil {
			t.Fatalf("%q: %v", c.body, err)
		}
		if cfg.Storage.SyncIndex != c.want || cfg.Storage.SyncFlags != nil {
			t.Errorf("%q: SyncIndex %v (SyncFlags %v), want %v", c.body, cfg.Storage.SyncIndex, cfg.Storage.SyncFlags, c.want)
		}
	}
	_, err := load("sync_index = false\nsync_flags = true\n")
	if err == nil || !strings.Contains(err.Error(), "storage.sync_flags") || !strings.Contains(err.Error(), "storage.sync_index") {
		t.Fatalf("contradicting keys: %v", err)
	}
}
