package mime

import (
	"sort"
	"strconv"
	"strings"
)

// The tokenizer follows RFC 5322 §3.2 (CFWS, quoted-string) and RFC 2045
// §5.1 (token, tspecials), tolerant in the same places as Dovecot's
// rfc822-parser so that broken fields yield the same values.

// atext classes: 1 = atext, 2 = alnum or 8-bit, 4 = atext but MIME tspecial.
var atext = func() (t [256]byte) {
	for c := 0; c < 256; c++ {
		switch {
		case c >= 128, c >= '0' && c <= '9', c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
			t[c] = 2
		case strings.IndexByte("!#$%&'*+-^_`{|}~", byte(c)) >= 0:
			t[c] = 1
		case c == '/' || c == '=' || c == '?':
			t[c] = 4
		}
	}
	return
}()

func isMIMETokenChar(c byte) bool { return atext[c]&3 != 0 || c == '.' }

// IsAtext reports whether c is RFC 5322 atext (or an 8-bit byte).
func IsAtext(c byte) bool { return atext[c] != 0 }

type tokenizer struct {
	s string
	i int
}

// skipCFWS skips white space and comments. It returns false if the
// input ended (or a comment was unterminated).
func (t *tokenizer) skipCFWS() bool {
	for t.i < len(t.s) {
		switch t.s[t.i] {
		case ' ', '\t', '\r', '\n':
			t.i++
		case '(':
			if !t.skipComment() {
				return false
			}
		default:
			return true
		}
	}
	return false
}

func (t *tokenizer) skipComment() bool {
	level := 1
	t.i++
	for ; t.i < len(t.s); t.i++ {
		switch t.s[t.i] {
		case '(':
			level++
		case ')':
			level--
			if level == 0 {
				t.i++
				return t.i < len(t.s)
			}
		case '\\':
			t.i++
			if t.i >= len(t.s) {
				return false
			}
		}
	}
	return false
}

// mimeToken reads a token (RFC 2045 §5.1, also allowing '.'), then skips
// CFWS. more reports whether input remains.
func (t *tokenizer) mimeToken() (tok string, more bool) {
	start := t.i
	for t.i < len(t.s) && isMIMETokenChar(t.s[t.i]) {
		t.i++
	}
	tok = t.s[start:t.i]
	if t.i >= len(t.s) {
		return tok, false
	}
	return tok, t.skipCFWS()
}

// quoted reads a quoted-string starting at '"'. Folding line ends are
// removed, quoted-pairs unescaped. ok is false if it is unterminated.
func (t *tokenizer) quoted() (val string, more, ok bool) {
	t.i++
	var b strings.Builder
	start := t.i
	for ; t.i < len(t.s); t.i++ {
		switch t.s[t.i] {
		case '"':
			b.WriteString(t.s[start:t.i])
			t.i++
			if t.i >= len(t.s) {
				return b.String(), false, true
			}
			return b.String(), t.skipCFWS(), true
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
				return b.String(), false, false
			}
			b.WriteString(t.s[start : t.i-1])
			start = t.i
		}
	}
	return b.String(), false, false
}

// parseContentType parses "type/subtype" and returns it (as sent), the
// rest of the field (the parameters) and whether parameters may follow.
// Like Dovecot 2.3: a value without "/" keeps its type (the subtype is
// then empty); a "/" with no subtype token voids the whole value.
func parseContentType(v []byte) (typ, rest string, ok bool) {
	t := &tokenizer{s: string(v)}
	if !t.skipCFWS() {
		return "", "", false
	}
	main, more := t.mimeToken()
	if !more || main == "" {
		return main, "", false
	}
	if t.s[t.i] != '/' {
		return "", "", false
	}
	t.i++
	if !t.skipCFWS() {
		return "", "", false
	}
	sub, _ := t.mimeToken()
	if sub == "" {
		return "", "", false
	}
	return main + "/" + sub, t.s[t.i:], true
}

// parseToken parses a leading MIME token (Content-Disposition).
func parseToken(v []byte) (tok, rest string, ok bool) {
	t := &tokenizer{s: string(v)}
	t.skipCFWS()
	tok, _ = t.mimeToken()
	return tok, t.s[t.i:], true
}

// parseCTE parses a Content-Transfer-Encoding value: a single token and
// nothing else (RFC 2045 §6.1).
func parseCTE(v []byte) (string, bool) {
	t := &tokenizer{s: string(v)}
	t.skipCFWS()
	tok, more := t.mimeToken()
	if more || tok == "" {
		return "", false
	}
	return tok, true
}

// parseLanguage parses Content-Language (RFC 3282): a list of atoms.
func parseLanguage(v []byte) []string {
	t := &tokenizer{s: string(v)}
	t.skipCFWS()
	var out []string
	for t.i < len(t.s) && atext[t.s[t.i]] != 0 {
		start := t.i
		for t.i < len(t.s) && atext[t.s[t.i]] != 0 {
			t.i++
		}
		out = append(out, t.s[start:t.i])
		if t.i < len(t.s) {
			t.skipCFWS()
		}
		if t.i >= len(t.s) || t.s[t.i] != ',' {
			break
		}
		t.i++
		t.skipCFWS()
	}
	return out
}

// contentParam reads one ";attribute=value". It returns n=0 at the end,
// n<0 if broken.
func (t *tokenizer) contentParam() (key, val string, n int) {
	if t.i >= len(t.s) {
		return "", "", 0
	}
	if t.s[t.i] != ';' {
		return "", "", -1
	}
	t.i++
	if !t.skipCFWS() {
		return "", "", -1
	}
	key, more := t.mimeToken()
	if !more {
		return "", "", -1
	}
	if t.s[t.i] != '=' {
		return "", "", -1
	}
	t.i++
	ok := true
	if !t.skipCFWS() {
		// no value
		return key, "", 1
	} else if t.s[t.i] == '"' {
		val, _, ok = t.quoted()
	} else if t.s[t.i] == '=' {
		// broken input: name==?utf-8?b?...?=
		start := t.i
		for t.i < len(t.s) && strings.IndexByte("; \t\r\n", t.s[t.i]) < 0 {
			t.i++
		}
		val = t.s[start:t.i]
	} else {
		val, _ = t.mimeToken()
	}
	if !ok {
		return "", "", -1
	}
	return key, val, 1
}

type p2231 struct {
	key      string
	val      string
	idx      int
	extended bool
}

// parseParams parses the parameter list of Content-Type or
// Content-Disposition (RFC 2045 §5.1). RFC 2231 continuations are merged;
// like Dovecot, a merged extended parameter keeps the name "name*" and
// its charset'language'%XX value, so that BODYSTRUCTURE shows what Dovecot
// shows. Use DecodeParam for the decoded value.
func parseParams(s string) []Param {
	t := &tokenizer{s: s}
	var out []Param
	var exts []p2231
	idx := 0
	for {
		key, val, n := t.contentParam()
		if n == 0 {
			break
		}
		if n == -1 {
			if t.i >= len(t.s) {
				break
			}
			t.i++
			continue
		}
		if star := strings.IndexByte(key, '*'); star >= 0 {
			// Like Dovecot: "name*" is extended with the index of
			// the previous RFC 2231 parameter (0 at first).
			rest := key[star:]
			if len(rest) > 1 {
				rest = rest[1:]
				idx = 0
				j := 0
				for j < len(rest) && rest[j] >= '0' && rest[j] <= '9' {
					idx = idx*10 + int(rest[j]-'0')
					j++
				}
				rest = rest[j:]
			}
			ext := false
			if strings.HasPrefix(rest, "*") {
				ext = true
				rest = rest[1:]
			}
			if rest == "" {
				exts = append(exts, p2231{key: key[:star], val: val, idx: idx, extended: ext})
				continue
			}
		}
		out = append(out, Param{Name: key, Value: val})
	}
	if len(exts) == 0 {
		return out
	}
	ext := exts
	sort.SliceStable(ext, func(i, j int) bool {
		if ext[i].key != ext[j].key {
			return ext[i].key < ext[j].key
		}
		return ext[i].idx < ext[j].idx
	})
	for i := 0; i < len(ext); {
		j := i
		ok, hasExt, next := true, false, 0
		for ; j < len(ext) && strings.EqualFold(ext[i].key, ext[j].key); j++ {
			if ext[j].idx != next {
				ok = false
			}
			if ext[j].extended {
				hasExt = true
			}
			next++
		}
		if !ok {
			for k := i; k < j; k++ {
				name := ext[k].key + "*" + strconv.Itoa(ext[k].idx)
				if ext[k].extended {
					name += "*"
				}
				out = append(out, Param{Name: name, Value: ext[k].val})
			}
		} else {
			var b strings.Builder
			if !ext[i].extended && hasExt {
				b.WriteString("''")
			}
			for k := i; k < j; k++ {
				if !ext[k].extended && hasExt {
					b.WriteString(strings.ReplaceAll(ext[k].val, "%", "%25"))
				} else {
					b.WriteString(ext[k].val)
				}
			}
			name := ext[i].key
			if hasExt {
				name += "*"
			}
			out = append(out, Param{Name: name, Value: b.String()})
		}
		i = j
	}
	return out
}
