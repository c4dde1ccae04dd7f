package server

import (
	"slices"

	"barid/internal/imap"
	"barid/internal/store"
)

// qresyncParams is SELECT's QRESYNC parameter (RFC 7162 §3.2.5):
// (uidvalidity mod-sequence [known-uids [(seq-set uid-set)]]).
type qresyncParams struct {
	uidValidity uint32
	modSeq      store.ModSeq
	knownUIDs   imap.UIDSet // nil: all
	seqMatch    bool        // sequence match data was given
}

func (c *Conn) parseQresyncParams() (*qresyncParams, bool) {
	q := &qresyncParams{}
	var ms int64
	if !c.dec.ExpectSP() || !c.dec.ExpectSpecial('(') || !c.dec.ExpectNumber(&q.uidValidity) ||
		!c.dec.ExpectSP() || !c.dec.ExpectNumber64(&ms) {
		return nil, false
	}
	q.modSeq = store.ModSeq(ms)
	if c.dec.SP() {
		if b, ok := c.dec.Peek(); ok && b != '(' {
			if !c.dec.ExpectUIDSet(&q.knownUIDs) {
				return nil, false
			}
			c.dec.SP()
		}
		// The optional sequence match data only saves the server work
		// when it cannot keep expunged UIDs; barid keeps them, so it is
		// read and not needed.
		if b, ok := c.dec.Peek(); ok && b == '(' {
			var seqs imap.SeqSet
			var uids imap.UIDSet
			if !c.dec.ExpectSpecial('(') || !c.dec.ExpectSeqSet(&seqs) || !c.dec.ExpectSP() || !c.dec.ExpectUIDSet(&uids) || !c.dec.ExpectSpecial(')') {
				return nil, false
			}
			q.seqMatch = true
		}
	}
	if !c.dec.ExpectSpecial(')') {
		return nil, false
	}
	return q, true
}

// qresyncReport sends, inside SELECT, what changed since the client's
// modseq: VANISHED (EARLIER) for expunged UIDs and FETCH (UID FLAGS
// MODSEQ) for changed messages (RFC 7162 §3.2.5.1).
func (c *Conn) qresyncReport(q *qresyncParams) error {
	v := c.sel
	gone, err := c.srv.cfg.Store.ExpungedSince(c.ctx(), v.mbox.ID, q.modSeq)
	if err != nil {
		return err
	}
	c.writeVanishedEarlier(gone, q.knownUIDs)
	if q.modSeq >= v.mbox.HighestModSeq || len(v.uids) == 0 {
		return nil
	}
	uids := v.uids
	if q.knownUIDs != nil {
		uids = v.uidsIn(q.knownUIDs)
	}
	return c.writeChangedSince(uids, q.modSeq)
}

// writeVanishedEarlier writes "* VANISHED (EARLIER) set" for the UIDs in
// gone that are within known (nil: all).
func (c *Conn) writeVanishedEarlier(gone []store.UID, known imap.UIDSet) {
	var out []uint32
	for _, u := range gone {
		if known == nil || known.Contains(uint32(u), uint32(c.sel.lastUID())) {
			out = append(out, uint32(u))
		}
	}
	if len(out) == 0 {
		return
	}
	slices.Sort(out)
	c.enc.RawString("* VANISHED (EARLIER) ").RawString(imap.NewUIDSet(out).String()).CRLF()
}

func (c *Conn) writeChangedSince(uids []store.UID, since store.ModSeq) error {
	const chunk = 4096
	for start := 0; start < len(uids); start += chunk {
		part := uids[start:min(start+chunk, len(uids))]
		var msgs []store.Message
		err := c.srv.cfg.Store.FetchMessages(c.ctx(), c.sel.mbox.ID, part, store.FieldFlags, func(m *store.Message) error {
			if p := c.sel.pvt; p != nil {
				p.overlay(m)
			}
			if m.ModSeq > since {
				msgs = append(msgs, *m)
			}
			return nil
		})
		if err != nil {
			return err
		}
		for i := range msgs {
			c.announceKeywords(msgs[i].Flags.Keywords)
		}
		for i := range msgs {
			m := &msgs[i]
			c.writeFlagsFetch(c.sel.seqOf(m.UID), m.UID, m.Flags, m.ModSeq, true)
		}
	}
	return nil
}

// enableCondstore records a CONDSTORE enabling command (RFC 7162 §3.1:
// FETCH or SEARCH with MODSEQ, FETCH CHANGEDSINCE, STORE
// UNCHANGEDSINCE). The first one issued while a mailbox is selected is
// answered with the mailbox's HIGHESTMODSEQ, which the SELECT did not
// carry (RFC 7162 §3.1: the server sends HIGHESTMODSEQ once CONDSTORE is
// enabled for the selected mailbox; Dovecot sends it at this point,
// before the command's responses, and imaptest's esearch-condstore
// expects it).
func (c *Conn) enableCondstore() {
	if c.condstore {
		return
	}
	c.condstore = true
	if c.sel == nil {
		return
	}
	mb, err := c.srv.cfg.Store.MailboxByID(c.ctx(), c.sel.mbox.ID)
	if err != nil {
		c.log.Warn("condstore: highest modseq", "err", err)
		return
	}
	c.enc.RawString("* OK [HIGHESTMODSEQ ").Number64(int64(mb.HighestModSeq)).RawString("] Highest").CRLF()
}
