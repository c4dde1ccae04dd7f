package pop3_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"barid/internal/testkit"
)

// panicDetector counts log records about panics: the connection
// boundary recovers them (STYLE.md §4), so the fuzz targets look in the
// log.
type panicDetector struct{ n *atomic.Int64 }

func (p panicDetector) Enabled(context.Context, slog.Level) bool { return true }
func (p panicDetector) Handle(_ context.Context, r slog.Record) error {
	if strings.Contains(r.Message, "panic") {
		p.n.Add(1)
	}
	return nil
}
func (p panicDetector) WithAttrs([]slog.Attr) slog.Handler { return p }
func (p panicDetector) WithGroup(string) slog.Handler      { return p }

var sessionSeeds = []string{
	"CAPA\r\n",
	"USER fuzz\r\nPASS fuzz\r\n",
	"AUTH PLAIN AGZ1enoAZnV6eg==\r\n",
	"AUTH SCRAM-SHA-256\r\n*\r\n",
	"AUTH LOGIN\r\nZnV6eg==\r\n%%%\r\n",
	"AUTH\r\n",
	"STAT\r\nLIST\r\nUIDL\r\nLIST 1\r\nUIDL 2\r\n",
	"RETR 1\r\nTOP 1 0\r\nTOP 2 99999999999\r\n",
	"DELE 1\r\nDELE 1\r\nRSET\r\nDELE 2\r\n",
	"RETR 0\r\nRETR -1\r\nRETR 4294967297\r\nTOP 1\r\n",
	"NOOP\r\nSTLS\r\n",
	"\x16\x03\x01\x00",
	"GET / HTTP/1.1\r\n",
	"\r\n\r\n \r\nSTATS\r\n",
}

// fuzzSession feeds arbitrary bytes to a POP3 session in the given
// state, then QUIT: no panic, and the server still greets a new client.
func fuzzSession(f *testing.F, login bool) {
	for _, s := range sessionSeeds {
		f.Add([]byte(s))
	}
	var panics atomic.Int64
	s := testkit.StartLog(f, f.TempDir(), panicDetector{&panics}, testkit.WithPOP3())
	s.AddUser("fuzz", "fuzz")
	c := s.Dial()
	c.Login("fuzz", "fuzz")
	for _, subj := range []string{"one", "two", "three"} {
		m := testkit.Message(subj)
		c.Send("a APPEND INBOX {" + strconv.Itoa(len(m)) + "+}\r\n" + m + "\r\n")
		c.Until("a")
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		nc, err := net.DialTimeout("tcp", s.POP3Addr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		nc.SetDeadline(time.Now().Add(10 * time.Second))
		var in strings.Builder
		if login {
			in.WriteString("USER fuzz\r\nPASS fuzz\r\n")
		}
		in.Write(data)
		in.WriteString("\r\nQUIT\r\n")
		go func() {
			io.WriteString(nc, in.String())
			nc.(*net.TCPConn).CloseWrite()
		}()
		io.Copy(io.Discard, nc)
		if n := panics.Load(); n > 0 {
			t.Fatalf("server panicked %d times on input %q", n, data)
		}
		c, err := net.DialTimeout("tcp", s.POP3Addr, 5*time.Second)
		if err != nil {
			t.Fatalf("server stopped accepting: %v", err)
		}
		c.SetDeadline(time.Now().Add(10 * time.Second))
		buf := make([]byte, 4)
		if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "+OK " {
			t.Fatalf("no greeting after input %q: %v %q", data, err, buf)
		}
		c.Close()
	})
}

// Fuzz targets for each POP3 state (STYLE.md §11).
func FuzzSessionAuthorization(f *testing.F) { fuzzSession(f, false) }
func FuzzSessionTransaction(f *testing.F)   { fuzzSession(f, true) }
