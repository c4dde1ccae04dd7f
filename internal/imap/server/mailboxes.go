package server

import (
	"errors"
	"strings"

	"barid/internal/imap"
	"barid/internal/store"
)

// RFC 9051 §6.3.4 CREATE. Missing superior names are created too; a
// trailing separator only says the client intends to create inferiors.
func handleCreate(c *Conn, tag string) error {
	if !c.dec.ExpectSP() {
		return c.dec.Err()
	}
	var raw string
	if !c.dec.ExpectAString(&raw) {
		return c.dec.Err()
	}
	use, err := c.parseCreateParams()
	if err != nil {
		return err
	}
	if !c.dec.ExpectCRLF() {
		return c.dec.Err()
	}
	raw = strings.TrimSuffix(raw, "/")
	name, err := c.canonicalName(raw)
	if err != nil {
		return err
	}
	if name == "INBOX" {
		return &imap.Error{Type: "NO", Code: imap.CodeAlreadyExists, Text: "INBOX always exists"}
	}
	mb, err := c.createWithParents(name, use)
	if err != nil {
		return err
	}
	return c.ok(tag, mailboxIDCode(mb), "Create completed.") // RFC 8474 §4.1
}

func (c *Conn) createWithParents(name, specialUse string) (*store.Mailbox, error) {
	st := c.srv.cfg.Store
	parts := strings.Split(name, "/")
	for i := 1; i < len(parts); i++ {
		parent := strings.Join(parts[:i], "/")
		if _, err := st.Mailbox(c.ctx(), c.account.ID, parent); err == nil {
			continue
		} else if !errors.Is(err, store.ErrNoMailbox) {
			return nil, err
		}
		_, changes, err := st.CreateMailbox(c.ctx(), c.account.ID, parent, "")
		if err != nil && !errors.Is(err, store.ErrMailboxExists) {
			return nil, err
		}
		c.publish(changes)
	}
	mb, changes, err := st.CreateMailbox(c.ctx(), c.account.ID, name, specialUse)
	if err != nil {
		return nil, err
	}
	c.publish(changes)
	return mb, nil
}

// RFC 9051 §6.3.5 DELETE.
func handleDelete(c *Conn, tag string) error {
	if !c.dec.ExpectSP() {
		return c.dec.Err()
	}
	name, err := c.readMailbox()
	if err != nil {
		return err
	}
	if !c.dec.ExpectCRLF() {
		return c.dec.Err()
	}
	if name == "INBOX" {
		return &imap.Error{Type: "NO", Code: imap.CodeCannot, Text: "INBOX can't be deleted."}
	}
	mb, err := c.srv.cfg.Store.Mailbox(c.ctx(), c.account.ID, name)
	if err != nil {
		return err
	}
	if c.sel != nil && c.sel.mbox.ID == mb.ID {
		// Deleting our own selected mailbox: leave the selected state
		// instead of being disconnected by our own change.
		c.deselect()
	}
	changes, err := c.srv.cfg.Store.DeleteMailbox(c.ctx(), c.account.ID, name)
	if err != nil {
		return err
	}
	c.publish(changes)
	return c.ok(tag, "", "Delete completed.")
}

// RFC 9051 §6.3.6 RENAME. Renaming INBOX moves its messages to a new
// mailbox and leaves INBOX empty; its inferiors are not renamed.
func handleRename(c *Conn, tag string) error {
	if !c.dec.ExpectSP() {
		return c.dec.Err()
	}
	from, err := c.readMailbox()
	if err != nil {
		return err
	}
	if !c.dec.ExpectSP() {
		return c.dec.Err()
	}
	var raw string
	if !c.dec.ExpectAString(&raw) || !c.dec.ExpectCRLF() {
		return c.dec.Err()
	}
	to, err := c.canonicalName(strings.TrimSuffix(raw, "/"))
	if err != nil {
		return err
	}
	st := c.srv.cfg.Store
	if to == "INBOX" {
		return &imap.Error{Type: "NO", Code: imap.CodeAlreadyExists, Text: "INBOX already exists"}
	}
	if to == from || strings.HasPrefix(to, from+"/") {
		return &imap.Error{Type: "NO", Code: imap.CodeCannot, Text: "Can't rename a mailbox to itself or under itself"}
	}
	src, err := st.Mailbox(c.ctx(), c.account.ID, from)
	if err != nil {
		return err
	}
	if _, err := st.Mailbox(c.ctx(), c.account.ID, to); err == nil {
		return &imap.Error{Type: "NO", Code: imap.CodeAlreadyExists, Text: "Target mailbox already exists"}
	}
	// Superiors of the new name are created as needed.
	if i := strings.LastIndexByte(to, '/'); i > 0 {
		parent := to[:i]
		if _, err := st.Mailbox(c.ctx(), c.account.ID, parent); errors.Is(err, store.ErrNoMailbox) {
			if _, err := c.createWithParents(parent, ""); err != nil {
				return err
			}
		}
	}
	if from == "INBOX" {
		dst, changes, err := st.CreateMailbox(c.ctx(), c.account.ID, to, "")
		if err != nil {
			return err
		}
		c.publish(changes)
		_, uids, err := st.MessageUIDs(c.ctx(), src.ID)
		if err != nil {
			return err
		}
		if len(uids) > 0 {
			_, changes, err := st.MoveMessages(c.ctx(), src.ID, uids, dst.ID)
			if err != nil {
				return err
			}
			c.publish(changes)
		}
		return c.ok(tag, "", "Rename completed.")
	}
	changes, err := st.RenameMailbox(c.ctx(), c.account.ID, from, to)
	if err != nil {
		return err
	}
	c.publish(changes)
	// Subscriptions follow the renamed mailbox and its inferiors, as
	// Dovecot does.
	if subs, err := st.Subscriptions(c.ctx(), c.account.ID); err == nil {
		for _, sname := range subs {
			if sname != from && !strings.HasPrefix(sname, from+"/") {
				continue
			}
			nn := to + sname[len(from):]
			if ch, err := st.SetSubscribed(c.ctx(), c.account.ID, sname, false); err == nil {
				c.publish(ch)
			}
			if ch, err := st.SetSubscribed(c.ctx(), c.account.ID, nn, true); err == nil {
				c.publish(ch)
			}
		}
	}
	return c.ok(tag, "", "Rename completed.")
}

// RFC 9051 §6.3.7 SUBSCRIBE.
func handleSubscribe(c *Conn, tag string) error { return c.subscribe(tag, true) }

// RFC 9051 §6.3.8 UNSUBSCRIBE.
func handleUnsubscribe(c *Conn, tag string) error { return c.subscribe(tag, false) }

func (c *Conn) subscribe(tag string, on bool) error {
	if !c.dec.ExpectSP() {
		return c.dec.Err()
	}
	name, err := c.readMailbox()
	if err != nil {
		return err
	}
	if !c.dec.ExpectCRLF() {
		return c.dec.Err()
	}
	changes, err := c.srv.cfg.Store.SetSubscribed(c.ctx(), c.account.ID, name, on)
	if err != nil {
		return err
	}
	c.publish(changes)
	if on {
		return c.ok(tag, "", "Subscribe completed.")
	}
	return c.ok(tag, "", "Unsubscribe completed.")
}
