package bench

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

type bigboxOpts struct {
	common
	user     string
	mailbox  string
	repeat   int
	page     int
	from     string
	subject  string
	body     string
	commonW  string
	word     string
	msgid    string
	inner    string
	onlyOps  string
	cmdLimit time.Duration
	// QRESYNC resync (qresync.go)
	qrChanges  int
	qrExpunges int
	ctx        context.Context
}

func runBigbox(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var o bigboxOpts
	fs := newFlags("bigbox", stderr)
	o.register(fs)
	fs.StringVar(&o.user, "user", "user1", "user owning the big mailbox")
	fs.StringVar(&o.mailbox, "mailbox", "Big", "the big mailbox")
	fs.IntVar(&o.repeat, "repeat", 5, "runs of each operation; the median is reported")
	fs.IntVar(&o.page, "page", 50, "messages per SORT page")
	fs.StringVar(&o.from, "from", NeedleSender, "SEARCH FROM argument")
	fs.StringVar(&o.subject, "subject", SubjectWord, "SEARCH SUBJECT argument")
	fs.StringVar(&o.body, "body", NeedleWord, "SEARCH BODY and SEARCH TEXT (rare word) argument")
	fs.StringVar(&o.commonW, "common", CommonWord, "SEARCH TEXT argument for a common word (thousands of hits)")
	fs.StringVar(&o.word, "word", "", "SEARCH TEXT argument for a rare word, in 1-3 messages (default: the number of the generated Message-ID of the message in the middle of the mailbox, in it and its replies)")
	fs.StringVar(&o.msgid, "msgid", "", "SEARCH TEXT argument for a Message-ID (default: WORD.1@bench, the generator's seed-1 form)")
	fs.StringVar(&o.inner, "inner", InnerWord, "SEARCH TEXT argument found inside longer words (tens of thousands of hits at 1,000,000 messages)")
	fs.StringVar(&o.onlyOps, "ops", "", "comma-separated subset of operations to run (default all)")
	fs.DurationVar(&o.cmdLimit, "cmd-timeout", 15*time.Minute, "deadline for one bigbox command")
	fs.IntVar(&o.qrChanges, "qresync-changes", 1000, "QRESYNC: messages another session changes before the resync (flag changes plus expunges)")
	fs.IntVar(&o.qrExpunges, "qresync-expunges", 100, "QRESYNC: of those, messages expunged (fillers the run appends first)")
	if st := parseFlags(fs, args); st >= 0 {
		return st
	}
	if o.repeat < 1 {
		fmt.Fprintln(stderr, "bench bigbox: -repeat must be at least 1")
		return 2
	}
	snap := o.srv.snap()
	o.ctx = ctx
	res, err := o.run(ctx, stderr)
	rec := Record{Time: time.Now().UTC(), Server: o.server, Scenario: "bigbox", Bigbox: res, Env: envSince(snap)}
	errs := 0
	if err != nil {
		rec.Error = err.Error()
	} else {
		fmt.Fprintf(stdout, "%s bigbox %s/%s: %d messages, median of %d runs (server CPU: mean per run)\n", o.server, o.user, o.mailbox, res.Messages, res.Repeat)
		// The server's CPU comes from /proc in clock ticks (10 ms): a
		// run's figure is mostly 0 or 10 for a command of a few ms, so
		// the column is the mean over the runs (resolution 10 ms/runs).
		fmt.Fprintf(stdout, "  %-16s %10s %10s %9s %14s  %s\n", "op", "first ms", "median ms", "results", "server CPU ms", "note")
		for _, op := range res.Ops {
			note := op.NA + op.Error
			cpu := "-"
			if len(op.ServerCPUMs) > 0 {
				var sum float64
				for _, v := range op.ServerCPUMs {
					sum += v
				}
				cpu = strconv.FormatFloat(sum/float64(len(op.ServerCPUMs)), 'f', 2, 64)
			}
			fmt.Fprintf(stdout, "  %-16s %10.1f %10.1f %9d %14s  %s\n", op.Name, op.FirstMs, op.MedianMs, op.Results, cpu, note)
			if op.Error != "" {
				errs++
			}
		}
		if m := res.ServerMem; m != nil {
			fmt.Fprintf(stdout, "  server memory after: %d processes, RSS %d KiB, PSS %d KiB (mapped files aside)\n", m.Procs, m.RSSKiB, m.PSSKiB)
		}
	}
	return finish(stderr, o.json, rec, errs)
}

// bigOp is one timed operation; run returns the number of results.
type bigOp struct {
	name, cmd string
	needCap   string
	run       func(c *Conn) (int, error)
	// prep, if set, runs untimed before each run; done after the last.
	prep func(c *Conn) error
	done func(c *Conn) error
}

func (o *bigboxOpts) ops() []bigOp {
	sortCmd := "SORT (REVERSE DATE) UTF-8 ALL"
	qr := &qresyncOp{o: o}
	return []bigOp{
		{name: "SELECT", cmd: "SELECT " + Quote(o.mailbox), run: func(c *Conn) (int, error) {
			err := c.Select(o.mailbox)
			return int(c.Exists()), err
		}},
		{name: "FETCH_FLAGS", cmd: "FETCH 1:* (FLAGS)", run: func(c *Conn) (int, error) {
			return fetchAll(c, "FETCH 1:* (FLAGS)", []string{"FLAGS"})
		}},
		{name: "FETCH_ENVELOPE", cmd: "FETCH 1:* (ENVELOPE)", run: func(c *Conn) (int, error) {
			return fetchAll(c, "FETCH 1:* (ENVELOPE)", []string{"ENVELOPE"})
		}},
		{name: "FETCH_LIST", cmd: "FETCH 1:* (UID FLAGS RFC822.SIZE ENVELOPE BODYSTRUCTURE)", run: func(c *Conn) (int, error) {
			return fetchAll(c, "FETCH 1:* (UID FLAGS RFC822.SIZE ENVELOPE BODYSTRUCTURE)",
				[]string{"UID", "FLAGS", "RFC822.SIZE", "ENVELOPE", "BODYSTRUCTURE"})
		}},
		{name: "SEARCH_FROM", cmd: "SEARCH FROM " + Quote(o.from), run: func(c *Conn) (int, error) {
			return search(c, "SEARCH FROM "+Quote(o.from), "SEARCH", false)
		}},
		{name: "SEARCH_SUBJECT", cmd: "SEARCH SUBJECT " + Quote(o.subject), run: func(c *Conn) (int, error) {
			return search(c, "SEARCH SUBJECT "+Quote(o.subject), "SEARCH", false)
		}},
		{name: "SEARCH_UNSEEN", cmd: "SEARCH UNSEEN", run: func(c *Conn) (int, error) {
			return search(c, "SEARCH UNSEEN", "SEARCH", false)
		}},
		{name: "SEARCH_FLAGGED", cmd: "SEARCH FLAGGED", run: func(c *Conn) (int, error) {
			return search(c, "SEARCH FLAGGED", "SEARCH", false)
		}},
		{name: "SEARCH_BODY", cmd: "SEARCH BODY " + Quote(o.body), run: func(c *Conn) (int, error) {
			return search(c, "SEARCH BODY "+Quote(o.body), "SEARCH", false)
		}},
		{name: "SEARCH_TEXT_RARE", cmd: "SEARCH TEXT " + Quote(o.body), run: func(c *Conn) (int, error) {
			return search(c, "SEARCH TEXT "+Quote(o.body), "SEARCH", false)
		}},
		{name: "SEARCH_TEXT_COMMON", cmd: "SEARCH TEXT " + Quote(o.commonW), run: func(c *Conn) (int, error) {
			return search(c, "SEARCH TEXT "+Quote(o.commonW), "SEARCH", false)
		}},
		{name: "SEARCH_TEXT_COUNT", cmd: "UID SEARCH RETURN (COUNT) TEXT " + Quote(o.commonW), needCap: "ESEARCH",
			run: func(c *Conn) (int, error) { return esearchCount(c, "UID SEARCH RETURN (COUNT) TEXT "+Quote(o.commonW)) }},
		{name: "SEARCH_TEXT_WORD", cmd: "SEARCH TEXT " + Quote(o.word), run: func(c *Conn) (int, error) {
			return search(c, "SEARCH TEXT "+Quote(o.word), "SEARCH", false)
		}},
		{name: "SEARCH_TEXT_MSGID", cmd: "SEARCH TEXT " + Quote(o.msgid), run: func(c *Conn) (int, error) {
			return search(c, "SEARCH TEXT "+Quote(o.msgid), "SEARCH", false)
		}},
		{name: "SEARCH_TEXT_INNER", cmd: "SEARCH TEXT " + Quote(o.inner), run: func(c *Conn) (int, error) {
			return search(c, "SEARCH TEXT "+Quote(o.inner), "SEARCH", false)
		}},
		{name: "SORT_FIRST_PAGE", cmd: sortCmd + " + FETCH first " + strconv.Itoa(o.page), needCap: "SORT",
			run: func(c *Conn) (int, error) { return sortPage(c, sortCmd, o.page, true) }},
		{name: "SORT_LAST_PAGE", cmd: sortCmd + " + FETCH last " + strconv.Itoa(o.page), needCap: "SORT",
			run: func(c *Conn) (int, error) { return sortPage(c, sortCmd, o.page, false) }},
		// Last: it changes flags and expunges (and puts them back).
		{name: "QRESYNC", cmd: fmt.Sprintf("SELECT %s (QRESYNC (uidvalidity modseq)) after %d changes by another session (%d expunges)",
			Quote(o.mailbox), o.qrChanges, o.qrExpunges), needCap: "QRESYNC",
			run: qr.run, prep: qr.prep, done: qr.done},
	}
}

func (o *bigboxOpts) run(ctx context.Context, stderr io.Writer) (*BigboxResult, error) {
	c, err := o.login(ctx, o.user)
	if err != nil {
		return nil, err
	}
	defer func() { c.Logout() }()
	c.SetTimeout(o.cmdLimit)
	// Time each operation to the last byte of its answer; the answer is
	// parsed and checked after that (Conn.ReadAhead).
	c.SetReadAhead(true)
	if err := c.Select(o.mailbox); err != nil {
		return nil, fmt.Errorf("SELECT %s: %w", o.mailbox, err)
	}
	res := &BigboxResult{User: o.user, Mailbox: o.mailbox, Messages: int(c.Exists()), Repeat: o.repeat}
	if o.word == "" {
		// The generator's Message-ID of message i is <i.SEED@bench.example>
		// (msgID); its number is a word of that message and of the
		// In-Reply-To and References of its replies.
		o.word = strconv.Itoa(max(res.Messages/2-1, 0))
	}
	if o.msgid == "" {
		o.msgid = o.word + ".1@bench"
	}
	want := map[string]bool{}
	for _, s := range strings.Split(o.onlyOps, ",") {
		if s = strings.TrimSpace(s); s != "" {
			want[strings.ToUpper(s)] = true
		}
	}
	ops := o.ops()
	bar := startProgress(stderr, o.progress, "bigbox "+o.server, int64(len(ops)*o.repeat))
	defer bar.Finish()
	for _, op := range ops {
		if len(want) > 0 && !want[op.name] {
			continue
		}
		r := BigboxOp{Name: op.name, Command: op.cmd}
		if op.needCap != "" {
			ok, err := c.HasCap(op.needCap)
			if err != nil {
				return res, err
			}
			if !ok {
				r.NA = "n/a: server does not advertise " + op.needCap
				res.Ops = append(res.Ops, r)
				bar.Add(o.repeat)
				continue
			}
		}
		for k := 0; k < o.repeat; k++ {
			if ctx.Err() != nil {
				return res, ctx.Err()
			}
			if op.prep != nil {
				if err := op.prep(c); err != nil {
					r.Error = "preparing: " + err.Error()
					break
				}
			}
			var cpu0 cpuSnap
			if o.srv.pid > 0 {
				cpu0 = o.srv.snap()
			}
			t0 := time.Now()
			n, err := op.run(c)
			end := time.Now()
			if a := c.AnsweredAt(); a.After(t0) {
				// The last answer's bytes had all arrived at a; the
				// parse and checks after it are the load tool's time.
				end = a
			}
			d := ms(int64(end.Sub(t0)))
			if o.srv.pid > 0 {
				if cpu1 := o.srv.snap(); cpu0.hasSrv && cpu1.hasSrv {
					r.ServerCPUMs = append(r.ServerCPUMs, (cpu1.server-cpu0.server)*1000)
				}
			}
			bar.Add(1)
			if err != nil {
				r.Error = err.Error()
				if _, ok := err.(*StatusError); !ok {
					// The connection may be out of step: start afresh.
					c.Close()
					if c, err = o.login(ctx, o.user); err != nil {
						return res, err
					}
					c.SetTimeout(o.cmdLimit)
					c.SetReadAhead(true)
					if err := c.Select(o.mailbox); err != nil {
						return res, err
					}
				}
				break
			}
			if k > 0 && n != r.Results {
				r.Error = fmt.Sprintf("run %d returned %d results, run 1 returned %d", k+1, n, r.Results)
			}
			r.Results = n
			r.RunsMs = append(r.RunsMs, d)
		}
		if op.done != nil {
			if err := op.done(c); err != nil && r.Error == "" {
				r.Error = "cleaning up: " + err.Error()
			}
		}
		if len(r.RunsMs) > 0 {
			r.FirstMs = r.RunsMs[0]
			r.MedianMs = median(r.RunsMs)
		}
		res.Ops = append(res.Ops, r)
	}
	if o.srv.pid > 0 {
		if m, err := o.srv.mem("/proc"); err == nil {
			res.ServerMem = &m
		}
	}
	return res, nil
}

// fetchAll runs a FETCH over every message and checks that each message
// answers once with every item asked for (RFC 9051 §6.4.5).
func fetchAll(c *Conn, cmd string, items []string) (int, error) {
	n := c.Exists()
	seen := make([]bool, n+1)
	count := 0
	err := c.Exec(func(r *Resp) error {
		if !r.Is("FETCH") {
			return nil
		}
		got := 0
		err := fetchItems(r.Rest, func(name []byte, v Value) error {
			for _, it := range items {
				if !asciiEqualFold(name, it) {
					continue
				}
				got++
				switch it {
				case "ENVELOPE":
					if k, err := listLen(v); err != nil || k != 10 {
						return protoErrf("FETCH %d: ENVELOPE with %d fields (want 10): %v", r.Num, k, err)
					}
				case "FLAGS", "BODYSTRUCTURE":
					if _, err := listLen(v); err != nil {
						return err
					}
				case "UID", "RFC822.SIZE":
					if _, ok := parseUint32(v.Raw); !ok {
						return protoErrf("FETCH %d: bad %s %q", r.Num, it, clip(v.Raw))
					}
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		if got == 0 {
			return nil // an unsolicited update
		}
		if got != len(items) {
			return protoErrf("FETCH %d carries %d of the %d items asked", r.Num, got, len(items))
		}
		if r.Num <= n && !seen[r.Num] {
			seen[r.Num] = true
			count++
		}
		return nil
	}, cmd)
	if err != nil {
		return count, err
	}
	if count != int(n) {
		return count, syncErrf("%s answered for %d of %d messages", cmd, count, n)
	}
	return count, nil
}

// search runs SEARCH or SORT and checks every number is in the view.
func search(c *Conn, cmd, word string, unique bool) (int, error) {
	n := c.Exists()
	count := 0
	var seen []bool
	if unique {
		seen = make([]bool, n+1)
	}
	err := c.Exec(func(r *Resp) error {
		if !r.Is(word) {
			return nil
		}
		return numbers(r.Rest, func(v uint32) error {
			if v > n {
				return protoErrf("%s result %d beyond EXISTS %d", word, v, n)
			}
			if unique {
				if seen[v] {
					return protoErrf("%s result %d twice", word, v)
				}
				seen[v] = true
			}
			count++
			return nil
		})
	}, cmd)
	return count, err
}

// esearchCount runs a SEARCH with RETURN (COUNT) and returns the COUNT
// of its ESEARCH response (RFC 4731 §3.1).
func esearchCount(c *Conn, cmd string) (int, error) {
	count, seen := 0, false
	err := c.Exec(func(r *Resp) error {
		if !r.Is("ESEARCH") {
			return nil
		}
		f := strings.Fields(string(r.Rest))
		for i := 0; i+1 < len(f); i++ {
			if strings.EqualFold(f[i], "COUNT") {
				n, err := strconv.Atoi(f[i+1])
				if err != nil || n < 0 {
					return protoErrf("ESEARCH COUNT %q", f[i+1])
				}
				count, seen = n, true
			}
		}
		return nil
	}, cmd)
	if err == nil && !seen {
		err = protoErrf("no ESEARCH COUNT in the answer to %s", cmd)
	}
	return count, err
}

// sortPage sorts the whole mailbox (RFC 5256 §3) and fetches the first or
// last page of the result, as a client showing newest-first does.
func sortPage(c *Conn, cmd string, page int, first bool) (int, error) {
	n := c.Exists()
	var order []uint32
	err := c.Exec(func(r *Resp) error {
		if !r.Is("SORT") {
			return nil
		}
		return numbers(r.Rest, func(v uint32) error {
			if v > n {
				return protoErrf("SORT result %d beyond EXISTS %d", v, n)
			}
			order = append(order, v)
			return nil
		})
	}, cmd)
	if err != nil {
		return 0, err
	}
	if len(order) != int(n) {
		return 0, syncErrf("SORT ALL returned %d of %d messages", len(order), n)
	}
	if len(order) == 0 {
		return 0, nil
	}
	var sel []uint32
	if first {
		sel = order[:min(page, len(order))]
	} else {
		sel = order[max(0, len(order)-page):]
	}
	var set strings.Builder
	want := map[uint32]bool{}
	for i, v := range sel {
		if i > 0 {
			set.WriteByte(',')
		}
		set.WriteString(strconv.FormatUint(uint64(v), 10))
		want[v] = true
	}
	got := 0
	err = c.Exec(func(r *Resp) error {
		if r.Is("FETCH") && want[r.Num] {
			delete(want, r.Num)
			got++
		}
		return nil
	}, "FETCH "+set.String()+" (UID FLAGS ENVELOPE)")
	if err != nil {
		return got, err
	}
	if len(want) > 0 {
		return got, syncErrf("page FETCH missed %d messages", len(want))
	}
	return got, nil
}
