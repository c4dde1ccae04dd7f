package server

import (
	"bufio"
	"crypto/tls"
	"encoding/base64"
	"net"
	"strings"
	"testing"
	"time"
)

// On an unencrypted non-loopback connection LOGIN is refused and
// LOGINDISABLED advertised (RFC 9051 §6.2.3), unless the operator sets
// allow_plaintext_auth. net.Pipe gives a connection that is not loopback.
func TestLoginDisabledWithoutTLS(t *testing.T) {
	for _, allow := range []bool{false, true} {
		srv := New(Config{TLS: &tls.Config{}, AllowPlaintextAuth: allow, Limits: Limits{
			LineLength: 8192, LiteralSize: 1 << 20, NestingDepth: 16, CommandsBeforeLogin: 10,
			LoginTimeout: 5 * time.Second, Autologout: 30 * time.Minute, IdleKeepalive: time.Minute,
		}})
		client, server := net.Pipe()
		c := srv.newConn(server, false)
		go c.serve()
		br := bufio.NewReader(client)
		client.SetDeadline(time.Now().Add(5 * time.Second))
		greeting, _ := br.ReadString('\n')
		if got := strings.Contains(greeting, "LOGINDISABLED"); got == allow {
			t.Errorf("allow=%v: greeting %q", allow, greeting)
		}
		if !strings.Contains(greeting, "STARTTLS") {
			t.Errorf("STARTTLS not offered: %q", greeting)
		}
		client.Write([]byte("a1 LOGIN alice secret\r\n"))
		reply, _ := br.ReadString('\n')
		if !allow && !strings.HasPrefix(reply, "a1 NO [PRIVACYREQUIRED]") {
			t.Errorf("LOGIN without TLS: %q", reply)
		}
		if allow && strings.Contains(reply, "PRIVACYREQUIRED") {
			t.Errorf("allow_plaintext_auth ignored: %q", reply)
		}
		// No SASL mechanism is offered, and AUTHENTICATE PLAIN (with an
		// initial response, RFC 4959) is refused like LOGIN. (This server
		// has no authenticator, so it offers none when allowed either.)
		if !allow && strings.Contains(greeting, "AUTH=") {
			t.Errorf("AUTH= mechanisms offered without TLS: %q", greeting)
		}
		client.Write([]byte("a2 AUTHENTICATE PLAIN " + base64.StdEncoding.EncodeToString([]byte("\x00alice\x00secret")) + "\r\n"))
		reply, _ = br.ReadString('\n')
		if !allow && !strings.HasPrefix(reply, "a2 NO [PRIVACYREQUIRED]") {
			t.Errorf("AUTHENTICATE PLAIN without TLS: %q", reply)
		}
		if allow && strings.Contains(reply, "PRIVACYREQUIRED") {
			t.Errorf("allow_plaintext_auth ignored by AUTHENTICATE: %q", reply)
		}
		client.Close()
	}
}

// Every command is refused in the states where it does not belong
// (docs/style.md §2).
func TestCommandTableStates(t *testing.T) {
	for name, cmd := range commands {
		if cmd.states == 0 {
			t.Errorf("%s: no states", name)
		}
		if strings.HasPrefix(name, "UID ") && cmd.states != StateSelected {
			t.Errorf("%s: UID commands belong to the selected state only", name)
		}
	}
	srv := New(Config{Limits: Limits{LineLength: 8192, LiteralSize: 1 << 20, NestingDepth: 16, CommandsBeforeLogin: 100,
		LoginTimeout: 5 * time.Second, Autologout: 30 * time.Minute, IdleKeepalive: time.Minute}})
	client, server := net.Pipe()
	c := srv.newConn(server, false)
	go c.serve()
	defer client.Close()
	br := bufio.NewReader(client)
	client.SetDeadline(time.Now().Add(5 * time.Second))
	br.ReadString('\n')
	for name, cmd := range commands {
		if cmd.states&StateNotAuthenticated != 0 {
			continue
		}
		client.Write([]byte("t " + name + "\r\n"))
		reply, _ := br.ReadString('\n')
		if !strings.HasPrefix(reply, "t BAD "+name+" is not allowed in the not authenticated state") {
			t.Errorf("%s before login: %q", name, reply)
		}
	}
}
