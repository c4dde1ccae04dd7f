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
)

// Every scenario of the load tool (barid bench, internal/bench) runs against a
// live server at a tiny scale and records a result without errors: the
// instrument that docs/benchmarks.md is measured with is itself tested.
// Speeds are not asserted (docs/benchmarks.md records them).
func TestBenchScenariosSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("runs every load-tool scenario")
	}
	s := startServer(t, func(c *config.Config) { c.LMTP.Listen = "127.0.0.1:0" })
	for i := 1; i <= 3; i++ {
		s.addUser("user"+strconv.Itoa(i), "bench-pass")
	}
	lmtp := s.Addrs()["lmtp"]
	if lmtp == "" {
		t.Fatal("no LMTP listener")
	}
	results := filepath.Join(t.TempDir(), "results.jsonl")
	imap := []string{"-addr", s.addr, "-password", "bench-pass", "-server", "barid", "-json", results, "-progress=false"}
	runs := []struct {
		name string
		args []string
	}{
		{"populate", append([]string{"populate", "-users", "1-3", "-mailbox", "INBOX", "-count", "40", "-seed", "2"}, imap...)},
		{"populate", append([]string{"populate", "-users", "1", "-mailbox", "Big", "-count", "300", "-seed", "1"}, imap...)},
		{"bigbox", append([]string{"bigbox", "-user", "user1", "-mailbox", "Big", "-repeat", "2",
			"-qresync-changes", "60", "-qresync-expunges", "10"}, imap...)},
		{"mix", append([]string{"mix", "-mode", "session", "-clients", "3", "-users", "3", "-duration", "2s"}, imap...)},
		{"mix", append([]string{"mix", "-mode", "cycle", "-clients", "3", "-users", "3", "-duration", "2s"}, imap...)},
		{"idle", append([]string{"idle", "-conns", "30", "-user", "user2", "-mailbox", "INBOX", "-deliver", "lmtp",
			"-lmtp", lmtp, "-rcpt", "user2@localhost", "-rounds", "2", "-wait", "20s", "-settle", "100ms"}, imap...)},
		{"lmtp", []string{"lmtp", "-server", "barid", "-json", results, "-lmtp", lmtp, "-concurrency", "2", "-size", "4096",
			"-duration", "1s", "-users", "3", "-rcpt-fmt", "user%d@localhost"}},
	}
	for _, r := range runs {
		var out, errb bytes.Buffer
		if code := bench.Main(context.Background(), r.args, &out, &errb); code != 0 {
			t.Fatalf("barid bench %v: exit %d\n%s%s", r.args, code, out.String(), errb.String())
		}
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
	for i, rec := range recs {
		if rec.Scenario != runs[i].name || rec.Error != "" {
			t.Errorf("record %d: scenario %q, error %q", i, rec.Scenario, rec.Error)
		}
		switch {
		case rec.Populate != nil:
			if rec.Populate.Errors != 0 || rec.Populate.Messages == 0 {
				t.Errorf("populate: %+v", rec.Populate)
			}
		case rec.Bigbox != nil:
			if len(rec.Bigbox.Ops) == 0 {
				t.Errorf("bigbox: no operations timed")
			}
			qr := false
			for _, op := range rec.Bigbox.Ops {
				if op.Error != "" {
					t.Errorf("bigbox %s: %s", op.Name, op.Error)
				}
				if op.Name == "QRESYNC" {
					// 50 flag changes and 10 new fillers as FETCH,
					// the 10 expunged fillers as VANISHED (EARLIER)
					qr = true
					if op.Results != 70 || len(op.RunsMs) != 2 {
						t.Errorf("bigbox QRESYNC: %d results (want 70) in %d runs", op.Results, len(op.RunsMs))
					}
				}
			}
			if !qr {
				t.Errorf("bigbox: no QRESYNC resync timed")
			}
		case rec.Mix != nil:
			if rec.Mix.Errors != 0 || rec.Mix.Ops == 0 {
				t.Errorf("mix %s: %d ops, %d errors %v", rec.Mix.Mode, rec.Mix.Ops, rec.Mix.Errors, rec.Mix.ErrorSamples)
			}
		case rec.Idle != nil:
			if rec.Idle.Established != 30 || len(rec.Idle.Deliveries) != 2 {
				t.Errorf("idle: %d established, %d rounds", rec.Idle.Established, len(rec.Idle.Deliveries))
			}
			for _, d := range rec.Idle.Deliveries {
				if d.Reached != 30 || d.TimedOut {
					t.Errorf("idle delivery reached %d of 30 (timed out %v)", d.Reached, d.TimedOut)
				}
			}
		case rec.LMTP != nil:
			if rec.LMTP.Errors != 0 || rec.LMTP.Delivered == 0 {
				t.Errorf("lmtp: %+v", rec.LMTP)
			}
		default:
			t.Errorf("record %d carries no result", i)
		}
	}
}
