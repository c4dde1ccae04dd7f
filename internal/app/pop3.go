package app

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"barid/internal/pop3"
)

// pop3Service is the POP3 side of an App: one server for [pop3] listen
// (STLS) and listen_tls (implicit TLS), wired like IMAP to the same
// store, bus, authenticator, limits and certificate.
type pop3Service struct {
	srv *pop3.Server
	lns []listener
}

func (a *App) newPOP3() {
	a.pop3.srv = pop3.New(pop3.Config{
		Store:     a.data.Store,
		Mailboxes: a.mbox,
		Blobs:     a.data.Blobs,
		Bus:       a.bus,
		Auth:      a.auth,
		TLS:       a.tlsCfg,
		Logger:    a.log,
		Hostname:  a.cfg.Hostname,
		Limits: pop3.Limits{
			LineLength:          a.cfg.Limits.LineLength,
			CommandsBeforeLogin: a.cfg.Limits.CommandsBeforeLogin,
			LoginTimeout:        a.cfg.Limits.LoginTimeout.Duration,
			Autologout:          a.cfg.Limits.Autologout.Duration,
		},
		AllowPlaintextAuth: a.cfg.IMAP.AllowPlaintextAuth,
		Trace:              a.cfg.LogLevel == "trace",
		Metrics:            a.obs.m,
		LogCommands:        a.logCommands(),
	})
}

// listenPOP3 binds pop3.listen and pop3.listen_tls (either may be off).
func (a *App) listenPOP3() error {
	if len(a.pop3.lns) > 0 {
		return nil
	}
	for _, l := range []struct {
		addr, name string
		tls        bool
	}{{a.cfg.POP3.Listen, "pop3", false}, {a.cfg.POP3.ListenTLS, "pop3s", true}} {
		if l.addr == "" {
			continue
		}
		ln, err := a.listenTCP(l.addr)
		if err != nil {
			for _, b := range a.pop3.lns {
				b.ln.Close()
			}
			a.pop3.lns = nil
			return fmt.Errorf("%s listener on %s: %w", l.name, l.addr, err)
		}
		a.pop3.lns = append(a.pop3.lns, listener{ln: ln, implicitTLS: l.tls, name: l.name})
	}
	return nil
}

func (a *App) pop3Addrs(m map[string]string) {
	for _, l := range a.pop3.lns {
		m[l.name] = l.ln.Addr().String()
	}
}

func (a *App) servePOP3(wg *sync.WaitGroup, errc chan<- error) {
	for _, l := range a.pop3.lns {
		a.log.Info("listening", "service", l.name, "addr", l.ln.Addr().String())
		wg.Add(1)
		go func(l listener) {
			defer wg.Done()
			if err := a.pop3.srv.Serve(l.ln, l.implicitTLS); err != nil && !errors.Is(err, pop3.ErrServerClosed) {
				select {
				case errc <- fmt.Errorf("%s: %w", l.name, err):
				default:
				}
			}
		}(l)
	}
}

// shutdownPOP3 stops accepting and ends the sessions: a command in
// progress (a QUIT's expunge) finishes; sessions that did not QUIT
// delete nothing.
func (a *App) shutdownPOP3(ctx context.Context) {
	if a.pop3.srv != nil {
		a.pop3.srv.Shutdown(ctx)
	}
}
