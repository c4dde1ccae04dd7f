package server

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"sync/atomic"
	"time"

	"barid/internal/auth"
	"barid/internal/blob"
	"barid/internal/deliver"
	"barid/internal/mail/mime"
	"barid/internal/mailbox"
	"barid/internal/metrics"
	"barid/internal/netserve"
	"barid/internal/notify"
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
	// newUIDs shares reads of new messages among sessions (newuids.go).
	newUIDs newUIDsShare

	// net is the listeners and open connections (internal/netserve).
	net    netserve.Set[*Conn]
	ctx    context.Context
	cancel context.CancelFunc
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
		ctx:       ctx,
		cancel:    cancel,
	}
}

// ErrServerClosed is returned by Serve after Shutdown.
var ErrServerClosed = errors.New("imap server closed")

// Serve accepts connections on ln until Shutdown. If implicitTLS is set,
// every connection starts with a TLS handshake (port 993, RFC 8314).
func (s *Server) Serve(ln net.Listener, implicitTLS bool) error {
	return s.net.Serve(ln, ErrServerClosed, func(nc net.Conn) (*Conn, bool) {
		nc, ack, ok := netserve.Wrap(nc, implicitTLS, s.cfg.TLS)
		if !ok {
			return nil, false
		}
		c := s.newConn(nc, implicitTLS)
		c.ack = ack
		return c, true
	}, (*Conn).serve, (*Conn).closeNet)
}

// closeNet closes the network connection under the session (Shutdown
// ran out of time, or the server closed as it accepted).
func (c *Conn) closeNet() { c.nc.Close() }

// Shutdown stops accepting, lets in-flight commands finish, tells idle
// and waiting clients BYE, and waits for every connection to end or ctx
// to expire.
func (s *Server) Shutdown(ctx context.Context) error {
	return s.net.Shutdown(ctx, s.cancel, (*Conn).shutdown, (*Conn).closeNet)
}

func remoteAddr(nc net.Conn) netip.Addr { return netserve.RemoteAddr(nc) }

func isLoopback(nc net.Conn) bool { return netserve.IsLoopback(nc) }
