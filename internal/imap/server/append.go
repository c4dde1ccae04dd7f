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
	mb, err := c.srv.cfg.Store.Mailbox(c.ctx(), c.account.ID, name)
	if err != nil {
		// Refuse before any literal is read: a synchronizing literal
		// never gets its "+" (RFC 9051 §6.3.12: NO [TRYCREATE]).
		if errors.Is(err, store.ErrNoMailbox) {
			return &imap.Error{Type: "NO", Code: imap.CodeTryCreate, Text: "Mailbox doesn't exist: " + name}
		}
		return err
	}
	var prepared []*deliver.Prepared
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
		// RFC 6855 §4: UTF8 (literal8) form.
		utf8Wrap := false
		if b, ok := c.dec.Peek(); ok && (b == 'U' || b == 'u') {
			var a string
			if !c.dec.ExpectAtom(&a) || !strings.EqualFold(a, "UTF8") || !c.dec.ExpectSP() || !c.dec.ExpectSpecial('(') {
				return c.errOr("expected UTF8 (literal)")
			}
			utf8Wrap = true
		}
		for _, f := range flags {
			if strings.EqualFold(f, `\Recent`) || (strings.HasPrefix(f, `\`) && !isSystemFlag(f)) {
				return &imap.Error{Type: "BAD", Text: "Invalid flag in APPEND: " + f}
			}
		}
		r, size, _, ok := c.dec.Literal()
		if !ok {
			return c.dec.Err()
		}
		if size == 0 {
			io.Copy(io.Discard, r)
			return &imap.Error{Type: "NO", Text: "Refusing to append an empty message"}
		}
		prepare := c.srv.cfg.Deliver.Prepare
		if held >= c.multiAppendBudget() {
			prepare = c.srv.cfg.Deliver.PrepareFile
		}
		p, err := prepare(c.ctx(), r, size, store.FlagsFromNames(flags), date)
		if err != nil {
			io.Copy(io.Discard, r)
			if isConnErr(err) {
				return &ioError{err}
			}
			return err
		}
		prepared = append(prepared, p)
		held += int64(len(p.Inline))
		if utf8Wrap && !c.dec.ExpectSpecial(')') {
			return c.dec.Err()
		}
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
	uids, err := c.srv.cfg.Deliver.Commit(notify.WithOrigin(c.ctx(), c.id), mb.ID, prepared)
	if err != nil {
		return err
	}
	u32 := make([]uint32, len(uids))
	for i, u := range uids {
		u32[i] = uint32(u)
	}
	code := fmt.Sprintf("APPENDUID %d %s", mb.UIDValidity, imap.NewUIDSet(u32).String())
	return c.ok(tag, code, "Append completed.")
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
