package server

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"barid/internal/deliver"
	"barid/internal/imap"
	"barid/internal/notify"
	"barid/internal/store"
)

// RFC 9051 §6.3.12 APPEND, with MULTIAPPEND (RFC 3502), LITERAL+ /
// LITERAL- (RFC 7888), literal8 (RFC 3516) and UIDPLUS APPENDUID
// (RFC 4315). Every message of one command is committed in one
// transaction, and OK is sent only once that transaction is durable.
func handleAppend(c *Conn, tag string) error {
	if !c.dec.ExpectSP() {
		return c.dec.Err()
	}
	name, err := c.readMailbox()
	if err != nil {
		return err
	}
	// Refuse before any literal is read: a synchronizing literal never
	// gets its "+" (RFC 9051 §6.3.12: NO [TRYCREATE]; RFC 4314 §4: "i").
	ref, err := c.resolveTarget(name)
	if err != nil {
		return err
	}
	mb := &ref.Mailbox
	// RFC 9208 §4.3: refuse a literal over the owner's quota before its
	// "+" (quota.go).
	aq, err := c.beginAppendQuota(mb)
	if err != nil {
		return err
	}
	defer func() { c.litCheck = nil }()
	var prepared []*deliver.Prepared
	// Blob files of messages that end up not stored (the command fails
	// or the client goes away after a literal) are taken back at once.
	committed := false
	defer func() {
		if !committed {
			c.srv.cfg.Deliver.Discard(c.ctx(), prepared...)
		}
	}()
	// held is the bytes of small messages kept in memory for the commit.
	var held int64
	for {
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
				return c.errOr("invalid date-time in APPEND")
			}
		}
		for _, f := range flags {
			if strings.EqualFold(f, `\Recent`) || (strings.HasPrefix(f, `\`) && !isSystemFlag(f)) {
				return &imap.Error{Type: "BAD", Text: "Invalid flag in APPEND: " + f}
			}
		}
		flags = permittedFlags(ref.Rights, flags)
		prepare := c.srv.cfg.Deliver.Prepare
		if held >= c.multiAppendBudget() {
			prepare = c.srv.cfg.Deliver.PrepareFile
		}
		var p *deliver.Prepared
		aq.next()
		if b, ok := c.dec.Peek(); ok && (b == 'C' || b == 'c') {
			// RFC 4469 §5: CATENATE, also inside MULTIAPPEND.
			var err error
			if p, err = c.catenate(prepare, store.FlagsFromNames(flags), date); err != nil {
				return err
			}
		} else {
			var err error
			if p, err = c.appendLiteral(prepare, store.FlagsFromNames(flags), date); err != nil {
				return err
			}
		}
		prepared = append(prepared, p)
		held += int64(len(p.Inline))
		if c.dec.CRLF() {
			break
		}
		if err := c.dec.Err(); err != nil {
			return err
		}
		if len(prepared) >= 10000 {
			return &imap.Error{Type: "NO", Code: imap.CodeLimit, Text: "Too many messages in one MULTIAPPEND (max 10000)"}
		}
	}
	pvtSeen := c.appendPrivateSeen(mb, prepared)
	uids, err := c.srv.cfg.Deliver.Commit(notify.WithOrigin(c.ctx(), c.id), mb.ID, prepared)
	if err != nil {
		return err
	}
	committed = true
	if err := c.appendedPrivateSeen(mb, uids, pvtSeen); err != nil {
		return err
	}
	u32 := make([]uint32, len(uids))
	for i, u := range uids {
		u32[i] = uint32(u)
	}
	code := fmt.Sprintf("APPENDUID %d %s", mb.UIDValidity, imap.NewUIDSet(u32).String())
	return c.ok(tag, code, "Append completed.")
}

// appendLiteral reads one message literal, in its RFC 6855 §4 UTF8
// (literal8) form too, and prepares it.
func (c *Conn) appendLiteral(prepare prepareFunc, flags store.Flags, date time.Time) (*deliver.Prepared, error) {
	utf8Wrap := false
	if b, ok := c.dec.Peek(); ok && (b == 'U' || b == 'u') {
		var a string
		if !c.dec.ExpectAtom(&a) || !strings.EqualFold(a, "UTF8") || !c.dec.ExpectSP() || !c.dec.ExpectSpecial('(') {
			return nil, c.errOr("expected UTF8 (literal)")
		}
		utf8Wrap = true
	}
	r, size, _, ok := c.dec.Literal()
	if !ok {
		return nil, c.dec.Err()
	}
	if size == 0 {
		io.Copy(io.Discard, r)
		return nil, &imap.Error{Type: "NO", Text: "Refusing to append an empty message"}
	}
	p, err := prepare(c.ctx(), r, size, flags, date)
	if err != nil {
		io.Copy(io.Discard, r)
		if isConnErr(err) {
			return nil, &ioError{err}
		}
		return nil, err
	}
	if utf8Wrap && !c.dec.ExpectSpecial(')') {
		return nil, c.dec.Err()
	}
	return p, nil
}

func isSystemFlag(f string) bool {
	_, ok := store.ParseSysFlag(f)
	return ok
}

func isConnErr(err error) bool {
	return errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) || strings.Contains(err.Error(), "use of closed network connection") || strings.Contains(err.Error(), "i/o timeout") || strings.Contains(err.Error(), "connection reset")
}

// multiAppendBudget is Config.MultiAppendInlineBudget or its default.
func (c *Conn) multiAppendBudget() int64 {
	if b := c.srv.cfg.MultiAppendInlineBudget; b > 0 {
		return b
	}
	return 16 << 20
}
