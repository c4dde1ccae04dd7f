package header

import "strings"

// BaseSubject returns the base subject of a raw Subject field value
// (RFC 5256 §2.1): step (1) decodes RFC 2047 encoded-words, and
// SubjectBase does the rest. The result keeps the case it had; SORT and
// THREAD compare it under i;unicode-casemap (casemap.Key or Fold).
func BaseSubject(raw string) (base string, replyOrFwd bool) {
	return SubjectBase(DecodeWords(raw))
}

// SubjectBase extracts the base subject from a Subject value whose
// encoded-words are already decoded, following RFC 5256 §2.1 steps (1)
// to (7) and the ABNF of RFC 5256 §5. replyOrFwd reports whether a
// subj-refwd ("Re:", "Fwd:", "Fw:"), a "(fwd)" trailer or a "[fwd: ...]"
// wrapper was removed: REFERENCES threading (RFC 5256 §3, step 5.C) needs
// it. Letters are matched ASCII case-insensitively; a caller that wants
// Dovecot's result for compatibility forms (fullwidth "Ｒｅ:") passes the
// casemap.Key of the value, as Dovecot titlecases and decomposes first.
//
// Where the RFC leaves room, this does what Dovecot's imap-base-subject.c
// does: one blob is removed by step (4) only if text follows it, and the
// "[fwd:" wrapper needs only its last character to be "]".
func SubjectBase(s string) (base string, replyOrFwd bool) {
	// (1) Convert tabs and continuations to space, and runs of white
	// space to a single space.
	s = packSpace(s)
	start, end := 0, len(s)
	for {
		// (2) Remove trailing subj-trailer ("(fwd)" / WSP) repeatedly.
		for end > start {
			if s[end-1] == ' ' {
				end--
			} else if end-start >= 5 && hasPrefixFold(s[end-5:end], "(fwd)") {
				end -= 5
				replyOrFwd = true
			} else {
				break
			}
		}
		for {
			// (3) Remove a leading subj-leader: WSP, or
			// *subj-blob subj-refwd.
			found, rf := leader(s[start:end])
			start += found
			replyOrFwd = replyOrFwd || rf
			// (4) Remove a leading subj-blob if something remains
			// after it.
			if n := blob(s[start:end]); n > 0 && start+n < end {
				start += n
				found++
			}
			// (5) Repeat (3) and (4) until neither matches.
			if found == 0 {
				break
			}
		}
		// (6) "[fwd:" subject "]": remove the wrapper and go back to
		// step (2).
		if end-start >= 6 && hasPrefixFold(s[start:end], "[fwd:") && s[end-1] == ']' {
			start += 5
			end--
			replyOrFwd = true
			continue
		}
		// (7) What is left is the base subject.
		return s[start:end], replyOrFwd
	}
}

// packSpace turns every run of SP, HTAB, CR and LF into one SP.
func packSpace(s string) string {
	clean := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '\t' || c == '\r' || c == '\n' || (c == ' ' && i+1 < len(s) && (s[i+1] == ' ' || s[i+1] == '\t')) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case ' ', '\t', '\r', '\n':
			if !space {
				b.WriteByte(' ')
			}
			space = true
		default:
			b.WriteByte(c)
			space = false
		}
	}
	return b.String()
}

// blob returns the length of a subj-blob at the start of s
// ("[" *BLOBCHAR "]" *WSP, BLOBCHAR being any CHAR but "[" and "]"), or 0.
// After packSpace, *WSP is at most one space.
func blob(s string) int {
	if len(s) == 0 || s[0] != '[' {
		return 0
	}
	i := 1
	for i < len(s) && s[i] != '[' && s[i] != ']' {
		i++
	}
	if i == len(s) || s[i] != ']' {
		return 0
	}
	i++
	if i < len(s) && s[i] == ' ' {
		i++
	}
	return i
}

// leader returns the length of one subj-leader at the start of s
// (RFC 5256 §5: (*subj-blob subj-refwd) / WSP, where
// subj-refwd = ("re" / ("fw" ["d"])) *WSP [subj-blob] ":"), and whether
// it held a subj-refwd. A leading space is removed on its own and the
// rest is tried in the same step, as Dovecot does.
func leader(s string) (n int, refwd bool) {
	if len(s) > 0 && s[0] == ' ' {
		n = 1
	}
	i := n
	for i < len(s) && s[i] == '[' {
		k := blob(s[i:])
		if k == 0 {
			return n, false
		}
		i += k
	}
	switch {
	case hasPrefixFold(s[i:], "re"):
		i += 2
	case hasPrefixFold(s[i:], "fwd"):
		i += 3
	case hasPrefixFold(s[i:], "fw"):
		i += 2
	default:
		return n, false
	}
	if i < len(s) && s[i] == ' ' {
		i++
	}
	if i < len(s) && s[i] == '[' {
		k := blob(s[i:])
		if k == 0 {
			return n, false
		}
		i += k
	}
	if i >= len(s) || s[i] != ':' {
		return n, false
	}
	return i + 1, true
}

// hasPrefixFold reports whether s starts with prefix (lower-case ASCII),
// ASCII letters compared without case. (strings.EqualFold would also
// match U+017F and U+212A, which RFC 5256's ABNF does not.)
func hasPrefixFold(s, prefix string) bool {
	if len(s) < len(prefix) {
		return false
	}
	for i := 0; i < len(prefix); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != prefix[i] {
			return false
		}
	}
	return true
}
