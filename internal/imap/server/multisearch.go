package server

import (
	"slices"
	"sort"
	"strings"

	"barid/internal/imap"
	"barid/internal/mailbox"
	"barid/internal/search"
	"barid/internal/store"
)

// MULTISEARCH (RFC 7377): the ESEARCH command searches several
// mailboxes at once, in the authenticated or the selected state.
//
//	esearch = "ESEARCH" [SP esearch-source-opts]
//	          [SP search-return-opts] SP search-program
//	esearch-source-opts = "IN" SP "(" source-mbox [SP "(" scope-options ")"] ")"
//	source-mbox = filter-mailboxes *(SP filter-mailboxes)   (RFC 5465 §8,
//	              plus "subtree-one")
//
// Each mailbox with a match gets one response (§2: none for a mailbox
// without one), always with UIDs:
//
//	* ESEARCH (TAG "t" MAILBOX "m" UIDVALIDITY n) UID ALL 1:3
//
// The search itself is SEARCH's (parseSearchProgram, searchIn, with the
// store's CriteriaSearcher where the keys allow). Without IN the source
// is the selected mailbox (§2). Restrictions, each a tagged BAD:
// "selected" and "selected-delayed" need a selected mailbox; RETURN
// (SAVE) needs the selected mailbox to be the only source (§2.2); a
// sequence-set key or "$" only makes sense in the selected mailbox, so
// they too need it to be the only source; RETURN options are MIN, MAX,
// ALL, COUNT and SAVE (PARTIAL, UPDATE and CONTEXT belong to SEARCH);
// no scope option is defined, so any is refused. A named mailbox that
// does not exist is no error: it has no matches (as mox does).

// esearchSource is the parsed IN (...): filters and whether the
// selected mailbox is named.
type esearchSource struct {
	selected bool
	groups   []notifyGroup
}

// RFC 7377 §2 ESEARCH.
func handleESearch(c *Conn, tag string) error {
	if !c.dec.ExpectSP() {
		return c.dec.Err()
	}
	src := esearchSource{selected: true} // §2: no IN means the selected mailbox
	if b, ok := c.dec.Peek(); ok && (b == 'I' || b == 'i') {
		// No search key begins with "I": this is IN.
		var a string
		if !c.dec.ExpectAtom(&a) {
			return c.dec.Err()
		}
		if !strings.EqualFold(a, "IN") {
			return &imap.Error{Type: "BAD", Text: "Unknown search key " + a}
		}
		if !c.dec.ExpectSP() {
			return c.dec.Err()
		}
		var err error
		if src, err = c.parseESearchSource(); err != nil {
			return err
		}
		if !c.dec.ExpectSP() {
			return c.dec.Err()
		}
	}
	var ret searchReturn
	key, err := c.parseSearchProgram(&ret)
	if err != nil {
		return err
	}
	if ret.partial != nil || ret.update || ret.relevancy {
		return &imap.Error{Type: "BAD", Text: "ESEARCH takes the RETURN options MIN, MAX, ALL, COUNT and SAVE"}
	}
	if src.selected && c.sel == nil {
		return &imap.Error{Type: "BAD", Text: "ESEARCH IN (selected) needs a selected mailbox"}
	}
	mbs, err := c.esearchMailboxes(src)
	if err != nil {
		return err
	}
	onlySelected := c.sel != nil && len(mbs) == 1 && mbs[0].ID == c.sel.mbox.ID
	if ret.save && !onlySelected {
		// RFC 7377 §2.2: SAVE with other mailboxes than the selected one.
		return &imap.Error{Type: "BAD", Text: "RETURN (SAVE) needs the selected mailbox as the only source"}
	}
	if !onlySelected && (key.Uses(search.OpSeqSet) || key.Uses(search.OpUIDList)) {
		return &imap.Error{Type: "BAD", Text: "Sequence numbers and $ refer to the selected mailbox: ESEARCH over other mailboxes cannot use them"}
	}
	ret.esearch = true
	ret.defaultReturn()
	for _, mb := range mbs {
		var uids []store.UID
		var mods []store.ModSeq
		if c.sel != nil && mb.ID == c.sel.mbox.ID {
			// The selected mailbox as the session sees it.
			uids, mods, err = c.searchMatches(key)
		} else {
			uids, mods, err = c.searchOther(mb, key)
		}
		if err != nil {
			return err
		}
		// RFC 7162 §3.1.5: the highest mod-sequence of what is returned.
		highest := highestModSeq(ret, mods)
		if ret.save {
			c.searchRes = slices.Clone(uids)
		}
		if len(uids) == 0 || ret.save && !ret.min && !ret.max && !ret.count && !ret.all {
			continue
		}
		c.writeESearchResult(tag, mb, uids, highest, &ret, key.HasModSeq())
	}
	return c.ok(tag, "", "Search completed.")
}

// parseESearchSource parses "(" source-mbox [SP "(" scope-options ")"] ")"
// after "IN" (RFC 7377 §2).
func (c *Conn) parseESearchSource() (esearchSource, error) {
	var src esearchSource
	var semErr error
	bad := func(text string) bool {
		semErr = &imap.Error{Type: "BAD", Text: text}
		return false
	}
	n := 0
	names := &notifySpec{} // counts names; ESEARCH has no limit of its own
	ok := c.dec.ExpectList(func() bool {
		if b, ok := c.dec.Peek(); ok && b == '(' {
			if n == 0 {
				return bad("ESEARCH IN needs a mailbox specifier before scope options")
			}
			return bad("ESEARCH scope options are not supported (RFC 7377 defines none)")
		}
		n++
		var a string
		if !c.dec.ExpectAtom(&a) {
			return false
		}
		var g notifyGroup
		switch strings.ToUpper(a) {
		case "SELECTED", "SELECTED-DELAYED":
			src.selected = true
			return true
		case "INBOXES":
			g.filter = filterInboxes
		case "PERSONAL":
			g.filter = filterPersonal
		case "SUBSCRIBED":
			g.filter = filterSubscribed
		case "SUBTREE", "SUBTREE-ONE", "MAILBOXES":
			g.filter = map[string]mbFilter{"SUBTREE": filterSubtree, "SUBTREE-ONE": filterSubtreeOne, "MAILBOXES": filterMailboxes}[strings.ToUpper(a)]
			if !c.dec.ExpectSP() || !c.parseNotifyNames(names, &g.names) {
				return false
			}
		default:
			return bad("Unknown ESEARCH source " + a)
		}
		src.groups = append(src.groups, g)
		return true
	})
	if semErr != nil {
		return src, semErr
	}
	if !ok {
		return src, c.dec.Err()
	}
	if n == 0 {
		return src, &imap.Error{Type: "BAD", Text: "ESEARCH IN needs at least one mailbox specifier"}
	}
	return src, nil
}

// esearchMailboxes resolves the source to mailboxes, each once (§2),
// in name order: the user's own and the shared ones (RFC 4314) the user
// may read ("r"; one without "l" is never listed, one with "l" only is
// left out as for STATUS), by the user's names for them. PERSONAL and
// INBOXES are the user's own (RFC 5465 §6.2, §6.3).
func (c *Conn) esearchMailboxes(src esearchSource) ([]store.Mailbox, error) {
	var out []store.Mailbox
	seen := make(map[int64]bool)
	if src.selected {
		out = append(out, c.sel.mbox)
		seen[c.sel.mbox.ID] = true
	}
	if len(src.groups) > 0 {
		all, err := c.mailboxes().List(c.ctx(), c.user())
		if err != nil {
			return nil, err
		}
		var subscribed map[string]bool
		for _, g := range src.groups {
			if g.filter == filterSubscribed && subscribed == nil {
				subs, err := c.srv.cfg.Store.Subscriptions(c.ctx(), c.account.ID)
				if err != nil {
					return nil, err
				}
				subscribed = make(map[string]bool, len(subs))
				for _, s := range subs {
					subscribed[s] = true
				}
			}
		}
		for _, ref := range all {
			mb := ref.Mailbox
			if seen[mb.ID] || !ref.Rights.Has(mailbox.RightRead) {
				continue
			}
			for i := range src.groups {
				if src.groups[i].covers(mb.Name, subscribed, c.mailboxes().Personal) {
					out = append(out, mb)
					seen[mb.ID] = true
					break
				}
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// searchOther searches a mailbox that is not selected: its messages as
// they are now, \Recent being those no session has claimed yet (as
// EXAMINE shows them).
func (c *Conn) searchOther(mb store.Mailbox, key *search.Key) ([]store.UID, []store.ModSeq, error) {
	mbx, uids, err := c.srv.cfg.Store.MessageUIDs(c.ctx(), mb.ID)
	if err != nil {
		return nil, nil, err
	}
	hint := 0
	seqOf := func(u store.UID) uint32 {
		i, ok := gallop(uids, &hint, u)
		if !ok {
			return 0
		}
		return uint32(i + 1)
	}
	recent := func(u store.UID) bool { return u >= mbx.FirstRecent }
	// Another owner's mailbox: the user's own \Seen (privseen.go).
	var pvt *pvtSeen
	if mb.AccountID != c.account.ID && c.privateSeenOn(&mb) {
		if pvt, err = c.loadPrivateSeen(&mb); err != nil {
			return nil, nil, err
		}
	}
	return c.searchInPvt(mb.ID, uids, seqOf, recent, key, pvt)
}

// writeESearchResult writes one mailbox's ESEARCH response (RFC 7377 §2,
// RFC 4731 §3.1).
func (c *Conn) writeESearchResult(tag string, mb store.Mailbox, uids []store.UID, highest store.ModSeq, ret *searchReturn, modseq bool) {
	c.enc.RawString(`* ESEARCH (TAG "`).RawString(tag).RawString(`" MAILBOX `)
	c.writeMailboxName(mb.Name)
	c.enc.RawString(" UIDVALIDITY ").Number(mb.UIDValidity).RawString(") UID")
	nums := make([]uint32, len(uids))
	for i, u := range uids {
		nums[i] = uint32(u)
	}
	if ret.min {
		c.enc.RawString(" MIN ").Number(nums[0])
	}
	if ret.max {
		c.enc.RawString(" MAX ").Number(nums[len(nums)-1])
	}
	if ret.all {
		c.enc.RawString(" ALL ").RawString(imap.NewUIDSet(nums).String())
	}
	if ret.count {
		c.enc.RawString(" COUNT ").Number(uint32(len(nums)))
	}
	if modseq && highest > 0 {
		c.enc.RawString(" MODSEQ ").Number64(int64(highest))
	}
	c.enc.CRLF()
}
