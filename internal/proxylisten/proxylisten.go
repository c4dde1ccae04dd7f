// Package proxylisten lets barid's listeners sit behind a load balancer
// (HAProxy, nginx stream, a cloud TCP balancer) that speaks the PROXY
// protocol, version 1 (text) or 2 (binary), so that connection limits,
// login throttling, logs and trace headers see the client's address
// instead of the balancer's.
//
// A header is honoured only from a peer whose address is in the trusted
// list ([proxy] trusted), and such a peer must send one: a connection
// from a trusted address that sends no valid header within
// [proxy] header_timeout is closed. From every other address no header
// is read at all: its bytes reach the protocol as they are, so a client
// cannot claim another address (a PROXY line then is just a bad
// command).
//
// IMAP, POP3, SMTP and LMTP are server-speaks-first protocols: the
// greeting must not wait for a header that a direct client will never
// send. That is why the header is read only from trusted peers, and read
// in a goroutine per connection before Accept returns it, so one slow
// or silent balancer connection never holds up the accept loop.
//
// The header format is parsed by github.com/pires/go-proxyproto.
package proxylisten

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/pires/go-proxyproto"
	"github.com/pires/go-proxyproto/tlvparse"
)

// DefaultHeaderTimeout is how long a trusted peer has to send its header
// when Config.HeaderTimeout is zero.
const DefaultHeaderTimeout = 5 * time.Second

// Config says whom to trust.
type Config struct {
	// Trusted are the balancers' addresses ([proxy] trusted). Empty
	// means the PROXY protocol is off: Wrap returns the listener as is.
	Trusted []netip.Prefix
	// HeaderTimeout ([proxy] header_timeout) bounds the wait for a
	// trusted peer's header.
	HeaderTimeout time.Duration
	// Log receives one line per refused header (debug level for a
	// timeout, warn for a malformed header). Nil discards.
	Log *slog.Logger
}

// Wrap returns a listener that reads the PROXY header of connections
// from trusted peers before handing them out. With no trusted peers it
// returns ln unchanged.
func Wrap(ln net.Listener, cfg Config) net.Listener {
	if len(cfg.Trusted) == 0 {
		return ln
	}
	if cfg.HeaderTimeout <= 0 {
		cfg.HeaderTimeout = DefaultHeaderTimeout
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	l := &listener{Listener: ln, cfg: cfg, ready: make(chan accepted), done: make(chan struct{})}
	go l.acceptLoop()
	return l
}

type accepted struct {
	c   net.Conn
	err error
}

type listener struct {
	net.Listener
	cfg   Config
	ready chan accepted
	done  chan struct{}
	once  sync.Once
}

func (l *listener) Accept() (net.Conn, error) {
	select {
	case a := <-l.ready:
		return a.c, a.err
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *listener) Close() error {
	l.once.Do(func() { close(l.done) })
	return l.Listener.Close()
}

// acceptLoop accepts from the real listener. Untrusted connections are
// handed on at once; trusted ones after their header, each in its own
// goroutine.
func (l *listener) acceptLoop() {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			select {
			case l.ready <- accepted{err: err}:
			case <-l.done:
				return
			}
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		if !l.trusted(c.RemoteAddr()) {
			l.handOver(c)
			continue
		}
		go func() {
			pc, err := l.readHeader(c)
			if err != nil {
				c.Close()
				return
			}
			l.handOver(pc)
		}()
	}
}

func (l *listener) handOver(c net.Conn) {
	select {
	case l.ready <- accepted{c: c}:
	case <-l.done:
		c.Close()
	}
}

func (l *listener) trusted(a net.Addr) bool {
	ta, ok := a.(*net.TCPAddr)
	if !ok {
		return false
	}
	ip, ok := netip.AddrFromSlice(ta.IP)
	if !ok {
		return false
	}
	ip = ip.Unmap()
	for _, p := range l.cfg.Trusted {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// readHeader reads one PROXY header (v1 or v2) from c within the
// timeout. A LOCAL (v2) or UNKNOWN (v1) header, which a balancer sends
// for its own health checks, keeps the real peer address.
func (l *listener) readHeader(c net.Conn) (net.Conn, error) {
	if err := c.SetReadDeadline(time.Now().Add(l.cfg.HeaderTimeout)); err != nil {
		return nil, err
	}
	br := bufio.NewReaderSize(c, 256)
	h, err := proxyproto.Read(br)
	if err != nil {
		if errors.Is(err, proxyproto.ErrNoProxyProtocol) {
			err = fmt.Errorf("trusted peer sent no PROXY header ([proxy] trusted)")
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			l.cfg.Log.Debug("proxy: no PROXY header in time ([proxy] header_timeout)", "peer", c.RemoteAddr().String(), "timeout", l.cfg.HeaderTimeout)
		} else {
			l.cfg.Log.Warn("proxy: bad PROXY header, connection closed", "peer", c.RemoteAddr().String(), "err", err)
		}
		return nil, err
	}
	if err := c.SetReadDeadline(time.Time{}); err != nil {
		return nil, err
	}
	pc := &Conn{Conn: c, remote: c.RemoteAddr(), local: c.LocalAddr()}
	if h.Command.IsProxy() {
		if src, dst, ok := h.TCPAddrs(); ok {
			pc.remote, pc.local = src, dst
			pc.proxied = true
		}
		// PP2_TYPE_SSL (PROXY v2 §2.2.5): the balancer terminated TLS
		// for this client (HAProxy's send-proxy-v2-ssl).
		if tlvs, err := h.TLVs(); err == nil {
			if ssl, ok := tlvparse.FindSSL(tlvs); ok && ssl.ClientSSL() {
				pc.clientTLS = true
			}
		}
	}
	if n := br.Buffered(); n > 0 {
		// The client's first bytes came in the same segment as the
		// header: keep them, then read from the socket directly.
		early, _ := br.Peek(n)
		pc.early = append([]byte(nil), early...)
	}
	return pc, nil
}

// Conn is a connection whose header has been read. RemoteAddr and
// LocalAddr are the client's and the address it connected to, as the
// balancer reported them.
type Conn struct {
	net.Conn
	remote, local net.Addr
	early         []byte
	proxied       bool
	clientTLS     bool
}

func (c *Conn) Read(p []byte) (int, error) {
	if len(c.early) > 0 {
		n := copy(p, c.early)
		c.early = c.early[n:]
		if len(c.early) == 0 {
			c.early = nil
		}
		return n, nil
	}
	return c.Conn.Read(p)
}

// RemoteAddr is the client's address from the header (the balancer's
// own for a LOCAL header).
func (c *Conn) RemoteAddr() net.Addr { return c.remote }

// LocalAddr is the address the client connected to, from the header.
func (c *Conn) LocalAddr() net.Addr { return c.local }

// Proxied reports whether the addresses came from a PROXY header.
func (c *Conn) Proxied() bool { return c.proxied }

// ClientTLS reports whether the balancer said, in a PROXY v2 SSL TLV,
// that the client reached it over TLS.
func (c *Conn) ClientTLS() bool { return c.clientTLS }

// ClientTLS reports whether nc is a proxied connection whose client
// reached the balancer over TLS. The protocols count such a link as
// encrypted for the rule that refuses cleartext passwords on plain
// connections, as they do loopback.
func ClientTLS(nc net.Conn) bool {
	pc, ok := nc.(*Conn)
	return ok && pc.clientTLS
}

// NetConn returns the socket to the balancer.
func (c *Conn) NetConn() net.Conn { return c.Conn }

// CloseWrite half-closes the socket when it supports it.
func (c *Conn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

var _ io.Reader = (*Conn)(nil)
