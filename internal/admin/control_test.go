package admin

import (
	"bufio"
	"context"
	"encoding/json"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"barid/internal/blob/fs"
	"barid/internal/imap/server"
	"barid/internal/store"
	"barid/internal/store/sqlite"
)

// FuzzControlRequest feeds arbitrary request lines to a control socket
// served over a pipe, on a real store with one account: every line gets
// exactly one JSON answer, never a panic or a stall, and the
// connection stays usable (a ping after it is answered).
func FuzzControlRequest(f *testing.F) {
	for _, s := range []string{
		`{"op":"who"}`, `{"op":"kick","user":"alice"}`, `{"op":"mailbox.create","user":"alice","mailbox":"A/B"}`,
		`{"op":"mailbox.rename","user":"alice","mailbox":"A","new_name":"INBOX"}`, `{"op":"mailbox.delete","user":"alice","mailbox":"INBOX"}`,
		`{"op":"expunge","user":"alice","mailbox":"INBOX","query":"BEFORE 30-days-ago"}`, `{"op":"expunge","user":"alice","mailbox":"INBOX","query":"ALL\r\nX"}`,
		`{"op":"mailbox.subscribe","user":"nobody","mailbox":"x","subscribe":true}`, `[]`, `{"op":1}`, `{`, "",
	} {
		f.Add(s)
	}
	dir := f.TempDir()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(dir, "barid.db"), sqlite.Options{})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { st.Close() })
	bs, err := fs.Open(filepath.Join(dir, "blobs"))
	if err != nil {
		f.Fatal(err)
	}
	if _, err := st.CreateAccount(ctx, "alice", []byte("x")); err != nil { // with INBOX
		f.Fatal(err)
	}
	ctl := &Control{
		Svc:      &Service{Store: st, Blobs: bs, Publish: func([]store.Change) {}},
		Sessions: func() []server.SessionInfo { return nil },
		Kick:     func(string, string) int { return 0 },
	}
	f.Fuzz(func(t *testing.T, line string) {
		line = strings.ReplaceAll(line, "\n", " ")
		a, b := net.Pipe()
		done := make(chan struct{})
		go func() { ctl.serveConn(ctx, a); close(done) }()
		defer func() { b.Close(); <-done }()
		b.SetDeadline(time.Now().Add(10 * time.Second))
		go b.Write([]byte(line + "\n" + `{"op":"ping"}` + "\n"))
		br := bufio.NewReader(b)
		for i, want := range []string{"", `{"ok":true}`} {
			l, err := br.ReadString('\n')
			if err != nil {
				t.Fatalf("answer %d to %q: %v", i, line, err)
			}
			var r Response
			if err := json.Unmarshal([]byte(l), &r); err != nil {
				t.Fatalf("answer %q is not JSON: %v", l, err)
			}
			if want != "" && strings.TrimSpace(l) != want {
				t.Fatalf("ping after %q: %q", line, l)
			}
		}
	})
}

// A server that shuts down before its control socket's Serve goroutine
// has started: Close runs first, and Serve must still return (it closes
// the listener itself) instead of accepting forever.
func TestCloseBeforeServe(t *testing.T) {
	ln, err := net.Listen("unix", filepath.Join(t.TempDir(), "c.sock"))
	if err != nil {
		t.Fatal(err)
	}
	c := &Control{}
	c.Close()
	done := make(chan error, 1)
	go func() { done <- c.Serve(context.Background(), ln) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		ln.Close()
		t.Fatal("Serve after Close did not return")
	}
}
