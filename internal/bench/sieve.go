package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
)

// SieveRules50 is the 50-rule Sieve script (RFC 5228) of the delivery
// benchmarks: internal/filter's BenchmarkLMTPSieve, internal/oracle's
// comparison with Pigeonhole and the sieve scenario here. Rules 0, 3, 6,
// ... file a message whose Subject contains "topicN" into Topics/tN,
// rules 1, 4, 7, ... a message from the domain listN.example.org into
// Lists/lN (fileinto :create, RFC 5490 §3), rules 2, 5, 8, ... flag a
// large message from a bot (never, in the benchmarks: they send no
// X-Mailer); the last rule flags $Bench (RFC 5232) when the Subject
// contains last. It uses only extensions Pigeonhole 0.5.19 has
// (fileinto, imap4flags, mailbox), so Dovecot runs the same script.
func SieveRules50(last string) string {
	var b strings.Builder
	b.WriteString("require [\"fileinto\", \"imap4flags\", \"mailbox\"];\n")
	for i := range 50 {
		switch i % 3 {
		case 0:
			fmt.Fprintf(&b, "if header :contains \"subject\" \"topic%d\" { fileinto :create \"Topics/t%d\"; stop; }\n", i, i)
		case 1:
			fmt.Fprintf(&b, "if address :domain :is \"from\" \"list%d.example.org\" { fileinto :create \"Lists/l%d\"; stop; }\n", i, i)
		default:
			fmt.Fprintf(&b, "if allof (size :over %dK, header :matches \"x-mailer\" \"*bot%d*\") { addflag \"$Big\"; }\n", 100+i, i)
		}
	}
	fmt.Fprintf(&b, "if header :contains \"subject\" %q { addflag \"$Bench\"; }\n", last)
	return b.String()
}

// The sieve scenario's message kinds. Most messages run through all 50
// rules and get $Bench; one in eight is filed by a topic rule and one in
// eight by a list rule, so that the placement check sees the script's
// fileinto as well as its flag.
var (
	sieveTopics = []int{0, 3, 6, 9} // single digits: "topic3" is in no other rule's "topicN"
	sieveLists  = []int{1, 4, 7}    // From: news@listN.example.org
	sieveBoxes  = func() []string { // every folder the scenario's messages go to
		var out []string
		for _, t := range sieveTopics {
			out = append(out, fmt.Sprintf("Topics/t%d", t))
		}
		for _, l := range sieveLists {
			out = append(out, fmt.Sprintf("Lists/l%d", l))
		}
		return out
	}()
)

// sieveFlagged is the placement key of a message kept in INBOX with
// $Bench.
const sieveFlagged = "INBOX $Bench"

// sieveMessage is message n of the sieve scenario, about size bytes, and
// where the 50-rule script puts it: a folder of sieveBoxes or
// sieveFlagged.
func sieveMessage(gen *Generator, n, size int) ([]byte, string) {
	r := gen.rng(n, 17)
	from, subject, target := "Bench Sender <sender@bench.example>", "bench "+strconv.Itoa(n), sieveFlagged
	switch r.IntN(8) {
	case 0:
		t := sieveTopics[r.IntN(len(sieveTopics))]
		subject, target = fmt.Sprintf("topic%d news %d", t, n), fmt.Sprintf("Topics/t%d", t)
	case 4:
		l := sieveLists[r.IntN(len(sieveLists))]
		from, subject, target = fmt.Sprintf("List %d <news@list%d.example.org>", l, l), "weekly digest", fmt.Sprintf("Lists/l%d", l)
	}
	var b bytes.Buffer
	b.Grow(size + 512)
	b.WriteString("Date: " + gen.Start.Add(time.Duration(n)*time.Second).Format(time.RFC1123Z) + "\r\n")
	b.WriteString("From: " + from + "\r\nTo: <user@localhost>\r\nSubject: " + subject + "\r\n")
	b.WriteString("Message-ID: <sieve." + strconv.Itoa(n) + "." + strconv.FormatUint(gen.Seed, 10) + "@bench.example>\r\n")
	b.WriteString("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n")
	paragraphs(&b, r, max(size-b.Len(), 1), false, false, "\r\n")
	return b.Bytes(), target
}

// SieveResult is the outcome of the sieve scenario: LMTP delivery to
// users with (Script) or without the 50-rule script active, and whether
// every delivered message ended where the script (or its absence) puts it.
type SieveResult struct {
	Script bool       `json:"script"`
	Users  int        `json:"users"`
	LMTP   LMTPResult `json:"lmtp"`
	// ServerUsPerMsg is the server's CPU time per delivery (-1 if the
	// server's PID was not given).
	ServerUsPerMsg float64     `json:"server_us_per_msg"`
	Check          *SieveCheck `json:"check,omitempty"`
}

// SieveCheck compares, over IMAP, what each user's mailboxes gained
// during the run with what the script says should have happened to the
// messages that got 250. The keys are mailbox names and sieveFlagged;
// the counts are summed over the users, the comparison is per user.
type SieveCheck struct {
	OK         bool           `json:"ok"`
	Expected   map[string]int `json:"expected"`
	Got        map[string]int `json:"got"`
	Mismatches []string       `json:"mismatches,omitempty"` // the first few, per user
}

type sieveOpts struct {
	lmtpOpts
	script   bool
	imap     string
	userFmt  string
	password string
	print    bool
	noCheck  bool
}

func runSieve(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var o sieveOpts
	fs := newFlags("sieve", stderr)
	fs.StringVar(&o.server, "server", "server", "label for the results (e.g. dovecot, barid)")
	fs.StringVar(&o.json, "json", "", "append the result as one JSON line to this file")
	fs.StringVar(&o.addr, "lmtp", "127.0.0.1:24", "LMTP server host:port")
	fs.IntVar(&o.conc, "concurrency", 4, "parallel LMTP sessions")
	fs.IntVar(&o.size, "size", 10240, "message size in bytes")
	fs.DurationVar(&o.duration, "duration", 15*time.Second, "measured run time")
	fs.IntVar(&o.users, "users", 8, "recipients rotate over users 1..N")
	fs.StringVar(&o.userFmt, "user-fmt", "user%d", "IMAP user name template of the recipients; %d is the user number")
	fs.StringVar(&o.rcptFmt, "rcpt-fmt", "user%d@localhost", "recipient template; %d is the user number")
	fs.Uint64Var(&o.seed, "seed", 1, "generator seed")
	fs.IntVar(&o.limit, "messages", 0, "stop after this many messages, or at -duration if sooner (0: -duration only)")
	fs.BoolVar(&o.script, "script", true, "the recipients have the 50-rule script active (false: no script; "+
		"the check then expects every message in INBOX without $Bench)")
	fs.StringVar(&o.imap, "addr", "127.0.0.1:143", "IMAP server host:port, for the placement check")
	fs.StringVar(&o.password, "password", "password", "password of every user")
	fs.BoolVar(&o.noCheck, "no-check", false, "skip the placement check over IMAP")
	fs.BoolVar(&o.print, "print-script", false, "print the 50-rule script (to install on the server) and exit")
	fs.DurationVar(&o.settle, "settle", 30*time.Second, "first wait up to this long for the server to be quiet "+
		"(under 3 % of a CPU for 0.5 s; needs -server-pid), so that background work left by an earlier run is not counted in this one")
	o.srv.register(fs)
	o.drain.register(fs)
	if st := parseFlags(fs, args); st >= 0 {
		return st
	}
	if o.print {
		io.WriteString(stdout, SieveRules50("bench"))
		return 0
	}
	if o.conc < 1 || o.size < 1 || o.users < 1 {
		fmt.Fprintln(stderr, "bench sieve: -concurrency, -size and -users must be positive")
		return 2
	}
	o.rcpts = 1
	gen := NewGenerator(o.seed)
	// The messages are built up front (they are few and small) so the
	// run measures the servers, not the generator.
	const pool = 256
	msgs := make([][]byte, pool)
	targets := make([]string, pool)
	for i := range msgs {
		msgs[i], targets[i] = sieveMessage(gen, i, o.size)
	}
	o.msg = func(n int) []byte { return msgs[n%pool] }
	o.keep = true

	var before []map[string]int
	if !o.noCheck {
		var err error
		if before, err = o.census(ctx); err != nil {
			fmt.Fprintf(stderr, "bench sieve: placement check before the run: %v\n", err)
			return 1
		}
	}
	res, env, err := o.measured(ctx, "sieve", stderr)
	rec := Record{Time: time.Now().UTC(), Server: o.server, Scenario: "sieve", Env: env}
	if err != nil {
		rec.Error = err.Error()
		return finish(stderr, o.json, rec, 0)
	}
	sr := &SieveResult{Script: o.script, Users: o.users, LMTP: *res, ServerUsPerMsg: -1}
	if env.ServerCPU >= 0 && res.Delivered > 0 {
		sr.ServerUsPerMsg = 1e6 * env.ServerCPU / float64(res.Delivered)
	}
	rec.Sieve = sr
	errs := res.Errors
	if !o.noCheck {
		after, err := o.census(ctx)
		if err != nil {
			rec.Error = "placement check after the run: " + err.Error()
			return finish(stderr, o.json, rec, errs)
		}
		want := make([]map[string]int, o.users)
		for u := range want {
			want[u] = map[string]int{}
		}
		for _, n := range o.ok {
			u := n % o.users // rcpt(n) is user 1+n%users
			t := targets[n%pool]
			if !o.script {
				want[u]["INBOX"]++
				continue
			}
			if t == sieveFlagged {
				want[u]["INBOX"]++
			}
			want[u][t]++
		}
		sr.Check = compareCensus(o.users, before, after, want, o.userFmt)
		if !sr.Check.OK {
			errs++
		}
	}
	script := "no script"
	if o.script {
		script = "50-rule script"
	}
	fmt.Fprintf(stdout, "%s sieve (%s) concurrency=%d size=%d: %d deliveries in %.1fs: %.1f/s, %d errors; p50 %.2f ms p99 %.2f ms",
		o.server, script, res.Concurrency, res.Size, res.Delivered, res.Seconds, res.PerSec, res.Errors, res.Latency.P50Ms, res.Latency.P99Ms)
	if sr.ServerUsPerMsg >= 0 {
		fmt.Fprintf(stdout, "; server CPU %.0f µs/delivery", sr.ServerUsPerMsg)
		if d := res.DrainUsPerMsg(); d >= 0 {
			fmt.Fprintf(stdout, " + %.0f µs draining %s after the run (%.0f in %.1f s)", d, res.Drain.Gauge, res.Drain.After.Backlog, res.Drain.After.Seconds)
		}
	}
	fmt.Fprintln(stdout)
	if c := sr.Check; c != nil {
		if c.OK {
			fmt.Fprintf(stdout, "  placement check: every delivered message is where the script puts it: %s\n", countsText(c.Got))
		} else {
			fmt.Fprintf(stdout, "  placement check FAILED: expected %s, got %s; %s\n", countsText(c.Expected), countsText(c.Got),
				strings.Join(c.Mismatches, "; "))
		}
	}
	if res.ErrorSample != "" {
		fmt.Fprintf(stdout, "  error: %s\n", res.ErrorSample)
	}
	return finish(stderr, o.json, rec, errs)
}

// census counts, for each user, the messages in INBOX and in every
// folder of sieveBoxes (0 for a folder that does not exist), and the
// INBOX messages with $Bench.
func (o *sieveOpts) census(ctx context.Context) ([]map[string]int, error) {
	out := make([]map[string]int, o.users)
	for u := range out {
		user := fmt.Sprintf(o.userFmt, u+1)
		if !strings.Contains(o.userFmt, "%") {
			user = o.userFmt
		}
		m, err := o.censusUser(ctx, user)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", user, err)
		}
		out[u] = m
	}
	return out, nil
}

func (o *sieveOpts) censusUser(ctx context.Context, user string) (map[string]int, error) {
	c, err := Dial(ctx, DialOptions{Addr: o.imap, Timeout: time.Minute})
	if err != nil {
		return nil, err
	}
	defer c.Close()
	if err := c.Login(user, o.password); err != nil {
		return nil, fmt.Errorf("LOGIN: %w", err)
	}
	m := map[string]int{}
	for _, box := range append([]string{"INBOX"}, sieveBoxes...) {
		if err := c.Select(box); err != nil {
			var se *StatusError
			if errors.As(err, &se) && se.Status == "NO" && box != "INBOX" {
				m[box] = 0 // not created (yet)
				continue
			}
			return nil, fmt.Errorf("SELECT %s: %w", box, err)
		}
		m[box] = int(c.Exists())
		if box != "INBOX" {
			continue
		}
		hits := 0
		// RFC 9051 §6.4.4 SEARCH KEYWORD; the answer is "* SEARCH n n ..."
		// (or ESEARCH for none of our options: plain SEARCH only).
		err := c.Exec(func(r *Resp) error {
			if r.Is("SEARCH") {
				hits += len(bytes.Fields(r.Rest))
			}
			return nil
		}, "SEARCH KEYWORD $Bench")
		if err != nil {
			return nil, fmt.Errorf("SEARCH KEYWORD $Bench: %w", err)
		}
		m[sieveFlagged] = hits
	}
	c.Exec(nil, "LOGOUT") //nolint:errcheck // the counts are in
	return m, nil
}

// compareCensus checks after-before against want, user by user.
func compareCensus(users int, before, after, want []map[string]int, userFmt string) *SieveCheck {
	c := &SieveCheck{OK: true, Expected: map[string]int{}, Got: map[string]int{}}
	keys := append([]string{"INBOX", sieveFlagged}, sieveBoxes...)
	for u := range users {
		for _, k := range keys {
			got := after[u][k] - before[u][k]
			c.Got[k] += got
			c.Expected[k] += want[u][k]
			if got != want[u][k] {
				c.OK = false
				if len(c.Mismatches) < 8 {
					c.Mismatches = append(c.Mismatches, fmt.Sprintf("%s %s: expected +%d, got +%d",
						strings.ReplaceAll(userFmt, "%d", strconv.Itoa(u+1)), k, want[u][k], got))
				}
			}
		}
	}
	return c
}

// countsText lists the non-zero counts in a stable order.
func countsText(m map[string]int) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if m[k] != 0 {
			parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
		}
	}
	if len(parts) == 0 {
		return "nothing"
	}
	return strings.Join(parts, ", ")
}
