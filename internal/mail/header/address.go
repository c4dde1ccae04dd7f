package header

import "strings"

// Address is one element of a parsed address list (RFC 5322 §3.4), in the
// shape of an IMAP ENVELOPE address (RFC 9051 §7.5.2): a mailbox, or the
// start or end marker of a group.
//
// For a group start, Mailbox is the group's display name and GroupStart is
// set; a group end has only GroupEnd set. Name and Route are "" when
// absent. Encoded-words in Name are kept as sent (use DecodeWords).
type Address struct {
	Name, Route, Mailbox, Domain string
	GroupStart, GroupEnd         bool
	// Invalid marks an address that could only be parsed in part;
	// missing pieces are filled with MISSING_MAILBOX, MISSING_DOMAIN or
	// SYNTAX_ERROR, as Dovecot does.
	Invalid bool
}

// Addr returns "mailbox@domain" (or just the mailbox if there is no
// domain).
func (a Address) Addr() string {
	if a.Domain == "" {
		return a.Mailbox
	}
	return a.Mailbox + "@" + a.Domain
}

// Placeholders Dovecot (and so barid) puts in ENVELOPE for broken
// addresses.
const (
	MissingMailbox = "MISSING_MAILBOX"
	MissingDomain  = "MISSING_DOMAIN"
	SyntaxError    = "SYNTAX_ERROR"
	InvalidRoute   = "INVALID_ROUTE"
)

// ParseAddressList parses an address-list header value tolerantly
// (RFC 5322 §3.4 with the obsolete forms of §4.4). It never fails: broken
// input gives addresses marked Invalid, and parsing stops where the list
// can not be followed any further. The behaviour follows Dovecot's
// message-address parser so that ENVELOPE output matches.
func ParseAddressList(s string) []Address {
	p := &addrParser{t: rfc822{s: s}}
	if p.t.skipLWSP() <= 0 {
		return nil
	}
	p.list()
	return p.out
}

type addrParser struct {
	t       rfc822
	str     string // the last local-part read
	out     []Address
	cur     Address
	hasMbox bool
	hasDom  bool
	hasName bool
	hasRt   bool
}

func (p *addrParser) add() {
	p.out = append(p.out, p.cur)
	p.cur = Address{}
	p.hasMbox, p.hasDom, p.hasName, p.hasRt = false, false, false, false
}

func (p *addrParser) addFixed() {
	if !p.hasMbox {
		p.cur.Mailbox = MissingMailbox
		p.cur.Invalid = true
	}
	if !p.hasDom || p.cur.Domain == "" {
		p.cur.Domain = MissingDomain
		p.cur.Invalid = true
	}
	p.add()
}

func (p *addrParser) localPart() int {
	var b strings.Builder
	var ret int
	if p.t.cur() == '"' {
		ret = p.t.quotedString(&b)
	} else {
		ret = p.t.looseDotAtom(&b)
	}
	p.str = b.String()
	if ret < 0 {
		return -1
	}
	p.cur.Mailbox, p.hasMbox = p.str, true
	return ret
}

func (p *addrParser) domain() int {
	var b strings.Builder
	ret := p.t.domain(&b)
	if ret < 0 {
		return -1
	}
	p.cur.Domain, p.hasDom = b.String(), true
	return ret
}

func (p *addrParser) domainList() int {
	var b strings.Builder
	for {
		if p.t.eof() {
			return 0
		}
		if p.t.cur() != '@' {
			break
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('@')
		if ret := p.t.domain(&b); ret <= 0 {
			return ret
		}
		for p.t.skipLWSP() > 0 && p.t.cur() == ',' {
			p.t.i++
		}
	}
	p.cur.Route, p.hasRt = b.String(), true
	return 1
}

// angleAddr parses "<" [route ":"] [local-part ["@" domain]] ">".
func (p *addrParser) angleAddr() int {
	p.t.i++ // '<'
	if p.t.skipLWSP() <= 0 {
		return -1
	}
	if p.t.cur() == '@' {
		if p.domainList() > 0 && p.t.cur() == ':' {
			p.t.i++
		} else {
			p.cur.Route, p.hasRt = InvalidRoute, true
			if p.t.eof() {
				return -1
			}
			// try to continue anyway
		}
		if p.t.skipLWSP() <= 0 {
			return -1
		}
	}
	if p.t.cur() != '>' { // "<>" has no mailbox
		if p.localPart() <= 0 {
			return -1
		}
		if p.t.cur() == '@' {
			if p.domain() <= 0 {
				return -1
			}
		}
	}
	if p.t.cur() != '>' {
		return -1
	}
	p.t.i++
	return p.t.skipLWSP()
}

func (p *addrParser) nameAddr() int {
	var b strings.Builder
	if p.t.phrase(&b) <= 0 || p.t.cur() != '<' {
		return -1
	}
	if b.Len() > 0 {
		p.cur.Name, p.hasName = b.String(), true
	}
	if p.angleAddr() < 0 {
		p.cur.Domain, p.hasDom = SyntaxError, true
		p.cur.Invalid = true
	}
	if p.t.eof() {
		return 0
	}
	return 1
}

func (p *addrParser) addrSpec() int {
	p.t.lastComment = p.t.lastComment[:0]
	p.t.comment = true
	defer func() { p.t.comment = false }()
	quoted := p.t.cur() == '"'
	ret := p.localPart()
	if ret <= 0 {
		p.cur.Invalid = true
	}
	ret2 := -2
	if ret != 0 && !p.t.eof() && p.t.cur() == '@' {
		ret2 = p.domain()
		if ret2 <= 0 {
			ret = ret2
		}
	}
	switch {
	case len(p.t.lastComment) > 0:
		p.cur.Name, p.hasName = string(p.t.lastComment), true
	case ret2 == -2:
		// "user" without @domain: a lone word is a mailbox, but
		// anything after it makes the whole a display name.
		var b strings.Builder
		b.WriteString(p.str)
		b.WriteByte(' ')
		n := b.Len()
		p.t.phrase(&b)
		if b.Len() != n {
			p.cur.Mailbox, p.hasMbox = "", false
			p.cur.Name, p.hasName = b.String(), true
		} else if !quoted {
			p.cur.Domain, p.hasDom = "", true
		}
		p.cur.Invalid = true
		ret = -1
	}
	return ret
}

func (p *addrParser) mailbox() int {
	start := p.t.i
	ret := p.nameAddr()
	if ret < 0 {
		p.t.i = start
		ret = p.addrSpec()
		if p.cur.Invalid && !p.hasName && p.hasMbox && !p.hasDom {
			p.cur.Name, p.hasName = p.cur.Mailbox, true
			p.cur.Mailbox, p.hasMbox = "", false
		}
	}
	if ret < 0 {
		p.cur.Invalid = true
	}
	p.addFixed()
	return ret
}

func (p *addrParser) group() int {
	var b strings.Builder
	if p.t.phrase(&b) <= 0 || p.t.cur() != ':' {
		return -1
	}
	p.t.i++
	ret := p.t.skipLWSP()
	if ret <= 0 {
		p.cur.Invalid = true
	}
	p.cur.Mailbox, p.hasMbox = b.String(), true
	p.cur.GroupStart = true
	p.add()
	if ret > 0 && p.t.cur() != ';' {
		for {
			p.mailbox() // a broken mailbox: go on anyway
			if p.t.eof() || p.t.cur() != ',' {
				break
			}
			p.t.i++
			if p.t.skipLWSP() <= 0 {
				ret = -1
				break
			}
		}
	}
	if ret >= 0 {
		if p.t.eof() || p.t.cur() != ';' {
			ret = -1
		} else {
			p.t.i++
			ret = p.t.skipLWSP()
		}
	}
	if ret < 0 {
		p.cur.Invalid = true
	}
	p.cur.GroupEnd = true
	p.add()
	if ret == 0 {
		return 0
	}
	return 1
}

func (p *addrParser) address() int {
	start := p.t.i
	ret := p.group()
	if ret < 0 {
		p.t.i = start
		// a failed group attempt may not leave anything behind
		p.cur = Address{}
		p.hasMbox, p.hasDom, p.hasName, p.hasRt = false, false, false, false
		ret = p.mailbox()
	}
	return ret
}

func (p *addrParser) list() {
	for {
		if p.address() == 0 {
			return
		}
		if p.t.eof() || p.t.cur() != ',' {
			return
		}
		p.t.i++
		if ret := p.t.skipLWSP(); ret <= 0 {
			if ret < 0 {
				p.addFixed()
			}
			return
		}
	}
}
