package bench

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// sieveRuns are the sieve records of one server, concurrency and
// script setting (several when the run was repeated in rounds).
func sieveRuns(recs []Record, server string, conc int, script bool) []*Record {
	var out []*Record
	for i := range recs {
		r := &recs[i]
		if r.Server == server && r.Scenario == "sieve" && r.Sieve != nil && r.Error == "" &&
			r.Sieve.LMTP.Concurrency == conc && r.Sieve.Script == script {
			out = append(out, r)
		}
	}
	return out
}

// sieveMedian is the median of f over runs (ok false when there are none).
func sieveMedian(runs []*Record, f func(*SieveResult) float64) (float64, bool) {
	var v []float64
	for _, r := range runs {
		if x := f(r.Sieve); x >= 0 {
			v = append(v, x)
		}
	}
	if len(v) == 0 {
		return 0, false
	}
	return median(v), true
}

func sieveConcs(recs []Record) []int {
	var out []int
	for _, r := range recs {
		if r.Scenario == "sieve" && r.Sieve != nil && !slices.Contains(out, r.Sieve.LMTP.Concurrency) {
			out = append(out, r.Sieve.LMTP.Concurrency)
		}
	}
	slices.Sort(out)
	return out
}

// sieveRatio is issue #17's figure: LMTP throughput with the 50-rule
// script active over throughput without it, each the median rate over
// the rounds (the rates the sieve table shows).
func sieveRatio(recs []Record, server string, conc int) (float64, bool) {
	with, ok1 := sieveMedian(sieveRuns(recs, server, conc, true), func(s *SieveResult) float64 { return s.LMTP.PerSec })
	without, ok2 := sieveMedian(sieveRuns(recs, server, conc, false), func(s *SieveResult) float64 { return s.LMTP.PerSec })
	if !ok1 || !ok2 || without == 0 {
		return 0, false
	}
	return with / without, true
}

// sieveRoundRatios pairs the runs with and without the script round by
// round (the k-th of each, in the order they ran; the script runs
// alternate with and without) and returns each round's rate ratio.
func sieveRoundRatios(recs []Record, server string, conc int) []float64 {
	with, without := sieveRuns(recs, server, conc, true), sieveRuns(recs, server, conc, false)
	var out []float64
	for i := range min(len(with), len(without)) {
		if w := without[i].Sieve.LMTP.PerSec; w > 0 {
			out = append(out, with[i].Sieve.LMTP.PerSec/w)
		}
	}
	return out
}

// sieveGoal is the goal as issue #17 words it: "LMTP throughput with a
// 50-rule script active, next to no script (goal: less than 10%
// slower)": throughput with the script at least 0.90 of throughput
// without.
const sieveGoal = 0.90

func ratiosText(v []float64) string {
	parts := make([]string, len(v))
	for i, x := range v {
		parts[i] = f2(x)
	}
	return strings.Join(parts, " / ")
}

// sieveGoals adds issue #17's goal to the goals table.
func (o *reportOpts) sieveGoals(m md, recs []Record) {
	B, C := o.base, o.cand
	for _, conc := range sieveConcs(recs) {
		cell := func(server string) string {
			r, ok := sieveRatio(recs, server, conc)
			if !ok {
				if server == C {
					return o.missing
				}
				return "–"
			}
			s := fmt.Sprintf("throughput with ÷ without %.2f (%s)", r, slowerText(r))
			if rr := sieveRoundRatios(recs, server, conc); len(rr) > 1 {
				s += fmt.Sprintf("; per round %s", ratiosText(rr))
			}
			return s
		}
		met := "–"
		if r, ok := sieveRatio(recs, C, conc); ok {
			met = yesNo(r >= sieveGoal)
		}
		m.row(fmt.Sprintf("LMTP with a 50-rule Sieve script, %d clients", conc),
			"throughput less than 10 % below no script (with ÷ without ≥ 0.90, median rates)", cell(B), cell(C), met)
	}
}

// sieve renders the sieve scenario: per concurrency, both servers with
// and without the script, medians over the rounds.
func (o *reportOpts) sieve(m md, recs []Record) {
	concs := sieveConcs(recs)
	if len(concs) == 0 {
		return
	}
	B, C := o.base, o.cand
	size, users := 0, 0
	for _, r := range recs {
		if r.Sieve != nil {
			size, users = r.Sieve.LMTP.Size, r.Sieve.Users
		}
	}
	m.p("## sieve")
	m.p("")
	m.p("LMTP delivery of %d-byte messages to %d users that have the same 50-rule Sieve script active "+
		"(`barid bench sieve -print-script`: header, address and size tests, fileinto :create, addflag; "+
		"installed with `barid sieve put/activate` on %s and as ~/.dovecot.sieve under Pigeonhole on %s), "+
		"and to %d users without a script. One message in eight is filed by a topic rule, one in eight by a "+
		"list rule, the rest run through all 50 rules and are flagged $Bench in INBOX. After each run the tool "+
		"counts over IMAP what every user's INBOX, $Bench and folders gained and compares it, user by user, "+
		"with what the script does to the messages that got 250 (*placement*). Server CPU is the server's "+
		"process tree's CPU time per delivery. With several rounds each cell is the median.",
		size, users, C, B, users)
	m.p("")
	m.p("*server CPU µs/msg* is the server's CPU during the run per delivery; where the run waited for the server's "+
		"background backlog afterwards (`-drain-metrics`: barid's full-text indexer, `%s`), *+ drain* adds the CPU of that wait, "+
		"so that each run pays for the indexing of its own messages and none for an earlier run's. Before each run the tool "+
		"also waits for what earlier runs left (not charged).", DefaultDrainGauge)
	m.p("")
	m.header("Clients", "Script", "per s "+B, "per s "+C, C+"/"+B, "rate ÷ no script "+B, "rate ÷ no script "+C,
		"server CPU µs/msg "+B, "server CPU µs/msg "+C, "+ drain µs/msg "+B, "+ drain µs/msg "+C,
		"p99 ms "+B, "p99 ms "+C, "placement "+B, "placement "+C, "errors "+B, "errors "+C, "rounds")
	for _, conc := range concs {
		for _, script := range []bool{false, true} {
			b, c := sieveRuns(recs, B, conc, script), sieveRuns(recs, C, conc, script)
			if len(b) == 0 && len(c) == 0 {
				continue
			}
			med := func(runs []*Record, f func(*SieveResult) float64, format func(float64) string) string {
				if v, ok := sieveMedian(runs, f); ok {
					return format(v)
				}
				if len(runs) == 0 {
					return o.missing
				}
				return "unknown"
			}
			rate := func(s *SieveResult) float64 { return s.LMTP.PerSec }
			ratio := "–"
			bv, ok1 := sieveMedian(b, rate)
			cv, ok2 := sieveMedian(c, rate)
			if ok1 && ok2 && bv > 0 {
				ratio = fmt.Sprintf("%.2f×", cv/bv)
			}
			rel := func(server string) string {
				if !script {
					return "1"
				}
				if r, ok := sieveRatio(recs, server, conc); ok {
					return fmt.Sprintf("%.3f", r)
				}
				return "–"
			}
			place := func(runs []*Record) string {
				if len(runs) == 0 {
					return o.missing
				}
				bad, checked := 0, 0
				var why string
				for _, r := range runs {
					if r.Sieve.Check == nil {
						continue
					}
					checked++
					if !r.Sieve.Check.OK {
						bad++
						if why == "" {
							why = strings.Join(r.Sieve.Check.Mismatches, "; ")
						}
					}
				}
				switch {
				case checked == 0:
					return "not checked"
				case bad > 0:
					return fmt.Sprintf("WRONG in %d of %d (%s)", bad, checked, why)
				}
				return "ok"
			}
			errs := func(runs []*Record) string {
				if len(runs) == 0 {
					return o.missing
				}
				n := 0
				for _, r := range runs {
					n += r.Sieve.LMTP.Errors
				}
				return strconv.Itoa(n)
			}
			name := "none"
			if script {
				name = "50 rules"
			}
			m.row(strconv.Itoa(conc), name,
				med(b, rate, f1), med(c, rate, f1), ratio, rel(B), rel(C),
				med(b, func(s *SieveResult) float64 { return s.ServerUsPerMsg }, f0),
				med(c, func(s *SieveResult) float64 { return s.ServerUsPerMsg }, f0),
				drainCell(b), drainCell(c),
				med(b, func(s *SieveResult) float64 { return s.LMTP.Latency.P99Ms }, f2),
				med(c, func(s *SieveResult) float64 { return s.LMTP.Latency.P99Ms }, f2),
				place(b), place(c), errs(b), errs(c), strconv.Itoa(max(len(b), len(c))))
		}
	}
	m.p("")
	for _, s := range []string{B, C} {
		for _, conc := range concs {
			if rr := sieveRoundRatios(recs, s, conc); len(rr) > 1 {
				m.p("- %s, %d clients: rate with the script ÷ without, round by round: %s (median %.2f; the table divides the median rates).",
					s, conc, ratiosText(rr), median(rr))
			}
		}
	}
	for _, s := range []string{B, C} {
		for _, conc := range concs {
			for _, script := range []bool{false, true} {
				for i, r := range sieveRuns(recs, s, conc, script) {
					if d := r.Sieve.LMTP.Drain; d != nil && (!d.After.Drained || !d.Before.Drained) {
						m.p("- **%s, %d clients, script %v, round %d: the backlog did not drain** (before the run: %g left after %.0f s; "+
							"after it: %g left after %.0f s; -drain-timeout %.0f s%s).", s, conc, script, i+1, d.Before.Left, d.Before.Seconds,
							d.After.Left, d.After.Seconds, d.TimeoutSeconds, drainErr(d))
					}
				}
			}
		}
	}
	// What the script did, from the last checked run of each server.
	for _, s := range []string{B, C} {
		for _, conc := range slices.Backward(concs) {
			runs := sieveRuns(recs, s, conc, true)
			if len(runs) == 0 || runs[len(runs)-1].Sieve.Check == nil {
				continue
			}
			ch := runs[len(runs)-1].Sieve.Check
			m.p("- %s, %d clients, 50 rules, last round: mailboxes gained %s (expected %s).", s, conc, countsText(ch.Got), countsText(ch.Expected))
			break
		}
	}
	m.p("")
}

// drainCell is the median drain CPU per delivery of runs, with the
// median backlog and wait: "420 (27,000 in 31 s)"; "–" where no run
// waited.
func drainCell(runs []*Record) string {
	var us, backlog, secs []float64
	for _, r := range runs {
		if d := r.Sieve.LMTP.DrainUsPerMsg(); d >= 0 {
			us = append(us, d)
			backlog = append(backlog, r.Sieve.LMTP.Drain.After.Backlog)
			secs = append(secs, r.Sieve.LMTP.Drain.After.Seconds)
		}
	}
	if len(us) == 0 {
		return "–"
	}
	return fmt.Sprintf("%.0f (%.0f in %.0f s)", median(us), median(backlog), median(secs))
}

func drainErr(d *DrainResult) string {
	for _, e := range []string{d.Before.Error, d.After.Error} {
		if e != "" {
			return "; " + e
		}
	}
	return ""
}

// slowerText says how much lower (or higher) a rate ratio r is than 1.
func slowerText(r float64) string {
	if r > 1 {
		return fmt.Sprintf("%.0f %% faster", 100*(r-1))
	}
	return fmt.Sprintf("%.0f %% slower", 100*(1-r))
}
