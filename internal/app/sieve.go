package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/emersion/go-smtp"

	"barid/internal/config"
	"barid/internal/deliver"
	"barid/internal/filter"
	"barid/internal/lmtp"
	"barid/internal/managesieve"
	"barid/internal/sieve"
	"barid/internal/store"
)

// sieveOptions maps [sieve] onto the interpreter's limits.
func sieveOptions(cfg *config.Config) sieve.Options {
	s := &cfg.Sieve
	return sieve.Options{
		MaxScriptSize:    s.MaxScriptSize,
		MaxActions:       s.MaxActions,
		MaxRedirects:     s.MaxRedirects,
		MaxIncludeDepth:  s.MaxIncludeDepth,
		CPUTime:          s.CPUTime.Duration,
		SpamHeader:       s.SpamHeader,
		SpamMax:          s.SpamMax,
		VirusHeader:      s.VirusHeader,
		VirusMax:         s.VirusMax,
		MaxNotifications: s.MaxNotifications,
	}
}

// ErrNoSieve: the metadata store has no Sieve tables.
var ErrNoSieve = errors.New("this metadata store does not keep Sieve scripts")

// SieveScripts is the script service over st with the [sieve] limits:
// what ManageSieve and "barid sieve" both use.
func SieveScripts(cfg *config.Config, st store.Store) (*filter.Scripts, error) {
	ss, ok := st.(store.SieveScripts)
	if !ok {
		return nil, ErrNoSieve
	}
	return &filter.Scripts{Store: ss, Options: sieveOptions(cfg), MaxScripts: cfg.Sieve.MaxScripts,
		MaxNameLength: cfg.Sieve.MaxNameLength}, nil
}

// sieveService is the Sieve side of an App: the delivery filter LMTP
// runs, the outbox that sends what scripts make, and ManageSieve.
type sieveService struct {
	filter *filter.Filter
	outbox *filter.Outbox
	ms     *managesieve.Server
	lns    []listener
	stop   context.CancelFunc
	done   chan struct{}
}

// newSieve builds the filter and the outbox (on a store with Sieve
// tables) and the ManageSieve server.
func (a *App) newSieve() {
	scripts, err := SieveScripts(&a.cfg, a.data.Store)
	if err != nil {
		a.log.Warn("sieve disabled", "err", err)
		return
	}
	a.sieve.outbox = newOutbox(&a.cfg, scripts.Store, a.log)
	a.sieve.filter = newFilter(&a.cfg, a.data.Store, scripts, a.deliv, a.sieve.outbox, a.log)
	a.sieve.ms = managesieve.New(managesieve.Config{
		Store:   a.data.Store,
		Scripts: scripts,
		Auth:    a.auth,
		TLS:     a.tlsCfg,
		Logger:  a.log,
		Limits: managesieve.Limits{
			LineLength:          a.cfg.Limits.LineLength,
			LiteralSize:         a.cfg.Limits.LiteralSize,
			MaxScriptSize:       int64(a.cfg.Sieve.MaxScriptSize),
			CommandsBeforeLogin: a.cfg.Limits.CommandsBeforeLogin,
			LoginTimeout:        a.cfg.Limits.LoginTimeout.Duration,
			Autologout:          a.cfg.Limits.Autologout.Duration,
		},
		Extensions:         sieve.Capabilities(),
		NotifyMethods:      sieve.NotifyMethods(),
		MaxRedirects:       a.cfg.Sieve.MaxRedirects,
		AllowPlaintextAuth: a.cfg.IMAP.AllowPlaintextAuth,
	})
}

func newOutbox(cfg *config.Config, ss store.SieveScripts, log *slog.Logger) *filter.Outbox {
	return filter.NewOutbox(filter.Outbox{Store: ss, Addr: cfg.Sieve.SMTP, Hostname: cfg.Hostname, Logger: log,
		RetryInterval: cfg.Sieve.RetryInterval.Duration, MaxAttempts: cfg.Sieve.MaxAttempts})
}

func newFilter(cfg *config.Config, st store.Store, scripts *filter.Scripts, d *deliver.Deliverer, ob *filter.Outbox, log *slog.Logger) *filter.Filter {
	return &filter.Filter{Store: st, Scripts: scripts, Deliver: d, Outbox: ob, Logger: log, Hostname: cfg.Hostname,
		VacationMin: cfg.Sieve.VacationMinPeriod.Duration, VacationMax: cfg.Sieve.VacationMaxPeriod.Duration}
}

// listenManageSieve binds [managesieve] listen.
func (a *App) listenManageSieve() error {
	addr := a.cfg.ManageSieve.Listen
	if addr == "" || len(a.sieve.lns) > 0 {
		return nil
	}
	if a.sieve.ms == nil {
		return fmt.Errorf("managesieve listener on %s: %w", addr, ErrNoSieve)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("managesieve listener on %s: %w", addr, err)
	}
	a.sieve.lns = append(a.sieve.lns, listener{ln: ln, name: "managesieve"})
	return nil
}

func (a *App) sieveAddrs(m map[string]string) {
	for _, l := range a.sieve.lns {
		m[l.name] = l.ln.Addr().String()
	}
}

// serveSieve starts the outbox and the ManageSieve listeners.
func (a *App) serveSieve(wg *sync.WaitGroup, errc chan<- error) {
	if a.sieve.outbox != nil {
		ctx, cancel := context.WithCancel(context.Background())
		a.sieve.stop, a.sieve.done = cancel, make(chan struct{})
		go func() {
			defer close(a.sieve.done)
			a.sieve.outbox.Run(ctx)
		}()
	}
	for _, l := range a.sieve.lns {
		a.log.Info("listening", "service", l.name, "addr", l.ln.Addr().String())
		wg.Add(1)
		go func(l listener) {
			defer wg.Done()
			if err := a.sieve.ms.Serve(l.ln); err != nil && !errors.Is(err, managesieve.ErrServerClosed) {
				select {
				case errc <- fmt.Errorf("%s: %w", l.name, err):
				default:
				}
			}
		}(l)
	}
}

// shutdownSieve stops ManageSieve and the outbox (mail not yet sent
// stays in the spool for the next start).
func (a *App) shutdownSieve(ctx context.Context) {
	if a.sieve.ms != nil {
		a.sieve.ms.Shutdown(ctx)
	}
	if a.sieve.stop != nil {
		a.sieve.stop()
		<-a.sieve.done
	}
}

// deliverSieve is "barid deliver" writing directly for an account with
// an active script: the script runs as it would in the server; mail it
// makes waits in the spool for the server's outbox. done false: no
// script, deliver as usual.
func deliverSieve(ctx context.Context, cfg *config.Config, logger *slog.Logger, d *Data, dl *deliver.Deliverer,
	t *lmtp.Target, mb *store.Mailbox, rcpt, from string, body io.Reader, limit int64) (done bool, err error) {
	scripts, err := SieveScripts(cfg, d.Store)
	if err != nil {
		return false, nil
	}
	f := newFilter(cfg, d.Store, scripts, dl, newOutbox(cfg, scripts.Store, logger), logger)
	sc, err := f.Active(ctx, t.Account.ID)
	if err != nil || sc == nil {
		return false, err
	}
	p, err := dl.Prepare(ctx, body, limit, store.Flags{}, time.Now())
	if err != nil {
		return true, err
	}
	out, err := f.Run(ctx, sc, p, filter.Recipient{Account: t.Account, Rcpt: rcpt, From: from, Default: mb})
	if err != nil {
		dl.Discard(ctx, p)
		return true, err
	}
	if len(out.UIDs) == 0 {
		dl.Discard(ctx, p)
	}
	if out.Rejected != "" {
		// RFC 5429 §2.1 ereject: refused, so the MTA bounces it.
		return true, &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 7, 1}, Message: out.Rejected}
	}
	logger.Info("deliver: delivered", "account", t.Account.Name, "sieve", sc.Name(), "mailboxes", out.Mailboxes, "uids", out.UIDs, "from", from)
	return true, nil
}
