package proxylisten

import (
	"bufio"
	"io"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/pires/go-proxyproto"
)

func listen(t *testing.T, trusted ...string) net.Listener {
	t.Helper()
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var p []netip.Prefix
	for _, s := range trusted {
		p = append(p, netip.MustParsePrefix(s))
	}
	ln := Wrap(raw, Config{Trusted: p, HeaderTimeout: 300 * time.Millisecond})
	t.Cleanup(func() { ln.Close() })
	return ln
}

func dial(t *testing.T, ln net.Listener, first []byte) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if first != nil {
		if _, err := c.Write(first); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

func accept(t *testing.T, ln net.Listener) net.Conn {
	t.Helper()
	type res struct {
		c   net.Conn
		err error
	}
	ch := make(chan res, 1)
	go func() {
		c, err := ln.Accept()
		ch <- res{c, err}
	}()
	select {
	case r := <-ch:
		if r.err != nil {
			t.Fatal(r.err)
		}
		t.Cleanup(func() { r.c.Close() })
		return r.c
	case <-time.After(5 * time.Second):
		t.Fatal("Accept did not return")
		return nil
	}
}

func readLine(t *testing.T, c net.Conn) string {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	s, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		t.Fatalf("read: %v (got %q)", err, s)
	}
	return s
}

func TestV1HeaderFromTrustedPeer(t *testing.T) {
	ln := listen(t, "127.0.0.0/8")
	// The header and the client's first command in one write, as a
	// balancer may send them in one segment.
	dial(t, ln, []byte("PROXY TCP4 203.0.113.7 192.0.2.1 51234 143\r\na001 CAPABILITY\r\n"))
	c := accept(t, ln)
	if got := c.RemoteAddr().String(); got != "203.0.113.7:51234" {
		t.Errorf("RemoteAddr = %s, want the client's 203.0.113.7:51234", got)
	}
	if got := c.LocalAddr().String(); got != "192.0.2.1:143" {
		t.Errorf("LocalAddr = %s, want 192.0.2.1:143", got)
	}
	if got := readLine(t, c); got != "a001 CAPABILITY\r\n" {
		t.Errorf("first bytes after the header = %q", got)
	}
}

func TestV2HeaderFromTrustedPeer(t *testing.T) {
	ln := listen(t, "127.0.0.1/32")
	h := proxyproto.HeaderProxyFromAddrs(2,
		&net.TCPAddr{IP: net.ParseIP("2001:db8::5"), Port: 40000},
		&net.TCPAddr{IP: net.ParseIP("2001:db8::1"), Port: 993})
	hdr, err := h.Format()
	if err != nil {
		t.Fatal(err)
	}
	cl := dial(t, ln, hdr)
	c := accept(t, ln)
	if got := c.RemoteAddr().String(); got != "[2001:db8::5]:40000" {
		t.Errorf("RemoteAddr = %s", got)
	}
	if !c.(*Conn).Proxied() {
		t.Error("Proxied() = false after a PROXY header")
	}
	// Data written after the header arrives unchanged.
	cl.Write([]byte("hello\r\n"))
	if got := readLine(t, c); got != "hello\r\n" {
		t.Errorf("got %q", got)
	}
}

func TestV2LocalKeepsPeerAddress(t *testing.T) {
	ln := listen(t, "127.0.0.1/32")
	h := &proxyproto.Header{Version: 2, Command: proxyproto.LOCAL, TransportProtocol: proxyproto.UNSPEC}
	hdr, err := h.Format()
	if err != nil {
		t.Fatal(err)
	}
	cl := dial(t, ln, hdr)
	c := accept(t, ln)
	if got, want := c.RemoteAddr().String(), cl.LocalAddr().String(); got != want {
		t.Errorf("RemoteAddr after LOCAL = %s, want the balancer's own %s", got, want)
	}
}

// An untrusted peer's header is not read: the bytes reach the protocol,
// and the address stays the real one.
func TestUntrustedPeerHeaderIsData(t *testing.T) {
	ln := listen(t, "10.0.0.0/8")
	cl := dial(t, ln, []byte("PROXY TCP4 203.0.113.7 192.0.2.1 51234 143\r\n"))
	c := accept(t, ln)
	if got, want := c.RemoteAddr().String(), cl.LocalAddr().String(); got != want {
		t.Errorf("RemoteAddr = %s, want the real peer %s", got, want)
	}
	if got := readLine(t, c); !strings.HasPrefix(got, "PROXY TCP4 203.0.113.7") {
		t.Errorf("the untrusted header was consumed: got %q", got)
	}
}

// A server-speaks-first protocol: an untrusted client that sends nothing
// is handed to Accept at once, so it gets its greeting.
func TestUntrustedSilentClientAcceptedAtOnce(t *testing.T) {
	ln := listen(t, "10.0.0.0/8")
	dial(t, ln, nil)
	accept(t, ln)
}

// A trusted peer that sends no header is closed after the timeout, and
// meanwhile other connections are accepted: the accept loop never waits
// for a header.
func TestTrustedSilentPeerDoesNotBlockOthers(t *testing.T) {
	ln := listen(t, "127.0.0.0/8")
	silent := dial(t, ln, nil)
	dial(t, ln, []byte("PROXY TCP4 198.51.100.2 192.0.2.1 1000 143\r\n"))
	c := accept(t, ln)
	if got := c.RemoteAddr().String(); got != "198.51.100.2:1000" {
		t.Errorf("RemoteAddr = %s", got)
	}
	silent.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := silent.Read(make([]byte, 1)); err != io.EOF {
		t.Errorf("silent trusted peer: read = %v, want EOF (closed after header_timeout)", err)
	}
}

func TestTrustedPeerWithoutHeaderIsClosed(t *testing.T) {
	ln := listen(t, "127.0.0.0/8")
	cl := dial(t, ln, []byte("a001 LOGIN alice secret\r\n"))
	cl.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := cl.Read(make([]byte, 1)); err != io.EOF {
		t.Errorf("read = %v, want EOF: a trusted peer must send a header", err)
	}
}

func TestMalformedHeaderIsClosed(t *testing.T) {
	ln := listen(t, "127.0.0.0/8")
	cl := dial(t, ln, []byte("PROXY TCP4 not-an-address 192.0.2.1 1 2\r\n"))
	cl.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := cl.Read(make([]byte, 1)); err != io.EOF {
		t.Errorf("read = %v, want EOF", err)
	}
}

func TestNoTrustedReturnsListenerUnchanged(t *testing.T) {
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if Wrap(raw, Config{}) != raw {
		t.Error("Wrap with no trusted peers changed the listener")
	}
}

func TestCloseUnblocksAccept(t *testing.T) {
	ln := listen(t, "127.0.0.0/8")
	done := make(chan error, 1)
	go func() {
		_, err := ln.Accept()
		done <- err
	}()
	time.Sleep(20 * time.Millisecond)
	ln.Close()
	select {
	case err := <-done:
		if err == nil {
			t.Error("Accept after Close returned no error")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Accept still blocked after Close")
	}
}
