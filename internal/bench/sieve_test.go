package bench

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"barid/internal/config"
	"barid/internal/store"
	"barid/internal/testkit"
)

// sieveRun runs "barid bench sieve" with args and returns its exit
// status and the record it wrote.
func sieveRun(t *testing.T, args ...string) (int, Record) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "r.jsonl")
	var out, errb bytes.Buffer
	st := Main(context.Background(), append([]string{"sieve", "-json", path}, args...), &out, &errb)
	t.Logf("exit %d\n%s%s", st, out.String(), errb.String())
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := ReadRecords(f)
	if err != nil || len(recs) != 1 {
		t.Fatalf("records: %v, %d", err, len(recs))
	}
	return st, recs[0]
}

// The sieve scenario against a real barid: users with the 50-rule script
// get their messages filed and flagged as the script says, users without
// it get everything in INBOX, and the IMAP check catches a run whose
// expectation does not match what the server did.
func TestSieveScenarioAgainstBarid(t *testing.T) {
	s := testkit.Start(t, testkit.WithoutTLSListener(), func(c *config.Config) {
		c.LMTP.Listen = "127.0.0.1:0"
		c.Metrics.Listen = "127.0.0.1:0"
	})
	lmtp := s.App.Addrs()["lmtp"]
	metrics := "http://" + s.App.Addrs()["metrics"] + "/metrics"
	ss := s.Store().(store.SieveScripts)
	for u := 1; u <= 2; u++ {
		s.AddUser(fmt.Sprintf("plain%d@example.org", u), "pw")
		acct := s.AddUser(fmt.Sprintf("rules%d@example.org", u), "pw")
		if err := ss.PutSieveScript(t.Context(), acct.ID, "r", []byte(SieveRules50("bench")), 0); err != nil {
			t.Fatal(err)
		}
		if err := ss.SetActiveSieveScript(t.Context(), acct.ID, "r"); err != nil {
			t.Fatal(err)
		}
	}
	common := []string{"-lmtp", lmtp, "-addr", s.Addr, "-password", "pw", "-users", "2", "-concurrency", "2",
		"-messages", "64", "-duration", "2m", "-size", "3000"}
	run := func(prefix string, script bool) (int, Record) {
		return sieveRun(t, append([]string{"-server", prefix, "-user-fmt", prefix + "%d@example.org",
			"-rcpt-fmt", prefix + "%d@example.org", fmt.Sprintf("-script=%v", script)}, common...)...)
	}

	// With -drain-metrics the run waits for barid's full-text index to
	// take in what it delivered, and charges that CPU to itself.
	st, rec := sieveRun(t, append([]string{"-server", "rules", "-user-fmt", "rules%d@example.org",
		"-rcpt-fmt", "rules%d@example.org", "-script=true", "-drain-metrics", metrics,
		"-server-pid", strconv.Itoa(os.Getpid())}, common...)...)
	if st != 0 || rec.Sieve == nil || rec.Sieve.Check == nil || !rec.Sieve.Check.OK {
		t.Fatalf("rules: exit %d, %+v", st, rec.Sieve)
	}
	if d := rec.Sieve.LMTP.Drain; d == nil || !d.Before.Drained || !d.After.Drained || d.After.Left != 0 ||
		d.After.Backlog < 0 || d.After.Backlog > 64 || d.After.ServerCPU < 0 || d.Gauge != DefaultDrainGauge {
		t.Fatalf("rules: drain %+v", d)
	}
	if lag, err := s.Store().(store.TextIndexer).TextIndexLag(t.Context()); err != nil || lag != 0 {
		t.Fatalf("after the drain the index lags by %d (%v)", lag, err)
	}
	if rec.Sieve.LMTP.DrainUsPerMsg() < 0 {
		t.Fatalf("no drain CPU per delivery in %+v", rec.Sieve.LMTP.Drain)
	}
	if rec.Sieve.LMTP.Delivered != 64 {
		t.Fatalf("delivered %d, want the 64 of -messages", rec.Sieve.LMTP.Delivered)
	}
	got := rec.Sieve.Check.Got
	folders := 0
	for _, b := range sieveBoxes {
		folders += got[b]
	}
	// Of 64 messages, the generator files 21 (seed 1): the check has
	// fileinto and addflag to see, and nothing lost.
	if folders == 0 || got[sieveFlagged] == 0 || got["INBOX"] != got[sieveFlagged] || got["INBOX"]+folders != 64 {
		t.Fatalf("rules: placement %v", got)
	}

	st, rec = run("plain", false)
	if st != 0 || !rec.Sieve.Check.OK || rec.Sieve.Check.Got["INBOX"] != 64 || rec.Sieve.Check.Got[sieveFlagged] != 0 {
		t.Fatalf("plain: exit %d, %+v", st, rec.Sieve.Check)
	}

	// Users without a script, checked as if they had one: the check
	// must fail and say where.
	st, rec = run("plain", true)
	if st != 3 || rec.Sieve.Check.OK || len(rec.Sieve.Check.Mismatches) == 0 ||
		!strings.Contains(rec.Sieve.Check.Mismatches[0], "plain1@example.org") {
		t.Fatalf("plain checked as scripted: exit %d, %+v", st, rec.Sieve.Check)
	}
}

// sieveMessage: the placement each message is built for is the one the
// script's rules give it, and the messages have about the size asked.
func TestSieveMessages(t *testing.T) {
	gen := NewGenerator(1)
	kinds := map[string]int{}
	for n := range 800 {
		m, target := sieveMessage(gen, n, 10240)
		if len(m) < 10240 || len(m) > 10240+1024 {
			t.Fatalf("message %d: %d bytes", n, len(m))
		}
		hdr, _, _ := bytes.Cut(m, []byte("\r\n\r\n"))
		switch {
		case strings.HasPrefix(target, "Topics/t"):
			if !bytes.Contains(hdr, []byte("Subject: topic"+strings.TrimPrefix(target, "Topics/t")+" ")) {
				t.Fatalf("message %d for %s: %s", n, target, hdr)
			}
		case strings.HasPrefix(target, "Lists/l"):
			if !bytes.Contains(hdr, []byte("@list"+strings.TrimPrefix(target, "Lists/l")+".example.org>")) {
				t.Fatalf("message %d for %s: %s", n, target, hdr)
			}
		case target == sieveFlagged:
			if !bytes.Contains(hdr, []byte("Subject: bench ")) {
				t.Fatalf("message %d for %s: %s", n, target, hdr)
			}
		default:
			t.Fatalf("message %d: target %q", n, target)
		}
		kinds[strings.TrimRight(target, "0123456789")]++
	}
	// One in eight filed by topic, one in eight by list, about.
	if kinds["Topics/t"] < 60 || kinds["Lists/l"] < 60 || kinds[sieveFlagged] < 500 {
		t.Fatalf("kinds %v", kinds)
	}
	// The topic subjects are matched by their own rule only.
	for _, tn := range sieveTopics {
		subject := fmt.Sprintf("topic%d news 7", tn)
		for i := 0; i < 50; i += 3 { // the topic rules
			if i != tn && strings.Contains(subject, fmt.Sprintf("topic%d", i)) {
				t.Fatalf("%q is also matched by rule %d", subject, i)
			}
		}
	}
}

func TestDDLine(t *testing.T) {
	for _, tc := range []struct {
		out   string
		bytes string
		secs  string
	}{
		{"256+0 records in\n256+0 records out\n268435456 bytes (268 MB, 256 MiB) copied, 3.2031 s, 83.8 MB/s\n", "268435456", "3.2031"},
		{"1048576 bytes (1.0 MB, 1.0 MiB) copied, 0.0123 s, 85.2 MB/s", "1048576", "0.0123"},
	} {
		m := ddLine.FindStringSubmatch(tc.out)
		if m == nil || m[1] != tc.bytes || m[2] != tc.secs {
			t.Errorf("%q: %q", tc.out, m)
		}
	}
}

func TestDDProbe(t *testing.T) {
	if _, err := exec.LookPath("dd"); err != nil {
		t.Skip("no dd")
	}
	dir := t.TempDir()
	r, err := ddProbe(context.Background(), dir, 2)
	if err != nil {
		t.Fatal(err)
	}
	if r.Bytes != 2<<20 || r.Seconds <= 0 || r.MBPerSec <= 0 || r.Count != 2 {
		t.Fatalf("%+v", r)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Fatalf("dd left %d files", len(ents))
	}
}

// The report shows the sieve table with medians, a failed placement and
// the goal rows, and the dd column of the lmtp table.
func TestReportSieveAndDD(t *testing.T) {
	sv := func(server string, conc int, script bool, rate float64, okCheck bool) Record {
		c := &SieveCheck{OK: okCheck, Expected: map[string]int{"INBOX": 1}, Got: map[string]int{"INBOX": 1}}
		if !okCheck {
			c.Mismatches = []string{"u1 Topics/t0: expected +1, got +0"}
		}
		return Record{Server: server, Scenario: "sieve", Sieve: &SieveResult{Script: script, Users: 8, ServerUsPerMsg: 500,
			LMTP: LMTPResult{Concurrency: conc, Size: 10240, PerSec: rate, Delivered: 1000}, Check: c}}
	}
	drained := func(r Record, cpu, backlog float64, ok bool) Record {
		left := 0.0
		if !ok {
			left = 7
		}
		r.Sieve.LMTP.Drain = &DrainResult{Gauge: DefaultDrainGauge, TimeoutSeconds: 600, Before: DrainWait{Drained: true},
			After: DrainWait{Backlog: backlog, Left: left, Drained: ok, Seconds: 30, ServerCPU: cpu}}
		return r
	}
	// barid's rounds, alternating: without 300, with 380; without 400,
	// with 300; without 500, with 390. Medians 400 and 380: 0.95; the
	// rounds 1.27, 0.75, 0.78.
	recs := []Record{
		sv("dovecot", 1, false, 100, true), drained(sv("barid", 1, false, 300, true), 0.4, 900, true),
		sv("dovecot", 1, true, 80, false), drained(sv("barid", 1, true, 380, true), 0.5, 1000, true),
		drained(sv("barid", 1, false, 400, true), 0.3, 800, true), drained(sv("barid", 1, true, 300, true), 0.6, 1000, false),
		drained(sv("barid", 1, false, 500, true), 0.2, 700, true), drained(sv("barid", 1, true, 390, true), 0.7, 1100, true),
		{Server: "dovecot", Scenario: "lmtp", LMTP: &LMTPResult{Concurrency: 8, Size: 1 << 20, PerSec: 50, MBPerSec: 52,
			DD: &DDResult{MBPerSec: 80}}},
		{Server: "barid", Scenario: "lmtp", LMTP: &LMTPResult{Concurrency: 8, Size: 1 << 20, PerSec: 100, MBPerSec: 104.9,
			DD: &DDResult{MBPerSec: 100}}},
	}
	var b bytes.Buffer
	o := reportOpts{base: "dovecot", cand: "barid", missing: "n/a"}
	o.render(&b, recs, nil)
	out := b.String()
	for _, want := range []string{
		// rate ÷ no script: 380/400; drain CPU 0.3 s for 1000
		// deliveries is 300 µs each (medians over the rounds).
		"| 1 | none | 100.0 | 400.0 | 4.00× | 1 | 1 | 500 | 500 | – | 300 (800 in 30 s) |",
		"| 1 | 50 rules | 80.0 | 380.0 | 4.75× | 0.800 | 0.950 | 500 | 500 | – | 600 (1000 in 30 s) |",
		"WRONG in 1 of 1 (u1 Topics/t0: expected +1, got +0)",
		"| LMTP with a 50-rule Sieve script, 1 clients | throughput less than 10 % below no script (with ÷ without ≥ 0.90, median rates) | " +
			"throughput with ÷ without 0.80 (20 % slower) | throughput with ÷ without 0.95 (5 % slower); per round 1.27 / 0.75 / 0.78 | yes |",
		"- barid, 1 clients: rate with the script ÷ without, round by round: 1.27 / 0.75 / 0.78 (median 0.78; the table divides the median rates).",
		"- **barid, 1 clients, script true, round 2: the backlog did not drain** (before the run: 0 left after 0 s; after it: 7 left after 30 s; -drain-timeout 600 s).",
		"| 8 | 1048576 | 50.0 | 100.0 | 2.00× |",
		"| 52.0 | 104.9 | 80.0 | 100.0 | 65% | 105% |",
		"104.9 MB/s = 105% of dd's 100.0 | yes |",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q\n%s", want, out)
		}
	}
}
