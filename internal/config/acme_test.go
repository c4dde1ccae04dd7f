package config

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// [tls] acme_* and [control] socket load from TOML and are checked.
func TestACMEAndControlKeys(t *testing.T) {
	p := filepath.Join(t.TempDir(), "barid.toml")
	os.WriteFile(p, []byte(`data_dir = "/var/lib/barid"
[tls]
acme_domains = ["mail.example.org", "imap.example.org"]
acme_email = "postmaster@example.org"
acme_dir = "https://acme-staging-v02.api.letsencrypt.org/directory"
acme_http = ":80"
[control]
socket = "/run/barid/control.sock"
`), 0o600)
	cfg, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(cfg.TLS.ACMEDomains, ","); got != "mail.example.org,imap.example.org" || cfg.TLS.ACMEEmail != "postmaster@example.org" ||
		cfg.TLS.ACMEHTTP != ":80" || !strings.Contains(cfg.TLS.ACMEDir, "staging") {
		t.Errorf("acme keys: %+v", cfg.TLS)
	}
	if cfg.ControlSocket() != "/run/barid/control.sock" {
		t.Errorf("control socket %q", cfg.ControlSocket())
	}
	for _, tc := range []struct {
		sock, want string
	}{{"", "/var/lib/barid/control.sock"}, {"ctl.sock", "/var/lib/barid/ctl.sock"}, {"off", ""}} {
		cfg.Control.Socket = tc.sock
		if got := cfg.ControlSocket(); got != tc.want {
			t.Errorf("socket %q: %q, want %q", tc.sock, got, tc.want)
		}
	}
	bad := Default()
	bad.TLS.ACMEDomains = []string{"mail.example.org"}
	bad.TLS.CertFile, bad.TLS.KeyFile = "c.pem", "k.pem"
	if err := bad.Validate(); err == nil || !strings.Contains(err.Error(), "tls.acme_domains and tls.cert_file") {
		t.Errorf("acme with cert_file: %v", err)
	}
	bad = Default()
	bad.TLS.ACMEDomains = []string{"https://mail.example.org"}
	if err := bad.Validate(); err == nil || !strings.Contains(err.Error(), "is not a host name") {
		t.Errorf("acme domain URL: %v", err)
	}
}

// tlsEqual compares [tls] sections (acme_domains is a list).
func tlsEqual(a, b TLS) bool {
	if !slices.Equal(a.ACMEDomains, b.ACMEDomains) {
		return false
	}
	return a.CertFile == b.CertFile && a.KeyFile == b.KeyFile && a.ACMEEmail == b.ACMEEmail &&
		a.ACMEDir == b.ACMEDir && a.ACMEHTTP == b.ACMEHTTP && a.ACMECA == b.ACMECA
}
