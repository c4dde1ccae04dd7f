package submission

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emersion/go-smtp"

	"barid/internal/auth"
	"barid/internal/metrics"
	"barid/internal/netserve"
	"barid/internal/store"
	"barid/internal/urlauth"
)

// Config configures a Server.
type Config struct {
	Store   store.Store
	Auth    *auth.Authenticator
	URLAuth *urlauth.Service // resolves BURL URLs; nil: BURL is not offered
	// TLS is the server certificate (STARTTLS and implicit TLS).
	TLS    *tls.Config
	Logger *slog.Logger
	// Hostname is announced in the greeting and in "BURL imap://HOST".
	Hostname string

	// Relay is the smarthost "HOST:PORT"; "" refuses every message
	// (451 4.3.5).
	Relay string
	// RelayTLS: "may" (default), "encrypt", "verify" or "none"
	// (config.Submission.RelayTLS).
	RelayTLS string
	// RelayTLSConfig is the client TLS configuration for the relay (nil:
	// system roots, ServerName from Relay). Tests set RootCAs.
	RelayTLSConfig *tls.Config
	// RelayTimeout bounds the connection to the relay and each of its
	// replies (0: 5 minutes, RFC 5321 §4.5.3.2).
	RelayTimeout time.Duration
	// RelayEHLOTTL is how long the relay's EHLO extensions, which
	// decide what barid's EHLO announces, are used before they are
	// learned again (submission.relay_ehlo_ttl; 0: 5 minutes). See
	// capsCache.
	RelayEHLOTTL time.Duration

	// AllowPlaintextAuth permits AUTH without TLS from non-loopback
	// addresses.
	AllowPlaintextAuth bool
	// MaxMessageBytes is limits.literal_size: advertised as SIZE
	// (RFC 1870) and enforced for DATA, BDAT and BURL (552/554 5.3.4).
	MaxMessageBytes int64
	// MaxLineLength is limits.line_length (a command line, and a line of
	// DATA).
	MaxLineLength int
	// MaxRecipients is submission.max_recipients (452 4.5.3 beyond).
	MaxRecipients int
	// HeaderSize is limits.header_size: the header block read to check
	// From before anything is relayed (552 5.3.4 beyond).
	HeaderSize int
	// LocalDomains ([lmtp] local_domains) and Addresses
	// (submission.addresses) decide which addresses an account may
	// send as (see Sender).
	LocalDomains []string
	Addresses    map[string][]string
	// Timeout is how long the server waits for a command or a chunk
	// (0: 5 minutes, RFC 5321 §4.5.3.2.7).
	Timeout time.Duration
	// CommandsBeforeLogin is limits.commands_before_login: a connection
	// that sends more commands than this before AUTH succeeds is told 421
	// and closed, as IMAP and POP3 close one (0: 32).
	CommandsBeforeLogin int
	// LoginTimeout is limits.login_timeout: a connection that has not
	// authenticated this long after it was accepted is closed (421),
	// as IMAP closes one (0: no limit beyond Timeout).
	LoginTimeout time.Duration
	// Trace, if set, receives the protocol dialogue (passwords and
	// message bodies included: for debugging only).
	Trace io.Writer
	// Metrics receives connection, command and authentication counts
	// (observe.go); nil turns them off.
	Metrics *metrics.Metrics
	// LogCommands logs one line per MAIL, RCPT and DATA at debug level.
	LogCommands bool
}

// Server is a submission server. Serve may be called for several
// listeners (587 and 465).
type Server struct {
	cfg    Config
	smtp   *smtp.Server
	log    *slog.Logger
	sender Sender
	nextID atomic.Uint64
	// metrics is nil when off.
	metrics *metrics.Protocol

	// ctx is cancelled by Close so that store calls and relay
	// connections in flight give up.
	ctx    context.Context
	cancel context.CancelFunc

	// caps is what the relay announced (relaycaps.go); probes are the
	// background EHLO probes, waited for by Close.
	capsMu sync.Mutex
	caps   capsCache
	probes sync.WaitGroup

	// net is the listeners and accepted connections
	// (internal/netserve).
	net netserve.Set[*trackedConn]
}

// New returns a server; nothing listens until Serve.
func New(cfg Config) *Server {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 5 * time.Minute
	}
	if cfg.RelayTimeout == 0 {
		cfg.RelayTimeout = 5 * time.Minute
	}
	if cfg.RelayEHLOTTL <= 0 {
		cfg.RelayEHLOTTL = 5 * time.Minute
	}
	if cfg.MaxRecipients == 0 {
		cfg.MaxRecipients = 100
	}
	if cfg.CommandsBeforeLogin <= 0 {
		cfg.CommandsBeforeLogin = 32
	}
	if cfg.HeaderSize == 0 {
		cfg.HeaderSize = 1 << 20
	}
	if cfg.Hostname == "" {
		cfg.Hostname = "localhost"
	}
	if cfg.RelayTLS == "" {
		cfg.RelayTLS = "may"
	}
	s := &Server{
		cfg:    cfg,
		log:    cfg.Logger,
		sender: Sender{LocalDomains: cfg.LocalDomains, Addresses: cfg.Addresses},
	}
	s.metrics = cfg.Metrics.Protocol(metrics.Submission, submissionStates, submissionCommands)
	// auth.WithProtocol: app passwords are checked against it.
	s.ctx, s.cancel = context.WithCancel(auth.WithProtocol(context.Background(), auth.ProtoSMTP))
	ss := smtp.NewServer(smtp.BackendFunc(s.newSession))
	ss.Domain = cfg.Hostname
	ss.TLSConfig = cfg.TLS
	ss.MaxMessageBytes = cfg.MaxMessageBytes
	if cfg.MaxLineLength > 0 {
		ss.MaxLineLength = cfg.MaxLineLength
	}
	// go-smtp's own check is TLS-or-nothing for the whole server; the
	// session applies barid's rule (TLS, loopback or the setting) per
	// connection, in AuthMechanisms and Auth.
	ss.AllowInsecureAuth = true
	ss.ReadTimeout = cfg.Timeout
	ss.WriteTimeout = cfg.Timeout
	// RFC 6531 SMTPUTF8 and RFC 3461 DSN are passed to the relay when
	// it has them: the session's FilterEHLO drops them (and 8BITMIME)
	// from EHLO when it does not, and Mail and Rcpt refuse their
	// parameters (relaycaps.go).
	ss.Command = s.countCommand
	ss.EnableSMTPUTF8 = true
	ss.EnableDSN = true
	ss.ErrorLog = slogPrinter{cfg.Logger}
	if cfg.Trace != nil {
		ss.Debug = cfg.Trace
	}
	s.smtp = ss
	return s
}

// trackedConn is an accepted connection: it holds the per-IP connection
// slot (auth.AcquireConn) until closed, and busy is set while a
// transaction is open so that Shutdown lets it finish.
type trackedConn struct {
	net.Conn
	srv      *Server
	busy     atomic.Bool
	once     sync.Once
	release  func()
	loopback bool
	// loginBy (unix nanoseconds, 0 once authenticated) caps every read
	// deadline go-smtp sets, which enforces limits.login_timeout.
	loginBy atomic.Int64
	// preAuth counts the commands sent before AUTH succeeded, across
	// STARTTLS (which starts a new session on the same connection).
	preAuth atomic.Int32
	// mconn is the connection's place on the metrics gauges.
	mconn metrics.ConnState
}

// SetReadDeadline caps t at the login deadline while the client has not
// authenticated (tls.Conn calls it too, for reads under TLS).
func (c *trackedConn) SetReadDeadline(t time.Time) error {
	if by := c.loginBy.Load(); by != 0 && (t.IsZero() || t.UnixNano() > by) {
		t = time.Unix(0, by)
	}
	return c.Conn.SetReadDeadline(t)
}

// SetDeadline applies SetReadDeadline's cap to the read side.
func (c *trackedConn) SetDeadline(t time.Time) error {
	if err := c.Conn.SetWriteDeadline(t); err != nil {
		return err
	}
	return c.SetReadDeadline(t)
}

func (c *trackedConn) Close() error {
	c.once.Do(func() {
		c.mconn.Close()
		c.srv.net.Remove(c)
		if c.release != nil {
			c.release()
		}
	})
	return c.Conn.Close()
}

// listener registers every accepted connection, enforces the
// per-address connection limits (limits.max_conns_per_ip, shared with
// IMAP through the Authenticator) and, for port 465, starts TLS.
type listener struct {
	net.Listener
	srv         *Server
	implicitTLS bool
}

func (l listener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		tc := &trackedConn{Conn: c, srv: l.srv, loopback: isLoopback(c)}
		tc.mconn.Open(l.srv.metrics)
		if d := l.srv.cfg.LoginTimeout; d > 0 {
			tc.loginBy.Store(time.Now().Add(d).UnixNano())
			tc.SetReadDeadline(time.Time{})
		}
		if a := l.srv.cfg.Auth; a != nil {
			release, err := a.AcquireConn(remoteAddr(c))
			if err != nil {
				// RFC 5321 §3.8: 421 and close.
				c.SetWriteDeadline(time.Now().Add(5 * time.Second))
				fmt.Fprintf(c, "421 4.7.0 %s Service not available: %v\r\n", l.srv.cfg.Hostname, err)
				c.Close()
				continue
			}
			tc.release = release
		}
		if !l.srv.net.Add(tc) {
			tc.Close()
			return nil, net.ErrClosed
		}
		if l.implicitTLS {
			// RFC 8314 §3.3: TLS from the first byte; go-smtp
			// completes the handshake before the greeting.
			return tls.Server(tc, l.srv.cfg.TLS), nil
		}
		return tc, nil
	}
}

// Serve accepts connections on ln until Shutdown or Close, then returns
// nil. implicitTLS is port 465 (RFC 8314); otherwise STARTTLS is
// offered (RFC 3207).
func (s *Server) Serve(ln net.Listener, implicitTLS bool) error {
	if implicitTLS && s.cfg.TLS == nil {
		return errors.New("submission: implicit TLS needs a certificate")
	}
	return s.net.ServeWith(ln, func() error {
		// Learn the relay's extensions now rather than at the first
		// EHLO.
		s.probeRelay()
		return s.smtp.Serve(listener{Listener: ln, srv: s, implicitTLS: implicitTLS})
	})
}

// Shutdown stops accepting, closes idle connections at once, lets open
// transactions finish (their relay's answer is passed back) until ctx
// ends, then closes what is left (a client whose transaction is cut
// short did not get a 250 and still has its message).
func (s *Server) Shutdown(ctx context.Context) error {
	err := s.net.Drain(ctx, s.smtp.Shutdown, smtp.ErrServerClosed, (*trackedConn).idle, (*trackedConn).closeConn)
	if err != nil {
		s.Close()
	}
	s.stopProbes()
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
	s.stopProbes()
	return err
}

// stopProbes ends a relay EHLO probe in flight (its connection is
// closed with the server's context) and waits for it.
func (s *Server) stopProbes() {
	s.cancel()
	s.probes.Wait()
}

// slogPrinter adapts go-smtp's Logger to slog.
type slogPrinter struct{ l *slog.Logger }

func (p slogPrinter) Printf(format string, v ...any) {
	p.l.Warn("submission: " + fmt.Sprintf(format, v...))
}
func (p slogPrinter) Println(v ...any) { p.l.Warn("submission: " + fmt.Sprint(v...)) }

func remoteAddr(c net.Conn) netip.Addr { return netserve.RemoteAddr(c) }

func isLoopback(c net.Conn) bool { return netserve.IsLoopback(c) }

// countCommand counts the commands of a connection that has not
// authenticated, from its first line on and across STARTTLS: past
// limits.commands_before_login it is told 421 and closed, as IMAP and
// POP3 close one, so an unauthenticated client cannot keep a connection
// busy indefinitely. QUIT is always allowed.
func (s *Server) countCommand(c *smtp.Conn, verb string) error {
	if verb == "QUIT" {
		return nil
	}
	if ss, ok := c.Session().(*session); ok && ss.acct != nil {
		return nil
	}
	tc := tracked(c.Conn())
	if tc == nil {
		return nil // not accepted by Serve (a test's own listener)
	}
	if max := s.cfg.CommandsBeforeLogin; int(tc.preAuth.Add(1)) > max {
		s.log.Info("too many commands before authentication", "remote", c.Conn().RemoteAddr().String(), "limit", max)
		return &smtp.SMTPError{Code: 421, EnhancedCode: smtp.EnhancedCode{4, 7, 0},
			Message: fmt.Sprintf("Too many commands before authentication (limits.commands_before_login = %d)", max)}
	}
	return nil
}

// tracked finds the trackedConn under a go-smtp connection (which may
// have been wrapped in TLS).
func tracked(c net.Conn) *trackedConn {
	for {
		switch v := c.(type) {
		case *trackedConn:
			return v
		case *tls.Conn:
			c = v.NetConn()
		default:
			return nil
		}
	}
}
