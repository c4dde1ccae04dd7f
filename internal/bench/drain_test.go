package bench

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestParseGauge(t *testing.T) {
	page := `# HELP barid_fts_pending_contents x
# TYPE barid_fts_pending_contents gauge
barid_fts_pending_contents_total 9
barid_fts_pending_contents{shard="a"} 8
barid_fts_pending_contents 42
other 1
`
	if v, err := parseGauge(strings.NewReader(page), "barid_fts_pending_contents"); err != nil || v != 42 {
		t.Fatalf("parseGauge = %v, %v; want 42", v, err)
	}
	if v, err := parseGauge(strings.NewReader("g 7 1700000000000\n"), "g"); err != nil || v != 7 {
		t.Fatalf("with a timestamp: %v, %v; want 7", v, err)
	}
	for page, want := range map[string]string{
		"g NaN\n":  "NaN",
		"h 1\n":    "not exported",
		"g many\n": "invalid syntax",
	} {
		if _, err := parseGauge(strings.NewReader(page), "g"); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("parseGauge(%q): %v, want an error with %q", page, err, want)
		}
	}
}

// gaugeServer serves the gauge g with the values of vals in turn, then
// the last one for ever.
func gaugeServer(t *testing.T, vals ...string) string {
	var n atomic.Int32
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i := min(int(n.Add(1))-1, len(vals)-1)
		fmt.Fprintf(w, "# TYPE g gauge\ng %s\n", vals[i])
	}))
	t.Cleanup(hs.Close)
	return hs.URL + "/metrics"
}

// A drain wait polls until the gauge reads 0 and records the backlog it
// began with and the server CPU meanwhile; one that times out says how
// much was left; one whose gauge cannot be read says why.
func TestDrainWait(t *testing.T) {
	ctx := context.Background()
	srv := &serverProc{pid: os.Getpid()}
	d := drainer{url: gaugeServer(t, "3", "2", "0"), gauge: "g", timeout: time.Minute}
	w := d.wait(ctx, srv)
	if !w.Drained || w.Backlog != 3 || w.Left != 0 || w.Error != "" || w.ServerCPU < 0 {
		t.Fatalf("wait = %+v, want drained from 3 with a CPU figure", w)
	}
	if w.Seconds < 2*drainPoll.Seconds() {
		t.Fatalf("drained in %.3f s: the two non-zero reads must each be followed by a poll interval", w.Seconds)
	}

	d = drainer{url: gaugeServer(t, "5"), gauge: "g", timeout: 600 * time.Millisecond}
	w = d.wait(ctx, srv)
	if w.Drained || w.Left != 5 || w.Seconds < 0.6 {
		t.Fatalf("stuck gauge: %+v, want not drained, 5 left, after the timeout", w)
	}
	var msg strings.Builder
	d.report(&msg, "sieve", "after", w)
	if !strings.Contains(msg.String(), "still 5 after 600ms (-drain-timeout)") {
		t.Fatalf("report of a timed-out wait: %q", msg.String())
	}

	d = drainer{url: gaugeServer(t, "NaN"), gauge: "g", timeout: time.Minute}
	if w = d.wait(ctx, srv); w.Drained || !strings.Contains(w.Error, "NaN") {
		t.Fatalf("unreadable gauge: %+v", w)
	}
}

// FuzzParseGauge: any page parses without a panic; a page whose first
// line is the gauge with a finite number gives that number.
func FuzzParseGauge(f *testing.F) {
	f.Add("# TYPE g gauge\ng 42\n", 42.5)
	f.Add("g{a=\"b\"} 1\ng 2 1700000000000\n", 0.0)
	f.Add("g NaN\n", -1.0)
	f.Add("g\n", 3.0)
	f.Fuzz(func(t *testing.T, page string, v float64) {
		parseGauge(strings.NewReader(page), "g") //nolint:errcheck // only that it returns
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return
		}
		got, err := parseGauge(strings.NewReader("g "+strconv.FormatFloat(v, 'g', -1, 64)+"\n"+page), "g")
		if err != nil || got != v {
			t.Fatalf("g %v: got %v, %v", v, got, err)
		}
	})
}
