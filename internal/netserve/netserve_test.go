package netserve

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"barid/internal/quickack"
)

var errClosed = errors.New("test server closed")

// lineConn is a toy protocol: it echoes lines; asked to stop while
// waiting for a line it says "BYE" and ends; asked while "busy" (a line
// "slow" makes it work until released) it finishes the line first.
type lineConn struct {
	nc       net.Conn
	mu       sync.Mutex
	waiting  bool
	stopping bool
	release  chan struct{}
	killed   atomic.Bool
	// inSlow is set once the connection has read "slow" and waits
	// for release: the one command a test knows is running.
	inSlow atomic.Bool
}

func (c *lineConn) run() {
	defer c.nc.Close()
	br := bufio.NewReader(c.nc)
	for {
		c.mu.Lock()
		if c.stopping {
			c.mu.Unlock()
			c.nc.Write([]byte("BYE\r\n"))
			return
		}
		c.waiting = true
		c.mu.Unlock()
		line, err := br.ReadString('\n')
		c.mu.Lock()
		c.waiting = false
		stopping := c.stopping
		c.mu.Unlock()
		if err != nil {
			if stopping && errors.Is(err, os.ErrDeadlineExceeded) {
				c.nc.SetReadDeadline(time.Time{})
				c.nc.Write([]byte("BYE\r\n"))
			}
			return
		}
		if strings.TrimSpace(line) == "slow" {
			c.inSlow.Store(true)
			<-c.release
		}
		c.nc.Write([]byte("OK " + line))
	}
}

func (c *lineConn) stop() {
	c.mu.Lock()
	c.stopping = true
	if c.waiting {
		c.nc.SetReadDeadline(time.Now())
	}
	c.mu.Unlock()
}

func (c *lineConn) kill() { c.killed.Store(true); c.nc.Close() }

type testServer struct {
	set     Set[*lineConn]
	release chan struct{}
	stopped atomic.Bool
}

func startServer(t *testing.T) (*testServer, string, chan error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &testServer{release: make(chan struct{})}
	served := make(chan error, 1)
	go func() {
		served <- s.set.Serve(ln, errClosed, func(nc net.Conn) (*lineConn, bool) {
			return &lineConn{nc: nc, release: s.release}, true
		}, (*lineConn).run, (*lineConn).kill)
	}()
	return s, ln.Addr().String(), served
}

func dial(t *testing.T, addr string) (net.Conn, *bufio.Reader) {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	nc.SetDeadline(time.Now().Add(10 * time.Second))
	return nc, bufio.NewReader(nc)
}

func expect(t *testing.T, br *bufio.Reader, want string) {
	t.Helper()
	l, err := br.ReadString('\n')
	if err != nil || l != want {
		t.Fatalf("read %q, %v; want %q", l, err, want)
	}
}

func waitLen(t *testing.T, s *Set[*lineConn], n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for s.Len() != n {
		if time.Now().After(deadline) {
			t.Fatalf("%d connections, want %d", s.Len(), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// waitSlow waits until a connection of s is inside its "slow" command.
func waitSlow(t *testing.T, s *Set[*lineConn]) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		for _, x := range s.Conns() {
			if x.inSlow.Load() {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("no connection became busy")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Graceful shutdown: an idle connection is told BYE at once, a busy one
// finishes its command and then gets BYE; stopping runs before the
// connections are asked; Serve returns the closed error; Shutdown
// returns nil once both ended; the Set is empty.
func TestShutdownGraceful(t *testing.T) {
	s, addr, served := startServer(t)
	idle, idleR := dial(t, addr)
	busy, busyR := dial(t, addr)
	idle.Write([]byte("hello\n"))
	expect(t, idleR, "OK hello\n")
	busy.Write([]byte("slow\n"))
	waitLen(t, &s.set, 2)
	// The busy connection is inside its command before Shutdown. (Not
	// "a connection not waiting": the idle one is briefly not waiting
	// between writing its answer and reading again.)
	waitSlow(t, &s.set)

	done := make(chan error, 1)
	go func() {
		done <- s.set.Shutdown(context.Background(), func() { s.stopped.Store(true) }, (*lineConn).stop, (*lineConn).kill)
	}()
	expect(t, idleR, "BYE\r\n")
	if err := <-served; err != errClosed {
		t.Errorf("Serve returned %v", err)
	}
	if !s.stopped.Load() {
		t.Error("stopping was not called")
	}
	select {
	case err := <-done:
		t.Fatalf("Shutdown returned %v while a command runs", err)
	case <-time.After(50 * time.Millisecond):
	}
	close(s.release)
	expect(t, busyR, "OK slow\n")
	expect(t, busyR, "BYE\r\n")
	if err := <-done; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if n := s.set.Len(); n != 0 {
		t.Errorf("%d connections left", n)
	}
	// Closed: no new listener, no new connection.
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	defer ln.Close()
	if err := s.set.Serve(ln, errClosed, nil, nil, nil); err != errClosed {
		t.Errorf("Serve after Shutdown: %v", err)
	}
	if s.set.Add(&lineConn{}) {
		t.Error("Add after Shutdown")
	}
}

// A command that does not finish before ctx ends: its connection is
// closed with kill and Shutdown returns ctx's error.
func TestShutdownTimeout(t *testing.T) {
	s, addr, served := startServer(t)
	defer close(s.release)
	busy, busyR := dial(t, addr)
	busy.Write([]byte("slow\n"))
	waitLen(t, &s.set, 1)
	waitSlow(t, &s.set)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	err := s.set.Shutdown(ctx, nil, (*lineConn).stop, (*lineConn).kill)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown: %v", err)
	}
	<-served
	for _, c := range s.set.Conns() {
		if !c.killed.Load() {
			t.Error("a connection was not killed")
		}
	}
	if _, err := busyR.ReadString('\n'); err == nil {
		t.Error("the killed connection still answers")
	}
}

// Accept errors: a timeout is retried (with a backoff), any other error
// ends Serve with it.
func TestServeAcceptErrors(t *testing.T) {
	ln := &flakyListener{errs: []error{timeoutErr{}, timeoutErr{}, errors.New("boom")}}
	var s Set[*lineConn]
	err := s.Serve(ln, errClosed, func(net.Conn) (*lineConn, bool) { return nil, false }, nil, nil)
	if err == nil || err.Error() != "boom" {
		t.Fatalf("Serve: %v", err)
	}
	if ln.calls != 3 {
		t.Errorf("%d Accept calls, want 3", ln.calls)
	}
	if len(s.lns) != 0 {
		t.Error("the listener is still registered")
	}
}

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

type flakyListener struct {
	errs   []error
	calls  int
	closed bool
}

func (l *flakyListener) Accept() (net.Conn, error) {
	err := l.errs[l.calls]
	l.calls++
	return nil, err
}
func (l *flakyListener) Close() error   { l.closed = true; return nil }
func (l *flakyListener) Addr() net.Addr { return &net.TCPAddr{} }

// Drain closes the connections idle reports, again and again while
// shutdown runs, and leaves the others; it returns shutdown's error.
func TestDrain(t *testing.T) {
	var s Set[*drainConn]
	a, b := &drainConn{}, &drainConn{}
	a.idle.Store(true)
	s.Add(a)
	s.Add(b)
	release := make(chan struct{})
	want := errors.New("shutdown result")
	done := make(chan error, 1)
	go func() {
		done <- s.Drain(context.Background(), func(context.Context) error { <-release; return want }, errClosed,
			func(c *drainConn) bool { return c.idle.Load() },
			func(c *drainConn) { c.closed.Add(1); s.Remove(c) })
	}()
	deadline := time.Now().Add(10 * time.Second)
	for a.closed.Load() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the idle connection was not closed")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if b.closed.Load() != 0 {
		t.Fatal("the busy connection was closed")
	}
	b.idle.Store(true) // its transaction ended
	for b.closed.Load() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the connection that became idle was not closed")
		}
		time.Sleep(5 * time.Millisecond)
	}
	close(release)
	if err := <-done; err != want {
		t.Fatalf("Drain: %v", err)
	}
	if !s.Closing() || s.Listen(&flakyListener{}) {
		t.Error("the Set is not closed")
	}
	// The library's "closed" error and net.ErrClosed are no failure.
	for _, e := range []error{fmt.Errorf("serve: %w", errClosed), net.ErrClosed} {
		var s2 Set[*drainConn]
		if err := s2.Drain(context.Background(), func(context.Context) error { return e }, errClosed,
			func(*drainConn) bool { return true }, func(*drainConn) {}); err != nil {
			t.Errorf("Drain with %v: %v", e, err)
		}
	}
}

// ServeWith: the library's loop runs with ln registered, its error is
// returned unless the Set closed meanwhile; a closed Set closes ln.
func TestServeWith(t *testing.T) {
	var s Set[*drainConn]
	boom := errors.New("boom")
	ln := &flakyListener{}
	if err := s.ServeWith(ln, func() error {
		if len(s.lns) != 1 {
			t.Error("ln not registered")
		}
		return boom
	}); err != boom {
		t.Errorf("ServeWith: %v", err)
	}
	if err := s.ServeWith(ln, func() error { s.Close(); return boom }); err != nil {
		t.Errorf("ServeWith closed meanwhile: %v", err)
	}
	ran := false
	if err := s.ServeWith(ln, func() error { ran = true; return nil }); err != nil || ran || !ln.closed {
		t.Errorf("ServeWith on a closed Set: %v, ran %v, listener closed %v", err, ran, ln.closed)
	}
}

type drainConn struct {
	idle   atomic.Bool
	closed atomic.Int32
}

func TestRemoteAddr(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err == nil {
			defer c.Close()
			time.Sleep(100 * time.Millisecond)
		}
	}()
	c, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if a := RemoteAddr(c); a.String() != "127.0.0.1" || !IsLoopback(c) {
		t.Errorf("RemoteAddr %v, IsLoopback %v", a, IsLoopback(c))
	}
	p1, p2 := net.Pipe()
	defer p1.Close()
	defer p2.Close()
	if a := RemoteAddr(p1); a.IsValid() || IsLoopback(p1) {
		t.Errorf("a pipe: RemoteAddr %v, IsLoopback %v", a, IsLoopback(p1))
	}
}

// Wrap: quickack on a TCP connection, a TLS server connection for
// implicit TLS, and a refused (closed) connection for implicit TLS
// without a certificate.
func TestWrap(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accept := func() net.Conn {
		t.Helper()
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		nc, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { nc.Close() })
		return nc
	}
	nc, ack, ok := Wrap(accept(), false, nil)
	if _, isQA := nc.(*quickack.Conn); !ok || ack == nil || !isQA {
		t.Errorf("plain: %T, %v, %v", nc, ack, ok)
	}
	nc, ack, ok = Wrap(accept(), true, &tls.Config{})
	if tc, isTLS := nc.(*tls.Conn); !ok || ack == nil || !isTLS || tc.NetConn() != net.Conn(ack) {
		t.Errorf("implicit TLS: %T, %v, %v", nc, ack, ok)
	}
	raw := accept()
	if nc, _, ok = Wrap(raw, true, nil); ok || nc != nil {
		t.Errorf("implicit TLS without a certificate: %T, %v", nc, ok)
	}
	if _, err := raw.Write([]byte("x")); err == nil {
		t.Error("the refused connection is still open")
	}
}
