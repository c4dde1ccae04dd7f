package server

import (
	"bytes"
	"slices"
	"strings"

	"barid/internal/deliver"
	"barid/internal/imap"
	"barid/internal/mailbox"
	"barid/internal/store"
)

// Private \Seen on shared mailboxes (docs/sharing.md "Private \Seen"):
// on a mailbox another account owns, the session user's \Seen is their
// own, as with Dovecot's INDEXPVT and Cyrus with sharedseen off. The
// message's stored \Seen is the owner's; the user's is kept by
// store.PrivateSeenStore and laid over every flag the session reads
// (FETCH, STORE's answer, SEARCH, SELECT, STATUS, live updates). The
// owner's own mailboxes never read or write any of it.

// sharedSeenEntry is the mailbox METADATA entry (RFC 5464) that makes
// \Seen on the mailbox shared by all its users when its value is
// "true", named after Cyrus's sharedseen annotation
// (/vendor/cmu/cyrus-imapd/sharedseen).
const sharedSeenEntry = "/shared/vendor/cmu/cyrus-imapd/sharedseen"

// pvtSeen is the session user's private \Seen of the selected mailbox:
// the rows the user changed (a message without one is unseen for them).
// It is read and replaced only by the session's own goroutine, between
// commands or in a command before its loads start.
type pvtSeen struct {
	account int64
	rows    map[store.UID]store.PrivateSeen
	// stale: another session of the user changed it (bus); read again
	// before the next report.
	stale bool
}

// overlay puts the user's \Seen into m (read with store.FieldFlags),
// and its modseq when that is the later (RFC 7162 §3.1: the user's
// change is a change of the message for them).
func (p *pvtSeen) overlay(m *store.Message) {
	r, ok := p.rows[m.UID]
	if ok && r.Seen {
		m.Flags.System |= store.FlagSeen
	} else {
		m.Flags.System &^= store.FlagSeen
	}
	if ok && r.ModSeq > m.ModSeq {
		m.ModSeq = r.ModSeq
	}
}

func (p *pvtSeen) seen(uid store.UID) bool { return p.rows[uid].Seen }

// privateSeenOn reports whether \Seen on mb is the session user's own:
// mb belongs to another account and its sharedseen entry is not "true".
func (c *Conn) privateSeenOn(mb *store.Mailbox) bool {
	if c.account == nil || mb.AccountID == c.account.ID {
		return false
	}
	if _, ok := c.srv.cfg.Store.(store.PrivateSeenStore); !ok {
		return false
	}
	if ms := c.metadataStore(); ms != nil {
		es, err := ms.MetadataEntries(c.ctx(), c.account.ID, mb.ID)
		if err != nil {
			c.log.Warn("reading sharedseen", "err", err)
		}
		for _, e := range es {
			if strings.EqualFold(e.Name, sharedSeenEntry) {
				return !strings.EqualFold(string(bytes.TrimSpace(e.Value)), "true")
			}
		}
	}
	return true
}

// loadPrivateSeen reads the user's private \Seen of mb.
func (c *Conn) loadPrivateSeen(mb *store.Mailbox) (*pvtSeen, error) {
	ps := c.srv.cfg.Store.(store.PrivateSeenStore)
	rows, err := ps.PrivateSeen(c.ctx(), mb.ID, c.account.ID)
	if err != nil {
		return nil, err
	}
	p := &pvtSeen{account: c.account.ID, rows: make(map[store.UID]store.PrivateSeen, len(rows))}
	for _, r := range rows {
		p.rows[r.UID] = r
	}
	return p, nil
}

// freshPrivateSeen makes the view's private \Seen current before a
// command reads it: it takes in what the bus brought (recorded, not yet
// reported) and reads the rows again if another session of the user
// changed them. Nothing for a view without private \Seen.
func (c *Conn) freshPrivateSeen() {
	if c.sel == nil || c.sel.pvt == nil {
		return
	}
	c.pollUpdates()
	c.refreshPrivateSeen()
}

// refreshPrivateSeen reads the selected mailbox's private \Seen again
// when another session of the user changed it.
func (c *Conn) refreshPrivateSeen() {
	v := c.sel
	if v == nil || v.pvt == nil || !v.pvt.stale {
		return
	}
	p, err := c.loadPrivateSeen(&v.mbox)
	if err != nil {
		c.log.Warn("reading private seen", "err", err)
		return
	}
	v.pvt = p
}

// setPrivateSeen sets or clears the user's \Seen on uids of the selected
// mailbox, records the result in the view and tells the user's other
// sessions (only theirs: the change is published under the user's
// account, store.ChangePrivateSeen). It returns the changed messages.
func (c *Conn) setPrivateSeen(uids []store.UID, seen bool) ([]store.PrivateSeen, error) {
	v := c.sel
	ps := c.srv.cfg.Store.(store.PrivateSeenStore)
	res, err := ps.SetPrivateSeen(c.ctx(), v.mbox.ID, c.account.ID, uids, seen)
	if err != nil {
		return nil, err
	}
	if len(res) == 0 {
		return nil, nil
	}
	chs := make([]store.Change, len(res))
	for i, r := range res {
		v.pvt.rows[r.UID] = r
		v.own[r.UID] = r.ModSeq
		var f store.Flags
		if seen {
			f.System = store.FlagSeen
		}
		chs[i] = store.Change{Kind: store.ChangePrivateSeen, AccountID: c.account.ID, MailboxID: v.mbox.ID, UID: r.UID, ModSeq: r.ModSeq, Flags: f}
	}
	c.publish(chs)
	return res, nil
}

// privateStatus corrects st.Unseen for a mailbox whose \Seen is the
// user's own: the messages less those the user has seen.
func (c *Conn) privateStatus(mb *store.Mailbox, st *store.Status) error {
	if !c.privateSeenOn(mb) {
		return nil
	}
	rows, err := c.srv.cfg.Store.(store.PrivateSeenStore).PrivateSeen(c.ctx(), mb.ID, c.account.ID)
	if err != nil {
		return err
	}
	seen := uint32(0)
	for _, r := range rows {
		if r.Seen {
			seen++
		}
	}
	st.Unseen = st.Messages - min(seen, st.Messages)
	return nil
}

// storePrivate is STORE (RFC 9051 §6.4.6, CONDSTORE RFC 7162 §3.1.3) on
// a mailbox whose \Seen is the user's own: \Seen goes to the user's
// private state, every other flag to the message. FLAGS (replace)
// keeps the message's stored \Seen, which is the owner's. UNCHANGEDSINCE
// is checked against the modseqs the user sees, before the writes (the
// two writes are not one transaction: a change by another session in
// between is not caught).
func (c *Conn) storePrivate(tag string, uid bool, uids []store.UID, op store.FlagOp, flags store.Flags, unchangedSince store.ModSeq, silent bool) error {
	c.freshPrivateSeen()
	v := c.sel
	st := c.srv.cfg.Store
	type state struct {
		modseq store.ModSeq
		stored store.SysFlags
	}
	before := make(map[store.UID]state, len(uids))
	var todo, failed []store.UID
	err := st.FetchMessages(c.ctx(), v.mbox.ID, uids, store.FieldFlags, func(m *store.Message) error {
		s := state{stored: m.Flags.System}
		v.pvt.overlay(m)
		s.modseq = m.ModSeq
		before[m.UID] = s
		if unchangedSince > 0 && m.ModSeq > unchangedSince {
			failed = append(failed, m.UID)
		} else {
			todo = append(todo, m.UID)
		}
		return nil
	})
	if err != nil {
		return err
	}
	rest := flags
	rest.System &^= store.FlagSeen
	wantSeen := flags.System&store.FlagSeen != 0
	storeRest := func(group []store.UID, op store.FlagOp, f store.Flags) error {
		if len(group) == 0 {
			return nil
		}
		results, _, changes, err := st.StoreFlags(c.ctx(), v.mbox.ID, group, op, f, 0)
		if err != nil {
			return err
		}
		for _, r := range results {
			if r.ModSeq > before[r.UID].modseq {
				v.own[r.UID] = r.ModSeq
			}
		}
		c.publish(changes)
		return nil
	}
	if len(todo) > 0 {
		switch op {
		case store.FlagsReplace:
			var withSeen, without []store.UID
			for _, u := range todo {
				if before[u].stored&store.FlagSeen != 0 {
					withSeen = append(withSeen, u)
				} else {
					without = append(without, u)
				}
			}
			keep := rest
			keep.System |= store.FlagSeen
			if err := storeRest(withSeen, store.FlagsReplace, keep); err != nil {
				return err
			}
			if err := storeRest(without, store.FlagsReplace, rest); err != nil {
				return err
			}
			if _, err := c.setPrivateSeen(todo, wantSeen); err != nil {
				return err
			}
		default:
			if rest.System != 0 || len(rest.Keywords) > 0 {
				if err := storeRest(todo, op, rest); err != nil {
					return err
				}
			}
			if wantSeen {
				if _, err := c.setPrivateSeen(todo, op == store.FlagsAdd); err != nil {
					return err
				}
			}
		}
	}
	c.announceKeywords(flags.Keywords)
	if len(todo) > 0 && (!silent || c.condstore) {
		err := st.FetchMessages(c.ctx(), v.mbox.ID, todo, store.FieldFlags, func(m *store.Message) error {
			v.pvt.overlay(m)
			seq := v.seqOf(m.UID)
			if seq == 0 {
				return nil
			}
			if silent {
				if m.ModSeq <= before[m.UID].modseq {
					return nil
				}
				c.writeFetchHead(seq, m.UID)
				if (uid || c.condstore) && !c.uidonly {
					c.enc.RawString("UID ").Number(uint32(m.UID)).SP()
				}
				c.enc.RawString("MODSEQ (").Number64(int64(m.ModSeq)).RawString("))").CRLF()
				return nil
			}
			c.announceKeywords(m.Flags.Keywords)
			c.writeFlagsFetch(seq, m.UID, m.Flags, m.ModSeq, uid || c.condstore)
			return nil
		})
		if err != nil {
			return err
		}
	}
	if len(failed) > 0 {
		set := make([]uint32, 0, len(failed))
		for _, u := range failed {
			if uid {
				set = append(set, uint32(u))
			} else {
				set = append(set, v.seqOf(u))
			}
		}
		return c.ok(tag, "MODIFIED "+imap.NewUIDSet(set).String(), "Conditional STORE failed for some messages.")
	}
	return c.ok(tag, "", "Store completed.")
}

// carryPrivateSeen gives messages just copied or moved (res) into dst the
// \Seen the user saw, as Dovecot does with INDEXPVT (the copy's flags
// are the user's view of the source, and a private flag is saved
// privately): out of a folder with private \Seen, the copy's \Seen is
// the user's, not the source owner's; into one, the user's \Seen
// becomes their private \Seen there and the stored \Seen is cleared, so
// that the folder's owner and its other users do not inherit it. It
// runs after the copy, in transactions of its own.
func (c *Conn) carryPrivateSeen(dst *mailbox.Ref, res *store.CopyResult) error {
	if res == nil || len(res.DstUIDs) == 0 {
		return nil
	}
	src := c.sel.pvt
	dstPvt := c.privateSeenOn(&dst.Mailbox)
	if src == nil && !dstPvt {
		return nil
	}
	st := c.srv.cfg.Store
	sorted := slices.Clone(res.DstUIDs)
	slices.Sort(sorted)
	stored := make(map[store.UID]bool, len(sorted))
	err := st.FetchMessages(c.ctx(), dst.ID, sorted, store.FieldFlags, func(m *store.Message) error {
		stored[m.UID] = m.Flags.System&store.FlagSeen != 0
		return nil
	})
	if err != nil {
		return err
	}
	var seen, add, remove []store.UID
	for i, su := range res.SrcUIDs {
		du := res.DstUIDs[i]
		s, ok := stored[du]
		if !ok {
			continue // expunged meanwhile
		}
		if src != nil {
			s = src.seen(su)
		}
		if s {
			seen = append(seen, du)
		}
		switch {
		case dstPvt && stored[du]:
			remove = append(remove, du)
		case !dstPvt && s && !stored[du]:
			add = append(add, du)
		case !dstPvt && !s && stored[du]:
			remove = append(remove, du)
		}
	}
	may := dst.Rights.Has(mailbox.RightSeen)
	if dstPvt && may && len(seen) > 0 {
		slices.Sort(seen)
		r, err := st.(store.PrivateSeenStore).SetPrivateSeen(c.ctx(), dst.ID, c.account.ID, seen, true)
		if err != nil {
			return err
		}
		chs := make([]store.Change, len(r))
		for i, p := range r {
			chs[i] = store.Change{Kind: store.ChangePrivateSeen, AccountID: c.account.ID, MailboxID: dst.ID, UID: p.UID, ModSeq: p.ModSeq, Flags: store.Flags{System: store.FlagSeen}}
		}
		c.publish(chs)
	}
	for _, op := range []struct {
		uids []store.UID
		op   store.FlagOp
	}{{add, store.FlagsAdd}, {remove, store.FlagsRemove}} {
		if len(op.uids) == 0 || (op.op == store.FlagsAdd && !may) {
			continue
		}
		slices.Sort(op.uids)
		_, _, changes, err := st.StoreFlags(c.ctx(), dst.ID, op.uids, op.op, store.Flags{System: store.FlagSeen}, 0)
		if err != nil {
			return err
		}
		c.publish(changes)
	}
	return nil
}

// appendPrivateSeen takes \Seen out of messages about to be appended to
// a mailbox whose \Seen is the user's own and returns which of them had
// it (nil when none did): like COPY (carryPrivateSeen), APPEND's \Seen
// is the appender's private \Seen there, as with Dovecot's INDEXPVT.
func (c *Conn) appendPrivateSeen(mb *store.Mailbox, msgs []*deliver.Prepared) []bool {
	if mb.AccountID == c.account.ID {
		return nil
	}
	some := false
	for _, p := range msgs {
		if p.Flags.System&store.FlagSeen != 0 {
			some = true
			break
		}
	}
	if !some || !c.privateSeenOn(mb) {
		return nil
	}
	had := make([]bool, len(msgs))
	for i, p := range msgs {
		had[i] = p.Flags.System&store.FlagSeen != 0
		p.Flags.System &^= store.FlagSeen
	}
	return had
}

// appendedPrivateSeen sets the private \Seen appendPrivateSeen took out,
// once the messages (uids, in the order of had) are stored.
func (c *Conn) appendedPrivateSeen(mb *store.Mailbox, uids []store.UID, had []bool) error {
	if had == nil {
		return nil
	}
	var seen []store.UID
	for i, u := range uids {
		if i < len(had) && had[i] {
			seen = append(seen, u)
		}
	}
	slices.Sort(seen)
	r, err := c.srv.cfg.Store.(store.PrivateSeenStore).SetPrivateSeen(c.ctx(), mb.ID, c.account.ID, seen, true)
	if err != nil {
		return err
	}
	chs := make([]store.Change, len(r))
	for i, p := range r {
		chs[i] = store.Change{Kind: store.ChangePrivateSeen, AccountID: c.account.ID, MailboxID: mb.ID, UID: p.UID, ModSeq: p.ModSeq, Flags: store.Flags{System: store.FlagSeen}}
	}
	c.publish(chs)
	return nil
}
