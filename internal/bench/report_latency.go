package bench

import (
	"fmt"
	"math"
	"strings"
)

// latency renders the latency scenario: per client library and
// operation, the median and p99 of each server side by side.
func (o *reportOpts) latency(m md, recs []Record) {
	B, C := o.base, o.cand
	b, c := pick(recs, B, "latency", nil), pick(recs, C, "latency", nil)
	if b == nil && c == nil {
		return
	}
	m.p("## latency by client library")
	m.p("")
	m.p("One operation at a time, as a user's client sends it: LOGIN (each on a new connection), APPEND of a small " +
		"message, and UID FETCH n BODY.PEEK[] of it, through unmodified client libraries. A client that leaves Nagle's " +
		"algorithm on and splits a command over two writes waits for the server's delayed ACK (40 ms on Linux) unless " +
		"the server acknowledges at once (internal/quickack).")
	m.p("")
	var order []string
	notes := map[string]string{}
	for _, r := range []*Record{b, c} {
		if !ok(r) || r.Latency == nil {
			continue
		}
		for _, lc := range r.Latency.Clients {
			if _, seen := notes[lc.Client]; !seen {
				order = append(order, lc.Client)
				notes[lc.Client] = lc.Note
			}
		}
	}
	for _, cl := range order {
		m.p("- **%s**: %s", cl, notes[cl])
	}
	m.p("")
	m.header("client", "operation", B+" p50 ms", C+" p50 ms", C+"/"+B+" p50", B+" p99 ms", C+" p99 ms")
	for _, cl := range order {
		for _, op := range latencyOps {
			bo, co := latencyOpOf(b, cl, op), latencyOpOf(c, cl, op)
			if bo == nil && co == nil {
				continue
			}
			m.row(cl, op, o.latCell(b, bo, func(x *LatencyOp) float64 { return x.P50Ms }),
				o.latCell(c, co, func(x *LatencyOp) float64 { return x.P50Ms }),
				ratio(p50(co), p50(bo), bo != nil && co != nil && bo.P50Ms > 0),
				o.latCell(b, bo, func(x *LatencyOp) float64 { return x.P99Ms }),
				o.latCell(c, co, func(x *LatencyOp) float64 { return x.P99Ms }))
		}
	}
	m.p("")
	o.latencyChart(m, b, c, order)
	for _, r := range []*Record{b, c} {
		if r == nil || r.Latency == nil {
			continue
		}
		for _, lc := range r.Latency.Clients {
			if lc.Error != "" {
				m.p("- %s, %s: %s", r.Server, lc.Client, lc.Error)
			}
		}
	}
	if ok(b) || ok(c) {
		r := b
		if !ok(r) {
			r = c
		}
		m.p("%d APPENDs and %d UID FETCHes of a %d-octet message, %d LOGINs, per client and server.",
			r.Latency.Rounds, r.Latency.Rounds, r.Latency.Size, r.Latency.Logins)
		m.p("")
	}
}

func p50(x *LatencyOp) float64 {
	if x == nil {
		return 0
	}
	return x.P50Ms
}

func (o *reportOpts) latCell(r *Record, x *LatencyOp, f func(*LatencyOp) float64) string {
	switch {
	case r == nil:
		return o.missing
	case r.Error != "":
		return "failed"
	case x == nil:
		return "n/a"
	}
	return f2(f(x))
}

func latencyOpOf(r *Record, client, op string) *LatencyOp {
	if !ok(r) || r.Latency == nil {
		return nil
	}
	for i := range r.Latency.Clients {
		lc := &r.Latency.Clients[i]
		if lc.Client != client {
			continue
		}
		for j := range lc.Ops {
			if lc.Ops[j].Name == op {
				return &lc.Ops[j]
			}
		}
	}
	return nil
}

func describeLatency(r Record) string {
	return fmt.Sprintf("latency %d rounds, %d clients", r.Latency.Rounds, len(r.Latency.Clients))
}

// latChartWidth is the longest bar of the latency chart, in characters.
const latChartWidth = 50

// latencyChart draws, per operation, the p50 of every client library
// on both servers as a text bar chart (one scale per operation, so the
// bars of one chart compare; a bar of at least one character shows
// that a figure exists).
func (o *reportOpts) latencyChart(m md, b, c *Record, order []string) {
	type bar struct {
		client, server string
		v              float64
	}
	for _, op := range latencyOps {
		var bars []bar
		top := 0.0
		for _, cl := range order {
			for _, r := range []*Record{b, c} {
				x := latencyOpOf(r, cl, op)
				if x == nil {
					continue
				}
				bars = append(bars, bar{cl, r.Server, x.P50Ms})
				top = max(top, x.P50Ms)
			}
		}
		if len(bars) == 0 || top <= 0 {
			continue
		}
		unit := top / latChartWidth
		m.p("%s p50 by client library, ms (one `#` per %s ms):", op, trimFloat(unit))
		m.p("")
		m.p("```")
		wc, ws, wv := 0, 0, 0
		for _, x := range bars {
			wc, ws, wv = max(wc, len(x.client)), max(ws, len(x.server)), max(wv, len(f2(x.v)))
		}
		for _, x := range bars {
			n := max(1, int(math.Round(x.v/unit)))
			m.p("%-*s  %-*s  %*s  %s", wc, x.client, ws, x.server, wv, f2(x.v), strings.Repeat("#", n))
		}
		m.p("```")
		m.p("")
	}
}

// trimFloat prints a scale with three significant digits (%g drops
// trailing zeros itself).
func trimFloat(v float64) string { return fmt.Sprintf("%.3g", v) }
