package server_test

import (
	"bufio"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"barid/internal/config"
	"barid/internal/quickack"
)

// nagleConn is a test client. Split: Nagle's algorithm on (as C and
// Python clients have it) and every part of a command its own write, the
// shape of imaplib, which sends a literal and its CRLF in two writes.
// Otherwise: TCP_NODELAY and the parts joined into one write, the
// baseline that no delayed ACK can hold up.
type nagleConn struct {
	t     testing.TB
	nc    net.Conn
	br    *bufio.Reader
	split bool
}

func dialNagle(t testing.TB, addr string, split bool) *nagleConn {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	nc.(*net.TCPConn).SetNoDelay(!split)
	nc.SetDeadline(time.Now().Add(time.Minute))
	c := &nagleConn{t: t, nc: nc, br: bufio.NewReader(nc), split: split}
	c.line() // greeting
	return c
}

// write sends the parts, each with its own write when split.
func (c *nagleConn) write(parts ...string) {
	if !c.split {
		parts = []string{strings.Join(parts, "")}
	}
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

// nagleCase is one command shape in which a client sends part of a
// command and is then held by Nagle (or waits for "+") before sending
// the rest.
type nagleCase struct {
	name  string
	round func(split bool) // one command
}

// nagleSetup starts a server (on tmpfs when there is one, so fsync is
// free and a round's time is mostly the network's) and logs in one split
// (Nagle on) and one joined (TCP_NODELAY) session, and returns the
// command shapes to run on them.
func nagleSetup(t testing.TB) []nagleCase {
	dir := t.TempDir()
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

	sessions := map[bool]*nagleConn{}
	for _, split := range []bool{true, false} {
		s := dialNagle(t, ts.addr, split)
		s.write("l LOGIN nagle npass\r\n")
		s.ok("l")
		sessions[split] = s
	}
	n := 0
	tag := func() string { n++; return fmt.Sprintf("t%d", n) }
	return []nagleCase{
		{"command line and CRLF in two writes", func(split bool) {
			s, tg := sessions[split], tag()
			s.write(tg+" NOOP", "\r\n")
			s.ok(tg)
		}},
		{"APPEND literal, then CRLF", func(split bool) {
			s, tg := sessions[split], tag()
			s.write(tg + " APPEND INBOX " + lit + "\r\n")
			s.cont()
			s.write(msg, "\r\n")
			s.ok(tg)
		}},
		{"APPEND LITERAL+, literal and CRLF each written apart", func(split bool) {
			s, tg := sessions[split], tag()
			s.write(tg+fmt.Sprintf(" APPEND INBOX {%d+}\r\n", len(msg)), msg, "\r\n")
			s.ok(tg)
		}},
		{"MULTIAPPEND, two literals", func(split bool) {
			s, tg := sessions[split], tag()
			s.write(tg + " APPEND INBOX " + lit + "\r\n")
			s.cont()
			s.write(msg, " "+lit+"\r\n")
			s.cont()
			s.write(msg, "\r\n")
			s.ok(tg)
		}},
		{"CATENATE TEXT literal, then ')' and CRLF", func(split bool) {
			s, tg := sessions[split], tag()
			s.write(tg + " APPEND INBOX CATENATE (TEXT " + lit + "\r\n")
			s.cont()
			s.write(msg, ")", "\r\n")
			s.ok(tg)
		}},
		{"LOGIN with a literal password", func(split bool) {
			c := dialNagle(t, ts.addr, split)
			c.write("a LOGIN nagle {5}\r\n")
			c.cont()
			c.write("npass", "\r\n")
			c.ok("a")
			c.nc.Close()
		}},
		{"AUTHENTICATE PLAIN, response then CRLF", func(split bool) {
			c := dialNagle(t, ts.addr, split)
			c.write("a AUTHENTICATE PLAIN\r\n")
			c.cont()
			c.write(b64, "\r\n")
			c.ok("a")
			c.nc.Close()
		}},
	}
}

// TestNagleClientLiteralPaths: every command shape in which a client
// sends part of a command and then waits works with a client that keeps
// Nagle on and writes each part apart (the shape of Python's imaplib),
// as with one that writes it all at once. How long the split shapes take
// (the delayed ACK that internal/quickack removes: 44 ms a round, 88 ms
// for MULTIAPPEND, before it) is measured by
// BenchmarkNagleClientLiteralPaths, not asserted here.
func TestNagleClientLiteralPaths(t *testing.T) {
	for _, tc := range nagleSetup(t) {
		for _, split := range []bool{true, false} {
			tc.round(split)
		}
	}
}

// BenchmarkNagleClientLiteralPaths times each command shape with the
// split client (Nagle on, parts written apart) and the joined one
// (TCP_NODELAY, one write). With TCP_QUICKACK the two should be within
// the noise of each other; without it the split shapes cost Linux's
// delayed-ACK timer (40 ms) a round:
//
//	go test ./internal/imap/server -run '^$' -bench NagleClientLiteralPaths
func BenchmarkNagleClientLiteralPaths(b *testing.B) {
	if !quickack.Supported {
		b.Skip("TCP_QUICKACK is Linux-only")
	}
	for _, tc := range nagleSetup(b) {
		for _, split := range []bool{true, false} {
			mode := "joined"
			if split {
				mode = "split"
			}
			b.Run(tc.name+"/"+mode, func(b *testing.B) {
				for b.Loop() {
					tc.round(split)
				}
			})
		}
	}
}
