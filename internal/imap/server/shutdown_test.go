package server

import (
	"bufio"
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"barid/internal/auth"
)

// Graceful shutdown over real sockets: a connection waiting for a
// command (one not logged in, one logged in with a mailbox selected)
// gets "* BYE Server shutting down" at once; Serve returns
// ErrServerClosed; Shutdown returns once the connections ended; nothing
// is accepted afterwards. Kick before it ends one user's session with
// the administrator's text.
func TestShutdownSaysBye(t *testing.T) {
	f := newStoreFixture(t, "al")
	cfg := Config{Store: f.st, Blobs: f.bs, Bus: f.bus, Limits: fixtureLimits,
		Auth: auth.New(auth.StoreAccounts{Store: f.st}, auth.Config{}, nil)}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := New(cfg)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln, false) }()
	addr := ln.Addr().String()
	dial := func() *lineClient {
		nc, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { nc.Close() })
		nc.SetDeadline(time.Now().Add(10 * time.Second))
		c := &lineClient{t: t, nc: nc, br: bufio.NewReader(nc)}
		if l := c.readLine(); !strings.HasPrefix(l, "* OK ") {
			t.Fatalf("greeting %q", l)
		}
		return c
	}
	anon := dial()
	kicked := dial()
	kicked.cmd("l1", "LOGIN al pw", "l1 OK")
	if n := srv.Kick("al", "Account moved"); n != 1 {
		t.Fatalf("Kick told %d sessions", n)
	}
	if l := kicked.readLine(); l != "* BYE Account moved" {
		t.Fatalf("kicked: %q", l)
	}
	user := dial()
	user.cmd("l1", "LOGIN al pw", "l1 OK")
	user.cmd("s1", "SELECT INBOX", "s1 OK")
	deadline := time.Now().Add(10 * time.Second)
	for len(srv.Sessions()) != 2 {
		if time.Now().After(deadline) {
			t.Fatalf("sessions: %+v", srv.Sessions())
		}
		time.Sleep(5 * time.Millisecond)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	for _, c := range []*lineClient{anon, user} {
		if l := c.readLine(); !strings.HasPrefix(l, "* BYE Server shutting down") {
			t.Errorf("got %q, want BYE", l)
		}
	}
	if err := <-served; err != ErrServerClosed {
		t.Errorf("Serve returned %v", err)
	}
	if n := len(srv.Sessions()); n != 0 {
		t.Errorf("%d sessions after Shutdown", n)
	}
	if _, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		t.Error("the listener still accepts")
	}
	ln2, _ := net.Listen("tcp", "127.0.0.1:0")
	defer ln2.Close()
	if err := srv.Serve(ln2, false); err != ErrServerClosed {
		t.Errorf("Serve after Shutdown: %v", err)
	}
}

// lineClient is a bare IMAP client for this package's own tests (the
// testkit client would import the app, which imports this package).
type lineClient struct {
	t  *testing.T
	nc net.Conn
	br *bufio.Reader
}

func (c *lineClient) readLine() string {
	c.t.Helper()
	l, err := c.br.ReadString('\n')
	if err != nil {
		c.t.Fatalf("read: %v (%q)", err, l)
	}
	return strings.TrimRight(l, "\r\n")
}

// cmd sends "tag command" and reads up to the tagged reply, which must
// start with want.
func (c *lineClient) cmd(tag, command, want string) {
	c.t.Helper()
	if _, err := c.nc.Write([]byte(tag + " " + command + "\r\n")); err != nil {
		c.t.Fatal(err)
	}
	for {
		l := c.readLine()
		if strings.HasPrefix(l, tag+" ") {
			if !strings.HasPrefix(l, want) {
				c.t.Fatalf("%s: %q, want %s", command, l, want)
			}
			return
		}
	}
}
