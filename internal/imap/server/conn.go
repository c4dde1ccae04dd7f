package server

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"barid/internal/imap"
	"barid/internal/imap/wire"
	"barid/internal/metrics"
	"barid/internal/notify"
	"barid/internal/quickack"
	"barid/internal/store"
)

// State is an IMAP connection state (RFC 9051 §3).
type State uint8

const (
	StateNotAuthenticated State = 1 << iota
	StateAuthenticated
	StateSelected
	StateLogout
)

func (s State) String() string {
	switch s {
	case StateNotAuthenticated:
		return "not authenticated"
	case StateAuthenticated:
		return "authenticated"
	case StateSelected:
		return "selected"
	default:
		return "logout"
	}
}

// Conn is one IMAP connection. Only its own goroutine touches it, except
// during IDLE, when a second goroutine writes pushed updates under wmu.
type Conn struct {
	srv    *Server
	nc     net.Conn
	id     uint64
	remote netip.Addr
	log    *slog.Logger

	br    *bufio.Reader
	bw    *bufio.Writer
	small *bufio.Writer // the connection's own buffer while bw is borrowed (bigWrites)
	// flagLine is writeFlagList's scratch.
	flagLine []byte
	dec      *wire.Decoder
	enc      *wire.Encoder
	wmu      sync.Mutex  // held by whoever writes while IDLE is running or between NOTIFY commands
	idling   bool        // under wmu: IDLE is in progress
	quiet    bool        // under wmu: NOTIFY is on and no command is in progress (push.go)
	pushErr  error       // under wmu: a push between commands failed to write
	pushing  atomic.Bool // a pusher goroutine is running
	// wdl is the end of the write deadline flushKeep last set.
	wdl time.Time

	// ack is the TCP connection under TLS and COMPRESS, told to ACK at
	// once after a continuation request (nil when not TCP).
	ack *quickack.Conn

	state      State
	tls        bool
	loopback   bool
	preAuthCmd int
	badCmds    int
	// authStart is when the connection last became not authenticated
	// by UNAUTHENTICATE (RFC 8437); the login timeout runs from there.
	authStart time.Time

	account     *store.Account
	releaseUser func()
	sub         *notify.Subscription

	// Enabled extensions (RFC 5161).
	rev2      bool
	utf8      bool
	condstore bool
	qresync   bool
	// uidonly: RFC 9586 UIDONLY is enabled: no message sequence
	// numbers in commands (BAD [UIDREQUIRED]) or responses (UIDFETCH,
	// VANISHED); uidonly.go.
	uidonly bool

	sel *view    // selected mailbox, nil unless StateSelected
	cur *command // the command being run
	// hang watches for the client hanging up while the command reads
	// for it (hangup.go); nil between commands.
	hang *hangupWatch
	// inCmd: the reader goroutine is running a command's handler (the
	// NOTIFY pusher, which also fetches, never is).
	inCmd bool
	// barrierOwed: the command skipped the cross-node read barrier
	// (barrier.go) and runs it only if the store shows its view stale.
	barrierOwed bool

	// notify is the RFC 5465 NOTIFY state, nil until the first NOTIFY.
	notify *notifyState

	// lastUIDSet is the UID set of the current UID command as sent
	// (QRESYNC's VANISHED (EARLIER) covers UIDs no longer in the view).
	lastUIDSet imap.UIDSet

	// searchRes is the saved result of SEARCH RETURN (SAVE) (RFC 5182).
	searchRes []store.UID

	// catLeft, while catOn, is what a CATENATE may still add before it
	// reaches APPENDLIMIT: a TEXT literal larger than that is refused
	// before its "+" (catenate.go).
	catLeft int64
	catOn   bool
	// litCheck, when set by a command, may refuse a literal before its
	// "+" (quota.go: APPEND over quota; metadata.go: SETMETADATA over
	// [metadata] max_size).
	litCheck func(size int64) error

	// gate holds what the connection writes until the commits it shows
	// are durable (store.Gate; out); sctx is the context of its store
	// calls, carrying it.
	gate store.Gate
	sctx context.Context

	phaseMu  sync.Mutex
	waiting  bool // blocked reading the next command (or in IDLE)
	shutting bool

	// admin is what "barid who" and "barid kick" see (admin.go).
	admin adminInfo

	// result is the tagged status type ("OK", "NO", "BAD") of the
	// command being run; mconn and mnotify are this connection's place
	// on the metrics gauges (observe.go).
	result  string
	mconn   metrics.ConnState
	mnotify bool
}

func (s *Server) newConn(nc net.Conn, implicitTLS bool) *Conn {
	c := &Conn{
		srv:      s,
		nc:       nc,
		id:       s.nextID.Add(1),
		remote:   remoteAddr(nc),
		state:    StateNotAuthenticated,
		tls:      implicitTLS,
		loopback: isLoopback(nc),
	}
	c.log = s.log.With("conn", c.id, "remote", c.remote.String())
	c.admin.since, c.admin.remote = time.Now(), nc.RemoteAddr().String()
	c.mconn.Open(s.metrics)
	c.sctx = store.WithGate(context.WithoutCancel(s.ctx), &c.gate)
	c.br = bufio.NewReaderSize(nc, 2048)
	c.bw = bufio.NewWriterSize(c.out(), 2048)
	c.dec = wire.NewDecoder(c.br, c.decoderOptions())
	c.enc = wire.NewEncoder(c.bw)
	return c
}

func (c *Conn) decoderOptions() wire.Options {
	l := c.srv.cfg.Limits
	return wire.Options{
		MaxLineLength:  l.LineLength,
		MaxSkip:        int64(l.LineLength),
		MaxLiteralSize: l.LiteralSize,
		MaxDepth:       l.NestingDepth,
		Continue:       c.continueLiteral,
	}
}

// continueLiteral is the decoder's literal hook: a synchronizing literal
// gets "+ Ready" (RFC 9051 §4.3); a non-synchronizing one gets nothing.
func (c *Conn) continueLiteral(size int64, nonSync bool) error {
	if c.catOn && size > c.catLeft {
		return errCatenateTooBig
	}
	if c.litCheck != nil {
		if err := c.litCheck(size); err != nil { // APPEND quota, SETMETADATA size
			return err
		}
	}
	if nonSync {
		// RFC 7888 §4: LITERAL- allows non-synchronizing literals only up
		// to 4096 bytes; we advertise LITERAL+ so any size is accepted.
		// The literal and what follows it may come in several writes:
		// acknowledge them as they are read (quickack).
		c.ack.Arm()
		return nil
	}
	c.bw.WriteString("+ Ready for literal data\r\n")
	if err := c.flushWire(); err != nil {
		return err
	}
	// A client with Nagle on (imaplib) sends the literal, then holds the
	// CRLF after it until the literal is acknowledged: ACK it when read,
	// not after the 40 ms delayed-ACK timer (internal/quickack).
	c.ack.Arm()
	return nil
}

// shutdown asks the connection to finish: a command in progress
// completes; a connection waiting for a command gets BYE.
func (c *Conn) shutdown() {
	c.phaseMu.Lock()
	c.shutting = true
	if c.waiting {
		c.nc.SetReadDeadline(time.Now())
	}
	c.phaseMu.Unlock()
}

func (c *Conn) setWaiting(w bool) bool {
	c.phaseMu.Lock()
	defer c.phaseMu.Unlock()
	c.waiting = w
	return c.shutting
}

func (c *Conn) serve() {
	defer func() {
		if r := recover(); r != nil {
			c.log.Error("panic in connection", "panic", r, "stack", string(debug.Stack()))
			c.writeBye("Internal server error, closing connection")
		}
		c.cleanup()
	}()
	if c.srv.cfg.Auth != nil {
		release, err := c.srv.cfg.Auth.AcquireConn(c.remote)
		if err != nil {
			c.writeBye(err.Error())
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
		c.wdl = time.Time{}
	}
	c.enc.Special('*').SP().Atom("OK").SP().Special('[')
	c.writeCapabilities()
	c.enc.Special(']').SP().RawString("barid ready.").CRLF()
	if err := c.flush(); err != nil {
		return
	}
	start := time.Now()
	for c.state != StateLogout {
		if err := c.readCommand(start); err != nil {
			if c.bw.Buffered() > 0 {
				// Answers held for a pipelined command (flushEnd)
				// that ended the connection.
				c.flush()
			}
			if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
				c.log.Debug("connection ended", "err", err)
			}
			return
		}
	}
}

func (c *Conn) cleanup() {
	c.endMetrics()
	c.sel = nil
	if c.sub != nil {
		c.sub.Close()
	}
	if c.releaseUser != nil {
		c.releaseUser()
	}
	c.lingerClose()
}

// lingerClose half-closes a TCP connection and drains what the client
// is still sending for a moment, so that a final BYE is not destroyed
// by a reset when unread input remains (the same trick HTTP servers
// use). Bounded in bytes and time.
func (c *Conn) lingerClose() {
	nc := c.nc
	if dc, ok := nc.(*deflateConn); ok {
		nc = dc.raw()
	}
	tc, ok := quickack.TCP(nc)
	if !ok {
		c.nc.Close()
		return
	}
	tc.CloseWrite()
	tc.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
	io.CopyN(io.Discard, tc, 4<<20)
	tc.Close()
}

// readCommand reads and runs one command.
func (c *Conn) readCommand(start time.Time) error {
	c.ack.Disarm() // a new command: back to ACKs on partial lines only
	var deadline time.Time
	if c.state == StateNotAuthenticated {
		if c.authStart.After(start) {
			start = c.authStart
		}
		deadline = start.Add(c.srv.cfg.Limits.LoginTimeout)
	} else {
		deadline = time.Now().Add(c.srv.cfg.Limits.Autologout)
	}
	c.nc.SetReadDeadline(deadline)
	if c.setWaiting(true) {
		c.writeBye(c.byeText())
		return io.EOF
	}
	// Wait for the first byte of the command before leaving the waiting
	// phase, so that shutdown interrupts only idle connections. With
	// NOTIFY on, the pusher may write meanwhile (push.go).
	quiet := c.beginQuiet()
	_, err := c.br.Peek(1)
	if quiet {
		if perr := c.endQuiet(); perr != nil {
			return perr
		}
		if c.state == StateLogout {
			return io.EOF // the pusher said BYE (selected mailbox deleted)
		}
	}
	shutting := c.setWaiting(false)
	if err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			_ = shutting
			c.timeoutBye()
		}
		return err
	}
	c.dec.ResetLine()
	var tag, name string
	var t0 time.Time
	if c.srv.observing {
		t0 = time.Now()
	}
	defer func() { c.commandDone(tag, name, t0) }()
	if c.state == StateNotAuthenticated {
		if b, _ := c.br.Peek(1); len(b) == 1 && b[0] == 0x16 {
			c.writeBye("TLS handshake received on the plain-text port; use STARTTLS or the implicit TLS port")
			return io.EOF
		}
		c.preAuthCmd++
		if c.preAuthCmd > c.srv.cfg.Limits.CommandsBeforeLogin {
			c.writeBye(fmt.Sprintf("commands_before_login limit exceeded (max %d)", c.srv.cfg.Limits.CommandsBeforeLogin))
			return io.EOF
		}
	}
	if !c.dec.Tag(&tag) {
		return c.syntaxAbort("*", "", c.errOr("missing or invalid command tag"))
	}
	if !c.dec.ExpectSP() || !c.dec.ExpectAtom(&name) {
		return c.syntaxAbort(tag, "", c.errOr("expected SP and a command name after the tag"))
	}
	name = strings.ToUpper(name)
	uid := false
	if name == "UID" {
		var sub string
		if !c.dec.ExpectSP() || !c.dec.ExpectAtom(&sub) {
			return c.syntaxAbort(tag, name, c.errOr("expected a command after UID"))
		}
		name = "UID " + strings.ToUpper(sub)
		uid = true
	}
	if c.state == StateNotAuthenticated && isHTTPMethod(tag) {
		c.writeBye("This is an IMAP server, not an HTTP server")
		return io.EOF
	}
	cmd := commands[name]
	if cmd == nil {
		c.traceIn(tag, name)
		return c.syntaxAbort(tag, name, fmt.Errorf("unknown command %q", name))
	}
	c.traceIn(tag, name)
	if cmd.states&c.state == 0 {
		c.dec.DiscardLine()
		c.writeStatus(tag, "BAD", "", fmt.Sprintf("%s is not allowed in the %s state", name, c.state))
		return c.flush()
	}
	_ = uid
	if c.uidonly && cmd.flags&usesSeq != 0 {
		c.dec.DiscardLine()
		c.writeStatus(tag, "BAD", imap.CodeUIDRequired, name+" uses message sequence numbers, which UIDONLY does not allow (RFC 9586 §3)")
		return c.flush()
	}
	c.syncBusFor(name)
	c.cur = cmd
	c.inCmd = true
	err = cmd.handle(c, tag)
	c.inCmd = false
	if c.endCommandReads() {
		// The client hung up while the command read for it
		// (hangup.go): nobody waits for an answer.
		c.log.Debug("client hung up during the command; its reads stopped", "tag", tag, "command", name)
		return io.EOF
	}
	// Before the response is flushed: a client that saw its LOGIN or
	// SELECT complete finds it in "barid who".
	c.noteSession()
	return c.finish(tag, name, cmd, err)
}

func isHTTPMethod(s string) bool {
	switch s {
	case "GET", "POST", "HEAD", "PUT", "OPTIONS", "CONNECT", "DELETE", "PATCH":
		return true
	}
	return false
}

func (c *Conn) errOr(msg string) error {
	if err := c.dec.Err(); err != nil {
		return err
	}
	return &wire.SyntaxError{Msg: msg}
}

// syntaxAbort answers a command that could not be parsed, then skips the
// rest of its line.
func (c *Conn) syntaxAbort(tag, name string, err error) error {
	if fatal := c.limitFatal(err); fatal != nil {
		return fatal
	}
	if err := c.dec.DiscardLine(); err != nil {
		if fatal := c.limitFatal(err); fatal != nil {
			return fatal
		}
		return err
	}
	c.badCmds++
	text := err.Error()
	if name != "" {
		text = "Error in IMAP command " + name + ": " + text
	}
	c.writeStatus(tag, "BAD", "", text)
	if c.state == StateNotAuthenticated && c.badCmds >= 3 {
		c.writeBye("Too many invalid IMAP commands")
		return io.EOF
	}
	if c.badCmds >= 20 {
		c.writeBye("Too many invalid IMAP commands")
		return io.EOF
	}
	return c.flush()
}

// limitFatal turns limit violations that leave the stream unusable into
// BYE: an over-long line (we refuse to buffer it) and an over-size
// non-synchronizing literal (the client is sending it anyway).
func (c *Conn) limitFatal(err error) error {
	var le *wire.LimitError
	if errors.As(err, &le) && le.Limit == "line_length" {
		c.writeBye(le.Error())
		return io.EOF
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		c.timeoutBye()
		return err
	}
	if errors.As(err, &ne) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, os.ErrDeadlineExceeded) {
		return err
	}
	return nil
}

// finish sends the tagged completion for a command handler's result.
func (c *Conn) finish(tag, name string, cmd *command, err error) error {
	if err == nil {
		// Handlers that succeed write their own tagged OK via c.ok.
		return c.flushEnd()
	}
	var ioe *ioError
	if errors.As(err, &ioe) {
		return ioe.err
	}
	var se *wire.SyntaxError
	var le *wire.LimitError
	switch {
	case errors.As(err, &se):
		return c.syntaxAbort(tag, name, err)
	case errors.As(err, &le):
		if fatal := c.limitFatal(err); fatal != nil {
			return fatal
		}
		if le.Limit == "literal_size" {
			// A refused synchronizing literal: the client never sent it.
			c.dec.DiscardLine()
			c.writeStatus(tag, "NO", "TOOBIG", le.Error())
			return c.flush()
		}
		return c.syntaxAbort(tag, name, err)
	}
	if fatal := c.limitFatal(err); fatal != nil {
		return fatal
	}
	// A semantic error may come before the end of the line: skip the
	// rest (a no-op when the line is complete).
	if derr := c.dec.DiscardLine(); derr != nil {
		if fatal := c.limitFatal(derr); fatal != nil {
			return fatal
		}
		return derr
	}
	c.updatesAfter(cmd)
	c.writeError(tag, err)
	return c.flushEnd()
}

// ioError wraps a connection-level I/O failure so finish ends the
// connection instead of answering.
type ioError struct{ err error }

func (e *ioError) Error() string { return e.err.Error() }
func (e *ioError) Unwrap() error { return e.err }

// writeError classifies err in one place (docs/style.md §4).
func (c *Conn) writeError(tag string, err error) {
	var ie *imap.Error
	if me, ok := mailboxError(err); ok {
		ie = me
	}
	if ie != nil || errors.As(err, &ie) {
		code := ie.Code
		if ie.CodeArg != "" {
			code += " " + ie.CodeArg
		}
		if ie.Type == imap.TypeBYE {
			c.writeBye(ie.Text)
			c.state = StateLogout
			return
		}
		c.writeStatus(tag, ie.Type, code, ie.Text)
		return
	}
	switch {
	case errors.Is(err, store.ErrNoMailbox):
		c.writeStatus(tag, "NO", imap.CodeNonExistent, "Mailbox doesn't exist")
	case errors.Is(err, store.ErrMailboxExists):
		c.writeStatus(tag, "NO", imap.CodeAlreadyExists, "Mailbox already exists")
	case errors.Is(err, store.ErrCannot):
		c.writeStatus(tag, "NO", imap.CodeCannot, err.Error())
	case errors.Is(err, store.ErrOverQuota):
		c.writeStatus(tag, "NO", imap.CodeOverQuota, errOverQuota.Text)
	case errors.Is(err, store.ErrMailboxInferior):
		c.writeStatus(tag, "NO", imap.CodeHasChildren, err.Error())
	case errors.Is(err, context.Canceled):
		c.writeStatus(tag, "NO", imap.CodeUnavailable, "Server shutting down")
	default:
		c.log.Error("command failed", "tag", tag, "err", err)
		c.writeStatus(tag, "NO", imap.CodeServerBug, "Internal error occurred; refer to server log for more information")
	}
}

// ok ends a command successfully: pending updates first (where the
// command allows them), then the tagged OK.
func (c *Conn) ok(tag, code, text string) error {
	c.updatesAfter(c.cur)
	c.writeStatus(tag, "OK", code, text)
	return nil
}

func (c *Conn) writeStatus(tag, typ, code, text string) {
	c.enc.RawString(tag).SP().Atom(typ).SP()
	if code != "" {
		c.enc.Special('[').RawString(code).Special(']').SP()
	}
	c.enc.RawString(text).CRLF()
	c.setResult(typ)
	c.traceOut(tag, typ, code, text)
}

// timeoutBye says why a read deadline ended the connection.
func (c *Conn) timeoutBye() {
	c.phaseMu.Lock()
	shutting := c.shutting
	c.phaseMu.Unlock()
	c.wdl = time.Now().Add(5 * time.Second)
	c.nc.SetWriteDeadline(c.wdl)
	switch {
	case shutting:
		c.writeBye(c.byeText())
	case c.state == StateNotAuthenticated:
		c.writeBye(fmt.Sprintf("login_timeout limit exceeded (%v): disconnecting", c.srv.cfg.Limits.LoginTimeout))
	default:
		c.writeBye(fmt.Sprintf("Autologout: no command for %v (autologout limit)", c.srv.cfg.Limits.Autologout))
	}
}

func (c *Conn) writeBye(text string) {
	c.enc.RawString("* BYE ").RawString(text).CRLF()
	c.flush()
}

// bigWriters are the write buffers of long responses. A connection
// keeps a 2 KiB buffer (memory per idle connection is a goal); a FETCH of
// thousands of messages, or of message bytes, borrows 64 KiB so that it
// costs one write system call per 64 KiB rather than per 2 KiB, and a
// response of up to 64 KiB goes out with its tagged OK in one write.
//
// They are kept on a free list of bigWriterSpares rather than in a
// sync.Pool, which every garbage collection empties: under load that
// meant a fresh 64 KiB per FETCH.
var bigWriters = make(chan *bufio.Writer, bigWriterSpares)

const bigWriterSpares = 32 // 2 MiB at most held idle

func getBigWriter() *bufio.Writer {
	select {
	case w := <-bigWriters:
		return w
	default:
		return bufio.NewWriterSize(nil, 64<<10)
	}
}

func putBigWriter(w *bufio.Writer) {
	w.Reset(nil)
	select {
	case bigWriters <- w:
	default:
	}
}

// bigWrites switches the connection to a pooled 64 KiB write buffer
// until the next flush, which writes it and switches back (releaseBig):
// the tagged completion written after the handler shares the buffer.
func (c *Conn) bigWrites() error {
	if c.small != nil {
		return nil // already borrowed
	}
	if c.bw.Buffered() > 0 {
		if err := c.flushKeep(); err != nil {
			return err
		}
	}
	big := getBigWriter()
	big.Reset(c.out())
	c.small, c.bw = c.bw, big
	c.enc.SetWriter(big)
	return nil
}

// releaseBig returns a borrowed buffer to the pool (its content, if a
// failed flush left any, is dropped with the connection).
func (c *Conn) releaseBig() {
	if c.small == nil {
		return
	}
	big := c.bw
	c.bw, c.small = c.small, nil
	c.enc.SetWriter(c.bw)
	putBigWriter(big)
}

// flush writes what is buffered and gives back a borrowed buffer.
func (c *Conn) flush() error {
	err := c.flushKeep()
	c.releaseBig()
	return err
}

// writeStall is how long a flush may wait for the client to read
// (between writeStall-writeRearm and writeStall, see flushKeep).
const (
	writeStall = 5 * time.Minute
	writeRearm = time.Minute
)

// flushKeep writes what is buffered, keeping a borrowed buffer: a long
// FETCH sends each chunk while the next loads.
func (c *Conn) flushKeep() error {
	if err := c.enc.Err(); err != nil {
		return err
	}
	// A write may stall for writeStall; the deadline is re-armed only
	// when less than writeStall-writeRearm is left, not on every flush
	// (re-arming the runtime's timer was 1-2 µs of CPU a flush under
	// load: one per idler in a fan-out).
	if now := time.Now(); c.wdl.Sub(now) < writeStall-writeRearm {
		c.wdl = now.Add(writeStall)
		c.nc.SetWriteDeadline(c.wdl)
	}
	return c.flushWire()
}

// flushWire writes the buffered writer and, under COMPRESS, ends the
// deflate block (RFC 4978 §4: flush whenever the server waits).
func (c *Conn) flushWire() error {
	if err := c.bw.Flush(); err != nil {
		return err
	}
	if dc, ok := c.nc.(*deflateConn); ok {
		return dc.flush()
	}
	return nil
}

func (c *Conn) traceIn(tag, name string) {
	if c.srv.cfg.Trace {
		// Arguments are never traced: LOGIN and AUTHENTICATE carry
		// secrets, APPEND carries message bodies.
		c.log.Debug("C: "+tag+" "+name, "user", c.userName())
	}
}

func (c *Conn) traceOut(tag, typ, code, text string) {
	if c.srv.cfg.Trace {
		c.log.Debug("S: "+tag+" "+typ+" ["+code+"] "+text, "user", c.userName())
	}
}

func (c *Conn) userName() string {
	if c.account == nil {
		return ""
	}
	return c.account.Name
}

// ctx is the context for store work. It is not cancelled by Shutdown:
// in-flight commands finish (SIGTERM must not lose acknowledged work).
func (c *Conn) ctx() context.Context {
	if c.sctx == nil {
		// A Conn made to borrow a session's code (admin.go): no
		// client, no gate.
		return context.WithoutCancel(c.srv.ctx)
	}
	return c.sctx
}

// gatedOut is what the connection's write buffers write to: c.nc, once
// the gate is open (store.Gate). Every byte the connection sends goes
// through it, so none shows a UID, MODSEQ or count before it is
// durable, and no write is acknowledged before its sync.
type gatedOut struct{ c *Conn }

func (o gatedOut) Write(p []byte) (int, error) {
	if err := o.c.gate.Wait(); err != nil {
		o.c.log.Error("a commit this connection was to answer or show did not become durable; closing the connection", "err", err)
		return 0, err
	}
	return o.c.nc.Write(p)
}

// out is the writer for c.bw: c.nc through the gate.
func (c *Conn) out() io.Writer { return gatedOut{c} }

// flushEnd ends a command: it flushes, unless the client's next command
// is already in the read buffer (pipelined). Then the answer stays
// buffered and the next command runs: the answers of a pipelined group
// leave in one write (as Dovecot's, which corks its output while it
// runs the commands of one read), and when the gate is waiting for a
// sync, the next command's durable writes join the same sync and one
// wait covers both answers (store.Gate). A command that is not complete
// in the buffer gets the flush, so the connection never waits for input
// with answers held back; nor does it hold more than 16 KiB. Under
// imaptest's mix (pipelined groups of four to six commands) this took
// the server from about one write(2) per command to about one per group
// (docs/benchmarks.md, "Session 11").
func (c *Conn) flushEnd() error {
	if c.state != StateLogout && c.bw.Buffered() < 16<<10 && c.lineBuffered() {
		return c.enc.Err()
	}
	return c.flush()
}

// lineBuffered reports whether a whole line is in the read buffer.
func (c *Conn) lineBuffered() bool {
	n := c.br.Buffered()
	if n == 0 {
		return false
	}
	b, _ := c.br.Peek(n)
	return bytes.IndexByte(b, '\n') >= 0
}

// publish puts changes this session made on the bus, stamped with its
// id so that NOTIFY can tell its own events from others' (RFC 5465 §5).
func (c *Conn) publish(changes []store.Change) {
	c.srv.cfg.Bus.PublishFrom(c.id, changes)
}
