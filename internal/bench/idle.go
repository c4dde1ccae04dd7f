package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

type idleOpts struct {
	common
	conns    int
	user     string
	mailbox  string
	srcIPs   int
	dialConc int
	deliver  string
	lmtpAddr string
	rcpt     string
	rounds   int
	wait     time.Duration
	settle   time.Duration
	proc     string
}

func runIdle(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var o idleOpts
	fs := newFlags("idle", stderr)
	o.register(fs)
	fs.IntVar(&o.conns, "conns", 1000, "IDLE connections to hold")
	fs.StringVar(&o.user, "user", "user1", "user every connection logs in as (all watch one mailbox)")
	fs.StringVar(&o.mailbox, "mailbox", "INBOX", "mailbox to SELECT and IDLE on")
	fs.IntVar(&o.srcIPs, "src-ips", 0, "source addresses 127.0.0.1..127.0.0.N; 0 picks one per 20000 connections")
	fs.IntVar(&o.dialConc, "dial-concurrency", 64, "connections being set up at once")
	fs.StringVar(&o.deliver, "deliver", "append", "how to deliver the test message: append (from another connection) or lmtp")
	fs.StringVar(&o.lmtpAddr, "lmtp", "", "LMTP host:port for -deliver lmtp")
	fs.StringVar(&o.rcpt, "rcpt", "", "LMTP recipient (default: -user)")
	fs.IntVar(&o.rounds, "rounds", 3, "deliveries to time, one after another")
	fs.DurationVar(&o.wait, "wait", 60*time.Second, "how long to wait for a delivery to reach every idler")
	fs.DurationVar(&o.settle, "settle", 2*time.Second, "pause before reading the server's memory")
	if st := parseFlags(fs, args); st >= 0 {
		return st
	}
	o.proc = "/proc"
	if o.conns < 1 || o.dialConc < 1 || o.rounds < 0 {
		fmt.Fprintln(stderr, "bench idle: bad -conns, -dial-concurrency or -rounds")
		return 2
	}
	if o.deliver != "append" && o.deliver != "lmtp" {
		fmt.Fprintln(stderr, "bench idle: -deliver must be append or lmtp")
		return 2
	}
	if o.deliver == "lmtp" && o.lmtpAddr == "" {
		fmt.Fprintln(stderr, "bench idle: -deliver lmtp needs -lmtp host:port")
		return 2
	}
	snap := o.srv.snap()
	res, err := o.run(ctx, stderr)
	rec := Record{Time: time.Now().UTC(), Server: o.server, Scenario: "idle", Idle: res, Env: envSince(snap)}
	errs := 0
	if err != nil {
		rec.Error = err.Error()
	} else {
		printIdle(stdout, o.server, res)
		errs = res.SetupErrors
		for _, d := range res.Deliveries {
			errs += d.MissedMax
		}
	}
	return finish(stderr, o.json, rec, errs)
}

// idleRound tracks one delivery's arrival at every idler.
type idleRound struct {
	start  int64
	arr    []atomic.Int64 // per connection: ns after start, 0 = not yet
	count  atomic.Int64
	target int64
	done   chan struct{}
}

type idleState struct {
	o       *idleOpts
	round   atomic.Pointer[idleRound]
	closing atomic.Bool
	conns   []atomic.Pointer[Conn]
	ready   atomic.Int64
	failed  atomic.Int64
	mu      sync.Mutex
	samples []string
}

func (s *idleState) sample(format string, args ...any) {
	s.mu.Lock()
	if len(s.samples) < 10 {
		s.samples = append(s.samples, fmt.Sprintf(format, args...))
	}
	s.mu.Unlock()
}

// raiseNoFile lifts RLIMIT_NOFILE's soft limit towards need, and the hard
// limit too when the process may (root, or CAP_SYS_RESOURCE; never past
// fs.nr_open), and fails, naming the limits, if that is not enough.
func raiseNoFile(need uint64) error {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return err
	}
	if rl.Cur >= need {
		return nil
	}
	if rl.Max < need {
		up := rl
		up.Cur, up.Max = need, need
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &up); err == nil {
			return nil
		}
		// Not allowed (or past fs.nr_open): take what the hard limit gives.
	}
	rl.Cur = min(need, rl.Max)
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return err
	}
	if rl.Cur < need {
		return fmt.Errorf("need %d file descriptors, RLIMIT_NOFILE hard limit is %d (ulimit -Hn) and this process may not raise it; "+
			"also check fs.nr_open (%s)", need, rl.Max, readSysctl("/proc/sys/fs/nr_open"))
	}
	return nil
}

// portRange parses net.ipv4.ip_local_port_range ("32768\t60999").
func portRange(s string) (lo, hi int, ok bool) {
	f := strings.Fields(s)
	if len(f) != 2 {
		return 0, 0, false
	}
	lo, err1 := strconv.Atoi(f[0])
	hi, err2 := strconv.Atoi(f[1])
	return lo, hi, err1 == nil && err2 == nil && hi >= lo
}

// readSysctl returns a /proc/sys value, trimmed, or "unknown".
func readSysctl(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(b))
}

func (o *idleOpts) run(ctx context.Context, stderr io.Writer) (*IdleResult, error) {
	if err := raiseNoFile(uint64(o.conns) + 64); err != nil {
		return nil, err
	}
	nIP := o.srcIPs
	if nIP <= 0 {
		nIP = (o.conns + 19999) / 20000
	}
	if nIP > 254 {
		return nil, errors.New("-src-ips is at most 254")
	}
	// Each source address has the ephemeral ports of
	// net.ipv4.ip_local_port_range towards the server's one address.
	if lo, hi, ok := portRange(readSysctl("/proc/sys/net/ipv4/ip_local_port_range")); ok && o.conns > nIP*(hi-lo+1) {
		return nil, fmt.Errorf("%d connections from %d source addresses need more than the %d ephemeral ports of net.ipv4.ip_local_port_range (%d-%d) each: raise -src-ips",
			o.conns, nIP, hi-lo+1, lo, hi)
	}
	res := &IdleResult{Conns: o.conns, SourceIPs: nIP, Deliver: o.deliver}
	if o.srv.pid > 0 {
		m, err := o.srv.mem(o.proc)
		if err != nil {
			return nil, fmt.Errorf("reading server memory: %w", err)
		}
		res.Before = &m
	}

	st := &idleState{o: o, conns: make([]atomic.Pointer[Conn], o.conns)}
	sem := make(chan struct{}, o.dialConc)
	var wg sync.WaitGroup
	bar := startProgress(stderr, o.progress, "idle "+o.server, int64(o.conns))
	start := time.Now()
	setupDone := make(chan struct{})
	var setupWG sync.WaitGroup
	for i := 0; i < o.conns; i++ {
		wg.Add(1)
		setupWG.Add(1)
		ip := net.IPv4(127, 0, 0, byte(1+i%nIP))
		go func() {
			defer wg.Done()
			st.hold(ctx, i, ip, sem, bar, &setupWG)
		}()
	}
	go func() { setupWG.Wait(); close(setupDone) }()
	select {
	case <-setupDone:
	case <-ctx.Done():
	}
	bar.Finish()
	res.SetupSeconds = time.Since(start).Seconds()
	res.Established = int(st.ready.Load())
	res.SetupErrors = int(st.failed.Load())
	defer func() {
		st.closing.Store(true)
		for i := range st.conns {
			if c := st.conns[i].Load(); c != nil {
				c.Close()
			}
		}
		wg.Wait()
	}()
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}

	time.Sleep(o.settle)
	if o.srv.pid > 0 {
		m, err := o.srv.mem(o.proc)
		if err != nil {
			return nil, fmt.Errorf("reading server memory: %w", err)
		}
		res.After = &m
		if res.Established > 0 {
			res.RSSPerConnKiB = float64(m.RSSKiB-res.Before.RSSKiB) / float64(res.Established)
			res.PSSPerConnKiB = float64(m.PSSKiB-res.Before.PSSKiB) / float64(res.Established)
		}
	}
	if me, err := procMem(o.proc, os.Getpid(), false); err == nil {
		res.ClientRSSKiB = me.RSSKiB
	}

	for k := 0; k < o.rounds && res.Established > 0; k++ {
		r, err := o.deliverRound(ctx, st, k, int64(res.Established))
		if err != nil {
			return res, fmt.Errorf("delivery %d: %w", k+1, err)
		}
		res.Deliveries = append(res.Deliveries, r)
		time.Sleep(time.Second)
	}
	st.mu.Lock()
	res.ErrorSamples = slices.Clone(st.samples)
	st.mu.Unlock()
	return res, nil
}

// hold sets up connection i (LOGIN, SELECT, IDLE per RFC 2177) and then
// reads until the run ends, stamping the arrival of each new EXISTS.
func (s *idleState) hold(ctx context.Context, i int, ip net.IP, sem chan struct{}, bar *progress, setup *sync.WaitGroup) {
	o := s.o
	sem <- struct{}{}
	c, err := func() (*Conn, error) {
		c, err := Dial(ctx, DialOptions{Addr: o.addrFor(i), LocalIP: ip, ReadBuf: 1024, WriteBuf: 256, Timeout: o.timeout})
		if err != nil {
			return nil, err
		}
		if err := c.Login(o.user, o.password); err != nil {
			c.Close()
			return nil, fmt.Errorf("LOGIN: %w", err)
		}
		if err := c.Select(o.mailbox); err != nil {
			c.Close()
			return nil, fmt.Errorf("SELECT: %w", err)
		}
		if _, err := c.IdleStart(); err != nil {
			c.Close()
			return nil, fmt.Errorf("IDLE: %w", err)
		}
		return c, nil
	}()
	<-sem
	bar.Add(1)
	if err != nil {
		s.failed.Add(1)
		s.sample("conn %d from %s: %v", i, ip, err)
		setup.Done()
		return
	}
	s.conns[i].Store(c)
	s.ready.Add(1)
	setup.Done()
	base := c.Exists()
	h := func(r *Resp) error {
		if !r.HasNum || !r.Is("EXISTS") || r.Num <= base {
			return nil
		}
		base = r.Num
		if rd := s.round.Load(); rd != nil {
			if rd.arr[i].Load() == 0 {
				rd.arr[i].Store(max(1, time.Now().UnixNano()-rd.start))
				if rd.count.Add(1) == rd.target {
					close(rd.done)
				}
			}
		}
		return nil
	}
	for {
		if err := c.IdleRead(h); err != nil {
			if s.closing.Load() {
				return
			}
			var pe *ProtocolError
			if errors.As(err, &pe) {
				s.sample("conn %d: %v", i, err)
				continue
			}
			s.sample("conn %d dropped: %v", i, err)
			return
		}
	}
}

// deliverRound delivers one message and waits until every idler has seen
// it as "* N EXISTS" (RFC 2177: the server sends updates while idling).
func (o *idleOpts) deliverRound(ctx context.Context, st *idleState, k int, target int64) (IdleRound, error) {
	rd := &idleRound{arr: make([]atomic.Int64, len(st.conns)), target: target, done: make(chan struct{})}
	gen := NewGenerator(99)
	msg := gen.Sized(k, 2000)

	var deliver func() error
	var cleanup func()
	switch o.deliver {
	case "append":
		// At the first address: with several (a cluster's nodes) the
		// idlers of the others hear of it across nodes.
		c, err := Dial(ctx, DialOptions{Addr: o.addrFor(0), Timeout: o.timeout})
		if err != nil {
			return IdleRound{}, err
		}
		if err := c.Login(o.user, o.password); err != nil {
			c.Close()
			return IdleRound{}, fmt.Errorf("LOGIN %s: %w", o.user, err)
		}
		cleanup = func() { c.Logout() }
		deliver = func() error {
			tag := c.Begin()
			c.WriteString("APPEND " + Quote(o.mailbox) + " ")
			if err := c.Literal(msg); err != nil {
				return err
			}
			if err := c.End(); err != nil {
				return err
			}
			res, err := c.Wait(tag, nil)
			if err != nil {
				return err
			}
			return res.Err()
		}
	case "lmtp":
		lc, err := dialLMTP(ctx, addrList(o.lmtpAddr)[0])
		if err != nil {
			return IdleRound{}, err
		}
		cleanup = func() { lc.Quit() }
		rcpt := o.rcpt
		if rcpt == "" {
			rcpt = o.user
		}
		deliver = func() error {
			if !strings.EqualFold(o.mailbox, "INBOX") {
				return errors.New("-deliver lmtp reaches INBOX only")
			}
			return lmtpSend(lc, "bench@bench.example", []string{rcpt}, msg)
		}
	}
	defer cleanup()

	cpu0, hasCPU := 0.0, false
	if o.srv.pid > 0 {
		cpu0, hasCPU = procCPU(o.proc, o.srv.pid, o.srv.tree, userHZ)
	}
	rd.start = time.Now().UnixNano()
	st.round.Store(rd)
	if err := deliver(); err != nil {
		return IdleRound{}, err
	}
	out := IdleRound{AckMs: ms(time.Now().UnixNano() - rd.start)}
	t := time.NewTimer(o.wait)
	select {
	case <-rd.done:
	case <-t.C:
		out.TimedOut = true
	case <-ctx.Done():
		t.Stop()
		return out, ctx.Err()
	}
	t.Stop()
	if hasCPU {
		if cpu1, ok := procCPU(o.proc, o.srv.pid, o.srv.tree, userHZ); ok {
			out.ServerCPUMs = (cpu1 - cpu0) * 1000
		}
	}
	st.round.Store(nil)
	var got []int64
	for i := range rd.arr {
		if v := rd.arr[i].Load(); v > 0 {
			got = append(got, v)
		}
	}
	slices.Sort(got)
	out.Reached = len(got)
	out.MissedMax = int(target) - len(got)
	if len(got) > 0 {
		out.P50Ms = ms(got[pct(len(got), 50)])
		out.P99Ms = ms(got[pct(len(got), 99)])
		out.AllMs = ms(got[len(got)-1])
	}
	if as := addrList(o.addr); len(as) > 1 {
		for k, a := range as {
			ar := IdleAddrRound{Addr: a}
			var got []int64
			for i := k; i < len(rd.arr); i += len(as) {
				if st.conns[i].Load() == nil {
					continue
				}
				ar.Idlers++
				if v := rd.arr[i].Load(); v > 0 {
					got = append(got, v)
				}
			}
			slices.Sort(got)
			ar.Reached = len(got)
			if len(got) > 0 {
				ar.P50Ms, ar.P99Ms, ar.AllMs = ms(got[pct(len(got), 50)]), ms(got[pct(len(got), 99)]), ms(got[len(got)-1])
			}
			out.ByAddr = append(out.ByAddr, ar)
		}
	}
	return out, nil
}

func printIdle(w io.Writer, server string, r *IdleResult) {
	fmt.Fprintf(w, "%s idle: %d/%d connections established in %.1fs from %d source addresses, %d setup errors\n",
		server, r.Established, r.Conns, r.SetupSeconds, r.SourceIPs, r.SetupErrors)
	if r.Before != nil && r.After != nil {
		fmt.Fprintf(w, "  server memory: %d procs RSS %d KiB PSS %d KiB -> %d procs RSS %d KiB PSS %d KiB; per connection RSS %.1f KiB, PSS %.1f KiB\n",
			r.Before.Procs, r.Before.RSSKiB, r.Before.PSSKiB, r.After.Procs, r.After.RSSKiB, r.After.PSSKiB,
			r.RSSPerConnKiB, r.PSSPerConnKiB)
	}
	fmt.Fprintf(w, "  bench client RSS %d KiB\n", r.ClientRSSKiB)
	for i, d := range r.Deliveries {
		fmt.Fprintf(w, "  delivery %d via %s: ack %.1f ms; reached %d: p50 %.1f ms, p99 %.1f ms, all %.1f ms; missed %d; server CPU %.0f ms\n",
			i+1, r.Deliver, d.AckMs, d.Reached, d.P50Ms, d.P99Ms, d.AllMs, d.MissedMax, d.ServerCPUMs)
		for _, a := range d.ByAddr {
			fmt.Fprintf(w, "    idlers on %s: %d, reached %d: p50 %.1f ms, p99 %.1f ms, all %.1f ms\n",
				a.Addr, a.Idlers, a.Reached, a.P50Ms, a.P99Ms, a.AllMs)
		}
	}
	for _, s := range r.ErrorSamples {
		fmt.Fprintf(w, "  error: %s\n", s)
	}
}
