package managesieve

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"sync/atomic"
	"time"

	"barid/internal/auth"
	"barid/internal/netserve"
	"barid/internal/store"
)

// Scripts is the script service a session calls (internal/filter
// implements it over store.SieveScripts and the Sieve compiler). Its
// errors are classified by the session: store.ErrNoScript,
// ErrScriptExists, ErrScriptActive, a *filter.QuotaError, a
// *filter.ScriptError;
// anything else is a server failure.
type Scripts interface {
	List(ctx context.Context, accountID int64) ([]store.SieveScript, error)
	Get(ctx context.Context, accountID int64, name string) (*store.SieveScript, error)
	// Put checks and stores a script; warnings are returned with a nil
	// error (RFC 5804 §2.6 OK (WARNINGS)).
	Put(ctx context.Context, accountID int64, name string, script []byte) (warnings string, err error)
	Check(ctx context.Context, accountID int64, script []byte) (warnings string, err error)
	HaveSpace(ctx context.Context, accountID int64, name string, size int64) error
	SetActive(ctx context.Context, accountID int64, name string) error
	Delete(ctx context.Context, accountID int64, name string) error
	Rename(ctx context.Context, accountID int64, oldName, newName string) error
}

// Limits are the named limits of a session.
type Limits struct {
	LineLength          int           // [limits] line_length
	LiteralSize         int64         // [limits] literal_size: the most a skipped literal may be
	MaxScriptSize       int64         // [sieve] max_script_size: the largest literal kept
	CommandsBeforeLogin int           // [limits] commands_before_login
	LoginTimeout        time.Duration // [limits] login_timeout
	Autologout          time.Duration // [limits] autologout
}

// Config is everything a Server needs; the app fills it.
type Config struct {
	Store   store.Store
	Scripts Scripts
	Auth    *auth.Authenticator
	TLS     *tls.Config // nil: no STARTTLS
	Logger  *slog.Logger
	Limits  Limits
	// Extensions is the SIEVE capability (sieve.Capabilities()).
	Extensions []string
	// NotifyMethods is the NOTIFY capability (RFC 5804 §1.7: the URI
	// schemes of enotify, sieve.NotifyMethods()); announced when
	// Extensions has "enotify".
	NotifyMethods []string
	// MaxRedirects is the MAXREDIRECTS capability ([sieve] max_redirects).
	MaxRedirects int
	// AllowPlaintextAuth permits PLAIN/LOGIN without TLS from
	// non-loopback addresses ([imap] allow_plaintext_auth).
	AllowPlaintextAuth bool
	// Implementation is the IMPLEMENTATION capability.
	Implementation string
}

// Server accepts ManageSieve connections.
type Server struct {
	cfg    Config
	log    *slog.Logger
	nextID atomic.Uint64

	// net is the listeners and open connections (internal/netserve).
	net    netserve.Set[*conn]
	ctx    context.Context
	cancel context.CancelFunc
}

// New returns a server; call Serve for each listener.
func New(cfg Config) *Server {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	l := &cfg.Limits
	if l.LineLength <= 0 {
		l.LineLength = 8192
	}
	if l.MaxScriptSize <= 0 {
		l.MaxScriptSize = 1 << 20
	}
	if l.LiteralSize < l.MaxScriptSize {
		l.LiteralSize = l.MaxScriptSize
	}
	if l.CommandsBeforeLogin <= 0 {
		l.CommandsBeforeLogin = 32
	}
	if l.LoginTimeout <= 0 {
		l.LoginTimeout = time.Minute
	}
	if l.Autologout <= 0 {
		l.Autologout = 30 * time.Minute
	}
	if cfg.Implementation == "" {
		cfg.Implementation = "barid"
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Server{cfg: cfg, log: cfg.Logger, ctx: ctx, cancel: cancel}
}

// ErrServerClosed is returned by Serve after Shutdown.
var ErrServerClosed = errors.New("managesieve server closed")

// Serve accepts connections on ln until Shutdown.
func (s *Server) Serve(ln net.Listener) error {
	return s.net.Serve(ln, ErrServerClosed, func(nc net.Conn) (*conn, bool) {
		return s.newConn(nc), true
	}, (*conn).serve, (*conn).closeNet)
}

// closeNet closes the network connection under the session (Shutdown
// ran out of time, or the server closed as it accepted).
func (c *conn) closeNet() { c.nc.Close() }

// Shutdown stops accepting, lets commands in progress finish, says BYE
// to idle clients and waits for every connection or ctx.
func (s *Server) Shutdown(ctx context.Context) error {
	return s.net.Shutdown(ctx, s.cancel, (*conn).shutdown, (*conn).closeNet)
}

func (s *Server) newConn(nc net.Conn) *conn {
	c := &conn{srv: s, nc: nc, remote: netserve.RemoteAddr(nc), loopback: netserve.IsLoopback(nc)}
	c.id = s.nextID.Add(1)
	c.log = s.log.With("proto", "managesieve", "conn", c.id, "remote", c.remote.String())
	c.br = bufio.NewReaderSize(nc, 4096)
	c.bw = bufio.NewWriterSize(nc, 4096)
	l := &s.cfg.Limits
	c.rd = NewReader(c.br, l.LineLength, l.MaxScriptSize, "sieve.max_script_size", l.LiteralSize)
	return c
}
