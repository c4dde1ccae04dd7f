package metrics

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"barid/internal/auth"
)

// TestNilSafe: with metrics off every handle is nil and every call
// does nothing (the protocol packages never check).
func TestNilSafe(t *testing.T) {
	var m *Metrics
	p := m.Protocol(IMAP, []string{"a"}, []string{"NOOP"})
	if p != nil {
		t.Fatal("Protocol on nil Metrics is not nil")
	}
	p.Command("NOOP").Done(OK, time.Millisecond)
	p.Command("NOOP").Count(OK)
	p.Auth("PLAIN", nil)
	p.Idle(1)
	p.Notify(1)
	var c ConnState
	c.Open(p)
	c.Set(1)
	c.Close()
	m.ObserveCommit(time.Millisecond, true)
	m.Delivery(250, 10)
}

// TestBoundedLabels: names outside the table and mechanisms barid does
// not offer share one series each.
func TestBoundedLabels(t *testing.T) {
	m := New()
	p := m.Protocol(IMAP, []string{"s"}, []string{"NOOP"})
	p.Command("FROB").Done(BAD, time.Millisecond)
	p.Command("X Y").Done(BAD, time.Millisecond)
	if got := testutil.ToFloat64(m.commands.WithLabelValues(IMAP, Unknown, "BAD")); got != 2 {
		t.Errorf("unknown BAD = %v, want 2", got)
	}
	p.Auth("x-made-up", auth.ErrAuthFailed)
	p.Auth("plain", nil)
	p.Auth("PLAIN", errors.New("disk on fire"))
	for _, c := range []struct {
		mech, result string
		want         float64
	}{{"other", "failure", 1}, {"PLAIN", "success", 1}, {"PLAIN", "error", 1}} {
		if got := testutil.ToFloat64(m.authn.WithLabelValues(IMAP, c.mech, c.result)); got != c.want {
			t.Errorf("auth %s %s = %v, want %v", c.mech, c.result, got, c.want)
		}
	}
	// Series of the table exist before use (zero), so rate() works
	// from the first scrape.
	n, err := testutil.GatherAndCount(m.Registry(), "barid_commands_total")
	if err != nil {
		t.Fatal(err)
	}
	if n != 2*int(nResults) {
		t.Errorf("%d command series, want %d (NOOP and unknown, by result)", n, 2*nResults)
	}
}

// TestSMTPResult follows the classification documented on Result.
func TestSMTPResult(t *testing.T) {
	for code, want := range map[int]Result{250: OK, 235: OK, 500: BAD, 501: BAD, 504: BAD, 550: NO, 552: NO, 451: NO, 421: NO} {
		if got := SMTPResult(code); got != want {
			t.Errorf("SMTPResult(%d) = %v, want %v", code, got, want)
		}
	}
}

// TestConnStateRace: a connection moving between states while another
// goroutine closes it leaves every gauge at zero.
func TestConnStateRace(t *testing.T) {
	m := New()
	p := m.Protocol(Submission, []string{"a", "b"}, nil)
	var wg sync.WaitGroup
	for range 200 {
		var c ConnState
		c.Open(p)
		wg.Add(2)
		go func() {
			defer wg.Done()
			for i := range 10 {
				c.Set(i % 2)
			}
		}()
		go func() { defer wg.Done(); c.Close(); c.Close() }()
		wg.Wait()
	}
	for _, s := range []string{"a", "b"} {
		if got := testutil.ToFloat64(m.conns.WithLabelValues(Submission, s)); got != 0 {
			t.Errorf("state %s = %v after every connection closed", s, got)
		}
	}
	if got := testutil.ToFloat64(m.connsTotal.WithLabelValues(Submission)); got != 200 {
		t.Errorf("connections_total = %v, want 200", got)
	}
}

// TestHandler serves the text format.
func TestHandler(t *testing.T) {
	m := New()
	m.Delivery(250, 100)
	m.Delivery(452, 100)
	m.Delivery(550, 100)
	want := `
# HELP barid_delivered_bytes_total Bytes of messages delivered by LMTP, once per recipient.
# TYPE barid_delivered_bytes_total counter
barid_delivered_bytes_total 100
# HELP barid_deliveries_total LMTP deliveries, one per recipient, by result (delivered, deferred: 4xx, rejected: 5xx).
# TYPE barid_deliveries_total counter
barid_deliveries_total{result="deferred"} 1
barid_deliveries_total{result="delivered"} 1
barid_deliveries_total{result="rejected"} 1
`
	if err := testutil.GatherAndCompare(m.Registry(), strings.NewReader(want), "barid_delivered_bytes_total", "barid_deliveries_total"); err != nil {
		t.Fatal(err)
	}
}

// BenchmarkCommandDone is the per-command instrumentation alone: the
// timing, one counter and one histogram Observe.
func BenchmarkCommandDone(b *testing.B) {
	p := New().Protocol(IMAP, []string{"s"}, []string{"NOOP"})
	c := p.Command("NOOP")
	for b.Loop() {
		start := time.Now()
		c.Done(OK, time.Since(start))
	}
}

// BenchmarkCommandDoneNoClock is Done without the clock reads: the
// counter and the histogram alone.
func BenchmarkCommandDoneNoClock(b *testing.B) {
	p := New().Protocol(IMAP, []string{"s"}, []string{"NOOP"})
	c := p.Command("NOOP")
	for b.Loop() {
		c.Done(OK, 150*time.Microsecond)
	}
}
