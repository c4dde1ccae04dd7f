package sieve

import (
	"slices"
	"strings"
)

// imap4flags (RFC 5232).

// splitFlags: RFC 5232 §3: each string is a space-separated list of
// flags; duplicates (case-insensitive) are removed.
func splitFlags(list []string) []string {
	var out []string
	for _, s := range list {
		for _, f := range strings.Fields(s) {
			if !slices.ContainsFunc(out, func(g string) bool { return strings.EqualFold(f, g) }) {
				out = append(out, f)
			}
		}
	}
	return out
}

// validFlag: RFC 3501 §9 flag: one of the system flags, or an atom.
// Pigeonhole ignores other flags (with a warning); so do we.
func validFlag(f string) bool {
	if strings.HasPrefix(f, "\\") {
		switch strings.ToLower(f) {
		case "\\seen", "\\answered", "\\flagged", "\\deleted", "\\draft":
			return true
		}
		return false
	}
	if f == "" {
		return false
	}
	for k := 0; k < len(f); k++ {
		c := f[k]
		if c <= ' ' || c >= 0x7f || strings.IndexByte("(){%*\"\\]", c) >= 0 {
			return false
		}
	}
	return true
}

func validFlags(fl []string) []string {
	var out []string
	for _, f := range fl {
		if validFlag(f) {
			out = append(out, f)
		}
	}
	return out
}

// actionFlags: the :flags argument of keep/fileinto, else the internal
// variable (RFC 5232 §5).
func (i *interp) actionFlags(n *node) []string {
	if p := n.tags["flags"]; p != nil {
		return validFlags(splitFlags(i.strs(p)))
	}
	if i.has("imap4flags") {
		return validFlags(i.flags)
	}
	return nil
}

func (i *interp) getFlags(varName string) []string {
	if varName == "" {
		return i.flags
	}
	return splitFlags([]string{i.getVar(varName)})
}

func (i *interp) putFlags(n *node, varName string, fl []string) {
	if varName == "" {
		i.flags = fl
		return
	}
	i.setVar(n, varName, strings.Join(fl, " "))
}

// flagCommand: setflag, addflag, removeflag (RFC 5232 §4).
func (i *interp) flagCommand(n *node) {
	varName := ""
	if len(n.pos) == 2 {
		varName = i.str(n.pos[0].strs[0])
		if !validVarName(varName, false) {
			i.fail(n, nil, "invalid variable name '%s'", varName)
		}
	}
	list := splitFlags(i.strs(n.pos[len(n.pos)-1]))
	cur := slices.Clone(i.getFlags(varName))
	switch n.name {
	case "setflag":
		cur = list
	case "addflag":
		cur = unionFlags(cur, list)
	case "removeflag":
		cur = slices.DeleteFunc(cur, func(f string) bool {
			return slices.ContainsFunc(list, func(g string) bool { return strings.EqualFold(f, g) })
		})
	}
	i.putFlags(n, varName, cur)
}

// hasFlag: RFC 5232 §4.4; flags compare with the match type and
// comparator, each flag separately.
func (i *interp) hasFlag(n *node) bool {
	var vals []string
	if len(n.pos) == 2 {
		for _, v := range i.strs(n.pos[0]) {
			vals = append(vals, i.getFlags(v)...)
		}
	} else {
		vals = slices.Clone(i.flags)
	}
	keys := i.strs(n.pos[len(n.pos)-1])
	m := newMatcher(n)
	if m.typ != mCount {
		keys = splitFlags(keys)
	}
	return i.match(n, vals, keys)
}
