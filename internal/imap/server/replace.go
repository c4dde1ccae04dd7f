package server

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"barid/internal/deliver"
	"barid/internal/imap"
	"barid/internal/mailbox"
	"barid/internal/store"
)

// RFC 8508 REPLACE and UID REPLACE: append a new message (to the
// selected mailbox or another) and expunge the one it replaces, in one
// store transaction (RFC 8508 §3.4), answering like APPEND (APPENDUID in
// an untagged OK, §3.3) and MOVE (the EXPUNGE is sent even for REPLACE
// by sequence number).
//
//	replace = "REPLACE" SP seq-number SP mailbox [SP flag-list]
//	          [SP date-time] SP literal
func handleReplace(c *Conn, tag string) error    { return c.replace(tag, false) }
func handleUIDReplace(c *Conn, tag string) error { return c.replace(tag, true) }

func (c *Conn) replace(tag string, uid bool) error {
	var n uint32
	if !c.dec.ExpectSP() || !c.dec.ExpectNumber(&n) || !c.dec.ExpectSP() {
		return c.dec.Err()
	}
	name, err := c.readMailbox()
	if err != nil {
		return err
	}
	// The checks that need no literal come first: a synchronizing
	// literal then never gets its "+".
	var target store.UID
	if uid {
		if c.sel.seqOf(store.UID(n)) == 0 {
			return &imap.Error{Type: imap.TypeNO, Text: fmt.Sprintf("UID %d is not in the mailbox", n)}
		}
		target = store.UID(n)
	} else {
		if n == 0 || int(n) > len(c.sel.uids) {
			return &imap.Error{Type: imap.TypeBAD, Text: "Invalid message sequence number"}
		}
		target = c.sel.uids[n-1]
	}
	if err := c.requireWritable(); err != nil {
		return err
	}
	// RFC 8508 §3.3: REPLACE is an APPEND plus an EXPUNGE of the
	// source message (RFC 4314 §4: "i" on the target, "t" and "e" here).
	if err := c.needSel(mailbox.RightDeleteMsg | mailbox.RightExpunge); err != nil {
		return err
	}
	ref, err := c.resolveTarget(name)
	if err != nil {
		return err
	}
	mb := &ref.Mailbox
	if !c.dec.ExpectSP() {
		return c.dec.Err()
	}
	var flags []string
	if b, ok := c.dec.Peek(); ok && b == '(' {
		if !c.dec.ExpectList(func() bool {
			var f string
			if !c.dec.ExpectFlag(&f) {
				return false
			}
			flags = append(flags, f)
			return true
		}) || !c.dec.ExpectSP() {
			return c.dec.Err()
		}
	}
	var date time.Time
	if b, ok := c.dec.Peek(); ok && b == '"' {
		if !c.dec.DateTime(&date) || !c.dec.ExpectSP() {
			return c.errOr("invalid date-time in REPLACE")
		}
	}
	for _, f := range flags {
		if strings.EqualFold(f, `\Recent`) || (strings.HasPrefix(f, `\`) && !isSystemFlag(f)) {
			return &imap.Error{Type: imap.TypeBAD, Text: "Invalid flag in REPLACE: " + f}
		}
	}
	r, size, _, ok := c.dec.Literal()
	if !ok {
		return c.dec.Err()
	}
	if size == 0 {
		io.Copy(io.Discard, r)
		return &imap.Error{Type: imap.TypeNO, Text: "Refusing to append an empty message"}
	}
	p, err := c.srv.cfg.Deliver.Prepare(c.ctx(), r, size, store.FlagsFromNames(flags), date)
	if err != nil {
		io.Copy(io.Discard, r)
		if isConnErr(err) {
			return &ioError{err}
		}
		return err
	}
	if !c.dec.ExpectCRLF() {
		return c.dec.Err()
	}
	pvtSeen := c.appendPrivateSeen(mb, []*deliver.Prepared{p}) // privseen.go
	newUID, err := c.srv.cfg.Deliver.Replace(c.ctx(), c.sel.mbox.ID, target, mb.ID, p)
	if errors.Is(err, store.ErrNoMessage) {
		// Expunged by another session since this one last heard.
		return &imap.Error{Type: imap.TypeNO, Code: imap.CodeExpungeIssued, Text: "The message to replace has been expunged; nothing was appended"}
	}
	if err != nil {
		return err
	}
	if err := c.appendedPrivateSeen(mb, []store.UID{newUID}, pvtSeen); err != nil {
		return err
	}
	c.enc.RawString("* OK [").RawString(fmt.Sprintf("%s %d %d", imap.CodeAppendUID, mb.UIDValidity, newUID)).
		RawString("] Replacement Message ready").CRLF()
	c.pollUpdates()
	delete(c.sel.expunged, target)
	c.expungeFromView([]store.UID{target})
	return c.ok(tag, "", "Replace completed.")
}
