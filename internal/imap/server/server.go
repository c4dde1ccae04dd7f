package server

import (
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
	"barid/internal/deliver"
	"barid/internal/mail/mime"
	"barid/internal/mailbox"
	"barid/internal/metrics"
	"barid/internal/notify"
	"barid/internal/proxylisten"
	"barid/internal/quickack"
	"barid/internal/search/fuzzy"
	"barid/internal/store"
	"barid/internal/urlauth"
)

// Limits are the named limits the IMAP server enforces. Each error that
// enforces one names it (the names are the config keys).
type Limits struct {
	LineLength          int           // line_length
	LiteralSize         int64         // literal_size (advertised as APPENDLIMIT, RFC 7889)
	NestingDepth        int           // nesting_depth
	CommandsBeforeLogin int           // commands_before_login
	LoginTimeout        time.Duration // login_timeout
	Autologout          time.Duration // autologout (RFC 9051 §5.4)
	IdleKeepalive       time.Duration // idle_keepalive
	SearchUpdates       int           // search_updates: results kept up to date per session (RFC 5267 §4.2)
	NotifyMailboxes     int           // notify_mailboxes: mailbox names in one NOTIFY SET (RFC 5465 §3.1)
	NotifyPending       int           // notify_pending: notifications queued for one session (RFC 5465 §5.8)
	MIME                mime.Limits   // mime_depth, mime_parts, header_size
}

// Config is everything a Server needs. The app package fills it.
type Config struct {
	Store    store.Store
	Blobs    blob.Store
	Bus      *notify.Bus
	Auth     *auth.Authenticator
	Deliver  *deliver.Deliverer
	TLS      *tls.Config // nil disables STARTTLS and implicit TLS
	Logger   *slog.Logger
	Hostname string
	Limits   Limits
	// AllowPlaintextAuth permits cleartext LOGIN and AUTHENTICATE on
	// unencrypted non-loopback connections.
	AllowPlaintextAuth bool
	// Trace logs the protocol (passwords masked) at debug level.
	Trace bool
	// NoSearchPushdown evaluates every SEARCH in this process instead of
	// handing what it can to the store (a test switch: both paths must
	// give the same answers).
	NoSearchPushdown bool
	// MultiAppendInlineBudget caps the bytes of small messages one
	// MULTIAPPEND holds in memory until its single commit (RFC 3502: all
	// or none). Past it, messages are spooled to blob files instead.
	// Default 16 MiB.
	MultiAppendInlineBudget int64
	// FuzzyLanguages are the Snowball stemmers SEARCH FUZZY uses for
	// words in Latin script (RFC 6203; package search/fuzzy); nil:
	// fuzzy.DefaultLanguages.
	FuzzyLanguages []string
	// URLAuth resolves IMAP URLs: CATENATE parts (RFC 4469) and
	// URLAUTH (RFC 4467). nil: one on Store and Blobs.
	URLAuth *urlauth.Service
	// Metrics receives connection, command, authentication and IDLE
	// counts (observe.go); nil turns them off.
	Metrics *metrics.Metrics
	// LogCommands logs one line per command at debug level: tag,
	// command name, result and duration (never arguments).
	LogCommands bool
	// Quota is the IMAP side of [quota] (quota.go).
	Quota QuotaConfig
	// Metadata is [metadata]: RFC 5464's limits (metadata.go).
	Metadata MetadataConfig
	// Mailboxes is the mailbox service (names, namespaces, rights); nil:
	// one on Store and Bus with the default namespaces.
	Mailboxes *mailbox.Service
}

// Server accepts IMAP connections.
type Server struct {
	fuzzy   *fuzzy.Matcher // SEARCH FUZZY (RFC 6203)
	mbox    *mailbox.Service
	cfg     Config
	log     *slog.Logger
	nextID  atomic.Uint64
	metrics *metrics.Protocol // nil: off
	// observing: metrics or command logging is on, so commands are
	// timed (observe.go).
	observing bool

	mu        sync.Mutex
	listeners map[net.Listener]struct{}
	conns     map[*Conn]struct{}
	closing   bool
	wg        sync.WaitGroup
	ctx       context.Context
	cancel    context.CancelFunc
}

// New returns a server; call Serve for each listener.
func New(cfg Config) *Server {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Hostname == "" {
		cfg.Hostname = "localhost"
	}
	if cfg.URLAuth == nil {
		cfg.URLAuth = &urlauth.Service{Store: cfg.Store, Blobs: cfg.Blobs}
	}
	// NOTIFY's limits default as in config.Default for servers built by
	// hand (tests, tools).
	if cfg.Limits.NotifyMailboxes <= 0 {
		cfg.Limits.NotifyMailboxes = 100
	}
	if cfg.Limits.NotifyPending <= 0 {
		cfg.Limits.NotifyPending = 10000
	}
	if cfg.Mailboxes == nil {
		cfg.Mailboxes = mailbox.New(mailbox.Config{Store: cfg.Store, Bus: cfg.Bus})
	}
	// auth.WithProtocol: app passwords are checked against it.
	ctx, cancel := context.WithCancel(auth.WithProtocol(context.Background(), auth.ProtoIMAP))
	langs := cfg.FuzzyLanguages
	if langs == nil {
		langs = fuzzy.DefaultLanguages
	}
	return &Server{
		fuzzy:     fuzzy.NewMatcher(langs),
		mbox:      cfg.Mailboxes,
		cfg:       cfg,
		log:       cfg.Logger,
		metrics:   newMetrics(cfg.Metrics),
		observing: cfg.Metrics != nil || cfg.LogCommands,
		listeners: make(map[net.Listener]struct{}),
		conns:     make(map[*Conn]struct{}),
		ctx:       ctx,
		cancel:    cancel,
	}
}

// ErrServerClosed is returned by Serve after Shutdown.
var ErrServerClosed = errors.New("imap server closed")

// Serve accepts connections on ln until Shutdown. If implicitTLS is set,
// every connection starts with a TLS handshake (port 993, RFC 8314).
func (s *Server) Serve(ln net.Listener, implicitTLS bool) error {
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		return ErrServerClosed
	}
	s.listeners[ln] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.listeners, ln)
		s.mu.Unlock()
	}()
	var backoff time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			s.mu.Lock()
			closing := s.closing
			s.mu.Unlock()
			if closing {
				return ErrServerClosed
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				time.Sleep(backoff)
				continue
			}
			return err
		}
		backoff = 0
		// Prompt ACKs for clients that leave Nagle on (quickack).
		nc = quickack.Wrap(nc, quickack.Partial)
		ack := quickack.Of(nc)
		if implicitTLS {
			if s.cfg.TLS == nil {
				nc.Close()
				continue
			}
			nc = tls.Server(nc, s.cfg.TLS)
		}
		c := s.newConn(nc, implicitTLS)
		c.ack = ack
		s.mu.Lock()
		if s.closing {
			s.mu.Unlock()
			nc.Close()
			return ErrServerClosed
		}
		s.conns[c] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		go func() {
			defer s.wg.Done()
			c.serve()
			s.mu.Lock()
			delete(s.conns, c)
			s.mu.Unlock()
		}()
	}
}

// Shutdown stops accepting, lets in-flight commands finish, tells idle
// and waiting clients BYE, and waits for every connection to end or ctx
// to expire.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closing = true
	for ln := range s.listeners {
		ln.Close()
	}
	conns := make([]*Conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	s.cancel()
	for _, c := range conns {
		c.shutdown()
	}
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		s.mu.Lock()
		for c := range s.conns {
			c.nc.Close()
		}
		s.mu.Unlock()
		return ctx.Err()
	}
}

func remoteAddr(nc net.Conn) netip.Addr {
	if ta, ok := nc.RemoteAddr().(*net.TCPAddr); ok {
		a, _ := netip.AddrFromSlice(ta.IP)
		return a.Unmap()
	}
	return netip.Addr{}
}

// isLoopback reports a link that counts as private for the rule on
// cleartext passwords: loopback, a unix socket, or a client that reached
// a trusted PROXY-protocol balancer over TLS (proxylisten.ClientTLS).
func isLoopback(nc net.Conn) bool {
	if _, ok := nc.RemoteAddr().(*net.UnixAddr); ok || proxylisten.ClientTLS(nc) {
		return true
	}
	return remoteAddr(nc).IsLoopback()
}
