package bench

import "bytes"

// This file walks response data (RFC 9051 §9 formal syntax) without
// building trees: it validates structure, counts list members and picks
// out the few FETCH items the scenarios check.

// maxDepth bounds list nesting while scanning.
const maxDepth = 64

// Value is one scanned value. For literals Raw is the literal's content.
type Value struct {
	Raw []byte
	Lit bool
}

// IsNIL reports whether v is the atom NIL.
func (v Value) IsNIL() bool { return !v.Lit && asciiEqualFold(v.Raw, "NIL") }

// skipValue scans one value starting at b[i]: an atom or number, a quoted
// string, a literal ({N} or ~{N}), or a parenthesized list. It returns the
// value and the index just past it.
func skipValue(b []byte, i, depth int) (Value, int, error) {
	if i >= len(b) {
		return Value{}, i, protoErrf("value expected at end of %q", clip(b))
	}
	if depth > maxDepth {
		return Value{}, i, protoErrf("lists nested deeper than %d (maxDepth)", maxDepth)
	}
	switch ch := b[i]; {
	case ch == '"':
		j := i + 1
		for j < len(b) {
			switch b[j] {
			case '\\':
				j += 2
				continue
			case '"':
				return Value{Raw: b[i+1 : j]}, j + 1, nil
			case '\r', '\n':
				return Value{}, j, protoErrf("CR or LF inside quoted string")
			}
			j++
		}
		return Value{}, j, protoErrf("unterminated quoted string")
	case ch == '{' || (ch == '~' && i+1 < len(b) && b[i+1] == '{'):
		if ch == '~' {
			i++
		}
		j := i + 1
		n := 0
		for j < len(b) && b[j] >= '0' && b[j] <= '9' {
			n = n*10 + int(b[j]-'0')
			if n > 1<<30 {
				return Value{}, j, protoErrf("literal too large")
			}
			j++
		}
		if j == i+1 || j >= len(b) || b[j] != '}' {
			return Value{}, j, protoErrf("malformed literal header")
		}
		if j+3 > len(b) || b[j+1] != '\r' || b[j+2] != '\n' {
			return Value{}, j, protoErrf("literal header not followed by CRLF")
		}
		start := j + 3
		if start+n > len(b) {
			return Value{}, j, protoErrf("literal shorter than its declared %d bytes", n)
		}
		return Value{Raw: b[start : start+n], Lit: true}, start + n, nil
	case ch == '(':
		j := i + 1
		for {
			if j >= len(b) {
				return Value{}, j, protoErrf("unbalanced parenthesis")
			}
			if b[j] == ')' {
				return Value{Raw: b[i : j+1]}, j + 1, nil
			}
			if b[j] == ' ' && j > i+1 {
				j++
			}
			_, nj, err := skipValue(b, j, depth+1)
			if err != nil {
				return Value{}, nj, err
			}
			j = nj
			// Members are separated by SP, except that address lists
			// (RFC 9051 §9, env-from etc.) and body-type-mpart put lists
			// directly after one another.
			if j < len(b) && b[j] != ' ' && b[j] != ')' && b[j] != '(' {
				return Value{}, j, protoErrf("junk %q after list member", clip(b[j:]))
			}
		}
	case ch == ')' || ch == ' ' || ch == '\r' || ch == '\n':
		return Value{}, i, protoErrf("value expected, got %q", clip(b[i:]))
	default:
		// Atom, number, NIL, flag (\Seen, \*), or a section-bearing
		// name such as BODY[1.2]<0> (brackets may hold spaces and parens).
		j := i
		for j < len(b) {
			c := b[j]
			if c == ' ' || c == ')' || c == '(' || c == '\r' || c == '\n' || c == '"' || c == '{' {
				break
			}
			if c == '[' {
				k := bytes.IndexByte(b[j:], ']')
				if k < 0 {
					return Value{}, j, protoErrf("unterminated section")
				}
				j += k
			}
			j++
		}
		return Value{Raw: b[i:j]}, j, nil
	}
}

// listLen counts the members of the parenthesized list v and checks it
// is well formed.
func listLen(v Value) (int, error) {
	b := v.Raw
	if v.Lit || len(b) < 2 || b[0] != '(' || b[len(b)-1] != ')' {
		return 0, protoErrf("list expected, got %q", clip(b))
	}
	n := 0
	j := 1
	for j < len(b)-1 {
		if b[j] == ' ' {
			j++
		}
		_, nj, err := skipValue(b, j, 1)
		if err != nil {
			return 0, err
		}
		j = nj
		n++
	}
	if j != len(b)-1 {
		return 0, protoErrf("unbalanced list %q", clip(b))
	}
	return n, nil
}

// fetchItems walks the item list of a FETCH response (RFC 9051 §7.5.2,
// msg-att) and calls fn for each name/value pair. It fails on anything
// that is not a well-formed list of pairs.
func fetchItems(rest []byte, fn func(name []byte, v Value) error) error {
	if len(rest) < 2 || rest[0] != '(' {
		return protoErrf("FETCH data is not a list: %q", clip(rest))
	}
	j := 1
	for {
		if j >= len(rest) {
			return protoErrf("unterminated FETCH list")
		}
		if rest[j] == ')' {
			if j != len(rest)-1 {
				return protoErrf("junk after FETCH list: %q", clip(rest[j:]))
			}
			return nil
		}
		if rest[j] == ' ' && j > 1 {
			j++
		}
		name, nj, err := skipValue(rest, j, 1)
		if err != nil {
			return err
		}
		if name.Lit || len(name.Raw) == 0 || name.Raw[0] == '(' {
			return protoErrf("bad FETCH item name %q", clip(rest[j:]))
		}
		j = nj
		if j >= len(rest) || rest[j] != ' ' {
			return protoErrf("FETCH item %q has no value", clip(name.Raw))
		}
		j++
		v, nj, err := skipValue(rest, j, 1)
		if err != nil {
			return err
		}
		j = nj
		if j < len(rest) && rest[j] != ' ' && rest[j] != ')' {
			return protoErrf("junk %q after FETCH item %s", clip(rest[j:]), clip(name.Raw))
		}
		if fn != nil {
			if err := fn(name.Raw, v); err != nil {
				return err
			}
		}
	}
}

// numbers parses the space-separated numbers of a SEARCH or SORT response
// (RFC 3501 §7.2.5, RFC 5256 §4) and calls fn for each. A
// trailing "(MODSEQ n)" (RFC 7162) is tolerated.
func numbers(rest []byte, fn func(n uint32) error) error {
	for len(rest) > 0 {
		if rest[0] == '(' {
			return nil
		}
		sp := bytes.IndexByte(rest, ' ')
		tok := rest
		if sp >= 0 {
			tok, rest = rest[:sp], rest[sp+1:]
		} else {
			rest = nil
		}
		if len(tok) == 0 {
			continue
		}
		n, ok := parseUint32(tok)
		if !ok || n == 0 {
			return protoErrf("bad number %q in result list", clip(tok))
		}
		if err := fn(n); err != nil {
			return err
		}
	}
	return nil
}
