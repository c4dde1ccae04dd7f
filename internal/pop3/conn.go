package pop3

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"

	"barid/internal/metrics"
	"barid/internal/quickack"
	"barid/internal/store"
)

// state is a POP3 session state (RFC 1939 §3).
type state uint8

const (
	stateAuthorization state = 1 << iota
	stateTransaction
	stateUpdate // QUIT was given: the session is over
)

func (s state) String() string {
	switch s {
	case stateAuthorization:
		return "AUTHORIZATION"
	case stateTransaction:
		return "TRANSACTION"
	default:
		return "UPDATE"
	}
}

// conn is one POP3 connection, served by one goroutine.
type conn struct {
	srv    *Server
	nc     net.Conn
	id     uint64
	remote netip.Addr
	log    *slog.Logger

	br    *bufio.Reader
	bw    *bufio.Writer
	small *bufio.Writer // the connection's own buffer while bw is borrowed

	state      state
	tls        bool
	loopback   bool
	preAuthCmd int
	user       string // USER argument, until PASS

	account     *store.Account
	releaseUser func()
	drop        *maildrop // the locked maildrop, in TRANSACTION
	// seenPending are messages RETR sent without \Seen whose bytes are
	// still in bw: the flush that writes them marks them (markSeen).
	seenPending []int
	scratch     []byte // formats a reply line
	// ack is the TCP connection under TLS, told to ACK at once after a
	// SASL continuation (nil when not TCP).
	ack *quickack.Conn

	phaseMu  sync.Mutex
	waiting  bool // blocked reading the next command
	shutting bool

	// admin is what "barid who" and "barid kick" see (admin.go).
	admin adminInfo

	// result is the status ("OK", "NO") of the command being run; mconn
	// is this connection's place on the metrics gauges (observe.go).
	result string
	mconn  metrics.ConnState
}

func (s *Server) newConn(nc net.Conn, implicitTLS bool) *conn {
	c := &conn{
		srv:      s,
		nc:       nc,
		id:       s.nextID.Add(1),
		remote:   remoteAddr(nc),
		state:    stateAuthorization,
		tls:      implicitTLS,
		loopback: isLoopback(nc),
	}
	c.log = s.log.With("conn", c.id, "remote", c.remote.String(), "proto", "pop3")
	c.admin.since, c.admin.remote, c.admin.tls = time.Now(), nc.RemoteAddr().String(), implicitTLS
	c.mconn.Open(s.metrics)
	c.br = bufio.NewReaderSize(nc, 2048)
	c.bw = bufio.NewWriterSize(nc, 2048)
	return c
}

// shutdown asks the connection to end: a command in progress finishes;
// a connection waiting for a command is told and closed.
func (c *conn) shutdown() {
	c.phaseMu.Lock()
	c.shutting = true
	if c.waiting {
		c.nc.SetReadDeadline(time.Now())
	}
	c.phaseMu.Unlock()
}

func (c *conn) setWaiting(w bool) bool {
	c.phaseMu.Lock()
	defer c.phaseMu.Unlock()
	c.waiting = w
	return c.shutting
}

// ctx is the context for store work: not cancelled by Shutdown, so a
// QUIT in progress completes its expunge.
func (c *conn) ctx() context.Context { return c.srv.storeCtx }

func (c *conn) serve() {
	defer func() {
		if r := recover(); r != nil {
			c.log.Error("panic in connection", "panic", r, "stack", string(debug.Stack()))
			c.reply("-ERR [SYS/TEMP] Internal server error, closing connection")
			c.flush()
		}
		c.cleanup()
	}()
	if c.srv.cfg.Auth != nil {
		release, err := c.srv.cfg.Auth.AcquireConn(c.remote)
		if err != nil {
			// RFC 2449 §8.1: a greeting may be -ERR; the limit's name
			// is in the text.
			c.reply("-ERR [SYS/TEMP] " + err.Error())
			c.flush()
			return
		}
		defer release()
	}
	if tc, ok := c.nc.(*tls.Conn); ok {
		c.nc.SetDeadline(time.Now().Add(c.srv.cfg.Limits.LoginTimeout))
		if err := tc.Handshake(); err != nil {
			c.log.Debug("tls handshake failed", "err", err)
			return
		}
		c.nc.SetDeadline(time.Time{})
	}
	// RFC 1939 §4 greeting. No APOP timestamp: APOP is not offered.
	c.reply("+OK barid POP3 ready.")
	start := time.Now()
	for c.state != stateUpdate {
		if err := c.readCommand(start); err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
				c.log.Debug("connection ended", "err", err)
			}
			return
		}
	}
}

// cleanup runs however the connection ends. A session that did not
// QUIT deletes nothing (RFC 1939 §6), but the \Seen flags RETR earned
// are written, as Dovecot does.
func (c *conn) cleanup() {
	c.mconn.Close()
	c.releaseBig()
	if c.drop != nil {
		if c.state != stateUpdate {
			if err := c.drop.commit(c.ctx(), false); err != nil {
				c.log.Warn("could not store \\Seen flags of an aborted session", "err", err)
			}
		}
		c.drop.close()
		c.drop = nil
	}
	if c.releaseUser != nil {
		c.releaseUser()
	}
	c.lingerClose()
}

// lingerClose half-closes a TCP connection and drains what the client
// still sends for a moment, so that a last reply is not destroyed by a
// reset (as the IMAP server does).
func (c *conn) lingerClose() {
	tc, ok := quickack.TCP(c.nc)
	if !ok {
		c.nc.Close()
		return
	}
	tc.CloseWrite()
	tc.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
	io.CopyN(io.Discard, tc, 4<<20)
	tc.Close()
}

// readCommand reads and runs one command. Replies stay buffered while
// the client has sent more commands (RFC 2449 §6.6 PIPELINING): a batch
// of pipelined commands is answered with one write.
func (c *conn) readCommand(start time.Time) error {
	if c.br.Buffered() == 0 {
		if err := c.flush(); err != nil {
			return err
		}
	}
	var deadline time.Time
	if c.state == stateAuthorization {
		deadline = start.Add(c.srv.cfg.Limits.LoginTimeout)
	} else {
		deadline = time.Now().Add(c.srv.cfg.Limits.Autologout)
	}
	c.nc.SetReadDeadline(deadline)
	c.ack.Disarm() // a new command: back to ACKs on partial lines only
	if c.setWaiting(true) {
		c.reply(c.byeText())
		c.flush()
		return io.EOF
	}
	_, err := c.br.Peek(1)
	c.setWaiting(false)
	if err != nil {
		c.timeoutReply(err)
		return err
	}
	if c.state == stateAuthorization {
		if b, _ := c.br.Peek(1); len(b) == 1 && b[0] == 0x16 && !c.tls {
			c.reply("-ERR TLS handshake received on the plain-text port; use STLS or the implicit TLS port")
			c.flush()
			return io.EOF
		}
		c.preAuthCmd++
		if max := c.srv.cfg.Limits.CommandsBeforeLogin; c.preAuthCmd > max {
			c.reply(fmt.Sprintf("-ERR commands_before_login limit exceeded (max %d)", max))
			c.flush()
			return io.EOF
		}
	}
	var t0 time.Time
	if c.srv.observing {
		t0 = time.Now()
	}
	line, err := c.readLine()
	if err != nil {
		return err
	}
	var name string
	defer func() { c.commandDone(name, t0) }()
	cmd, perr := ParseCommand(line)
	if perr != nil {
		c.trace("C: (invalid)")
		c.reply("-ERR " + perr.Error())
		return nil
	}
	c.trace("C: " + cmd.Name)
	name = cmd.Name
	h := commands[cmd.Name]
	if h == nil {
		c.reply("-ERR Unknown command: " + clip(cmd.Name))
		return nil
	}
	if h.states&c.state == 0 {
		c.reply(fmt.Sprintf("-ERR %s is not allowed in the %s state", cmd.Name, c.state))
		return nil
	}
	return h.handle(c, cmd)
}

// readLine reads one line bounded by line_length. An over-long line
// ends the connection: skipping it would mean reading an unbounded
// amount first.
func (c *conn) readLine() ([]byte, error) {
	max := c.srv.cfg.Limits.LineLength
	var buf []byte
	for {
		chunk, err := c.br.ReadSlice('\n')
		if len(buf)+len(chunk) > max {
			c.reply(fmt.Sprintf("-ERR line_length limit exceeded (max %d bytes)", max))
			c.flush()
			return nil, io.EOF
		}
		if err == nil && buf == nil {
			return chunk, nil // the common case: no copy
		}
		buf = append(buf, chunk...)
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if err != nil {
			c.timeoutReply(err)
			return nil, err
		}
		return buf, nil
	}
}

// timeoutReply says why a read deadline ended the connection.
func (c *conn) timeoutReply(err error) {
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		return
	}
	c.phaseMu.Lock()
	shutting := c.shutting
	c.phaseMu.Unlock()
	c.nc.SetWriteDeadline(time.Now().Add(5 * time.Second))
	switch {
	case shutting:
		c.reply(c.byeText())
	case c.state == stateAuthorization:
		c.reply(fmt.Sprintf("-ERR login_timeout limit exceeded (%v): disconnecting", c.srv.cfg.Limits.LoginTimeout))
	default:
		// RFC 1939 §3 autologout timer; nothing is deleted.
		c.reply(fmt.Sprintf("-ERR Disconnected for inactivity (autologout limit %v).", c.srv.cfg.Limits.Autologout))
	}
	c.flush()
}

// reply buffers one response line and its CRLF.
func (c *conn) reply(line string) {
	c.noteReply(line)
	c.bw.WriteString(line)
	c.bw.WriteString("\r\n")
	if c.srv.cfg.Trace {
		if i := strings.IndexByte(line, ' '); i > 0 && line[0] == '+' && len(line) > 1 && line[1] == ' ' {
			line = "+ (SASL challenge)"
		}
		c.trace("S: " + line)
	}
}

// debug reports whether debug records are logged: the arguments of a
// record cost allocations even when it is dropped, so the per-message
// ones are built only then.
func (c *conn) debug() bool { return c.log.Enabled(c.srv.ctx, slog.LevelDebug) }

func (c *conn) trace(msg string) {
	if c.srv.cfg.Trace {
		c.log.Debug(msg, "user", c.userName())
	}
}

func (c *conn) userName() string {
	if c.account == nil {
		return ""
	}
	return c.account.Name
}

// bigWrites switches to a pooled 64 KiB write buffer until the next
// flush (long responses go out in 64 KiB writes).
func (c *conn) bigWrites() error {
	if c.small != nil {
		return nil
	}
	// What the small buffer holds (replies to pipelined commands) goes
	// first: the big one writes by itself whenever it fills.
	if c.bw.Buffered() > 0 {
		c.nc.SetWriteDeadline(time.Now().Add(5 * time.Minute))
		if err := c.bw.Flush(); err != nil {
			return err
		}
	}
	big := getBigWriter()
	big.Reset(c.nc)
	c.small, c.bw = c.bw, big
	return nil
}

func (c *conn) releaseBig() {
	if c.small == nil {
		return
	}
	big := c.bw
	c.bw, c.small = c.small, nil
	putBigWriter(big)
}

// flush writes what is buffered and gives back a borrowed buffer. The
// messages RETR sent are now with the client: they get \Seen.
func (c *conn) flush() error {
	c.nc.SetWriteDeadline(time.Now().Add(5 * time.Minute))
	err := c.bw.Flush()
	c.releaseBig()
	if c.drop != nil {
		if err == nil {
			for _, n := range c.seenPending {
				c.drop.markSeen(n)
			}
		}
		c.drop.release()
	}
	c.seenPending = c.seenPending[:0]
	return err
}

// maxSeenPending bounds the RETRs answered before a flush (pipelined,
// RFC 2449 §6.6) whose \Seen waits for it: past it, the replies are
// written at once.
const maxSeenPending = 64

// seenAfterFlush marks message n \Seen once the next flush has written
// it (flush).
func (c *conn) seenAfterFlush(n int) error {
	c.seenPending = append(c.seenPending, n)
	if len(c.seenPending) >= maxSeenPending {
		return c.flush()
	}
	return nil
}

// okOctets buffers "+OK n octets", RETR's first line (RFC 1939 §7), as
// Dovecot words it.
func (c *conn) okOctets(size int64) {
	b := append(c.scratch[:0], "+OK "...)
	b = strconv.AppendInt(b, size, 10)
	b = append(b, " octets"...)
	b = append(b, '\r', '\n')
	c.scratch = b
	c.bw.Write(b)
	if c.srv.cfg.Trace {
		c.trace("S: " + string(b[:len(b)-2]))
	}
}
