package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emersion/go-smtp"
)

type populateOpts struct {
	common
	users    string
	mailbox  string
	count    int
	first    int
	seed     uint64
	via      string
	batch    int
	inflight int
	conns    int
	lmtpAddr string
	rcptFmt  string
}

func runPopulate(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var o populateOpts
	fs := newFlags("populate", stderr)
	o.register(fs)
	fs.StringVar(&o.users, "users", "1", "user number or range, e.g. 1 or 1-50; each gets -count messages")
	fs.StringVar(&o.mailbox, "mailbox", "INBOX", "mailbox to fill (created if missing)")
	fs.IntVar(&o.count, "count", 100000, "messages per user")
	fs.IntVar(&o.first, "first", 0, "index of the first generated message (for resuming)")
	fs.Uint64Var(&o.seed, "seed", 1, "generator seed; the same seed gives the same messages")
	fs.StringVar(&o.via, "via", "auto", "auto (MULTIAPPEND if advertised, else APPEND), multiappend, append or lmtp")
	fs.IntVar(&o.batch, "batch", 100, "messages per MULTIAPPEND command")
	fs.IntVar(&o.inflight, "inflight", 4, "pipelined commands in flight per connection")
	fs.IntVar(&o.conns, "conns", 1, "parallel connections (more than 1 interleaves the order of one user's messages)")
	fs.StringVar(&o.lmtpAddr, "lmtp", "", "LMTP host:port for -via lmtp")
	fs.StringVar(&o.rcptFmt, "rcpt-fmt", "", "LMTP recipient template; default is -user-fmt")
	if st := parseFlags(fs, args); st >= 0 {
		return st
	}
	lo, hi, err := parseRange(o.users)
	if err != nil || o.count < 0 || o.batch < 1 || o.inflight < 1 || o.conns < 1 {
		fmt.Fprintf(stderr, "bench populate: bad -users, -count, -batch, -inflight or -conns\n")
		return 2
	}
	snap := o.srv.snap()
	res, err := o.run(ctx, lo, hi, stderr)
	rec := Record{Time: time.Now().UTC(), Server: o.server, Scenario: "populate", Populate: res, Env: envSince(snap)}
	if err != nil {
		rec.Error = err.Error()
	} else {
		fmt.Fprintf(stdout, "%s populate via %s: %d messages (%.1f MB) into %s of users %s in %.1fs: %.0f msg/s, %.1f MB/s, %d errors\n",
			o.server, res.Method, res.Messages, float64(res.Bytes)/1e6, res.Mailbox, res.Users, res.Seconds,
			res.MsgPerSec, res.MBPerSec, res.Errors)
	}
	errs := 0
	if res != nil {
		errs = res.Errors
	}
	return finish(stderr, o.json, rec, errs)
}

// job is a slice of one user's messages for one worker.
type job struct {
	user     string
	from, to int // message indexes, to exclusive
}

func (o *populateOpts) run(ctx context.Context, lo, hi int, stderr io.Writer) (*PopulateResult, error) {
	method := o.via
	if method == "auto" || method == "multiappend" || method == "append" {
		c, err := o.login(ctx, o.user(lo))
		if err != nil {
			return nil, err
		}
		multi, err := c.HasCap("MULTIAPPEND")
		c.Logout()
		if err != nil {
			return nil, err
		}
		if method == "auto" {
			method = "append"
			if multi {
				method = "multiappend"
			}
		} else if method == "multiappend" && !multi {
			return nil, errors.New("server does not advertise MULTIAPPEND (RFC 3502)")
		}
	} else if method != "lmtp" {
		return nil, fmt.Errorf("unknown -via %q", o.via)
	}
	if method == "lmtp" && o.lmtpAddr == "" {
		return nil, errors.New("-via lmtp needs -lmtp host:port")
	}
	if method == "lmtp" && !strings.EqualFold(o.mailbox, "INBOX") {
		return nil, errors.New("-via lmtp delivers to INBOX only")
	}

	// Split the work: whole users per connection, or, for one user, the
	// index range in contiguous shards.
	var jobs []job
	nUsers := hi - lo + 1
	if nUsers >= o.conns {
		for u := lo; u <= hi; u++ {
			jobs = append(jobs, job{o.user(u), o.first, o.first + o.count})
		}
	} else {
		per := (o.count + o.conns - 1) / o.conns
		for u := lo; u <= hi; u++ {
			for k := 0; k < o.count; k += per {
				jobs = append(jobs, job{o.user(u), o.first + k, o.first + min(k+per, o.count)})
			}
		}
	}

	gen := NewGenerator(o.seed)
	total := int64(nUsers) * int64(o.count)
	bar := startProgress(stderr, o.progress, "populate "+o.server, total)
	var bytes, errs atomic.Int64
	jobCh := make(chan job)
	var wg sync.WaitGroup
	var firstErr error
	var mu sync.Mutex
	start := time.Now()
	for w := 0; w < o.conns; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobCh {
				var err error
				if method == "lmtp" {
					err = o.lmtpJob(ctx, gen, j, bar, &bytes, &errs)
				} else {
					err = o.imapJob(ctx, gen, j, method == "multiappend", bar, &bytes, &errs)
				}
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
				}
			}
		}()
	}
feed:
	for _, j := range jobs {
		select {
		case jobCh <- j:
		case <-ctx.Done():
			break feed
		}
	}
	close(jobCh)
	wg.Wait()
	bar.Finish()
	el := time.Since(start)
	if firstErr != nil {
		return nil, firstErr
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	res := &PopulateResult{
		Method: method, Users: o.users, Mailbox: o.mailbox, PerUser: o.count,
		Messages: int(total - errs.Load()), Bytes: bytes.Load(), Seconds: el.Seconds(),
		Errors: int(errs.Load()), Seed: o.seed,
	}
	res.MsgPerSec = float64(res.Messages) / el.Seconds()
	res.MBPerSec = float64(res.Bytes) / 1e6 / el.Seconds()
	return res, nil
}

// imapJob appends messages [j.from, j.to) for j.user, pipelining up to
// -inflight commands, each a MULTIAPPEND (RFC 3502) of -batch messages or a
// single APPEND.
func (o *populateOpts) imapJob(ctx context.Context, gen *Generator, j job, multi bool,
	bar *progress, bytes, errs *atomic.Int64) error {
	c, err := o.login(ctx, j.user)
	if err != nil {
		return err
	}
	defer c.Logout()
	c.SetTimeout(10 * time.Minute)
	if !strings.EqualFold(o.mailbox, "INBOX") {
		c.Exec(nil, "CREATE "+Quote(o.mailbox)) // an existing mailbox is fine
	}
	batch := 1
	if multi {
		batch = o.batch
	}
	// Generate ahead in a separate goroutine: on a small machine the
	// generator must not stall the pipeline.
	type batchMsgs struct{ msgs []GenMessage }
	ch := make(chan batchMsgs, o.inflight+1)
	go func() {
		defer close(ch)
		for i := j.from; i < j.to; i += batch {
			b := batchMsgs{}
			for k := i; k < min(i+batch, j.to); k++ {
				b.msgs = append(b.msgs, gen.Message(k))
			}
			select {
			case ch <- b:
			case <-ctx.Done():
				return
			}
		}
	}()
	type pend struct {
		tag  string
		n    int
		size int64
	}
	var queue []pend
	wait := func() error {
		p := queue[0]
		queue = queue[1:]
		res, err := c.Wait(p.tag, nil)
		if err != nil {
			return err
		}
		if res.Status != "OK" {
			errs.Add(int64(p.n))
			if errs.Load() <= 3 {
				fmt.Fprintf(bar.w, "\npopulate: APPEND of %d messages: %s %s\n", p.n, res.Status, res.Text)
			}
		} else {
			bytes.Add(p.size)
		}
		bar.Add(p.n)
		return nil
	}
	for b := range ch {
		tag := c.Begin()
		c.WriteString("APPEND " + Quote(o.mailbox))
		var size int64
		for _, m := range b.msgs {
			c.WriteString(" (" + strings.Join(m.Flags, " ") + ") " + imapDate(m.Date) + " ")
			if err := c.Literal(m.Body); err != nil {
				return err
			}
			size += int64(len(m.Body))
		}
		if err := c.End(); err != nil {
			return err
		}
		queue = append(queue, pend{tag, len(b.msgs), size})
		for len(queue) >= o.inflight {
			if err := wait(); err != nil {
				return err
			}
		}
	}
	for len(queue) > 0 {
		if err := wait(); err != nil {
			return err
		}
	}
	return ctx.Err()
}

// lmtpJob delivers messages [j.from, j.to) to j.user over one LMTP
// session (RFC 2033). LMTP cannot set flags, so they are not stored.
func (o *populateOpts) lmtpJob(ctx context.Context, gen *Generator, j job, bar *progress, bytes, errs *atomic.Int64) error {
	rcpt := j.user
	if o.rcptFmt != "" {
		rcpt = strings.ReplaceAll(o.rcptFmt, "%s", j.user)
	}
	lc, err := dialLMTP(ctx, o.lmtpAddr)
	if err != nil {
		return err
	}
	defer lc.Quit()
	for i := j.from; i < j.to; i++ {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		m := gen.Message(i)
		if err := lmtpSend(lc, "bench@bench.example", []string{rcpt}, m.Body); err != nil {
			var le smtp.LMTPDataError
			var se *smtp.SMTPError
			if !errors.As(err, &le) && !errors.As(err, &se) {
				return err
			}
			errs.Add(1)
			lc.Reset()
		} else {
			bytes.Add(int64(len(m.Body)))
		}
		bar.Add(1)
	}
	return nil
}

// dialLMTP opens an LMTP session and sends LHLO (RFC 2033 §4.1).
func dialLMTP(ctx context.Context, addr string) (*smtp.Client, error) {
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	lc := smtp.NewClientLMTP(nc)
	if err := lc.Hello("bench.example"); err != nil {
		lc.Close()
		return nil, err
	}
	return lc, nil
}

// lmtpSend runs one LMTP transaction and fails unless every recipient got
// a 2xx reply after DATA (RFC 2033 §4.2).
func lmtpSend(lc *smtp.Client, from string, rcpts []string, body []byte) error {
	if err := lc.Mail(from, nil); err != nil {
		return err
	}
	for _, r := range rcpts {
		if err := lc.Rcpt(r, nil); err != nil {
			return err
		}
	}
	w, err := lc.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write(body); err != nil {
		return err
	}
	resp, err := w.CloseWithLMTPResponse()
	if err != nil {
		return err
	}
	if len(resp) != len(rcpts) {
		return fmt.Errorf("LMTP: %d replies for %d recipients", len(resp), len(rcpts))
	}
	return nil
}
