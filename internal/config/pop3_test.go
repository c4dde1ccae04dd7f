package config

import (
	"os"
	"path/filepath"
	"testing"
)

// [pop3] listen and listen_tls: off (empty) by default, read from the
// file when set.
func TestPOP3Section(t *testing.T) {
	if d := Default(); d.POP3.Listen != "" || d.POP3.ListenTLS != "" {
		t.Errorf("POP3 listeners on by default: %+v", d.POP3)
	}
	p := filepath.Join(t.TempDir(), "c.toml")
	os.WriteFile(p, []byte("[pop3]\nlisten = \"127.0.0.1:110\"\nlisten_tls = \":995\"\n"), 0o600)
	c, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if c.POP3.Listen != "127.0.0.1:110" || c.POP3.ListenTLS != ":995" {
		t.Errorf("loaded %+v", c.POP3)
	}
}
