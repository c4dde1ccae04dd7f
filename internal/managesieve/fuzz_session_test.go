package managesieve_test

import (
	"bytes"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"barid/internal/managesieve"
)

// syncBuf is a log sink safe for the server's goroutines.
type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) take() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.b.String()
	s.b.Reset()
	return out
}

// FuzzSession feeds arbitrary client bytes to a live session, in both
// states (the seeds log in first), and checks that the server neither
// panics (the connection boundary would log it) nor stalls: every
// input ends with the server closing or answering within the deadline.
func FuzzSession(f *testing.F) {
	login := "AUTHENTICATE \"PLAIN\" \"" + b64("\x00fuzz\x00pw") + "\"\r\n"
	for _, s := range []string{
		"CAPABILITY\r\nNOOP \"x\"\r\nLOGOUT\r\n",
		login + "PUTSCRIPT \"a\" {5+}\r\nkeep;\r\nSETACTIVE \"a\"\r\nGETSCRIPT \"a\"\r\nLISTSCRIPTS\r\n",
		login + "RENAMESCRIPT \"a\" \"b\"\r\nDELETESCRIPT \"b\"\r\nCHECKSCRIPT \"if\"\r\nUNAUTHENTICATE\r\n",
		"AUTHENTICATE \"LOGIN\"\r\n\"ZnV6eg==\"\r\n\"cHc=\"\r\nHAVESPACE \"x\" 5\r\n",
		"STARTTLS\r\n\x16\x03\x01",
		login + "PUTSCRIPT \"big\" {99999+}\r\nxx",
	} {
		f.Add([]byte(s))
	}
	logs := &syncBuf{}
	fx := startServer(f, func(c *managesieve.Config) {
		c.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelError}))
	})
	fx.addUser("fuzz", "pw")
	f.Fuzz(func(t *testing.T, in []byte) {
		nc, err := net.Dial("tcp", fx.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		nc.SetDeadline(time.Now().Add(5 * time.Second))
		go func() {
			nc.Write(in)
			nc.(*net.TCPConn).CloseWrite()
		}()
		if _, err := io.Copy(io.Discard, nc); err != nil && !strings.Contains(err.Error(), "reset") {
			t.Fatalf("session did not end: %v", err)
		}
		if l := logs.take(); strings.Contains(l, "panic") {
			t.Fatalf("server panicked on %q:\n%s", in, l)
		}
	})
}
