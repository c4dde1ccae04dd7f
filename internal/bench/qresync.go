package bench

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// qresyncOp times what a mail client does when it comes back to a large
// mailbox another client changed meanwhile: SELECT with QRESYNC (RFC 7162
// §3.2.5) after a number of flag changes and expunges made by another
// session. Before each timed run (untimed):
//
//   - a second connection, with QRESYNC enabled, selects the mailbox to
//     learn UIDVALIDITY and HIGHESTMODSEQ, and leaves it (UNSELECT);
//   - the main connection clears and sets \Seen again on changes-expunges
//     messages that had it (their flags end as they were, their modseqs
//     move on), appends expunges small filler messages and expunges the
//     previous run's fillers (UID EXPUNGE, RFC 4315).
//
// The timed run is SELECT (QRESYNC (uidvalidity modseq)) on the second
// connection; its result count is the FETCH responses plus the UIDs
// reported VANISHED (EARLIER). The mailbox ends as it began, but for the
// UIDs the fillers used.
type qresyncOp struct {
	o        *bigboxOpts
	q        *Conn
	changed  string   // UID set of the messages whose \Seen is toggled
	fillers  []uint32 // UIDs of the fillers now in the mailbox
	uidv     string
	modseq   string
	fillerNo int
}

func (x *qresyncOp) setup(c *Conn) error {
	o := x.o
	flips := o.qrChanges - o.qrExpunges
	if flips < 0 || o.qrExpunges < 0 {
		return fmt.Errorf("-qresync-changes %d below -qresync-expunges %d", o.qrChanges, o.qrExpunges)
	}
	q, err := o.login(o.ctx, o.user)
	if err != nil {
		return err
	}
	q.SetTimeout(o.cmdLimit)
	x.q = q
	if err := q.EnableQresync(); err != nil {
		return err
	}
	var seen []uint32
	err = c.Exec(func(r *Resp) error {
		if !r.Is("SEARCH") {
			return nil
		}
		return numbers(r.Rest, func(v uint32) error { seen = append(seen, v); return nil })
	}, "UID SEARCH SEEN")
	if err != nil {
		return err
	}
	if len(seen) < flips {
		return fmt.Errorf("%d messages have \\Seen, %d flag changes asked", len(seen), flips)
	}
	var set strings.Builder
	for i := range flips {
		if i > 0 {
			set.WriteByte(',')
		}
		// evenly spread over the mailbox
		set.WriteString(strconv.FormatUint(uint64(seen[i*len(seen)/flips]), 10))
	}
	x.changed = set.String()
	x.fillers, err = x.appendFillers(c)
	return err
}

// prep runs before each timed run (untimed).
func (x *qresyncOp) prep(c *Conn) error {
	if x.q == nil {
		if err := x.setup(c); err != nil {
			return err
		}
	}
	x.uidv, x.modseq = "", ""
	err := x.q.SelectWith(x.o.mailbox, "", x.codes)
	if err == nil {
		err = x.q.Exec(nil, "UNSELECT")
	}
	if err != nil {
		return err
	}
	if x.uidv == "" || x.modseq == "" {
		return syncErrf("SELECT gave no UIDVALIDITY or HIGHESTMODSEQ (uidvalidity %q, modseq %q)", x.uidv, x.modseq)
	}
	if x.changed != "" {
		for _, op := range []string{"-", "+"} {
			if err := c.Exec(nil, "UID STORE "+x.changed+" "+op+`FLAGS.SILENT (\Seen)`); err != nil {
				return err
			}
		}
	}
	fresh, err := x.appendFillers(c)
	if err != nil {
		return err
	}
	if err := x.expunge(c, x.fillers); err != nil {
		return err
	}
	x.fillers = fresh
	return nil
}

// codes is the handler that keeps UIDVALIDITY and HIGHESTMODSEQ from a
// SELECT's untagged OK responses.
func (x *qresyncOp) codes(r *Resp) error {
	if !r.Is("OK") || len(r.Rest) < 2 || r.Rest[0] != '[' {
		return nil
	}
	code, _, _ := bytes.Cut(r.Rest[1:], []byte("]"))
	name, val, _ := bytes.Cut(code, []byte(" "))
	switch {
	case asciiEqualFold(name, "UIDVALIDITY"):
		x.uidv = string(val)
	case asciiEqualFold(name, "HIGHESTMODSEQ"):
		x.modseq = string(val)
	}
	return nil
}

// run is the timed resync.
func (x *qresyncOp) run(*Conn) (int, error) {
	n := 0
	err := x.q.SelectWith(x.o.mailbox, "(QRESYNC ("+x.uidv+" "+x.modseq+"))", func(r *Resp) error {
		switch {
		case r.Is("FETCH"):
			n++
		case r.Is("VANISHED"):
			k, err := uidSetSize(bytes.TrimPrefix(r.Rest, []byte("(EARLIER) ")))
			if err != nil {
				return err
			}
			n += k
		}
		return nil
	})
	return n, err
}

// done removes the last fillers and closes the second connection.
func (x *qresyncOp) done(c *Conn) error {
	if x.q == nil {
		return nil
	}
	err := x.expunge(c, x.fillers)
	x.q.Logout()
	x.q = nil
	return err
}

// appendFillers appends the fillers of one run (MULTIAPPEND, RFC 3502,
// when the server has it) and returns their UIDs: the last messages of
// the mailbox, since nothing else appends to it during the run.
func (x *qresyncOp) appendFillers(c *Conn) ([]uint32, error) {
	k := x.o.qrExpunges
	if k == 0 {
		return nil, nil
	}
	multi, err := c.HasCap("MULTIAPPEND")
	if err != nil {
		return nil, err
	}
	date := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var tags []string
	for i := 0; i < k; {
		tag := c.Begin()
		c.WriteString("APPEND " + Quote(x.o.mailbox))
		for j := 0; j < k-i && (multi || j == 0); j++ {
			x.fillerNo++
			body := fmt.Sprintf("From: Resync filler <filler@bench.example>\r\nTo: %s@bench.example\r\nSubject: resync filler %d\r\n"+
				"Date: %s\r\nMessage-ID: <filler%d.%d@bench.example>\r\n\r\nA filler that the resync benchmark expunges again.\r\n",
				x.o.user, x.fillerNo, date.Format(time.RFC1123Z), x.fillerNo, time.Now().UnixNano())
			c.WriteString(" () " + imapDate(date) + " ")
			if err := c.Literal([]byte(body)); err != nil {
				return nil, err
			}
			i++
		}
		if err := c.End(); err != nil {
			return nil, err
		}
		tags = append(tags, tag)
	}
	for _, tag := range tags {
		res, err := c.Wait(tag, nil)
		if err != nil {
			return nil, err
		}
		if err := res.Err(); err != nil {
			return nil, err
		}
	}
	n := int(c.Exists())
	if n < k {
		return nil, syncErrf("%d messages after appending %d fillers", n, k)
	}
	var uids []uint32
	err = c.Exec(func(r *Resp) error {
		if !r.Is("FETCH") {
			return nil
		}
		return fetchItems(r.Rest, func(name []byte, v Value) error {
			if asciiEqualFold(name, "UID") {
				u, ok := parseUint32(v.Raw)
				if !ok {
					return protoErrf("bad UID %q", clip(v.Raw))
				}
				uids = append(uids, u)
			}
			return nil
		})
	}, fmt.Sprintf("FETCH %d:%d (UID)", n-k+1, n))
	if err == nil && len(uids) != k {
		err = syncErrf("FETCH of the %d fillers gave %d UIDs", k, len(uids))
	}
	return uids, err
}

// expunge removes the given messages only (UID EXPUNGE, RFC 4315 §2.1).
func (x *qresyncOp) expunge(c *Conn, uids []uint32) error {
	if len(uids) == 0 {
		return nil
	}
	var set strings.Builder
	for i, u := range uids {
		if i > 0 {
			set.WriteByte(',')
		}
		set.WriteString(strconv.FormatUint(uint64(u), 10))
	}
	if err := c.Exec(nil, "UID STORE "+set.String()+` +FLAGS.SILENT (\Deleted)`); err != nil {
		return err
	}
	return c.Exec(nil, "UID EXPUNGE "+set.String())
}
