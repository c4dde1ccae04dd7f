package bench

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func TestSplice(t *testing.T) {
	rep := []byte("# Title\n\nText.\n\n## Section\n\n```\n# not a heading\n```\n")
	demoted := "## Title\n\nText.\n\n### Section\n\n```\n# not a heading\n```\n"
	page := []byte("# Page\n\nintro\n\n" + spliceBegin + "\nold\n" + spliceEnd + "\n\n# History\n\nkept\n")
	got, err := splice(page, rep)
	if err != nil {
		t.Fatal(err)
	}
	want := "# Page\n\nintro\n\n" + spliceBegin + "\n" + demoted + spliceEnd + "\n\n# History\n\nkept\n"
	if string(got) != want {
		t.Fatalf("splice:\n%s\nwant:\n%s", got, want)
	}
	if again, err := splice(got, rep); err != nil || !bytes.Equal(again, got) {
		t.Fatalf("splicing the same report again changed the page (%v)", err)
	}
	if got, err := splice(nil, rep); err != nil || !bytes.Contains(got, []byte(spliceBegin+"\n"+demoted+spliceEnd+"\n")) {
		t.Fatalf("new page: %q, %v", got, err)
	}
	for name, bad := range map[string]string{
		"no markers":            "# Page\n\nhand-written\n",
		"begin only":            spliceBegin + "\n",
		"reversed":              spliceEnd + "\n" + spliceBegin + "\n",
		"twice":                 spliceBegin + "\n" + spliceEnd + "\n" + spliceBegin + "\n" + spliceEnd + "\n",
		"not a line of its own": "x " + spliceBegin + "\n" + spliceEnd + "\n",
	} {
		if _, err := splice([]byte(bad), rep); err == nil {
			t.Errorf("%s: spliced", name)
		}
	}
}

// TestReportRecordedRun renders the records of a real, short
// scripts/bench-vs-dovecot run (testdata/report/results.jsonl) into a
// hand-written page the way the script does, and checks the page: the
// hand-written parts untouched, a section for every scenario the run
// recorded, figures that are those of the records (dd's bandwidth, the
// sieve goal's throughput ratio, the drain), and the latency chart's
// bars drawn to scale.
func TestReportRecordedRun(t *testing.T) {
	dir := t.TempDir()
	results := filepath.Join("testdata", "report", "results.jsonl")
	f, err := os.Open(results)
	if err != nil {
		t.Fatal(err)
	}
	recs, err := ReadRecords(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	before := "# Benchmarks\n\nHand-written introduction.\n\n"
	after := "\n# History\n\n## Session 1\n\nHand-written figures: | a | b |\n"
	page := filepath.Join(dir, "benchmarks.md")
	if err := os.WriteFile(page, []byte(before+spliceBegin+"\nstale\n"+spliceEnd+"\n"+after), 0o644); err != nil {
		t.Fatal(err)
	}
	const note = "Short settings on a loaded machine: not final figures."
	report := func() (int, string) {
		var out, errb bytes.Buffer
		st := Main(context.Background(), []string{"report", "-results", results, "-out", page, "-splice",
			"-note", note, "-command", "scripts/bench-vs-dovecot --quick"}, &out, &errb)
		b, err := os.ReadFile(page)
		if err != nil {
			t.Fatal(err)
		}
		if errb.Len() > 0 {
			t.Logf("stderr: %s", errb.String())
		}
		return st, string(b)
	}
	st, got := report()
	if st != 0 {
		t.Fatalf("report exited %d", st)
	}
	if !strings.HasPrefix(got, before+spliceBegin+"\n") || !strings.HasSuffix(got, "\n"+spliceEnd+"\n"+after) {
		t.Fatalf("the hand-written parts changed:\n%s", got)
	}
	gen := got[len(before)+len(spliceBegin)+1 : len(got)-len(spliceEnd)-len(after)-1]
	if strings.Contains(gen, "stale") {
		t.Fatal("the old generated part is still there")
	}
	if !strings.Contains(gen, "**"+note+"**") {
		t.Error("the note is missing")
	}
	// One level down: no title or top-level section between the markers.
	for _, l := range strings.Split(gen, "\n") {
		if strings.HasPrefix(l, "# ") || strings.HasPrefix(l, "## ") && !strings.HasPrefix(l, "## Latest run: barid and dovecot") {
			t.Errorf("heading not demoted: %q", l)
		}
	}

	scen := map[string]bool{}
	for _, r := range recs {
		if r.Error == "" {
			scen[r.Scenario] = true
		}
	}
	heading := map[string]string{"populate": "### populate", "mix": "### mix", "bigbox": "### bigbox", "idle": "### idle",
		"lmtp": "### lmtp", "sieve": "### sieve", "pop3": "### pop3", "latency": "### latency by client library",
		"drain": "drain after populate"}
	for s := range scen {
		h, known := heading[s]
		if !known {
			t.Errorf("the recorded run has scenario %q, which this test does not know", s)
			continue
		}
		if !strings.Contains(gen, h) {
			t.Errorf("scenario %s recorded, but the page lacks %q", s, h)
		}
	}
	for _, s := range []string{"lmtp", "sieve", "latency", "mix", "bigbox", "idle"} {
		if !scen[s] {
			t.Errorf("the recorded run lacks scenario %s: record a fuller one", s)
		}
	}

	// dd's bandwidth, as recorded, in the lmtp table and the goals.
	dd := 0
	for _, r := range recs {
		if r.Scenario == "lmtp" && r.LMTP != nil && r.LMTP.DD != nil {
			dd++
			if !strings.Contains(gen, "| "+f1(r.LMTP.DD.MBPerSec)+" |") {
				t.Errorf("dd's %.1f MB/s is not in the lmtp table", r.LMTP.DD.MBPerSec)
			}
		}
	}
	if dd == 0 {
		t.Error("no lmtp record with a dd figure in the recorded run")
	}

	// The sieve goal: throughput with the script over throughput
	// without, from the median rates of the records.
	for _, conc := range sieveConcs(recs) {
		var with, without []float64
		for _, r := range recs {
			if r.Server == "barid" && r.Sieve != nil && r.Error == "" && r.Sieve.LMTP.Concurrency == conc {
				if r.Sieve.Script {
					with = append(with, r.Sieve.LMTP.PerSec)
				} else {
					without = append(without, r.Sieve.LMTP.PerSec)
				}
			}
		}
		if len(with) == 0 || len(without) == 0 {
			t.Fatalf("no barid sieve runs at %d clients", conc)
		}
		ratio := median(with) / median(without)
		want := fmt.Sprintf("| LMTP with a 50-rule Sieve script, %d clients | throughput less than 10 %% below no script "+
			"(with ÷ without ≥ 0.90, median rates) |", conc)
		line := lineWith(gen, want)
		if line == "" {
			t.Errorf("no goal row %q", want)
			continue
		}
		if !strings.Contains(line, fmt.Sprintf("throughput with ÷ without %.2f (", ratio)) || !strings.HasSuffix(line, "| "+yesNo(ratio >= 0.90)+" |") {
			t.Errorf("goal row %q, want ratio %.2f", line, ratio)
		}
	}
	// Every barid sieve run waited for the index, and the drain CPU is
	// in the table.
	for _, r := range recs {
		if r.Server == "barid" && r.Sieve != nil && r.Sieve.LMTP.Drain == nil {
			t.Errorf("barid sieve run without a drain: %+v", r.Sieve.LMTP)
		}
	}

	// The latency chart: per operation, a bar per client library and
	// server, one '#' per 1/50 of the slowest p50.
	b, c := pick(recs, "dovecot", "latency", nil), pick(recs, "barid", "latency", nil)
	bars := 0
	for _, op := range latencyOps {
		top := 0.0
		var xs []*LatencyOp
		var clients, servers []string
		for _, r := range []*Record{b, c} {
			if !ok(r) {
				continue
			}
			for _, lc := range r.Latency.Clients {
				if x := latencyOpOf(r, lc.Client, op); x != nil {
					top = math.Max(top, x.P50Ms)
					xs = append(xs, x)
					clients, servers = append(clients, lc.Client), append(servers, r.Server)
				}
			}
		}
		if top == 0 {
			continue
		}
		if !strings.Contains(gen, op+" p50 by client library, ms (one `#` per ") {
			t.Errorf("no chart for %s", op)
		}
		for i, x := range xs {
			n := max(1, int(math.Round(x.P50Ms*latChartWidth/top)))
			re := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(clients[i]) + ` +` + regexp.QuoteMeta(servers[i]) + ` +` +
				regexp.QuoteMeta(f2(x.P50Ms)) + `  #{` + fmt.Sprint(n) + `}$`)
			if !re.MatchString(gen) {
				t.Errorf("%s: no bar of %d for %s on %s at %.2f ms", op, n, clients[i], servers[i], x.P50Ms)
			}
			bars++
		}
	}
	if bars == 0 {
		t.Error("the recorded run has no latency figures")
	}

	// Running it again replaces the part, and only the part.
	st, again := report()
	if st != 0 {
		t.Fatalf("second report exited %d", st)
	}
	stamp := regexp.MustCompile(`Generated [0-9-]+ [0-9:]+ UTC`)
	if stamp.ReplaceAllString(again, "") != stamp.ReplaceAllString(got, "") {
		t.Error("a second splice of the same results changed the page")
	}

	// A page the generator cannot place itself in is left alone.
	if err := os.WriteFile(page, []byte("# Hand-written only\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if st, left := report(); st != 1 || left != "# Hand-written only\n" {
		t.Fatalf("a page without markers: exit %d, page %q", st, left)
	}
}

func lineWith(s, prefix string) string {
	for _, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(l, prefix) {
			return l
		}
	}
	return ""
}
