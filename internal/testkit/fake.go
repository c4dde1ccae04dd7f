package testkit

import (
	"bufio"
	"io"
	"net"
	"strings"
	"testing"
)

// FakeServer is a scripted peer for testing a client (the bench's IMAP
// client, a relay's SMTP client): it listens on a loopback port, accepts
// one connection, writes greeting and hands the connection to serve,
// which plays the server's side line by line; it returns the address.
// Use it for answers a real barid never gives (a BYE greeting,
// responses out of order, odd literal forms); anything barid does say
// is better tested against Start.
func FakeServer(t testing.TB, greeting string, serve func(r *bufio.Reader, w io.Writer)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		io.WriteString(c, greeting)
		serve(bufio.NewReader(c), c)
	}()
	return ln.Addr().String()
}

// ReadCommand reads one command line on a FakeServer's connection and
// splits off its tag; both are "" at the end of the input.
func ReadCommand(r *bufio.Reader) (tag, rest string) {
	line, err := r.ReadString('\n')
	if err != nil {
		return "", ""
	}
	line = strings.TrimRight(line, "\r\n")
	tag, rest, _ = strings.Cut(line, " ")
	return tag, rest
}
