package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"barid/internal/testkit"
)

// The latency scenario against an in-process barid: every client
// library completes every operation, the record carries their figures,
// the report renders them, and each appended message is in the mailbox.
func TestLatencyScenario(t *testing.T) {
	s := testkit.Start(t, testkit.WithoutTLSListener())
	s.AddUser("user1", "pw")
	clients := "go-split,go-onewrite"
	want := 2
	if _, err := exec.LookPath("python3"); err == nil {
		clients = "imaplib," + clients
		want = 3
	}
	results := filepath.Join(t.TempDir(), "r.jsonl")
	var out, errb bytes.Buffer
	st := Main(context.Background(), []string{"latency", "-addr", s.Addr, "-password", "pw", "-rounds", "5", "-logins", "2",
		"-clients", clients, "-server", "barid", "-json", results}, &out, &errb)
	if st != 0 {
		t.Fatalf("exit %d: %s %s", st, out.String(), errb.String())
	}
	b, _ := os.ReadFile(results)
	var rec Record
	if err := json.Unmarshal(bytes.TrimSpace(b), &rec); err != nil || rec.Latency == nil {
		t.Fatalf("record %q: %v", b, err)
	}
	if len(rec.Latency.Clients) != want {
		t.Fatalf("clients %+v, want %d", rec.Latency.Clients, want)
	}
	for _, lc := range rec.Latency.Clients {
		if lc.Error != "" || len(lc.Ops) != 3 {
			t.Errorf("%s: error %q, ops %+v", lc.Client, lc.Error, lc.Ops)
		}
		for _, op := range lc.Ops {
			n := 5
			if op.Name == latLogin {
				n = 2
			}
			if op.Count != n || op.P50Ms <= 0 || op.P99Ms < op.P50Ms {
				t.Errorf("%s %s: %+v", lc.Client, op.Name, op)
			}
		}
	}
	c := s.Dial()
	c.Login("user1", "pw")
	lines := c.ExpectOK("s", "STATUS Latency (MESSAGES)")
	testkit.MustHave(t, lines, `^\* STATUS "?Latency"? \(MESSAGES `+strconv.Itoa(5*want)+`\)`)

	var md bytes.Buffer
	o := reportOpts{base: "dovecot", cand: "barid", missing: "not run"}
	o.render(&md, []Record{rec}, nil)
	for _, row := range []string{"## latency by client library", "| go-split | APPEND | not run |", "| go-onewrite | UID FETCH BODY.PEEK[] | not run |"} {
		if !strings.Contains(md.String(), row) {
			t.Errorf("report lacks %q:\n%s", row, md.String())
		}
	}
}

func TestLiteralAtEnd(t *testing.T) {
	for _, tc := range []struct {
		line string
		n    int
		ok   bool
	}{
		{"* 1 FETCH (UID 5 BODY[] {342}\r\n", 342, true},
		{"* 1 FETCH (UID 5 BODY[] {0}\n", 0, true},
		{"L1 OK done\r\n", 0, false},
		{"* OK {12} in text\r\n", 0, false},
	} {
		n, ok := literalAtEnd(tc.line)
		if n != tc.n || ok != tc.ok {
			t.Errorf("literalAtEnd(%q) = %d, %v; want %d, %v", tc.line, n, ok, tc.n, tc.ok)
		}
	}
}
