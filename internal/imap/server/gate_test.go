package server

import (
	"bufio"
	"context"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"barid/internal/store"
	"barid/internal/store/sqlite"
)

// TestPipelinedWritesShareSync: with the WAL syncer, a session whose
// client pipelined an APPEND, an EXPUNGE, two APPENDs and a NOOP runs them all while
// the first fdatasync is held (their writes reach the store), and sends
// nothing meanwhile: no answer leaves before the sync that makes it
// true (store.Gate, gatedOut, flushEnd). Once the sync runs, every
// answer comes, in order.
func TestPipelinedWritesShareSync(t *testing.T) {
	hold := make(chan struct{})
	var held atomic.Bool
	f := newStoreFixtureOpts(t, "pip", sqlite.Options{WALSyncer: true, BeforeSync: func() {
		if held.Load() {
			<-hold
		}
	}})
	ctx := context.Background()
	_, err := f.deliv.Deliver(ctx, f.inbox.ID, strings.NewReader("Subject: x\r\n\r\nx\r\n"), 0, store.Flags{System: store.FlagDeleted}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	addr := f.serve(t, Config{Deliver: f.deliv}, nil)
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(20 * time.Second))
	br := bufio.NewReader(nc)
	br.ReadString('\n')
	nc.Write([]byte("a LOGIN pip pw\r\nb SELECT INBOX\r\n"))
	for {
		l, err := br.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(l, "a NO") || strings.HasPrefix(l, "b NO") || strings.HasPrefix(l, "b BAD") {
			t.Fatalf("setup: %q", l)
		}
		if strings.HasPrefix(l, "b OK") {
			break
		}
	}

	// A second session of the same user idles on INBOX: it must not
	// be told of the pipelined EXPUNGE or APPENDs before their sync
	// either (they are on the bus from COMMIT on: pollUpdates settles).
	idler, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer idler.Close()
	idler.SetDeadline(time.Now().Add(20 * time.Second))
	ibr := bufio.NewReader(idler)
	ibr.ReadString('\n')
	idler.Write([]byte("i1 LOGIN pip pw\r\ni2 SELECT INBOX\r\ni3 IDLE\r\n"))
	for {
		l, err := ibr.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(l, "+ ") {
			break
		}
	}

	held.Store(true) // the writes below are the only ones; the session is idle
	before := f.st.Stats().Requests
	msg := "Subject: p\r\n\r\npipelined\r\n"
	var cmds strings.Builder
	// The EXPUNGE is a lazy write ([storage] sync_index = false): alone
	// it would be answered at COMMIT. Behind d1's APPEND, of the same
	// account, it waits for the sync that covers d1 (per-account
	// order, durable.go).
	for _, tag := range []string{"d1", "c", "d2", "d3"} {
		if tag == "c" {
			cmds.WriteString("c EXPUNGE\r\n")
			continue
		}
		cmds.WriteString(tag + " APPEND INBOX {" + itoa(len(msg)) + "+}\r\n" + msg + "\r\n")
	}
	cmds.WriteString("e NOOP\r\n")
	if _, err := nc.Write([]byte(cmds.String())); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); f.st.Stats().Requests-before < 4; {
		if time.Now().After(deadline) {
			close(hold)
			t.Fatalf("with the first sync held, the session ran %d of the 4 pipelined writes", f.st.Stats().Requests-before)
		}
		time.Sleep(5 * time.Millisecond)
	}
	nc.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
	if l, err := br.ReadString('\n'); err == nil || l != "" {
		close(hold)
		t.Fatalf("answer sent before its sync: %q", l)
	}
	idler.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
	if l, err := ibr.ReadString('\n'); err == nil || l != "" {
		close(hold)
		t.Fatalf("another session was told of the writes before their sync: %q", l)
	}
	idler.SetReadDeadline(time.Now().Add(20 * time.Second))
	nc.SetReadDeadline(time.Now().Add(20 * time.Second))
	close(hold)
	var got []string
	for {
		l, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("after %q: %v", got, err)
		}
		l = strings.TrimRight(l, "\r\n")
		got = append(got, l)
		if strings.HasPrefix(l, "e ") {
			break
		}
	}
	want := []string{"d1 OK", "* 1 EXPUNGE", "c OK", "d2 OK", "d3 OK", "e OK"}
	i := 0
	for _, l := range got {
		if i < len(want) && strings.HasPrefix(l, want[i]) {
			i++
		}
	}
	if i != len(want) {
		t.Fatalf("answers %q, want in order the lines starting %q", got, want)
	}
	if l, err := ibr.ReadString('\n'); err != nil || !strings.HasPrefix(l, "* ") {
		t.Fatalf("the idler after the sync: %q %v", l, err)
	}
}
