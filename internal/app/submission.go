package app

import (
	"context"
	"fmt"
	"sync"

	"barid/internal/submission"
	"barid/internal/urlauth"
)

// submissionService is the submission side of an App: one server for
// submission.listen (587, STARTTLS) and submission.listen_tls (465,
// implicit TLS, RFC 8314).
type submissionService struct {
	srv *submission.Server
	lns []listener
}

func (a *App) submissionConfig() submission.Config {
	c := a.cfg.Submission
	return submission.Config{
		Store: a.data.Store,
		Auth:  a.auth,
		// BURL resolves only URLs of this server's host name, the one
		// EHLO announces ("BURL imap imap://HOST").
		URLAuth:             &urlauth.Service{Store: a.data.Store, Blobs: a.data.Blobs, Hosts: []string{a.cfg.Hostname}},
		TLS:                 a.tlsCfg,
		Logger:              a.log.With("service", "submission"),
		Hostname:            a.cfg.Hostname,
		Relay:               c.Relay,
		RelayTLS:            c.RelayTLS,
		RelayEHLOTTL:        c.RelayEHLOTTL.Duration,
		AllowPlaintextAuth:  c.AllowPlaintextAuth,
		MaxMessageBytes:     a.cfg.Limits.LiteralSize,
		MaxLineLength:       a.cfg.Limits.LineLength,
		MaxRecipients:       c.MaxRecipients,
		HeaderSize:          a.cfg.Limits.HeaderSize,
		LoginTimeout:        a.cfg.Limits.LoginTimeout.Duration,
		CommandsBeforeLogin: a.cfg.Limits.CommandsBeforeLogin,
		LocalDomains:        a.cfg.LMTP.LocalDomains,
		Addresses:           c.Addresses,
		Metrics:             a.obs.m,
		LogCommands:         a.logCommands(),
	}
}

// listenSubmission binds the configured submission listeners. Calling
// it again once bound does nothing.
func (a *App) listenSubmission() error {
	if a.subm.srv != nil {
		return nil
	}
	c := a.cfg.Submission
	if c.Listen == "" && c.ListenTLS == "" {
		return nil
	}
	svc := submissionService{srv: submission.New(a.submissionConfig())}
	for _, l := range []struct {
		addr, name string
		tls        bool
	}{{c.Listen, "submission", false}, {c.ListenTLS, "submissions", true}} {
		if l.addr == "" {
			continue
		}
		ln, err := a.listenTCP(l.addr)
		if err != nil {
			for _, x := range svc.lns {
				x.ln.Close()
			}
			return fmt.Errorf("%s listener on %s: %w", l.name, l.addr, err)
		}
		svc.lns = append(svc.lns, listener{ln: ln, implicitTLS: l.tls, name: l.name})
	}
	if c.Relay == "" {
		a.log.Warn("submission has no relay ([submission] relay): every message will be refused with 451 4.3.5")
	}
	a.subm = svc
	return nil
}

// submissionAddrs adds the submission listeners to m.
func (a *App) submissionAddrs(m map[string]string) {
	for _, l := range a.subm.lns {
		m[l.name] = l.ln.Addr().String()
	}
}

// serveSubmission starts one goroutine per submission listener.
func (a *App) serveSubmission(wg *sync.WaitGroup, errc chan<- error) {
	for _, l := range a.subm.lns {
		a.log.Info("listening", "service", l.name, "addr", l.ln.Addr().String(), "relay", a.cfg.Submission.Relay)
		wg.Add(1)
		go func(l listener) {
			defer wg.Done()
			if err := a.subm.srv.Serve(l.ln, l.implicitTLS); err != nil {
				select {
				case errc <- fmt.Errorf("%s: %w", l.name, err):
				default:
				}
			}
		}(l)
	}
}

// shutdownSubmission stops accepting and lets relays in flight finish
// (their answers reach the clients) until ctx ends.
func (a *App) shutdownSubmission(ctx context.Context) {
	if a.subm.srv != nil {
		a.subm.srv.Shutdown(ctx)
	}
}
