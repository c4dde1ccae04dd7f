package bench

import (
	"bufio"
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The latency scenario times single small operations as real client
// libraries send them, one at a time, against one server: what a user
// waits for. Throughput scenarios (mix) use barid's own client, which
// writes each command in one write with TCP_NODELAY and so never meets
// the delayed-ACK stall a client with Nagle on can (internal/quickack).

//go:embed latency_imaplib.py
var latencyImaplib []byte

// LatencyResult is the outcome of the latency scenario.
type LatencyResult struct {
	Rounds  int             `json:"rounds"` // APPENDs and FETCHes per client
	Logins  int             `json:"logins"` // LOGINs per client, each on a new connection
	Size    int             `json:"size"`   // octets of each appended message
	Mailbox string          `json:"mailbox"`
	Clients []LatencyClient `json:"clients"`
}

// LatencyClient is one client library's figures.
type LatencyClient struct {
	Client string      `json:"client"` // imaplib, go-split, go-onewrite
	Note   string      `json:"note"`
	Error  string      `json:"error,omitempty"`
	Ops    []LatencyOp `json:"ops,omitempty"`
}

// LatencyOp is the latency distribution of one operation.
type LatencyOp struct {
	Name   string  `json:"name"`
	Count  int     `json:"count"`
	P50Ms  float64 `json:"p50_ms"`
	P90Ms  float64 `json:"p90_ms"`
	P99Ms  float64 `json:"p99_ms"`
	MaxMs  float64 `json:"max_ms"`
	MeanMs float64 `json:"mean_ms"`
}

// Latency operations, in report order.
const (
	latLogin  = "LOGIN"
	latAppend = "APPEND"
	latFetch  = "UID FETCH BODY.PEEK[]"
)

var latencyOps = []string{latLogin, latAppend, latFetch}

// Latency clients.
const (
	clientImaplib  = "imaplib"
	clientGoSplit  = "go-split"
	clientOneWrite = "go-onewrite"
)

var latencyClients = []string{clientImaplib, clientGoSplit, clientOneWrite}

var latencyNotes = map[string]string{
	clientImaplib:  "Python imaplib as shipped: Nagle on; a literal and its CRLF in two writes",
	clientGoSplit:  "Go client with Nagle on (SetNoDelay(false)) writing each line and its CRLF separately, as a textproto-style writer that flushes per part does",
	clientOneWrite: "Go client with TCP_NODELAY writing each command (and each literal with its CRLF) in one write, as barid's own bench client does: the baseline",
}

type latencyOpts struct {
	common
	user    string
	mailbox string
	rounds  int
	logins  int
	size    int
	clients string
	python  string
}

func runLatency(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var o latencyOpts
	fs := newFlags("latency", stderr)
	o.common.register(fs)
	fs.StringVar(&o.user, "user", "user1", "account to log in as")
	fs.StringVar(&o.mailbox, "mailbox", "Latency", "mailbox to append to and fetch from (created if missing)")
	fs.IntVar(&o.rounds, "rounds", 100, "APPENDs, then UID FETCHes, per client, one at a time")
	fs.IntVar(&o.logins, "logins", 20, "LOGINs per client, each on a new connection")
	fs.IntVar(&o.size, "size", 2048, "octets of each appended message")
	fs.StringVar(&o.clients, "clients", strings.Join(latencyClients, ","), "client libraries to drive: "+strings.Join(latencyClients, ","))
	fs.StringVar(&o.python, "python", "python3", "Python interpreter for the imaplib client")
	if st := parseFlags(fs, args); st >= 0 {
		return st
	}
	if o.rounds < 1 || o.logins < 0 || o.size < 100 {
		fmt.Fprintln(stderr, "bench latency: need -rounds >= 1, -logins >= 0, -size >= 100")
		return 2
	}
	snap := o.srv.snap()
	res := &LatencyResult{Rounds: o.rounds, Logins: o.logins, Size: o.size, Mailbox: o.mailbox}
	errs := 0
	for _, name := range strings.Split(o.clients, ",") {
		name = strings.TrimSpace(name)
		if !slices.Contains(latencyClients, name) {
			fmt.Fprintf(stderr, "bench latency: unknown client %q (want %s)\n", name, strings.Join(latencyClients, ","))
			return 2
		}
		lc := LatencyClient{Client: name, Note: latencyNotes[name]}
		var times map[string][]int64
		var err error
		if name == clientImaplib {
			times, err = o.imaplib(ctx)
		} else {
			times, err = o.goClient(ctx, name == clientGoSplit)
		}
		if err != nil {
			lc.Error = err.Error()
			errs++
		}
		for _, op := range latencyOps {
			if ns := times[op]; len(ns) > 0 {
				lc.Ops = append(lc.Ops, latencyStat(op, ns))
			}
		}
		res.Clients = append(res.Clients, lc)
		for _, op := range lc.Ops {
			fmt.Fprintf(stdout, "%s latency %-11s %-22s n=%-4d p50 %7.2f ms  p90 %7.2f ms  p99 %7.2f ms  max %7.2f ms\n",
				o.server, name, op.Name, op.Count, op.P50Ms, op.P90Ms, op.P99Ms, op.MaxMs)
		}
		if lc.Error != "" {
			fmt.Fprintf(stdout, "%s latency %s: error: %s\n", o.server, name, lc.Error)
		}
	}
	rec := Record{Time: time.Now().UTC(), Server: o.server, Scenario: "latency", Latency: res, Env: envSince(snap)}
	return finish(stderr, o.json, rec, errs)
}

func latencyStat(name string, ns []int64) LatencyOp {
	s := summarize(name, ns, 0, 0)
	slices.Sort(ns)
	return LatencyOp{Name: name, Count: s.Count, P50Ms: s.P50Ms, P90Ms: ms(ns[pct(len(ns), 90)]), P99Ms: s.P99Ms, MaxMs: s.MaxMs, MeanMs: s.MeanMs}
}

// imaplib runs the embedded Python script and reads its JSON.
func (o *latencyOpts) imaplib(ctx context.Context) (map[string][]int64, error) {
	py, err := exec.LookPath(o.python)
	if err != nil {
		return nil, fmt.Errorf("imaplib client needs %s: %w", o.python, err)
	}
	dir, err := os.MkdirTemp("", "barid-bench-latency-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	script := filepath.Join(dir, "latency_imaplib.py")
	if err := os.WriteFile(script, latencyImaplib, 0o644); err != nil {
		return nil, err
	}
	host, port, err := net.SplitHostPort(o.addr)
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, py, script, host, port, o.user, o.password, o.mailbox,
		strconv.Itoa(o.rounds), strconv.Itoa(o.logins), strconv.Itoa(o.size))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("imaplib: %v: %s", err, strings.TrimSpace(lastLine(stderr.String())))
	}
	var secs map[string][]float64
	if err := json.Unmarshal(stdout.Bytes(), &secs); err != nil {
		return nil, fmt.Errorf("imaplib output: %w", err)
	}
	out := make(map[string][]int64, len(secs))
	for op, v := range secs {
		for _, s := range v {
			out[op] = append(out[op], int64(s*1e9))
		}
	}
	return out, nil
}

func lastLine(s string) string {
	s = strings.TrimRight(s, "\n")
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}

// latClient is a bare IMAP client whose every write is a system call, so
// the split between writes is exactly what the scenario asks for.
type latClient struct {
	nc      net.Conn
	br      *bufio.Reader
	split   bool
	timeout time.Duration
	n       int
}

func (o *latencyOpts) dialLat(ctx context.Context, split bool) (*latClient, error) {
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", o.addr)
	if err != nil {
		return nil, err
	}
	if tc, ok := nc.(*net.TCPConn); ok {
		// Go turns Nagle off by default; a C or Python client leaves it on.
		tc.SetNoDelay(!split)
	}
	c := &latClient{nc: nc, br: bufio.NewReaderSize(nc, 64<<10), split: split, timeout: o.timeout}
	c.nc.SetDeadline(time.Now().Add(c.timeout))
	line, err := c.line()
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("greeting: %w", err)
	}
	if !strings.HasPrefix(line, "* OK") {
		nc.Close()
		return nil, fmt.Errorf("greeting: %q", line)
	}
	return c, nil
}

// write sends one command part: in split mode the text and its CRLF go
// as two writes, otherwise as one.
func (c *latClient) write(s string) error {
	if c.split {
		if _, err := io.WriteString(c.nc, s); err != nil {
			return err
		}
		_, err := io.WriteString(c.nc, "\r\n")
		return err
	}
	_, err := io.WriteString(c.nc, s+"\r\n")
	return err
}

// line reads one response line, skipping over literals in it.
func (c *latClient) line() (string, error) {
	var sb strings.Builder
	for {
		l, err := c.br.ReadString('\n')
		if err != nil {
			return "", err
		}
		sb.WriteString(l)
		n, ok := literalAtEnd(l)
		if !ok {
			return strings.TrimRight(sb.String(), "\r\n"), nil
		}
		if _, err := c.br.Discard(n); err != nil {
			return "", err
		}
	}
}

var literalRe = regexp.MustCompile(`\{(\d+)\}\r?\n$`)

func literalAtEnd(l string) (int, bool) {
	m := literalRe.FindStringSubmatch(l)
	if m == nil {
		return 0, false
	}
	n, err := strconv.Atoi(m[1])
	return n, err == nil
}

// cmd sends a command and waits for its tagged status; OK is required
// unless okOrNo.
func (c *latClient) cmd(text string, okOrNo bool) (string, error) {
	c.n++
	tag := "L" + strconv.Itoa(c.n)
	c.nc.SetDeadline(time.Now().Add(c.timeout))
	if err := c.write(tag + " " + text); err != nil {
		return "", err
	}
	return c.wait(tag, okOrNo)
}

func (c *latClient) wait(tag string, okOrNo bool) (string, error) {
	for {
		l, err := c.line()
		if err != nil {
			return "", err
		}
		if rest, found := strings.CutPrefix(l, tag+" "); found {
			if strings.HasPrefix(rest, "OK") || (okOrNo && strings.HasPrefix(rest, "NO")) {
				return rest, nil
			}
			return "", errors.New(l)
		}
	}
}

// appendMsg is APPEND with a synchronizing literal: command, "+", then
// the literal and the CRLF that ends the command.
func (c *latClient) appendMsg(mailbox string, msg []byte) (string, error) {
	c.n++
	tag := "L" + strconv.Itoa(c.n)
	c.nc.SetDeadline(time.Now().Add(c.timeout))
	if err := c.write(fmt.Sprintf("%s APPEND %s {%d}", tag, Quote(mailbox), len(msg))); err != nil {
		return "", err
	}
	l, err := c.line()
	if err != nil {
		return "", err
	}
	if !strings.HasPrefix(l, "+") {
		return "", fmt.Errorf("APPEND: expected a continuation, got %q", l)
	}
	if c.split {
		if _, err := c.nc.Write(msg); err != nil {
			return "", err
		}
		if _, err := io.WriteString(c.nc, "\r\n"); err != nil {
			return "", err
		}
	} else if _, err := c.nc.Write(append(slices.Clip(msg), '\r', '\n')); err != nil {
		return "", err
	}
	return c.wait(tag, false)
}

var appendUIDRe = regexp.MustCompile(`APPENDUID \d+ (\d+)`)

// goClient times the operations with the Go client, split or not.
func (o *latencyOpts) goClient(ctx context.Context, split bool) (map[string][]int64, error) {
	out := map[string][]int64{}
	login := "LOGIN " + Quote(o.user) + " " + Quote(o.password)
	for range o.logins {
		c, err := o.dialLat(ctx, split)
		if err != nil {
			return out, err
		}
		start := time.Now()
		_, err = c.cmd(login, false)
		out[latLogin] = append(out[latLogin], int64(time.Since(start)))
		if err != nil {
			c.nc.Close()
			return out, fmt.Errorf("LOGIN: %w", err)
		}
		c.cmd("LOGOUT", false)
		c.nc.Close()
	}
	c, err := o.dialLat(ctx, split)
	if err != nil {
		return out, err
	}
	defer c.nc.Close()
	if _, err := c.cmd(login, false); err != nil {
		return out, fmt.Errorf("LOGIN: %w", err)
	}
	if _, err := c.cmd("CREATE "+Quote(o.mailbox), true); err != nil {
		return out, fmt.Errorf("CREATE: %w", err)
	}
	msg := latencyMessage(o.size)
	uid := ""
	for range o.rounds {
		start := time.Now()
		st, err := c.appendMsg(o.mailbox, msg)
		out[latAppend] = append(out[latAppend], int64(time.Since(start)))
		if err != nil {
			return out, fmt.Errorf("APPEND: %w", err)
		}
		if m := appendUIDRe.FindStringSubmatch(st); m != nil {
			uid = m[1]
		}
	}
	if _, err := c.cmd("EXAMINE "+Quote(o.mailbox), false); err != nil {
		return out, fmt.Errorf("EXAMINE: %w", err)
	}
	if uid == "" {
		return out, errors.New("the server sent no APPENDUID (RFC 4315) to fetch by")
	}
	for range o.rounds {
		start := time.Now()
		_, err := c.cmd("UID FETCH "+uid+" BODY.PEEK[]", false)
		out[latFetch] = append(out[latFetch], int64(time.Since(start)))
		if err != nil {
			return out, fmt.Errorf("UID FETCH: %w", err)
		}
	}
	c.cmd("LOGOUT", false)
	return out, nil
}

// latencyMessage is a plain message of about size octets (the same shape
// as the imaplib script's).
func latencyMessage(size int) []byte {
	head := "From: bench@example.org\r\nTo: user@example.org\r\nSubject: latency\r\n\r\n"
	line := strings.Repeat("x", 70) + "\r\n"
	return []byte(head + strings.Repeat(line, max(1, (size-len(head))/72)))
}
