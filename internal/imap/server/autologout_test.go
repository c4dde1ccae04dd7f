package server

import (
	"bufio"
	"context"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"barid/internal/auth"
	"barid/internal/blob/fs"
	"barid/internal/notify"
	"barid/internal/store/sqlite"
)

// The autologout timer (RFC 9051 §5.4) ends a logged-in session that
// sends nothing, with a BYE naming the limit. Production refuses values
// under 30 minutes (config validation); the server itself takes any.
func TestAutologout(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st, err := sqlite.Open(ctx, filepath.Join(dir, "db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	bs, err := fs.Open(filepath.Join(dir, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	secret, _ := auth.NewSecret("pw", auth.Params{ArgonTime: 1, ArgonMemory: 1024, ArgonThreads: 1, SCRAMIterations: 4096})
	if _, err := st.CreateAccount(ctx, "al", secret); err != nil {
		t.Fatal(err)
	}
	srv := New(Config{Store: st, Blobs: bs, Bus: notify.New(),
		Auth: auth.New(auth.StoreAccounts{Store: st}, auth.Config{}, nil),
		Limits: Limits{LineLength: 8192, LiteralSize: 1 << 20, NestingDepth: 16, CommandsBeforeLogin: 10,
			LoginTimeout: 5 * time.Second, Autologout: 300 * time.Millisecond, IdleKeepalive: time.Minute}})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln, false)
	defer srv.Shutdown(ctx)
	for _, idle := range []bool{false, true} {
		nc, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		nc.SetDeadline(time.Now().Add(10 * time.Second))
		br := bufio.NewReader(nc)
		br.ReadString('\n')
		nc.Write([]byte("a LOGIN al pw\r\n"))
		if l, _ := br.ReadString('\n'); !strings.HasPrefix(l, "a OK") {
			t.Fatalf("login: %q", l)
		}
		if idle {
			nc.Write([]byte("b IDLE\r\n"))
			br.ReadString('\n')
		}
		start := time.Now()
		l, _ := br.ReadString('\n')
		if !strings.HasPrefix(l, "* BYE") || !strings.Contains(l, "utologout") {
			t.Fatalf("idle=%v: got %q", idle, l)
		}
		if d := time.Since(start); d < 250*time.Millisecond {
			t.Fatalf("idle=%v: logged out after %v, before the timer", idle, d)
		}
		nc.Close()
	}
}
