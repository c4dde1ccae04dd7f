package sieve

import (
	"fmt"
	"regexp"
	"strings"
)

// The grammar of RFC 5228 §8: lexical tokens (§8.1) and commands (§8.2).

type tokKind int

const (
	tEOF tokKind = iota
	tIdent
	tTag
	tNum
	tStr
	tPunct
)

type token struct {
	kind      tokKind
	s         string // identifier/tag name (without ':'), string value, punctuation
	num       int64
	line, col int
}

type argKind int

const (
	aTag argKind = iota
	aNum
	aStr  // a single string (a list of one, written without brackets)
	aList // a bracketed string list
)

type arg struct {
	kind      argKind
	tag       string // lower case, without ':'
	num       int64
	strs      []string
	line, col int
}

// node is a command or a test.
type node struct {
	name      string // lower case
	line, col int
	args      []*arg
	tests     []*node
	block     []*node
	hasBlock  bool
	testList  bool // tests were given in parentheses

	// filled in by the compiler
	tags                 map[string]*arg // tag -> its parameter (nil when it has none)
	pos                  []*arg
	inc                  *Script // include: the compiled script
	incOnce, incOptional bool
	// regexes holds the compiled literal :regex keys (read-only once
	// compiled, so Execute may run concurrently)
	regexes map[string]*regexp.Regexp
	// Worked out from the tags once at compile time, so a run does not
	// look them up for every test (read-only afterwards): the match
	// type and comparator, the address part, whether :mime is given.
	matcher  *matcher
	addrPart addrPart
	mime     bool
	// unchecked: an if/elsif whose block an ihave of a missing
	// capability guards (RFC 5463 §4): not checked, never run
	unchecked bool
}

type syntaxError struct {
	line, col int
	msg       string
	err       error
}

type lexer struct {
	src       string
	i         int
	line, col int
	peeked    *token
}

func (l *lexer) errf(line, col int, f string, a ...any) {
	panic(syntaxError{line: line, col: col, msg: fmt.Sprintf(f, a...)})
}

func (l *lexer) adv(n int) {
	for k := 0; k < n; k++ {
		if l.src[l.i] == '\n' {
			l.line++
			l.col = 1
		} else {
			l.col++
		}
		l.i++
	}
}

func isAlpha(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' }
func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func (l *lexer) skipSpace() {
	for l.i < len(l.src) {
		c := l.src[l.i]
		switch {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			l.adv(1)
		case c == '#':
			for l.i < len(l.src) && l.src[l.i] != '\n' {
				l.adv(1)
			}
		case c == '/' && l.i+1 < len(l.src) && l.src[l.i+1] == '*':
			line, col := l.line, l.col
			end := strings.Index(l.src[l.i+2:], "*/")
			if end < 0 {
				l.errf(line, col, "unterminated comment")
			}
			l.adv(end + 4)
		default:
			return
		}
	}
}

func (l *lexer) peek() token {
	if l.peeked == nil {
		t := l.next()
		l.peeked = &t
	}
	return *l.peeked
}

func (l *lexer) next() token {
	if l.peeked != nil {
		t := *l.peeked
		l.peeked = nil
		return t
	}
	l.skipSpace()
	t := token{line: l.line, col: l.col}
	if l.i >= len(l.src) {
		return t
	}
	c := l.src[l.i]
	switch {
	case isAlpha(c):
		j := l.i
		for j < len(l.src) && (isAlpha(l.src[j]) || isDigit(l.src[j])) {
			j++
		}
		word := l.src[l.i:j]
		if strings.EqualFold(word, "text") && j < len(l.src) && l.src[j] == ':' {
			l.adv(j + 1 - l.i)
			t.kind = tStr
			t.s = l.multiline(t.line, t.col)
			return t
		}
		t.kind, t.s = tIdent, strings.ToLower(word)
		l.adv(j - l.i)
	case c == ':':
		j := l.i + 1
		if j >= len(l.src) || !isAlpha(l.src[j]) {
			l.errf(t.line, t.col, "expected a tag name after ':'")
		}
		for j < len(l.src) && (isAlpha(l.src[j]) || isDigit(l.src[j])) {
			j++
		}
		t.kind, t.s = tTag, strings.ToLower(l.src[l.i+1:j])
		l.adv(j - l.i)
	case isDigit(c):
		j := l.i
		var n int64
		for j < len(l.src) && isDigit(l.src[j]) {
			n = n*10 + int64(l.src[j]-'0')
			if n > 1<<40 {
				l.errf(t.line, t.col, "number too large")
			}
			j++
		}
		if j < len(l.src) {
			// RFC 5228 §2.4.1 quantifiers
			switch l.src[j] {
			case 'k', 'K':
				n <<= 10
				j++
			case 'm', 'M':
				n <<= 20
				j++
			case 'g', 'G':
				n <<= 30
				j++
			}
		}
		t.kind, t.num = tNum, n
		l.adv(j - l.i)
	case c == '"':
		l.adv(1)
		var b strings.Builder
		for {
			if l.i >= len(l.src) {
				l.errf(t.line, t.col, "unterminated string")
			}
			c := l.src[l.i]
			if c == '"' {
				l.adv(1)
				break
			}
			if c == '\\' && l.i+1 < len(l.src) {
				// RFC 5228 §2.4.2: "\" followed by any character is that
				// character.
				l.adv(1)
				c = l.src[l.i]
			}
			b.WriteByte(c)
			l.adv(1)
		}
		t.kind, t.s = tStr, b.String()
	case strings.IndexByte(";,()[]{}", c) >= 0:
		t.kind, t.s = tPunct, string(c)
		l.adv(1)
	default:
		l.errf(t.line, t.col, "unexpected character %q", c)
	}
	return t
}

// multiline reads the rest of a "text:" string (RFC 5228 §2.4.2).
func (l *lexer) multiline(line, col int) string {
	for l.i < len(l.src) && (l.src[l.i] == ' ' || l.src[l.i] == '\t') {
		l.adv(1)
	}
	if l.i < len(l.src) && l.src[l.i] == '#' {
		for l.i < len(l.src) && l.src[l.i] != '\n' {
			l.adv(1)
		}
	}
	if l.i < len(l.src) && l.src[l.i] == '\r' {
		l.adv(1)
	}
	if l.i >= len(l.src) || l.src[l.i] != '\n' {
		l.errf(line, col, "text: must be followed by a line end")
	}
	l.adv(1)
	var b strings.Builder
	for {
		if l.i >= len(l.src) {
			l.errf(line, col, "unterminated multi-line string (missing '.' line)")
		}
		e := strings.IndexByte(l.src[l.i:], '\n')
		if e < 0 {
			l.errf(line, col, "unterminated multi-line string (missing '.' line)")
		}
		raw := l.src[l.i : l.i+e+1]
		body := strings.TrimRight(raw, "\r\n")
		l.adv(len(raw))
		if body == "." {
			return b.String()
		}
		// RFC 5228 §2.4.2: a leading dot is doubled ("dot-stuffing");
		// lines end in CRLF in the value.
		b.WriteString(strings.TrimPrefix(body, "."))
		b.WriteString("\r\n")
	}
}

type parser struct {
	lx       lexer
	maxDepth int
}

func parse(src string, maxDepth int) (cmds []*node, err *syntaxError) {
	p := &parser{lx: lexer{src: src, line: 1, col: 1}, maxDepth: maxDepth}
	defer func() {
		if r := recover(); r != nil {
			se, ok := r.(syntaxError)
			if !ok {
				panic(r)
			}
			err = &se
		}
	}()
	cmds = p.commands(0)
	if t := p.lx.next(); t.kind != tEOF {
		p.lx.errf(t.line, t.col, "unexpected %s", describe(t))
	}
	return cmds, nil
}

func describe(t token) string {
	switch t.kind {
	case tEOF:
		return "end of script"
	case tIdent:
		return "identifier " + t.s
	case tTag:
		return "tag :" + t.s
	case tNum:
		return "number"
	case tStr:
		return "string"
	}
	return "'" + t.s + "'"
}

func (p *parser) depth(d int, t token) {
	if d > p.maxDepth {
		panic(syntaxError{line: t.line, col: t.col, msg: fmt.Sprintf("nesting deeper than max_nesting_depth (%d)", p.maxDepth), err: ErrNestingTooDeep})
	}
}

func (p *parser) commands(d int) []*node {
	var cmds []*node
	for {
		t := p.lx.peek()
		if t.kind != tIdent {
			return cmds
		}
		cmds = append(cmds, p.command(d))
	}
}

func (p *parser) command(d int) *node {
	t := p.lx.next()
	p.depth(d, t)
	n := &node{name: t.s, line: t.line, col: t.col}
	p.arguments(n, d)
	e := p.lx.next()
	switch {
	case e.kind == tPunct && e.s == ";":
	case e.kind == tPunct && e.s == "{":
		n.hasBlock = true
		n.block = p.commands(d + 1)
		c := p.lx.next()
		if c.kind != tPunct || c.s != "}" {
			p.lx.errf(c.line, c.col, "expected '}' but found %s", describe(c))
		}
	default:
		p.lx.errf(e.line, e.col, "expected ';' or '{' after command %s but found %s", n.name, describe(e))
	}
	return n
}

func (p *parser) arguments(n *node, d int) {
	for {
		t := p.lx.peek()
		switch {
		case t.kind == tTag:
			p.lx.next()
			n.args = append(n.args, &arg{kind: aTag, tag: t.s, line: t.line, col: t.col})
		case t.kind == tNum:
			p.lx.next()
			n.args = append(n.args, &arg{kind: aNum, num: t.num, line: t.line, col: t.col})
		case t.kind == tStr:
			p.lx.next()
			n.args = append(n.args, &arg{kind: aStr, strs: []string{t.s}, line: t.line, col: t.col})
		case t.kind == tPunct && t.s == "[":
			p.lx.next()
			a := &arg{kind: aList, line: t.line, col: t.col}
			for {
				s := p.lx.next()
				if s.kind != tStr {
					p.lx.errf(s.line, s.col, "expected a string in the string list but found %s", describe(s))
				}
				a.strs = append(a.strs, s.s)
				c := p.lx.next()
				if c.kind == tPunct && c.s == "]" {
					break
				}
				if c.kind != tPunct || c.s != "," {
					p.lx.errf(c.line, c.col, "expected ',' or ']' in the string list but found %s", describe(c))
				}
			}
			n.args = append(n.args, a)
		case t.kind == tIdent:
			n.tests = []*node{p.test(d + 1)}
			return
		case t.kind == tPunct && t.s == "(":
			p.lx.next()
			n.testList = true
			for {
				n.tests = append(n.tests, p.test(d+1))
				c := p.lx.next()
				if c.kind == tPunct && c.s == ")" {
					break
				}
				if c.kind != tPunct || c.s != "," {
					p.lx.errf(c.line, c.col, "expected ',' or ')' in the test list but found %s", describe(c))
				}
			}
			return
		default:
			return
		}
	}
}

func (p *parser) test(d int) *node {
	t := p.lx.next()
	if t.kind != tIdent {
		p.lx.errf(t.line, t.col, "expected a test but found %s", describe(t))
	}
	p.depth(d, t)
	n := &node{name: t.s, line: t.line, col: t.col}
	p.arguments(n, d)
	return n
}
