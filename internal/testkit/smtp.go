package testkit

import (
	"bufio"
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// SMTPConn is a raw, line-oriented SMTP client (submission, LMTP): it
// writes exactly what the test gives it and returns reply lines as text.
type SMTPConn struct {
	T       testing.TB
	NC      net.Conn
	BR      *bufio.Reader
	Timeout time.Duration // every read and write (default 10 s)
}

// DialSMTP connects to addr (implicitTLS: TLS from the first byte, the
// certificate not verified) and reads the 220 greeting.
func DialSMTP(t testing.TB, addr string, implicitTLS bool) *SMTPConn {
	t.Helper()
	var nc net.Conn
	var err error
	if implicitTLS {
		nc, err = tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr, &tls.Config{InsecureSkipVerify: true})
	} else {
		nc, err = net.DialTimeout("tcp", addr, 5*time.Second)
	}
	if err != nil {
		t.Fatal(err)
	}
	return NewSMTPConn(t, nc)
}

// NewSMTPConn wraps an open connection and reads the 220 greeting.
func NewSMTPConn(t testing.TB, nc net.Conn) *SMTPConn {
	t.Helper()
	c := &SMTPConn{T: t, NC: nc, BR: bufio.NewReader(nc), Timeout: 10 * time.Second}
	t.Cleanup(func() { nc.Close() })
	if g := c.Reply(); !strings.HasPrefix(g[len(g)-1], "220 ") {
		t.Fatalf("greeting: %q", g)
	}
	return c
}

// Send writes s as it is.
func (c *SMTPConn) Send(s string) {
	c.T.Helper()
	c.NC.SetWriteDeadline(time.Now().Add(c.Timeout))
	if _, err := io.WriteString(c.NC, s); err != nil {
		c.T.Fatalf("write %q: %v", s, err)
	}
}

// Reply reads one reply: every line up to the one whose code is
// followed by a space (RFC 5321 §4.2.1), without CRLFs.
func (c *SMTPConn) Reply() []string {
	c.T.Helper()
	c.NC.SetReadDeadline(time.Now().Add(c.Timeout))
	var lines []string
	for {
		l, err := c.BR.ReadString('\n')
		if err != nil {
			c.T.Fatalf("read: %v (got %q)", err, append(lines, l))
		}
		l = strings.TrimRight(l, "\r\n")
		lines = append(lines, l)
		if len(l) < 4 || l[3] != '-' {
			return lines
		}
	}
}

// Line reads one reply and returns its last line (the one with the
// status of a multi-line reply).
func (c *SMTPConn) Line() string {
	c.T.Helper()
	r := c.Reply()
	return r[len(r)-1]
}

// Cmd sends line and CRLF and returns the reply.
func (c *SMTPConn) Cmd(line string) []string {
	c.T.Helper()
	c.Send(line + "\r\n")
	return c.Reply()
}

// Expect sends line and fails the test unless the reply's last line
// starts with prefix; it returns the reply.
func (c *SMTPConn) Expect(line, prefix string) []string {
	c.T.Helper()
	r := c.Cmd(line)
	if !strings.HasPrefix(r[len(r)-1], prefix) {
		c.T.Fatalf("%s: got %q, want %s...", line, r, prefix)
	}
	return r
}

// StartTLS sends STARTTLS and does the handshake (certificate not
// verified).
func (c *SMTPConn) StartTLS() {
	c.T.Helper()
	c.Expect("STARTTLS", "220 ")
	tc := tls.Client(c.NC, &tls.Config{InsecureSkipVerify: true})
	tc.SetDeadline(time.Now().Add(c.Timeout))
	if err := tc.Handshake(); err != nil {
		c.T.Fatalf("TLS handshake: %v", err)
	}
	tc.SetDeadline(time.Time{})
	c.NC, c.BR = tc, bufio.NewReader(tc)
}

// AuthPlain sends EHLO and AUTH PLAIN with an initial response (RFC
// 4954 §4, RFC 4616) and expects 235.
func (c *SMTPConn) AuthPlain(user, pass string) {
	c.T.Helper()
	c.Expect("EHLO client.example", "250 ")
	c.Expect("AUTH PLAIN "+base64.StdEncoding.EncodeToString([]byte("\x00"+user+"\x00"+pass)), "235 ")
}

// SinkMessage is one message a Sink accepted.
type SinkMessage struct {
	From  string
	Rcpts []string
	Mail  smtp.MailOptions
	Rcpt  []smtp.RcptOptions
	Data  []byte
	TLS   bool // the relay used STARTTLS
}

// Sink is a small SMTP server (go-smtp) standing for a smarthost: it
// keeps every message it accepts. Recipients whose local part starts
// with "reject" get 550 5.1.1 and "defer" 451 4.3.0, like an MTA's
// refusals; a message with a "X-Sink-Reject:" header gets 554 5.7.1
// after DATA.
type Sink struct {
	Addr  string
	mu    sync.Mutex
	msgs  []SinkMessage
	srv   *smtp.Server
	conns []net.Conn
}

// Close stops the sink: its listener and every connection.
func (s *Sink) Close() { s.srv.Close() }

// CloseConns closes every connection the sink has accepted so far (a
// relay that dropped its clients).
func (s *Sink) CloseConns() {
	s.mu.Lock()
	cs := s.conns
	s.conns = nil
	s.mu.Unlock()
	for _, c := range cs {
		c.Close()
	}
}

type sinkListener struct {
	net.Listener
	s *Sink
}

func (l sinkListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.s.mu.Lock()
		l.s.conns = append(l.s.conns, c)
		l.s.mu.Unlock()
	}
	return c, err
}

// StartSink runs a Sink on 127.0.0.1 until the test ends. tlsCfg, if
// set, is offered with STARTTLS. It announces 8BITMIME, SMTPUTF8, DSN
// and SIZE 67108864.
func StartSink(t testing.TB, tlsCfg *tls.Config) *Sink {
	t.Helper()
	return StartSinkWith(t, SinkOptions{TLS: tlsCfg})
}

// SinkOptions choose the extensions a Sink announces in its EHLO (a
// relay with fewer extensions than go-smtp's server has).
type SinkOptions struct {
	TLS                       *tls.Config
	Addr                      string // listen address ("": 127.0.0.1:0)
	No8BitMIME, NoUTF8, NoDSN bool
	// MaxBytes is the SIZE announced and enforced (0: 64 MiB; -1:
	// "SIZE" without a limit).
	MaxBytes int64
}

// StartSinkWith runs a Sink with the extensions opts choose.
func StartSinkWith(t testing.TB, opts SinkOptions) *Sink {
	t.Helper()
	s := &Sink{}
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		_, isTLS := c.TLSConnectionState()
		return &sinkSession{sink: s, tls: isTLS, no8bit: opts.No8BitMIME}, nil
	}))
	srv.Domain = "sink.example"
	srv.TLSConfig = opts.TLS
	srv.EnableDSN = !opts.NoDSN
	srv.EnableSMTPUTF8 = !opts.NoUTF8
	switch {
	case opts.MaxBytes == 0:
		srv.MaxMessageBytes = 64 << 20
	case opts.MaxBytes > 0:
		srv.MaxMessageBytes = opts.MaxBytes
	}
	srv.ErrorLog = discardLogger{}
	addr := opts.Addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	s.Addr, s.srv = ln.Addr().String(), srv
	go srv.Serve(sinkListener{ln, s})
	t.Cleanup(func() { srv.Close() })
	return s
}

// Messages returns what the sink accepted so far.
func (s *Sink) Messages() []SinkMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]SinkMessage(nil), s.msgs...)
}

// WaitMessages waits (up to 10 s) until the sink holds n messages.
func (s *Sink) WaitMessages(t testing.TB, n int) []SinkMessage {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		m := s.Messages()
		if len(m) >= n || time.Now().After(deadline) {
			if len(m) < n {
				t.Fatalf("sink has %d messages, want %d", len(m), n)
			}
			return m
		}
		time.Sleep(10 * time.Millisecond)
	}
}

type sinkSession struct {
	sink   *Sink
	tls    bool
	no8bit bool
	cur    SinkMessage
}

// FilterEHLO drops 8BITMIME, which go-smtp's server always announces,
// for a sink without it.
func (s *sinkSession) FilterEHLO(caps []string) []string {
	if !s.no8bit {
		return caps
	}
	var out []string
	for _, c := range caps {
		if c != "8BITMIME" {
			out = append(out, c)
		}
	}
	return out
}

func (s *sinkSession) Reset()        { s.cur = SinkMessage{} }
func (s *sinkSession) Logout() error { return nil }
func (s *sinkSession) Mail(from string, opts *smtp.MailOptions) error {
	s.cur = SinkMessage{From: from, TLS: s.tls}
	if opts != nil {
		s.cur.Mail = *opts
	}
	return nil
}
func (s *sinkSession) Rcpt(to string, opts *smtp.RcptOptions) error {
	local, _, _ := strings.Cut(to, "@")
	switch {
	case strings.HasPrefix(local, "reject"):
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: fmt.Sprintf("<%s>: Recipient address rejected: User unknown", to)}
	case strings.HasPrefix(local, "defer"):
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: fmt.Sprintf("<%s>: Temporary lookup failure", to)}
	}
	s.cur.Rcpts = append(s.cur.Rcpts, to)
	if opts != nil {
		s.cur.Rcpt = append(s.cur.Rcpt, *opts)
	} else {
		s.cur.Rcpt = append(s.cur.Rcpt, smtp.RcptOptions{})
	}
	return nil
}
func (s *sinkSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if strings.Contains(string(b), "\r\nX-Sink-Reject:") || strings.HasPrefix(string(b), "X-Sink-Reject:") {
		return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 7, 1}, Message: "Message content rejected"}
	}
	m := s.cur
	m.Data = b
	s.sink.mu.Lock()
	s.sink.msgs = append(s.sink.msgs, m)
	n := len(s.sink.msgs)
	s.sink.mu.Unlock()
	return &smtp.SMTPError{Code: 250, EnhancedCode: smtp.EnhancedCode{2, 0, 0}, Message: fmt.Sprintf("Ok: queued as SINK%d", n)}
}

type discardLogger struct{}

func (discardLogger) Printf(string, ...any) {}
func (discardLogger) Println(...any)        {}
