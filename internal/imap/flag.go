package imap

import "strings"

// System flags (RFC 9051 §2.3.2) in their canonical spelling.
const (
	FlagSeen      = `\Seen`
	FlagAnswered  = `\Answered`
	FlagFlagged   = `\Flagged`
	FlagDeleted   = `\Deleted`
	FlagDraft     = `\Draft`
	FlagRecent    = `\Recent`    // RFC 3501 §2.3.2; gone in IMAP4rev2
	FlagWildcard  = `\*`         // PERMANENTFLAGS: new keywords may be created (RFC 9051 §7.1)
	FlagImportant = `\Important` // RFC 8457 (also a special-use attribute)
)

// Well-known keywords (RFC 9051 §2.3.2, RFC 5788 registry).
const (
	KeywordForwarded = "$Forwarded"
	KeywordMDNSent   = "$MDNSent"
	KeywordJunk      = "$Junk"
	KeywordNotJunk   = "$NotJunk"
	KeywordPhishing  = "$Phishing"
)

var systemFlags = [...]string{FlagSeen, FlagAnswered, FlagFlagged, FlagDeleted, FlagDraft, FlagRecent, FlagWildcard}

// CanonicalFlag returns the canonical spelling of a system flag matched
// case-insensitively (`\SEEN` becomes `\Seen`); other flags are returned
// unchanged. Flags are case-insensitive (RFC 9051 §2.3.2).
func CanonicalFlag(f string) string {
	if !strings.HasPrefix(f, `\`) {
		return f
	}
	for _, s := range systemFlags {
		if strings.EqualFold(f, s) {
			return s
		}
	}
	return f
}

// IsAtomChar reports whether c is an ATOM-CHAR (RFC 9051 §9): any CHAR
// except atom-specials "(" ")" "{" SP CTL "%" "*" DQUOTE "\" "]".
func IsAtomChar(c byte) bool {
	if c <= 0x20 || c >= 0x7f {
		return false
	}
	switch c {
	case '(', ')', '{', '%', '*', '"', '\\', ']':
		return false
	}
	return true
}

// IsKeyword reports whether s is a valid flag-keyword (RFC 9051 §9:
// flag-keyword = "$MDNSent" / "$Forwarded" / ... / atom), i.e. a non-empty
// atom.
func IsKeyword(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !IsAtomChar(s[i]) {
			return false
		}
	}
	return true
}
