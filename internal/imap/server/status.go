package server

import (
	"slices"
	"strings"

	"barid/internal/imap"
	"barid/internal/mailbox"
	"barid/internal/store"
)

// RFC 9051 §6.3.11 STATUS; SIZE is RFC 8438, HIGHESTMODSEQ RFC 7162.
func handleStatus(c *Conn, tag string) error {
	if !c.dec.ExpectSP() {
		return c.dec.Err()
	}
	name, err := c.readMailbox()
	if err != nil {
		return err
	}
	var items []string
	if !c.dec.ExpectSP() || !c.dec.ExpectList(func() bool {
		var it string
		if !c.dec.ExpectAtom(&it) {
			return false
		}
		items = append(items, strings.ToUpper(it))
		return true
	}) || !c.dec.ExpectCRLF() {
		return c.dec.Err()
	}
	// Answer in Dovecot's fixed order, once per item (RFC 9051 §7.2.4
	// leaves the order open).
	want := map[string]bool{}
	for _, it := range items {
		if !slices.Contains(statusOrder, it) {
			return &imap.Error{Type: "BAD", Text: "Unknown STATUS item " + it}
		}
		want[it] = true
	}
	items = items[:0]
	for _, it := range statusOrder {
		if want[it] {
			items = append(items, it)
		}
	}
	// RFC 4314 §4: STATUS needs "r"; MYRIGHTS is RFC 8440 §3.
	ref, err := c.mailboxes().Resolve(c.ctx(), c.user(), name, mailbox.RightRead)
	if err != nil {
		return err
	}
	mb := &ref.Mailbox
	if err := c.writeStatusResponse(mb, items); err != nil {
		return err
	}
	return c.ok(tag, "", "Status completed.")
}

var statusOrder = []string{"MESSAGES", "RECENT", "UIDNEXT", "UIDVALIDITY", "UNSEEN", "HIGHESTMODSEQ", "DELETED",
	"DELETED-STORAGE", // RFC 9208, new STATUS attributes
	"SIZE",
	"MAILBOXID"} // RFC 8474 §4.3

func (c *Conn) writeStatusResponse(mb *store.Mailbox, items []string) error {
	var st *store.Status
	var err error
	if sr, ok := c.srv.cfg.Store.(store.StatusRowReader); ok {
		// mb was just read (Resolve, or LIST's listing): a store
		// current for it counts without a second read.
		st, err = sr.MailboxStatusOf(c.ctx(), mb)
	} else {
		st, err = c.srv.cfg.Store.MailboxStatus(c.ctx(), mb.ID)
	}
	if err != nil {
		return err
	}
	if mb.AccountID != c.account.ID && slices.Contains(items, "UNSEEN") {
		if err := c.privateStatus(mb, st); err != nil {
			return err
		}
	}
	if slices.Contains(items, "DELETED-STORAGE") {
		// RFC 9208: what EXPUNGE would free; summed when asked
		// (store.DeletedSizer), no counter is kept for it.
		ds, ok := c.srv.cfg.Store.(store.DeletedSizer)
		if !ok {
			return &imap.Error{Type: "NO", Code: imap.CodeCannot, Text: "DELETED-STORAGE is not supported by this store"}
		}
		if st.DeletedSize, err = ds.DeletedSize(c.ctx(), mb.ID); err != nil {
			return err
		}
	}
	c.writeStatusItems(mb.Name, st, items)
	return nil
}

// writeStatusItems writes "* STATUS name (item value ...)" for items,
// which are in statusOrder.
func (c *Conn) writeStatusItems(name string, st *store.Status, items []string) {
	c.enc.RawString("* STATUS ")
	c.writeMailboxName(name)
	c.enc.RawString(" (")
	for i, it := range items {
		if i > 0 {
			c.enc.SP()
		}
		c.enc.RawString(it).SP()
		switch it {
		case "MESSAGES":
			c.enc.Number(st.Messages)
		case "UIDNEXT":
			c.enc.Number(uint32(st.Mailbox.UIDNext))
		case "UIDVALIDITY":
			c.enc.Number(st.Mailbox.UIDValidity)
		case "UNSEEN":
			c.enc.Number(st.Unseen)
		case "DELETED":
			c.enc.Number(st.Deleted)
		case "DELETED-STORAGE":
			// RFC 9208 (new STATUS attributes), in the STORAGE resource's units of 1024
			// octets (§5.1), rounded up as GETQUOTA's usage is.
			c.enc.Number64((st.DeletedSize + 1023) / 1024)
		case "SIZE":
			c.enc.Number64(st.Size)
		case "RECENT":
			c.enc.Number(st.Recent)
		case "HIGHESTMODSEQ":
			c.enc.Number64(int64(st.Mailbox.HighestModSeq))
		case "MAILBOXID":
			c.enc.RawString("(").RawString(st.Mailbox.ObjectID()).RawString(")")
		}
	}
	c.enc.RawString(")").CRLF()
}
