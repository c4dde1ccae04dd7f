package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"barid/internal/testkit"
)

// The pop3 scenario against an in-process barid: RETR counts and bytes
// are real (every message of each client's INBOX), the memory phase
// holds one session per user, and the record is written.
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
		"-duration", "300ms", "-settle", "10ms", "-server-pid", fmt.Sprint(os.Getpid()), "-server", "barid", "-json", results}, &out, &errb)
	if st != 0 {
		t.Fatalf("exit %d: %s %s", st, out.String(), errb.String())
	}
	if !strings.Contains(out.String(), "RETR in") || !strings.Contains(out.String(), "2 logged-in sessions") {
		t.Errorf("output: %s", out.String())
	}
	b, _ := os.ReadFile(results)
	var rec Record
	if err := json.Unmarshal(bytes.TrimSpace(b), &rec); err != nil || rec.POP3 == nil {
		t.Fatalf("record %q: %v", b, err)
	}
	if rec.POP3.Retrs == 0 || rec.POP3.Errors != 0 || rec.POP3.Sessions != 2 {
		t.Errorf("result %+v", rec.POP3)
	}
	// -clients above -users is refused: one POP3 session per maildrop.
	if st := Main(context.Background(), []string{"pop3", "-addr", s.POP3Addr, "-users", "1", "-clients", "2"}, &out, &errb); st != 2 {
		t.Errorf("-clients > -users: exit %d", st)
	}
}
