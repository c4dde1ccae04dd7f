// Package casemap implements the i;unicode-casemap collation of RFC 5051,
// the comparator IMAP uses for SEARCH and SORT (RFC 9051 §6.4.4,
// RFC 5256 §2.1).
//
// RFC 5051 §2 defines the equivalence: each character is mapped to its
// simple titlecase form (UnicodeData.txt field 14), and the result is put
// in Unicode Normalization Form KD. Two strings are equal under the
// collation when these canonical forms are equal, and one contains the
// other when its canonical form does.
//
// Fold returns that canonical form with one more step, a simple lower-case
// mapping of each character. Lower-casing a titlecase-mapped, NFKD string
// never merges two classes that RFC 5051 keeps apart in practice (every
// character it changes is an upper- or titlecase letter whose lower-case
// form has no other titlecase; the few whose lower case does, U+1E9E and
// the Georgian Mtavruli capitals, are left as they are), and it keeps
// ASCII text in the lower case that barid has always stored, so SQL
// comparisons and the ASCII fast paths stay byte comparisons.
package casemap

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Fold returns the i;unicode-casemap form of s (see the package comment).
// Invalid UTF-8 bytes become U+FFFD, as RFC 5051 §2 step 1 allows for
// strings that cannot be converted.
func Fold(s string) string {
	if isLowerASCII(s) {
		return s
	}
	if isASCII(s) {
		return strings.ToLower(s)
	}
	// A newline is an NFKD starter: nothing decomposes into it and no
	// combining mark is reordered across it, and the case mappings go
	// character by character, so lines fold on their own and the ASCII
	// ones (most of a header, most of a mostly-ASCII text) take the fast
	// path. (A third of SEARCH TEXT's time on mixed-script mail was
	// folding whole headers the slow way.)
	if i := strings.IndexByte(s, '\n'); i >= 0 && i < len(s)-1 {
		b := make([]byte, 0, len(s)+len(s)/4)
		for line := range strings.Lines(s) {
			switch {
			case isLowerASCII(line):
				b = append(b, line...)
			case isASCII(line):
				for j := 0; j < len(line); j++ {
					c := line[j]
					if 'A' <= c && c <= 'Z' {
						c += 'a' - 'A'
					}
					b = append(b, c)
				}
			default:
				b = append(b, foldRunes(line)...)
			}
		}
		return string(b)
	}
	return foldRunes(s)
}

// foldRunes is Fold's general path.
func foldRunes(s string) string {
	b := make([]byte, 0, len(s)+len(s)/4)
	for _, r := range s {
		// RFC 5051 §2 step 2: simple titlecase mapping.
		b = utf8.AppendRune(b, unicode.ToTitle(r))
	}
	// RFC 5051 §2 step 3: Normalization Form KD.
	d := norm.NFKD.Bytes(b)
	out := make([]byte, 0, len(d)+len(d)/8)
	for i := 0; i < len(d); {
		r, n := utf8.DecodeRune(d[i:])
		i += n
		// Decomposition can yield characters that have a titlecase
		// mapping of their own (U+037A gives U+0345, whose titlecase is
		// U+0399), so the mapping is applied again before lower-casing:
		// the form must be a fixed point, as Dovecot's is.
		out = utf8.AppendRune(out, lowerRep(unicode.ToTitle(r)))
	}
	if norm.NFKD.IsNormal(out) {
		return string(out)
	}
	return norm.NFKD.String(string(out))
}

// lowerRep returns the lower-case representative of the titlecase-mapped
// character t: its simple lower case, unless that belongs to another
// class under titlecase mapping. U+1E9E (capital sharp s) lower-cases to
// ß, whose titlecase is ß, not U+1E9E; the Georgian Mtavruli capitals
// lower-case to Mkhedruli letters that are their own titlecase. RFC 5051
// keeps those apart (Dovecot 2.3 answers SEARCH SUBJECT "STRAẞE" with no
// match for "Straße"), so they stay as they are.
func lowerRep(t rune) rune {
	if l := unicode.ToLower(t); l != t && unicode.ToTitle(l) == t {
		return l
	}
	return t
}

// Equal reports whether a and b are equal under i;unicode-casemap.
func Equal(a, b string) bool {
	if isASCII(a) && isASCII(b) {
		return strings.EqualFold(a, b)
	}
	return Fold(a) == Fold(b)
}

// Contains reports whether needle occurs in s under i;unicode-casemap
// (the substring match of RFC 4790 §4.2.3 that SEARCH uses).
func Contains(s, needle string) bool {
	return strings.Contains(Fold(s), Fold(needle))
}

// Compare orders a and b by their canonical forms (Key), octet by octet
// (RFC 5051 §2: the ordering is that of the canonical UTF-8 strings).
// The canonical form is titlecase, not Fold's lower case: the two order
// "[", "\\", "]", "^", "_" and "`" differently against letters, and SORT
// (RFC 5256 §2.1) must put "[xyz]" and "_" after "c", as Dovecot does.
func Compare(a, b string) int {
	return strings.Compare(Key(a), Key(b))
}

// Key returns the canonical form of s under RFC 5051 §2: each character's
// simple titlecase mapping, in Normalization Form KD. Ordering Keys byte
// by byte is the collation's ordering (SORT, RFC 5256 §2.1); Dovecot
// builds its sort keys the same way (titlecase, then decomposition).
func Key(s string) string {
	if isASCII(s) {
		if !hasLowerASCII(s) {
			return s
		}
		return strings.ToUpper(s)
	}
	var b strings.Builder
	b.Grow(len(s) + len(s)/4)
	for _, r := range s {
		// RFC 5051 §2 step 2: simple titlecase mapping.
		b.WriteRune(unicode.ToTitle(r))
	}
	// RFC 5051 §2 step 3: Normalization Form KD.
	d := norm.NFKD.String(b.String())
	b.Reset()
	for _, r := range d {
		// As in Fold: decomposition can yield characters with a
		// titlecase mapping of their own.
		b.WriteRune(unicode.ToTitle(r))
	}
	if out := b.String(); norm.NFKD.IsNormalString(out) {
		return out
	}
	return norm.NFKD.String(b.String())
}

func hasLowerASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if 'a' <= s[i] && s[i] <= 'z' {
			return true
		}
	}
	return false
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

func isLowerASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= utf8.RuneSelf || ('A' <= c && c <= 'Z') {
			return false
		}
	}
	return true
}
