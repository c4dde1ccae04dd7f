package sieve

import (
	"strings"

	"barid/internal/mail/header"
)

// Address tests (RFC 5228 §5.1, §5.4) and subaddress (RFC 5233).

// parseMailbox checks a single address ("local@domain", optionally in
// angle brackets or with a display name) and returns "local@domain".
func parseMailbox(s string) (string, bool) {
	l := header.ParseAddressList(s)
	var found []header.Address
	for _, a := range l {
		if a.GroupStart || a.GroupEnd {
			continue
		}
		found = append(found, a)
	}
	if len(found) != 1 || found[0].Invalid || found[0].Mailbox == "" || found[0].Domain == "" {
		return "", false
	}
	return quoteLocal(found[0].Mailbox) + "@" + found[0].Domain, true
}

// quoteLocal gives a local part in the form SMTP needs (RFC 5321 §4.1.2):
// as is when it is a dot-atom, else as a quoted string.
func quoteLocal(l string) string {
	dotAtom := !strings.HasPrefix(l, ".") && !strings.HasSuffix(l, ".") && !strings.Contains(l, "..")
	for k := 0; k < len(l) && dotAtom; k++ {
		c := l[k]
		dotAtom = c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			c >= 0x80 || strings.IndexByte("!#$%&'*+-/=?^_`{|}~.", c) >= 0
	}
	if dotAtom {
		return l
	}
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(l) + `"`
}

const subaddressSep = "+" // Pigeonhole's default recipient_delimiter

type addrPart int

const (
	partAll addrPart = iota
	partLocal
	partDomain
	partUser
	partDetail
)

// addressPart is the node's address part (node.addrPart, set at
// compile time by tagAddressPart).
func addressPart(n *node) addrPart { return n.addrPart }

func tagAddressPart(n *node) addrPart {
	for _, tp := range []struct {
		tag  string
		part addrPart
	}{{"localpart", partLocal}, {"domain", partDomain}, {"user", partUser}, {"detail", partDetail}} {
		if _, ok := n.tags[tp.tag]; ok {
			return tp.part
		}
	}
	return partAll
}

// extract returns the part of local@domain; ok is false when the part
// does not exist (RFC 5233 §4: no detail).
func extract(part addrPart, local, domain string) (string, bool) {
	switch part {
	case partLocal:
		return local, true
	case partDomain:
		return domain, true
	case partUser:
		if k := strings.Index(local, subaddressSep); k >= 0 {
			return local[:k], true
		}
		return local, true
	case partDetail:
		if k := strings.Index(local, subaddressSep); k >= 0 {
			return local[k+1:], true
		}
		return "", false
	}
	if domain == "" {
		return local, true
	}
	return local + "@" + domain, true
}

// addressValues returns the address parts of the addresses in raw
// header values, and how many addresses there were (what :count counts,
// whatever the address part, as in Pigeonhole).
func (i *interp) addressValues(n *node, raw []string, out []string) ([]string, int) {
	entries := 0
	part := addressPart(n)
	for _, v := range raw {
		pa := i.parseAddrs(v)
		addrs, bad := pa.addrs, pa.bad
		if bad || len(addrs) == 0 {
			// RFC 5228 §5.1: a value that is not a valid address list
			// is not matched by :localpart or :domain; as in Pigeonhole
			// it is one entry that :all sees as written (so an empty
			// group counts as one)
			entries++
			if part == partAll {
				out = append(out, strings.TrimSpace(v))
			}
			continue
		}
		entries += len(addrs)
		for _, a := range addrs {
			if x, ok := extract(part, a.Mailbox, a.Domain); ok {
				out = append(out, x)
			}
		}
	}
	return out, entries
}

// parsedAddrs is one header value parsed as an address list: its
// addresses without group markers, and whether any was invalid.
type parsedAddrs struct {
	addrs []header.Address
	bad   bool
}

// parseAddrs parses v once per run (see interp.addrs). The result
// depends only on v, so edits by editheader, which change the values,
// simply miss the cache.
func (i *interp) parseAddrs(v string) parsedAddrs {
	if pa, ok := i.addrs[v]; ok {
		return pa
	}
	var pa parsedAddrs
	for _, a := range header.ParseAddressList(v) {
		if a.GroupStart || a.GroupEnd {
			continue
		}
		if a.Invalid {
			pa.bad = true
		}
		pa.addrs = append(pa.addrs, a)
	}
	if i.addrs == nil {
		i.addrs = map[string]parsedAddrs{}
	}
	i.addrs[v] = pa
	return pa
}

func splitAddr(s string) (local, domain string) {
	s = strings.Trim(s, "<>")
	if k := strings.LastIndexByte(s, '@'); k >= 0 {
		return s[:k], s[k+1:]
	}
	return s, ""
}

// envelope: RFC 5228 §5.4.
func (i *interp) envelope(n *node) bool {
	part := addressPart(n)
	var vals []string
	entries := 0
	for _, p := range i.strs(n.pos[0]) {
		var v string
		switch strings.ToLower(p) {
		case "from":
			v = i.env.Envelope.From
			if strings.Trim(v, "<>") == "" {
				// the null reverse-path matches as "" whatever the part
				vals = append(vals, "")
				entries++
				continue
			}
		case "to":
			v = i.env.Envelope.To
		case "orig_to":
			v = i.env.Envelope.OrigTo
		case "auth":
			v = i.env.Envelope.Auth
		default:
			continue
		}
		if v == "" {
			continue
		}
		entries++
		local, domain := splitAddr(v)
		if x, ok := extract(part, local, domain); ok {
			vals = append(vals, x)
		}
	}
	if newMatcher(n).typ == mCount {
		// as for address: :count counts addresses whatever the part
		vals = make([]string, entries)
	}
	return i.match(n, vals, i.strs(n.pos[1]))
}
