package server_test

import (
	"bufio"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"barid/internal/config"
	"barid/internal/quickack"
)

// nagleConn is a client with Nagle's algorithm on (as C and Python
// clients are) whose every write is its own system call: the shape of
// imaplib, which sends a literal and its CRLF in two writes.
type nagleConn struct {
	t  *testing.T
	nc net.Conn
	br *bufio.Reader
}

func dialNagle(t *testing.T, addr string) *nagleConn {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	nc.(*net.TCPConn).SetNoDelay(false)
	nc.SetDeadline(time.Now().Add(time.Minute))
	c := &nagleConn{t: t, nc: nc, br: bufio.NewReader(nc)}
	c.line() // greeting
	return c
}

// write sends each part with its own write.
func (c *nagleConn) write(parts ...string) {
	for _, p := range parts {
		if _, err := io.WriteString(c.nc, p); err != nil {
			c.t.Fatal(err)
		}
	}
}

func (c *nagleConn) line() string {
	l, err := c.br.ReadString('\n')
	if err != nil {
		c.t.Fatal(err)
	}
	return strings.TrimRight(l, "\r\n")
}

func (c *nagleConn) cont() {
	if l := c.line(); !strings.HasPrefix(l, "+") {
		c.t.Fatalf("expected a continuation request, got %q", l)
	}
}

func (c *nagleConn) ok(tag string) {
	for {
		l := c.line()
		if strings.HasPrefix(l, tag+" ") {
			if !strings.HasPrefix(l, tag+" OK") {
				c.t.Fatalf("%s", l)
			}
			return
		}
	}
}

// TestNagleClientLiteralPaths: every place where a client sends part of a
// command, waits or is held by Nagle, and sends the rest, completes in
// far less than the 40 ms delayed-ACK timer (internal/quickack). Each
// case took 40 ms or more per round before quickack.
func TestNagleClientLiteralPaths(t *testing.T) {
	if !quickack.Supported {
		t.Skip("TCP_QUICKACK is Linux-only")
	}
	dir := t.TempDir()
	// fsync on tmpfs is free, so the figure is the network's.
	if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() {
		if d, err := os.MkdirTemp("/dev/shm", "barid-nagle-"); err == nil {
			t.Cleanup(func() { os.RemoveAll(d) })
			dir = d
		}
	}
	ts := startServerAt(t, dir, func(c *config.Config) { c.Limits.MaxConnsPerUserIP = 0 })
	ts.addUser("nagle", "npass")
	msg := "From: a@example.org\r\nSubject: nagle\r\n\r\nhello\r\n"
	lit := fmt.Sprintf("{%d}", len(msg))
	b64 := base64.StdEncoding.EncodeToString([]byte("\x00nagle\x00npass"))

	session := dialNagle(t, ts.addr)
	session.write("l LOGIN nagle npass\r\n")
	session.ok("l")
	n := 0
	tag := func() string { n++; return fmt.Sprintf("t%d", n) }
	cases := []struct {
		name  string
		round func() // one command, timed
	}{
		{"command line and CRLF in two writes", func() {
			tg := tag()
			session.write(tg+" NOOP", "\r\n")
			session.ok(tg)
		}},
		{"APPEND literal, then CRLF", func() {
			tg := tag()
			session.write(tg + " APPEND INBOX " + lit + "\r\n")
			session.cont()
			session.write(msg, "\r\n")
			session.ok(tg)
		}},
		{"APPEND LITERAL+, literal and CRLF each written apart", func() {
			tg := tag()
			session.write(tg+fmt.Sprintf(" APPEND INBOX {%d+}\r\n", len(msg)), msg, "\r\n")
			session.ok(tg)
		}},
		{"MULTIAPPEND, two literals", func() {
			tg := tag()
			session.write(tg + " APPEND INBOX " + lit + "\r\n")
			session.cont()
			session.write(msg, " "+lit+"\r\n")
			session.cont()
			session.write(msg, "\r\n")
			session.ok(tg)
		}},
		{"CATENATE TEXT literal, then ')' and CRLF", func() {
			tg := tag()
			session.write(tg + " APPEND INBOX CATENATE (TEXT " + lit + "\r\n")
			session.cont()
			session.write(msg, ")", "\r\n")
			session.ok(tg)
		}},
		{"LOGIN with a literal password", func() {
			c := dialNagle(t, ts.addr)
			c.write("a LOGIN nagle {5}\r\n")
			c.cont()
			c.write("npass", "\r\n")
			c.ok("a")
			c.nc.Close()
		}},
		{"AUTHENTICATE PLAIN, response then CRLF", func() {
			c := dialNagle(t, ts.addr)
			c.write("a AUTHENTICATE PLAIN\r\n")
			c.cont()
			c.write(b64, "\r\n")
			c.ok("a")
			c.nc.Close()
		}},
	}
	const rounds = 9
	limit := 10 * time.Millisecond
	for _, tc := range cases {
		var times []time.Duration
		for range rounds {
			start := time.Now()
			tc.round()
			times = append(times, time.Since(start))
		}
		slices.Sort(times)
		if med := times[rounds/2]; med > limit {
			t.Errorf("%s: median %v over %d rounds exceeds %v: the server's delayed ACK holds the client's next write (see internal/quickack)", tc.name, med, rounds, limit)
		}
	}
}
