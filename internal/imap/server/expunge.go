package server

import (
	"barid/internal/mailbox"
	"barid/internal/store"
)

// RFC 9051 §6.4.3 EXPUNGE.
func handleExpunge(c *Conn, tag string) error {
	if !c.dec.ExpectCRLF() {
		return c.dec.Err()
	}
	if c.sel.readOnly {
		// As Dovecot: nothing to do in a read-only mailbox, and no error.
		return c.ok(tag, "", "Expunge skipped: mailbox is read-only.")
	}
	if err := c.needSel(mailbox.RightExpunge); err != nil { // RFC 4314 §4
		return err
	}
	_, changes, err := c.srv.cfg.Store.Expunge(c.ctx(), c.sel.mbox.ID, nil)
	if err != nil {
		return err
	}
	c.publish(changes)
	return c.ok(tag, "", "Expunge completed.")
}

// RFC 4315 §2.1 / RFC 9051 §6.4.9 UID EXPUNGE: only messages that are
// both in the set and marked \Deleted.
func handleUIDExpunge(c *Conn, tag string) error {
	if !c.dec.ExpectSP() {
		return c.dec.Err()
	}
	uids, err := c.readTargets(true)
	if err != nil {
		return err
	}
	if !c.dec.ExpectCRLF() {
		return c.dec.Err()
	}
	if err := c.requireWritable(); err != nil {
		return err
	}
	if err := c.needSel(mailbox.RightExpunge); err != nil { // RFC 4314 §4
		return err
	}
	var del []store.UID
	err = c.srv.cfg.Store.FetchMessages(c.ctx(), c.sel.mbox.ID, uids, store.FieldFlags, func(m *store.Message) error {
		if m.Flags.System&store.FlagDeleted != 0 {
			del = append(del, m.UID)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if len(del) > 0 {
		_, changes, err := c.srv.cfg.Store.Expunge(c.ctx(), c.sel.mbox.ID, del)
		if err != nil {
			return err
		}
		c.publish(changes)
	}
	return c.ok(tag, "", "Expunge completed.")
}
