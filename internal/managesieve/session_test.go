package managesieve_test

import (
	"context"
	"strings"
	"testing"
	"time"
)

// limits.commands_before_login ends a session that never logs in.
func TestCommandsBeforeLogin(t *testing.T) {
	t.Parallel()
	f := startServer(t)
	c := f.dial()
	c.response() // greeting
	for i := range 8 {
		c.send("NOOP\r\n")
		if r := c.response(); !strings.HasPrefix(r[0], "OK") {
			t.Fatalf("NOOP %d: %q", i, r)
		}
	}
	c.send("NOOP\r\n")
	r := c.response()
	if len(r) != 1 || !strings.HasPrefix(r[0], `BYE "Too many commands before login (limits.commands_before_login)"`) {
		t.Fatalf("ninth command: %q", r)
	}
}

// Shutdown says BYE to an idle session, and a failed login is answered
// NO like IMAP's (its failure delay is internal/auth's, tested there with
// a fake clock).
func TestShutdownAndFailureDelay(t *testing.T) {
	t.Parallel()
	f := startServer(t)
	f.addUser("gina", "right")
	c := f.dial()
	c.response()
	c.send("AUTHENTICATE \"PLAIN\" \"" + b64("\x00gina\x00wrong") + "\"\r\n")
	if r := c.response(); r[0] != `NO "Authentication failed."` {
		t.Fatalf("bad password: %q", r)
	}
	c.send("AUTHENTICATE \"PLAIN\" \"" + b64("\x00gina\x00right") + "\"\r\n")
	if r := c.response(); r[0] != `OK "Logged in."` {
		t.Fatalf("login: %q", r)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	go f.srv.Shutdown(ctx)
	if l := c.readLine(); l != `BYE (TRYLATER) "Server shutting down."` {
		t.Fatalf("at shutdown: %q", l)
	}
}
