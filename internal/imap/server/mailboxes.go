package server

import (
	"strings"

	"barid/internal/imap"
)

// The mailbox rules (create-with-parents, RENAME of INBOX, subscriptions
// across a rename, DELETE of INBOX, rights) live in internal/mailbox;
// these handlers parse, call it and render.

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
	ref, err := c.mailboxes().Create(c.mctx(), c.user(), name, use)
	if err != nil {
		return err
	}
	c.writeCreateOldName(name, raw)                                    // RFC 9051 §6.3.4 (rev2 names are not mUTF-7)
	return c.ok(tag, mailboxIDCode(&ref.Mailbox), "Create completed.") // RFC 8474 §4.1
}

// RFC 9051 §6.3.5 DELETE (RFC 4314 §4: "x").
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
	svc := c.mailboxes()
	ref, err := svc.Resolve(c.ctx(), c.user(), name, 0)
	if err != nil {
		return err
	}
	if c.sel != nil && c.sel.mbox.ID == ref.ID && ref.Rights.Has(rightDelete) {
		// Deleting our own selected mailbox: leave the selected state
		// instead of being disconnected by our own change.
		c.deselect()
	}
	if err := svc.Delete(c.mctx(), c.user(), name); err != nil {
		return err
	}
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
	changes, err := c.mailboxes().Rename(c.mctx(), c.user(), from, to)
	if err != nil {
		return err
	}
	c.writeRenameLists(changes) // RFC 9051 §6.3.9.7 OLDNAME
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
	if err := c.mailboxes().SetSubscribed(c.mctx(), c.user(), name, on); err != nil {
		return err
	}
	if on {
		return c.ok(tag, "", "Subscribe completed.")
	}
	return c.ok(tag, "", "Unsubscribe completed.")
}
