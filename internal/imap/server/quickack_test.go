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

// nagleConn is a test client. Split: Nagle's algorithm on (as C and
// Python clients have it) and every part of a command its own write, the
// shape of imaplib, which sends a literal and its CRLF in two writes.
// Otherwise: TCP_NODELAY and the parts joined into one write, the
// baseline that no delayed ACK can hold up.
type nagleConn struct {
	t     *testing.T
	nc    net.Conn
	br    *bufio.Reader
	split bool
}

func dialNagle(t *testing.T, addr string, split bool) *nagleConn {
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

// TestNagleClientLiteralPaths: every place where a client sends part of a
// command and is then held by Nagle (or waits for "+") before sending the
// rest costs no delayed ACK (internal/quickack). Each case runs in turns
// with a split client and a one-write TCP_NODELAY client on the same
// server; the split one may not be slower by half the 40 ms delayed-ACK
// timer, so CPU load slows both alike and cannot fail the test. Before
// quickack every split case was 44 ms (88 ms for MULTIAPPEND) per round.
func TestNagleClientLiteralPaths(t *testing.T) {
	if !quickack.Supported {
		t.Skip("TCP_QUICKACK is Linux-only")
	}
	dir := t.TempDir()
	// fsync on tmpfs is free, so the figures are mostly the network's.
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
	cases := []struct {
		name  string
		round func(split bool) // one command, timed
	}{
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
	const rounds = 9
	const slack = 20 * time.Millisecond // half of Linux's minimum delayed ACK
	median := func(d []time.Duration) time.Duration {
		slices.Sort(d)
		return d[len(d)/2]
	}
	for _, tc := range cases {
		var split, joined []time.Duration
		for range rounds {
			for _, sp := range []bool{true, false} {
				start := time.Now()
				tc.round(sp)
				if sp {
					split = append(split, time.Since(start))
				} else {
					joined = append(joined, time.Since(start))
				}
			}
		}
		ms, mj := median(split), median(joined)
		t.Logf("%s: median %v split (Nagle on), %v in one write", tc.name, ms, mj)
		if ms > mj+slack {
			t.Errorf("%s: median %v with Nagle on and split writes against %v in one write: more than %v slower, the server's delayed ACK holds the client's next write (see internal/quickack)", tc.name, ms, mj, slack)
		}
	}
}
