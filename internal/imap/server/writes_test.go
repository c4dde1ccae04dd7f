package server

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"barid/internal/store"
)

// countingListener counts the Write calls made on its connections.
type countingListener struct {
	net.Listener
	mu     sync.Mutex
	writes int
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &countingConn{Conn: c, l: l}, nil
}

func (l *countingListener) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.writes
}

type countingConn struct {
	net.Conn
	l *countingListener
}

func (c *countingConn) Write(p []byte) (int, error) {
	c.l.mu.Lock()
	c.l.writes++
	c.l.mu.Unlock()
	return c.Conn.Write(p)
}

// A FETCH answer that fits the borrowed 64 KiB buffer leaves in one
// write system call together with its tagged OK (a mix of small
// commands is bound by system calls), message bytes included; a long
// FETCH still streams chunk by chunk and ends with the connection's own
// small buffer back in place.
func TestFetchResponseWrites(t *testing.T) {
	ctx := context.Background()
	f := newStoreFixture(t, "sam")
	body := strings.Repeat("twenty thousand bytes of text, line by line.\r\n", 430)
	for i := range 700 {
		msg := fmt.Sprintf("From: a%d@example.org\r\nSubject: message %d\r\n\r\n", i, i)
		if i == 0 {
			msg += body
		} else {
			msg += "short\r\n"
		}
		if _, err := f.deliv.Deliver(ctx, f.inbox.ID, strings.NewReader(msg), 0, store.Flags{}, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	tcp, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := &countingListener{Listener: tcp}
	f.serve(t, Config{}, ln)
	nc, err := net.Dial("tcp", tcp.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	br := bufio.NewReader(nc)
	br.ReadString('\n')
	n := 0
	// run sends a command and returns its answer and the writes it took.
	run := func(cmd string) (string, int) {
		t.Helper()
		n++
		tag := fmt.Sprintf("t%d", n)
		before := ln.count()
		nc.SetDeadline(time.Now().Add(20 * time.Second))
		fmt.Fprintf(nc, "%s %s\r\n", tag, cmd)
		var out strings.Builder
		for {
			l, err := br.ReadString('\n')
			if err != nil {
				t.Fatalf("%s: %v", cmd, err)
			}
			out.WriteString(l)
			if strings.HasPrefix(l, tag+" ") {
				if !strings.HasPrefix(l, tag+" OK") {
					t.Fatalf("%s: %q", cmd, l)
				}
				return out.String(), ln.count() - before
			}
		}
	}
	run("LOGIN sam pw")
	run("SELECT INBOX")
	for _, c := range []struct {
		cmd  string
		want string
	}{
		{"FETCH 2:21 (UID FLAGS RFC822.SIZE ENVELOPE)", "* 21 FETCH (UID 21 "},
		{"FETCH 1 (UID RFC822.SIZE BODY.PEEK[])", body + ")\r\n"},
		{"FETCH 1 (BODY.PEEK[HEADER.FIELDS (SUBJECT)])", "Subject: message 0\r\n"},
	} {
		out, w := run(c.cmd)
		if !strings.Contains(out, c.want) {
			t.Fatalf("%s: answer lacks %q", c.cmd, c.want)
		}
		if w != 1 {
			t.Errorf("%s: %d writes, want 1 (answer and tagged OK together)", c.cmd, w)
		}
	}
	// 700 envelopes: three chunks, streamed as they load.
	out, w := run("FETCH 1:* (UID ENVELOPE)")
	if got := strings.Count(out, " FETCH ("); got != 700 || w < 2 {
		t.Fatalf("FETCH 1:*: %d responses in %d writes", got, w)
	}
	// The small buffer is back: a short answer is still one write.
	if _, w := run("NOOP"); w != 1 {
		t.Fatalf("NOOP after a long FETCH: %d writes", w)
	}
}
