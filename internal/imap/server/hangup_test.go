package server

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"barid/internal/auth"
	"barid/internal/blob"
	"barid/internal/store"
)

// gatedBlobs holds every Open until the test releases it or the reader's
// context ends, as a slow disk or S3 would; it counts the Opens.
type gatedBlobs struct {
	blob.Store
	opens   atomic.Int64
	opened  chan struct{}
	release chan struct{}
}

func (g *gatedBlobs) Open(ctx context.Context, id string) (blob.Reader, error) {
	g.opens.Add(1)
	select {
	case g.opened <- struct{}{}:
	default:
	}
	select {
	case <-g.release:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return g.Store.Open(ctx, id)
}

// A client that hangs up during SEARCH BODY or a FETCH of message bytes
// stops the command: the reads are cancelled (hangup.go) and the session
// ends, while without that the command would wait on the held reads
// forever.
func TestHangupStopsReads(t *testing.T) {
	for _, command := range []string{
		// A one-letter needle: the full-text index cannot narrow it,
		// every message is read.
		"SEARCH BODY q",
		"FETCH 1:* (BODY.PEEK[])",
		"SORT (SUBJECT) UTF-8 TEXT q",
	} {
		t.Run(strings.Fields(command)[0], func(t *testing.T) { testHangup(t, command) })
	}
}

func testHangup(t *testing.T, command string) {
	f := newStoreFixture(t, "hank")
	ctx := context.Background()
	const n = 200
	for i := range n {
		msg := fmt.Sprintf("From: a@x.test\r\nSubject: m%d\r\n\r\nbody %d\r\n", i, i)
		if _, err := f.deliv.Deliver(ctx, f.inbox.ID, strings.NewReader(msg), 0, store.Flags{}, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	gate := &gatedBlobs{Store: f.bs, opened: make(chan struct{}, 1), release: make(chan struct{})}
	srv := New(Config{Store: f.st, Blobs: gate, Bus: f.bus, Limits: fixtureLimits,
		Auth: auth.New(auth.StoreAccounts{Store: f.st}, auth.Config{}, nil)})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln, false)
	t.Cleanup(func() { close(gate.release); srv.Shutdown(context.Background()) })

	nc, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(nc)
	cmd := func(tag, line string) {
		t.Helper()
		fmt.Fprintf(nc, "%s %s\r\n", tag, line)
		for {
			l, err := r.ReadString('\n')
			if err != nil {
				t.Fatal(err)
			}
			if strings.HasPrefix(l, tag+" ") {
				if !strings.HasPrefix(l, tag+" OK") {
					t.Fatalf("%s: %s", line, l)
				}
				return
			}
		}
	}
	r.ReadString('\n')
	cmd("a", "LOGIN hank pw")
	cmd("b", "SELECT INBOX")
	fmt.Fprintf(nc, "c %s\r\n", command)
	<-gate.opened
	nc.Close()

	deadline := time.Now().Add(30 * time.Second)
	for len(srv.Sessions()) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the session is still running 30 s after its client hung up (%d of %d messages opened)", gate.opens.Load(), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if got := gate.opens.Load(); got >= n {
		t.Errorf("%d of %d messages were opened after the client hung up during the first", got, n)
	}
}

// A client that half-closes after pipelining more commands still gets
// every answer: the watch only stops a command that is the last one
// sent.
func TestHalfCloseAfterPipelinedCommandsIsAnswered(t *testing.T) {
	f := newStoreFixture(t, "hal")
	ctx := context.Background()
	for i := range 20 {
		msg := fmt.Sprintf("From: a@x.test\r\nSubject: m%d\r\n\r\nbody q %d\r\n", i, i)
		if _, err := f.deliv.Deliver(ctx, f.inbox.ID, strings.NewReader(msg), 0, store.Flags{}, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	addr := f.serve(t, Config{}, nil)
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	fmt.Fprintf(nc, "a LOGIN hal pw\r\nb SELECT INBOX\r\nc SEARCH BODY q\r\nd FETCH 1:* (BODY.PEEK[])\r\ne LOGOUT\r\n")
	nc.(*net.TCPConn).CloseWrite()
	nc.SetReadDeadline(time.Now().Add(30 * time.Second))
	sc := bufio.NewScanner(nc)
	var tagged []string
	for sc.Scan() {
		if l := sc.Text(); len(l) > 2 && l[0] != '*' && l[1] == ' ' {
			tagged = append(tagged, l[:4])
		}
	}
	want := []string{"a OK", "b OK", "c OK", "d OK", "e OK"}
	if strings.Join(tagged, ",") != strings.Join(want, ",") {
		t.Errorf("tagged answers %v, want %v", tagged, want)
	}
}
