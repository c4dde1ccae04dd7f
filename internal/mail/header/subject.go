package header

import "strings"

// BaseSubject returns the RFC 5256 §2.1 base subject of a raw Subject
// value: encoded-words decoded, white space collapsed, and the reply and
// forward decorations ("Re:", "Fwd:", "[list]" blobs, "(fwd)" trailers,
// "[Fwd: ...]" wrappers) removed repeatedly. The result is lower-cased for
// i;unicode-casemap comparison.
func BaseSubject(raw string) string {
	s := DecodeWords(raw)
	// (1) collapse white space
	s = strings.Join(strings.FieldsFunc(s, func(r rune) bool {
		return r == ' ' || r == '\t' || r == '\r' || r == '\n'
	}), " ")
	for {
		// (2) remove trailers
		for {
			t := strings.TrimRight(s, " ")
			if strings.HasSuffix(strings.ToLower(t), "(fwd)") {
				s = t[:len(t)-5]
				continue
			}
			s = t
			break
		}
		// (3)(4) remove leaders and blobs
		for {
			n := stripLeader(s)
			if n == s {
				break
			}
			s = n
		}
		// (6) [fwd: ... ]
		l := strings.ToLower(s)
		if strings.HasPrefix(l, "[fwd:") && strings.HasSuffix(s, "]") {
			s = strings.TrimSpace(s[5 : len(s)-1])
			continue
		}
		break
	}
	return strings.ToLower(s)
}

// stripLeader removes one subj-leader or subj-blob (RFC 5256 §5).
func stripLeader(s string) string {
	s = strings.TrimLeft(s, " ")
	l := strings.ToLower(s)
	// subj-blob at the start, if something remains after it
	if strings.HasPrefix(s, "[") {
		if end := strings.IndexByte(s, ']'); end > 0 && !strings.ContainsAny(s[1:end], "[") {
			rest := strings.TrimLeft(s[end+1:], " ")
			if rest != "" {
				return rest
			}
		}
	}
	for _, w := range []string{"re", "fwd", "fw"} {
		if !strings.HasPrefix(l, w) {
			continue
		}
		i := len(w)
		for i < len(s) && s[i] == ' ' {
			i++
		}
		// optional blob
		if i < len(s) && s[i] == '[' {
			if end := strings.IndexByte(s[i:], ']'); end > 0 {
				i += end + 1
			}
			for i < len(s) && s[i] == ' ' {
				i++
			}
		}
		if i < len(s) && s[i] == ':' {
			return s[i+1:]
		}
	}
	return s
}
