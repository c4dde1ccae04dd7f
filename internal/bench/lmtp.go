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
	srv      serverProc
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
	o.srv.register(fs)
	if st := parseFlags(fs, args); st >= 0 {
		return st
	}
	if o.conc < 1 || o.size < 1 || o.users < 1 || o.rcpts < 1 {
		fmt.Fprintln(stderr, "bench lmtp: -concurrency, -size, -users and -rcpts must be positive")
		return 2
	}
	snap := o.srv.snap()
	res, err := o.run(ctx)
	rec := Record{Time: time.Now().UTC(), Server: o.server, Scenario: "lmtp", LMTP: res, Env: envSince(snap)}
	errs := 0
	if err != nil {
		rec.Error = err.Error()
	} else {
		errs = res.Errors
		fmt.Fprintf(stdout, "%s lmtp concurrency=%d size=%d: %d deliveries in %.1fs: %.1f/s, %.2f MB/s, %d errors; latency p50 %.2f ms p99 %.2f ms max %.1f ms\n",
			o.server, res.Concurrency, res.Size, res.Delivered, res.Seconds, res.PerSec, res.MBPerSec, res.Errors,
			res.Latency.P50Ms, res.Latency.P99Ms, res.Latency.MaxMs)
		if res.ErrorSample != "" {
			fmt.Fprintf(stdout, "  error: %s\n", res.ErrorSample)
		}
	}
	return finish(stderr, o.json, rec, errs)
}

// run keeps -concurrency LMTP sessions (RFC 2033) busy for -duration and
// counts every recipient that got a 250 after DATA.
func (o *lmtpOpts) run(ctx context.Context) (*LMTPResult, error) {
	gen := NewGenerator(o.seed)
	msgs := make([][]byte, 32)
	for i := range msgs {
		msgs[i] = gen.Sized(i, o.size)
	}
	rcpt := func(n int) string {
		if strings.Contains(o.rcptFmt, "%") {
			return fmt.Sprintf(o.rcptFmt, 1+n%o.users)
		}
		return o.rcptFmt
	}
	type worker struct {
		lat    []int64
		errs   int
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
				to := make([]string, o.rcpts)
				for r := range to {
					to[r] = rcpt(n*o.rcpts + r)
				}
				t0 := time.Now()
				err := lmtpSend(lc, "bench@bench.example", to, msgs[n%len(msgs)])
				d := time.Since(t0)
				if err == nil {
					for range to {
						me.lat = append(me.lat, int64(d))
					}
					continue
				}
				var le smtp.LMTPDataError
				if errors.As(err, &le) {
					me.errs += len(le)
					for range len(to) - len(le) {
						me.lat = append(me.lat, int64(d))
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
	for _, w := range ws {
		if w.err != nil {
			return nil, w.err
		}
		all = append(all, w.lat...)
		res.Errors += w.errs
		if res.ErrorSample == "" {
			res.ErrorSample = w.sample
		}
	}
	res.Latency = summarize("DELIVERY", all, res.Errors, el)
	res.Delivered = len(all)
	res.PerSec = float64(len(all)) / el.Seconds()
	res.MBPerSec = float64(len(all)) * float64(len(msgs[0])) / 1e6 / el.Seconds()
	return res, nil
}
