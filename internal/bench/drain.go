package bench

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// DefaultDrainGauge is the barid metric the delivery scenarios wait on:
// the contents waiting for the full-text index (docs/operations.md).
const DefaultDrainGauge = "barid_fts_pending_contents"

// drainPoll is how often a drain wait reads the gauge.
const drainPoll = 250 * time.Millisecond

// drainer waits for a server's background backlog to empty, read from a
// gauge on its Prometheus endpoint (-drain-metrics). barid indexes every
// delivery for full-text search in the background, at a fraction of the
// CPU while mail arrives (storage.fts_index_busy_duty) and the rest
// afterwards: a delivery run leaves a backlog whose indexing would
// otherwise land in whatever run comes next. Waiting for it before a run
// keeps the runs apart; timing it after a run charges its CPU to the run
// that delivered the messages.
type drainer struct {
	url     string
	gauge   string
	timeout time.Duration
}

func (d *drainer) register(fs *flag.FlagSet) {
	fs.StringVar(&d.url, "drain-metrics", "", "the server's Prometheus endpoint (http://HOST:PORT/metrics): before the run, "+
		"wait until -drain-gauge reads 0; after it, wait again and charge the server's CPU meanwhile to this run (barid: its full-text indexer's backlog)")
	fs.StringVar(&d.gauge, "drain-gauge", DefaultDrainGauge, "the gauge -drain-metrics waits on")
	fs.DurationVar(&d.timeout, "drain-timeout", 10*time.Minute, "the longest each drain wait lasts; a wait that ends with a backlog says so in the result")
}

func (d *drainer) enabled() bool { return d.url != "" }

// DrainWait is one wait for the backlog.
type DrainWait struct {
	// Backlog is the gauge when the wait began; Left when it ended (0
	// when Drained).
	Backlog float64 `json:"backlog"`
	Left    float64 `json:"left"`
	Drained bool    `json:"drained"`
	Seconds float64 `json:"seconds"`
	// ServerCPU is the server's CPU time during the wait (-1 without
	// -server-pid).
	ServerCPU float64 `json:"server_cpu_seconds"`
	Error     string  `json:"error,omitempty"`
}

// DrainResult records both waits of a run.
type DrainResult struct {
	// Label says what left the backlog (the drain scenario's -label).
	Label          string  `json:"label,omitempty"`
	Gauge          string  `json:"gauge"`
	TimeoutSeconds float64 `json:"timeout_seconds"`
	// Before is the wait for what earlier runs left; its CPU is not
	// this run's.
	Before DrainWait `json:"before"`
	// After is the wait for this run's own backlog; its ServerCPU is
	// charged to this run.
	After DrainWait `json:"after"`
}

// wait polls the gauge until it reads 0, d.timeout passes or ctx ends.
func (d *drainer) wait(ctx context.Context, srv *serverProc) DrainWait {
	snap := srv.snap()
	start := time.Now()
	w := DrainWait{ServerCPU: -1}
	first := true
	for {
		v, err := readGauge(ctx, d.url, d.gauge)
		if err != nil {
			w.Error = err.Error()
			break
		}
		if first {
			w.Backlog, first = v, false
		}
		w.Left = v
		if v == 0 {
			w.Drained = true
			break
		}
		if time.Since(start) >= d.timeout {
			break
		}
		select {
		case <-ctx.Done():
			w.Error = ctx.Err().Error()
		case <-time.After(drainPoll):
			continue
		}
		break
	}
	w.Seconds = time.Since(start).Seconds()
	if e := envSince(snap); e.ServerCPU >= 0 {
		w.ServerCPU = e.ServerCPU
	}
	return w
}

// report prints a wait that did not end drained, so that it is never
// silent.
func (d *drainer) report(stderr io.Writer, scen, when string, w DrainWait) {
	switch {
	case w.Error != "":
		fmt.Fprintf(stderr, "bench %s: drain %s the run: %s\n", scen, when, w.Error)
	case !w.Drained:
		fmt.Fprintf(stderr, "bench %s: drain %s the run: %s still %g after %v (-drain-timeout); measuring anyway\n",
			scen, when, d.gauge, w.Left, d.timeout)
	}
}

// runDrain is the drain scenario: one wait for the backlog, between
// scenarios (after populate, before bigbox and mix), recorded with the
// server CPU it took.
func runDrain(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var (
		d                   drainer
		srv                 serverProc
		server, json, label string
	)
	fs := newFlags("drain", stderr)
	fs.StringVar(&server, "server", "server", "label for the results (e.g. barid)")
	fs.StringVar(&json, "json", "", "append the result as one JSON line to this file")
	fs.StringVar(&label, "label", "", "what left the backlog (e.g. \"populate\"), for the report")
	srv.register(fs)
	d.register(fs)
	if st := parseFlags(fs, args); st >= 0 {
		return st
	}
	if !d.enabled() {
		fmt.Fprintln(stderr, "bench drain: -drain-metrics is required")
		return 2
	}
	snap := srv.snap()
	w := d.wait(ctx, &srv)
	d.report(stderr, "drain", "after "+label+", before", w)
	rec := Record{Time: time.Now().UTC(), Server: server, Scenario: "drain", Env: envSince(snap),
		Drain: &DrainResult{Label: label, Gauge: d.gauge, TimeoutSeconds: d.timeout.Seconds(), After: w}}
	if w.Error != "" {
		rec.Error = w.Error
	}
	fmt.Fprintf(stdout, "%s drain after %s: %s %g → %g in %.1f s (server CPU %.1f s)\n", server, label, d.gauge, w.Backlog, w.Left, w.Seconds, w.ServerCPU)
	errs := 0
	if !w.Drained {
		errs = 1
	}
	return finish(stderr, json, rec, errs)
}

// readGauge scrapes url and returns the value of the unlabelled series
// name (Prometheus text format: "name value" or "name value timestamp").
func readGauge(ctx context.Context, url, name string) (float64, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return parseGauge(resp.Body, name)
}

var errNoGauge = errors.New("gauge not exported")

func parseGauge(r io.Reader, name string) (float64, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 2 || f[0] != name {
			continue
		}
		v, err := strconv.ParseFloat(f[1], 64)
		if err != nil {
			return 0, fmt.Errorf("%s: %w", name, err)
		}
		if math.IsNaN(v) {
			return 0, fmt.Errorf("%s is NaN (the server could not read it)", name)
		}
		return v, nil
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, fmt.Errorf("%s: %w", name, errNoGauge)
}
