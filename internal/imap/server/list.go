package server

import (
	"sort"
	"strings"

	"barid/internal/imap"
	"barid/internal/mailbox"
	"barid/internal/store"
)

// listOpts holds LIST-EXTENDED options (RFC 5258, RFC 9051 §6.3.9).
type listOpts struct {
	subscribedOnly bool // selection SUBSCRIBED
	recursive      bool // selection RECURSIVEMATCH
	specialUseOnly bool // selection SPECIAL-USE (RFC 6154)
	retSubscribed  bool
	retChildren    bool
	retSpecialUse  bool
	retStatus      []string // LIST-STATUS (RFC 5819)
	retMyRights    bool     // LIST-MYRIGHTS (RFC 8440)
	extended       bool     // any extended syntax used
}

// RFC 9051 §6.3.9 LIST.
func handleList(c *Conn, tag string) error {
	var o listOpts
	if !c.dec.ExpectSP() {
		return c.dec.Err()
	}
	if b, ok := c.dec.Peek(); ok && b == '(' {
		o.extended = true
		var bad string
		if !c.dec.ExpectList(func() bool {
			var a string
			if !c.dec.ExpectAtom(&a) {
				return false
			}
			switch strings.ToUpper(a) {
			case "SUBSCRIBED":
				o.subscribedOnly = true
			case "REMOTE":
			case "RECURSIVEMATCH":
				o.recursive = true
			case "SPECIAL-USE":
				o.specialUseOnly = true
			default:
				bad = a
			}
			return true
		}) || !c.dec.ExpectSP() {
			return c.dec.Err()
		}
		if bad != "" {
			return &imap.Error{Type: "BAD", Text: "Unknown LIST selection option " + bad}
		}
		if o.recursive && !o.subscribedOnly && !o.specialUseOnly {
			return &imap.Error{Type: "BAD", Text: "RECURSIVEMATCH needs another selection option"}
		}
	}
	var ref string
	if !c.dec.ExpectAString(&ref) || !c.dec.ExpectSP() {
		return c.dec.Err()
	}
	var patterns []string
	if b, ok := c.dec.Peek(); ok && b == '(' {
		o.extended = true
		if !c.dec.ExpectList(func() bool {
			var p string
			if !c.dec.ExpectListMailbox(&p) {
				return false
			}
			patterns = append(patterns, p)
			return true
		}) {
			return c.dec.Err()
		}
	} else {
		var p string
		if !c.dec.ExpectListMailbox(&p) {
			return c.dec.Err()
		}
		patterns = append(patterns, p)
	}
	if c.dec.SP() {
		var kw string
		if !c.dec.ExpectAtom(&kw) || !strings.EqualFold(kw, "RETURN") || !c.dec.ExpectSP() {
			return c.errOr("expected RETURN (...)")
		}
		o.extended = true
		var bad string
		if !c.dec.ExpectList(func() bool {
			var a string
			if !c.dec.ExpectAtom(&a) {
				return false
			}
			switch strings.ToUpper(a) {
			case "SUBSCRIBED":
				o.retSubscribed = true
			case "CHILDREN":
				o.retChildren = true
			case "SPECIAL-USE":
				o.retSpecialUse = true
			case "MYRIGHTS": // RFC 8440 §3
				o.retMyRights = true
			case "STATUS":
				if !c.dec.ExpectSP() {
					return false
				}
				return c.dec.ExpectList(func() bool {
					var it string
					if !c.dec.ExpectAtom(&it) {
						return false
					}
					o.retStatus = append(o.retStatus, strings.ToUpper(it))
					return true
				})
			default:
				bad = a
			}
			return true
		}) {
			return c.dec.Err()
		}
		if bad != "" {
			return &imap.Error{Type: "BAD", Text: "Unknown LIST return option " + bad}
		}
	}
	if !c.dec.ExpectCRLF() {
		return c.dec.Err()
	}
	if err := c.list(o, ref, patterns, "LIST"); err != nil {
		return err
	}
	return c.ok(tag, "", "List completed.")
}

// RFC 3501 §6.3.9 LSUB (deprecated by rev2, kept for rev1 clients).
func handleLsub(c *Conn, tag string) error {
	var ref, pat string
	if !c.dec.ExpectSP() || !c.dec.ExpectAString(&ref) || !c.dec.ExpectSP() || !c.dec.ExpectListMailbox(&pat) || !c.dec.ExpectCRLF() {
		return c.dec.Err()
	}
	if err := c.list(listOpts{subscribedOnly: true}, ref, []string{pat}, "LSUB"); err != nil {
		return err
	}
	return c.ok(tag, "", "Lsub completed.")
}

type listEntry struct {
	name       string
	exists     bool
	subscribed bool
	children   bool
	specialUse string
	childSub   bool // has a subscribed inferior
	// childSubUnmatched: has a subscribed inferior that the patterns
	// do not match (RECURSIVEMATCH, CHILDINFO)
	childSubUnmatched bool
	mbox              *store.Mailbox
	rights            mailbox.Rights
}

func (c *Conn) list(o listOpts, ref string, patterns []string, verb string) error {
	// RFC 9051 §6.3.9: an empty pattern asks for the delimiter and root.
	if len(patterns) == 1 && patterns[0] == "" && !o.subscribedOnly {
		c.enc.RawString("* ").RawString(verb).RawString(` (\Noselect) "/" ""`).CRLF()
		return nil
	}
	// Own mailboxes and those of others that grant "l" (RFC 4314 §4).
	mbs, err := c.mailboxes().List(c.ctx(), c.user())
	if err != nil {
		return err
	}
	// Subscriptions change the answer only when the selection or the
	// return options name them (RFC 5258 §3.1, §3.2; RFC 9051 §6.3.9):
	// in a plain LIST a subscribed name that does not exist is not
	// listed, and \HasChildren counts existing inferiors only. Skipping
	// the read there saved a store query on every LIST of imaptest's
	// mix (docs/benchmarks.md, "Session 11").
	var subs []string
	if o.subscribedOnly || o.retSubscribed || o.recursive {
		var err error
		if subs, err = c.mailboxes().Subscriptions(c.ctx(), c.user()); err != nil {
			return err
		}
	}
	entries := map[string]*listEntry{}
	get := func(name string) *listEntry {
		e := entries[name]
		if e == nil {
			e = &listEntry{name: name}
			entries[name] = e
		}
		return e
	}
	for i := range mbs {
		mb := &mbs[i]
		e := get(mb.Name)
		e.exists = true
		e.specialUse = mb.SpecialUse
		e.mbox = &mb.Mailbox
		e.rights = mb.Rights
	}
	for _, s := range subs {
		get(s).subscribed = true
	}
	// Implied superiors and \HasChildren.
	for name, e := range entries {
		for i := strings.LastIndexByte(name, '/'); i > 0; i = strings.LastIndexByte(name[:i], '/') {
			p := get(name[:i])
			if e.exists || p.children {
				p.children = p.children || e.exists
			}
			if e.subscribed {
				p.childSub = true
			}
		}
	}
	var names []string
	for name := range entries {
		names = append(names, name)
	}
	// INBOX first (as Dovecot does), then byte order.
	sort.Slice(names, func(i, j int) bool {
		a, b := names[i], names[j]
		ai, bi := a == "INBOX" || strings.HasPrefix(a, "INBOX/"), b == "INBOX" || strings.HasPrefix(b, "INBOX/")
		if ai != bi {
			return ai
		}
		return a < b
	})
	matchers := make([]func(string) bool, 0, len(patterns))
	for _, p := range patterns {
		full := p
		if ref != "" {
			full = ref + p
		}
		if !c.utf8 {
			if d, err := imap.DecodeMUTF7(full); err == nil {
				full = d
			}
		}
		matchers = append(matchers, patternMatcher(full))
	}
	matches := func(n string) bool {
		for _, m := range matchers {
			if m(n) {
				return true
			}
		}
		return false
	}
	if o.recursive && o.subscribedOnly {
		// RFC 5258 §3.5: with RECURSIVEMATCH a name that matches but is
		// not subscribed is returned (with CHILDINFO) only for a
		// subscribed descendant that is not itself returned, i.e. that
		// the patterns do not match (as Dovecot; imaptest listext).
		for name, e := range entries {
			if !e.subscribed || matches(name) {
				continue
			}
			for i := strings.LastIndexByte(name, '/'); i > 0; i = strings.LastIndexByte(name[:i], '/') {
				get(name[:i]).childSubUnmatched = true
			}
		}
	}
	for _, name := range names {
		e := entries[name]
		if !matches(name) {
			continue
		}
		if o.subscribedOnly {
			if !e.subscribed && !(o.recursive && e.childSubUnmatched) {
				if verb == "LSUB" && e.childSub && !hasWildcardStar(patterns) {
					// RFC 3501 §6.3.9: "%" returns a superior of a
					// subscribed name as \Noselect.
					c.enc.RawString("* LSUB (\\Noselect) \"/\" ")
					c.writeMailboxName(name)
					c.enc.CRLF()
				}
				continue
			}
		} else if !e.exists && !e.children {
			continue
		}
		if o.specialUseOnly && e.specialUse == "" && !(o.recursive && e.children) {
			continue
		}
		// Attribute choice and order follow Dovecot: children and
		// special-use appear in a basic LIST, but in an extended LIST
		// only when asked for (RFC 5258 §4, RFC 6154 §2).
		showChildren := verb == "LIST" && (!o.extended || o.retChildren)
		showSpecial := e.specialUse != "" && (!o.extended || o.retSpecialUse || o.specialUseOnly || verb == "LSUB")
		var attrs []string
		if !e.exists {
			if verb == "LIST" && (o.subscribedOnly || c.rev2) && !e.children {
				attrs = append(attrs, `\NonExistent`)
			} else {
				attrs = append(attrs, `\Noselect`)
			}
		}
		if verb == "LIST" && e.subscribed && (o.retSubscribed || o.subscribedOnly) {
			attrs = append(attrs, `\Subscribed`)
		}
		if showChildren {
			if e.children {
				attrs = append(attrs, `\HasChildren`)
			} else if e.exists || e.subscribed {
				attrs = append(attrs, `\HasNoChildren`)
			}
		}
		if showSpecial {
			attrs = append(attrs, e.specialUse)
		}
		c.enc.RawString("* ").RawString(verb).RawString(" (").RawString(strings.Join(attrs, " ")).RawString(`) "/" `)
		c.writeMailboxName(name)
		if o.recursive && o.subscribedOnly && e.childSubUnmatched && !e.subscribed {
			c.enc.RawString(` ("CHILDINFO" ("SUBSCRIBED"))`)
		}
		c.enc.CRLF()
		// RFC 5819 §2 with RFC 4314 §4: STATUS only where "r" allows it.
		if len(o.retStatus) > 0 && e.mbox != nil && e.rights.Has(mailbox.RightRead) {
			if err := c.writeStatusResponse(e.mbox, o.retStatus); err != nil {
				return err
			}
		}
		if o.retMyRights && e.mbox != nil { // RFC 8440 §3
			c.writeMyRights(name, e.rights)
		}
	}
	return nil
}

func hasWildcardStar(ps []string) bool {
	for _, p := range ps {
		if strings.Contains(p, "*") {
			return true
		}
	}
	return false
}

// patternMatcher implements LIST wildcards (RFC 9051 §6.3.9): "*"
// matches zero or more characters, "%" the same but not the hierarchy
// separator. INBOX matches case-insensitively.
func patternMatcher(pat string) func(string) bool {
	return func(name string) bool {
		if strings.EqualFold(name, "INBOX") || strings.HasPrefix(strings.ToUpper(name), "INBOX/") {
			if len(pat) >= 5 && strings.EqualFold(pat[:5], "INBOX") {
				return wildMatch("INBOX"+pat[5:], name)
			}
		}
		return wildMatch(pat, name)
	}
}

func wildMatch(pat, s string) bool {
	// Dynamic programming over (pattern, name) prefixes: O(len(pat)*len(s))
	// time, O(len(s)) memory, no recursion.
	prev := make([]bool, len(s)+1)
	cur := make([]bool, len(s)+1)
	prev[0] = true
	for p := 0; p < len(pat); p++ {
		ch := pat[p]
		cur[0] = prev[0] && (ch == '*' || ch == '%')
		for i := 1; i <= len(s); i++ {
			switch ch {
			case '*':
				cur[i] = prev[i] || cur[i-1]
			case '%':
				cur[i] = prev[i] || (cur[i-1] && s[i-1] != '/')
			default:
				cur[i] = prev[i-1] && s[i-1] == ch
			}
		}
		prev, cur = cur, prev
	}
	return prev[len(s)]
}

// RFC 9051 §6.3.10 NAMESPACE (RFC 2342): personal, other users' and
// public namespaces (internal/mailbox).
func handleNamespace(c *Conn, tag string) error {
	if !c.dec.ExpectCRLF() {
		return c.dec.Err()
	}
	// RFC 2342 §5: personal, other users', shared; as Dovecot writes it.
	svc := c.mailboxes()
	c.enc.RawString(`* NAMESPACE (("" "/")) `)
	for i, p := range []string{svc.OtherUsersPrefix(), svc.PublicPrefix()} {
		if i > 0 {
			c.enc.SP()
		}
		if p == "" { // sharing off ([sharing] acl = false)
			c.enc.RawString("NIL")
			continue
		}
		c.enc.RawString("((").Quoted(c.wireName(p + "/")).RawString(` "/"))`)
	}
	c.enc.CRLF()
	return c.ok(tag, "", "Namespace completed.")
}
