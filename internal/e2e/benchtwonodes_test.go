package e2e

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"barid/internal/bench"
	"barid/internal/config"
	"barid/internal/testkit"
)

// TestBenchTwoNodes: the load tool spreads its connections over two
// nodes on one PostgreSQL database and one S3 bucket (-addr and -lmtp
// with both nodes' addresses), and its fan-out scenario (idle: one
// delivery on node A, idlers on both) reports every idler reached, split
// by node. Figures are in docs/benchmarks.md, not asserted here.
func TestBenchTwoNodes(t *testing.T) {
	if testing.Short() {
		t.Skip("runs load-tool scenarios on two nodes")
	}
	t.Setenv(testkit.ClusterEnvVar, "2")
	s := startServer(t, func(c *config.Config) { c.LMTP.Listen = "127.0.0.1:0" })
	if len(s.Nodes) != 2 {
		t.Fatalf("%d nodes", len(s.Nodes))
	}
	for i := 1; i <= 2; i++ {
		s.addUser("user"+strconv.Itoa(i), "bench-pass")
	}
	a, b := s.Nodes[0].Addrs(), s.Nodes[1].Addrs()
	imapAddrs, lmtpAddrs := a["imap"]+","+b["imap"], a["lmtp"]+","+b["lmtp"]
	results := filepath.Join(t.TempDir(), "results.jsonl")
	imap := []string{"-addr", imapAddrs, "-password", "bench-pass", "-server", "barid2", "-json", results, "-progress=false"}
	runs := [][]string{
		append([]string{"populate", "-users", "1-2", "-mailbox", "INBOX", "-count", "20", "-seed", "2"}, imap...),
		append([]string{"mix", "-mode", "session", "-clients", "2", "-users", "2", "-duration", "2s"}, imap...),
		append([]string{"idle", "-conns", "20", "-user", "user2", "-mailbox", "INBOX", "-deliver", "lmtp",
			"-lmtp", lmtpAddrs, "-rcpt", "user2@localhost", "-rounds", "2", "-wait", "20s", "-settle", "100ms"}, imap...),
		{"lmtp", "-server", "barid2", "-json", results, "-lmtp", lmtpAddrs, "-concurrency", "2", "-size", "4096",
			"-duration", "1s", "-users", "2", "-rcpt-fmt", "user%d@localhost"},
	}
	for _, args := range runs {
		var out, errb bytes.Buffer
		if code := bench.Main(context.Background(), args, &out, &errb); code != 0 {
			t.Fatalf("barid bench %v: exit %d\n%s%s", args, code, out.String(), errb.String())
		}
		t.Logf("%s", out.String())
	}
	f, err := os.Open(results)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := bench.ReadRecords(f)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != len(runs) {
		t.Fatalf("%d records for %d runs", len(recs), len(runs))
	}
	for _, rec := range recs {
		if rec.Error != "" {
			t.Errorf("%s: %s", rec.Scenario, rec.Error)
		}
		if rec.Idle == nil {
			continue
		}
		for i, d := range rec.Idle.Deliveries {
			if d.Reached != 20 || len(d.ByAddr) != 2 {
				t.Fatalf("delivery %d: reached %d of 20, %d addresses", i+1, d.Reached, len(d.ByAddr))
			}
			for k, ar := range d.ByAddr {
				if want := []string{a["imap"], b["imap"]}[k]; ar.Addr != want || ar.Idlers != 10 || ar.Reached != 10 {
					t.Errorf("delivery %d, node %d: %+v, want 10 of 10 idlers on %s", i+1, k, ar, want)
				}
			}
		}
	}
}
