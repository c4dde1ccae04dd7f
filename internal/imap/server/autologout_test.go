package server

import (
	"bufio"
	"net"
	"strings"
	"testing"
	"time"
)

// The autologout timer (RFC 9051 §5.4) ends a logged-in session that
// sends nothing, with a BYE naming the limit. Production refuses values
// under 30 minutes (config validation); the server itself takes any.
func TestAutologout(t *testing.T) {
	f := newStoreFixture(t, "al")
	addr := f.serve(t, Config{Limits: Limits{LineLength: 8192, LiteralSize: 1 << 20, NestingDepth: 16, CommandsBeforeLogin: 10,
		LoginTimeout: 5 * time.Second, Autologout: 300 * time.Millisecond, IdleKeepalive: time.Minute}}, nil)
	for _, idle := range []bool{false, true} {
		nc, err := net.Dial("tcp", addr)
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
