package e2e

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// client is a raw IMAP client that keeps the view a careful client must
// keep of the selected mailbox (seq -> UID, flags, MODSEQ, announced
// keywords) from nothing but the server's responses, and checks every
// response against it. A response that breaks the model is a protocol
// error (client.violations), never silently repaired.
//
// Its methods return errors instead of calling t.Fatal, so it can run in
// any goroutine.
type client struct {
	name    string
	nc      net.Conn
	br      *bufio.Reader
	tagN    int
	timeout time.Duration

	// onLine, if set, sees every untagged line as it arrives (IDLE
	// latency measurements). Called on the reading goroutine.
	onLine func(l string, at time.Time)

	cur       string // upper-cased command being answered ("UID FETCH", "IDLE", ...)
	rev2      bool   // ENABLE IMAP4rev2 done
	condstore bool   // CONDSTORE enabled: MODSEQ must accompany flag updates
	qresync   bool   // QRESYNC enabled: VANISHED replaces EXPUNGE (RFC 7162 §3.2.10)

	// The model of the selected mailbox.
	selected bool
	uids     []uint32          // seq n is uids[n-1]; 0 = not yet known (after EXISTS)
	flags    map[uint32]string // uid -> flags as last reported (sorted, space-separated)
	modseq   map[uint32]uint64 // uid -> highest MODSEQ reported
	keywords map[string]bool   // lower-cased keywords the last FLAGS response announced
	recent   int               // last RECENT count (rev1)
	maxUID   uint32            // highest UID this session has seen in the mailbox
	bye      string            // text of an untagged BYE
	vanished int               // VANISHED responses seen

	mu         sync.Mutex
	violations []string
}

// response is one command's outcome.
type response struct {
	tag      string
	status   string // OK, NO, BAD
	text     string // after the status
	untagged []string
}

func (r *response) String() string {
	return strings.Join(append(slices.Clone(r.untagged), r.tag+" "+r.status+" "+r.text), "\n")
}

func (r *response) ok() bool { return r.status == "OK" }

// has reports whether some untagged line matches re.
func (r *response) has(re string) bool {
	rx := regexp.MustCompile(re)
	for _, l := range r.untagged {
		if rx.MatchString(l) {
			return true
		}
	}
	return false
}

// matching returns the untagged lines that match re.
func (r *response) matching(re string) []string {
	rx := regexp.MustCompile(re)
	var out []string
	for _, l := range r.untagged {
		if rx.MatchString(l) {
			out = append(out, l)
		}
	}
	return out
}

// dial connects and reads the greeting.
func dial(addr, name string) (*client, error) {
	return dialFrom(addr, name, nil)
}

func dialFrom(addr, name string, local net.Addr) (*client, error) {
	d := net.Dialer{Timeout: 10 * time.Second, LocalAddr: local}
	nc, err := d.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	c := &client{name: name, nc: nc, br: bufio.NewReaderSize(nc, 4096), timeout: 20 * time.Second}
	l, err := c.readLine()
	if err != nil {
		nc.Close()
		return nil, err
	}
	if !strings.HasPrefix(l, "* OK") {
		nc.Close()
		return nil, fmt.Errorf("%s: greeting %q", name, l)
	}
	return c, nil
}

func (c *client) close() { c.nc.Close() }

func (c *client) violate(format string, args ...any) {
	c.mu.Lock()
	c.violations = append(c.violations, c.name+": "+fmt.Sprintf(format, args...))
	c.mu.Unlock()
}

func (c *client) takeViolations() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	v := c.violations
	c.violations = nil
	return v
}

// readLine reads one line without its CRLF; a literal {n} at the end is
// read and dropped from the line (its bytes are not inspected), so the
// model's parsers never look inside message data.
func (c *client) readLine() (string, error) {
	c.nc.SetReadDeadline(time.Now().Add(c.timeout))
	var out strings.Builder
	for {
		l, err := c.br.ReadString('\n')
		if err != nil {
			return out.String() + l, err
		}
		l = strings.TrimSuffix(l, "\r\n")
		m := literalRE.FindStringSubmatchIndex(l)
		if m == nil {
			out.WriteString(l)
			return out.String(), nil
		}
		n, _ := strconv.Atoi(l[m[2]:m[3]])
		out.WriteString(l[:m[0]])
		out.WriteString(`""`)
		if _, err := io.CopyN(io.Discard, c.br, int64(n)); err != nil {
			return out.String(), err
		}
	}
}

var literalRE = regexp.MustCompile(`~?\{(\d+)\}$`)

func (c *client) nextTag() string {
	c.tagN++
	return fmt.Sprintf("%s%d", strings.ToUpper(c.name[:1]), c.tagN)
}

func (c *client) write(s string) error {
	c.nc.SetWriteDeadline(time.Now().Add(c.timeout))
	_, err := io.WriteString(c.nc, s)
	return err
}

// cmd sends one command and reads up to its tagged response, applying
// every untagged response to the model.
func (c *client) cmd(format string, args ...any) (*response, error) {
	tag := c.nextTag()
	line := fmt.Sprintf(format, args...)
	c.cur = commandName(line)
	if err := c.write(tag + " " + line + "\r\n"); err != nil {
		return nil, err
	}
	return c.until(tag, line)
}

// until reads responses up to the tagged one.
func (c *client) until(tag, what string) (*response, error) {
	r := &response{tag: tag}
	for {
		l, err := c.readLine()
		if err != nil {
			return r, fmt.Errorf("%s: %s: %w (after %q)", c.name, what, err, r.untagged)
		}
		if strings.HasPrefix(l, tag+" ") {
			rest := l[len(tag)+1:]
			r.status, r.text, _ = strings.Cut(rest, " ")
			c.checkOrder()
			return r, nil
		}
		if strings.HasPrefix(l, "* ") {
			r.untagged = append(r.untagged, l)
			c.untagged(l, time.Now())
			continue
		}
		if strings.HasPrefix(l, "+") {
			return r, fmt.Errorf("%s: %s: unexpected continuation %q", c.name, what, l)
		}
		c.violate("%s: line that is neither tagged nor untagged: %q", what, l)
	}
}

// mustOK runs a command and fails unless it completes with OK.
func (c *client) mustOK(format string, args ...any) (*response, error) {
	r, err := c.cmd(format, args...)
	if err != nil {
		return r, err
	}
	if !r.ok() {
		return r, fmt.Errorf("%s: %s: %s %s\n%s", c.name, fmt.Sprintf(format, args...), r.status, r.text, r)
	}
	return r, nil
}

func (c *client) login(user, pass string) error {
	_, err := c.mustOK("LOGIN %s %s", quote(user), quote(pass))
	return err
}

// enable runs ENABLE and records what it turned on.
func (c *client) enable(exts ...string) error {
	r, err := c.mustOK("ENABLE %s", strings.Join(exts, " "))
	if err != nil {
		return err
	}
	for _, l := range r.matching(`^\* ENABLED`) {
		up := strings.ToUpper(l)
		if strings.Contains(up, " IMAP4REV2") {
			c.rev2 = true
		}
		if strings.Contains(up, " CONDSTORE") {
			c.condstore = true
		}
		if strings.Contains(up, " QRESYNC") {
			c.qresync, c.condstore = true, true
		}
	}
	return nil
}

// selectBox selects a mailbox (with CONDSTORE when condstore) and resets
// the model from the SELECT responses.
func (c *client) selectBox(name string, condstore bool) (*response, error) {
	c.selected = true
	c.uids = nil
	c.flags = map[uint32]string{}
	c.modseq = map[uint32]uint64{}
	c.keywords = map[string]bool{}
	c.recent = 0
	c.maxUID = 0
	param := ""
	if condstore {
		param = " (CONDSTORE)"
		c.condstore = true
	}
	r, err := c.mustOK("SELECT %s%s", quote(name), param)
	if err != nil {
		return r, err
	}
	// Learn the UIDs of what SELECT announced.
	if len(c.uids) > 0 {
		if _, err := c.mustOK("FETCH 1:* (UID FLAGS)"); err != nil {
			return r, err
		}
	}
	return r, nil
}

var (
	numRespRE  = regexp.MustCompile(`^\* (\d+) (EXISTS|RECENT|EXPUNGE|FETCH)\b ?(.*)$`)
	vanishedRE = regexp.MustCompile(`^\* VANISHED (\(EARLIER\) )?([\d:,]+)$`)
	flagsRE    = regexp.MustCompile(`^\* FLAGS \(([^)]*)\)`)
	fUIDRE     = regexp.MustCompile(`\bUID (\d+)`)
	fFlagsRE   = regexp.MustCompile(`\bFLAGS \(([^)]*)\)`)
	fModSeqRE  = regexp.MustCompile(`\bMODSEQ \((\d+)\)`)
	appendUIDs = regexp.MustCompile(`\[APPENDUID (\d+) (\d+)\]`)
)

// untagged applies one untagged response to the model.
func (c *client) untagged(l string, at time.Time) {
	if c.onLine != nil {
		c.onLine(l, at)
	}
	if strings.HasPrefix(l, "* BYE") {
		c.bye = l
		return
	}
	if m := flagsRE.FindStringSubmatch(l); m != nil {
		c.keywords = map[string]bool{}
		for _, f := range strings.Fields(m[1]) {
			if !strings.HasPrefix(f, `\`) {
				c.keywords[strings.ToLower(f)] = true
			}
		}
		return
	}
	if m := vanishedRE.FindStringSubmatch(l); m != nil && c.selected {
		if !c.qresync {
			c.violate("%q: VANISHED without QRESYNC enabled", l)
		}
		if m[1] == "" {
			c.vanished++
			c.vanish(l, expandSet(m[2]))
		}
		return
	}
	m := numRespRE.FindStringSubmatch(l)
	if m == nil || !c.selected {
		return
	}
	n64, _ := strconv.ParseUint(m[1], 10, 32)
	n := int(n64)
	switch m[2] {
	case "EXISTS":
		// RFC 9051 §7.4.1: EXISTS never shrinks the mailbox; only
		// EXPUNGE (or VANISHED) does.
		if n < len(c.uids) {
			c.violate("%q: EXISTS %d is below the %d messages the client knows", l, n, len(c.uids))
			c.uids = c.uids[:n]
		}
		for len(c.uids) < n {
			c.uids = append(c.uids, 0)
		}
	case "RECENT":
		if c.rev2 {
			c.violate("%q: RECENT sent to an IMAP4rev2 client (RFC 9051 §7.4)", l)
		}
		c.recent = n
	case "EXPUNGE":
		if c.qresync {
			c.violate("%q: EXPUNGE sent although QRESYNC is enabled (RFC 7162 §3.2.10: VANISHED)", l)
		}
		if n < 1 || n > len(c.uids) {
			c.violate("%q: EXPUNGE of sequence number %d, the client has %d messages", l, n, len(c.uids))
			return
		}
		c.uids = slices.Delete(c.uids, n-1, n)
	case "FETCH":
		if n < 1 || n > len(c.uids) {
			c.violate("%q: FETCH for sequence number %d, the client has %d messages", l, n, len(c.uids))
			return
		}
		uid := c.uids[n-1]
		if um := fUIDRE.FindStringSubmatch(m[3]); um != nil {
			u64, _ := strconv.ParseUint(um[1], 10, 32)
			got := uint32(u64)
			switch {
			case uid == 0:
				c.uids[n-1] = got
				uid = got
			case uid != got:
				c.violate("%q: sequence number %d is UID %d for the client, the server says UID %d", l, n, uid, got)
				return
			}
		}
		if uid > c.maxUID {
			c.maxUID = uid
		}
		if fm := fFlagsRE.FindStringSubmatch(m[3]); fm != nil {
			fl := strings.Fields(fm[1])
			for _, f := range fl {
				if !strings.HasPrefix(f, `\`) && !c.keywords[strings.ToLower(f)] {
					c.violate("%q: keyword %s was not announced in an untagged FLAGS response first", l, f)
				}
				if strings.EqualFold(f, `\Recent`) && c.rev2 {
					c.violate("%q: \\Recent sent to an IMAP4rev2 client", l)
				}
			}
			if uid != 0 {
				c.flags[uid] = normFlags(fl)
			}
		}
		// RFC 7162 §3.1: once CONDSTORE is enabled, every untagged FETCH
		// not asked for by a FETCH command carries UID and MODSEQ.
		if c.condstore && c.cur != "FETCH" && c.cur != "UID FETCH" {
			if !fUIDRE.MatchString(m[3]) || !fModSeqRE.MatchString(m[3]) {
				c.violate("%q (during %s): unsolicited FETCH without UID and MODSEQ although CONDSTORE is enabled (RFC 7162 §3.1)", l, c.cur)
			}
		}
		if mm := fModSeqRE.FindStringSubmatch(m[3]); mm != nil && uid != 0 {
			ms, _ := strconv.ParseUint(mm[1], 10, 64)
			if old := c.modseq[uid]; ms < old {
				c.violate("%q: MODSEQ of UID %d went back from %d to %d", l, uid, old, ms)
			} else {
				c.modseq[uid] = ms
			}
		}
	}
}

// vanish removes UIDs reported by VANISHED (RFC 7162 §3.2.10). A UID
// the model has not learnt yet (announced by EXISTS, never fetched) is
// one of the unknown entries between its known neighbours; unknown
// entries are interchangeable, so removing any one of that run is exact.
func (c *client) vanish(l string, uids []uint32) {
	for _, u := range uids {
		if i := slices.Index(c.uids, u); i >= 0 {
			c.uids = slices.Delete(c.uids, i, i+1)
			continue
		}
		removed := false
		for i, x := range c.uids {
			if x != 0 {
				if x > u {
					break
				}
				continue
			}
			// An unknown entry: u fits if the next known UID is above it.
			next := uint32(0)
			for _, y := range c.uids[i:] {
				if y != 0 {
					next = y
					break
				}
			}
			if next == 0 || next > u {
				c.uids = slices.Delete(c.uids, i, i+1)
				removed = true
				break
			}
		}
		if !removed {
			c.violate("%q: VANISHED UID %d is not in the client's view", l, u)
		}
	}
}

// checkOrder verifies, after every command, that the UIDs the client
// knows are strictly ascending by sequence number (RFC 9051 §2.3.1.1).
func (c *client) checkOrder() {
	var last uint32
	for i, u := range c.uids {
		if u == 0 {
			continue
		}
		if u <= last {
			c.violate("UIDs not ascending: seq %d is UID %d after UID %d", i+1, u, last)
			return
		}
		last = u
	}
}

// view returns the model's seq -> UID map, failing if some sequence
// number has no known UID.
func (c *client) view() ([]uint32, error) {
	for i, u := range c.uids {
		if u == 0 {
			return nil, fmt.Errorf("%s: UID of sequence number %d unknown", c.name, i+1)
		}
	}
	return slices.Clone(c.uids), nil
}

// appendMsg APPENDs msg with LITERAL+ (RFC 7888) and returns the UID
// from APPENDUID (RFC 4315).
func (c *client) appendMsg(mbox, flags, msg string) (uint32, *response, error) {
	if flags != "" {
		flags = "(" + flags + ") "
	}
	r, err := c.mustOK("APPEND %s %s{%d+}\r\n%s", quote(mbox), flags, len(msg), msg)
	if err != nil {
		return 0, r, err
	}
	m := appendUIDs.FindStringSubmatch(r.text)
	if m == nil {
		return 0, r, fmt.Errorf("%s: APPEND OK without APPENDUID: %q", c.name, r.text)
	}
	u, _ := strconv.ParseUint(m[2], 10, 32)
	return uint32(u), r, nil
}

// idle starts IDLE (RFC 2177) and returns once the server sent "+".
func (c *client) idle() (string, error) {
	tag := c.nextTag()
	c.cur = "IDLE"
	if err := c.write(tag + " IDLE\r\n"); err != nil {
		return "", err
	}
	for {
		l, err := c.readLine()
		if err != nil {
			return tag, err
		}
		if strings.HasPrefix(l, "+") {
			return tag, nil
		}
		if strings.HasPrefix(l, tag+" ") {
			return tag, fmt.Errorf("%s: IDLE refused: %q", c.name, l)
		}
		c.untagged(l, time.Now())
	}
}

// idleWait reads untagged responses during IDLE until pred accepts one
// or timeout passes. It returns the lines read and when pred matched.
func (c *client) idleWait(timeout time.Duration, pred func(string) bool) ([]string, time.Time, error) {
	var lines []string
	deadline := time.Now().Add(timeout)
	for {
		c.nc.SetReadDeadline(deadline)
		l, err := c.br.ReadString('\n')
		at := time.Now()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				return lines, time.Time{}, nil
			}
			return lines, time.Time{}, err
		}
		l = strings.TrimSuffix(l, "\r\n")
		lines = append(lines, l)
		c.untagged(l, at)
		if pred != nil && pred(l) {
			return lines, at, nil
		}
	}
}

// idleDone ends IDLE and reads to the tagged OK.
func (c *client) idleDone(tag string) (*response, error) {
	if err := c.write("DONE\r\n"); err != nil {
		return nil, err
	}
	r, err := c.until(tag, "IDLE")
	if err == nil && !r.ok() {
		err = fmt.Errorf("%s: IDLE ended with %s %s", c.name, r.status, r.text)
	}
	return r, err
}

// commandName returns the upper-cased command name of a command line
// ("UID STORE", "FETCH").
func commandName(line string) string {
	f := strings.Fields(strings.ToUpper(line))
	switch {
	case len(f) == 0:
		return ""
	case f[0] == "UID" && len(f) > 1:
		return "UID " + f[1]
	}
	return f[0]
}

func normFlags(fl []string) string {
	var out []string
	for _, f := range fl {
		if strings.EqualFold(f, `\Recent`) {
			continue
		}
		out = append(out, strings.ToLower(f))
	}
	slices.Sort(out)
	return strings.Join(out, " ")
}

func quote(s string) string {
	return `"` + strings.ReplaceAll(strings.ReplaceAll(s, `\`, `\\`), `"`, `\"`) + `"`
}
