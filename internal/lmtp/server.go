package lmtp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emersion/go-smtp"

	"barid/internal/deliver"
	"barid/internal/filter"
	"barid/internal/mailbox"
	"barid/internal/metrics"
	"barid/internal/netserve"
	"barid/internal/quickack"
	"barid/internal/store"
)

// Config configures a Server.
type Config struct {
	Store store.Store
	// Mailboxes is the mailbox service that picks destination mailboxes
	// (rights, namespaces); nil: one on Store.
	Mailboxes *mailbox.Service
	Deliver   *deliver.Deliverer
	Logger    *slog.Logger
	// Hostname is announced in the greeting and in Received headers.
	Hostname string
	// MaxMessageBytes is limits.literal_size: advertised as SIZE
	// (RFC 1870) and enforced while reading DATA (552 5.3.4).
	MaxMessageBytes int64
	// MaxLineLength bounds a command line and a line of DATA
	// (limits.line_length; RFC 5321 §4.5.3.1.6 asks for at least 1000).
	// A longer line closes the connection (500 5.4.0), so the MTA
	// retries. 0 means no limit (the hand-off socket: "barid deliver"
	// accepts any line length when it writes directly, and must not
	// fail differently through the server).
	MaxLineLength int
	// MaxRecipients bounds RCPT commands per transaction (452 4.5.3
	// beyond it, RFC 5321 §4.5.3.1.10 asks for at least 100). 0 means
	// DefaultMaxRecipients.
	MaxRecipients int
	// LocalDomains, DetailDelivery and QuotaTempFail are the [lmtp]
	// settings of the same names.
	LocalDomains   []string
	DetailDelivery bool
	QuotaTempFail  bool
	// Directory resolves recipients through the account sources
	// (auth.Directory); nil: the store's accounts only.
	Directory Directory
	// Handoff makes this the private endpoint of "barid deliver"
	// (<data_dir>/lmtp.sock): it also accepts hand-off recipients
	// (HandoffRecipient), and adds no trace headers since the deliver
	// command's caller (the MTA) already did.
	Handoff bool
	// Timeout is how long the server waits for a command or a chunk of
	// DATA, and for a reply to be written. 0 means 5 minutes, the server
	// timeout RFC 5321 §4.5.3.2.7 asks for.
	Timeout time.Duration
	// Trace, if set, receives the protocol dialogue (message bodies
	// included: use for debugging only).
	Trace io.Writer
	// Metrics receives connection, command and delivery counts
	// (observe.go); nil turns them off.
	Metrics *metrics.Metrics
	// LogCommands logs one line per MAIL, RCPT and DATA at debug level.
	LogCommands bool
	// Filter runs each recipient's active Sieve script (nil: none run).
	Filter *filter.Filter
}

// DefaultMaxRecipients is used when Config.MaxRecipients is 0.
const DefaultMaxRecipients = 1000

// Server is an LMTP server. Serve may be called for several listeners.
type Server struct {
	cfg      Config
	resolver Resolver
	smtp     *smtp.Server
	log      *slog.Logger
	nextID   atomic.Uint64
	metrics  *metrics.Protocol // nil: off

	// ctx is cancelled by Close (not by a graceful Shutdown) so that
	// in-flight store calls give up.
	ctx    context.Context
	cancel context.CancelFunc

	// net is the listeners and accepted connections
	// (internal/netserve).
	net netserve.Set[*trackedConn]
}

// trackedConn is an accepted connection. busy is set while a
// transaction is open (MAIL to the end of DATA or RSET), so a graceful
// Shutdown can close idle connections (an MTA keeps LMTP connections
// open for reuse) yet let deliveries in progress finish.
type trackedConn struct {
	net.Conn
	srv   *Server
	busy  atomic.Bool
	once  sync.Once
	mconn metrics.ConnState
	// rb is the read-ahead buffer (nil when drained) and [r, w) its
	// unread bytes; see Read.
	rb   *[]byte
	r, w int
}

// readAhead is the size of a connection's read-ahead buffer. go-smtp
// reads the connection through a 4 KiB bufio.Reader, so a 1 MB DATA
// took about 256 read system calls, each followed by a TCP_QUICKACK
// setsockopt (quickack.Always); reading up to 64 KiB at a time takes
// 16 of each for what the client has already sent, at the price of one
// copy from this buffer (docs/benchmarks.md, "Delivery at the disk's
// limit").
const readAhead = 64 << 10

// readAheadPool holds the read-ahead buffers: a connection holds one
// only while it has unread bytes in it, so idle LMTP connections (an
// MTA keeps a pool open) cost nothing.
var readAheadPool = sync.Pool{New: func() any { b := make([]byte, readAhead); return &b }}

// Read serves p from the read-ahead buffer, refilling it with one read
// of the connection when it is empty. A read as large as the buffer
// goes to the connection directly. Only the goroutine that reads the
// connection (go-smtp's) calls it.
func (c *trackedConn) Read(p []byte) (int, error) {
	if c.rb == nil {
		if len(p) >= readAhead {
			return c.Conn.Read(p)
		}
		c.rb = readAheadPool.Get().(*[]byte)
		n, err := c.Conn.Read(*c.rb)
		c.r, c.w = 0, n
		if n == 0 {
			c.release()
			return 0, err
		}
		// Bytes read come first; an error is returned by the next
		// read of the connection, as io.Reader allows.
	}
	n := copy(p, (*c.rb)[c.r:c.w])
	c.r += n
	if c.r == c.w {
		c.release()
	}
	return n, nil
}

// release hands the drained read-ahead buffer back to the pool.
func (c *trackedConn) release() {
	readAheadPool.Put(c.rb)
	c.rb = nil
}

func (c *trackedConn) Close() error {
	c.once.Do(func() {
		c.mconn.Close()
		c.srv.net.Remove(c)
	})
	return c.Conn.Close()
}

// trackingListener registers every accepted connection with the server.
type trackingListener struct {
	net.Listener
	srv *Server
}

func (l trackingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	// LMTP DATA arrives in whatever writes the client makes; a client
	// with Nagle on holds the last one until the previous is ACKed, so
	// every read is acknowledged at once (internal/quickack, Always).
	tc := &trackedConn{Conn: quickack.Wrap(c, quickack.Always), srv: l.srv}
	tc.mconn.Open(l.srv.metrics)
	if !l.srv.net.Add(tc) {
		c.Close()
		return nil, net.ErrClosed
	}
	return tc, nil
}

// New returns a server; nothing listens until Serve.
func New(cfg Config) *Server {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 5 * time.Minute
	}
	if cfg.MaxRecipients == 0 {
		cfg.MaxRecipients = DefaultMaxRecipients
	}
	if cfg.Hostname == "" {
		cfg.Hostname = "localhost"
	}
	s := &Server{
		cfg:     cfg,
		log:     cfg.Logger,
		metrics: cfg.Metrics.Protocol(metrics.LMTP, lmtpStates, lmtpCommands),
		resolver: Resolver{
			Store:          cfg.Store,
			Mailboxes:      cfg.Mailboxes,
			LocalDomains:   cfg.LocalDomains,
			DetailDelivery: cfg.DetailDelivery,
			Directory:      cfg.Directory,
		},
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	ss := smtp.NewServer(smtp.BackendFunc(s.newSession))
	// RFC 2033 §4.1: LHLO, not EHLO/HELO. go-smtp advertises PIPELINING,
	// 8BITMIME, ENHANCEDSTATUSCODES, CHUNKING and SIZE.
	ss.LMTP = true
	ss.Domain = cfg.Hostname
	ss.MaxMessageBytes = cfg.MaxMessageBytes
	ss.MaxRecipients = cfg.MaxRecipients
	ss.MaxLineLength = cfg.MaxLineLength
	ss.ReadTimeout = cfg.Timeout
	ss.WriteTimeout = cfg.Timeout
	ss.ErrorLog = slogPrinter{cfg.Logger}
	if cfg.Trace != nil {
		ss.Debug = cfg.Trace
	}
	s.smtp = ss
	return s
}

// Serve accepts LMTP connections on ln until Shutdown or Close, then
// returns nil.
func (s *Server) Serve(ln net.Listener) error {
	return s.net.ServeWith(ln, func() error { return s.smtp.Serve(trackingListener{Listener: ln, srv: s}) })
}

// Shutdown stops accepting, closes idle connections at once, lets every
// open transaction finish (its replies are sent) and then closes its
// connection too, until ctx ends; then it closes what is left (an MTA
// whose transaction is cut short keeps the message and retries).
func (s *Server) Shutdown(ctx context.Context) error {
	err := s.net.Drain(ctx, s.smtp.Shutdown, smtp.ErrServerClosed, (*trackedConn).idle, (*trackedConn).closeConn)
	if err != nil {
		s.Close()
	}
	return err
}

// idle: no transaction is open on the connection (Shutdown closes it).
func (c *trackedConn) idle() bool { return !c.busy.Load() }

func (c *trackedConn) closeConn() { c.Close() }

// Close closes every listener and connection at once.
func (s *Server) Close() error {
	s.net.Close()
	s.cancel()
	err := s.smtp.Close()
	if errors.Is(err, smtp.ErrServerClosed) || errors.Is(err, net.ErrClosed) {
		err = nil
	}
	return err
}

func (s *Server) newSession(c *smtp.Conn) (smtp.Session, error) {
	id := fmt.Sprintf("L%d", s.nextID.Add(1))
	remote := ""
	if a := c.Conn().RemoteAddr(); a != nil {
		remote = a.String()
	}
	tc, _ := c.Conn().(*trackedConn)
	return &session{srv: s, conn: c, tc: tc, id: id, log: s.log.With("conn", id, "remote", remote)}, nil
}

// slogPrinter adapts go-smtp's Logger to slog.
type slogPrinter struct{ l *slog.Logger }

func (p slogPrinter) Printf(format string, v ...any) { p.l.Warn("lmtp: " + fmt.Sprintf(format, v...)) }
func (p slogPrinter) Println(v ...any)               { p.l.Warn("lmtp: " + fmt.Sprint(v...)) }
