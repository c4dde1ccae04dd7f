package pop3

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"barid/internal/auth"
	"barid/internal/blob"
	"barid/internal/mailbox"
	"barid/internal/metrics"
	"barid/internal/netserve"
	"barid/internal/notify"
	"barid/internal/store"
)

// Limits are the named limits the POP3 server enforces; they are the
// [limits] keys IMAP uses too, and every error that enforces one names
// it.
type Limits struct {
	LineLength          int           // line_length: bytes of one command or SASL line
	CommandsBeforeLogin int           // commands_before_login
	LoginTimeout        time.Duration // login_timeout: connect to login, and TLS handshakes
	// Autologout is the inactivity timeout after login ("autologout";
	// RFC 1939 §3 asks for at least 10 minutes, barid's minimum is 30).
	Autologout time.Duration
}

// Config is everything a Server needs. The app package fills it.
type Config struct {
	Store store.Store
	// Mailboxes is the mailbox service that finds the maildrop
	// (INBOX); nil: one on Store.
	Mailboxes *mailbox.Service
	Blobs     blob.Store
	Bus       *notify.Bus
	Auth      *auth.Authenticator
	TLS       *tls.Config // nil: no STLS and no implicit TLS
	Logger    *slog.Logger
	Hostname  string
	Limits    Limits
	// AllowPlaintextAuth permits USER/PASS and AUTH on unencrypted
	// non-loopback connections ([imap] allow_plaintext_auth: one rule
	// for both protocols).
	AllowPlaintextAuth bool
	// Trace logs command names (never arguments) at debug level.
	Trace bool
	// Metrics receives connection, command and authentication counts
	// (observe.go); nil turns them off.
	Metrics *metrics.Metrics
	// LogCommands logs one line per command at debug level: command
	// name, result and duration (never arguments).
	LogCommands bool
}

// Server accepts POP3 connections.
type Server struct {
	cfg     Config
	log     *slog.Logger
	nextID  atomic.Uint64
	metrics *metrics.Protocol // nil: off
	// observing: metrics or command logging is on, so commands are
	// timed (observe.go).
	observing bool

	// net is the listeners and open connections (internal/netserve).
	net    netserve.Set[*conn]
	ctx    context.Context
	cancel context.CancelFunc
	// storeCtx is ctx without its cancellation (conn.ctx), made once
	// rather than on every store call.
	storeCtx context.Context

	// locked holds the maildrops (INBOX mailbox ids) that a POP3 session
	// has open (RFC 1939 §4: an exclusive-access lock on the maildrop).
	lockMu sync.Mutex
	locked map[int64]struct{}
}

// New returns a server; call Serve for each listener.
func New(cfg Config) *Server {
	if cfg.Mailboxes == nil {
		cfg.Mailboxes = mailbox.New(mailbox.Config{Store: cfg.Store, Bus: cfg.Bus})
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Hostname == "" {
		cfg.Hostname = "localhost"
	}
	if cfg.Limits.LineLength <= 0 {
		cfg.Limits.LineLength = 8192
	}
	if cfg.Limits.CommandsBeforeLogin <= 0 {
		cfg.Limits.CommandsBeforeLogin = 32
	}
	if cfg.Limits.LoginTimeout <= 0 {
		cfg.Limits.LoginTimeout = time.Minute
	}
	if cfg.Limits.Autologout <= 0 {
		cfg.Limits.Autologout = 30 * time.Minute
	}
	// auth.WithProtocol: app passwords are checked against it.
	ctx, cancel := context.WithCancel(auth.WithProtocol(context.Background(), auth.ProtoPOP3))
	return &Server{
		cfg:       cfg,
		log:       cfg.Logger,
		metrics:   newMetrics(cfg.Metrics),
		observing: cfg.Metrics != nil || cfg.LogCommands,
		ctx:       ctx,
		cancel:    cancel,
		storeCtx:  context.WithoutCancel(ctx),
		locked:    make(map[int64]struct{}),
	}
}

// ErrServerClosed is returned by Serve after Shutdown.
var ErrServerClosed = errors.New("pop3 server closed")

// Serve accepts connections on ln until Shutdown. With implicitTLS every
// connection starts with a TLS handshake (port 995, RFC 8314).
func (s *Server) Serve(ln net.Listener, implicitTLS bool) error {
	return s.net.Serve(ln, ErrServerClosed, func(nc net.Conn) (*conn, bool) {
		nc, ack, ok := netserve.Wrap(nc, implicitTLS, s.cfg.TLS)
		if !ok {
			return nil, false
		}
		c := s.newConn(nc, implicitTLS)
		c.ack = ack
		return c, true
	}, (*conn).serve, (*conn).closeNet)
}

// closeNet closes the network connection under the session (Shutdown
// ran out of time, or the server closed as it accepted).
func (c *conn) closeNet() { c.nc.Close() }

// Shutdown stops accepting, lets commands in progress finish, tells
// waiting clients "-ERR [SYS/TEMP]" and waits for every connection to
// end or ctx to expire. Sessions that did not QUIT delete nothing.
func (s *Server) Shutdown(ctx context.Context) error {
	return s.net.Shutdown(ctx, s.cancel, (*conn).shutdown, (*conn).closeNet)
}

// lock takes the maildrop lock; false if another session holds it.
func (s *Server) lock(mailboxID int64) bool {
	s.lockMu.Lock()
	defer s.lockMu.Unlock()
	if _, ok := s.locked[mailboxID]; ok {
		return false
	}
	s.locked[mailboxID] = struct{}{}
	return true
}

func (s *Server) unlock(mailboxID int64) {
	s.lockMu.Lock()
	delete(s.locked, mailboxID)
	s.lockMu.Unlock()
}

// Sessions returns the number of open connections (tests, shutdown).
func (s *Server) Sessions() int { return s.net.Len() }

func remoteAddr(nc net.Conn) netip.Addr { return netserve.RemoteAddr(nc) }

func isLoopback(nc net.Conn) bool { return netserve.IsLoopback(nc) }

// Long responses (RETR, TOP, LIST, UIDL) borrow a 64 KiB write buffer
// and a 32 KiB read buffer; an idle connection keeps 2 KiB each way, as
// an IMAP one does. The spares are kept on free lists rather than in a
// sync.Pool, which every garbage collection empties.
var (
	bigWriters = make(chan *bufio.Writer, 32)
	readers    = make(chan *bufio.Reader, 32)
	arenas     = make(chan []byte, 32)
)

// getArena returns an empty buffer of readAheadBytes capacity for the
// bytes of messages read ahead (maildrop.prefetched).
func getArena() []byte {
	select {
	case a := <-arenas:
		return a
	default:
		return make([]byte, 0, readAheadBytes)
	}
}

func putArena(a []byte) {
	if cap(a) != readAheadBytes {
		return
	}
	select {
	case arenas <- a[:0]:
	default:
	}
}

func getBigWriter() *bufio.Writer {
	select {
	case w := <-bigWriters:
		return w
	default:
		return bufio.NewWriterSize(nil, 64<<10)
	}
}

func putBigWriter(w *bufio.Writer) {
	w.Reset(nil)
	select {
	case bigWriters <- w:
	default:
	}
}

func getReader() *bufio.Reader {
	select {
	case r := <-readers:
		return r
	default:
		return bufio.NewReaderSize(nil, 32<<10)
	}
}

func putReader(r *bufio.Reader) {
	r.Reset(nil)
	select {
	case readers <- r:
	default:
	}
}
