package bench

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// ProtocolError reports an answer that breaks the IMAP grammar or the
// bookkeeping rules of RFC 9051 §7 (EXISTS never shrinks without EXPUNGE,
// sequence numbers stay within the view, literals have the declared size).
// The benchmark counts every one; none is hidden.
type ProtocolError struct {
	Msg string
	// InSync is set when the command still ran to its tagged completion,
	// so the connection can go on being used.
	InSync bool
}

func (e *ProtocolError) Error() string { return "protocol error: " + e.Msg }

func protoErrf(format string, args ...any) error {
	return &ProtocolError{Msg: fmt.Sprintf(format, args...)}
}

// syncErrf is protoErrf for a check made after the command completed.
func syncErrf(format string, args ...any) error {
	return &ProtocolError{Msg: fmt.Sprintf(format, args...), InSync: true}
}

// StatusError is a tagged NO or BAD answer (RFC 9051 §7.1).
type StatusError struct {
	Status string // "NO" or "BAD"
	Text   string
}

func (e *StatusError) Error() string { return e.Status + " " + e.Text }

// RespKind classifies a server response (RFC 9051 §2.2.2).
type RespKind uint8

const (
	// RespUntagged is a "* ..." response.
	RespUntagged RespKind = iota
	// RespTagged is a command completion.
	RespTagged
	// RespContinue is a "+ ..." continuation request.
	RespContinue
)

// Resp is one server response, exactly as received: one line plus any
// literals it carries. It is only valid until the connection reads again.
type Resp struct {
	Kind RespKind
	Raw  []byte // the whole response, CRLF and literals included
	Tag  []byte // RespTagged only
	// Num is the leading number of "* N EXISTS", "* N FETCH" and the like.
	Num    uint32
	HasNum bool
	// Word is the response keyword: OK, NO, BAD, BYE, EXISTS, FETCH,
	// CAPABILITY, SEARCH, ...
	Word []byte
	// Rest is everything after Word and one SP, without the final CRLF.
	Rest []byte
}

// Is reports whether the response keyword is w (ASCII case-insensitive).
func (r *Resp) Is(w string) bool { return asciiEqualFold(r.Word, w) }

// Result is the completion of one command.
type Result struct {
	Status string // OK, NO or BAD
	Text   string // filled for NO and BAD only
}

// Err returns nil for OK and a *StatusError otherwise.
func (r Result) Err() error {
	if r.Status == "OK" {
		return nil
	}
	return &StatusError{Status: r.Status, Text: r.Text}
}

// Handler sees each untagged response that arrives while a command runs.
// It runs after the connection's own bookkeeping. Its error is returned by
// Wait once the command has completed, so the connection stays in step.
type Handler func(r *Resp) error

// DialOptions configures Dial.
type DialOptions struct {
	Addr      string        // host:port
	LocalIP   net.IP        // source address; nil lets the kernel choose
	ReadBuf   int           // bufio reader size; 0 means 4096
	WriteBuf  int           // bufio writer size; 0 means 4096
	Timeout   time.Duration // per-command deadline; 0 means none
	MaxRespSz int           // largest response accepted; 0 means 256 MiB
}

// Conn is a raw IMAP client connection. It pipelines commands, writes
// literals (synchronizing, or non-synchronizing with LITERAL+/LITERAL-,
// RFC 7888), reads literals of the declared size and keeps the
// EXISTS/EXPUNGE bookkeeping of the selected mailbox to validate the
// server. It is not safe for concurrent use.
type Conn struct {
	nc      net.Conn
	r       *bufio.Reader
	w       *bufio.Writer
	timeout time.Duration
	maxResp int

	seq  uint64
	resp Resp
	buf  []byte

	caps      []string // upper case; nil means unknown
	capsKnown bool

	selected   bool
	selecting  bool
	sawExists  bool
	exists     uint32
	loggingOut bool
	bye        bool
	flags      []string // from the last untagged FLAGS response
	// qresync: ENABLE QRESYNC succeeded (RFC 7162 §3.2.3), so VANISHED
	// replaces EXPUNGE.
	qresync bool

	done map[string]Result

	// readAhead makes Exec read each answer's raw bytes to its tagged
	// line before parsing them (ReadAhead); answeredAt is when the last
	// such answer had fully arrived.
	readAhead  bool
	answeredAt time.Time
	// While an answer read ahead is parsed, r reads replay and orig is
	// the connection's own reader, back in r once replay is used up.
	replay *bytes.Reader
	orig   *bufio.Reader
}

// Dial connects, reads the greeting (RFC 9051 §7.1.1, §7.1.4) and returns
// the connection.
func Dial(ctx context.Context, o DialOptions) (*Conn, error) {
	d := net.Dialer{}
	if o.LocalIP != nil {
		d.LocalAddr = &net.TCPAddr{IP: o.LocalIP}
		// Let the kernel pick the source port at connect time, per
		// (source, destination) pair, so one source address is not limited
		// to one ephemeral range shared with every other destination.
		d.Control = func(network, address string, rc syscall.RawConn) error {
			var serr error
			err := rc.Control(func(fd uintptr) {
				serr = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_IP, ipBindAddressNoPort, 1)
			})
			if err != nil {
				return err
			}
			return serr
		}
	}
	nc, err := d.DialContext(ctx, "tcp", o.Addr)
	if err != nil {
		return nil, err
	}
	c := newConn(nc, o)
	if err := c.greeting(); err != nil {
		nc.Close()
		return nil, err
	}
	return c, nil
}

// ipBindAddressNoPort is IP_BIND_ADDRESS_NO_PORT (linux/in.h).
const ipBindAddressNoPort = 24

func newConn(nc net.Conn, o DialOptions) *Conn {
	rb, wb := o.ReadBuf, o.WriteBuf
	if rb <= 0 {
		rb = 4096
	}
	if wb <= 0 {
		wb = 4096
	}
	mr := o.MaxRespSz
	if mr <= 0 {
		mr = 256 << 20
	}
	return &Conn{
		nc:      nc,
		r:       bufio.NewReaderSize(nc, rb),
		w:       bufio.NewWriterSize(nc, wb),
		timeout: o.Timeout,
		maxResp: mr,
	}
}

func (c *Conn) greeting() error {
	c.deadline()
	if err := c.read(); err != nil {
		return err
	}
	if c.resp.Kind != RespUntagged {
		return protoErrf("greeting is not untagged: %q", clip(c.resp.Raw))
	}
	switch {
	case c.resp.Is("OK"), c.resp.Is("PREAUTH"):
		c.respCode()
		return nil
	case c.resp.Is("BYE"):
		return &StatusError{Status: "BYE", Text: string(c.resp.Rest)}
	}
	return protoErrf("bad greeting: %q", clip(c.resp.Raw))
}

// Close closes the socket without LOGOUT.
func (c *Conn) Close() error { return c.nc.Close() }

// NetConn returns the underlying connection.
func (c *Conn) NetConn() net.Conn { return c.nc }

// SetTimeout sets the per-command deadline; 0 disables it.
func (c *Conn) SetTimeout(d time.Duration) { c.timeout = d }

// Exists is the message count of the selected mailbox as the server has
// announced it so far.
func (c *Conn) Exists() uint32 { return c.exists }

// Selected reports whether a mailbox is selected.
func (c *Conn) Selected() bool { return c.selected }

func (c *Conn) deadline() {
	if c.timeout > 0 {
		c.nc.SetDeadline(time.Now().Add(c.timeout))
	} else {
		c.nc.SetDeadline(time.Time{})
	}
}

// HasCap reports whether the server advertised capability name
// (RFC 9051 §7.2.2). It asks with CAPABILITY if the list is unknown.
func (c *Conn) HasCap(name string) (bool, error) {
	if !c.capsKnown {
		if err := c.Exec(nil, "CAPABILITY"); err != nil {
			return false, err
		}
		if !c.capsKnown {
			return false, protoErrf("CAPABILITY answered without a capability list")
		}
	}
	name = strings.ToUpper(name)
	for _, cp := range c.caps {
		if cp == name {
			return true, nil
		}
	}
	return false, nil
}

// Caps returns the capability list (after HasCap or a greeting carrying it).
func (c *Conn) Caps() []string { return c.caps }

func (c *Conn) setCaps(list []byte) {
	c.caps = c.caps[:0]
	for _, f := range bytes.Fields(list) {
		c.caps = append(c.caps, strings.ToUpper(string(f)))
	}
	c.capsKnown = true
}

// respCode looks for "[CAPABILITY ...]" in a status response's text.
func (c *Conn) respCode() {
	rest := c.resp.Rest
	if len(rest) < 2 || rest[0] != '[' {
		return
	}
	end := bytes.IndexByte(rest, ']')
	if end < 0 {
		return
	}
	code := rest[1:end]
	if len(code) >= 10 && asciiEqualFold(code[:10], "CAPABILITY") {
		c.setCaps(code[10:])
	}
}

// Begin starts writing a command and returns its tag. Finish it with End.
func (c *Conn) Begin() string {
	c.seq++
	var b [24]byte
	t := append(b[:0], 'A')
	t = strconv.AppendUint(t, c.seq, 10)
	c.w.Write(t)
	c.w.WriteByte(' ')
	return string(t)
}

// WriteString appends s to the command being written.
func (c *Conn) WriteString(s string) { c.w.WriteString(s) }

// Literal appends a literal (RFC 9051 §4.3). It uses the non-synchronizing
// form when the server allows it (LITERAL+, or LITERAL- up to 4096 bytes,
// RFC 7888); otherwise it waits for the continuation request.
func (c *Conn) Literal(b []byte) error {
	plus, _ := c.HasCapNoFetch("LITERAL+")
	minus, _ := c.HasCapNoFetch("LITERAL-")
	rev2, _ := c.HasCapNoFetch("IMAP4REV2")
	if plus || ((minus || rev2) && len(b) <= 4096) {
		c.w.WriteByte('{')
		c.w.WriteString(strconv.Itoa(len(b)))
		c.w.WriteString("+}\r\n")
		_, err := c.w.Write(b)
		return err
	}
	c.w.WriteByte('{')
	c.w.WriteString(strconv.Itoa(len(b)))
	c.w.WriteString("}\r\n")
	if err := c.w.Flush(); err != nil {
		return err
	}
	c.deadline()
	for {
		if err := c.read(); err != nil {
			return err
		}
		switch c.resp.Kind {
		case RespContinue:
			_, err := c.w.Write(b)
			return err
		case RespUntagged:
			if err := c.untagged(nil); err != nil {
				return err
			}
		case RespTagged:
			res := c.result()
			if c.done == nil {
				c.done = make(map[string]Result)
			}
			c.done[string(c.resp.Tag)] = res
			if res.Status != "OK" {
				// Most likely the command we are writing was refused.
				return &StatusError{Status: res.Status, Text: "literal refused: " + res.Text}
			}
		}
	}
}

// HasCapNoFetch is HasCap without a round trip: unknown means false.
func (c *Conn) HasCapNoFetch(name string) (bool, error) {
	for _, cp := range c.caps {
		if cp == name {
			return true, nil
		}
	}
	return false, nil
}

// End finishes the command and flushes it.
func (c *Conn) End() error {
	c.w.WriteString("\r\n")
	return c.w.Flush()
}

// Send writes a whole command without literals and returns its tag.
func (c *Conn) Send(cmd string) (string, error) {
	tag := c.Begin()
	c.w.WriteString(cmd)
	return tag, c.End()
}

// Exec sends cmd, waits for it and turns NO/BAD into an error.
func (c *Conn) Exec(h Handler, cmd string) error {
	tag, err := c.Send(cmd)
	if err != nil {
		return err
	}
	if c.readAhead {
		if err := c.ReadAhead(tag); err != nil {
			return err
		}
	}
	res, err := c.Wait(tag, h)
	if err != nil {
		return err
	}
	return res.Err()
}

// Wait reads responses until the command tagged tag completes. Untagged
// responses go through the bookkeeping and then to h. Completions of other
// pipelined commands are kept for their own Wait.
func (c *Conn) Wait(tag string, h Handler) (Result, error) {
	if r, ok := c.done[tag]; ok {
		delete(c.done, tag)
		return r, nil
	}
	c.deadline()
	var first error
	for {
		if err := c.read(); err != nil {
			return Result{}, err
		}
		switch c.resp.Kind {
		case RespUntagged:
			if err := c.untagged(h); err != nil && first == nil {
				first = err
			}
		case RespContinue:
			return Result{}, protoErrf("unexpected continuation request %q", clip(c.resp.Raw))
		case RespTagged:
			res := c.result()
			if string(c.resp.Tag) == tag {
				var pe *ProtocolError
				if errors.As(first, &pe) {
					pe.InSync = true
				}
				return res, first
			}
			if c.done == nil {
				c.done = make(map[string]Result)
			}
			c.done[string(c.resp.Tag)] = res
		}
	}
}

func (c *Conn) result() Result {
	r := Result{}
	switch {
	case c.resp.Is("OK"):
		r.Status = "OK"
		c.respCode()
	case c.resp.Is("NO"):
		r.Status = "NO"
	case c.resp.Is("BAD"):
		r.Status = "BAD"
	default:
		r.Status = "BAD"
		r.Text = "malformed tagged response: " + string(clip(c.resp.Raw))
		return r
	}
	if r.Status != "OK" {
		r.Text = string(c.resp.Rest)
	}
	return r
}

// untagged applies the bookkeeping of RFC 9051 §7.4.1 (EXISTS) and
// §7.5.1 (EXPUNGE) and then calls h.
func (c *Conn) untagged(h Handler) error {
	r := &c.resp
	var err error
	switch {
	case r.HasNum && r.Is("EXISTS"):
		if c.selected && !c.selecting && r.Num < c.exists {
			err = protoErrf("EXISTS %d after %d without EXPUNGE", r.Num, c.exists)
		}
		c.exists = r.Num
		c.sawExists = true
	case r.HasNum && r.Is("EXPUNGE"):
		if !c.selected {
			err = protoErrf("EXPUNGE with no mailbox selected")
		} else if r.Num == 0 || r.Num > c.exists {
			err = protoErrf("EXPUNGE %d outside 1:%d", r.Num, c.exists)
		} else {
			c.exists--
		}
	case r.HasNum && r.Is("FETCH"):
		if r.Num == 0 || (c.selected && !c.selecting && r.Num > c.exists) {
			err = protoErrf("FETCH %d outside 1:%d", r.Num, c.exists)
		}
	case r.HasNum && r.Is("RECENT"):
	case r.HasNum:
		err = protoErrf("unknown numbered response %q", clip(r.Raw))
	case r.Is("CAPABILITY"):
		c.setCaps(r.Rest)
	case r.Is("FLAGS"):
		c.flags = c.flags[:0]
		if len(r.Rest) >= 2 && r.Rest[0] == '(' && r.Rest[len(r.Rest)-1] == ')' {
			for _, f := range bytes.Fields(r.Rest[1 : len(r.Rest)-1]) {
				c.flags = append(c.flags, string(f))
			}
		} else {
			err = protoErrf("malformed FLAGS response %q", clip(r.Raw))
		}
	case r.Is("OK"):
		c.respCode()
	case r.Is("BYE"):
		c.bye = true
		if !c.loggingOut {
			err = protoErrf("unexpected BYE: %q", clip(r.Raw))
		}
	case r.Is("VANISHED"):
		switch {
		case !c.qresync:
			err = protoErrf("VANISHED without QRESYNC enabled")
		case !c.selected && !c.selecting:
			err = protoErrf("VANISHED with no mailbox selected")
		case bytes.HasPrefix(r.Rest, []byte("(EARLIER) ")):
			// RFC 7162 §3.2.10: about messages the client may still
			// hold; EXISTS does not count them.
		default:
			n, perr := uidSetSize(r.Rest)
			if perr != nil || uint32(n) > c.exists {
				err = protoErrf("bad VANISHED %q", clip(r.Raw))
			} else {
				c.exists -= uint32(n)
			}
		}
	}
	if h != nil {
		if herr := h(r); herr != nil && err == nil {
			err = herr
		}
	}
	return err
}

// CheckAnnounced checks that every flag in a FETCH FLAGS list (raw, with
// its parentheses) was announced by the last untagged FLAGS response, as
// RFC 9051 §7.3.5 requires before a new keyword is used; \Recent is
// exempt.
func (c *Conn) CheckAnnounced(raw []byte) error {
	if len(raw) < 2 {
		return protoErrf("bad FLAGS %q", clip(raw))
	}
outer:
	for _, f := range bytes.Fields(raw[1 : len(raw)-1]) {
		if asciiEqualFold(f, `\Recent`) {
			continue
		}
		for _, k := range c.flags {
			if asciiEqualFold(f, k) {
				continue outer
			}
		}
		return protoErrf("flag %s used in FETCH before an untagged FLAGS announced it", f)
	}
	return nil
}

// EnableQresync sends ENABLE QRESYNC (RFC 7162 §3.2.3); VANISHED is then
// accepted in place of EXPUNGE.
func (c *Conn) EnableQresync() error {
	enabled := false
	err := c.Exec(func(r *Resp) error {
		if r.Is("ENABLED") && bytes.Contains(bytes.ToUpper(r.Rest), []byte("QRESYNC")) {
			enabled = true
		}
		return nil
	}, "ENABLE QRESYNC")
	if err != nil {
		return err
	}
	if !enabled {
		return syncErrf("ENABLE QRESYNC without ENABLED QRESYNC")
	}
	c.qresync = true
	return nil
}

// uidSetSize counts the UIDs of a sequence-set of UIDs ("1:3,7").
func uidSetSize(set []byte) (int, error) {
	n := 0
	for part := range bytes.SplitSeq(bytes.TrimSpace(set), []byte(",")) {
		lo, hi, ok := bytes.Cut(part, []byte(":"))
		a, ok1 := parseUint32(lo)
		b := a
		ok2 := true
		if ok {
			b, ok2 = parseUint32(hi)
		}
		if !ok1 || !ok2 || a == 0 || b == 0 {
			return 0, protoErrf("bad UID set %q", clip(set))
		}
		n += int(max(a, b)-min(a, b)) + 1
	}
	return n, nil
}

// Login authenticates with LOGIN (RFC 9051 §6.2.3).
func (c *Conn) Login(user, pass string) error {
	c.capsKnown = false
	c.caps = c.caps[:0]
	return c.Exec(nil, "LOGIN "+Quote(user)+" "+Quote(pass))
}

// Select selects a mailbox (RFC 9051 §6.3.2) and checks that the server
// announced the message count.
func (c *Conn) Select(mailbox string) error { return c.SelectWith(mailbox, "", nil) }

// SelectWith is Select with select-params (RFC 4466 §2.1, e.g.
// "(QRESYNC (uidvalidity modseq))"), if not empty, and a handler for the
// untagged responses.
func (c *Conn) SelectWith(mailbox, params string, h Handler) error {
	c.selected = false
	c.selecting = true
	c.sawExists = false
	c.exists = 0
	cmd := "SELECT " + Quote(mailbox)
	if params != "" {
		cmd += " " + params
	}
	err := c.Exec(h, cmd)
	c.selecting = false
	if err != nil {
		return err
	}
	if !c.sawExists {
		return syncErrf("SELECT without EXISTS")
	}
	c.selected = true
	return nil
}

// Logout sends LOGOUT (RFC 9051 §6.1.3), expects BYE and OK, and closes.
func (c *Conn) Logout() error {
	c.loggingOut = true
	defer c.nc.Close()
	err := c.Exec(nil, "LOGOUT")
	if err == nil && !c.bye {
		err = syncErrf("LOGOUT without BYE")
	}
	return err
}

// IdleStart sends IDLE (RFC 2177, RFC 9051 §6.3.13) and waits for the
// continuation request. It returns the tag for IdleDone.
func (c *Conn) IdleStart() (string, error) {
	tag, err := c.Send("IDLE")
	if err != nil {
		return "", err
	}
	c.deadline()
	for {
		if err := c.read(); err != nil {
			return "", err
		}
		switch c.resp.Kind {
		case RespContinue:
			return tag, nil
		case RespUntagged:
			if err := c.untagged(nil); err != nil {
				return "", err
			}
		case RespTagged:
			res := c.result()
			if res.Status == "OK" {
				return "", protoErrf("IDLE completed without continuation")
			}
			return "", res.Err()
		}
	}
}

// IdleRead blocks until the next response during IDLE, without deadline,
// and passes untagged ones to h.
func (c *Conn) IdleRead(h Handler) error {
	c.nc.SetReadDeadline(time.Time{})
	if err := c.read(); err != nil {
		return err
	}
	if c.resp.Kind != RespUntagged {
		return protoErrf("unexpected response during IDLE: %q", clip(c.resp.Raw))
	}
	return c.untagged(h)
}

// IdleDone ends IDLE and waits for its completion.
func (c *Conn) IdleDone(tag string, h Handler) error {
	c.w.WriteString("DONE\r\n")
	if err := c.w.Flush(); err != nil {
		return err
	}
	res, err := c.Wait(tag, h)
	if err != nil {
		return err
	}
	return res.Err()
}

// read reads one whole response into c.resp.
func (c *Conn) read() error {
	c.endReplay()
	var err error
	if c.buf, err = c.appendResp(c.buf[:0]); err != nil {
		return err
	}
	return parseResp(&c.resp, c.buf)
}

// appendResp appends one whole response to b: its line, and each
// literal with the line that goes on after it (RFC 9051 §4.3, §9),
// within MaxRespSz.
func (c *Conn) appendResp(b []byte) ([]byte, error) {
	start := len(b)
	for {
		line, err := c.r.ReadSlice('\n')
		b = append(b, line...)
		if err == bufio.ErrBufferFull {
			if len(b)-start > c.maxResp {
				return b, protoErrf("response longer than %d bytes (MaxRespSz)", c.maxResp)
			}
			continue
		}
		if err != nil {
			if err == io.EOF && len(b) > start {
				return b, protoErrf("connection closed inside a response")
			}
			return b, err
		}
		n := len(b)
		if n-start < 2 || b[n-2] != '\r' {
			return b, protoErrf("line not ended by CRLF: %q", clip(b[start:]))
		}
		lit, ok, lerr := trailingLiteral(b[start : n-2])
		if lerr != nil {
			return b, lerr
		}
		if !ok {
			return b, nil
		}
		if lit > c.maxResp-(n-start) {
			return b, protoErrf("literal of %d bytes exceeds MaxRespSz %d", lit, c.maxResp)
		}
		b = growLen(b, lit)
		if _, err := io.ReadFull(c.r, b[n:]); err != nil {
			if errors.Is(err, io.ErrUnexpectedEOF) || err == io.EOF {
				return b, protoErrf("connection closed inside a %d-byte literal", lit)
			}
			return b, err
		}
	}
}

// readAheadMax bounds what ReadAhead holds in memory; the rest of a
// longer answer is parsed as it arrives.
const readAheadMax = 256 << 20

// ReadAhead reads the answer to the command tagged tag as raw bytes,
// every line (and literal) up to and including its tagged completion,
// without parsing it, and notes the time it had all arrived
// (AnsweredAt). The next Wait parses and checks those bytes from
// memory. So a timing taken at AnsweredAt measures when the server
// finished answering, not when this client finished parsing: parsing
// thousands of FETCH lines costs the load tool about 0.5 µs a line,
// more than a fast server takes to send them (docs/benchmarks.md, #21
// session 12). Past readAheadMax the rest is parsed as it arrives.
func (c *Conn) ReadAhead(tag string) error {
	c.endReplay()
	c.answeredAt = time.Time{}
	c.deadline()
	var raw []byte
	for len(raw) < readAheadMax {
		start := len(raw)
		var err error
		if raw, err = c.appendResp(raw); err != nil {
			return err
		}
		if r := raw[start:]; len(r) > len(tag) && string(r[:len(tag)]) == tag && r[len(tag)] == ' ' {
			c.answeredAt = time.Now()
			break
		}
	}
	if c.answeredAt.IsZero() {
		// Cut short: the bytes read come first, then the socket's.
		c.r = bufio.NewReaderSize(io.MultiReader(bytes.NewReader(raw), c.r), c.r.Size())
		return nil
	}
	c.orig, c.replay = c.r, bytes.NewReader(raw)
	c.r = bufio.NewReaderSize(c.replay, c.orig.Size())
	return nil
}

// endReplay puts the connection's own reader back once the bytes read
// ahead are all parsed.
func (c *Conn) endReplay() {
	if c.orig != nil && c.replay.Len() == 0 && c.r.Buffered() == 0 {
		c.r, c.orig, c.replay = c.orig, nil, nil
	}
}

// SetReadAhead makes Exec read each answer whole before parsing it
// (ReadAhead).
func (c *Conn) SetReadAhead(on bool) { c.readAhead = on }

// AnsweredAt is when the last answer read ahead had fully arrived.
func (c *Conn) AnsweredAt() time.Time { return c.answeredAt }

func growLen(b []byte, n int) []byte {
	if cap(b)-len(b) >= n {
		return b[:len(b)+n]
	}
	nb := make([]byte, len(b)+n, (len(b)+n)*5/4)
	copy(nb, b)
	return nb
}

// trailingLiteral reports whether line (without CRLF) ends in a literal
// header "{N}" or "~{N}" (RFC 9051 §4.3, RFC 3516) and returns N.
func trailingLiteral(line []byte) (int, bool, error) {
	n := len(line)
	if n < 3 || line[n-1] != '}' {
		return 0, false, nil
	}
	i := n - 2
	if line[i] == '+' { // servers must not send it, but be lenient in parsing
		i--
	}
	end := i + 1
	for i >= 0 && line[i] >= '0' && line[i] <= '9' {
		i--
	}
	if i < 0 || line[i] != '{' || i+1 == end {
		return 0, false, nil
	}
	if end-(i+1) > 10 {
		return 0, false, protoErrf("literal length too long: %q", clip(line[i:]))
	}
	v, err := strconv.Atoi(string(line[i+1 : end]))
	if err != nil || v < 0 {
		return 0, false, protoErrf("bad literal length %q", clip(line[i:]))
	}
	return v, true, nil
}

// parseResp classifies raw (RFC 9051 §9: response = *(continue-req /
// response-data) response-done).
func parseResp(r *Resp, raw []byte) error {
	*r = Resp{Raw: raw}
	body := raw[:len(raw)-2]
	if len(body) >= 1 && body[0] == '+' {
		r.Kind = RespContinue
		if len(body) > 1 && body[1] != ' ' {
			return protoErrf("bad continuation %q", clip(raw))
		}
		return nil
	}
	var rest []byte
	if len(body) >= 2 && body[0] == '*' && body[1] == ' ' {
		r.Kind = RespUntagged
		rest = body[2:]
	} else {
		sp := bytes.IndexByte(body, ' ')
		if sp <= 0 {
			return protoErrf("malformed response %q", clip(raw))
		}
		r.Kind = RespTagged
		r.Tag = body[:sp]
		rest = body[sp+1:]
	}
	if r.Kind == RespUntagged && len(rest) > 0 && rest[0] >= '0' && rest[0] <= '9' {
		sp := bytes.IndexByte(rest, ' ')
		if sp < 0 {
			return protoErrf("malformed numbered response %q", clip(raw))
		}
		v, ok := parseUint32(rest[:sp])
		if !ok {
			return protoErrf("bad number in %q", clip(raw))
		}
		r.Num, r.HasNum = v, true
		rest = rest[sp+1:]
	}
	sp := bytes.IndexByte(rest, ' ')
	if sp < 0 {
		r.Word = rest
	} else {
		r.Word = rest[:sp]
		r.Rest = rest[sp+1:]
	}
	if len(r.Word) == 0 {
		return protoErrf("response without a keyword: %q", clip(raw))
	}
	return nil
}

func parseUint32(b []byte) (uint32, bool) {
	if len(b) == 0 || len(b) > 10 {
		return 0, false
	}
	var v uint64
	for _, ch := range b {
		if ch < '0' || ch > '9' {
			return 0, false
		}
		v = v*10 + uint64(ch-'0')
	}
	if v > 1<<32-1 {
		return 0, false
	}
	return uint32(v), true
}

func asciiEqualFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := 0; i < len(b); i++ {
		x, y := b[i], s[i]
		if x >= 'a' && x <= 'z' {
			x -= 'a' - 'A'
		}
		if y >= 'a' && y <= 'z' {
			y -= 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// Quote renders s as an IMAP quoted string (RFC 9051 §4.3).
func Quote(s string) string {
	if !strings.ContainsAny(s, "\"\\") {
		return `"` + s + `"`
	}
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' || s[i] == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	b.WriteByte('"')
	return b.String()
}

// clip shortens b for error messages.
func clip(b []byte) []byte {
	if len(b) > 120 {
		return b[:120]
	}
	return b
}
