package bench

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/textproto"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emersion/go-smtp"
)

// The submission scenario compares two ways of sending one large
// message through a submission server (RFC 6409) that relays it: DATA,
// where the client uploads every byte, and BURL (RFC 4468), where the
// message is already on the IMAP server (saved as a draft) and the
// client sends its URLAUTH URL, about 200 bytes.
type submissionOpts struct {
	server, json   string
	imap, smtpAddr string
	sink           string
	user, password string
	from, rcpt     string
	size           int
	duration       time.Duration
	conc           int
	starttls       bool
	host           string
	srv            serverProc
}

func runSubmission(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var o submissionOpts
	fs := newFlags("submission", stderr)
	fs.StringVar(&o.server, "server", "barid", "label for the results")
	fs.StringVar(&o.json, "json", "", "append the result as one JSON line to this file")
	fs.StringVar(&o.imap, "imap", "127.0.0.1:143", "IMAP server host:port (stores the draft, signs its URL)")
	fs.StringVar(&o.smtpAddr, "submission", "127.0.0.1:587", "submission server host:port")
	fs.StringVar(&o.sink, "sink", "127.0.0.1:2525", "run a discarding SMTP relay here for the submission server to relay to (\"\" if it has its own)")
	fs.StringVar(&o.user, "user", "user1", "account name")
	fs.StringVar(&o.password, "password", "pass", "password")
	fs.StringVar(&o.from, "from", "", "envelope sender and From (default USER@localhost)")
	fs.StringVar(&o.rcpt, "rcpt", "rcpt@example.org", "recipient")
	fs.IntVar(&o.size, "size", 10<<20, "message size in bytes")
	fs.DurationVar(&o.duration, "duration", 10*time.Second, "measured run time per method")
	fs.IntVar(&o.conc, "concurrency", 1, "parallel submission sessions")
	fs.BoolVar(&o.starttls, "starttls", false, "STARTTLS on the submission connection (certificate not checked)")
	fs.StringVar(&o.host, "url-host", "localhost", "host name in the IMAP URL (the server's hostname)")
	o.srv.register(fs)
	if st := parseFlags(fs, args); st >= 0 {
		return st
	}
	if o.from == "" {
		o.from = o.user + "@localhost"
		if strings.Contains(o.user, "@") {
			o.from = o.user
		}
	}
	if o.size < 1024 || o.conc < 1 {
		fmt.Fprintln(stderr, "bench submission: -size must be at least 1024 and -concurrency positive")
		return 2
	}
	snap := o.srv.snap()
	res, err := o.run(ctx)
	rec := Record{Time: time.Now().UTC(), Server: o.server, Scenario: "submission", Submission: res, Env: envSince(snap)}
	errs := 0
	if err != nil {
		rec.Error = err.Error()
	} else {
		for _, m := range res.Methods {
			errs += m.Errors
			fmt.Fprintf(stdout, "%s submission %s size=%d concurrency=%d: %d messages in %.1fs: %.2f/s, %.1f MB/s relayed; client sent %d bytes/message; latency p50 %.1f ms p99 %.1f ms; %d errors\n",
				o.server, m.Method, res.Size, res.Concurrency, m.Sent, m.Seconds, m.PerSec, m.MBPerSec, m.ClientBytesPerMsg,
				m.Latency.P50Ms, m.Latency.P99Ms, m.Errors)
			if m.ErrorSample != "" {
				fmt.Fprintf(stdout, "  error: %s\n", m.ErrorSample)
			}
		}
	}
	return finish(stderr, o.json, rec, errs)
}

// SubmissionResult is the outcome of the submission scenario.
type SubmissionResult struct {
	Size        int                `json:"size"`
	Concurrency int                `json:"concurrency"`
	Methods     []SubmissionMethod `json:"methods"`
}

// SubmissionMethod is one method's run (DATA or BURL).
type SubmissionMethod struct {
	Method            string  `json:"method"`
	Seconds           float64 `json:"seconds"`
	Sent              int     `json:"sent"`
	PerSec            float64 `json:"per_sec"`
	MBPerSec          float64 `json:"mb_per_sec"` // message bytes relayed
	ClientBytesPerMsg int64   `json:"client_bytes_per_msg"`
	RelayedBytes      int64   `json:"relayed_bytes"`
	ClientCPU         float64 `json:"client_cpu_seconds"`
	Errors            int     `json:"errors"`
	Latency           OpStat  `json:"latency"`
	ErrorSample       string  `json:"error_sample,omitempty"`
}

// benchMessage is a message of size bytes from "from": 76-column lines
// of base64 text, none starting with ".", so DATA needs no stuffing.
func benchMessage(from, rcpt string, size int) []byte {
	h := fmt.Sprintf("From: <%s>\r\nTo: <%s>\r\nSubject: barid bench submission\r\nMessage-ID: <bench-%d@barid.bench>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\n",
		from, rcpt, time.Now().UnixNano())
	b := []byte(h)
	line := []byte(base64.StdEncoding.EncodeToString([]byte(strings.Repeat("barid submission benchmark. ", 3)))[:76])
	for len(b)+len(line)+2 <= size {
		b = append(b, line...)
		b = append(b, '\r', '\n')
	}
	for len(b) < size-2 {
		b = append(b, 'A')
	}
	return append(b, '\r', '\n')[:max(size, len(h)+2)]
}

func (o *submissionOpts) run(ctx context.Context) (*SubmissionResult, error) {
	var relayed atomic.Int64
	if o.sink != "" {
		stop, err := startDiscardSink(o.sink, &relayed)
		if err != nil {
			return nil, err
		}
		defer stop()
	}
	msg := benchMessage(o.from, o.rcpt, o.size)
	url, err := o.storeDraft(ctx, msg)
	if err != nil {
		return nil, fmt.Errorf("storing the draft over IMAP: %w", err)
	}
	res := &SubmissionResult{Size: len(msg), Concurrency: o.conc}
	for _, method := range []string{"DATA", "BURL"} {
		r0 := relayed.Load()
		m, err := o.runMethod(ctx, method, msg, url)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", method, err)
		}
		m.RelayedBytes = relayed.Load() - r0
		res.Methods = append(res.Methods, *m)
	}
	return res, nil
}

// storeDraft APPENDs msg to Drafts and returns a URLAUTH URL for
// "submit+USER" (RFC 4467 GENURLAUTH).
func (o *submissionOpts) storeDraft(ctx context.Context, msg []byte) (string, error) {
	c, err := Dial(ctx, DialOptions{Addr: o.imap, Timeout: 2 * time.Minute})
	if err != nil {
		return "", err
	}
	defer c.Close()
	if err := c.Exec(nil, "LOGIN "+Quote(o.user)+" "+Quote(o.password)); err != nil {
		return "", err
	}
	tag := c.Begin()
	c.WriteString("APPEND Drafts ")
	if err := c.Literal(msg); err != nil {
		return "", err
	}
	if err := c.End(); err != nil {
		return "", err
	}
	if res, err := c.Wait(tag, nil); err != nil || res.Err() != nil {
		return "", errors.Join(err, res.Err())
	}
	mid := msg[strings.Index(string(msg), "Message-ID: <")+len("Message-ID: <"):]
	mid = mid[:strings.IndexByte(string(mid), '>')]
	var uid string
	if err := c.Exec(nil, "SELECT Drafts"); err != nil {
		return "", err
	}
	if err := c.Exec(func(r *Resp) error {
		if r.Is("SEARCH") {
			if f := strings.Fields(string(r.Rest)); len(f) > 0 {
				uid = f[len(f)-1]
			}
		}
		return nil
	}, "UID SEARCH HEADER Message-ID "+Quote(string(mid))); err != nil {
		return "", err
	}
	if uid == "" {
		return "", errors.New("the appended draft was not found")
	}
	enc := strings.ReplaceAll(o.user, "@", "%40")
	rump := fmt.Sprintf("imap://%s@%s/Drafts/;UID=%s;URLAUTH=submit+%s", enc, o.host, uid, enc)
	var url string
	if err := c.Exec(func(r *Resp) error {
		if r.Is("GENURLAUTH") {
			url = strings.Trim(string(r.Rest), "\"")
		}
		return nil
	}, "GENURLAUTH "+Quote(rump)+" INTERNAL"); err != nil {
		return "", err
	}
	if url == "" {
		return "", errors.New("no GENURLAUTH response")
	}
	c.Exec(nil, "LOGOUT")
	return url, nil
}

// countingConn counts the bytes the client writes.
type countingConn struct {
	net.Conn
	n *atomic.Int64
}

func (c countingConn) Write(b []byte) (int, error) {
	n, err := c.Conn.Write(b)
	c.n.Add(int64(n))
	return n, err
}

// subClient is a minimal submission client: one command, one reply.
type subClient struct {
	nc net.Conn
	tp *textproto.Conn
}

func (o *submissionOpts) dialSubmission(sent *atomic.Int64) (*subClient, error) {
	nc, err := net.DialTimeout("tcp", o.smtpAddr, 10*time.Second)
	if err != nil {
		return nil, err
	}
	c := &subClient{nc: nc, tp: textproto.NewConn(countingConn{nc, sent})}
	if _, _, err := c.tp.ReadResponse(220); err != nil {
		nc.Close()
		return nil, err
	}
	if err := c.cmd(250, "EHLO bench.example"); err != nil {
		nc.Close()
		return nil, err
	}
	if o.starttls {
		if err := c.cmd(220, "STARTTLS"); err != nil {
			nc.Close()
			return nil, err
		}
		tc := tls.Client(nc, &tls.Config{InsecureSkipVerify: true})
		c.nc, c.tp = tc, textproto.NewConn(countingConn{tc, sent})
		if err := c.cmd(250, "EHLO bench.example"); err != nil {
			nc.Close()
			return nil, err
		}
	}
	ir := base64.StdEncoding.EncodeToString([]byte("\x00" + o.user + "\x00" + o.password))
	if err := c.cmd(235, "AUTH PLAIN "+ir); err != nil {
		nc.Close()
		return nil, err
	}
	return c, nil
}

func (c *subClient) cmd(code int, line string) error {
	c.nc.SetDeadline(time.Now().Add(2 * time.Minute))
	if err := c.tp.PrintfLine("%s", line); err != nil {
		return err
	}
	_, msg, err := c.tp.ReadResponse(code)
	if err != nil {
		return fmt.Errorf("%s: %w (%s)", strings.Fields(line)[0], err, msg)
	}
	return nil
}

// send submits one message: MAIL, RCPT, then DATA with the bytes or
// BURL with the URL.
func (c *subClient) send(o *submissionOpts, method string, msg []byte, url string) error {
	if err := c.cmd(250, "MAIL FROM:<"+o.from+"> SIZE="+fmt.Sprint(len(msg))); err != nil {
		return err
	}
	if err := c.cmd(250, "RCPT TO:<"+o.rcpt+">"); err != nil {
		return err
	}
	if method == "BURL" {
		return c.cmd(250, "BURL "+url+" LAST")
	}
	if err := c.cmd(354, "DATA"); err != nil {
		return err
	}
	w := bufio.NewWriterSize(c.tp.W, 64<<10)
	w.Write(msg)
	w.WriteString(".\r\n")
	if err := w.Flush(); err != nil {
		return err
	}
	if err := c.tp.W.Flush(); err != nil {
		return err
	}
	_, msgText, err := c.tp.ReadResponse(250)
	if err != nil {
		return fmt.Errorf("DATA: %w (%s)", err, msgText)
	}
	return nil
}

func (o *submissionOpts) runMethod(ctx context.Context, method string, msg []byte, url string) (*SubmissionMethod, error) {
	var sent atomic.Int64
	type worker struct {
		lat    []int64
		errs   int
		sample string
		err    error
	}
	ws := make([]worker, o.conc)
	// Connect and authenticate first: the measured time is the
	// submissions only.
	cs := make([]*subClient, o.conc)
	for i := range cs {
		c, err := o.dialSubmission(&sent)
		if err != nil {
			return nil, err
		}
		defer c.nc.Close()
		cs[i] = c
	}
	sent0 := sent.Load()
	cpu0 := cpuSeconds()
	start := time.Now()
	deadline := start.Add(o.duration)
	var wg sync.WaitGroup
	for w := range ws {
		wg.Add(1)
		go func() {
			defer wg.Done()
			me, c := &ws[w], cs[w]
			for time.Now().Before(deadline) && ctx.Err() == nil {
				t0 := time.Now()
				if err := c.send(o, method, msg, url); err != nil {
					me.errs++
					if me.sample == "" {
						me.sample = err.Error()
					}
					if c.cmd(250, "RSET") != nil {
						me.err = err
						return
					}
					continue
				}
				me.lat = append(me.lat, int64(time.Since(t0)))
			}
		}()
	}
	wg.Wait()
	el := time.Since(start)
	m := &SubmissionMethod{Method: method, Seconds: el.Seconds(), ClientCPU: cpuSeconds() - cpu0}
	var all []int64
	for _, w := range ws {
		if w.err != nil {
			return nil, w.err
		}
		all = append(all, w.lat...)
		m.Errors += w.errs
		if m.ErrorSample == "" {
			m.ErrorSample = w.sample
		}
	}
	m.Latency = summarize(method, all, m.Errors, el)
	m.Sent = len(all)
	m.PerSec = float64(len(all)) / el.Seconds()
	m.MBPerSec = float64(len(all)) * float64(len(msg)) / 1e6 / el.Seconds()
	if n := len(all) + m.Errors; n > 0 {
		m.ClientBytesPerMsg = (sent.Load() - sent0) / int64(n)
	}
	return m, nil
}

// startDiscardSink runs an SMTP server at addr that reads and discards
// every message (counting its bytes): the relay for the benchmark.
func startDiscardSink(addr string, n *atomic.Int64) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("sink: %w", err)
	}
	s := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return discardSession{n}, nil }))
	s.Domain = "sink.bench"
	s.MaxMessageBytes = 0
	s.ErrorLog = nopLogger{}
	go s.Serve(ln)
	return func() { s.Close() }, nil
}

type discardSession struct{ n *atomic.Int64 }

func (discardSession) Reset()                               {}
func (discardSession) Logout() error                        { return nil }
func (discardSession) Mail(string, *smtp.MailOptions) error { return nil }
func (discardSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (s discardSession) Data(r io.Reader) error {
	k, err := io.Copy(io.Discard, r)
	s.n.Add(k)
	return err
}

type nopLogger struct{}

func (nopLogger) Printf(string, ...any) {}
func (nopLogger) Println(...any)        {}
