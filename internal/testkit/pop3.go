package testkit

import (
	"bufio"
	"crypto/tls"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// POP3Conn is a raw, line-oriented POP3 client: it writes exactly what
// the test gives it and returns response lines as text.
type POP3Conn struct {
	T  testing.TB
	NC net.Conn
	BR *bufio.Reader
	// Greeting is the server's first line.
	Greeting string
	// Timeout bounds every read and write (default 10 s).
	Timeout time.Duration
}

// DialPOP3 connects to the plain POP3 listener and reads the greeting.
func (s *Server) DialPOP3() *POP3Conn {
	s.T.Helper()
	return DialPOP3Addr(s.T, s.POP3Addr)
}

// DialPOP3TLS connects to the implicit-TLS POP3 listener (certificate
// not verified) and reads the greeting.
func (s *Server) DialPOP3TLS() *POP3Conn {
	s.T.Helper()
	nc, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", s.POP3TLSAddr, &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		s.T.Fatal(err)
	}
	return newPOP3Conn(s.T, nc)
}

// DialPOP3Addr connects to any POP3 server (barid or Dovecot) and reads
// its greeting.
func DialPOP3Addr(t testing.TB, addr string) *POP3Conn {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	return newPOP3Conn(t, nc)
}

func newPOP3Conn(t testing.TB, nc net.Conn) *POP3Conn {
	t.Helper()
	c := &POP3Conn{T: t, NC: nc, BR: bufio.NewReader(nc), Timeout: 10 * time.Second}
	t.Cleanup(func() { nc.Close() })
	if c.Greeting = c.Line(); !strings.HasPrefix(c.Greeting, "+OK") {
		t.Fatalf("POP3 greeting: %q", c.Greeting)
	}
	return c
}

// Send writes s as it is.
func (c *POP3Conn) Send(s string) {
	c.T.Helper()
	c.NC.SetWriteDeadline(time.Now().Add(c.Timeout))
	if _, err := io.WriteString(c.NC, s); err != nil {
		c.T.Fatalf("write %q: %v", s, err)
	}
}

// Line reads one line without its CRLF.
func (c *POP3Conn) Line() string {
	c.T.Helper()
	l, err := c.RawLine()
	if err != nil {
		c.T.Fatalf("read: %v (got %q)", err, l)
	}
	return strings.TrimSuffix(l, "\r\n")
}

// RawLine reads one line with its line end.
func (c *POP3Conn) RawLine() (string, error) {
	c.NC.SetReadDeadline(time.Now().Add(c.Timeout))
	return c.BR.ReadString('\n')
}

// Cmd sends one command and returns its status line.
func (c *POP3Conn) Cmd(cmd string) string {
	c.T.Helper()
	c.Send(cmd + "\r\n")
	return c.Line()
}

// OK sends one command and fails the test unless it answers +OK.
func (c *POP3Conn) OK(cmd string) string {
	c.T.Helper()
	l := c.Cmd(cmd)
	if !strings.HasPrefix(l, "+OK") {
		c.T.Fatalf("%s: %q", cmd, l)
	}
	return l
}

// Multi sends a command whose +OK is followed by a multi-line body
// (RFC 1939 §3) and returns the status line and the body exactly as
// sent (CRLFs and byte-stuffing kept, the final ".CRLF" removed). A
// -ERR has no body.
func (c *POP3Conn) Multi(cmd string) (string, string) {
	c.T.Helper()
	st := c.Cmd(cmd)
	if !strings.HasPrefix(st, "+OK") {
		return st, ""
	}
	return st, c.ReadMulti()
}

// ReadMulti reads a multi-line body up to and without ".CRLF".
func (c *POP3Conn) ReadMulti() string {
	c.T.Helper()
	var b strings.Builder
	for {
		l, err := c.RawLine()
		if err != nil {
			c.T.Fatalf("read multi-line: %v (got %q)", err, b.String()+l)
		}
		if l == ".\r\n" {
			return b.String()
		}
		b.WriteString(l)
	}
}

// Login sends USER and PASS and expects +OK.
func (c *POP3Conn) Login(user, pass string) {
	c.T.Helper()
	c.OK("USER " + user)
	c.OK("PASS " + pass)
}

// Unstuff undoes RFC 1939 §3 byte-stuffing of a multi-line body.
func Unstuff(body string) string {
	var b strings.Builder
	for l := range strings.Lines(body) {
		b.WriteString(strings.TrimPrefix(l, "."))
	}
	return b.String()
}
