package server

import (
	"strings"

	"barid/internal/imap"
)

// RFC 6154 §3 CREATE-SPECIAL-USE:
//
//	create        =/ "CREATE" SP mailbox [create-params]   (RFC 4466)
//	create-params = SP "(" create-param *(SP create-param) ")"
//	create-param  =/ "USE" SP "(" [use-attr *(SP use-attr)] ")"
//
// A mailbox carries at most one special-use attribute here, and the
// virtual ones (\All, \Flagged: barid has no virtual mailboxes) cannot
// be created; either refusal is NO [USEATTR] (RFC 6154 §3, §6).

// creatableUse are the RFC 6154 §2 attributes a created mailbox may
// carry, in their canonical spelling.
var creatableUse = []string{`\Archive`, `\Drafts`, `\Junk`, `\Sent`, `\Trash`}

// parseCreateParams reads CREATE's optional parameter list and returns
// the special-use attribute asked for ("" for none).
func (c *Conn) parseCreateParams() (string, error) {
	if !c.dec.SP() {
		return "", nil
	}
	var attrs []string
	var bad string
	if !c.dec.ExpectList(func() bool {
		var p string
		if !c.dec.ExpectAtom(&p) {
			return false
		}
		if !strings.EqualFold(p, "USE") {
			if bad == "" {
				bad = p
			}
			// An unknown parameter's value, if any, is a list or atom.
			if b, ok := c.dec.PeekAfterSP(); ok && b == '(' {
				c.dec.SP()
				return c.dec.ExpectList(func() bool { var x string; return c.dec.ExpectFlag(&x) })
			}
			return true
		}
		return c.dec.ExpectSP() && c.dec.ExpectList(func() bool {
			var a string
			if !c.dec.ExpectFlag(&a) {
				return false
			}
			attrs = append(attrs, a)
			return true
		})
	}) {
		return "", c.dec.Err()
	}
	if bad != "" {
		return "", &imap.Error{Type: imap.TypeBAD, Text: "Unknown CREATE parameter " + bad}
	}
	switch len(attrs) {
	case 0:
		return "", nil
	case 1:
	default:
		return "", &imap.Error{Type: imap.TypeNO, Code: imap.CodeUseAttr, Text: "Only one special-use attribute per mailbox"}
	}
	for _, u := range creatableUse {
		if strings.EqualFold(u, attrs[0]) {
			return u, nil
		}
	}
	return "", &imap.Error{Type: imap.TypeNO, Code: imap.CodeUseAttr, Text: "Special-use attribute " + attrs[0] + " cannot be created"}
}
