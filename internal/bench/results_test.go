package bench

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestSummarize(t *testing.T) {
	var ns []int64
	for i := 100; i >= 1; i-- { // unsorted on purpose
		ns = append(ns, int64(i)*int64(time.Millisecond))
	}
	s := summarize("X", ns, 3, 10*time.Second)
	if s.Count != 100 || s.Errors != 3 || s.OpsPerSec != 10 || s.P50Ms != 50 || s.P99Ms != 99 || s.MaxMs != 100 || s.MeanMs != 50.5 {
		t.Fatalf("summarize = %+v", s)
	}
	if z := summarize("Z", nil, 1, time.Second); z.Count != 0 || z.P99Ms != 0 || z.Errors != 1 {
		t.Fatalf("empty summarize = %+v", z)
	}
}

func TestPctAndMedian(t *testing.T) {
	for _, tc := range []struct {
		n    int
		p    float64
		want int
	}{{1, 50, 0}, {1, 99, 0}, {2, 50, 0}, {10, 50, 4}, {10, 99, 9}, {1000, 99, 989}} {
		if got := pct(tc.n, tc.p); got != tc.want {
			t.Errorf("pct(%d, %v) = %d, want %d", tc.n, tc.p, got, tc.want)
		}
	}
	if median([]float64{3, 1, 2}) != 2 || median([]float64{4, 1, 3, 2}) != 2.5 || median(nil) != 0 {
		t.Fatal("median is wrong")
	}
}

func TestRecordsRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "r.jsonl")
	in := []Record{
		{Server: "dovecot", Scenario: "mix", Mix: &MixResult{Mode: "session", Clients: 10, OpsPerSec: 1000}},
		{Server: "barid", Scenario: "idle", Error: "refused", Idle: &IdleResult{Conns: 5}},
	}
	for _, r := range in {
		if err := AppendRecord(path, r); err != nil {
			t.Fatal(err)
		}
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out, err := ReadRecords(f)
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 2 || out[0].Mix.OpsPerSec != 1000 || out[1].Error != "refused" || out[1].Idle.Conns != 5 {
		t.Fatalf("round trip: %+v", out)
	}
	if _, err := ReadRecords(strings.NewReader("{bad\n")); err == nil || !strings.Contains(err.Error(), "line 1") {
		t.Fatalf("bad line: %v", err)
	}
}

func TestProcMem(t *testing.T) {
	self, err := procMem("/proc", os.Getpid(), false)
	if err != nil {
		t.Fatal(err)
	}
	if self.Procs != 1 || self.RSSKiB <= 0 || self.PSSKiB <= 0 {
		t.Fatalf("self = %+v", self)
	}
	cmd := exec.Command("sleep", "5")
	if err := cmd.Start(); err != nil {
		t.Skip("no sleep binary:", err)
	}
	defer cmd.Process.Kill()
	tree, err := procMem("/proc", os.Getpid(), true)
	if err != nil {
		t.Fatal(err)
	}
	if tree.Procs < 2 || tree.RSSKiB <= self.RSSKiB/2 {
		t.Fatalf("tree = %+v (self %+v)", tree, self)
	}
	if _, err := procMem("/proc", 1<<30, true); err == nil {
		t.Fatal("a missing pid was measured")
	}
}

func TestStatusField(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "status")
	os.WriteFile(p, []byte("Name:\tx\nVmRSS:\t  1234 kB\nVmSwap:\t0 kB\n"), 0o644)
	if v, err := statusField(p, "VmRSS:"); err != nil || v != 1234 {
		t.Fatalf("VmRSS = %d, %v", v, err)
	}
	if _, err := statusField(p, "Pss:"); err == nil {
		t.Fatal("missing field found")
	}
}

func TestReport(t *testing.T) {
	base := []Record{
		{Server: "dovecot", Scenario: "mix", Mix: &MixResult{Mode: "session", Clients: 10, OpsPerSec: 1000, Seconds: 20,
			PerOp: []OpStat{{Name: "FETCH_ENV", OpsPerSec: 300, P99Ms: 2}}}},
		{Server: "dovecot", Scenario: "bigbox", Bigbox: &BigboxResult{Messages: 100000, Repeat: 5,
			Ops: []BigboxOp{{Name: "SELECT", Command: "SELECT Big", RunsMs: []float64{10}, MedianMs: 10, FirstMs: 10, Results: 100000},
				{Name: "SORT_FIRST_PAGE", NA: "n/a: server does not advertise SORT"}}}},
		{Server: "dovecot", Scenario: "idle", Idle: &IdleResult{Conns: 1000, Established: 1000,
			Before: &MemSample{Procs: 10, RSSKiB: 1000}, After: &MemSample{Procs: 1010, RSSKiB: 5001000}, RSSPerConnKiB: 5000,
			Deliveries: []IdleRound{{AllMs: 700, Reached: 1000}}}},
	}
	render := func(recs []Record) string {
		var b bytes.Buffer
		o := reportOpts{base: "dovecot", cand: "barid", missing: "pending (server not landed yet)"}
		o.render(&b, recs, [][2]string{{"Dovecot", "2.3"}})
		return b.String()
	}
	out := render(base)
	for _, want := range []string{"pending (server not landed yet)", "| session | 10 | 1000 |", "**Dovecot**: 2.3",
		"n/a: server does not advertise SORT", "5000.0"} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	cand := append(base,
		Record{Server: "barid", Scenario: "mix", Mix: &MixResult{Mode: "session", Clients: 10, OpsPerSec: 2000, Seconds: 20,
			PerOp: []OpStat{{Name: "FETCH_ENV", OpsPerSec: 600, P99Ms: 1}}}},
		Record{Server: "barid", Scenario: "bigbox", Bigbox: &BigboxResult{Messages: 100000, Repeat: 5,
			Ops: []BigboxOp{{Name: "SELECT", Command: "SELECT Big", RunsMs: []float64{4}, MedianMs: 4, FirstMs: 4, Results: 100000}}}},
		Record{Server: "barid", Scenario: "idle", Error: "connection refused", Idle: &IdleResult{Conns: 1000}})
	out = render(cand)
	for _, want := range []string{"| session | 10 | 1000 | 2000 | 2.00× |", "0.40×", "yes (worst: SELECT, barid/dovecot time 0.40×; target ≤ 0.50×)",
		"barid idle: connection refused", "failed"} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q\n%s", want, out)
		}
	}
}

func TestParseRangeAndWeights(t *testing.T) {
	if lo, hi, err := parseRange("1-50"); lo != 1 || hi != 50 || err != nil {
		t.Fatal(lo, hi, err)
	}
	if lo, hi, err := parseRange("7"); lo != 7 || hi != 7 || err != nil {
		t.Fatal(lo, hi, err)
	}
	for _, bad := range []string{"", "x", "5-1", "1-"} {
		if _, _, err := parseRange(bad); err == nil {
			t.Errorf("parseRange(%q) succeeded", bad)
		}
	}
	w, err := parseWeights(defaultWeights)
	if err != nil || w[opFetchEnv] != 30 || w[opLogin] != 0 {
		t.Fatal(w, err)
	}
	for _, bad := range []string{"LOGIN=5", "FOO=1", "FETCH_ENV", "FETCH_ENV=-1", "FETCH_ENV=0"} {
		if _, err := parseWeights(bad); err == nil {
			t.Errorf("parseWeights(%q) succeeded", bad)
		}
	}
}

func TestMainUsage(t *testing.T) {
	var out, errb bytes.Buffer
	if code := Main(t.Context(), nil, &out, &errb); code != 2 {
		t.Fatalf("no args: %d", code)
	}
	if code := Main(t.Context(), []string{"nope"}, &out, &errb); code != 2 || !strings.Contains(errb.String(), "unknown scenario") {
		t.Fatalf("unknown: %d %s", code, errb.String())
	}
	if code := Main(t.Context(), []string{"mix", "-mode", "bogus"}, &out, &errb); code != 2 {
		t.Fatalf("bad mode: %d", code)
	}
	if code := Main(t.Context(), []string{"help"}, &out, &errb); code != 0 {
		t.Fatalf("help: %d", code)
	}
}
