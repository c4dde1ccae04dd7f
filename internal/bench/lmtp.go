package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-smtp"
)

type lmtpOpts struct {
	server   string
	json     string
	addr     string
	conc     int
	size     int
	duration time.Duration
	users    int
	rcptFmt  string
	rcpts    int
	seed     uint64
	limit    int // stop after this many messages (0: -duration only)
	settle   time.Duration
	srv      serverProc
	drain    drainer
	// ddDir, when set, is a folder on the servers' disk where dd
	// measures the durable write bandwidth just before the run
	// (ddProbe); ddCount is how many 1 MiB blocks it writes.
	ddDir   string
	ddCount int
	// msg, when set, builds message n instead of the generator's
	// sized messages; keep records the n of every delivered message.
	msg  func(n int) []byte
	keep bool
	// ok is, with keep, the n of every message that got its 250s.
	ok []int
}

func runLMTP(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var o lmtpOpts
	fs := newFlags("lmtp", stderr)
	fs.StringVar(&o.server, "server", "server", "label for the results (e.g. dovecot, barid)")
	fs.StringVar(&o.json, "json", "", "append the result as one JSON line to this file")
	fs.StringVar(&o.addr, "lmtp", "127.0.0.1:24", "LMTP server host:port, or several separated by commas (a cluster's nodes: sender k uses element k mod their number)")
	fs.IntVar(&o.conc, "concurrency", 4, "parallel LMTP sessions")
	fs.IntVar(&o.size, "size", 4096, "message size in bytes")
	fs.DurationVar(&o.duration, "duration", 15*time.Second, "measured run time")
	fs.IntVar(&o.users, "users", 10, "recipients rotate over users 1..N")
	fs.StringVar(&o.rcptFmt, "rcpt-fmt", "user%d", "recipient template; %d is the user number")
	fs.IntVar(&o.rcpts, "rcpts", 1, "recipients per message")
	fs.Uint64Var(&o.seed, "seed", 1, "generator seed")
	fs.IntVar(&o.limit, "messages", 0, "stop after this many messages, or at -duration if sooner (0: -duration only)")
	fs.StringVar(&o.ddDir, "dd", "", "folder on the servers' disk: first measure its durable write bandwidth with "+
		"\"dd if=/dev/zero of=FILE bs=1M count=N oflag=dsync\" and record it beside the result")
	fs.IntVar(&o.ddCount, "dd-count", 256, "1 MiB blocks dd writes for -dd")
	fs.DurationVar(&o.settle, "settle", 30*time.Second, "first wait up to this long for the server to be quiet "+
		"(under 3 % of a CPU for 0.5 s; needs -server-pid), so that background work left by an earlier run is not counted in this one")
	o.srv.register(fs)
	o.drain.register(fs)
	if st := parseFlags(fs, args); st >= 0 {
		return st
	}
	if o.conc < 1 || o.size < 1 || o.users < 1 || o.rcpts < 1 {
		fmt.Fprintln(stderr, "bench lmtp: -concurrency, -size, -users and -rcpts must be positive")
		return 2
	}
	var dd *DDResult
	if o.ddDir != "" {
		var err error
		if dd, err = ddProbe(ctx, o.ddDir, o.ddCount); err != nil {
			fmt.Fprintf(stderr, "bench lmtp: %v\n", err)
			return 1
		}
		fmt.Fprintf(stdout, "dd oflag=dsync bs=1M count=%d in %s: %.1f MB/s\n", dd.Count, o.ddDir, dd.MBPerSec)
	}
	res, env, err := o.measured(ctx, "lmtp", stderr)
	rec := Record{Time: time.Now().UTC(), Server: o.server, Scenario: "lmtp", LMTP: res, Env: env}
	errs := 0
	if err != nil {
		rec.Error = err.Error()
	} else {
		errs = res.Errors
		res.DD = dd
		fmt.Fprintf(stdout, "%s lmtp concurrency=%d size=%d: %d deliveries in %.1fs: %.1f/s, %.2f MB/s, %d errors; latency p50 %.2f ms p99 %.2f ms max %.1f ms\n",
			o.server, res.Concurrency, res.Size, res.Delivered, res.Seconds, res.PerSec, res.MBPerSec, res.Errors,
			res.Latency.P50Ms, res.Latency.P99Ms, res.Latency.MaxMs)
		if d := res.DrainUsPerMsg(); d >= 0 {
			fmt.Fprintf(stdout, "  then %.0f µs of server CPU per delivery draining %s (%.0f in %.1f s)\n", d, res.Drain.Gauge, res.Drain.After.Backlog, res.Drain.After.Seconds)
		}
		if dd != nil && dd.MBPerSec > 0 {
			fmt.Fprintf(stdout, "  %.0f%% of dd's durable write bandwidth\n", 100*res.MBPerSec/dd.MBPerSec)
		}
		if res.ErrorSample != "" {
			fmt.Fprintf(stdout, "  error: %s\n", res.ErrorSample)
		}
	}
	return finish(stderr, o.json, rec, errs)
}

// measured is one measured run between the waits that keep runs apart:
// first for the backlog earlier runs left (-drain-metrics) and for the
// server to be quiet (-settle); then, after the run, for the run's own
// backlog, whose server CPU goes in the result (LMTPResult.Drain). env
// covers the run alone.
func (o *lmtpOpts) measured(ctx context.Context, scen string, stderr io.Writer) (*LMTPResult, *Env, error) {
	var drain *DrainResult
	if o.drain.enabled() {
		drain = &DrainResult{Gauge: o.drain.gauge, TimeoutSeconds: o.drain.timeout.Seconds()}
		drain.Before = o.drain.wait(ctx, &o.srv)
		o.drain.report(stderr, scen, "before", drain.Before)
	}
	if waited, quiet := o.srv.settle(ctx, o.settle); !quiet {
		fmt.Fprintf(stderr, "bench %s: the server was still busy after %v; measuring anyway\n", scen, waited.Round(time.Millisecond))
	}
	snap := o.srv.snap()
	res, err := o.run(ctx)
	env := envSince(snap)
	if err != nil {
		return res, env, err
	}
	if drain != nil {
		drain.After = o.drain.wait(ctx, &o.srv)
		o.drain.report(stderr, scen, "after", drain.After)
		res.Drain = drain
	}
	return res, env, nil
}

// run keeps -concurrency LMTP sessions (RFC 2033) busy for -duration and
// counts every recipient that got a 250 after DATA.
func (o *lmtpOpts) run(ctx context.Context) (*LMTPResult, error) {
	gen := NewGenerator(o.seed)
	msgs := make([][]byte, 32)
	for i := range msgs {
		msgs[i] = gen.Sized(i, o.size)
	}
	msgFor := o.msg
	if msgFor == nil {
		msgFor = func(n int) []byte { return msgs[n%len(msgs)] }
	}
	rcpt := func(n int) string {
		if strings.Contains(o.rcptFmt, "%") {
			return fmt.Sprintf(o.rcptFmt, 1+n%o.users)
		}
		return o.rcptFmt
	}
	type worker struct {
		lat    []int64
		ok     []int
		errs   int
		bytes  int64
		sample string
		err    error
	}
	ws := make([]worker, o.conc)
	cpu0 := cpuSeconds()
	start := time.Now()
	deadline := start.Add(o.duration)
	var wg sync.WaitGroup
	for w := range ws {
		wg.Add(1)
		go func() {
			defer wg.Done()
			me := &ws[w]
			as := addrList(o.addr)
			addr := as[w%len(as)]
			lc, err := dialLMTP(ctx, addr)
			if err != nil {
				me.err = err
				return
			}
			defer func() {
				if lc != nil {
					lc.Quit()
				}
			}()
			for k := 0; time.Now().Before(deadline) && ctx.Err() == nil; k++ {
				n := w + k*o.conc
				if o.limit > 0 && n >= o.limit {
					break
				}
				to := make([]string, o.rcpts)
				for r := range to {
					to[r] = rcpt(n*o.rcpts + r)
				}
				body := msgFor(n)
				t0 := time.Now()
				err := lmtpSend(lc, "bench@bench.example", to, body)
				d := time.Since(t0)
				if err == nil {
					for range to {
						me.lat = append(me.lat, int64(d))
						me.bytes += int64(len(body))
					}
					if o.keep {
						me.ok = append(me.ok, n)
					}
					continue
				}
				var le smtp.LMTPDataError
				if errors.As(err, &le) {
					me.errs += len(le)
					for range len(to) - len(le) {
						me.lat = append(me.lat, int64(d))
						me.bytes += int64(len(body))
					}
				} else {
					me.errs += len(to)
				}
				if me.sample == "" {
					me.sample = err.Error()
				}
				var se *smtp.SMTPError
				if errors.As(err, &se) || errors.As(err, &le) {
					lc.Reset()
					continue
				}
				// The session is broken: open a new one.
				lc.Close()
				if lc, err = dialLMTP(ctx, addr); err != nil {
					me.err = err
					lc = nil
					return
				}
			}
		}()
	}
	wg.Wait()
	el := time.Since(start)
	res := &LMTPResult{Concurrency: o.conc, Size: o.size, Seconds: el.Seconds(), ClientCPU: cpuSeconds() - cpu0}
	var all []int64
	var bytes int64
	o.ok = o.ok[:0]
	for _, w := range ws {
		if w.err != nil {
			return nil, w.err
		}
		all = append(all, w.lat...)
		o.ok = append(o.ok, w.ok...)
		bytes += w.bytes
		res.Errors += w.errs
		if res.ErrorSample == "" {
			res.ErrorSample = w.sample
		}
	}
	res.Latency = summarize("DELIVERY", all, res.Errors, el)
	res.Delivered = len(all)
	res.PerSec = float64(len(all)) / el.Seconds()
	res.MBPerSec = float64(bytes) / 1e6 / el.Seconds()
	return res, nil
}
