package server_test

import (
	"slices"
	"testing"
	"time"

	"barid/internal/config"
)

// BenchmarkMetricsMix measures what the per-command instrumentation
// (timing, a counter, a histogram Observe) costs against the real work
// of commands: two servers, metrics off and on ([metrics] listen), each
// with one logged-in connection on 200 messages, run the same mix of 6
// commands (NOOP, FETCH, UID SEARCH, two STOREs, STATUS) in alternation,
// so that the load of a shared machine hits both alike. It reports the
// median time of one mix on each (off-µs/mix, on-µs/mix) and their
// ratio; docs/operations.md quotes the figures.
func BenchmarkMetricsMix(b *testing.B) {
	type side struct {
		c     *rawConn
		times []time.Duration
	}
	start := func(on bool) *side {
		var opts []serverOpt
		if on {
			opts = append(opts, func(c *config.Config) { c.Metrics.Listen = "127.0.0.1:0" })
		}
		ts := startServer(b, opts...)
		acct := ts.addUser("mix", "pw")
		populateBig(b, ts, acct, 200)
		c := ts.dial()
		c.t = b
		c.login("mix", "pw")
		c.expectOK("s", "SELECT INBOX")
		return &side{c: c}
	}
	mix := func(s *side) {
		t0 := time.Now()
		s.c.expectOK("a", "NOOP")
		s.c.expectOK("b", "FETCH 1:20 (UID FLAGS)")
		s.c.expectOK("c", "UID SEARCH UNSEEN")
		s.c.expectOK("d", "STORE 5 +FLAGS (\\Flagged)")
		s.c.expectOK("e", "STORE 5 -FLAGS (\\Flagged)")
		s.c.expectOK("f", `STATUS "Sent" (MESSAGES UIDNEXT)`)
		s.times = append(s.times, time.Since(t0))
	}
	off, on := start(false), start(true)
	for range 20 { // warm both (flag index, record cache, statements)
		mix(off)
		mix(on)
	}
	off.times, on.times = nil, nil
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if i%2 == 0 {
			mix(off)
			mix(on)
		} else {
			mix(on)
			mix(off)
		}
	}
	b.StopTimer()
	median := func(d []time.Duration) float64 {
		slices.Sort(d)
		return float64(d[len(d)/2]) / 1e3
	}
	mo, mn := median(off.times), median(on.times)
	b.ReportMetric(mo, "off-µs/mix")
	b.ReportMetric(mn, "on-µs/mix")
	b.ReportMetric(mn/mo, "on/off")
}
