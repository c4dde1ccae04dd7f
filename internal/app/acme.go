package app

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/acme"
	"golang.org/x/crypto/acme/autocert"
)

// ACME certificates ([tls] acme_domains; RFC 8555) with
// golang.org/x/crypto/acme/autocert: it answers TLS-ALPN-01 (RFC 8737)
// in the TLS handshake of barid's own implicit-TLS listeners (IMAPS,
// POP3S, submissions) and HTTP-01 on [tls] acme_http, and renews 30 days
// before expiry.

// defaultACMEDir is Let's Encrypt's production directory.
const defaultACMEDir = "https://acme-v02.api.letsencrypt.org/directory"

type acmeService struct {
	m       *autocert.Manager
	domains []string
	httpLn  net.Listener
	httpSrv *http.Server
}

// setupACME puts the ACME manager in front of the TLS configuration:
// a configured name (or no name: the first domain) gets the ACME
// certificate, any other name the self-signed or configured one.
func (a *App) setupACME() error {
	t := a.cfg.TLS
	if len(t.ACMEDomains) == 0 {
		return nil
	}
	dir := t.ACMEDir
	if dir == "" {
		dir = defaultACMEDir
	}
	hc := http.DefaultClient
	if t.ACMECA != "" {
		pem, err := os.ReadFile(t.ACMECA)
		if err != nil {
			return fmt.Errorf("tls.acme_ca: %w", err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return fmt.Errorf("tls.acme_ca: no PEM certificate in %s", t.ACMECA)
		}
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
		hc = &http.Client{Transport: tr, Timeout: time.Minute}
	}
	cache := a.cfg.Path("acme")
	if err := os.MkdirAll(cache, 0o700); err != nil {
		return err
	}
	domains := make([]string, len(t.ACMEDomains))
	for i, d := range t.ACMEDomains {
		domains[i] = strings.ToLower(strings.TrimSuffix(d, "."))
	}
	m := &autocert.Manager{
		Prompt:     autocert.AcceptTOS,
		Cache:      autocert.DirCache(cache),
		HostPolicy: autocert.HostWhitelist(domains...),
		Email:      t.ACMEEmail,
		Client:     &acme.Client{DirectoryURL: dir, HTTPClient: hc},
	}
	a.acme = &acmeService{m: m, domains: domains}
	fallback := a.tlsCfg.GetCertificate
	a.tlsCfg.GetCertificate = func(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
		name := strings.ToLower(strings.TrimSuffix(hello.ServerName, "."))
		if slices.Contains(hello.SupportedProtos, acme.ALPNProto) {
			return m.GetCertificate(hello) // the CA's TLS-ALPN-01 check
		}
		if name == "" {
			h := *hello
			h.ServerName = domains[0]
			return m.GetCertificate(&h)
		}
		if slices.Contains(domains, name) {
			return m.GetCertificate(hello)
		}
		return fallback(hello)
	}
	// RFC 8737 §6.2: the validation handshake negotiates "acme-tls/1".
	a.tlsCfg.NextProtos = append(a.tlsCfg.NextProtos, acme.ALPNProto)
	return nil
}

// listenACME binds [tls] acme_http for HTTP-01 challenges.
func (a *App) listenACME() error {
	if a.acme == nil || a.cfg.TLS.ACMEHTTP == "" {
		return nil
	}
	ln, err := net.Listen("tcp", a.cfg.TLS.ACMEHTTP)
	if err != nil {
		return fmt.Errorf("acme http-01 listener on %s: %w", a.cfg.TLS.ACMEHTTP, err)
	}
	a.acme.httpLn = ln
	h := a.acme.m.HTTPHandler(http.NotFoundHandler())
	// autocert checks the Host header against acme_domains as it is,
	// port included: a CA that validates on another port than 80 (a
	// test CA, or a port forward that keeps it) would be refused.
	strip := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if host, _, err := net.SplitHostPort(r.Host); err == nil {
			r = r.Clone(r.Context())
			r.Host = host
		}
		h.ServeHTTP(w, r)
	})
	a.acme.httpSrv = &http.Server{Handler: strip, ReadHeaderTimeout: 10 * time.Second}
	return nil
}

// serveACME serves HTTP-01 and obtains the certificates at start (in
// the background: the listeners answer meanwhile), so that the first
// client does not wait for the CA and a misconfiguration shows in the
// log at once.
func (a *App) serveACME(ctx context.Context, wg *sync.WaitGroup) {
	if a.acme == nil {
		return
	}
	if a.acme.httpSrv != nil {
		wg.Go(func() {
			if err := a.acme.httpSrv.Serve(a.acme.httpLn); err != nil && !errors.Is(err, http.ErrServerClosed) {
				a.log.Error("acme http-01 listener stopped", "err", err)
			}
		})
	}
	wg.Go(func() {
		for _, d := range a.acme.domains {
			if ctx.Err() != nil {
				return
			}
			if _, err := a.acme.m.GetCertificate(&tls.ClientHelloInfo{ServerName: d, CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256}}); err != nil {
				a.log.Error("acme: no certificate", "domain", d, "err", err)
				continue
			}
			a.log.Info("acme: certificate ready", "domain", d)
		}
	})
}

func (a *App) shutdownACME(ctx context.Context) {
	if a.acme != nil && a.acme.httpSrv != nil {
		a.acme.httpSrv.Shutdown(ctx)
	}
}

func (a *App) acmeAddrs(m map[string]string) {
	if a.acme != nil && a.acme.httpLn != nil {
		m["acme-http"] = a.acme.httpLn.Addr().String()
	}
}
