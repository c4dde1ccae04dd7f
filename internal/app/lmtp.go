package app

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	"barid/internal/config"
	"barid/internal/deliver"
	"barid/internal/lmtp"
	"barid/internal/mail/mime"
	"barid/internal/notify"
	"barid/internal/store"
)

// HandoffSocket is the private LMTP socket in the data folder. The
// server always listens there (mode 0600: only barid's own user, who can
// open the data folder anyway); "barid deliver" hands messages over
// through it so that the running server's idling clients see them at
// once, and delivers directly into the data folder when nothing answers.
const HandoffSocket = "lmtp.sock"

// lmtpService is the LMTP side of an App: the public server (TCP
// lmtp.listen and unix lmtp.socket) and the private hand-off server.
type lmtpService struct {
	public, private *lmtp.Server
	lns             []lmtpListener
}

type lmtpListener struct {
	name string // "lmtp", "lmtp-unix", "lmtp-handoff"
	ln   net.Listener
	srv  *lmtp.Server
	path string // unix socket file, removed on shutdown
}

func (a *App) lmtpConfig(handoff bool) lmtp.Config {
	lineLength := a.cfg.Limits.LineLength
	if handoff {
		lineLength = 0
	}
	return lmtp.Config{
		MaxLineLength:   lineLength,
		Store:           a.data.Store,
		Mailboxes:       a.mbox,
		Deliver:         a.deliv,
		Logger:          a.log,
		Hostname:        a.cfg.Hostname,
		MaxMessageBytes: a.cfg.Limits.LiteralSize,
		LocalDomains:    a.cfg.LMTP.LocalDomains,
		DetailDelivery:  a.cfg.LMTP.DetailDelivery,
		QuotaTempFail:   a.cfg.LMTP.QuotaTempFail,
		Directory:       a.auth.Directory(),
		Handoff:         handoff,
		Metrics:         a.obs.m,
		LogCommands:     a.logCommands(),
		Filter:          a.sieve.filter,
	}
}

// listenLMTP binds lmtp.listen (TCP), lmtp.socket (unix, mode 0666 like
// Dovecot's default lmtp unix_listener, so Postfix's lmtp(8) running as
// "postfix" can connect) and the private hand-off socket. A failure to
// bind a configured listener is an error; a failure to bind the private
// socket is logged ("barid deliver" then delivers directly). Calling it
// again once bound does nothing.
func (a *App) listenLMTP() error {
	if a.lmtp.public != nil {
		return nil
	}
	svc := &lmtpService{
		public:  lmtp.New(a.lmtpConfig(false)),
		private: lmtp.New(a.lmtpConfig(true)),
	}
	fail := func(err error) error {
		for _, l := range svc.lns {
			l.ln.Close()
			if l.path != "" {
				os.Remove(l.path)
			}
		}
		return err
	}
	if addr := a.cfg.LMTP.Listen; addr != "" {
		ln, err := a.listenTCP(addr)
		if err != nil {
			return fail(fmt.Errorf("lmtp listener on %s: %w", addr, err))
		}
		svc.lns = append(svc.lns, lmtpListener{name: "lmtp", ln: ln, srv: svc.public})
	}
	if path := a.cfg.LMTP.Socket; path != "" {
		ln, err := a.listenUnix(path, 0o666)
		if err != nil {
			return fail(fmt.Errorf("lmtp socket %s: %w", path, err))
		}
		svc.lns = append(svc.lns, lmtpListener{name: "lmtp-unix", ln: ln, srv: svc.public, path: path})
	}
	path := a.cfg.Path(HandoffSocket)
	if ln, err := a.listenUnix(path, 0o600); err != nil {
		a.log.Warn("hand-off socket not available; \"barid deliver\" will write directly and idling clients will not see its deliveries until they reselect",
			"path", path, "err", err)
	} else {
		svc.lns = append(svc.lns, lmtpListener{name: "lmtp-handoff", ln: ln, srv: svc.private, path: path})
	}
	a.lmtp = *svc
	return nil
}

// listenUnix binds a unix socket at path, replacing a stale socket file
// left by a process that did not shut down cleanly. If another process
// still answers there, it is logged and replaced all the same: the
// newest server owns the socket.
func (a *App) listenUnix(path string, mode os.FileMode) (net.Listener, error) {
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode()&os.ModeSocket == 0 {
			return nil, fmt.Errorf("%s exists and is not a socket", path)
		}
		if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
			c.Close()
			a.log.Warn("another process answers on this socket; replacing it", "path", path)
		}
		if err := os.Remove(path); err != nil {
			return nil, err
		}
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, err
	}
	// We remove the file ourselves at shutdown (after the listener is
	// closed), so that a stale file never outlives a clean stop.
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	if err := os.Chmod(path, mode); err != nil {
		ln.Close()
		os.Remove(path)
		return nil, err
	}
	return ln, nil
}

// lmtpAddrs adds the LMTP listeners to m.
func (a *App) lmtpAddrs(m map[string]string) {
	for _, l := range a.lmtp.lns {
		m[l.name] = l.ln.Addr().String()
	}
}

// serveLMTP starts one goroutine per LMTP listener.
func (a *App) serveLMTP(wg *sync.WaitGroup, errc chan<- error) {
	for _, l := range a.lmtp.lns {
		a.log.Info("listening", "service", l.name, "addr", l.ln.Addr().String())
		wg.Add(1)
		go func(l lmtpListener) {
			defer wg.Done()
			if err := l.srv.Serve(l.ln); err != nil {
				a.log.Error("lmtp listener failed", "service", l.name, "err", err)
				select {
				case errc <- fmt.Errorf("%s: %w", l.name, err):
				default:
				}
			}
		}(l)
	}
}

// shutdownLMTP stops accepting, lets in-flight deliveries finish (their
// 250s go out after the commit), closes the rest at ctx's end, and
// removes the socket files.
func (a *App) shutdownLMTP(ctx context.Context) {
	if a.lmtp.public == nil {
		return
	}
	var wg sync.WaitGroup
	for _, s := range []*lmtp.Server{a.lmtp.public, a.lmtp.private} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.Shutdown(ctx)
		}()
	}
	wg.Wait()
	for _, l := range a.lmtp.lns {
		l.ln.Close()
		if l.path != "" {
			if err := os.Remove(l.path); err != nil && !errors.Is(err, os.ErrNotExist) {
				a.log.Warn("could not remove socket", "path", l.path, "err", err)
			}
		}
	}
}

// DeliverRequest is one "barid deliver" run.
type DeliverRequest struct {
	// User is an account name or an address (matched like an LMTP
	// recipient: local domains, +detail).
	User string
	// Mailbox is the destination; "" or a missing mailbox means INBOX
	// (or the +detail mailbox with lmtp.detail_delivery).
	Mailbox string
	// From is the envelope sender. When set, "Return-Path: <From>" is
	// prepended; leave it empty when the MTA adds Return-Path itself
	// (Postfix's local(8) does for mailbox_command).
	From string
	// Message is the raw message. A leading mbox "From " line is
	// dropped (its sender is used for the log when From is empty) and
	// bare LF line ends become CRLF.
	Message io.Reader
}

// Delivery paths reported by Deliver.
const (
	ViaServer = "server" // handed to the running server over lmtp.sock
	ViaDirect = "direct" // written into the data folder by this process
)

// Deliver is the engine of "barid deliver": it hands the message to the
// running server through <data_dir>/lmtp.sock, or, when no server
// answers there, delivers it directly through the same ingest pipeline
// (no server means no idling clients to tell). The error, if any,
// classifies with lmtp.Status; the message is durable when it is nil.
func Deliver(ctx context.Context, cfg *config.Config, logger *slog.Logger, req DeliverRequest) (via string, err error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	// A missing database means a wrong --data or config: fail
	// temporarily so the MTA keeps the message, rather than create an
	// empty folder and bounce it as "no such user".
	// With the metadata in PostgreSQL the folder holds only blobs (and
	// lmtp.sock): it must exist, and opening the database checks the rest.
	if config.IsPostgresURL(cfg.Storage.Metadata) {
		if fi, err := os.Stat(cfg.DataDir); err != nil || !fi.IsDir() {
			return "", fmt.Errorf("data folder %s: not a folder (%v): %w", cfg.DataDir, err, errTemporary)
		}
	} else if _, err := os.Stat(cfg.Path("barid.db")); err != nil {
		return "", fmt.Errorf("data folder %s: no barid.db (%v): %w", cfg.DataDir, err, errTemporary)
	}
	br := bufio.NewReaderSize(req.Message, 64<<10)
	envFrom := req.From
	if sender, ok, err := lmtp.SkipMboxFrom(br); err != nil {
		return "", fmt.Errorf("read message: %w", err)
	} else if ok && envFrom == "" {
		envFrom = sender
	}
	var prefix string
	if req.From != "" {
		prefix = "Return-Path: <" + strings.NewReplacer("\r", "", "\n", "", "<", "", ">", "").Replace(req.From) + ">\r\n"
	}
	body := io.MultiReader(strings.NewReader(prefix), lmtp.CRLF(br))

	sock := cfg.Path(HandoffSocket)
	if _, statErr := os.Stat(sock); statErr == nil {
		err := lmtp.Handoff(ctx, sock, envFrom, req.User, req.Mailbox, body)
		if !errors.Is(err, lmtp.ErrNoServer) {
			return ViaServer, err
		}
		logger.Info("deliver: no server on the hand-off socket; delivering directly", "err", err)
	}

	d, err := OpenData(ctx, cfg, logger)
	if err != nil {
		return ViaDirect, fmt.Errorf("%v: %w", err, errTemporary)
	}
	defer d.Close()
	ml := mime.Limits{MaxDepth: cfg.Limits.MIMEDepth, MaxParts: cfg.Limits.MIMEParts, MaxHeaderBytes: cfg.Limits.HeaderSize}
	dl := &deliver.Deliverer{Store: d.Store, Blobs: d.Blobs, Bus: notify.New(), Limits: ml, Logger: logger,
		InlineMax: cfg.Storage.InlineMaxBytes}
	dir, err := NewDirectory(ctx, cfg, d.Store, logger)
	if err != nil {
		return ViaDirect, fmt.Errorf("%v: %w", err, errTemporary)
	}
	defer dir.Close()
	res := lmtp.Resolver{Store: d.Store, Mailboxes: MailboxService(cfg, d.Store, nil), LocalDomains: cfg.LMTP.LocalDomains, DetailDelivery: cfg.LMTP.DetailDelivery,
		Directory: dir}
	t, err := res.Resolve(ctx, req.User)
	if err != nil {
		return ViaDirect, err
	}
	mb, err := res.Mailbox(ctx, t, req.Mailbox, nil)
	if err != nil {
		return ViaDirect, err
	}
	limit := cfg.Limits.LiteralSize + int64(len(prefix))
	if done, err := deliverSieve(ctx, cfg, logger, d, dl, t, mb, req.User, envFrom, body, limit); done || err != nil {
		return ViaDirect, err
	}
	uid, err := dl.Deliver(ctx, mb.ID, body, limit, store.Flags{}, time.Now())
	if err != nil {
		return ViaDirect, err
	}
	logger.Info("deliver: delivered", "account", t.Account.Name, "mailbox", mb.Name, "uid", uid, "from", envFrom)
	return ViaDirect, nil
}

// errTemporary marks failures that are the local system's, not the
// message's (classified as 451 4.3.0 / EX_TEMPFAIL by lmtp.Status).
var errTemporary = errors.New("temporary failure")
