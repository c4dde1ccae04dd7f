package bench

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
)

type reportOpts struct {
	results string
	out     string
	meta    string
	base    string
	cand    string
	missing string
	charts  string
	command string
	note    string
	splice  bool
}

func runReport(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var o reportOpts
	fs := newFlags("report", stderr)
	fs.StringVar(&o.results, "results", "", "JSON-lines results file")
	fs.StringVar(&o.out, "out", "-", "Markdown output file (- for stdout)")
	fs.StringVar(&o.meta, "meta", "", `file of "key: value" lines (versions, settings) to list`)
	fs.StringVar(&o.base, "base", "dovecot", "server label of the baseline")
	fs.StringVar(&o.cand, "cand", "barid", "server label of the candidate")
	fs.StringVar(&o.missing, "missing", "not available", "cell text where the candidate has no result")
	fs.StringVar(&o.charts, "charts", "", "comma-separated chart files (relative to the output) to embed")
	fs.StringVar(&o.command, "command", "", "the command line that produced the results")
	fs.StringVar(&o.note, "note", "", "a caveat printed in bold at the top (e.g. that the machine was loaded and the settings short)")
	fs.BoolVar(&o.splice, "splice", false, "replace only the part of -out between the lines "+spliceBegin+" and "+spliceEnd+
		", one heading level down, keeping the hand-written rest; a missing -out file is created with the markers")
	if st := parseFlags(fs, args); st >= 0 {
		return st
	}
	if o.results == "" {
		fmt.Fprintln(stderr, "bench report: -results is required")
		return 2
	}
	f, err := os.Open(o.results)
	if err != nil {
		fmt.Fprintf(stderr, "bench report: %v\n", err)
		return 1
	}
	recs, err := ReadRecords(f)
	f.Close()
	if err != nil {
		fmt.Fprintf(stderr, "bench report: %v\n", err)
		return 1
	}
	var meta [][2]string
	if o.meta != "" {
		b, err := os.ReadFile(o.meta)
		if err != nil {
			fmt.Fprintf(stderr, "bench report: %v\n", err)
			return 1
		}
		meta = parseMeta(b)
	}
	var buf bytes.Buffer
	o.render(&buf, recs, meta)
	out := buf.Bytes()
	if o.splice {
		if o.out == "-" {
			fmt.Fprintln(stderr, "bench report: -splice needs an -out file")
			return 2
		}
		old, err := os.ReadFile(o.out)
		if err != nil && !os.IsNotExist(err) {
			fmt.Fprintf(stderr, "bench report: %v\n", err)
			return 1
		}
		if out, err = splice(old, out); err != nil {
			fmt.Fprintf(stderr, "bench report: %s: %v\n", o.out, err)
			return 1
		}
	}
	if o.out == "-" {
		stdout.Write(out)
		return 0
	}
	if err := os.WriteFile(o.out, out, 0o644); err != nil {
		fmt.Fprintf(stderr, "bench report: %v\n", err)
		return 1
	}
	return 0
}

func parseMeta(b []byte) [][2]string {
	var out [][2]string
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok || strings.TrimSpace(k) == "" {
			continue
		}
		out = append(out, [2]string{strings.TrimSpace(k), strings.TrimSpace(v)})
	}
	return out
}

// pick returns the last record of server and scenario that matches.
func pick(recs []Record, server, scenario string, match func(Record) bool) *Record {
	for i := len(recs) - 1; i >= 0; i-- {
		r := recs[i]
		if r.Server == server && r.Scenario == scenario && (match == nil || match(r)) {
			return &recs[i]
		}
	}
	return nil
}

// ratio formats cand/base.
func ratio(cand, base float64, ok bool) string {
	if !ok || base == 0 {
		return "–"
	}
	return fmt.Sprintf("%.2f×", cand/base)
}

func f0(v float64) string { return strconv.FormatFloat(v, 'f', 0, 64) }
func f1(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }
func f2(v float64) string { return strconv.FormatFloat(v, 'f', 2, 64) }

func machine() [][2]string {
	var out [][2]string
	out = append(out, [2]string{"CPUs (nproc)", strconv.Itoa(runtime.NumCPU())})
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				out = append(out, [2]string{"CPU model", strings.TrimSpace(v)})
				break
			}
		}
	}
	if kb, err := statusField("/proc/meminfo", "MemTotal:"); err == nil {
		out = append(out, [2]string{"RAM", fmt.Sprintf("%.1f GiB", float64(kb)/(1<<20))})
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		out = append(out, [2]string{"Kernel", "Linux " + strings.TrimSpace(string(b))})
	}
	out = append(out, [2]string{"Go (bench tool)", runtime.Version()})
	return out
}

type md struct{ w io.Writer }

func (m md) p(format string, args ...any) { fmt.Fprintf(m.w, format+"\n", args...) }

func (m md) row(cells ...string) {
	fmt.Fprintf(m.w, "| %s |\n", strings.Join(cells, " | "))
}

func (m md) header(cells ...string) {
	m.row(cells...)
	seps := make([]string, len(cells))
	for i := range seps {
		seps[i] = "---"
		if i > 0 {
			seps[i] = "---:"
		}
	}
	m.row(seps...)
}

func (o *reportOpts) render(w io.Writer, recs []Record, meta [][2]string) {
	m := md{w}
	B, C := o.base, o.cand
	if o.splice {
		m.p("# Latest run: %s and %s", C, B) // under the page's own title
	} else {
		m.p("# Benchmarks: %s and %s", C, B)
	}
	m.p("")
	m.p("Generated %s by `scripts/bench-vs-dovecot` with the `barid bench` load tool (internal/bench)%s.",
		time.Now().UTC().Format("2006-01-02 15:04 MST"), recordSpan(recs))
	if o.command != "" {
		m.p("Reproduce with:")
		m.p("")
		m.p("```")
		m.p("%s", o.command)
		m.p("```")
	}
	m.p("")
	m.p("Ratios are %s/%s. For throughput a ratio above 1 favours %s; for times and memory a ratio below 1 favours %s. "+
		"Where %s has no figure the cell says so; no figure here is estimated or copied. "+
		"The load tool runs on the same machine as the servers; the last section shows, per run, how the CPU was "+
		"shared between server, load tool and any other process.", C, B, C, C, C)
	m.p("")
	if o.note != "" {
		m.p("**%s**", o.note)
		m.p("")
	}

	if share, n := otherShare(recs); n > 0 && share > 0.15 {
		m.p("**Warning: other processes took %.0f%% of the machine's CPU on average during these runs** (see the last "+
			"section). The figures are pessimistic and noisy; rerun on a quiet machine before quoting them.", 100*share)
		m.p("")
	}
	m.p("## Machine")
	m.p("")
	for _, kv := range machine() {
		m.p("- %s: %s", kv[0], kv[1])
	}
	m.p("")
	if len(meta) > 0 {
		m.p("## Versions and settings")
		m.p("")
		for _, kv := range meta {
			m.p("- **%s**: %s", kv[0], kv[1])
		}
		m.p("")
	}

	o.goals(m, recs)
	o.populate(m, recs)
	o.mix(m, recs)
	o.bigbox(m, recs)
	o.idle(m, recs)
	o.lmtp(m, recs)
	o.sieve(m, recs)
	o.pop3(m, recs)
	o.latency(m, recs)
	o.noise(m, recs)

	if o.charts != "" {
		m.p("## Charts")
		m.p("")
		for _, c := range strings.Split(o.charts, ",") {
			if c = strings.TrimSpace(c); c != "" {
				m.p("![%s](%s)", strings.TrimSuffix(c, ".png"), c)
				m.p("")
			}
		}
	}

	var failed []string
	for _, r := range recs {
		if r.Error != "" {
			failed = append(failed, fmt.Sprintf("- %s %s: %s", r.Server, r.Scenario, r.Error))
		}
	}
	if len(failed) > 0 {
		m.p("## Runs that failed")
		m.p("")
		for _, f := range failed {
			m.p("%s", f)
		}
		m.p("")
	}
}

func (o *reportOpts) cell(r *Record, f func(*Record) string) string {
	if r == nil {
		return o.missing
	}
	if r.Error != "" {
		return "failed"
	}
	return f(r)
}

func (o *reportOpts) goals(m md, recs []Record) {
	B, C := o.base, o.cand
	m.p("## Goals")
	m.p("")
	m.p("A shortfall is a finding, recorded as measured.")
	m.p("")
	m.header("Goal", "Target", B, C, "Met")
	for _, mode := range []string{"session", "cycle"} {
		for _, n := range []int{10, 50} {
			match := func(r Record) bool { return r.Mix != nil && r.Mix.Mode == mode && r.Mix.Clients == n }
			b, c := pick(recs, B, "mix", match), pick(recs, C, "mix", match)
			if b == nil && c == nil {
				continue
			}
			met := "–"
			if ok(b) && ok(c) && b.Mix.OpsPerSec > 0 {
				met = yesNo(c.Mix.OpsPerSec/b.Mix.OpsPerSec >= 1.5 && c.Mix.Errors == 0)
			}
			m.row(fmt.Sprintf("mix (%s) throughput, %d clients", mode, n), fmt.Sprintf("≥ 1.5× %s, 0 errors", B),
				o.cell(b, func(r *Record) string {
					return f0(r.Mix.OpsPerSec) + " ops/s, " + strconv.Itoa(r.Mix.Errors) + " errors"
				}),
				o.cell(c, func(r *Record) string {
					return f0(r.Mix.OpsPerSec) + " ops/s, " + strconv.Itoa(r.Mix.Errors) + " errors"
				}),
				met)
		}
	}
	b, c := pick(recs, B, "bigbox", nil), pick(recs, C, "bigbox", nil)
	if b != nil || c != nil {
		met := "–"
		worst := ""
		if ok(b) && ok(c) {
			all := true
			maxRatio := -1.0
			for _, op := range c.Bigbox.Ops {
				bo := findOp(b.Bigbox, op.Name)
				if bo == nil || op.MedianMs == 0 || bo.MedianMs == 0 {
					continue
				}
				r := op.MedianMs / bo.MedianMs
				if r > maxRatio {
					maxRatio, worst = r, fmt.Sprintf("worst: %s, %s/%s time %.2f×; target ≤ 0.50×", op.Name, C, B, r)
				}
				if r > 0.5 {
					all = false
				}
			}
			met = yesNo(all) + " (" + worst + ")"
		}
		msgs := func(r *Record) string { return strconv.Itoa(r.Bigbox.Messages) + " messages" }
		m.row("bigbox operations", fmt.Sprintf("each ≥ 2× faster than %s", B), o.cell(b, msgs), o.cell(c, msgs), met)
	}
	bigIdle := func(server string) *Record {
		var best *Record
		for i := range recs {
			r := &recs[i]
			if r.Server == server && r.Scenario == "idle" && r.Idle != nil && (best == nil || r.Idle.Conns >= best.Idle.Conns) {
				best = r
			}
		}
		return best
	}
	b, c = bigIdle(B), bigIdle(C)
	if b != nil || c != nil {
		mem := func(r *Record) string {
			return fmt.Sprintf("%.1f KiB RSS (%.1f PSS) at %d conns", r.Idle.RSSPerConnKiB, r.Idle.PSSPerConnKiB, r.Idle.Established)
		}
		met := "–"
		if ok(c) && c.Idle.After != nil {
			met = yesNo(c.Idle.RSSPerConnKiB <= 32)
		}
		m.row("memory per idle IMAP connection", "≤ 32 KiB", o.cell(b, mem), o.cell(c, mem), met)
		fan := func(r *Record) string {
			if len(r.Idle.Deliveries) == 0 {
				return "no delivery"
			}
			d := worstRound(r.Idle.Deliveries)
			s := fmt.Sprintf("%.0f ms to all %d", d.AllMs, d.Reached)
			if d.MissedMax > 0 {
				s += fmt.Sprintf(", %d missed", d.MissedMax)
			}
			return s
		}
		met = "–"
		if ok(c) && len(c.Idle.Deliveries) > 0 {
			d := worstRound(c.Idle.Deliveries)
			met = yesNo(d.MissedMax == 0 && d.AllMs <= 1000 && c.Idle.Established >= 10000)
			if c.Idle.Established < 10000 {
				met += " (fewer than 10,000 idlers measured)"
			}
		}
		m.row("delivery reaches every idler", "≤ 1 s at 10,000 idlers", o.cell(b, fan), o.cell(c, fan), met)
	}
	for _, depth := range []int{1, 8} {
		match := func(r Record) bool { return r.POP3 != nil && max(r.POP3.Pipeline, 1) == depth }
		b, c := pick(recs, B, "pop3", match), pick(recs, C, "pop3", match)
		if b == nil && c == nil {
			continue
		}
		rate := func(r *Record) string {
			return fmt.Sprintf("%.0f RETR/s (%.1f µs server CPU each), %d errors", r.POP3.RetrPerSec, r.POP3.ServerUsPerRetr, r.POP3.Errors)
		}
		met := "–"
		if ok(b) && ok(c) && b.POP3.RetrPerSec > 0 {
			met = yesNo(c.POP3.RetrPerSec/b.POP3.RetrPerSec >= 2 && c.POP3.Errors == 0)
		}
		m.row(fmt.Sprintf("POP3 RETR throughput, pipeline %d", depth), fmt.Sprintf("≥ 2× %s, 0 errors", B), o.cell(b, rate), o.cell(c, rate), met)
	}
	o.lmtpGoals(m, recs)
	o.sieveGoals(m, recs)
	m.p("")
}

func ok(r *Record) bool { return r != nil && r.Error == "" }

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func worstRound(ds []IdleRound) IdleRound {
	w := ds[0]
	for _, d := range ds[1:] {
		if d.MissedMax > w.MissedMax || (d.MissedMax == w.MissedMax && d.AllMs > w.AllMs) {
			w = d
		}
	}
	return w
}

func findOp(b *BigboxResult, name string) *BigboxOp {
	for i := range b.Ops {
		if b.Ops[i].Name == name {
			return &b.Ops[i]
		}
	}
	return nil
}

func (o *reportOpts) populate(m md, recs []Record) {
	B, C := o.base, o.cand
	type key struct{ users, mailbox string }
	var keys []key
	for _, r := range recs {
		if r.Scenario == "populate" && r.Populate != nil {
			k := key{r.Populate.Users, r.Populate.Mailbox}
			if !slices.Contains(keys, k) {
				keys = append(keys, k)
			}
		}
	}
	if len(keys) == 0 {
		return
	}
	m.p("## populate")
	m.p("")
	m.p("The same deterministic messages (seed recorded) go to both servers.")
	m.p("")
	m.header("Users / mailbox", "Method "+B, "Method "+C, "msg/s "+B, "msg/s "+C, C+"/"+B, "MB/s "+B, "MB/s "+C, "errors "+B, "errors "+C)
	for _, k := range keys {
		match := func(r Record) bool {
			return r.Populate != nil && r.Populate.Users == k.users && r.Populate.Mailbox == k.mailbox
		}
		b, c := pick(recs, B, "populate", match), pick(recs, C, "populate", match)
		var n int
		for _, r := range []*Record{c, b} {
			if ok(r) {
				n = r.Populate.PerUser
			}
		}
		m.row(fmt.Sprintf("users %s / %s (%d messages each)", k.users, k.mailbox, n),
			o.cell(b, func(r *Record) string { return r.Populate.Method }),
			o.cell(c, func(r *Record) string { return r.Populate.Method }),
			o.cell(b, func(r *Record) string { return f0(r.Populate.MsgPerSec) }),
			o.cell(c, func(r *Record) string { return f0(r.Populate.MsgPerSec) }),
			ratioRec(b, c, func(r *Record) float64 { return r.Populate.MsgPerSec }),
			o.cell(b, func(r *Record) string { return f1(r.Populate.MBPerSec) }),
			o.cell(c, func(r *Record) string { return f1(r.Populate.MBPerSec) }),
			o.cell(b, func(r *Record) string { return strconv.Itoa(r.Populate.Errors) }),
			o.cell(c, func(r *Record) string { return strconv.Itoa(r.Populate.Errors) }))
	}
	m.p("")
}

func ratioRec(b, c *Record, f func(*Record) float64) string {
	if !ok(b) || !ok(c) {
		return "–"
	}
	return ratio(f(c), f(b), true)
}

func (o *reportOpts) mix(m md, recs []Record) {
	B, C := o.base, o.cand
	type key struct {
		mode    string
		clients int
	}
	var keys []key
	for _, r := range recs {
		if r.Scenario == "mix" && r.Mix != nil {
			k := key{r.Mix.Mode, r.Mix.Clients}
			if !slices.Contains(keys, k) {
				keys = append(keys, k)
			}
		}
	}
	if len(keys) == 0 {
		return
	}
	slices.SortFunc(keys, func(a, b key) int {
		if a.mode != b.mode {
			return -strings.Compare(a.mode, b.mode) // session first
		}
		return a.clients - b.clients
	})
	m.p("## mix")
	m.p("")
	m.p("Weighted command mix (default `%s`). *session*: each client logs in once and runs the mix; "+
		"*cycle*: each cycle is connect, LOGIN, SELECT, a few operations, LOGOUT. Every answer is validated "+
		"(tagged OK, EXISTS/EXPUNGE bookkeeping, FETCH items present, BODY[] literal size equal to RFC822.SIZE, "+
		"keywords announced by FLAGS before use); any violation or NO/BAD counts as an error.", defaultWeights)
	m.p("")
	m.header("Mode", "Clients", "ops/s "+B, "ops/s "+C, C+"/"+B, "errors "+B, "errors "+C)
	for _, k := range keys {
		match := func(r Record) bool { return r.Mix != nil && r.Mix.Mode == k.mode && r.Mix.Clients == k.clients }
		b, c := pick(recs, B, "mix", match), pick(recs, C, "mix", match)
		m.row(k.mode, strconv.Itoa(k.clients),
			o.cell(b, func(r *Record) string { return f0(r.Mix.OpsPerSec) }),
			o.cell(c, func(r *Record) string { return f0(r.Mix.OpsPerSec) }),
			ratioRec(b, c, func(r *Record) float64 { return r.Mix.OpsPerSec }),
			o.cell(b, func(r *Record) string { return strconv.Itoa(r.Mix.Errors) }),
			o.cell(c, func(r *Record) string { return strconv.Itoa(r.Mix.Errors) }))
	}
	m.p("")
	for _, k := range keys {
		match := func(r Record) bool { return r.Mix != nil && r.Mix.Mode == k.mode && r.Mix.Clients == k.clients }
		b, c := pick(recs, B, "mix", match), pick(recs, C, "mix", match)
		var secs float64
		if ok(b) {
			secs = b.Mix.Seconds
		}
		m.p("### mix, %s, %d clients (%.0f s)", k.mode, k.clients, secs)
		m.p("")
		for _, r := range []*Record{b, c} {
			if ok(r) && r.Mix.ClientCPU > 0 {
				m.p("- load tool CPU while driving %s: %.1f s over %.0f s (%.0f%% of one core)", r.Server, r.Mix.ClientCPU,
					r.Mix.Seconds, 100*r.Mix.ClientCPU/r.Mix.Seconds)
			}
		}
		m.p("")
		m.header("Operation", "ops/s "+B, "p50 ms "+B, "p99 ms "+B, "max ms "+B, "ops/s "+C, "p50 ms "+C, "p99 ms "+C, "max ms "+C, "ops/s "+C+"/"+B, "p99 "+C+"/"+B)
		var names []string
		for _, r := range []*Record{b, c} {
			if ok(r) {
				for _, s := range r.Mix.PerOp {
					if !slices.Contains(names, s.Name) {
						names = append(names, s.Name)
					}
				}
			}
		}
		for _, n := range names {
			bs, cs := opStat(b, n), opStat(c, n)
			cellOp := func(r *Record, s *OpStat, f func(*OpStat) string) string {
				return o.cell(r, func(*Record) string {
					if s == nil {
						return "–"
					}
					return f(s)
				})
			}
			rat := func(f func(*OpStat) float64) string {
				if bs == nil || cs == nil {
					return "–"
				}
				return ratio(f(cs), f(bs), true)
			}
			errs := func(s *OpStat) string {
				if s.Errors > 0 {
					return fmt.Sprintf(" (%d err)", s.Errors)
				}
				return ""
			}
			m.row(n,
				cellOp(b, bs, func(s *OpStat) string { return f1(s.OpsPerSec) + errs(s) }),
				cellOp(b, bs, func(s *OpStat) string { return f2(s.P50Ms) }),
				cellOp(b, bs, func(s *OpStat) string { return f2(s.P99Ms) }),
				cellOp(b, bs, func(s *OpStat) string { return f1(s.MaxMs) }),
				cellOp(c, cs, func(s *OpStat) string { return f1(s.OpsPerSec) + errs(s) }),
				cellOp(c, cs, func(s *OpStat) string { return f2(s.P50Ms) }),
				cellOp(c, cs, func(s *OpStat) string { return f2(s.P99Ms) }),
				cellOp(c, cs, func(s *OpStat) string { return f1(s.MaxMs) }),
				rat(func(s *OpStat) float64 { return s.OpsPerSec }),
				rat(func(s *OpStat) float64 { return s.P99Ms }))
		}
		m.p("")
		for _, r := range []*Record{b, c} {
			if ok(r) && len(r.Mix.ErrorSamples) > 0 {
				m.p("Error samples (%s):", r.Server)
				m.p("")
				for _, s := range r.Mix.ErrorSamples[:min(5, len(r.Mix.ErrorSamples))] {
					m.p("- `%s`", strings.ReplaceAll(s, "`", "'"))
				}
				m.p("")
			}
		}
	}
}

func opStat(r *Record, name string) *OpStat {
	if !ok(r) {
		return nil
	}
	for i := range r.Mix.PerOp {
		if r.Mix.PerOp[i].Name == name {
			return &r.Mix.PerOp[i]
		}
	}
	return nil
}

func (o *reportOpts) bigbox(m md, recs []Record) {
	B, C := o.base, o.cand
	b, c := pick(recs, B, "bigbox", nil), pick(recs, C, "bigbox", nil)
	if b == nil && c == nil {
		return
	}
	m.p("## bigbox")
	m.p("")
	n, rep := 0, 0
	if ok(b) {
		n, rep = b.Bigbox.Messages, b.Bigbox.Repeat
	}
	m.p("One mailbox of %d messages; each operation runs %d times on one connection. *first* is the first run "+
		"(cold for that operation), *median* is over all runs. A run is timed from its command's write to the last byte "+
		"of its answer; the load tool parses and checks the answer after that, from memory, so its own parsing "+
		"(about 0.5 µs a FETCH line) is not counted as the server's time. *results* is the number of FETCH responses or "+
		"SEARCH/SORT hits; the same data must give the same count on both servers.", n, rep)
	m.p("")
	m.header("Operation", "first ms "+B, "median ms "+B, "results "+B, "first ms "+C, "median ms "+C, "results "+C, "median "+C+"/"+B)
	var ops []BigboxOp
	if ok(b) {
		ops = b.Bigbox.Ops
	} else if ok(c) {
		ops = c.Bigbox.Ops
	}
	for _, op := range ops {
		var bo, co *BigboxOp
		if ok(b) {
			bo = findOp(b.Bigbox, op.Name)
		}
		if ok(c) {
			co = findOp(c.Bigbox, op.Name)
		}
		f := func(r *Record, x *BigboxOp, g func(*BigboxOp) string) string {
			return o.cell(r, func(*Record) string {
				switch {
				case x == nil:
					return "–"
				case x.NA != "":
					return x.NA
				case x.Error != "" && len(x.RunsMs) == 0:
					return "error"
				}
				return g(x)
			})
		}
		rat := "–"
		if bo != nil && co != nil && bo.NA == "" && co.NA == "" && len(bo.RunsMs) > 0 && len(co.RunsMs) > 0 {
			rat = ratio(co.MedianMs, bo.MedianMs, true)
		}
		m.row(fmt.Sprintf("%s `%s`", op.Name, op.Command),
			f(b, bo, func(x *BigboxOp) string { return f1(x.FirstMs) }),
			f(b, bo, func(x *BigboxOp) string { return f1(x.MedianMs) }),
			f(b, bo, func(x *BigboxOp) string { return strconv.Itoa(x.Results) }),
			f(c, co, func(x *BigboxOp) string { return f1(x.FirstMs) }),
			f(c, co, func(x *BigboxOp) string { return f1(x.MedianMs) }),
			f(c, co, func(x *BigboxOp) string { return strconv.Itoa(x.Results) }),
			rat)
	}
	m.p("")
	for _, r := range []*Record{b, c} {
		if !ok(r) {
			continue
		}
		for _, op := range r.Bigbox.Ops {
			if op.Error != "" {
				m.p("- %s %s: `%s`", r.Server, op.Name, strings.ReplaceAll(op.Error, "`", "'"))
			}
		}
	}
	m.p("")
}

func (o *reportOpts) idle(m md, recs []Record) {
	B, C := o.base, o.cand
	var conns []int
	for _, r := range recs {
		if r.Scenario == "idle" && r.Idle != nil && !slices.Contains(conns, r.Idle.Conns) {
			conns = append(conns, r.Idle.Conns)
		}
	}
	if len(conns) == 0 {
		return
	}
	slices.Sort(conns)
	m.p("## idle")
	m.p("")
	m.p("C connections log in as one user, SELECT INBOX and IDLE. Server memory is read from /proc before the " +
		"connections open and after they all idle; per connection = Δ/C. RSS and PSS leave out the pages of " +
		"mapped files (RssFile, Pss_File: binaries, libraries, a memory-mapped database or index), which are page " +
		"cache and come and go with the server's reads. For a multi-process server (Dovecot: one " +
		"imap process per connection) the sum runs over the master and all its descendants; summed RSS counts " +
		"shared pages once per process, so PSS (shared pages divided among their users) is given too. " +
		"Fan-out: one message is delivered (LMTP or APPEND from another connection) and the time until each " +
		"idler has read `* N EXISTS` is measured; each round is shown, in order (ms).")
	m.p("")
	m.header("Connections", "RSS/conn KiB "+B, "PSS/conn KiB "+B, "RSS/conn KiB "+C, "PSS/conn KiB "+C, "RSS/conn "+C+"/"+B,
		"to all ms "+B, "to all ms "+C, "p50 ms "+B, "p50 ms "+C, "setup errors "+B, "setup errors "+C)
	for _, n := range conns {
		match := func(r Record) bool { return r.Idle != nil && r.Idle.Conns == n }
		b, c := pick(recs, B, "idle", match), pick(recs, C, "idle", match)
		mem := func(r *Record, f func(*IdleResult) float64) string {
			return o.cell(r, func(r *Record) string {
				if r.Idle.After == nil {
					return "not measured"
				}
				return f1(f(r.Idle))
			})
		}
		fan := func(r *Record, f func(IdleRound) float64) string {
			return o.cell(r, func(r *Record) string {
				if len(r.Idle.Deliveries) == 0 {
					return "–"
				}
				var parts []string
				for _, d := range r.Idle.Deliveries {
					s := f0(f(d))
					if d.MissedMax > 0 {
						s += fmt.Sprintf(" (%d missed)", d.MissedMax)
					}
					parts = append(parts, s)
				}
				return strings.Join(parts, " / ")
			})
		}
		rat := "–"
		if ok(b) && ok(c) && b.Idle.After != nil && c.Idle.After != nil {
			rat = ratio(c.Idle.RSSPerConnKiB, b.Idle.RSSPerConnKiB, true)
		}
		m.row(strconv.Itoa(n),
			mem(b, func(r *IdleResult) float64 { return r.RSSPerConnKiB }),
			mem(b, func(r *IdleResult) float64 { return r.PSSPerConnKiB }),
			mem(c, func(r *IdleResult) float64 { return r.RSSPerConnKiB }),
			mem(c, func(r *IdleResult) float64 { return r.PSSPerConnKiB }),
			rat,
			fan(b, func(d IdleRound) float64 { return d.AllMs }),
			fan(c, func(d IdleRound) float64 { return d.AllMs }),
			fan(b, func(d IdleRound) float64 { return d.P50Ms }),
			fan(c, func(d IdleRound) float64 { return d.P50Ms }),
			o.cell(b, func(r *Record) string { return strconv.Itoa(r.Idle.SetupErrors) }),
			o.cell(c, func(r *Record) string { return strconv.Itoa(r.Idle.SetupErrors) }))
	}
	m.p("")
	m.header("Connections", "server", "processes", "RSS before KiB", "RSS after KiB", "PSS before KiB", "PSS after KiB", "setup s", "bench client RSS KiB")
	for _, n := range conns {
		for _, s := range []string{B, C} {
			r := pick(recs, s, "idle", func(r Record) bool { return r.Idle != nil && r.Idle.Conns == n })
			if !ok(r) || r.Idle.Before == nil || r.Idle.After == nil {
				continue
			}
			i := r.Idle
			m.row(strconv.Itoa(n), s, fmt.Sprintf("%d → %d", i.Before.Procs, i.After.Procs),
				strconv.FormatInt(i.Before.RSSKiB, 10), strconv.FormatInt(i.After.RSSKiB, 10),
				strconv.FormatInt(i.Before.PSSKiB, 10), strconv.FormatInt(i.After.PSSKiB, 10),
				f1(i.SetupSeconds), strconv.FormatInt(i.ClientRSSKiB, 10))
		}
	}
	m.p("")
}

func (o *reportOpts) lmtp(m md, recs []Record) {
	B, C := o.base, o.cand
	keys := lmtpKeys(recs)
	if len(keys) == 0 {
		return
	}
	withDD := false
	for _, r := range recs {
		if r.Scenario == "lmtp" && r.LMTP != nil && r.LMTP.DD != nil {
			withDD = true
		}
	}
	m.p("## lmtp")
	m.p("")
	m.p("Deliveries per second counting only recipients that got 250 after DATA.")
	if withDD {
		m.p("*dd MB/s* is `dd if=/dev/zero of=FILE bs=1M count=N oflag=dsync` on the disk that holds both servers' " +
			"data, run just before each server's run: the durable write bandwidth of one writer that waits for each " +
			"1 MiB to be on stable storage. *of its dd* is the server's message bytes per second over the figure measured just before it.")
	}
	m.p("")
	cols := []string{"Concurrency", "Size", "per s " + B, "per s " + C, C + "/" + B, "p99 ms " + B, "p99 ms " + C, "errors " + B, "errors " + C}
	if withDD {
		cols = append(cols, "MB/s "+B, "MB/s "+C, "dd MB/s before "+B, "dd MB/s before "+C, B+" of its dd", C+" of its dd")
	}
	m.header(cols...)
	for _, k := range keys {
		match := func(r Record) bool { return r.LMTP != nil && r.LMTP.Concurrency == k.conc && r.LMTP.Size == k.size }
		b, c := pick(recs, B, "lmtp", match), pick(recs, C, "lmtp", match)
		row := []string{strconv.Itoa(k.conc), strconv.Itoa(k.size),
			o.cell(b, func(r *Record) string { return f1(r.LMTP.PerSec) }),
			o.cell(c, func(r *Record) string { return f1(r.LMTP.PerSec) }),
			ratioRec(b, c, func(r *Record) float64 { return r.LMTP.PerSec }),
			o.cell(b, func(r *Record) string { return f2(r.LMTP.Latency.P99Ms) }),
			o.cell(c, func(r *Record) string { return f2(r.LMTP.Latency.P99Ms) }),
			o.cell(b, func(r *Record) string { return strconv.Itoa(r.LMTP.Errors) }),
			o.cell(c, func(r *Record) string { return strconv.Itoa(r.LMTP.Errors) })}
		if withDD {
			dd := func(r *Record) string {
				if r == nil || r.LMTP == nil || r.LMTP.DD == nil {
					return "–"
				}
				return f1(r.LMTP.DD.MBPerSec)
			}
			of := func(r *Record) string {
				return o.cell(r, func(r *Record) string {
					if r.LMTP.DD == nil || r.LMTP.DD.MBPerSec <= 0 {
						return "–"
					}
					return fmt.Sprintf("%.0f%%", 100*r.LMTP.MBPerSec/r.LMTP.DD.MBPerSec)
				})
			}
			row = append(row, o.cell(b, func(r *Record) string { return f1(r.LMTP.MBPerSec) }),
				o.cell(c, func(r *Record) string { return f1(r.LMTP.MBPerSec) }), dd(b), dd(c), of(b), of(c))
		}
		m.row(row...)
	}
	m.p("")
	// The runs that waited for the server's backlog afterwards: what
	// the deliveries cost in all.
	for _, k := range keys {
		for _, s := range []string{B, C} {
			r := pick(recs, s, "lmtp", func(r Record) bool { return r.LMTP != nil && r.LMTP.Concurrency == k.conc && r.LMTP.Size == k.size })
			if !ok(r) || r.LMTP.Drain == nil || r.Env == nil || r.Env.ServerCPU < 0 || r.LMTP.Delivered == 0 {
				continue
			}
			d := r.LMTP.Drain
			line := fmt.Sprintf("- %s, %d clients, %d bytes: server CPU %.0f µs per delivery during the run, then %.0f µs draining %s (%g in %.0f s)",
				s, k.conc, k.size, 1e6*r.Env.ServerCPU/float64(r.LMTP.Delivered), r.LMTP.DrainUsPerMsg(), d.Gauge, d.After.Backlog, d.After.Seconds)
			if !d.After.Drained {
				line += fmt.Sprintf(", **not drained: %g left at -drain-timeout %.0f s**", d.After.Left, d.TimeoutSeconds)
			}
			m.p("%s.", line)
		}
	}
	m.p("")
}

type lmtpKey struct{ conc, size int }

func lmtpKeys(recs []Record) []lmtpKey {
	var keys []lmtpKey
	for _, r := range recs {
		if r.Scenario == "lmtp" && r.LMTP != nil {
			k := lmtpKey{r.LMTP.Concurrency, r.LMTP.Size}
			if !slices.Contains(keys, k) {
				keys = append(keys, k)
			}
		}
	}
	return keys
}

// lmtpGoals adds issue #21's delivery goals: at 1 MB and 8 or more
// clients, at least 90 % of the bandwidth dd oflag=dsync measured on the
// same disk in the same run; at 10 KB, at least 2.5× the baseline.
func (o *reportOpts) lmtpGoals(m md, recs []Record) {
	B, C := o.base, o.cand
	for _, k := range lmtpKeys(recs) {
		match := func(r Record) bool { return r.LMTP != nil && r.LMTP.Concurrency == k.conc && r.LMTP.Size == k.size }
		b, c := pick(recs, B, "lmtp", match), pick(recs, C, "lmtp", match)
		switch {
		case k.size >= 1<<20 && k.conc >= 8:
			dd := func(r *Record) string {
				return o.cell(r, func(r *Record) string {
					if r.LMTP.DD == nil || r.LMTP.DD.MBPerSec <= 0 {
						return f1(r.LMTP.MBPerSec) + " MB/s, no dd figure"
					}
					return fmt.Sprintf("%.1f MB/s = %.0f%% of dd's %.1f", r.LMTP.MBPerSec, 100*r.LMTP.MBPerSec/r.LMTP.DD.MBPerSec, r.LMTP.DD.MBPerSec)
				})
			}
			met := "–"
			if ok(c) && c.LMTP.DD != nil && c.LMTP.DD.MBPerSec > 0 {
				met = yesNo(c.LMTP.MBPerSec >= 0.9*c.LMTP.DD.MBPerSec && c.LMTP.Errors == 0)
			}
			m.row(fmt.Sprintf("LMTP %d-byte messages, %d clients", k.size, k.conc), "≥ 90 % of dd oflag=dsync bs=1M, same disk, same run", dd(b), dd(c), met)
		case k.size <= 16<<10:
			rate := func(r *Record) string {
				return fmt.Sprintf("%.0f/s, %d errors", r.LMTP.PerSec, r.LMTP.Errors)
			}
			met := "–"
			if ok(b) && ok(c) && b.LMTP.PerSec > 0 {
				met = yesNo(c.LMTP.PerSec/b.LMTP.PerSec >= 2.5 && c.LMTP.Errors == 0) + fmt.Sprintf(" (%.2f×)", c.LMTP.PerSec/b.LMTP.PerSec)
			}
			m.row(fmt.Sprintf("LMTP %d-byte messages, %d clients", k.size, k.conc), fmt.Sprintf("≥ 2.5× %s", B), o.cell(b, rate), o.cell(c, rate), met)
		}
	}
}

func (o *reportOpts) pop3(m md, recs []Record) {
	B, C := o.base, o.cand
	// One table per pipeline depth, in the order first run.
	var depths []int
	for _, r := range recs {
		if r.Scenario == "pop3" && r.POP3 != nil && !slices.Contains(depths, max(r.POP3.Pipeline, 1)) {
			depths = append(depths, max(r.POP3.Pipeline, 1))
		}
	}
	if len(depths) == 0 {
		return
	}
	m.p("## pop3")
	m.p("")
	m.p("RETR of every message of each client's INBOX in turn (one POP3 session per user, nothing deleted), then the " +
		"server's memory (PSS, file pages excluded) per logged-in idle POP3 session, one per user. With pipeline N each " +
		"client sends N RETR commands in one write and then reads the N responses (RFC 2449 §6.6 PIPELINING, which " +
		"both servers announce); latency is from that write to the end of each response. CPU per RETR is CPU time over " +
		"the RETR phase divided by the RETRs: it depends much less than the rate on what else the machine runs.")
	m.p("")
	for _, depth := range depths {
		match := func(r Record) bool { return r.POP3 != nil && max(r.POP3.Pipeline, 1) == depth }
		b, c := pick(recs, B, "pop3", match), pick(recs, C, "pop3", match)
		clients := 0
		for _, r := range []*Record{b, c} {
			if r != nil && r.POP3 != nil {
				clients = r.POP3.Clients
			}
		}
		m.p("### pop3, %d clients, pipeline %d", clients, depth)
		m.p("")
		m.header("", B, C, C+"/"+B)
		m.row("RETR per s", o.cell(b, func(r *Record) string { return f1(r.POP3.RetrPerSec) }),
			o.cell(c, func(r *Record) string { return f1(r.POP3.RetrPerSec) }),
			ratioRec(b, c, func(r *Record) float64 { return r.POP3.RetrPerSec }))
		m.row("MB/s", o.cell(b, func(r *Record) string { return f1(r.POP3.MBPerSec) }),
			o.cell(c, func(r *Record) string { return f1(r.POP3.MBPerSec) }),
			ratioRec(b, c, func(r *Record) float64 { return r.POP3.MBPerSec }))
		m.row("server CPU µs per RETR", o.cell(b, func(r *Record) string { return f1(r.POP3.ServerUsPerRetr) }),
			o.cell(c, func(r *Record) string { return f1(r.POP3.ServerUsPerRetr) }),
			ratioRec(b, c, func(r *Record) float64 { return r.POP3.ServerUsPerRetr }))
		m.row("load tool CPU µs per RETR", o.cell(b, func(r *Record) string { return f1(r.POP3.ClientUsPerRetr) }),
			o.cell(c, func(r *Record) string { return f1(r.POP3.ClientUsPerRetr) }),
			ratioRec(b, c, func(r *Record) float64 { return r.POP3.ClientUsPerRetr }))
		m.row("RETR p99 ms", o.cell(b, func(r *Record) string { return f2(r.POP3.Latency.P99Ms) }),
			o.cell(c, func(r *Record) string { return f2(r.POP3.Latency.P99Ms) }),
			ratioRec(b, c, func(r *Record) float64 { return r.POP3.Latency.P99Ms }))
		m.row("KiB per session", o.cell(b, func(r *Record) string { return f1(r.POP3.PerConnKiB) }),
			o.cell(c, func(r *Record) string { return f1(r.POP3.PerConnKiB) }),
			ratioRec(b, c, func(r *Record) float64 { return r.POP3.PerConnKiB }))
		if (b != nil && b.POP3 != nil && b.POP3.IMAPSessions > 0) || (c != nil && c.POP3 != nil && c.POP3.IMAPSessions > 0) {
			m.row("KiB per IMAP session, same method", o.cell(b, func(r *Record) string { return f1(r.POP3.IMAPPerConnKiB) }),
				o.cell(c, func(r *Record) string { return f1(r.POP3.IMAPPerConnKiB) }),
				ratioRec(b, c, func(r *Record) float64 { return r.POP3.IMAPPerConnKiB }))
		}
		m.p("")
	}
}

// describe names a run for the CPU accounting table.
func describe(r Record) string {
	switch {
	case r.Mix != nil:
		return fmt.Sprintf("mix %s, %d clients", r.Mix.Mode, r.Mix.Clients)
	case r.Populate != nil:
		return fmt.Sprintf("populate users %s / %s", r.Populate.Users, r.Populate.Mailbox)
	case r.Bigbox != nil:
		return fmt.Sprintf("bigbox %d messages", r.Bigbox.Messages)
	case r.Idle != nil:
		return fmt.Sprintf("idle %d connections", r.Idle.Conns)
	case r.LMTP != nil:
		return fmt.Sprintf("lmtp concurrency %d, %d bytes", r.LMTP.Concurrency, r.LMTP.Size)
	case r.Sieve != nil:
		script := "no script"
		if r.Sieve.Script {
			script = "50 rules"
		}
		return fmt.Sprintf("sieve %s, concurrency %d", script, r.Sieve.LMTP.Concurrency)
	case r.POP3 != nil:
		return fmt.Sprintf("pop3 %d clients, pipeline %d", r.POP3.Clients, max(r.POP3.Pipeline, 1))
	case r.Latency != nil:
		return describeLatency(r)
	case r.Drain != nil:
		d := r.Drain
		return fmt.Sprintf("drain after %s (%s %g → %g)", d.Label, d.Gauge, d.After.Backlog, d.After.Left)
	}
	return r.Scenario
}

// noise shows, per run, how the machine's CPU was shared between the
// server, the load tool and everything else.
func (o *reportOpts) noise(m md, recs []Record) {
	have := false
	for _, r := range recs {
		if r.Env != nil {
			have = true
		}
	}
	if !have {
		return
	}
	m.p("## CPU accounting per run")
	m.p("")
	m.p("Server and load tool share the machine. Percentages are of the machine's capacity (CPUs × run time), " +
		"from /proc/stat and the processes' own counters. *Kernel irq/softirq* is charged to no process; much " +
		"of it is the run's own loopback traffic. *Other processes* is everything else: a high figure means the run " +
		"competed with unrelated work and its numbers are pessimistic for the server under test.")
	m.p("")
	m.header("Run", "Server", "Seconds", "Load (1 min) start → end", "Server CPU", "Load tool CPU", "Kernel irq/softirq", "Other processes")
	pctOf := func(v float64, e *Env) string {
		capacity := e.Seconds * float64(max(e.CPUs, 1))
		if v < 0 || capacity <= 0 {
			return "unknown"
		}
		return fmt.Sprintf("%.0f%%", 100*v/capacity)
	}
	for _, r := range recs {
		if r.Env == nil {
			continue
		}
		e := r.Env
		irq := "–"
		if e.IRQCPU > 0 {
			irq = pctOf(e.IRQCPU, e)
		}
		m.row(describe(r), r.Server, f0(e.Seconds), fmt.Sprintf("%.1f → %.1f", e.LoadStart, e.LoadEnd),
			pctOf(e.ServerCPU, e), pctOf(e.ToolCPU, e), irq, pctOf(e.OtherCPU, e))
	}
	m.p("")
}

// otherShare is the mean share of the machine that unrelated processes
// took over the runs that recorded it.
func otherShare(recs []Record) (float64, int) {
	var sum float64
	n := 0
	for _, r := range recs {
		if e := r.Env; e != nil && e.Seconds > 0 && e.CPUs > 0 {
			sum += e.OtherCPU / (e.Seconds * float64(e.CPUs))
			n++
		}
	}
	if n == 0 {
		return 0, 0
	}
	return sum / float64(n), n
}

// recordSpan says when the runs of recs ended, first and last: "from
// the runs of 2026-12-07 13:31-13:46 UTC".
func recordSpan(recs []Record) string {
	var first, last time.Time
	for _, r := range recs {
		if r.Time.IsZero() {
			continue
		}
		if first.IsZero() || r.Time.Before(first) {
			first = r.Time
		}
		if r.Time.After(last) {
			last = r.Time
		}
	}
	if first.IsZero() {
		return ""
	}
	first, last = first.UTC(), last.UTC()
	if first.Format("2006-01-02") == last.Format("2006-01-02") {
		return fmt.Sprintf(" from the runs of %s–%s UTC", first.Format("2006-01-02 15:04"), last.Format("15:04"))
	}
	return fmt.Sprintf(" from the runs of %s – %s UTC", first.Format("2006-01-02 15:04"), last.Format("2006-01-02 15:04"))
}
