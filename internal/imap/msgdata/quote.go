package msgdata

import (
	"strconv"
)

// IMAP string output (RFC 9051 §4.3). These mirror Dovecot's imap-quote so
// that the choice between quoted string and literal is the same.

// maxQuotedEscapes is how many quoted-specials a quoted string may hold
// before a literal is used instead (Dovecot: QUOTED_MAX_ESCAPE_CHARS).
const maxQuotedEscapes = 4

func appendLiteral(b []byte, s string) []byte {
	b = append(b, '{')
	b = strconv.AppendInt(b, int64(len(s)), 10)
	b = append(b, "}\r\n"...)
	return append(b, s...)
}

// appendNString writes s as a quoted string when it is 7-bit without CR,
// LF and with few quoted-specials, else as a literal.
func appendNString(b []byte, s string) []byte {
	esc := 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' || c == '\\':
			esc++
			if esc > maxQuotedEscapes {
				return appendLiteral(b, s)
			}
		case c == '\r' || c == '\n' || c >= 0x80:
			return appendLiteral(b, s)
		}
	}
	return appendQuoted(b, s)
}

func appendQuoted(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\r' || c == '\n' || c >= 0x80:
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}

// appendNStringNoLF writes s with CR and LF removed (unfolded).
func appendNStringNoLF(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if s[i] == '\r' || s[i] == '\n' {
			out := make([]byte, 0, len(s))
			for j := 0; j < len(s); j++ {
				if s[j] != '\r' && s[j] != '\n' {
					out = append(out, s[j])
				}
			}
			return appendNString(b, string(out))
		}
	}
	return appendNString(b, s)
}

// appendStringForHumans writes a display string (Subject, address display
// names): CR and LF dropped, runs of white space collapsed to one space,
// trailing white space dropped, NUL turned into 0x80. Plain strings stay
// quoted; anything changed or 8-bit goes out as a literal.
func appendStringForHumans(b []byte, s string) []byte {
	modify := false
	removed := 0
	lastLWSP, wsPrefix := true, true
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case 0:
			lastLWSP = false
			modify = true
		case '\t', ' ', '\r', '\n':
			// Dovecot 2.3 treats CR and LF as white space here too
			if c != ' ' {
				modify = true
			}
			if lastLWSP {
				modify = true
				removed++
			}
			lastLWSP = true
		case '"', '\\':
			modify = true
			lastLWSP = false
		default:
			if c&0x80 != 0 {
				modify = true
			}
			lastLWSP = false
		}
		if !lastLWSP {
			wsPrefix = false
		}
	}
	if lastLWSP && len(s) > 0 && !wsPrefix {
		modify = true
		removed++
	}
	if !modify {
		b = append(b, '"')
		b = append(b, s...)
		return append(b, '"')
	}
	if len(s) == removed {
		return append(b, `""`...)
	}
	out := make([]byte, 0, len(s)-removed)
	lastLWSP, wsPrefix = true, true
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case 0:
			out = append(out, 0x80)
			lastLWSP = false
		case '\t', ' ', '\r', '\n':
			if !lastLWSP {
				out = append(out, ' ')
			}
			lastLWSP = true
		default:
			lastLWSP = false
			out = append(out, c)
		}
		if !lastLWSP {
			wsPrefix = false
		}
	}
	if lastLWSP && len(s) > 0 && !wsPrefix {
		out = out[:len(out)-1]
	}
	return appendLiteral(b, string(out))
}
