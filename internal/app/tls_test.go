package app

import (
	"crypto/tls"
	"crypto/x509"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func leafSerial(t *testing.T, c *tls.Certificate) string {
	t.Helper()
	x, err := x509.ParseCertificate(c.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	return x.SerialNumber.String()
}

// A certificate renewed on disk is picked up without a restart: on
// Reload (SIGHUP) and when the files change.
func TestCertificateReload(t *testing.T) {
	dirA, dirB := t.TempDir(), t.TempDir()
	certA, keyA, err := ensureSelfSigned(dirA, "a.example")
	if err != nil {
		t.Fatal(err)
	}
	certB, keyB, err := ensureSelfSigned(dirB, "b.example")
	if err != nil {
		t.Fatal(err)
	}
	live := t.TempDir()
	cert, key := filepath.Join(live, "cert.pem"), filepath.Join(live, "key.pem")
	cp := func(src, dst string) {
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst+".tmp", b, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(dst+".tmp", dst); err != nil {
			t.Fatal(err)
		}
	}
	cp(certA, cert)
	cp(keyA, key)
	r, err := newCertReloader(cert, key)
	if err != nil {
		t.Fatal(err)
	}
	first, _ := r.getCertificate(nil)
	serialA := leafSerial(t, first)

	// Renewal on disk, detected by modification time.
	cp(certB, cert)
	cp(keyB, key)
	future := time.Now().Add(time.Minute)
	os.Chtimes(cert, future, future)
	os.Chtimes(key, future, future)
	r.mu.Lock()
	r.lastCheck = time.Time{}
	r.mu.Unlock()
	second, _ := r.getCertificate(nil)
	if leafSerial(t, second) == serialA {
		t.Fatal("renewed certificate not picked up on change")
	}

	// Explicit reload (SIGHUP).
	cp(certA, cert)
	cp(keyA, key)
	if err := r.Reload(); err != nil {
		t.Fatal(err)
	}
	third, _ := r.getCertificate(nil)
	if leafSerial(t, third) != serialA {
		t.Fatal("Reload did not load the new certificate")
	}
	cfg := tlsConfig(r)
	if cfg.MinVersion != tls.VersionTLS12 {
		t.Fatalf("MinVersion %x", cfg.MinVersion)
	}
}
