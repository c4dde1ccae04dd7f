package server

import (
	"fmt"
	"slices"
	"strings"

	"barid/internal/imap"
	"barid/internal/mailbox"
	"barid/internal/store"
)

// RFC 5465 NOTIFY: the client names the events it wants, for the
// selected mailbox and for others, and the server sends them whenever
// they happen, also when no command is in progress (§1). This file
// parses the command and keeps what is pending; push.go (the quiet
// pusher) and view.go (the selected mailbox) deliver it.

// notifyEvents is a set of RFC 5465 §5 events.
type notifyEvents uint8

const (
	evNew          notifyEvents = 1 << iota // MessageNew (§5.2)
	evExpunge                               // MessageExpunge (§5.3)
	evFlags                                 // FlagChange (§5.1)
	evMailboxName                           // MailboxName (§5.4)
	evSubscription                          // SubscriptionChange (§5.5)
	evAnnotation                            // AnnotationChange (§5.1): parsed, not supported

	evMessage = evNew | evExpunge | evFlags | evAnnotation
)

// notifyBadEvent is the BADEVENT response code: it MUST list every
// event the server supports (RFC 5465 §3.1, §8). AnnotationChange needs
// ANNOTATE (RFC 5257) and MailboxMetadataChange/ServerMetadataChange
// need METADATA (RFC 5464, §5.6, §5.7), which barid does not offer.
const notifyBadEvent = imap.CodeBadEvent + " (MessageNew MessageExpunge FlagChange MailboxName SubscriptionChange)"

// mbFilter is a mailbox specifier other than SELECTED (RFC 5465 §6).
type mbFilter uint8

const (
	filterInboxes    mbFilter = iota + 1 // §6.3
	filterPersonal                       // §6.2
	filterSubscribed                     // §6.4
	filterSubtree                        // §6.5
	filterMailboxes                      // §6.6
	filterSubtreeOne                     // RFC 7377 §2.1 (ESEARCH only): the mailbox and its children
)

// notifyGroup is one event group for mailboxes other than the selected
// one.
type notifyGroup struct {
	filter mbFilter
	names  []string     // canonical names, for SUBTREE and MAILBOXES
	events notifyEvents // 0: NONE
}

// notifySpec is a parsed NOTIFY SET (RFC 5465 §8).
type notifySpec struct {
	status bool // NOTIFY SET STATUS (§3.1)
	groups []notifyGroup
	// selected holds the events of the SELECTED or SELECTED-DELAYED
	// group (§6.1); none when there is no such group, which is the
	// same as SELECTED NONE (§3.1).
	selected    notifyEvents
	hasSelected bool
	delayed     bool      // SELECTED-DELAYED (§6.1.2)
	fetch       *fetchReq // MessageNew's fetch-att list for the selected mailbox (§5.2)
	unsupported []string  // events named but not supported: NO [BADEVENT]
	names       int       // mailbox names given (limit notify_mailboxes)
	others      notifyEvents
	// personal tells names in the personal namespace from shared ones
	// ("Other Users/…", "Shared/…", RFC 2342) for PERSONAL and INBOXES
	// (§6.2, §6.3); nil: every name is personal.
	personal func(name string) bool
}

// parseNotify parses NOTIFY's arguments after "NOTIFY SP", CRLF
// included. NOTIFY NONE gives a nil spec. Syntax and composition
// errors are BAD (§5, §6.1); unsupported events are left in
// spec.unsupported for the handler's NO [BADEVENT].
func (c *Conn) parseNotify() (*notifySpec, error) {
	var verb string
	if !c.dec.ExpectAtom(&verb) {
		return nil, c.dec.Err()
	}
	switch strings.ToUpper(verb) {
	case "NONE":
		if !c.dec.ExpectCRLF() {
			return nil, c.dec.Err()
		}
		return nil, nil
	case "SET":
	default:
		return nil, &imap.Error{Type: "BAD", Text: "NOTIFY expects SET or NONE"}
	}
	spec := &notifySpec{}
	if !c.dec.ExpectSP() {
		return nil, c.dec.Err()
	}
	if b, ok := c.dec.Peek(); ok && b != '(' {
		var a string
		if !c.dec.ExpectAtom(&a) {
			return nil, c.dec.Err()
		}
		if !strings.EqualFold(a, "STATUS") {
			return nil, &imap.Error{Type: "BAD", Text: "NOTIFY SET expects STATUS or an event group, not " + a}
		}
		spec.status = true
		if !c.dec.ExpectSP() {
			return nil, c.dec.Err()
		}
	}
	for {
		if err := c.parseNotifyGroup(spec); err != nil {
			return nil, err
		}
		if !c.dec.SP() {
			break
		}
	}
	if !c.dec.ExpectCRLF() {
		return nil, c.dec.Err()
	}
	for _, g := range spec.groups {
		spec.others |= g.events
	}
	return spec, nil
}

// parseNotifyGroup parses event-group = "(" filter-mailboxes SP events ")".
func (c *Conn) parseNotifyGroup(spec *notifySpec) error {
	var g notifyGroup
	var selected, delayed, needNames, haveEvents bool
	var semErr error
	bad := func(text string) bool {
		semErr = &imap.Error{Type: "BAD", Text: text}
		return false
	}
	n := 0
	ok := c.dec.ExpectList(func() bool {
		n++
		switch {
		case n == 1:
			var a string
			if !c.dec.ExpectAtom(&a) {
				return false
			}
			switch strings.ToUpper(a) {
			case "SELECTED":
				selected = true
			case "SELECTED-DELAYED":
				selected, delayed = true, true
			case "INBOXES":
				g.filter = filterInboxes
			case "PERSONAL":
				g.filter = filterPersonal
			case "SUBSCRIBED":
				g.filter = filterSubscribed
			case "SUBTREE":
				g.filter, needNames = filterSubtree, true
			case "MAILBOXES":
				g.filter, needNames = filterMailboxes, true
			default:
				return bad("Unknown NOTIFY mailbox specifier " + a)
			}
			return true
		case n == 2 && needNames:
			return c.parseNotifyNames(spec, &g.names)
		case !haveEvents:
			haveEvents = true
			ev, ok := c.parseNotifyEvents(spec, selected, &semErr)
			g.events = ev
			return ok
		default:
			return bad("Unexpected data after the events of a NOTIFY event group")
		}
	})
	if semErr != nil {
		return semErr
	}
	if !ok {
		return c.dec.Err()
	}
	if !haveEvents {
		return &imap.Error{Type: "BAD", Text: "A NOTIFY event group needs a mailbox specifier and events"}
	}
	if !selected {
		spec.groups = append(spec.groups, g)
		return nil
	}
	// RFC 5465 §6.1: one SELECTED or SELECTED-DELAYED, message events
	// only; §5: MessageNew and MessageExpunge together, and FlagChange
	// or AnnotationChange only with both.
	if spec.hasSelected {
		return &imap.Error{Type: "BAD", Text: "Only one SELECTED or SELECTED-DELAYED event group is allowed"}
	}
	if g.events&^evMessage != 0 {
		return &imap.Error{Type: "BAD", Text: "SELECTED and SELECTED-DELAYED take message events only"}
	}
	both := evNew | evExpunge
	if g.events&both != 0 && g.events&both != both {
		return &imap.Error{Type: "BAD", Text: "MessageNew and MessageExpunge must be specified together"}
	}
	if g.events&(evFlags|evAnnotation) != 0 && g.events&both != both {
		return &imap.Error{Type: "BAD", Text: "FlagChange and AnnotationChange require MessageNew and MessageExpunge"}
	}
	spec.hasSelected, spec.delayed, spec.selected = true, delayed, g.events
	return nil
}

// parseNotifyNames parses one-or-more-mailbox. Names are taken
// literally, never as patterns (§6.6); a name that cannot exist (bad
// modified UTF-7, forbidden characters) can never match and is dropped.
func (c *Conn) parseNotifyNames(spec *notifySpec, names *[]string) bool {
	one := func() bool {
		var raw string
		if !c.dec.ExpectAString(&raw) {
			return false
		}
		spec.names++
		if name, err := c.canonicalName(raw); err == nil {
			*names = append(*names, name)
		}
		return true
	}
	if b, ok := c.dec.Peek(); ok && b == '(' {
		return c.dec.ExpectList(one)
	}
	return one()
}

// parseNotifyEvents parses events = "(" event *(SP event) ")" / "NONE".
func (c *Conn) parseNotifyEvents(spec *notifySpec, selected bool, semErr *error) (notifyEvents, bool) {
	if b, ok := c.dec.Peek(); ok && b != '(' {
		var a string
		if !c.dec.ExpectAtom(&a) {
			return 0, false
		}
		if !strings.EqualFold(a, "NONE") {
			*semErr = &imap.Error{Type: "BAD", Text: "NOTIFY events must be a list or NONE"}
			return 0, false
		}
		return 0, true
	}
	var ev notifyEvents
	last, count := "", 0
	ok := c.dec.ExpectList(func() bool {
		if b, ok := c.dec.Peek(); ok && b == '(' {
			if last != "MESSAGENEW" {
				*semErr = &imap.Error{Type: "BAD", Text: "Only MessageNew takes a list of FETCH attributes"}
				return false
			}
			last = ""
			// RFC 5465 §5.2: what to FETCH for a new message in the
			// selected mailbox; meaningless for other mailboxes.
			req := &fetchReq{}
			condstore := c.condstore
			err := c.parseFetchAtts(req, false)
			c.condstore = condstore
			if err != nil {
				*semErr = err
				return false
			}
			req.finish(false)
			if selected {
				spec.fetch = req
			}
			return true
		}
		var a string
		if !c.dec.ExpectAtom(&a) {
			return false
		}
		count++
		last = strings.ToUpper(a)
		switch last {
		case "MESSAGENEW":
			ev |= evNew
		case "MESSAGEEXPUNGE":
			ev |= evExpunge
		case "FLAGCHANGE":
			ev |= evFlags
		case "MAILBOXNAME":
			ev |= evMailboxName
		case "SUBSCRIPTIONCHANGE":
			ev |= evSubscription
		case "ANNOTATIONCHANGE":
			ev |= evAnnotation
			spec.unsupport("AnnotationChange")
		default:
			// MailboxMetadataChange, ServerMetadataChange (no
			// METADATA here) and any event-ext: NO [BADEVENT] (§3.1).
			spec.unsupport(a)
		}
		return true
	})
	if !ok {
		return 0, false
	}
	if count == 0 {
		*semErr = &imap.Error{Type: "BAD", Text: "An empty NOTIFY event list; use NONE"}
		return 0, false
	}
	return ev, true
}

func (s *notifySpec) unsupport(name string) {
	for _, u := range s.unsupported {
		if strings.EqualFold(u, name) {
			return
		}
	}
	s.unsupported = append(s.unsupported, name)
}

// covers reports whether mailbox name matches the group's specifier.
// PERSONAL is the user's own mailboxes (RFC 5465 §6.2): personal tells
// them from the shared namespaces' (nil: all are). The set of mailboxes
// that receive new mail is not known in advance (any may, by LMTP
// detail or `barid deliver --mailbox`), so INBOXES is PERSONAL as RFC
// 5465 §6.3 requires then (Dovecot does the same). Shared mailboxes are
// covered by SUBSCRIBED, SUBTREE and MAILBOXES, by their names in the
// user's namespaces ("Other Users/bob/Team").
func (g *notifyGroup) covers(name string, subscribed map[string]bool, personal func(string) bool) bool {
	switch g.filter {
	case filterInboxes, filterPersonal:
		return personal == nil || personal(name)
	case filterSubscribed:
		return subscribed[name]
	case filterSubtree:
		for _, n := range g.names {
			if name == n || strings.HasPrefix(name, n+"/") {
				return true
			}
		}
	case filterMailboxes:
		for _, n := range g.names {
			if name == n {
				return true
			}
		}
	case filterSubtreeOne:
		for _, n := range g.names {
			if name == n || strings.HasPrefix(name, n+"/") && !strings.Contains(name[len(n)+1:], "/") {
				return true
			}
		}
	}
	return false
}

// match reports whether event ev on mailbox name is to be notified. The
// groups are read in order: the first that covers the mailbox and names
// the event decides yes; one that covers it with NONE decides no.
func (s *notifySpec) match(name string, ev notifyEvents, subscribed map[string]bool) bool {
	for i := range s.groups {
		g := &s.groups[i]
		if !g.covers(name, subscribed, s.personal) {
			continue
		}
		if g.events == 0 {
			return false
		}
		if g.events&ev != 0 {
			return true
		}
	}
	return false
}

// matchAll returns the events of evs (one bit each) that match name.
func (s *notifySpec) matchAll(name string, evs notifyEvents, subscribed map[string]bool) notifyEvents {
	var out notifyEvents
	for _, ev := range []notifyEvents{evNew, evExpunge, evFlags, evMailboxName, evSubscription} {
		if evs&ev != 0 && s.match(name, ev, subscribed) {
			out |= ev
		}
	}
	return out
}

// notifyState is a session's NOTIFY state: the spec in force and what
// is pending for other mailboxes. It is the connection's, touched by
// the command goroutine or, between commands, by the pusher under wmu.
type notifyState struct {
	spec *notifySpec // nil after NOTIFY NONE
	// subscribed is the subscription list, loaded by NOTIFY SET and kept
	// current from the bus (RFC 5465 §6.4: re-evaluated on change).
	subscribed map[string]bool
	// status: message events per other mailbox since the last STATUS
	// sent, coalesced to one STATUS per mailbox; statusOrder keeps
	// first-seen order.
	status      map[int64]notifyEvents
	statusOrder []int64
	lists       []listNote // mailbox and subscription events, in order
	overflow    bool
	// shared are the other accounts' mailboxes the user may look up,
	// watched on the bus while NOTIFY covers other mailboxes
	// (notifyshared.go); aclPending the mailboxes whose ACL changed
	// since the last report.
	shared     map[int64]*sharedNote
	aclPending []int64
}

// listNote is a MailboxName or SubscriptionChange event waiting to be
// sent as an unsolicited LIST (RFC 5465 §5.4, §5.5).
type listNote struct {
	kind          store.ChangeKind
	name, oldName string
}

func (n *notifyState) pending() bool {
	return n != nil && (n.overflow || len(n.lists) > 0 || len(n.statusOrder) > 0 || len(n.aclPending) > 0)
}

func (n *notifyState) reset() {
	clear(n.status)
	n.statusOrder = n.statusOrder[:0]
	n.lists = nil
	n.overflow = false
	n.aclPending = nil
}

// collectNotify records the bus changes NOTIFY may report. Events this
// session caused are left out (RFC 5465 §5: SHOULD), but still keep the
// subscription list current.
func (c *Conn) collectNotify(cs []store.Change) {
	n := c.notify
	if n == nil || n.spec == nil {
		return
	}
	others := n.spec.others
	for i := range cs {
		ch := &cs[i]
		switch ch.Kind {
		case store.ChangeSubscribed:
			n.subscribed[ch.Name] = true
		case store.ChangeUnsubscribed:
			delete(n.subscribed, ch.Name)
		}
		if ch.Kind == store.ChangeACL {
			// Even the session's own SETACL: it may change what the
			// user sees (RFC 5465 §5.4).
			if others != 0 && !slices.Contains(n.aclPending, ch.MailboxID) {
				n.aclPending = append(n.aclPending, ch.MailboxID)
			}
			continue
		}
		if ch.Origin == c.id && c.id != 0 {
			continue
		}
		if ch.AccountID != c.account.ID && c.sharedListChange(ch) {
			continue
		}
		var ev notifyEvents
		switch ch.Kind {
		case store.ChangePrivateSeen:
			ev = evFlags // the user's own \Seen on a shared mailbox
		case store.ChangeAdded:
			ev = evNew
		case store.ChangeExpunged:
			ev = evExpunge
		case store.ChangeFlags:
			ev = evFlags
		case store.ChangeMailboxCreated, store.ChangeMailboxDeleted, store.ChangeMailboxRenamed:
			if others&evMailboxName != 0 {
				n.lists = append(n.lists, listNote{kind: ch.Kind, name: ch.Name, oldName: ch.OldName})
			}
			continue
		case store.ChangeSubscribed, store.ChangeUnsubscribed:
			if others&evSubscription != 0 {
				n.lists = append(n.lists, listNote{kind: ch.Kind, name: ch.Name})
			}
			continue
		default:
			continue
		}
		if others&ev == 0 {
			continue
		}
		if n.status == nil {
			n.status = make(map[int64]notifyEvents)
		}
		old, seen := n.status[ch.MailboxID]
		if !seen {
			n.statusOrder = append(n.statusOrder, ch.MailboxID)
		}
		n.status[ch.MailboxID] = old | ev
	}
	if len(n.lists)+len(n.statusOrder) > c.srv.cfg.Limits.NotifyPending {
		n.overflow = true
	}
}

// writeNotifications sends what NOTIFY has pending for mailboxes other
// than the selected one: unsolicited LIST (§5.4, §5.5) then STATUS
// (§5.1–§5.3). The caller flushes.
func (c *Conn) writeNotifications() {
	c.pollUpdates()
	n := c.notify
	if n == nil || !n.pending() {
		return
	}
	if n.overflow {
		// RFC 5465 §5.8: say so and behave as after NOTIFY NONE.
		c.enc.RawString(fmt.Sprintf("* OK [NOTIFICATIONOVERFLOW] notify_pending limit exceeded (max %d): notifications are off until the next NOTIFY SET", c.srv.cfg.Limits.NotifyPending)).CRLF()
		c.setNotifySpec(nil)
		return
	}
	spec := n.spec
	c.notifyACLChanges()
	if len(n.lists) > 0 {
		c.writeNotifyLists(n.lists)
		n.lists = nil
	}
	for _, id := range n.statusOrder {
		ev := n.status[id]
		delete(n.status, id)
		if c.sel != nil && c.sel.mbox.ID == id {
			continue // the selected mailbox's events follow SELECTED (§6.1)
		}
		st, err := c.srv.cfg.Store.MailboxStatus(c.ctx(), id)
		if err != nil {
			continue // deleted meanwhile: its LIST says so
		}
		name := st.Mailbox.Name
		if st.Mailbox.AccountID != c.account.ID {
			// A shared mailbox: only while the user may read it
			// (RFC 4314 §4), under the user's name for it, with the
			// user's own \Seen.
			if name, err = c.sharedStatus(id, st); err != nil {
				continue
			}
		}
		ev = spec.matchAll(name, ev, n.subscribed)
		if ev == 0 {
			continue
		}
		var want []string
		if ev&(evNew|evExpunge) != 0 {
			// §5.2, §5.3: STATUS (UIDNEXT MESSAGES), HIGHESTMODSEQ with
			// CONDSTORE; UNSEEN as Dovecot sends it.
			want = append(want, "MESSAGES", "UIDNEXT", "UNSEEN")
			if c.condstore {
				want = append(want, "HIGHESTMODSEQ")
			}
		}
		if ev&evFlags != 0 {
			// §5.1: at least UIDVALIDITY and HIGHESTMODSEQ.
			want = append(want, "UIDVALIDITY", "UNSEEN", "HIGHESTMODSEQ")
		}
		c.writeStatusItems(name, st, statusItems(want))
	}
	n.statusOrder = n.statusOrder[:0]
}

// statusItems puts items in statusOrder, once each.
func statusItems(items []string) []string {
	var out []string
	for _, it := range statusOrder {
		for _, w := range items {
			if w == it {
				out = append(out, it)
				break
			}
		}
	}
	return out
}

// writeNotifyLists writes one unsolicited LIST per mailbox event that
// matches, with the mailbox's attributes as they are now (§5.5: "MUST
// be accurately computed"), \NonExistent for a name that no longer
// refers to a mailbox (§5.4) and OLDNAME for a rename (§5.4: NOTIFY
// requires extended LIST responses, RFC 5258 §3.5).
func (c *Conn) writeNotifyLists(notes []listNote) {
	n := c.notify
	h, err := c.loadHierarchy()
	if err != nil {
		c.log.Warn("NOTIFY: listing mailboxes", "err", err)
		return
	}
	for _, l := range notes {
		ev := evMailboxName
		if l.kind == store.ChangeSubscribed || l.kind == store.ChangeUnsubscribed {
			ev = evSubscription
		}
		if !n.spec.match(l.name, ev, n.subscribed) && (l.oldName == "" || !n.spec.match(l.oldName, ev, n.subscribed)) {
			continue
		}
		subscribed := n.subscribed[l.name]
		switch l.kind {
		case store.ChangeSubscribed:
			subscribed = true // §5.5: as it is after this event
		case store.ChangeUnsubscribed:
			subscribed = false
		}
		c.writeListNote(l, h, subscribed)
	}
}

// hierarchy is which names are mailboxes and which have inferiors, for
// the attributes of an unsolicited LIST.
type hierarchy struct {
	exists, children map[string]bool
}

func (c *Conn) loadHierarchy() (hierarchy, error) {
	// Every mailbox the user may look up, shared ones by the user's
	// names for them.
	mbs, err := c.mailboxes().List(c.ctx(), c.user())
	if err != nil {
		return hierarchy{}, err
	}
	h := hierarchy{exists: make(map[string]bool, len(mbs)), children: make(map[string]bool)}
	for _, mb := range mbs {
		h.exists[mb.Name] = true
		for i := strings.LastIndexByte(mb.Name, '/'); i > 0; i = strings.LastIndexByte(mb.Name[:i], '/') {
			h.children[mb.Name[:i]] = true
		}
	}
	return h, nil
}

// writeListNote writes the LIST response of one mailbox event:
// attributes as they are now, and the extended data item OLDNAME for a
// rename (RFC 5465 §5.4, RFC 9051 §7.3.1; an oldName without a rename is
// a name the server normalized, RFC 9051 §6.3.4).
func (c *Conn) writeListNote(l listNote, h hierarchy, subscribed bool) {
	var attrs []string
	switch {
	case h.exists[l.name]:
	case h.children[l.name]:
		attrs = append(attrs, `\Noselect`)
	default:
		attrs = append(attrs, `\NonExistent`)
	}
	if subscribed {
		attrs = append(attrs, `\Subscribed`)
	}
	if h.exists[l.name] || h.children[l.name] {
		if h.children[l.name] {
			attrs = append(attrs, `\HasChildren`)
		} else {
			attrs = append(attrs, `\HasNoChildren`)
		}
	}
	c.enc.RawString("* LIST (").RawString(strings.Join(attrs, " ")).RawString(`) "/" `)
	c.writeMailboxName(l.name)
	if l.oldName != "" && (l.kind == store.ChangeMailboxRenamed || l.kind == store.ChangeMailboxCreated) {
		c.enc.RawString(` ("OLDNAME" (`)
		c.writeMailboxName(l.oldName)
		c.enc.RawString("))")
	}
	c.enc.CRLF()
}

// setNotifySpec puts spec in force (nil: NOTIFY NONE) and tells the bus
// subscription whether the session now listens to every mailbox.
func (c *Conn) setNotifySpec(spec *notifySpec) {
	if c.notify == nil {
		c.notify = &notifyState{}
	}
	n := c.notify
	n.reset()
	n.spec = spec
	n.subscribed = make(map[string]bool)
	if c.sub != nil {
		c.sub.Everything(spec != nil && spec.others != 0)
	}
	c.watchShared()
}

// notifyFetchNew sends the FETCH of RFC 5465 §5.2 for messages new in
// the selected mailbox, after their EXISTS; not for messages the
// session added itself (SHOULD NOT).
func (c *Conn) notifyFetchNew(uids []store.UID) {
	n := c.notify
	if n == nil || n.spec == nil || n.spec.fetch == nil || c.sel == nil {
		return
	}
	var want []store.UID
	for _, u := range uids {
		if _, own := c.sel.ownAdded[u]; !own {
			want = append(want, u)
		}
	}
	if len(want) == 0 {
		return
	}
	if _, err := c.runFetch(want, n.spec.fetch, false); err != nil {
		c.log.Warn("NOTIFY: fetching new messages", "err", err)
	}
}

// RFC 5465 §3.1 NOTIFY.
func handleNotify(c *Conn, tag string) error {
	if !c.dec.ExpectSP() {
		return c.dec.Err()
	}
	spec, err := c.parseNotify()
	if err != nil {
		return err
	}
	if spec != nil {
		spec.personal = c.mailboxes().Personal
	}
	if spec != nil && len(spec.unsupported) > 0 {
		return &imap.Error{Type: "NO", Code: notifyBadEvent, Text: "Unsupported NOTIFY events: " + strings.Join(spec.unsupported, " ")}
	}
	if spec != nil && spec.names > c.srv.cfg.Limits.NotifyMailboxes {
		return &imap.Error{Type: "NO", Code: imap.CodeNotificationOverflow,
			Text: fmt.Sprintf("notify_mailboxes limit exceeded (max %d mailbox names)", c.srv.cfg.Limits.NotifyMailboxes)}
	}
	// §3.1: a successful NOTIFY SET returns what has accumulated for
	// the selected mailbox, as NOOP would, and what was pending for
	// other mailboxes under the old spec; then the new spec applies.
	if c.sel != nil {
		c.sendUpdatesPolicy(true, reportAll)
	}
	if c.notify != nil {
		c.writeNotifications()
	}
	c.setNotifySpec(spec)
	if spec != nil {
		subs, err := c.srv.cfg.Store.Subscriptions(c.ctx(), c.account.ID)
		if err != nil {
			return err
		}
		for _, s := range subs {
			c.notify.subscribed[s] = true
		}
		if spec.fetch != nil && spec.fetch.has[fModSeq] {
			c.condstore = true // RFC 7162 §3.1: MODSEQ enables CONDSTORE
		}
		if spec.status {
			if err := c.notifyInitialStatus(); err != nil {
				return err
			}
		}
	}
	return c.ok(tag, "", "NOTIFY completed.")
}

// notifyInitialStatus writes NOTIFY SET STATUS's STATUS responses
// (RFC 5465 §3.1): for every mailbox other than the selected one with
// message events on, MESSAGES UIDNEXT UIDVALIDITY for MessageNew,
// MESSAGES for MessageExpunge, UIDVALIDITY HIGHESTMODSEQ for FlagChange
// (the server supports CONDSTORE), and UNSEEN as Dovecot adds.
func (c *Conn) notifyInitialStatus() error {
	n := c.notify
	mbs, err := c.mailboxes().List(c.ctx(), c.user())
	if err != nil {
		return err
	}
	for i := range mbs {
		mb := &mbs[i]
		if c.sel != nil && c.sel.mbox.ID == mb.ID {
			continue
		}
		if !mb.Rights.Has(mailbox.RightRead) {
			continue // RFC 4314 §4: STATUS needs "r"
		}
		ev := n.spec.matchAll(mb.Name, evNew|evExpunge|evFlags, n.subscribed)
		if ev == 0 {
			continue
		}
		var want []string
		if ev&evNew != 0 {
			want = append(want, "MESSAGES", "UIDNEXT", "UIDVALIDITY")
		}
		if ev&evExpunge != 0 {
			want = append(want, "MESSAGES")
		}
		if ev&evFlags != 0 {
			want = append(want, "UIDVALIDITY", "HIGHESTMODSEQ")
		}
		want = append(want, "UNSEEN")
		st, err := c.srv.cfg.Store.MailboxStatus(c.ctx(), mb.ID)
		if err != nil {
			continue // deleted meanwhile
		}
		if mb.Shared() {
			if err := c.privateStatus(&mb.Mailbox, st); err != nil {
				return err
			}
		}
		c.writeStatusItems(mb.Name, st, statusItems(want))
	}
	return nil
}
