package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"

	"barid/internal/testkit"
)

// The pop3 scenario against an in-process barid: RETR counts and bytes
// are real (every message of each client's INBOX), the memory phase
// holds one session per user, then as many IMAP sessions
// (-imap-addr), and the record is written.
func TestPOP3Scenario(t *testing.T) {
	s := testkit.Start(t, testkit.WithPOP3())
	for u := 1; u <= 2; u++ {
		name := fmt.Sprintf("user%d", u)
		s.AddUser(name, "pw")
		c := s.Dial()
		c.Login(name, "pw")
		for i := 0; i < 3; i++ {
			m := testkit.Message(fmt.Sprintf("m%d-%d", u, i))
			c.Send(fmt.Sprintf("a APPEND INBOX {%d+}\r\n%s\r\n", len(m), m))
			c.Until("a")
		}
	}
	results := filepath.Join(t.TempDir(), "r.jsonl")
	var out, errb bytes.Buffer
	st := Main(context.Background(), []string{"pop3", "-addr", s.POP3Addr, "-password", "pw", "-users", "2", "-clients", "2",
		"-duration", "300ms", "-settle", "10ms", "-server-pid", fmt.Sprint(os.Getpid()), "-server", "barid", "-json", results,
		"-imap-addr", s.Addr}, &out, &errb)
	if st != 0 {
		t.Fatalf("exit %d: %s %s", st, out.String(), errb.String())
	}
	if !strings.Contains(out.String(), "RETR in") || !strings.Contains(out.String(), "2 logged-in sessions") ||
		!strings.Contains(out.String(), "imap memory, measured the same way: 2 sessions") {
		t.Errorf("output: %s", out.String())
	}
	b, _ := os.ReadFile(results)
	var rec Record
	if err := json.Unmarshal(bytes.TrimSpace(b), &rec); err != nil || rec.POP3 == nil {
		t.Fatalf("record %q: %v", b, err)
	}
	// The memory figures are whatever the process did meanwhile (the
	// test's own heap included): only the session counts are checked.
	if rec.POP3.Retrs == 0 || rec.POP3.Errors != 0 || rec.POP3.Sessions != 2 || rec.POP3.IMAPSessions != 2 {
		t.Errorf("result %+v", rec.POP3)
	}
	// -clients above -users is refused: one POP3 session per maildrop.
	if st := Main(context.Background(), []string{"pop3", "-addr", s.POP3Addr, "-users", "1", "-clients", "2"}, &out, &errb); st != 2 {
		t.Errorf("-clients > -users: exit %d", st)
	}
}

// readMulti finds the end of each response wherever the reads split it:
// a stuffed ".." line, a line that is "." plus more, an empty response
// and one whose data ends in a line "..", read one byte at a time
// through bufio's smallest buffer and all at once.
func TestPOP3ReadMulti(t *testing.T) {
	responses := []struct{ wire, data string }{
		{"+OK 5 octets\r\nabc\r\n.\r\n", "abc\r\n"},
		{"+OK\r\n.\r\n", ""},
		{"+OK\r\nab.\r\nabcdefghijklm.\r\n.\r\n", "ab.\r\nabcdefghijklm.\r\n"},
		{"+OK x\r\n..\r\n.a\r\n\r\n...\r\n.\r\n", "..\r\n.a\r\n\r\n...\r\n"},
		{"+OK\r\nSubject: x\r\n\r\nline\r\n..\r\n.\r\n", "Subject: x\r\n\r\nline\r\n..\r\n"},
		{"+OK\r\n" + strings.Repeat("0123456789abcdef\r\n", 50) + ".\r\n", strings.Repeat("0123456789abcdef\r\n", 50)},
	}
	var wire strings.Builder
	for _, r := range responses {
		wire.WriteString(r.wire)
	}
	for _, oneByte := range []bool{true, false} {
		var src io.Reader = strings.NewReader(wire.String())
		if oneByte {
			src = iotest.OneByteReader(src)
		}
		c := &popConn{br: bufio.NewReaderSize(src, 16)}
		for i, r := range responses {
			n, err := c.readMulti()
			if err != nil || n != int64(len(r.data)) {
				t.Errorf("oneByte=%v response %d: %d octets, %v; want %d", oneByte, i, n, err, len(r.data))
			}
		}
		if _, err := c.br.ReadByte(); err != io.EOF {
			t.Errorf("oneByte=%v: bytes left after the last response", oneByte)
		}
		// An -ERR status is an error, and the next response still reads.
		c = &popConn{br: bufio.NewReader(strings.NewReader("-ERR no such message\r\n+OK\r\n.\r\n"))}
		if _, err := c.readMulti(); err == nil || !strings.Contains(err.Error(), "no such message") {
			t.Errorf("-ERR: %v", err)
		}
		if n, err := c.readMulti(); err != nil || n != 0 {
			t.Errorf("after -ERR: %d, %v", n, err)
		}
	}
}
