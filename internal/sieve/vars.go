package sieve

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// variables (RFC 5229).

// expand replaces ${name} and ${N} references (RFC 5229 §3). Malformed
// references stay as written; unknown variables are empty.
func (i *interp) expand(s string) string {
	var b strings.Builder
	for {
		k := strings.Index(s, "${")
		if k < 0 {
			b.WriteString(s)
			return b.String()
		}
		b.WriteString(s[:k])
		rest := s[k+2:]
		e := strings.IndexByte(rest, '}')
		if e < 0 {
			b.WriteString(s[k:])
			return b.String()
		}
		name := rest[:e]
		if v, ok := i.lookup(name); ok {
			b.WriteString(v)
			s = rest[e+1:]
			continue
		}
		// not a variable reference: keep "${" and go on after it
		b.WriteString("${")
		s = rest
	}
}

// lookup resolves a variable reference; ok is false when name is not
// syntactically a reference.
func (i *interp) lookup(name string) (string, bool) {
	if name == "" {
		return "", false
	}
	if isDigit(name[0]) {
		for k := 0; k < len(name); k++ {
			if !isDigit(name[k]) {
				return "", false
			}
		}
		n, err := strconv.Atoi(name)
		if err != nil || n >= len(i.fr.match) {
			return "", true
		}
		return i.fr.match[n], true
	}
	if !validVarName(name, false) {
		return "", false
	}
	return i.getVar(name), true
}

func (i *interp) getVar(name string) string {
	l := strings.ToLower(name)
	if strings.HasPrefix(l, "global.") {
		return i.globals[l[len("global."):]]
	}
	if strings.HasPrefix(l, "env.") && i.has("environment") {
		v, _ := i.envItem(l[len("env."):])
		return v
	}
	if i.isGlobal[l] && i.frGlobal(l) {
		return i.globals[l]
	}
	return i.fr.vars[l]
}

// frGlobal: RFC 6609 §3.4: a variable is global in a script that
// declared it with the global command.
func (i *interp) frGlobal(l string) bool {
	return i.declaredGlobal(i.fr.s.cmds, l)
}

func (i *interp) declaredGlobal(cmds []*node, l string) bool {
	for _, n := range cmds {
		if n.name == "global" && len(n.pos) == 1 {
			for _, v := range n.pos[0].strs {
				if strings.ToLower(v) == l {
					return true
				}
			}
		}
		if n.hasBlock && i.declaredGlobal(n.block, l) {
			return true
		}
	}
	return false
}

func (i *interp) setVar(n *node, name, val string) {
	if len(val) > i.opts.MaxVariableSize {
		// cut at a character boundary
		k := i.opts.MaxVariableSize
		for k > 0 && !utf8.RuneStart(val[k]) {
			k--
		}
		val = val[:k]
	}
	l := strings.ToLower(name)
	if strings.HasPrefix(l, "global.") {
		i.setGlobal(l[len("global."):], val)
		return
	}
	if strings.Contains(l, ".") {
		i.fail(n, nil, "can not assign to variable '%s' in a namespace", name)
	}
	if i.isGlobal[l] && i.frGlobal(l) {
		i.setGlobal(l, val)
		return
	}
	if i.fr.vars == nil {
		i.fr.vars = map[string]string{}
	}
	i.fr.vars[l] = val
}

func (i *interp) setGlobal(name, val string) {
	if i.globals == nil {
		i.globals = map[string]string{}
	}
	i.globals[name] = val
}

// set: RFC 5229 §4.
func (i *interp) set(n *node) {
	val := i.str(n.pos[1].strs[0])
	i.setVar(n, n.pos[0].strs[0], applyModifiers(n, val))
}

// applyModifiers applies set's modifiers in the order of RFC 5229 §4.1
// precedence: :lower/:upper (40), :lowerfirst/:upperfirst (30),
// :quotewildcard (20), :length (10).
func applyModifiers(n *node, v string) string {
	if _, ok := n.tags["lower"]; ok {
		v = strings.ToLower(v)
	}
	if _, ok := n.tags["upper"]; ok {
		v = strings.ToUpper(v)
	}
	if _, ok := n.tags["lowerfirst"]; ok && v != "" {
		r, sz := utf8.DecodeRuneInString(v)
		v = string(unicode.ToLower(r)) + v[sz:]
	}
	if _, ok := n.tags["upperfirst"]; ok && v != "" {
		r, sz := utf8.DecodeRuneInString(v)
		v = string(unicode.ToUpper(r)) + v[sz:]
	}
	if _, ok := n.tags["quotewildcard"]; ok {
		var b strings.Builder
		for k := 0; k < len(v); k++ {
			if v[k] == '*' || v[k] == '?' || v[k] == '\\' {
				b.WriteByte('\\')
			}
			b.WriteByte(v[k])
		}
		v = b.String()
	}
	if _, ok := n.tags["encodeurl"]; ok {
		v = encodeURL(v) // RFC 5435 §6, precedence 15
	}
	if _, ok := n.tags["length"]; ok {
		v = strconv.Itoa(utf8.RuneCountInString(v))
	}
	return v
}

// decodeEncoded applies RFC 5228 §2.4.2.4 to every string of a command
// and its tests: ${hex:41 42} and ${unicode:263a}. Malformed sequences
// stay as written.
func (c *compiler) decodeEncoded(n *node) {
	for _, a := range n.args {
		for k, s := range a.strs {
			if strings.Contains(s, "${") {
				a.strs[k] = decodeEncodedString(s, func(msg string) { c.errf(a.line, a.col, "%s", msg) })
			}
		}
	}
	for _, t := range n.tests {
		c.decodeEncoded(t)
	}
	for _, b := range n.block {
		c.decodeEncoded(b)
	}
}

func decodeEncodedString(s string, errf func(string)) string {
	var b strings.Builder
	for {
		k := strings.Index(s, "${")
		if k < 0 {
			b.WriteString(s)
			return b.String()
		}
		b.WriteString(s[:k])
		rest := s[k+2:]
		e := strings.IndexByte(rest, '}')
		colon := strings.IndexByte(rest, ':')
		if e < 0 || colon < 0 || colon > e {
			b.WriteString("${")
			s = rest
			continue
		}
		kind := strings.ToLower(rest[:colon])
		body := rest[colon+1 : e]
		out, ok := "", false
		switch kind {
		case "hex":
			out, ok = decodeHexSeq(body)
		case "unicode":
			out, ok = decodeUnicodeSeq(body, errf)
		}
		if !ok {
			b.WriteString("${")
			s = rest
			continue
		}
		b.WriteString(out)
		s = rest[e+1:]
	}
}

func splitBlank(s string) ([]string, bool) {
	// RFC 5228 §2.4.2.4: blank = WSP / CRLF; leading and trailing blanks
	// are allowed
	f := strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == '\t' || r == '\r' || r == '\n' })
	return f, true
}

func decodeHexSeq(body string) (string, bool) {
	f, _ := splitBlank(body)
	var b []byte
	for _, h := range f {
		if len(h)%2 != 0 {
			return "", false
		}
		for k := 0; k < len(h); k += 2 {
			v, err := strconv.ParseUint(h[k:k+2], 16, 8)
			if err != nil {
				return "", false
			}
			b = append(b, byte(v))
		}
	}
	return string(b), true
}

func decodeUnicodeSeq(body string, errf func(string)) (string, bool) {
	f, _ := splitBlank(body)
	var b strings.Builder
	for _, h := range f {
		if len(h) > 6 {
			return "", false
		}
		v, err := strconv.ParseUint(h, 16, 32)
		if err != nil {
			return "", false
		}
		// RFC 5228 §2.4.2.4: surrogates and values above 10FFFF are errors
		if v > 0x10FFFF || v >= 0xD800 && v <= 0xDFFF {
			errf("invalid unicode character in encoded-character: " + h)
			return "", false
		}
		b.WriteRune(rune(v))
	}
	return b.String(), true
}
