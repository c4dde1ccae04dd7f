package header

import "strings"

// MessageIDs returns the msg-ids (RFC 5322 §3.6.4) of a Message-ID,
// In-Reply-To or References value, in order, without their angle
// brackets and white space. Invalid ones (no "@", unterminated) are
// skipped, so the rest of a broken References field still counts, as
// THREAD=REFERENCES needs (RFC 5256 §3: "valid Message IDs"). The rules
// are Dovecot's (message-id.c), so that threads match its answers: a
// plain "<local@domain>" is taken as it is, with white space removed;
// one with quotes, comments or a domain literal must parse as
// [CFWS] (dot-atom / quoted-string) "@" [CFWS] dot-atom ">".
func MessageIDs(s string) []string {
	var out []string
	for {
		id, rest, ok := nextMessageID(s)
		if !ok {
			return out
		}
		out = append(out, id)
		s = rest
	}
}

// FirstMessageID returns the first valid msg-id of a value, or "".
func FirstMessageID(s string) string {
	id, _, _ := nextMessageID(s)
	return id
}

func nextMessageID(s string) (id, rest string, ok bool) {
	for {
		lt := strings.IndexByte(s, '<')
		if lt < 0 {
			return "", "", false
		}
		s = s[lt+1:]
		at := false
		i := 0
		for ; i < len(s); i++ {
			c := s[i]
			if c == '@' {
				at = true
			}
			if c == '>' || c == '"' || c == '(' || c == '[' {
				break
			}
		}
		if i == len(s) {
			return "", "", false
		}
		if s[i] == '>' {
			if at {
				return stripSpace(s[:i]), s[i+1:], true
			}
			s = s[i+1:]
			continue
		}
		// Quotes, comments or a literal: parse it properly.
		if id, n := parseMsgID(s); n > 0 {
			return id, s[n:], true
		}
	}
}

// parseMsgID parses id-left "@" id-right ">" at the start of s (after the
// "<"); n is the length consumed, 0 if it is not one.
func parseMsgID(s string) (string, int) {
	t := &rfc822{s: s}
	var b strings.Builder
	if t.skipLWSP() <= 0 {
		return "", 0
	}
	var ret int
	if t.cur() == '"' {
		ret = t.quotedString(&b)
	} else {
		ret = t.dotAtom(&b)
	}
	if ret <= 0 || t.cur() != '@' {
		return "", 0
	}
	b.WriteByte('@')
	t.i++
	if t.skipLWSP() <= 0 {
		return "", 0
	}
	if t.dotAtom(&b) <= 0 || t.cur() != '>' {
		return "", 0
	}
	return b.String(), t.i + 1
}

func stripSpace(s string) string {
	if !strings.ContainsAny(s, " \t\r\n") {
		return s
	}
	return strings.Map(func(r rune) rune {
		switch r {
		case ' ', '\t', '\r', '\n':
			return -1
		}
		return r
	}, s)
}
