// Package netserve is the listener and connection bookkeeping that
// barid's protocol servers share: the listeners a server accepts on, the
// set of its open connections, the accept loop of a server that runs a
// goroutine per connection (IMAP, POP3, ManageSieve), and graceful
// shutdown (stop accepting, ask every connection to finish, wait, then
// close what is left). The go-smtp based servers (submission, LMTP),
// whose accept loop is go-smtp's, use the Set's listeners and
// connections only.
//
// What a connection does when asked to finish (IMAP's BYE, POP3's
// -ERR [SYS/TEMP], ManageSieve's BYE "TRYLATER") stays in its protocol
// package; so do the connection limits (auth.AcquireConn), which each
// protocol checks where it can answer in its own syntax.
package netserve

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/netip"
	"sync"
	"time"

	"barid/internal/proxylisten"
	"barid/internal/quickack"
)

// Set is a server's listeners and open connections. The zero Set is
// ready to use. C is the protocol's connection type.
type Set[C comparable] struct {
	mu      sync.Mutex
	lns     map[net.Listener]struct{}
	conns   map[C]struct{}
	closing bool
	wg      sync.WaitGroup // connections run by Serve
}

// Listen registers ln; false once Close has begun (the caller does not
// serve it).
func (s *Set[C]) Listen(ln net.Listener) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return false
	}
	if s.lns == nil {
		s.lns = map[net.Listener]struct{}{}
	}
	s.lns[ln] = struct{}{}
	return true
}

// Unlisten forgets ln (its Serve returned).
func (s *Set[C]) Unlisten(ln net.Listener) {
	s.mu.Lock()
	delete(s.lns, ln)
	s.mu.Unlock()
}

// Add registers an open connection; false once Close has begun (c is
// not added).
func (s *Set[C]) Add(c C) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addLocked(c)
}

func (s *Set[C]) addLocked(c C) bool {
	if s.closing {
		return false
	}
	if s.conns == nil {
		s.conns = map[C]struct{}{}
	}
	s.conns[c] = struct{}{}
	return true
}

// Remove forgets a connection.
func (s *Set[C]) Remove(c C) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
}

// Conns returns the open connections, in no order.
func (s *Set[C]) Conns() []C {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]C, 0, len(s.conns))
	for c := range s.conns {
		out = append(out, c)
	}
	return out
}

// Len is the number of open connections.
func (s *Set[C]) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

// Closing reports whether Close has begun.
func (s *Set[C]) Closing() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closing
}

// Close stops the Set: Listen and Add refuse from now on, every
// listener is closed (their accept loops end), and the connections open
// at that moment are returned.
func (s *Set[C]) Close() []C {
	s.mu.Lock()
	s.closing = true
	lns := make([]net.Listener, 0, len(s.lns))
	for ln := range s.lns {
		lns = append(lns, ln)
	}
	conns := make([]C, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	for _, ln := range lns {
		ln.Close()
	}
	return conns
}

// Serve accepts on ln until Close, then returns closed. Each accepted
// connection is given to accept, which wraps it (TLS, quickack) and
// makes the protocol's connection, or closes it and returns ok = false
// to skip it; the connection is then added to the Set and run by run in
// its own goroutine, and removed when run returns. A connection accepted
// as Close begins is closed with kill and not run. Temporary accept
// errors (a timeout) are retried with a backoff of 5 ms doubling to 1 s;
// any other error ends Serve with it.
func (s *Set[C]) Serve(ln net.Listener, closed error, accept func(net.Conn) (C, bool), run, kill func(C)) error {
	if !s.Listen(ln) {
		return closed
	}
	defer s.Unlisten(ln)
	var backoff time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			if s.Closing() {
				return closed
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
		c, ok := accept(nc)
		if !ok {
			continue
		}
		s.mu.Lock()
		if !s.addLocked(c) {
			s.mu.Unlock()
			kill(c)
			return closed
		}
		s.wg.Add(1)
		s.mu.Unlock()
		go func() {
			defer s.wg.Done()
			run(c)
			s.Remove(c)
		}()
	}
}

// Shutdown closes the Set (no more connections), calls stopping (the
// server cancels its context there), asks every open connection to
// finish with stop, and waits until the connections Serve runs have
// ended or ctx expires; then it closes what is left with kill and
// returns ctx's error.
func (s *Set[C]) Shutdown(ctx context.Context, stopping func(), stop, kill func(C)) error {
	conns := s.Close()
	if stopping != nil {
		stopping()
	}
	for _, c := range conns {
		stop(c)
	}
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		for _, c := range s.Conns() {
			kill(c)
		}
		return ctx.Err()
	}
}

// ServeWith runs serve, another library's accept loop on ln (go-smtp's
// Server.Serve), with ln registered as the Set's listener: if the Set is
// closed already, ln is closed and ServeWith returns nil; an error of
// serve once the Set is closing is nil too (Close closed ln under it).
func (s *Set[C]) ServeWith(ln net.Listener, serve func() error) error {
	if !s.Listen(ln) {
		ln.Close()
		return nil
	}
	err := serve()
	if s.Closing() {
		return nil
	}
	return err
}

// Drain is Shutdown for a server whose accept loop and connections are
// another library's (go-smtp): it closes the Set, runs shutdown (which
// stops that library's server and waits for its connections) and, until
// shutdown returns, closes every 10 ms the connections idle reports, so
// a connection between transactions ends at once and one in the middle
// of a transaction as soon as it is done. It returns shutdown's error,
// or nil for closed (the library's "server closed") and net.ErrClosed:
// the listeners Drain closed first.
func (s *Set[C]) Drain(ctx context.Context, shutdown func(context.Context) error, closed error, idle func(C) bool, kill func(C)) error {
	s.Close()
	done := make(chan error, 1)
	go func() { done <- shutdown(ctx) }()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		for _, c := range s.Conns() {
			if idle(c) {
				kill(c)
			}
		}
		select {
		case err := <-done:
			if errors.Is(err, closed) || errors.Is(err, net.ErrClosed) {
				err = nil
			}
			return err
		case <-tick.C:
		}
	}
}

// Wrap prepares a connection accepted by a server that reads commands
// itself (IMAP, POP3): prompt ACKs for clients that leave Nagle on
// (quickack.Partial) and, with implicitTLS, a TLS server connection
// whose handshake the session does (RFC 8314). ok is false, and nc
// closed, when implicitTLS has no certificate.
func Wrap(nc net.Conn, implicitTLS bool, cfg *tls.Config) (_ net.Conn, ack *quickack.Conn, ok bool) {
	nc = quickack.Wrap(nc, quickack.Partial)
	ack = quickack.Of(nc)
	if implicitTLS {
		if cfg == nil {
			nc.Close()
			return nil, nil, false
		}
		nc = tls.Server(nc, cfg)
	}
	return nc, ack, true
}

// RemoteAddr is the peer's IP address (unmapped), or the zero Addr for
// a connection that is not TCP.
func RemoteAddr(nc net.Conn) netip.Addr {
	if ta, ok := nc.RemoteAddr().(*net.TCPAddr); ok {
		a, _ := netip.AddrFromSlice(ta.IP)
		return a.Unmap()
	}
	return netip.Addr{}
}

// IsLoopback reports a link that counts as private for the rule on
// cleartext passwords: loopback, a unix socket, or a client that reached
// a trusted PROXY-protocol balancer over TLS (proxylisten.ClientTLS).
func IsLoopback(nc net.Conn) bool {
	if _, ok := nc.RemoteAddr().(*net.UnixAddr); ok || proxylisten.ClientTLS(nc) {
		return true
	}
	return RemoteAddr(nc).IsLoopback()
}
