package app_test

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"barid/internal/config"
	"barid/internal/testkit"
)

// ACME against Pebble (scripts/ci-acme exports BARID_TEST_ACME): barid
// with [tls] acme_domains = ["mail.barid.test"] serves IMAPS on the port
// Pebble's validator connects to (its DNS answers 127.0.0.1 for every
// name), answers the TLS-ALPN-01 challenge in
// its own TLS handshake, gets a certificate issued, and serves IMAPS
// with it: a client that trusts only Pebble's root, and asks for
// "mail.barid.test" or sends no server name at all, completes the handshake
// and logs in. The certificate is kept in <data>/acme and served again
// after a restart without asking the CA.
func TestACMEPebbleIssuesCertificateForIMAPS(t *testing.T) {
	dirURL := os.Getenv("BARID_TEST_ACME")
	if dirURL == "" {
		t.Skip("BARID_TEST_ACME not set: run scripts/ci-acme (sourced by .ci/run) to start Pebble")
	}
	apiCA := os.Getenv("BARID_TEST_ACME_CA")
	tlsPort := os.Getenv("BARID_TEST_ACME_TLS_PORT")
	// The root that signs what Pebble issues (new at each Pebble start).
	pem0, err := os.ReadFile(apiCA)
	if err != nil {
		t.Fatal(err)
	}
	apiPool := x509.NewCertPool()
	apiPool.AppendCertsFromPEM(pem0)
	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: apiPool}}}
	resp, err := hc.Get(os.Getenv("BARID_TEST_ACME_ROOTS"))
	if err != nil {
		t.Fatal(err)
	}
	rootPEM, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(rootPEM) {
		t.Fatalf("no root from Pebble: %q", rootPEM)
	}

	dir := t.TempDir()
	opts := func(c *config.Config) {
		c.IMAP.ListenTLS = "127.0.0.1:" + tlsPort
		c.TLS.ACMEDomains = []string{"mail.barid.test"}
		c.TLS.ACMEDir = dirURL
		c.TLS.ACMECA = apiCA
		c.TLS.ACMEEmail = "postmaster@localhost"
	}
	s := testkit.StartAt(t, dir, opts)
	s.AddUser("alice", "pw")

	handshake := func(serverName string) (*x509.Certificate, error) {
		nc, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", s.TLSAddr, &tls.Config{
			ServerName: serverName, RootCAs: roots,
			// The client verifies against mail.barid.test whatever it
			// sends as SNI (none at all for ""): barid then serves its
			// first ACME domain.
			InsecureSkipVerify: serverName == "",
			VerifyConnection: func(cs tls.ConnectionState) error {
				if serverName != "" {
					return nil
				}
				opts := x509.VerifyOptions{DNSName: "mail.barid.test", Roots: roots, Intermediates: x509.NewCertPool()}
				for _, c := range cs.PeerCertificates[1:] {
					opts.Intermediates.AddCert(c)
				}
				_, err := cs.PeerCertificates[0].Verify(opts)
				return err
			},
		})
		if err != nil {
			return nil, err
		}
		defer nc.Close()
		nc.SetDeadline(time.Now().Add(10 * time.Second))
		br := bufio.NewReader(nc)
		if l, err := br.ReadString('\n'); err != nil || !strings.HasPrefix(l, "* OK") {
			return nil, err
		}
		io.WriteString(nc, "a LOGIN alice pw\r\n")
		for {
			l, err := br.ReadString('\n')
			if err != nil {
				return nil, err
			}
			if strings.HasPrefix(l, "a ") {
				if !strings.HasPrefix(l, "a OK") {
					t.Errorf("login over the ACME certificate: %q", l)
				}
				break
			}
		}
		return nc.ConnectionState().PeerCertificates[0], nil
	}
	var leaf *x509.Certificate
	deadline := time.Now().Add(90 * time.Second)
	for {
		leaf, err = handshake("mail.barid.test")
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no certificate from Pebble within 90 s: %v\nserver log:\n%s", err, s.Logs.String())
		}
		time.Sleep(500 * time.Millisecond)
	}
	if leaf.Subject.Organization != nil && strings.Contains(strings.Join(leaf.Subject.Organization, ","), "self-signed") {
		t.Fatalf("served the self-signed certificate: %v", leaf.Subject)
	}
	t.Logf("issued by %q for %v, valid until %s", leaf.Issuer.CommonName, leaf.DNSNames, leaf.NotAfter.Format(time.DateOnly))
	if _, err := handshake(""); err != nil {
		t.Errorf("client without SNI: %v", err)
	}
	if ents, _ := os.ReadDir(filepath.Join(dir, "acme")); len(ents) < 2 {
		t.Errorf("acme cache holds %d entries, want the account key and the certificate", len(ents))
	}

	// A restart serves the cached certificate at once.
	s.Stop()
	s2 := testkit.StartAt(t, dir, opts)
	_ = s2
	leaf2, err := handshake("mail.barid.test")
	if err != nil {
		t.Fatalf("after restart: %v", err)
	}
	if leaf2.SerialNumber.Cmp(leaf.SerialNumber) != 0 {
		t.Errorf("after restart a new certificate was issued (serial %v, was %v): the cache was not used", leaf2.SerialNumber, leaf.SerialNumber)
	}
}

// HTTP-01 when TLS-ALPN-01 cannot succeed: IMAPS is not on the port the
// CA checks, [tls] acme_http is on the one it checks for HTTP-01, and
// autocert falls back to it.
func TestACMEPebbleHTTP01(t *testing.T) {
	dirURL := os.Getenv("BARID_TEST_ACME")
	if dirURL == "" {
		t.Skip("BARID_TEST_ACME not set: run scripts/ci-acme (sourced by .ci/run) to start Pebble")
	}
	apiCA := os.Getenv("BARID_TEST_ACME_CA")
	s := testkit.Start(t, func(c *config.Config) {
		c.TLS.ACMEDomains = []string{"http01.barid.test"}
		c.TLS.ACMEDir = dirURL
		c.TLS.ACMECA = apiCA
		c.TLS.ACMEHTTP = "127.0.0.1:" + os.Getenv("BARID_TEST_ACME_HTTP_PORT")
	})
	// Anything else on the HTTP-01 listener is not found.
	if resp, err := http.Get("http://" + s.App.Addrs()["acme-http"] + "/"); err != nil || resp.StatusCode != 404 {
		t.Fatalf("GET / on acme_http: %v %v", resp, err)
	}
	deadline := time.Now().Add(90 * time.Second)
	for {
		nc, err := tls.Dial("tcp", s.TLSAddr, &tls.Config{ServerName: "http01.barid.test", InsecureSkipVerify: true})
		if err == nil {
			leaf := nc.ConnectionState().PeerCertificates[0]
			nc.Close()
			if leaf.Issuer.CommonName != "" && strings.HasPrefix(leaf.Issuer.CommonName, "Pebble") {
				t.Logf("issued by %q for %v", leaf.Issuer.CommonName, leaf.DNSNames)
				return
			}
			t.Fatalf("served a certificate not from Pebble: issuer %q", leaf.Issuer.CommonName)
		}
		if time.Now().After(deadline) {
			t.Fatalf("no certificate over HTTP-01 within 90 s: %v\nserver log:\n%s", err, s.Logs.String())
		}
		time.Sleep(500 * time.Millisecond)
	}
}
