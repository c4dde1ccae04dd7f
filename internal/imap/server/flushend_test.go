package server

import (
	"bufio"
	"net"
	"strings"
	"testing"
	"time"
)

// TestPipelinedAnswersOneWrite: the answers to commands a client sent
// in one write leave in one write (flushEnd), while an answer whose
// next command is not complete yet is flushed at once. net.Pipe has no
// buffer, so each Read returns what one Write of the server carried.
func TestPipelinedAnswersOneWrite(t *testing.T) {
	srv := New(Config{Limits: Limits{LineLength: 8192, LiteralSize: 1 << 20, NestingDepth: 16, CommandsBeforeLogin: 100,
		LoginTimeout: 5 * time.Second, Autologout: 30 * time.Minute, IdleKeepalive: time.Minute}})
	client, server := net.Pipe()
	c := srv.newConn(server, false)
	go c.serve()
	defer client.Close()
	client.SetDeadline(time.Now().Add(5 * time.Second))
	br := bufio.NewReader(client)
	if g, err := br.ReadString('\n'); err != nil || !strings.HasPrefix(g, "* OK") {
		t.Fatalf("greeting %q, %v", g, err)
	}
	if _, err := client.Write([]byte("a NOOP\r\nb NOOP\r\nc NOOP\r\n")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4096)
	n, err := client.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	got := string(buf[:n])
	for _, tag := range []string{"a OK", "b OK", "c OK"} {
		if !strings.Contains(got, tag) {
			t.Errorf("first write of the answers to three pipelined commands: %q, without %q", got, tag)
		}
	}
	// The next command alone, in two writes: its answer is not held
	// for input that has not come.
	if _, err := client.Write([]byte("d NOOP\r\ne NO")); err != nil {
		t.Fatal(err)
	}
	if n, err = client.Read(buf); err != nil || !strings.Contains(string(buf[:n]), "d OK") {
		t.Fatalf("answer to d: %q, %v", buf[:n], err)
	}
	if _, err := client.Write([]byte("OP\r\n")); err != nil {
		t.Fatal(err)
	}
	if n, err = client.Read(buf); err != nil || !strings.Contains(string(buf[:n]), "e OK") {
		t.Fatalf("answer to e: %q, %v", buf[:n], err)
	}
}
