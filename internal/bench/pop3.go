package bench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"
)

// POP3Result is the outcome of the pop3 scenario.
type POP3Result struct {
	Clients       int        `json:"clients"`
	Seconds       float64    `json:"seconds"`
	Retrs         int        `json:"retrs"`
	RetrPerSec    float64    `json:"retr_per_sec"`
	MBPerSec      float64    `json:"mb_per_sec"` // octets of the messages as LIST reports them
	Errors        int        `json:"errors"`
	ErrorSample   string     `json:"error_sample,omitempty"`
	Latency       OpStat     `json:"latency"`
	ClientCPU     float64    `json:"client_cpu_seconds"`
	Sessions      int        `json:"sessions"` // logged-in sessions held for the memory figure
	MemBefore     *MemSample `json:"mem_before,omitempty"`
	MemAfter      *MemSample `json:"mem_after,omitempty"`
	PerConnKiB    float64    `json:"per_conn_kib,omitempty"` // (PSS after - before) / sessions
	PerConnRSSKiB float64    `json:"per_conn_rss_kib,omitempty"`
}

type pop3Opts struct {
	server, json, addr string
	userFmt, password  string
	users, clients     int
	sessions           int
	duration, timeout  time.Duration
	settle             time.Duration
	srv                serverProc
}

func runPOP3(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var o pop3Opts
	fs := newFlags("pop3", stderr)
	fs.StringVar(&o.server, "server", "server", "label for the results (e.g. dovecot, barid)")
	fs.StringVar(&o.json, "json", "", "append the result as one JSON line to this file")
	fs.StringVar(&o.addr, "addr", "127.0.0.1:110", "POP3 server host:port (USER/PASS without TLS: use loopback)")
	fs.StringVar(&o.userFmt, "user-fmt", "user%d", "user name template; %d is the user number")
	fs.StringVar(&o.password, "password", "password", "password of every user")
	fs.IntVar(&o.users, "users", 10, "users 1..N; RETR client k logs in as user k (one POP3 session per maildrop)")
	fs.IntVar(&o.clients, "clients", 4, "concurrent RETR sessions (at most -users)")
	fs.IntVar(&o.sessions, "sessions", 0, "logged-in sessions held for the memory figure (0: -users)")
	fs.DurationVar(&o.duration, "duration", 10*time.Second, "measured RETR time")
	fs.DurationVar(&o.timeout, "timeout", 60*time.Second, "deadline for each command")
	fs.DurationVar(&o.settle, "settle", 3*time.Second, "wait before each memory sample")
	o.srv.register(fs)
	if st := parseFlags(fs, args); st >= 0 {
		return st
	}
	if o.sessions == 0 {
		o.sessions = o.users
	}
	if o.clients < 1 || o.clients > o.users || o.sessions > o.users {
		fmt.Fprintln(stderr, "bench pop3: need 1 <= -clients <= -users and -sessions <= -users (a maildrop has one POP3 session)")
		return 2
	}
	snap := o.srv.snap()
	res, err := o.run(ctx)
	rec := Record{Time: time.Now().UTC(), Server: o.server, Scenario: "pop3", POP3: res, Env: envSince(snap)}
	errs := 0
	if err != nil {
		rec.Error = err.Error()
	} else {
		errs = res.Errors
		fmt.Fprintf(stdout, "%s pop3 clients=%d: %d RETR in %.1fs: %.1f/s, %.1f MB/s, %d errors; latency p50 %.2f ms p99 %.2f ms\n",
			o.server, res.Clients, res.Retrs, res.Seconds, res.RetrPerSec, res.MBPerSec, res.Errors, res.Latency.P50Ms, res.Latency.P99Ms)
		if res.MemAfter != nil {
			fmt.Fprintf(stdout, "%s pop3 memory: %d logged-in sessions: %.1f KiB PSS per session (%.1f KiB RSS)\n",
				o.server, res.Sessions, res.PerConnKiB, res.PerConnRSSKiB)
		}
		if res.ErrorSample != "" {
			fmt.Fprintf(stdout, "  error: %s\n", res.ErrorSample)
		}
	}
	return finish(stderr, o.json, rec, errs)
}

func (o *pop3Opts) user(n int) string {
	if strings.Contains(o.userFmt, "%") {
		return fmt.Sprintf(o.userFmt, n)
	}
	return o.userFmt
}

// popConn is a minimal POP3 client for the benchmark.
type popConn struct {
	nc      net.Conn
	br      *bufio.Reader
	timeout time.Duration
}

func (o *pop3Opts) login(ctx context.Context, n int) (*popConn, int, error) {
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", o.addr)
	if err != nil {
		return nil, 0, err
	}
	c := &popConn{nc: nc, br: bufio.NewReaderSize(nc, 64<<10), timeout: o.timeout}
	if _, err := c.status(); err != nil {
		nc.Close()
		return nil, 0, fmt.Errorf("greeting: %w", err)
	}
	for _, cmd := range []string{"USER " + o.user(n), "PASS " + o.password} {
		if _, err := c.cmd(cmd); err != nil {
			nc.Close()
			return nil, 0, fmt.Errorf("%s: %w", strings.Fields(cmd)[0], err)
		}
	}
	st, err := c.cmd("STAT")
	if err != nil {
		nc.Close()
		return nil, 0, err
	}
	f := strings.Fields(st)
	count := 0
	if len(f) >= 2 {
		count, _ = strconv.Atoi(f[1])
	}
	return c, count, nil
}

func (c *popConn) status() (string, error) {
	c.nc.SetDeadline(time.Now().Add(c.timeout))
	l, err := c.br.ReadString('\n')
	if err != nil {
		return "", err
	}
	if !strings.HasPrefix(l, "+OK") {
		return "", errors.New(strings.TrimSpace(l))
	}
	return l, nil
}

func (c *popConn) cmd(s string) (string, error) {
	c.nc.SetDeadline(time.Now().Add(c.timeout))
	if _, err := io.WriteString(c.nc, s+"\r\n"); err != nil {
		return "", err
	}
	return c.status()
}

// retr sends RETR n and reads the message up to ".CRLF"; it returns the
// octets read (stuffing included, terminator excluded).
func (c *popConn) retr(n int) (int64, error) {
	if _, err := c.cmd("RETR " + strconv.Itoa(n)); err != nil {
		return 0, err
	}
	var total int64
	for {
		l, err := c.br.ReadSlice('\n')
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			return total, err
		}
		if err == nil && len(l) == 3 && l[0] == '.' && l[1] == '\r' {
			return total, nil
		}
		total += int64(len(l))
	}
}

func (c *popConn) close() {
	c.cmd("QUIT")
	c.nc.Close()
}

// run measures RETR throughput with -clients sessions (RETR 1..n over
// and over, nothing deleted) and then the server's memory per logged-in
// idle session.
func (o *pop3Opts) run(ctx context.Context) (*POP3Result, error) {
	type worker struct {
		lat    []int64
		bytes  int64
		errs   int
		sample string
		err    error
	}
	ws := make([]worker, o.clients)
	cpu0 := cpuSeconds()
	start := time.Now()
	deadline := start.Add(o.duration)
	var wg sync.WaitGroup
	for w := range ws {
		wg.Add(1)
		go func() {
			defer wg.Done()
			me := &ws[w]
			c, count, err := o.login(ctx, w+1)
			if err != nil {
				me.err = fmt.Errorf("user %s: %w", o.user(w+1), err)
				return
			}
			defer c.close()
			if count == 0 {
				me.err = fmt.Errorf("user %s has no messages (run populate first)", o.user(w+1))
				return
			}
			for k := 0; time.Now().Before(deadline) && ctx.Err() == nil; k++ {
				t0 := time.Now()
				n, err := c.retr(1 + k%count)
				if err != nil {
					me.errs++
					if me.sample == "" {
						me.sample = err.Error()
					}
					return
				}
				me.lat = append(me.lat, int64(time.Since(t0)))
				me.bytes += n
			}
		}()
	}
	wg.Wait()
	el := time.Since(start)
	res := &POP3Result{Clients: o.clients, Seconds: el.Seconds(), ClientCPU: cpuSeconds() - cpu0}
	var all []int64
	var bytes int64
	for _, w := range ws {
		if w.err != nil {
			return nil, w.err
		}
		all = append(all, w.lat...)
		bytes += w.bytes
		res.Errors += w.errs
		if res.ErrorSample == "" {
			res.ErrorSample = w.sample
		}
	}
	res.Latency = summarize("RETR", all, res.Errors, el)
	res.Retrs = len(all)
	res.RetrPerSec = float64(len(all)) / el.Seconds()
	res.MBPerSec = float64(bytes) / 1e6 / el.Seconds()
	if o.srv.pid == 0 {
		return res, nil
	}
	// Memory per logged-in session, each on its own maildrop. One
	// login and logout first, then a pause, so that what the RETR phase
	// left (garbage, pooled buffers) has settled the same way before
	// and after: barid hands freed heap back to the system a second
	// after the last login.
	if c, _, err := o.login(ctx, 1); err == nil {
		c.close()
	}
	time.Sleep(o.settle)
	before, err := procMem("/proc", o.srv.pid, o.srv.tree)
	if err != nil {
		return nil, err
	}
	var held []*popConn
	defer func() {
		for _, c := range held {
			c.close()
		}
	}()
	for i := 1; i <= o.sessions; i++ {
		c, _, err := o.login(ctx, i)
		if err != nil {
			return nil, fmt.Errorf("memory phase, user %s: %w", o.user(i), err)
		}
		held = append(held, c)
	}
	time.Sleep(o.settle)
	after, err := procMem("/proc", o.srv.pid, o.srv.tree)
	if err != nil {
		return nil, err
	}
	res.Sessions = len(held)
	res.MemBefore, res.MemAfter = &before, &after
	res.PerConnKiB = float64(after.PSSKiB-before.PSSKiB) / float64(len(held))
	res.PerConnRSSKiB = float64(after.RSSKiB-before.RSSKiB) / float64(len(held))
	return res, nil
}
