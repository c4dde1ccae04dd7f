package bench

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

const usage = `usage: barid bench <scenario> [flags]

Scenarios:
  mix       N clients run a weighted command mix for a fixed time
  populate  fill mailboxes with deterministic varied messages
  bigbox    time SELECT, FETCH 1:*, SEARCH and SORT on a large mailbox
  idle      hold C IDLE connections; server memory and delivery fan-out
  lmtp      LMTP delivery throughput at concurrency K and size S (-dd: beside dd's durable write bandwidth)
  sieve     LMTP delivery with or without the 50-rule Sieve script, and a check over IMAP of where each message went
  pop3      POP3 RETR throughput, and server memory per logged-in POP3 session
  submission  sending a large message through submission: BURL vs DATA
  latency   one-at-a-time LOGIN, APPEND and UID FETCH latency through client libraries (imaplib, Go)
  drain     wait until a server's background backlog (a gauge on its metrics endpoint) is empty
  report    render a results file as Markdown (docs/benchmarks.md)
  pwhash    print an argon2id hash of the password on stdin (for Dovecot's passwd-file)

Run "barid bench <scenario> -h" for the scenario's flags.
Exit status: 0 ok, 1 the run failed, 2 bad usage, 3 the run completed
but counted errors.
`

// Main is the entry point of "barid bench": args are the arguments after
// "bench" (scenario first). It returns the process exit status.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	run := map[string]func(context.Context, []string, io.Writer, io.Writer) int{
		"mix":      runMix,
		"populate": runPopulate,
		"bigbox":   runBigbox,
		"idle":     runIdle,
		"lmtp":     runLMTP,
		"sieve":    runSieve,
		"pop3":     runPOP3,
		"latency":  runLatency,
		"report":   runReport,
		"drain":    runDrain,
		"pwhash":   runPwhash,
	}[args[0]]
	switch {
	case args[0] == "submission":
		return runSubmission(ctx, args[1:], stdout, stderr)
	case run != nil:
		return run(ctx, args[1:], stdout, stderr)
	case args[0] == "help" || args[0] == "-h" || args[0] == "--help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "bench: unknown scenario %q\n%s", args[0], usage)
	return 2
}

// common holds the flags every IMAP scenario shares.
type common struct {
	addr     string
	userFmt  string
	password string
	server   string
	json     string
	timeout  time.Duration
	progress bool
	srv      serverProc
}

// serverProc names the server process whose CPU (and, for idle, memory)
// is read from /proc.
type serverProc struct {
	pid  int
	tree bool
	// more are further processes of the same server, each with its
	// descendants: the other nodes of a barid cluster, its PostgreSQL
	// and object store (-server-more).
	more pidList
}

func (s *serverProc) register(fs *flag.FlagSet) {
	fs.IntVar(&s.pid, "server-pid", 0, "server PID to account CPU and memory to (0: unknown)")
	fs.BoolVar(&s.tree, "server-tree", false, "sum over the PID and all its descendants (multi-process servers such as Dovecot)")
	fs.Var(&s.more, "server-more", "comma-separated PIDs whose CPU and memory (with their descendants) count as the server's too: "+
		"the other nodes of a cluster, its database and object store")
}

func (s *serverProc) snap() cpuSnap {
	c := snapCPU("/proc", s.pid, s.tree)
	c.more = s.more
	if c.hasSrv {
		c.server += moreCPU("/proc", s.more, c.clockHz)
	}
	return c
}

// mem is the server's memory: the PID's (and descendants' with tree)
// plus every -server-more process tree's.
func (s *serverProc) mem(proc string) (MemSample, error) {
	m, err := procMem(proc, s.pid, s.tree)
	if err != nil {
		return m, err
	}
	for _, p := range s.more {
		x, err := procMem(proc, p, true)
		if err != nil {
			return m, fmt.Errorf("-server-more %d: %w", p, err)
		}
		m.Procs += x.Procs
		m.RSSKiB += x.RSSKiB
		m.PSSKiB += x.PSSKiB
	}
	return m, nil
}

// pidList is a flag holding comma-separated PIDs.
type pidList []int

func (l *pidList) String() string {
	var b strings.Builder
	for i, p := range *l {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(p))
	}
	return b.String()
}

func (l *pidList) Set(v string) error {
	*l = nil
	for f := range strings.SplitSeq(v, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil || n <= 0 {
			return fmt.Errorf("bad PID %q", f)
		}
		*l = append(*l, n)
	}
	return nil
}

// addrList splits a comma-separated host:port list; connection i goes to
// element i mod the list's length (several nodes of one cluster, as a
// round-robin balancer would spread them).
func addrList(s string) []string {
	var out []string
	for f := range strings.SplitSeq(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	if len(out) == 0 {
		out = []string{s}
	}
	return out
}

func (c *common) register(fs *flag.FlagSet) {
	fs.StringVar(&c.addr, "addr", "127.0.0.1:143", "IMAP server host:port, or several separated by commas (the nodes of a cluster: connections go to each in turn)")
	fs.StringVar(&c.userFmt, "user-fmt", "user%d", "user name template; %d is the user number")
	fs.StringVar(&c.password, "password", "password", "password of every user")
	fs.StringVar(&c.server, "server", "server", "label for the results (e.g. dovecot, barid)")
	fs.StringVar(&c.json, "json", "", "append the result as one JSON line to this file")
	fs.DurationVar(&c.timeout, "timeout", 60*time.Second, "deadline for each command")
	fs.BoolVar(&c.progress, "progress", true, "draw a progress bar on stderr")
	c.srv.register(fs)
}

func (c *common) user(n int) string {
	if strings.Contains(c.userFmt, "%") {
		return fmt.Sprintf(c.userFmt, n)
	}
	return c.userFmt
}

// dialed counts the connections common.dial made, to hand them out to
// the addresses of -addr in turn.
var dialed atomic.Uint64

func (c *common) dial(ctx context.Context) (*Conn, error) {
	return Dial(ctx, DialOptions{Addr: c.addrFor(int(dialed.Add(1) - 1)), Timeout: c.timeout})
}

// addrFor is the address of connection i: -addr's element i mod its
// length.
func (c *common) addrFor(i int) string {
	as := addrList(c.addr)
	return as[i%len(as)]
}

// login dials, logs in as user and fetches the capabilities.
func (c *common) login(ctx context.Context, user string) (*Conn, error) {
	conn, err := c.dial(ctx)
	if err != nil {
		return nil, err
	}
	if err := conn.Login(user, c.password); err != nil {
		conn.Close()
		return nil, fmt.Errorf("LOGIN %s: %w", user, err)
	}
	if _, err := conn.HasCap("IMAP4REV1"); err != nil {
		conn.Close()
		return nil, err
	}
	return conn, nil
}

// newFlags returns a flag set that reports to stderr.
func newFlags(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("barid bench "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

// parseFlags parses args and returns a non-negative exit status when the
// caller should stop (help or bad usage).
func parseFlags(fs *flag.FlagSet, args []string) int {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(fs.Output(), "unexpected arguments: %v\n", fs.Args())
		return 2
	}
	return -1
}

// parseRange parses "7" or "1-50" into an inclusive range.
func parseRange(s string) (lo, hi int, err error) {
	a, b, found := strings.Cut(s, "-")
	lo, err = strconv.Atoi(strings.TrimSpace(a))
	if err != nil {
		return 0, 0, fmt.Errorf("bad range %q", s)
	}
	hi = lo
	if found {
		hi, err = strconv.Atoi(strings.TrimSpace(b))
		if err != nil || hi < lo {
			return 0, 0, fmt.Errorf("bad range %q", s)
		}
	}
	return lo, hi, nil
}

// finish writes the record and picks the exit status.
func finish(stderr io.Writer, path string, rec Record, errs int) int {
	if err := AppendRecord(path, rec); err != nil {
		fmt.Fprintf(stderr, "bench: writing results: %v\n", err)
		return 1
	}
	switch {
	case rec.Error != "":
		fmt.Fprintf(stderr, "bench: %s failed: %s\n", rec.Scenario, rec.Error)
		return 1
	case errs > 0:
		return 3
	}
	return 0
}

// imapDate renders an IMAP date-time (RFC 9051 §9, date-time).
func imapDate(t time.Time) string {
	return `"` + t.Format("_2-Jan-2006 15:04:05 -0700") + `"`
}
