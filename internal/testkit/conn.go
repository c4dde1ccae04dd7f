package testkit

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Conn is a raw, line-oriented IMAP client: it writes exactly what the
// test gives it and returns response lines as text.
type Conn struct {
	T  testing.TB
	NC net.Conn
	BR *bufio.Reader
	// Timeout bounds every read and write (default 10 s).
	Timeout time.Duration
	// EscapeLiterals makes ReadLine append a literal's bytes right after
	// its {N}, with CR and LF written as \r and \n, so that a response
	// stays one comparable line (the oracle compares lines).
	EscapeLiterals bool
}

// Dial connects to the plain IMAP listener and reads the greeting.
func (s *Server) Dial() *Conn {
	s.T.Helper()
	return DialAddr(s.T, s.Addr)
}

// DialTLS connects to the implicit-TLS listener (certificate not
// verified) and reads the greeting.
func (s *Server) DialTLS() *Conn {
	s.T.Helper()
	nc, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", s.TLSAddr, &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		s.T.Fatal(err)
	}
	return newConn(s.T, nc)
}

// DialAddr connects to any IMAP server (barid or Dovecot) and reads its
// greeting.
func DialAddr(t testing.TB, addr string) *Conn {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	return newConn(t, nc)
}

// NewConn wraps a connection the test dialled itself (from a chosen
// local address, say) and reads the greeting.
func NewConn(t testing.TB, nc net.Conn) *Conn { return newConn(t, nc) }

func newConn(t testing.TB, nc net.Conn) *Conn {
	t.Helper()
	c := &Conn{T: t, NC: nc, BR: bufio.NewReader(nc), Timeout: 10 * time.Second}
	t.Cleanup(func() { nc.Close() })
	if g := c.ReadLine(); !strings.HasPrefix(g, "* OK ") && !strings.HasPrefix(g, "* PREAUTH ") {
		t.Fatalf("greeting: %q", g)
	}
	return c
}

// Send writes s as it is.
func (c *Conn) Send(s string) {
	c.T.Helper()
	c.NC.SetWriteDeadline(time.Now().Add(c.Timeout))
	if _, err := io.WriteString(c.NC, s); err != nil {
		c.T.Fatalf("write %q: %v", s, err)
	}
}

// ReadLine reads one response line without its CRLF. A line ending in a
// literal {N} gets the literal's bytes and the rest of the line
// appended, the literal shown as {N}\n<bytes>, so transcripts stay
// readable.
func (c *Conn) ReadLine() string {
	c.T.Helper()
	c.NC.SetReadDeadline(time.Now().Add(c.Timeout))
	var out strings.Builder
	for {
		line, err := c.BR.ReadString('\n')
		if err != nil {
			c.T.Fatalf("read: %v (got %q)", err, out.String()+line)
		}
		line = strings.TrimSuffix(line, "\r\n")
		out.WriteString(line)
		n, ok := LiteralSuffix(line)
		if !ok {
			return out.String()
		}
		buf := make([]byte, n)
		if _, err := io.ReadFull(c.BR, buf); err != nil {
			c.T.Fatalf("read literal: %v", err)
		}
		if c.EscapeLiterals {
			out.WriteString(literalEscaper.Replace(string(buf)))
			continue
		}
		out.WriteString("\n")
		out.Write(buf)
	}
}

// Cmd sends "tag command\r\n" and returns every line up to and
// including the tagged completion.
func (c *Conn) Cmd(tag, command string) []string {
	c.T.Helper()
	c.Send(tag + " " + command + "\r\n")
	return c.Until(tag)
}

// Until reads lines up to and including the one tagged tag.
func (c *Conn) Until(tag string) []string {
	c.T.Helper()
	var lines []string
	for {
		l := c.ReadLine()
		lines = append(lines, l)
		if strings.HasPrefix(l, tag+" ") {
			return lines
		}
	}
}

// ExpectOK runs a command and fails the test unless it completes OK.
func (c *Conn) ExpectOK(tag, command string) []string {
	c.T.Helper()
	lines := c.Cmd(tag, command)
	if last := lines[len(lines)-1]; !strings.HasPrefix(last, tag+" OK") {
		c.T.Fatalf("%s %s: %q", tag, command, lines)
	}
	return lines
}

// Login sends LOGIN with both arguments quoted and expects OK.
func (c *Conn) Login(user, pass string) {
	c.T.Helper()
	c.ExpectOK("L1", fmt.Sprintf("LOGIN %s %s", Quote(user), Quote(pass)))
}

var literalEscaper = strings.NewReplacer("\r", `\r`, "\n", `\n`)

// LiteralSuffix reports whether line ends in a literal announcement
// "{n}" (or "~{n}" or "{n+}") and returns n. Hand-written rather than a
// regular expression: the backtracking matcher cost more than the
// server in benchmarks whose lines are long.
func LiteralSuffix(line string) (int, bool) {
	if !strings.HasSuffix(line, "}") {
		return 0, false
	}
	open := strings.LastIndexByte(line, '{')
	if open < 0 || open+2 > len(line)-1 {
		return 0, false
	}
	digits := strings.TrimSuffix(line[open+1:len(line)-1], "+")
	if digits == "" {
		return 0, false
	}
	for i := 0; i < len(digits); i++ {
		if digits[i] < '0' || digits[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.Atoi(digits)
	return n, err == nil
}
