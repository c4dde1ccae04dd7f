package bench

import (
	"strconv"
	"strings"
	"time"
)

// The -profile imaptest mix: the cycle of imaptest's stress mode with
// logout=0 (imaptest 2.3, src/client-state.c, its default state table),
// so that `barid bench mix` and imaptest measure the same work.
//
// What imaptest does, and the default mix does not:
//   - Every cycle writes twice durably: EXPUNGE (after a STORE +FLAGS
//     \Deleted on a few messages) and APPEND (while the mailbox is under
//     30 messages, MESSAGE_COUNT_THRESHOLD). The default mix writes
//     durably in one operation of ten.
//   - It pipelines: up to ten commands in flight, but a command with a
//     message set waits for every command that may expunge (LIST,
//     STATUS, EXPUNGE, APPEND). So a cycle is two round trips:
//     EXPUNGE APPEND LIST STATUS, then FETCH FETCH2 STORE DELETE.
//   - FETCH takes a range of up to 100 messages with one to four items
//     drawn from UID, FLAGS, ENVELOPE, INTERNALDATE, BODY,
//     BODYSTRUCTURE, RFC822.SIZE and BODY.PEEK[HEADER.FIELDS (...)];
//     FETCH2 one message's BODY.PEEK[HEADER], RFC822.HEADER,
//     BODY.PEEK[], BODY.PEEK[1] or BODY.PEEK[TEXT].
//   - STORE sets (+), clears (-) or replaces flags on up to a fifth of
//     the mailbox (at most 50 messages).
//   - It shrinks the mailbox to about 30 messages first (DELETE takes
//     everything above the threshold), so it works on small mailboxes.
//
// imaptest's probabilities are kept: LIST, STATUS and STORE half the
// cycles, FETCH2 once plus 30 % a second time, APPEND once plus 5 % a
// second time. Each command's latency is from the write of its group to
// its tagged answer, as imaptest counts it. Every answer must be tagged
// OK and pass the connection's EXISTS/EXPUNGE bookkeeping; FETCH2 must
// carry its item. imaptest's own state tracking (it checks every flag
// against every other client's view) is not replayed.

// imaptestThreshold is imaptest's MESSAGE_COUNT_THRESHOLD.
const imaptestThreshold = 30

var imaptestFetchItems = []string{"UID", "FLAGS", "ENVELOPE", "INTERNALDATE", "BODY", "BODYSTRUCTURE", "RFC822.SIZE"}

var imaptestHeaderFields = []string{"From", "To", "Cc", "Subject", "References", "In-Reply-To", "Message-ID"}

var imaptestFetch2Items = []string{"BODY.PEEK[HEADER]", "RFC822.HEADER", "BODY.PEEK[]", "BODY.PEEK[1]", "BODY.PEEK[TEXT]"}

var imaptestFlags = []string{`\Seen`, `\Flagged`, `\Answered`, `\Draft`, `$Label1`, `$Label2`, `$Junk`}

// pending is one pipelined command.
type pending struct {
	op  int
	tag string
	h   Handler
	// check runs after the tagged OK (nil: nothing more to check).
	check func() error
}

// imaptestCycle runs one cycle: two pipelined groups.
func (c *mixClient) imaptestCycle() {
	cn := c.conn
	// Group 1: the commands that may expunge.
	var g []pending
	send := func(op int, cmd string, h Handler, check func() error) bool {
		tag, err := cn.Send(cmd)
		if err != nil {
			c.timed(op, func() error { return err })
			return false
		}
		g = append(g, pending{op: op, tag: tag, h: h, check: check})
		return true
	}
	t0 := time.Now()
	if !send(opExpunge, "EXPUNGE", nil, nil) {
		return
	}
	for range 1 + btoi(c.r.IntN(100) < 5) {
		n := cn.Exists()
		if n-(n>>3) >= imaptestThreshold {
			break
		}
		c.appendN++
		m := c.gen.Message(c.id*1_000_000 + c.appendN)
		tag := cn.Begin()
		cn.WriteString("APPEND " + Quote(c.o.mailbox) + " (" + strings.Join(m.Flags, " ") + ") " + imapDate(m.Date) + " ")
		err := cn.Literal(m.Body)
		if err == nil {
			err = cn.End()
		}
		if err != nil {
			c.timed(opAppend, func() error { return err })
			return
		}
		g = append(g, pending{op: opAppend, tag: tag})
	}
	if c.r.IntN(2) == 0 && !send(opList, `LIST "" *`, nil, nil) {
		return
	}
	if c.r.IntN(2) == 0 && !send(opStatus, "STATUS "+Quote(c.o.mailbox)+" (MESSAGES UNSEEN RECENT)", nil, nil) {
		return
	}
	if !c.waitGroup(t0, g) {
		return
	}

	// Group 2: message sets, valid now that the expunges are known.
	n := int(cn.Exists())
	if n == 0 {
		return
	}
	g = g[:0]
	t0 = time.Now()
	a, b := c.imaptestRange(n, min(n, 100))
	if !send(opFetch, "FETCH "+seqRange(a, b)+" ("+c.imaptestFetchList()+")", nil, nil) {
		return
	}
	for range 1 + btoi(c.r.IntN(100) < 30) {
		s := 1 + c.r.IntN(n)
		item := imaptestFetch2Items[c.r.IntN(len(imaptestFetch2Items))]
		want := strings.Replace(item, ".PEEK", "", 1)
		got := false
		h := func(r *Resp) error {
			if r.Is("FETCH") && int(r.Num) == s && strings.Contains(strings.ToUpper(string(r.Rest)), want) {
				got = true
			}
			return nil
		}
		check := func() error {
			if !got {
				return syncErrf("FETCH %d (UID %s) returned no %s", s, item, want)
			}
			return nil
		}
		if !send(opFetch2, "FETCH "+strconv.Itoa(s)+" (UID "+item+")", h, check) {
			return
		}
	}
	if c.r.IntN(2) == 0 {
		k := 1
		if n >= 10 {
			k = max(1, min(n/5, 50))
		}
		a, b := c.imaptestRange(n, 1+c.r.IntN(k))
		sign := [3]string{"+", "-", ""}[c.r.IntN(3)]
		if !send(opStore, "STORE "+seqRange(a, b)+" "+sign+"FLAGS ("+c.imaptestFlagList()+")", nil, nil) {
			return
		}
	}
	// DELETE: imaptest's bound, 1 + (APPEND + DELETE/2) / DELETE with
	// both at 100, plus everything above the threshold.
	bound := 2
	if n > imaptestThreshold+5 {
		bound += n - imaptestThreshold
	}
	if k := min(c.r.IntN(bound), 1000); k > 0 {
		a, b := c.imaptestRange(n, k)
		if !send(opDelete, "STORE "+seqRange(a, b)+` +FLAGS (\Deleted)`, nil, nil) {
			return
		}
	}
	c.waitGroup(t0, g)
}

// waitGroup waits for each pipelined command of a group in order and
// records its latency from t0. It reports whether the connection is
// still usable.
func (c *mixClient) waitGroup(t0 time.Time, g []pending) bool {
	// A server may answer pipelined commands out of order (Dovecot runs
	// FETCHes side by side): every untagged response goes to every
	// handler of the group, each picking its own.
	all := func(r *Resp) error {
		for _, p := range g {
			if p.h != nil {
				if err := p.h(r); err != nil {
					return err
				}
			}
		}
		return nil
	}
	for _, p := range g {
		res, err := c.conn.Wait(p.tag, all)
		d := time.Since(t0)
		if err == nil {
			err = res.Err()
		}
		if err == nil && p.check != nil {
			err = p.check()
		}
		if err != nil {
			if !c.timed(p.op, func() error { return err }) {
				return false
			}
			continue
		}
		if c.record {
			c.lat[p.op] = append(c.lat[p.op], int64(d))
		}
	}
	return true
}

// imaptestRange picks a range of k messages (1 <= k <= n) at a random
// place in 1..n.
func (c *mixClient) imaptestRange(n, k int) (int, int) {
	k = max(1, min(k, n))
	a := 1 + c.r.IntN(n-k+1)
	return a, a + k - 1
}

// imaptestFetchList draws one to four FETCH items as imaptest does: a
// plain item three times in four, else BODY.PEEK[HEADER.FIELDS (...)].
func (c *mixClient) imaptestFetchList() string {
	var items []string
	for i := c.r.IntN(4) + 1; i > 0; i-- {
		if c.r.IntN(4) != 0 {
			items = append(items, imaptestFetchItems[c.r.IntN(len(imaptestFetchItems))])
			continue
		}
		var f []string
		for j := c.r.IntN(4) + 1; j > 0; j-- {
			f = append(f, imaptestHeaderFields[c.r.IntN(len(imaptestHeaderFields))])
		}
		items = append(items, "BODY.PEEK[HEADER.FIELDS ("+strings.Join(f, " ")+")]")
	}
	return strings.Join(items, " ")
}

// imaptestFlagList draws a few flags (never \Deleted or \Recent).
func (c *mixClient) imaptestFlagList() string {
	var f []string
	for _, fl := range imaptestFlags {
		if c.r.IntN(3) == 0 {
			f = append(f, fl)
		}
	}
	return strings.Join(f, " ")
}

func seqRange(a, b int) string {
	if a == b {
		return strconv.Itoa(a)
	}
	return strconv.Itoa(a) + ":" + strconv.Itoa(b)
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
