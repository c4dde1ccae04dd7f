package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"time"
)

// mix operations. CONNECT is the TCP connect plus greeting.
const (
	opConnect = iota
	opLogin
	opSelect
	opList
	opStatus
	opFetchEnv
	opFetchBody
	opStore
	opExpunge
	opAppend
	opLogout
	// The -profile imaptest operations (mix_imaptest.go).
	opFetch
	opFetch2
	opDelete
	nOps
)

var opNames = [nOps]string{"CONNECT", "LOGIN", "SELECT", "LIST", "STATUS", "FETCH_ENV", "FETCH_BODY",
	"STORE", "EXPUNGE", "APPEND", "LOGOUT", "FETCH", "FETCH2", "DELETE"}

// defaultWeights is the default command mix: mostly reading, as a mail
// client does, with enough writes to exercise flags, expunge and append.
// APPEND and EXPUNGE balance so the mailbox size stays level.
const defaultWeights = "SELECT=5,LIST=5,STATUS=5,FETCH_ENV=30,FETCH_BODY=20,STORE=20,EXPUNGE=5,APPEND=5"

type mixOpts struct {
	common
	clients     int
	users       int
	firstUser   int
	duration    time.Duration
	mode        string
	opsPerCycle int
	mailbox     string
	statusBox   string
	weights     string
	page        int
	seed        uint64
	profile     string
}

func runMix(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var o mixOpts
	fs := newFlags("mix", stderr)
	o.register(fs)
	fs.IntVar(&o.clients, "clients", 10, "concurrent clients")
	fs.IntVar(&o.users, "users", 0, "distinct users (client i uses user first+i mod users); 0 means one per client")
	fs.IntVar(&o.firstUser, "first-user", 1, "number of the first user")
	fs.DurationVar(&o.duration, "duration", 20*time.Second, "measured run time")
	fs.StringVar(&o.mode, "mode", "session", "session: long-lived logins; cycle: connect, LOGIN, SELECT, ops, LOGOUT each cycle")
	fs.IntVar(&o.opsPerCycle, "ops-per-cycle", 5, "weighted operations per cycle in cycle mode")
	fs.StringVar(&o.mailbox, "mailbox", "INBOX", "mailbox the clients select")
	fs.StringVar(&o.statusBox, "status-mailbox", "Archive", "mailbox asked with STATUS (created if missing)")
	fs.StringVar(&o.weights, "weights", defaultWeights, "operation weights")
	fs.IntVar(&o.page, "page", 20, "messages per FETCH_ENV page")
	fs.Uint64Var(&o.seed, "seed", 1, "random seed")
	fs.StringVar(&o.profile, "profile", "weights", `"weights": operations drawn by -weights; "imaptest": imaptest's stress cycle, pipelined as imaptest sends it (session mode; -weights is ignored)`)
	if st := parseFlags(fs, args); st >= 0 {
		return st
	}
	if o.mode != "session" && o.mode != "cycle" {
		fmt.Fprintf(stderr, "bench mix: -mode must be session or cycle\n")
		return 2
	}
	if o.profile != "weights" && o.profile != "imaptest" {
		fmt.Fprintf(stderr, "bench mix: -profile must be weights or imaptest\n")
		return 2
	}
	if o.profile == "imaptest" && o.mode != "session" {
		fmt.Fprintf(stderr, "bench mix: -profile imaptest runs in session mode (imaptest's logout=0)\n")
		return 2
	}
	if o.users <= 0 {
		o.users = o.clients
	}
	weights, err := parseWeights(o.weights)
	if err != nil {
		fmt.Fprintf(stderr, "bench mix: %v\n", err)
		return 2
	}
	// The server's CPU is counted from the end of the session setup:
	// LOGIN's password hashing (tens of milliseconds each) is not a mix
	// operation, and a node restarted with a cold login cache would
	// otherwise pay it in its per-operation cost.
	snap := o.srv.snap()
	res, err := o.run(ctx, weights, stderr, func() { snap = o.srv.snap() })
	rec := Record{Time: time.Now().UTC(), Server: o.server, Scenario: "mix", Mix: res, Env: envSince(snap)}
	if err != nil {
		rec.Error = err.Error()
	} else {
		printMix(stdout, o.server, res)
	}
	errs := 0
	if res != nil {
		errs = res.Errors
	}
	return finish(stderr, o.json, rec, errs)
}

func parseWeights(s string) ([nOps]int, error) {
	var w [nOps]int
	total := 0
	for _, part := range strings.Split(s, ",") {
		name, val, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return w, fmt.Errorf("bad weight %q (want NAME=N)", part)
		}
		n, err := strconv.Atoi(val)
		if err != nil || n < 0 {
			return w, fmt.Errorf("bad weight %q", part)
		}
		found := false
		for i, on := range opNames {
			if strings.EqualFold(on, name) {
				switch i {
				case opConnect, opLogin, opLogout:
					return w, fmt.Errorf("%s is part of every cycle, not a weighted operation", on)
				case opFetch, opFetch2, opDelete:
					return w, fmt.Errorf("%s belongs to -profile imaptest, not to the weights", on)
				}
				w[i], found = n, true
			}
		}
		if !found {
			return w, fmt.Errorf("unknown operation %q", name)
		}
		total += n
	}
	if total == 0 {
		return w, errors.New("all weights are zero")
	}
	return w, nil
}

type mixClient struct {
	o       *mixOpts
	id      int
	user    string
	r       *rand.Rand
	gen     *Generator
	cum     [nOps]int
	conn    *Conn
	lat     [nOps][]int64
	errs    [nOps]int
	samples []string
	reconn  int
	appendN int
	record  bool
	created bool
}

// run runs the mix; measured, if set, is called when the measured part
// starts (in session mode, after every client has logged in).
func (o *mixOpts) run(ctx context.Context, weights [nOps]int, stderr io.Writer, measured func()) (*MixResult, error) {
	clients := make([]*mixClient, o.clients)
	total := 0
	var cum [nOps]int
	for i, w := range weights {
		total += w
		cum[i] = total
	}
	for i := range clients {
		clients[i] = &mixClient{
			o: o, id: i, user: o.user(o.firstUser + i%o.users),
			r:   rand.New(rand.NewPCG(o.seed, uint64(i))),
			gen: NewGenerator(o.seed + 1000),
			cum: cum,
		}
	}

	// Session mode: log everyone in first, then measure the steady state.
	if o.mode == "session" {
		var wg sync.WaitGroup
		setupErr := make([]error, len(clients))
		sem := make(chan struct{}, 32)
		for i, c := range clients {
			wg.Add(1)
			go func() {
				defer wg.Done()
				sem <- struct{}{}
				defer func() { <-sem }()
				setupErr[i] = c.setup(ctx)
			}()
		}
		wg.Wait()
		for _, err := range setupErr {
			if err != nil {
				return nil, fmt.Errorf("session setup: %w", err)
			}
		}
	}

	if measured != nil {
		measured()
	}
	cpu0 := cpuSeconds()
	start := time.Now()
	deadline := start.Add(o.duration)
	var wg sync.WaitGroup
	for _, c := range clients {
		c.record = true
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.loop(ctx, deadline)
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	cpu := cpuSeconds() - cpu0
	for _, c := range clients {
		if c.conn != nil {
			c.record = false
			c.conn.Logout()
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	res := &MixResult{Mode: o.mode, Clients: o.clients, Users: o.users, Seconds: elapsed.Seconds(), ClientCPU: cpu}
	for op := 0; op < nOps; op++ {
		var all []int64
		errs := 0
		for _, c := range clients {
			all = append(all, c.lat[op]...)
			errs += c.errs[op]
		}
		if len(all) == 0 && errs == 0 {
			continue
		}
		st := summarize(opNames[op], all, errs, elapsed)
		res.PerOp = append(res.PerOp, st)
		res.Ops += st.Count
		res.Errors += errs
	}
	for _, c := range clients {
		res.Reconnects += c.reconn
		for _, s := range c.samples {
			if len(res.ErrorSamples) < 20 {
				res.ErrorSamples = append(res.ErrorSamples, s)
			}
		}
	}
	res.OpsPerSec = float64(res.Ops) / elapsed.Seconds()
	return res, nil
}

// timed runs f as operation op and records its latency or error. It
// reports whether the connection is still usable.
func (c *mixClient) timed(op int, f func() error) bool {
	t0 := time.Now()
	err := f()
	d := time.Since(t0)
	if err == nil {
		if c.record {
			c.lat[op] = append(c.lat[op], int64(d))
		}
		return true
	}
	c.errs[op]++
	if len(c.samples) < 5 {
		c.samples = append(c.samples, fmt.Sprintf("%s %s: %v", opNames[op], c.user, err))
	}
	var se *StatusError
	var pe *ProtocolError
	if errors.As(err, &se) || (errors.As(err, &pe) && pe.InSync) {
		return true
	}
	if c.conn != nil {
		c.conn.Close()
		c.conn = nil
	}
	return false
}

// setup connects, logs in, makes sure the STATUS mailbox exists and
// selects the mailbox.
func (c *mixClient) setup(ctx context.Context) error {
	var err error
	ok := c.timed(opConnect, func() error {
		c.conn, err = c.o.dial(ctx)
		return err
	})
	if !ok {
		return err
	}
	if !c.timed(opLogin, func() error { return c.conn.Login(c.user, c.o.password) }) {
		return errors.New("login failed: " + c.samples[len(c.samples)-1])
	}
	if _, err := c.conn.HasCap("IMAP4REV1"); err != nil {
		return err
	}
	if c.o.statusBox != "" && !c.created {
		c.conn.Exec(nil, "CREATE "+Quote(c.o.statusBox)) // exists already is fine
		c.created = true
	}
	if !c.timed(opSelect, func() error { return c.conn.Select(c.o.mailbox) }) {
		return errors.New("select failed")
	}
	return nil
}

func (c *mixClient) pick() int {
	n := c.r.IntN(c.cum[nOps-1])
	for op, v := range c.cum {
		if n < v {
			return op
		}
	}
	return opFetchEnv
}

func (c *mixClient) loop(ctx context.Context, deadline time.Time) {
	for time.Now().Before(deadline) && ctx.Err() == nil {
		if c.o.mode == "cycle" {
			if err := c.setup(ctx); err != nil {
				if c.conn != nil {
					c.conn.Close()
					c.conn = nil
				}
				time.Sleep(10 * time.Millisecond)
				continue
			}
			for k := 0; k < c.o.opsPerCycle && c.conn != nil; k++ {
				c.do(c.pick())
			}
			if c.conn != nil {
				c.timed(opLogout, func() error { return c.conn.Logout() })
				c.conn = nil
			}
			continue
		}
		if c.conn == nil {
			c.reconn++
			if err := c.setup(ctx); err != nil {
				if c.conn != nil {
					c.conn.Close()
					c.conn = nil
				}
				time.Sleep(50 * time.Millisecond)
				continue
			}
		}
		if c.o.profile == "imaptest" {
			c.imaptestCycle()
			continue
		}
		c.do(c.pick())
	}
}

// seq picks a random sequence number in the current view.
func (c *mixClient) seq() uint32 { return 1 + uint32(c.r.IntN(int(c.conn.Exists()))) }

func (c *mixClient) do(op int) {
	cn := c.conn
	n := cn.Exists()
	switch {
	case (op == opFetchEnv || op == opFetchBody || op == opStore) && n == 0:
		op = opAppend
	case op == opExpunge && n < 5:
		op = opAppend
	}
	switch op {
	case opSelect:
		c.timed(op, func() error { return cn.Select(c.o.mailbox) })
	case opList:
		c.timed(op, func() error { return c.list(cn) })
	case opStatus:
		c.timed(op, func() error { return c.status(cn) })
	case opFetchEnv:
		c.timed(op, func() error { return c.fetchEnv(cn) })
	case opFetchBody:
		c.timed(op, func() error { return c.fetchBody(cn) })
	case opStore:
		c.timed(op, func() error { return c.store(cn) })
	case opExpunge:
		s := c.seq()
		if !c.timed(opStore, func() error {
			return cn.Exec(nil, "STORE "+strconv.FormatUint(uint64(s), 10)+` +FLAGS.SILENT (\Deleted)`)
		}) {
			return
		}
		c.timed(op, func() error { return c.expunge(cn) })
	case opAppend:
		c.timed(op, func() error { return c.append(cn) })
	}
}

// list: LIST "" "*" (RFC 9051 §6.3.9) must name at least INBOX.
func (c *mixClient) list(cn *Conn) error {
	n := 0
	inbox := false
	err := cn.Exec(func(r *Resp) error {
		if !r.Is("LIST") {
			return nil
		}
		n++
		// mailbox-list = "(" [mbx-list-flags] ")" SP (DQUOTE QUOTED-CHAR DQUOTE / nil) SP mailbox
		v, j, err := skipValue(r.Rest, 0, 0)
		if err != nil {
			return err
		}
		if _, err := listLen(v); err != nil {
			return err
		}
		if j >= len(r.Rest) || r.Rest[j] != ' ' {
			return protoErrf("malformed LIST %q", clip(r.Raw))
		}
		if _, j, err = skipValue(r.Rest, j+1, 0); err != nil {
			return err
		}
		if j >= len(r.Rest) || r.Rest[j] != ' ' {
			return protoErrf("malformed LIST %q", clip(r.Raw))
		}
		name, _, err := skipValue(r.Rest, j+1, 0)
		if err != nil {
			return err
		}
		if asciiEqualFold(name.Raw, "INBOX") {
			inbox = true
		}
		return nil
	}, `LIST "" "*"`)
	if err != nil {
		return err
	}
	if n == 0 || !inbox {
		return syncErrf("LIST returned %d mailboxes without INBOX", n)
	}
	return nil
}

// status: STATUS (RFC 9051 §6.3.11) must answer with one STATUS response.
func (c *mixClient) status(cn *Conn) error {
	n := 0
	err := cn.Exec(func(r *Resp) error {
		if !r.Is("STATUS") {
			return nil
		}
		n++
		_, j, err := skipValue(r.Rest, 0, 0)
		if err != nil {
			return err
		}
		if j >= len(r.Rest) || r.Rest[j] != ' ' {
			return protoErrf("malformed STATUS %q", clip(r.Raw))
		}
		v, _, err := skipValue(r.Rest, j+1, 0)
		if err != nil {
			return err
		}
		if k, err := listLen(v); err != nil || k != 6 {
			return protoErrf("STATUS asked for 3 items, got %q", clip(r.Raw))
		}
		return nil
	}, "STATUS "+Quote(c.o.statusBox)+" (MESSAGES UIDNEXT UNSEEN)")
	if err != nil {
		return err
	}
	if n != 1 {
		return syncErrf("STATUS returned %d STATUS responses", n)
	}
	return nil
}

// fetchEnv fetches a page of envelopes and checks every message answers
// exactly once with the items asked for.
func (c *mixClient) fetchEnv(cn *Conn) error {
	ex := cn.Exists()
	a := c.seq()
	b := min(a+uint32(c.o.page)-1, ex)
	seen := make([]bool, b-a+1)
	err := cn.Exec(func(r *Resp) error {
		if !r.Is("FETCH") {
			return nil
		}
		if r.Num < a || r.Num > b {
			return flagUpdateOnly(r, a, b)
		}
		if seen[r.Num-a] {
			return nil // flag updates may come as extra FETCHes
		}
		seen[r.Num-a] = true
		var got int
		err := fetchItems(r.Rest, func(name []byte, v Value) error {
			switch {
			case asciiEqualFold(name, "UID"), asciiEqualFold(name, "RFC822.SIZE"):
				if _, ok := parseUint32(v.Raw); !ok {
					return protoErrf("bad %s %q", name, clip(v.Raw))
				}
				got++
			case asciiEqualFold(name, "FLAGS"):
				if _, err := listLen(v); err != nil {
					return err
				}
				if err := cn.CheckAnnounced(v.Raw); err != nil {
					return err
				}
				got++
			case asciiEqualFold(name, "ENVELOPE"):
				if k, err := listLen(v); err != nil || k != 10 {
					return protoErrf("ENVELOPE with %d fields (want 10): %v", k, err)
				}
				got++
			}
			return nil
		})
		if err != nil {
			return err
		}
		if got != 4 {
			return protoErrf("FETCH %d carries %d of the 4 items asked", r.Num, got)
		}
		return nil
	}, fmt.Sprintf("FETCH %d:%d (UID FLAGS RFC822.SIZE ENVELOPE)", a, b))
	if err != nil {
		return err
	}
	for i, s := range seen {
		if !s {
			return syncErrf("FETCH %d:%d: no answer for %d", a, b, a+uint32(i))
		}
	}
	return nil
}

// fetchBody fetches a whole message and checks the literal against
// RFC822.SIZE (RFC 9051 §7.5.2: the size is that of the body as returned).
func (c *mixClient) fetchBody(cn *Conn) error {
	s := c.seq()
	got := false
	err := cn.Exec(func(r *Resp) error {
		if !r.Is("FETCH") || r.Num != s {
			return nil
		}
		size, body := -1, -1
		err := fetchItems(r.Rest, func(name []byte, v Value) error {
			switch {
			case asciiEqualFold(name, "RFC822.SIZE"):
				n, ok := parseUint32(v.Raw)
				if !ok {
					return protoErrf("bad RFC822.SIZE %q", clip(v.Raw))
				}
				size = int(n)
			case asciiEqualFold(name, "BODY[]"):
				body = len(v.Raw)
			}
			return nil
		})
		if err != nil {
			return err
		}
		if size < 0 && body < 0 {
			return nil // an unsolicited flag update
		}
		got = true
		if body < 0 || size < 0 {
			return protoErrf("FETCH %d lacks BODY[] or RFC822.SIZE", s)
		}
		if body != size {
			return protoErrf("FETCH %d: BODY[] has %d bytes, RFC822.SIZE says %d", s, body, size)
		}
		return nil
	}, "FETCH "+strconv.FormatUint(uint64(s), 10)+" (UID RFC822.SIZE BODY.PEEK[])")
	if err != nil {
		return err
	}
	if !got {
		return syncErrf("FETCH %d BODY.PEEK[] returned no body", s)
	}
	return nil
}

var storeFlags = []string{`\Seen`, `\Flagged`, `\Answered`, `$label2`}

// store sets or clears a flag and checks the FETCH the server returns
// (RFC 9051 §6.4.6).
func (c *mixClient) store(cn *Conn) error {
	s := c.seq()
	flag := storeFlags[c.r.IntN(len(storeFlags))]
	add := c.r.IntN(2) == 0
	sign := "-"
	if add {
		sign = "+"
	}
	err := cn.Exec(func(r *Resp) error {
		if !r.Is("FETCH") || r.Num != s {
			return nil
		}
		return fetchItems(r.Rest, func(name []byte, v Value) error {
			if !asciiEqualFold(name, "FLAGS") {
				return nil
			}
			if _, err := listLen(v); err != nil {
				return err
			}
			if err := cn.CheckAnnounced(v.Raw); err != nil {
				return err
			}
			has := hasFlag(v.Raw, flag)
			if has != add {
				return protoErrf("STORE %s%s: FETCH FLAGS %s", sign, flag, clip(v.Raw))
			}
			return nil
		})
	}, "STORE "+strconv.FormatUint(uint64(s), 10)+" "+sign+"FLAGS ("+flag+")")
	return err
}

// hasFlag reports whether the FLAGS list raw ("(\Seen $x)") holds flag.
func hasFlag(raw []byte, flag string) bool {
	if len(raw) < 2 {
		return false
	}
	for _, f := range strings.Fields(string(raw[1 : len(raw)-1])) {
		if strings.EqualFold(f, flag) {
			return true
		}
	}
	return false
}

// expunge expects at least one EXPUNGE response (the message marked just
// before); the connection's bookkeeping checks each one.
func (c *mixClient) expunge(cn *Conn) error {
	n := 0
	before := cn.Exists()
	err := cn.Exec(func(r *Resp) error {
		if r.Is("EXPUNGE") {
			n++
		}
		return nil
	}, "EXPUNGE")
	if err != nil {
		return err
	}
	if n == 0 {
		return syncErrf("EXPUNGE removed nothing (EXISTS %d)", before)
	}
	return nil
}

// append stores a freshly generated message in the selected mailbox.
func (c *mixClient) append(cn *Conn) error {
	c.appendN++
	m := c.gen.Message(c.id*1_000_000 + c.appendN)
	tag := cn.Begin()
	cn.WriteString("APPEND " + Quote(c.o.mailbox) + " (" + strings.Join(m.Flags, " ") + ") " + imapDate(m.Date) + " ")
	if err := cn.Literal(m.Body); err != nil {
		return err
	}
	if err := cn.End(); err != nil {
		return err
	}
	res, err := cn.Wait(tag, nil)
	if err != nil {
		return err
	}
	return res.Err()
}

func printMix(w io.Writer, server string, r *MixResult) {
	fmt.Fprintf(w, "%s mix mode=%s clients=%d users=%d: %.0f ops/s total, %d ops in %.1fs, %d errors, %d reconnects; bench tool CPU %.1fs\n",
		server, r.Mode, r.Clients, r.Users, r.OpsPerSec, r.Ops, r.Seconds, r.Errors, r.Reconnects, r.ClientCPU)
	fmt.Fprintf(w, "  %-11s %8s %9s %7s %8s %8s %8s\n", "op", "count", "ops/s", "errors", "p50 ms", "p99 ms", "max ms")
	for _, s := range r.PerOp {
		fmt.Fprintf(w, "  %-11s %8d %9.1f %7d %8.2f %8.2f %8.1f\n", s.Name, s.Count, s.OpsPerSec, s.Errors, s.P50Ms, s.P99Ms, s.MaxMs)
	}
	for _, s := range r.ErrorSamples {
		fmt.Fprintf(w, "  error: %s\n", s)
	}
}

// flagUpdateOnly accepts a FETCH response for a message outside the range
// a FETCH asked for only if it is a flag update: another session changed
// that message's flags, and RFC 9051 §7.5.2 lets the server send such
// FETCH responses at any time (only EXPUNGE is barred during FETCH,
// §7.5.1). Anything else there is an error.
func flagUpdateOnly(r *Resp, a, b uint32) error {
	return fetchItems(r.Rest, func(name []byte, v Value) error {
		switch {
		case asciiEqualFold(name, "FLAGS"), asciiEqualFold(name, "UID"), asciiEqualFold(name, "MODSEQ"):
			return nil
		}
		return protoErrf("FETCH %d outside the asked %d:%d carries %s", r.Num, a, b, name)
	})
}
