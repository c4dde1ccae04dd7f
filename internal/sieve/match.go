package sieve

import (
	"regexp"
	"strconv"
	"strings"
)

// Comparators (RFC 4790 §9, RFC 5228 §2.7.3) and match types
// (RFC 5228 §2.7.1, RFC 5231).

type comparator int

const (
	cmpOctet comparator = iota
	cmpCasemap
	cmpNumeric
)

type matchType int

const (
	mIs matchType = iota
	mContains
	mMatches
	mValue
	mCount
	mRegex
)

type matcher struct {
	typ     matchType
	cmp     comparator
	rel     string                    // gt ge lt le eq ne for :value/:count
	regexes map[string]*regexp.Regexp // precompiled literal :regex keys
}

// newMatcher gives the node's match type and comparator (worked out at
// compile time: node.matcher).
func newMatcher(n *node) matcher {
	if n.matcher != nil {
		return *n.matcher
	}
	return tagMatcher(n)
}

func tagMatcher(n *node) matcher {
	m := matcher{typ: mIs, cmp: cmpCasemap, regexes: n.regexes}
	if _, ok := n.tags["contains"]; ok {
		m.typ = mContains
	}
	if _, ok := n.tags["matches"]; ok {
		m.typ = mMatches
	}
	if _, ok := n.tags["regex"]; ok {
		m.typ = mRegex
	}
	if p := n.tags["value"]; p != nil {
		m.typ, m.rel = mValue, strings.ToLower(p.strs[0])
	}
	if p := n.tags["count"]; p != nil {
		m.typ, m.rel = mCount, strings.ToLower(p.strs[0])
	}
	if p := n.tags["comparator"]; p != nil {
		switch strings.ToLower(p.strs[0]) {
		case "i;octet":
			m.cmp = cmpOctet
		case "i;ascii-numeric":
			m.cmp = cmpNumeric
		}
	}
	return m
}

func asciiLower(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 32
	}
	return c
}

func (c comparator) eqByte(a, b byte) bool {
	if c == cmpCasemap {
		return asciiLower(a) == asciiLower(b)
	}
	return a == b
}

// numericValue: RFC 4790 §9.1.1, the leading digits; a string that does
// not start with a digit is positive infinity (ok=false).
func numericValue(s string) (v string, ok bool) {
	i := 0
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	if i == 0 {
		return "", false
	}
	v = strings.TrimLeft(s[:i], "0")
	return v, true
}

// compare orders a and b under the comparator: -1, 0, 1.
func (c comparator) compare(a, b string) int {
	switch c {
	case cmpNumeric:
		av, aok := numericValue(a)
		bv, bok := numericValue(b)
		switch {
		case !aok && !bok:
			return 0
		case !aok:
			return 1
		case !bok:
			return -1
		}
		if len(av) != len(bv) {
			if len(av) < len(bv) {
				return -1
			}
			return 1
		}
		return strings.Compare(av, bv)
	case cmpCasemap:
		n := min(len(a), len(b))
		for i := 0; i < n; i++ {
			x, y := asciiLower(a[i]), asciiLower(b[i])
			if x != y {
				if x < y {
					return -1
				}
				return 1
			}
		}
		switch {
		case len(a) < len(b):
			return -1
		case len(a) > len(b):
			return 1
		}
		return 0
	}
	return strings.Compare(a, b)
}

func (c comparator) contains(s, sub string) bool {
	if c == cmpOctet {
		return strings.Contains(s, sub)
	}
	for i := 0; i+len(sub) <= len(s); i++ {
		ok := true
		for j := 0; j < len(sub); j++ {
			if !c.eqByte(s[i+j], sub[j]) {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

func relHolds(rel string, r int) bool {
	switch rel {
	case "gt":
		return r > 0
	case "ge":
		return r >= 0
	case "lt":
		return r < 0
	case "le":
		return r <= 0
	case "eq":
		return r == 0
	case "ne":
		return r != 0
	}
	return false
}

// glob matches s against a :matches pattern ("*", "?", "\" escapes;
// RFC 5228 §2.7.1). When caps is not nil, it receives the text of each
// wildcard, left-most shortest first (RFC 5229 §3.2). steps bounds the
// work so that a hostile pattern can not run away.
func (c comparator) glob(s, pat string, caps *[]string, steps *int) bool {
	var out []string
	var rec func(si, pi int) bool
	rec = func(si, pi int) bool {
		*steps--
		if *steps < 0 {
			return false
		}
		for pi < len(pat) {
			switch pat[pi] {
			case '*':
				// shortest first
				for k := si; k <= len(s); k++ {
					out = append(out, s[si:k])
					if rec(k, pi+1) {
						return true
					}
					out = out[:len(out)-1]
					if *steps < 0 {
						return false
					}
				}
				return false
			case '?':
				if si >= len(s) {
					return false
				}
				// one character (UTF-8 aware for the i;ascii-casemap and
				// i;octet comparators as Pigeonhole does)
				w := utf8Len(s[si:])
				out = append(out, s[si:si+w])
				if rec(si+w, pi+1) {
					return true
				}
				out = out[:len(out)-1]
				return false
			case '\\':
				if pi+1 < len(pat) {
					pi++
				}
				fallthrough
			default:
				if si >= len(s) || !c.eqByte(s[si], pat[pi]) {
					return false
				}
				si++
				pi++
			}
		}
		return si == len(s)
	}
	ok := rec(0, 0)
	if ok && caps != nil {
		*caps = append([]string{s}, out...)
	}
	return ok
}

func utf8Len(s string) int {
	c := s[0]
	n := 1
	switch {
	case c >= 0xF0:
		n = 4
	case c >= 0xE0:
		n = 3
	case c >= 0xC0:
		n = 2
	}
	if n > len(s) {
		n = 1
	}
	return n
}

// matchOne tests one value against one key. caps gets the match
// variables of a successful :matches.
func (m matcher) matchOne(val, key string, caps *[]string, steps *int) bool {
	switch m.typ {
	case mIs:
		if m.cmp == cmpNumeric {
			return m.cmp.compare(val, key) == 0
		}
		if m.cmp == cmpOctet {
			return val == key
		}
		return len(val) == len(key) && m.cmp.compare(val, key) == 0
	case mContains:
		return m.cmp.contains(val, key)
	case mMatches:
		return m.cmp.glob(val, key, caps, steps)
	case mRegex:
		re, err := m.compileRegex(key)
		if err != nil {
			return false
		}
		sub := re.FindStringSubmatch(val)
		if sub == nil {
			return false
		}
		if caps != nil {
			*caps = sub
		}
		return true
	case mValue:
		return relHolds(m.rel, m.cmp.compare(val, key))
	}
	return false
}

// compileRegex compiles a :regex key (draft-ietf-sieve-regex): POSIX
// extended syntax with leftmost-longest matching, case-insensitive under
// i;ascii-casemap, as Pigeonhole does with regcomp(REG_EXTENDED|REG_ICASE).
// Go's RE2 syntax is a superset of what scripts use in practice.
func (m matcher) compileRegex(key string) (*regexp.Regexp, error) {
	if re, ok := m.regexes[key]; ok {
		return re, nil
	}
	if m.cmp == cmpCasemap {
		key = "(?i)" + key
	}
	re, err := regexp.Compile(key)
	if err != nil {
		return nil, err
	}
	re.Longest()
	return re, nil
}

// match runs a match over all values and keys (RFC 5228 §2.7.1: true if
// any value matches any key). For :count, the number of values is
// compared (RFC 5231 §4.2).
func (m matcher) match(vals, keys []string, caps *[]string, steps *int) bool {
	if m.typ == mCount {
		n := strconv.Itoa(len(vals))
		for _, k := range keys {
			if relHolds(m.rel, m.cmp.compare(n, k)) {
				return true
			}
		}
		return false
	}
	for _, v := range vals {
		for _, k := range keys {
			if m.matchOne(v, k, caps, steps) {
				return true
			}
		}
	}
	return false
}
