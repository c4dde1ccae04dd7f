package header

import "strings"

// rfc822 is a small RFC 5322 lexer (§3.2: CFWS, atoms, quoted strings,
// domains). Methods return >0 if input remains after the token, 0 at the
// end of input and <0 on a syntax error, so that callers can mirror
// Dovecot's tolerant parser exactly.
type rfc822 struct {
	s           string
	i           int
	comment     bool   // record the last comment
	lastComment []byte // content of the last comment seen
}

func (t *rfc822) eof() bool { return t.i >= len(t.s) }

// cur returns the current byte, or 0 at the end (like a C string).
func (t *rfc822) cur() byte {
	if t.i >= len(t.s) {
		return 0
	}
	return t.s[t.i]
}

func isAtext(c byte) bool {
	switch {
	case c >= 128, c >= '0' && c <= '9', c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
		return true
	}
	return strings.IndexByte("!#$%&'*+-/=?^_`{|}~", c) >= 0
}

func (t *rfc822) skipComment() int {
	level := 1
	if t.comment {
		t.lastComment = t.lastComment[:0]
	}
	t.i++
	start := t.i
	for ; t.i < len(t.s); t.i++ {
		switch t.s[t.i] {
		case '(':
			level++
		case ')':
			level--
			if level == 0 {
				if t.comment {
					t.lastComment = append(t.lastComment, t.s[start:t.i]...)
				}
				t.i++
				if t.i < len(t.s) {
					return 1
				}
				return 0
			}
		case '\\':
			if t.comment {
				t.lastComment = append(t.lastComment, t.s[start:t.i]...)
			}
			start = t.i + 1
			t.i++
			if t.i >= len(t.s) {
				return -1
			}
		}
	}
	return -1
}

func (t *rfc822) skipLWSP() int {
	for t.i < len(t.s) {
		switch t.s[t.i] {
		case ' ', '\t', '\r', '\n':
			t.i++
			continue
		case '(':
			if t.skipComment() < 0 {
				return -1
			}
			continue
		}
		break
	}
	if t.i < len(t.s) {
		return 1
	}
	return 0
}

func (t *rfc822) dotAtom(b *strings.Builder) int {
	if t.eof() || !isAtext(t.s[t.i]) {
		return -1
	}
	start := t.i
	t.i++
	for t.i < len(t.s) {
		if isAtext(t.s[t.i]) {
			t.i++
			continue
		}
		b.WriteString(t.s[start:t.i])
		if ret := t.skipLWSP(); ret <= 0 {
			return ret
		}
		if t.s[t.i] != '.' {
			return 1
		}
		t.i++
		b.WriteByte('.')
		if ret := t.skipLWSP(); ret <= 0 {
			return ret
		}
		start = t.i
	}
	b.WriteString(t.s[start:t.i])
	return 0
}

// atom parses 1*atext, then CFWS.
func (t *rfc822) atom(b *strings.Builder) int {
	if t.eof() || !isAtext(t.s[t.i]) {
		return -1
	}
	start := t.i
	for t.i < len(t.s) && isAtext(t.s[t.i]) {
		t.i++
	}
	b.WriteString(t.s[start:t.i])
	if t.i >= len(t.s) {
		return 0
	}
	return t.skipLWSP()
}

// looseDotAtom parses a local-part that may have dots anywhere
// (".user", "us..er", "user."), which RFC 5322 forbids but which is
// common (Dovecot accepts it by default).
func (t *rfc822) looseDotAtom(b *strings.Builder) int {
	ret := -1
	for {
		for t.cur() == '.' {
			b.WriteByte('.')
			t.i++
			if t.eof() {
				return 0
			}
			ret = 1
		}
		if t.cur() == '@' {
			break
		}
		ret = t.atom(b)
		if ret <= 0 || t.cur() != '.' {
			break
		}
	}
	return ret
}

func (t *rfc822) quotedString(b *strings.Builder) int {
	t.i++
	start := t.i
	for ; t.i < len(t.s); t.i++ {
		switch t.s[t.i] {
		case '"':
			b.WriteString(t.s[start:t.i])
			t.i++
			return t.skipLWSP()
		case '\n':
			end := t.i
			if end > start && t.s[end-1] == '\r' {
				end--
			}
			b.WriteString(t.s[start:end])
			start = t.i + 1
		case '\\':
			t.i++
			if t.i >= len(t.s) {
				return -1
			}
			b.WriteString(t.s[start : t.i-1])
			start = t.i
		}
	}
	return -1
}

func (t *rfc822) atomOrDot(b *strings.Builder) int {
	start := t.i
	for t.i < len(t.s) && (isAtext(t.s[t.i]) || t.s[t.i] == '.') {
		t.i++
	}
	b.WriteString(t.s[start:t.i])
	if t.i >= len(t.s) {
		return 0
	}
	return t.skipLWSP()
}

// phrase parses RFC 5322 phrase (with obs-phrase): words joined by one
// space.
func (t *rfc822) phrase(b *strings.Builder) int {
	if t.eof() {
		return 0
	}
	if t.s[t.i] == '.' {
		return -1
	}
	for {
		var ret int
		if t.s[t.i] == '"' {
			ret = t.quotedString(b)
		} else {
			ret = t.atomOrDot(b)
		}
		if ret <= 0 {
			return ret
		}
		c := t.s[t.i]
		if !isAtext(c) && c != '"' && c != '.' {
			break
		}
		b.WriteByte(' ')
	}
	return t.skipLWSP()
}

func (t *rfc822) domainLiteral(b *strings.Builder) int {
	start := t.i
	for ; t.i < len(t.s); t.i++ {
		switch t.s[t.i] {
		case '\\':
			t.i++
			if t.i >= len(t.s) {
				return -1
			}
		case ']':
			t.i++
			b.WriteString(t.s[start:t.i])
			return t.skipLWSP()
		}
	}
	return -1
}

// domain parses "@" domain.
func (t *rfc822) domain(b *strings.Builder) int {
	t.i++ // '@'
	if t.skipLWSP() <= 0 {
		return -1
	}
	if t.s[t.i] == '[' {
		return t.domainLiteral(b)
	}
	return t.dotAtom(b)
}
