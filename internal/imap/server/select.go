package server

import (
	"strings"

	"barid/internal/imap"
	"barid/internal/mailbox"
	"barid/internal/store"
)

// RFC 9051 §6.3.2 SELECT.
func handleSelect(c *Conn, tag string) error { return c.selectMailbox(tag, false) }

// RFC 9051 §6.3.3 EXAMINE.
func handleExamine(c *Conn, tag string) error { return c.selectMailbox(tag, true) }

func (c *Conn) selectMailbox(tag string, readOnly bool) error {
	examine := readOnly
	if !c.dec.ExpectSP() {
		return c.dec.Err()
	}
	name, err := c.readMailbox()
	if err != nil {
		c.deselect()
		return err
	}
	var qr *qresyncParams
	if c.dec.SP() {
		// select-params (RFC 4466): CONDSTORE (RFC 7162 §3.1.8) and
		// QRESYNC (RFC 7162 §3.2.5).
		var perr error
		if !c.dec.ExpectList(func() bool {
			var p string
			if !c.dec.ExpectAtom(&p) {
				return false
			}
			switch strings.ToUpper(p) {
			case "CONDSTORE":
				c.condstore = true
				return true
			case "QRESYNC":
				if !c.qresync {
					perr = &imap.Error{Type: "BAD", Text: "QRESYNC must be enabled first (ENABLE QRESYNC)"}
				}
				q, ok := c.parseQresyncParams()
				qr = q
				if ok && q.seqMatch && c.uidonly && perr == nil {
					// RFC 9586 §3: the sequence match data are
					// sequence numbers.
					perr = errUIDRequired("QRESYNC sequence match data")
				}
				return ok
			}
			return c.dec.Expect(false, "SELECT parameter CONDSTORE or QRESYNC")
		}) {
			if perr != nil {
				return perr
			}
			return c.dec.Err()
		}
		if perr != nil {
			return perr
		}
	}
	if !c.dec.ExpectCRLF() {
		return c.dec.Err()
	}
	hadSelected := c.sel != nil
	c.deselect()
	if hadSelected {
		// RFC 7162 §3.2.11 / RFC 9051 §7.1: Dovecot sends it to every
		// client, and clients ignore codes they don't know.
		c.enc.RawString("* OK [CLOSED] Previous mailbox closed.").CRLF()
	}
	// RFC 4314 §4: SELECT and EXAMINE need "r"; without any right that
	// lets the user change the mailbox it is selected read-only, as
	// Dovecot does.
	ref, err := c.mailboxes().Resolve(c.ctx(), c.user(), name, mailbox.RightRead)
	if err != nil {
		return err
	}
	if ref.Rights&(mailbox.RightSeen|mailbox.RightWrite|mailbox.RightInsert|mailbox.RightDeleteMsg|mailbox.RightExpunge) == 0 {
		readOnly = true
	}
	mb := &ref.Mailbox
	// Listen to this mailbox only, and drop what came before: everything
	// after this point is either in the UID list we load or arrives as a
	// change.
	if c.sub != nil {
		c.sub.Filter(mb.ID)
		// A shared mailbox: its owner's sessions publish under the
		// owner's account (RFC 4314 live sharing).
		c.sub.Watch(mb.AccountID)
	}
	c.pollUpdates()
	// A client's next command after SELECT is usually FETCH 1:* (FLAGS)
	// or a flag SEARCH: start loading the mailbox's flag index now.
	if w, ok := c.srv.cfg.Store.(store.FlagWarmer); ok {
		w.WarmFlags(mb.ID)
	}
	// A store that keeps the mailbox's flags in memory answers the
	// UIDs, the first unseen message and the keywords from one read.
	var snap store.SelectSnapshot
	fast := false
	if sr, ok := c.srv.cfg.Store.(store.SelectRowReader); ok {
		// The row Resolve just read is as fresh as a second read: the
		// store answers from memory when it is current for it.
		if snap, fast, err = sr.SelectSnapshotOf(c.ctx(), mb); err != nil {
			return err
		}
	} else if sr, ok := c.srv.cfg.Store.(store.SelectReader); ok {
		if snap, fast, err = sr.SelectSnapshot(c.ctx(), mb.ID); err != nil {
			return err
		}
	}
	if !fast {
		if snap.Mailbox, snap.UIDs, err = c.srv.cfg.Store.MessageUIDs(c.ctx(), mb.ID); err != nil {
			return err
		}
	}
	mbx, uids := snap.Mailbox, snap.UIDs
	mbx.Name = ref.Name // the name in this user's namespaces
	v := newView(*mbx, uids, readOnly)
	v.uidsShared = snap.UIDsShared
	v.rights = ref.Rights
	v.shared = ref.Shared()
	v.nsPrefix = strings.TrimSuffix(ref.Name, ref.Local)
	if v.shared && c.privateSeenOn(mb) {
		if v.pvt, err = c.loadPrivateSeen(mb); err != nil {
			return err
		}
	}
	if readOnly {
		// EXAMINE shows \Recent without claiming it (RFC 3501 §6.3.2).
		for _, u := range uids {
			if u >= mbx.FirstRecent {
				v.recent = append(v.recent, u)
			}
		}
	} else if len(uids) > 0 && uids[len(uids)-1] >= mbx.FirstRecent {
		// Only claim when there is something to claim: most SELECTs
		// find no new message and need no write at all.
		first, err := c.srv.cfg.Store.ClaimRecent(c.ctx(), mb.ID, uids[len(uids)-1])
		if err != nil {
			return err
		}
		for _, u := range uids {
			if u >= first {
				v.recent = append(v.recent, u)
			}
		}
	}
	// First unseen message (RFC 3501 §6.3.1 OK [UNSEEN]) and the
	// mailbox's keywords. A small mailbox is scanned once, which lists
	// keywords in order of appearance as Dovecot does; a big one asks
	// the store, which answers both without copying a row per message.
	var firstUnseen uint32
	if fast && snap.Ordered && v.pvt == nil && len(uids) <= 10000 {
		// The store listed the keywords in use in the scan's order
		// (PostgreSQL: aggregated next to the rows, one statement).
		for _, k := range snap.InUse {
			v.addKeyword(k)
		}
		for _, k := range snap.Keywords {
			v.addKeyword(k)
		}
		if snap.FirstUnseen != 0 {
			firstUnseen = v.seqOf(snap.FirstUnseen)
		}
	} else if len(uids) <= 10000 {
		if len(uids) > 0 {
			err = c.srv.cfg.Store.FetchMessages(c.ctx(), mb.ID, uids, store.FieldFlags, func(m *store.Message) error {
				for _, k := range m.Flags.Keywords {
					v.addKeyword(k)
				}
				if v.pvt != nil {
					v.pvt.overlay(m)
				}
				if m.Flags.System&store.FlagSeen == 0 && firstUnseen == 0 {
					firstUnseen = v.seqOf(m.UID)
				}
				return nil
			})
			if err != nil {
				return err
			}
		}
		// Then the keywords no message carries any more: a mailbox's
		// keywords stay defined (Dovecot lists them too), and a client
		// told of one before must not see it vanish from FLAGS.
		ks, err := c.srv.cfg.Store.Keywords(c.ctx(), mb.ID)
		if err != nil {
			return err
		}
		for _, k := range ks {
			v.addKeyword(k)
		}
	} else {
		ks := snap.Keywords
		if !fast {
			if ks, err = c.srv.cfg.Store.Keywords(c.ctx(), mb.ID); err != nil {
				return err
			}
		}
		for _, k := range ks {
			v.addKeyword(k)
		}
		if !c.rev2 && v.pvt != nil {
			for i, u := range uids {
				if !v.pvt.seen(u) {
					firstUnseen = uint32(i + 1)
					break
				}
			}
		} else if !c.rev2 {
			u := snap.FirstUnseen
			if !fast {
				if u, err = c.srv.cfg.Store.FirstUnseen(c.ctx(), mb.ID); err != nil {
					return err
				}
			}
			firstUnseen = v.seqOf(u)
		}
	}
	v.reportedRecent = len(v.recent)
	c.sel = v
	c.state = StateSelected
	c.writeFlagsResponses()
	c.enc.RawString("* ").Number(uint32(len(uids))).RawString(" EXISTS").CRLF()
	if !c.rev2 {
		c.enc.RawString("* ").Number(uint32(len(v.recent))).RawString(" RECENT").CRLF()
		// RFC 9586 §3: no sequence number in any response under UIDONLY.
		if firstUnseen > 0 && !c.uidonly {
			c.enc.RawString("* OK [UNSEEN ").Number(firstUnseen).RawString("] First unseen.").CRLF()
		}
	}
	c.enc.RawString("* OK [UIDVALIDITY ").Number(mbx.UIDValidity).RawString("] UIDs valid").CRLF()
	c.enc.RawString("* OK [UIDNEXT ").Number(uint32(mbx.UIDNext)).RawString("] Predicted next UID").CRLF()
	c.writeMailboxIDCode(mbx) // RFC 8474 §4.2
	if c.condstore {
		c.enc.RawString("* OK [HIGHESTMODSEQ ").Number64(int64(mbx.HighestModSeq)).RawString("] Highest").CRLF()
	}
	if c.rev2 {
		c.enc.RawString(`* LIST () "/" `)
		c.writeMailboxName(mbx.Name)
		c.enc.CRLF()
	}
	if qr != nil && qr.uidValidity == mbx.UIDValidity {
		if err := c.qresyncReport(qr); err != nil {
			return err
		}
	}
	code, text := "READ-WRITE", "Select completed."
	if readOnly {
		code = "READ-ONLY"
	}
	if examine {
		text = "Examine completed."
	}
	c.writeStatus(tag, "OK", code, text)
	return nil
}

// deselect leaves the selected state without expunging.
func (c *Conn) deselect() {
	if c.sel == nil {
		return
	}
	c.sel = nil
	c.state = StateAuthenticated
	if c.sub != nil {
		c.sub.Filter(0)
		c.sub.Watch(0)
	}
}

// RFC 9051 §6.4.1 CLOSE: expunge silently (unless read-only), deselect.
func handleClose(c *Conn, tag string) error {
	if !c.dec.ExpectCRLF() {
		return c.dec.Err()
	}
	if !c.sel.readOnly && c.sel.rights.Has(mailbox.RightExpunge) { // RFC 4314 §4: CLOSE expunges only with "e"
		_, changes, err := c.srv.cfg.Store.Expunge(c.ctx(), c.sel.mbox.ID, nil)
		if err != nil {
			return err
		}
		c.publish(changes)
	}
	c.deselect()
	return c.ok(tag, "", "Close completed.")
}

// RFC 3691 / RFC 9051 §6.4.2 UNSELECT.
func handleUnselect(c *Conn, tag string) error {
	if !c.dec.ExpectCRLF() {
		return c.dec.Err()
	}
	c.deselect()
	return c.ok(tag, "", "Unselect completed.")
}

func (c *Conn) requireWritable() error {
	if c.sel.readOnly {
		return &imap.Error{Type: "NO", Code: imap.CodeCannot, Text: "Mailbox is read-only (selected with EXAMINE)"}
	}
	return nil
}
