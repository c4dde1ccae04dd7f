package app_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/pires/go-proxyproto"
	"github.com/pires/go-proxyproto/tlvparse"

	"barid/internal/config"
	"barid/internal/testkit"
)

// proxyDial connects to addr and sends a PROXY header naming client as
// the peer: what HAProxy with send-proxy (v1) or send-proxy-v2 does.
func proxyDial(t *testing.T, addr, client string, version byte) net.Conn {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	src, err := net.ResolveTCPAddr("tcp", client)
	if err != nil {
		t.Fatal(err)
	}
	h := proxyproto.HeaderProxyFromAddrs(version, src, nc.RemoteAddr())
	if _, err := h.WriteTo(nc); err != nil {
		t.Fatal(err)
	}
	return nc
}

// proxyDialTLS sends a v2 header with the SSL TLV: the client reached
// the balancer over TLS (HAProxy's send-proxy-v2-ssl).
func proxyDialTLS(t *testing.T, addr, client string) net.Conn {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	src, err := net.ResolveTCPAddr("tcp", client)
	if err != nil {
		t.Fatal(err)
	}
	h := proxyproto.HeaderProxyFromAddrs(2, src, nc.RemoteAddr())
	ssl, err := tlvparse.PP2SSL{Client: tlvparse.PP2_BITFIELD_CLIENT_SSL,
		TLV: []proxyproto.TLV{{Type: proxyproto.PP2_SUBTYPE_SSL_VERSION, Value: []byte("TLSv1.3")}}}.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if err := h.SetTLVs([]proxyproto.TLV{ssl}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.WriteTo(nc); err != nil {
		t.Fatal(err)
	}
	return nc
}

func proxyServer(t *testing.T, mod func(*config.Config)) *testkit.Server {
	return testkit.Start(t, func(c *config.Config) {
		c.Proxy.Trusted = []string{"127.0.0.1"}
		c.Proxy.HeaderTimeout = config.Duration{Duration: 300 * time.Millisecond}
		c.LMTP.Listen = "127.0.0.1:0"
		c.POP3.Listen = "127.0.0.1:0"
		if mod != nil {
			mod(c)
		}
	})
}

// Behind a trusted balancer, limits count the client's address from the
// PROXY header, not the balancer's: with max_conns_per_ip = 1, two
// clients behind the same balancer both get in, and a second connection
// of the same client is refused naming the limit.
func TestProxyClientAddressCountsForLimits(t *testing.T) {
	s := proxyServer(t, func(c *config.Config) { c.Limits.MaxConnsPerIP = 1 })
	s.AddUser("alice", "pw")
	testkit.NewConn(t, proxyDial(t, s.Addr, "198.51.100.1:40001", 1))
	testkit.NewConn(t, proxyDial(t, s.Addr, "198.51.100.2:40002", 2))

	nc := proxyDial(t, s.Addr, "198.51.100.1:40003", 2)
	nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	line, _ := bufio.NewReader(nc).ReadString('\n')
	if !strings.HasPrefix(line, "* BYE") || !strings.Contains(line, "max_conns_per_ip") {
		t.Fatalf("second connection of 198.51.100.1: %q, want BYE naming max_conns_per_ip", line)
	}
}

// A proxied client is not on loopback: cleartext LOGIN is refused
// (PRIVACYREQUIRED) unless the balancer says the client used TLS.
func TestProxyCleartextRuleUsesClientLink(t *testing.T) {
	s := proxyServer(t, nil)
	s.AddUser("alice", "pw")
	c := testkit.NewConn(t, proxyDial(t, s.Addr, "198.51.100.9:4000", 2))
	lines := c.Cmd("a", "LOGIN alice pw")
	if !strings.Contains(lines[len(lines)-1], "PRIVACYREQUIRED") {
		t.Errorf("LOGIN from a proxied plain-text client: %q, want NO [PRIVACYREQUIRED]", lines)
	}
	c = testkit.NewConn(t, proxyDialTLS(t, s.Addr, "198.51.100.9:4001"))
	c.Login("alice", "pw")
}

// A trusted peer must send a header: a bare connection from it gets no
// greeting and is closed after proxy.header_timeout.
func TestProxyTrustedPeerWithoutHeaderClosed(t *testing.T) {
	s := proxyServer(t, nil)
	for _, addr := range []string{s.Addr, s.App.Addrs()["pop3"], s.App.Addrs()["lmtp"]} {
		nc, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		nc.SetReadDeadline(time.Now().Add(5 * time.Second))
		got, err := io.ReadAll(nc)
		nc.Close()
		if len(got) != 0 || err != nil {
			t.Errorf("%s: got %q, %v; want the connection closed without a greeting", addr, got, err)
		}
	}
}

// LMTP behind a balancer: the Received field names the client from the
// header. POP3 greets a proxied client.
func TestProxyLMTPAndPOP3(t *testing.T) {
	s := proxyServer(t, nil)
	s.AddUser("alice", "pw")
	nc := proxyDial(t, s.App.Addrs()["lmtp"], "203.0.113.50:25000", 2)
	cl := smtp.NewClientLMTP(nc)
	if err := cl.Hello("mx.example"); err != nil {
		t.Fatal(err)
	}
	if err := cl.SendMail("sender@example.net", []string{"alice@localhost"}, strings.NewReader("Subject: proxied\r\n\r\nhi\r\n")); err != nil {
		t.Fatal(err)
	}
	cl.Quit()
	raw := fetchFirst(t, s)
	if !strings.Contains(raw, "203.0.113.50") {
		t.Errorf("Received field does not name the proxied client:\n%s", raw)
	}

	p := proxyDial(t, s.App.Addrs()["pop3"], "203.0.113.51:25001", 1)
	p.SetReadDeadline(time.Now().Add(5 * time.Second))
	line, _ := bufio.NewReader(p).ReadString('\n')
	if !strings.HasPrefix(line, "+OK") {
		t.Errorf("POP3 greeting to a proxied client: %q", line)
	}
}

// fetchFirst reads INBOX message 1 of alice through a proxied IMAP
// connection.
func fetchFirst(t *testing.T, s *testkit.Server) string {
	t.Helper()
	c := testkit.NewConn(t, proxyDialTLS(t, s.Addr, "192.0.2.77:1234"))
	c.Login("alice", "pw")
	c.ExpectOK("s", "SELECT INBOX")
	lines := c.ExpectOK("f", "FETCH 1 BODY.PEEK[HEADER]")
	return fmt.Sprint(lines)
}
