package server

import (
	"slices"
	"strconv"
	"strings"
	"time"

	"barid/internal/imap"
	"barid/internal/mail/casemap"
	"barid/internal/mail/header"
	"barid/internal/search"
	"barid/internal/store"
)

// RFC 5256 THREAD and UID THREAD, with the ORDEREDSUBJECT and REFERENCES
// algorithms (§3). Where the RFC leaves room, the choices are Dovecot's
// (index-thread-*.c, cmd-thread.c), so that clients see the same trees.

// RFC 5256 §4 THREAD.
func handleThread(c *Conn, tag string) error { return c.threadCmd(tag, false) }

// RFC 5256 §4 UID THREAD.
func handleUIDThread(c *Conn, tag string) error { return c.threadCmd(tag, true) }

func (c *Conn) threadCmd(tag string, uid bool) error {
	var alg string
	if !c.dec.ExpectSP() || !c.dec.ExpectAtom(&alg) || !c.dec.ExpectSP() {
		return c.dec.Err()
	}
	alg = strings.ToUpper(alg)
	var charset string
	if !c.dec.ExpectAString(&charset) || !c.dec.ExpectSP() {
		return c.dec.Err()
	}
	var sk []*search.Key
	for {
		k, err := c.parseSearchKey(0, charset)
		if err != nil {
			return err
		}
		sk = append(sk, k)
		if !c.dec.SP() {
			break
		}
	}
	if !c.dec.ExpectCRLF() {
		return c.dec.Err()
	}
	if alg != "REFERENCES" && alg != "ORDEREDSUBJECT" {
		return &imap.Error{Type: "BAD", Text: "Unknown thread algorithm " + alg}
	}
	if _, err := lookupCharset(charset); err != nil {
		return &imap.Error{Type: "NO", Code: imap.CodeBadCharset, CodeArg: "(UTF-8 US-ASCII)", Text: "Unsupported charset " + charset}
	}
	key := sk[0]
	if len(sk) > 1 {
		key = &search.Key{Op: search.OpAnd, Sub: sk}
	}
	matches, _, err := c.runSearch(key)
	if err != nil {
		return err
	}
	var roots []*threadNode
	if alg == "ORDEREDSUBJECT" {
		recs, err := c.sortRecs(matches, []sortKey{{field: "SUBJECT"}, {field: "DATE"}}, nil)
		if err != nil {
			return err
		}
		roots = threadOrderedSubject(recs)
	} else {
		msgs, err := c.threadMsgs(matches)
		if err != nil {
			return err
		}
		roots = threadReferences(msgs)
	}
	var seqs *uidTable
	if !uid {
		seqs = newUIDTable(c.sel.uids)
	}
	num := func(u store.UID) uint32 {
		if uid {
			return uint32(u)
		}
		return seqs.find(u)
	}
	// RFC 5256 §5: thread-data = "THREAD" [SP 1*thread-list] (Dovecot
	// sends a trailing space when there are no threads).
	b := append(c.flagLine[:0], "* THREAD"...)
	if len(roots) > 0 {
		b = append(b, ' ')
		b = appendThreads(b, roots, true, num)
	}
	c.enc.Raw(b).CRLF()
	c.flagLine = b[:0]
	return c.ok(tag, "", "Thread completed.")
}

// threadMsg is what REFERENCES needs of one message.
type threadMsg struct {
	uid     store.UID
	date    time.Time // sent date, or the internal date without one
	subject string    // base subject, casemap.Key form
	refwd   bool      // the subject had Re:, Fwd:, (fwd) or [fwd: ...]
	id      string    // Message-ID, "" if none is valid
	refs    []string  // References, or the first In-Reply-To id
}

// threadMsgs reads the header fields THREAD=REFERENCES uses from the
// stored top-level header (only the first occurrence of each field
// counts, as in Dovecot), in UID order.
func (c *Conn) threadMsgs(uids []store.UID) ([]*threadMsg, error) {
	out := make([]*threadMsg, 0, len(uids))
	const chunk = 4096
	for start := 0; start < len(uids); start += chunk {
		part := uids[start:min(start+chunk, len(uids))]
		err := c.srv.cfg.Store.FetchMessages(c.readCtx(), c.sel.mbox.ID, part, store.FieldBasics|store.FieldSearch|store.FieldHeader, func(m *store.Message) error {
			out = append(out, newThreadMsg(m))
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

func newThreadMsg(m *store.Message) *threadMsg {
	t := &threadMsg{uid: m.UID, date: m.SentDate}
	if t.date.IsZero() {
		t.date = m.InternalDate
	}
	var subj, refs, irt string
	var haveSubj, haveID bool
	header.ForEach(m.Header, func(f header.Field) bool {
		switch strings.ToLower(f.Name) {
		case "message-id":
			if !haveID {
				t.id, haveID = header.FirstMessageID(f.Value), true
			}
		case "references":
			if refs == "" {
				refs = f.Value + " "
			}
		case "in-reply-to":
			if irt == "" {
				irt = f.Value + " "
			}
		case "subject":
			if !haveSubj {
				subj, haveSubj = f.Value, true
			}
		}
		return true
	})
	// RFC 5256 §3 REFERENCES step 1: References, else the first valid
	// id of In-Reply-To.
	t.refs = header.MessageIDs(refs)
	if len(t.refs) == 0 {
		if id := header.FirstMessageID(irt); id != "" {
			t.refs = []string{id}
		}
	}
	t.subject, t.refwd = header.SubjectBase(casemap.Key(header.DecodeWords(header.Unfold([]byte(subj)))))
	return t
}

// threadNode is one node of the answer: a message, or a dummy (msg nil)
// that holds a thread's messages together.
type threadNode struct {
	msg  *threadMsg
	kids []*threadNode
}

// container is a node of the REFERENCES id table (RFC 5256 §3 step 1).
type container struct {
	msg    *threadMsg
	parent *container
	kids   []*container
}

func (c *container) hasAncestor(a *container) bool {
	for n := c; n != nil; n = n.parent {
		if n == a {
			return true
		}
	}
	return false
}

// link makes c a child of p unless that would make a loop or c already
// has a parent (RFC 5256 §3 step 1.B: existing links are kept).
func link(p, c *container) {
	if p.hasAncestor(c) || c.parent != nil {
		return
	}
	c.parent = p
	p.kids = append(p.kids, c)
}

func unlink(c *container) {
	p := c.parent
	if i := slices.Index(p.kids, c); i >= 0 {
		p.kids = slices.Delete(p.kids, i, i+1)
	}
	c.parent = nil
}

// threadReferences is RFC 5256 §3 REFERENCES over msgs in UID order.
func threadReferences(msgs []*threadMsg) []*threadNode {
	byID := make(map[string]*container, len(msgs))
	var all []*container
	get := func(id string) *container {
		c := byID[id]
		if c == nil {
			c = &container{}
			byID[id] = c
			all = append(all, c)
		}
		return c
	}
	for _, m := range msgs {
		// (1.A) The container of this Message-ID; a message without
		// one, or whose id another message already has, gets a
		// container of its own that no reference can find.
		var self *container
		if m.id != "" {
			if c := byID[m.id]; c == nil || c.msg == nil {
				self = get(m.id)
			}
		}
		if self == nil {
			self = &container{}
			all = append(all, self)
		}
		self.msg = m
		// (1.B) Link the references in order, parent to child.
		var parent *container
		for _, r := range m.refs {
			c := get(r)
			if parent != nil {
				link(parent, c)
			}
			parent = c
		}
		// (1.C) The last reference is this message's parent: an
		// earlier, different parent is dropped, and no loop is made.
		if self.parent != nil && self.parent != parent {
			unlink(self)
		}
		if parent != nil {
			link(parent, self)
		}
	}
	// (2) The roots; (3), (4) dummies go, their children moving up to
	// the nearest message; at the top a dummy stays only to hold two or
	// more children together.
	var roots []*threadNode
	for _, c := range all {
		if c.parent != nil {
			continue
		}
		if c.msg != nil {
			roots = append(roots, buildThread(c))
			continue
		}
		switch kids := collectKids(c); len(kids) {
		case 0:
		case 1:
			roots = append(roots, kids[0])
		default:
			roots = append(roots, &threadNode{kids: kids})
		}
	}
	for _, r := range roots {
		sortThread(r)
	}
	sortSiblings(roots)
	// (5) Gather threads whose base subjects are the same.
	if mergeSubjects(&roots) {
		for _, r := range roots {
			sortThread(r)
		}
		sortSiblings(roots)
	}
	return roots
}

func buildThread(c *container) *threadNode {
	return &threadNode{msg: c.msg, kids: collectKids(c)}
}

// collectKids returns c's descendants with dummies left out: a dummy's
// children take its place.
func collectKids(c *container) []*threadNode {
	var out []*threadNode
	for _, k := range c.kids {
		if k.msg != nil {
			out = append(out, buildThread(k))
		} else {
			out = append(out, collectKids(k)...)
		}
	}
	return out
}

// sortThread sorts every set of siblings below n (RFC 5256 §3 step 6).
func sortThread(n *threadNode) {
	for _, k := range n.kids {
		sortThread(k)
	}
	sortSiblings(n.kids)
}

// sortSiblings orders nodes by sent date, ties by UID; a dummy sorts as
// its first child (its children must be sorted already).
func sortSiblings(ns []*threadNode) {
	slices.SortStableFunc(ns, func(a, b *threadNode) int {
		x, y := firstMsg(a), firstMsg(b)
		if d := x.date.Compare(y.date); d != 0 {
			return d
		}
		return cmpInt(int64(x.uid), int64(y.uid))
	})
}

func firstMsg(n *threadNode) *threadMsg {
	for n.msg == nil {
		n = n.kids[0]
	}
	return n.msg
}

// troot is a thread under the root during subject gathering.
type troot struct {
	n      *threadNode
	refwd  bool
	into   *troot // the thread this one is to be merged into
	ignore bool
}

// mergeSubjects is RFC 5256 §3 REFERENCES step 5 over the sorted roots;
// it reports whether anything was merged.
func mergeSubjects(roots *[]*threadNode) bool {
	rs := make([]*troot, len(*roots))
	table := make(map[string]*troot)
	for i, n := range *roots {
		r := &troot{n: n}
		rs[i] = r
		// (5.B.i) The thread subject: this message's, or a dummy's
		// first child's.
		m := firstMsg(n)
		r.refwd = m.refwd
		// (5.B.ii) Empty subjects are left alone.
		if m.subject == "" {
			continue
		}
		h, ok := table[m.subject]
		switch {
		case !ok:
			// (5.B.iv)
			table[m.subject] = r
		case h.n.msg != nil && (n.msg == nil || (h.refwd && !r.refwd)):
			// (5.B.v) A dummy, or a message that is not a reply,
			// takes the place of a reply in the table.
			h.into = r
			table[m.subject] = r
		default:
			r.into = h
		}
	}
	changed := false
	for i := 0; i < len(rs); i++ {
		cur := rs[i]
		if cur.into == nil || cur.ignore {
			continue
		}
		changed = true
		root := cur.into
		for root.into != nil {
			root = root.into
		}
		switch {
		case cur.n.msg == nil:
			// (5.C.v) Both dummies: the children become siblings.
			root.n.kids = append(root.n.kids, cur.n.kids...)
		case root.n.msg == nil || (cur.refwd && !root.refwd):
			// A dummy in the table, or a reply to a message that
			// is not one: the current thread becomes a child.
			root.n.kids = append(root.n.kids, cur.n)
		default:
			// Otherwise a new dummy holds both.
			d := &troot{n: &threadNode{kids: []*threadNode{root.n, cur.n}}}
			root.into = d
			root.ignore = true
			rs = append(rs, d)
		}
		cur.ignore = true
	}
	if !changed {
		return false
	}
	out := (*roots)[:0]
	for _, r := range rs {
		if !r.ignore {
			out = append(out, r.n)
		}
	}
	*roots = out
	return true
}

// threadOrderedSubject is RFC 5256 §3 ORDEREDSUBJECT: recs sorted by base
// subject, then sent date; each run of one base subject is a thread whose
// first message is the parent of the others; threads are ordered by the
// sent date of their first message (ties by number, as in Dovecot).
func threadOrderedSubject(recs []sortRec) []*threadNode {
	var roots []*threadNode
	for i := 0; i < len(recs); {
		j := i + 1
		for j < len(recs) && recs[j].subject == recs[i].subject {
			j++
		}
		root := &threadNode{msg: &threadMsg{uid: recs[i].uid, date: recs[i].date}}
		for _, r := range recs[i+1 : j] {
			root.kids = append(root.kids, &threadNode{msg: &threadMsg{uid: r.uid, date: r.date}})
		}
		roots = append(roots, root)
		i = j
	}
	slices.SortStableFunc(roots, func(a, b *threadNode) int {
		if d := a.msg.date.Compare(b.msg.date); d != 0 {
			return d
		}
		return cmpInt(int64(a.msg.uid), int64(b.msg.uid))
	})
	return roots
}

// appendThreads writes a thread list (RFC 5256 §4): each top-level
// thread in parentheses; a node with one child continues on the same
// level ("1 2 3"), a node with several puts each child's thread in
// parentheses ("1 (2)(3 4)"); a dummy writes no number.
func appendThreads(b []byte, ns []*threadNode, top bool, num func(store.UID) uint32) []byte {
	if len(ns) == 1 && !top {
		n := ns[0]
		b = strconv.AppendUint(b, uint64(num(n.msg.uid)), 10)
		if len(n.kids) > 0 {
			b = append(b, ' ')
			b = appendThreads(b, n.kids, false, num)
		}
		return b
	}
	for _, n := range ns {
		b = append(b, '(')
		if n.msg != nil {
			b = strconv.AppendUint(b, uint64(num(n.msg.uid)), 10)
			if len(n.kids) > 0 {
				b = append(b, ' ')
			}
		}
		if len(n.kids) > 0 {
			b = appendThreads(b, n.kids, false, num)
		}
		b = append(b, ')')
	}
	return b
}
