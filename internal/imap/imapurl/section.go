package imapurl

import (
	"strconv"
	"strings"

	"barid/internal/imap"
)

// maxParts bounds the depth of a part number ("1.2.3...") in a URL.
const maxParts = 100

// ParseSection parses the decoded value of ;SECTION= (RFC 5092 §11
// "enc-section": a section-spec of RFC 3501 §9 without the brackets),
// for example "1.2", "HEADER", "2.MIME" or "HEADER.FIELDS (From To)".
func ParseSection(s string) (imap.Section, error) {
	var sec imap.Section
	bad := &Error{URL: s, Msg: "bad section " + strconv.Quote(clip(s))}
	rest := s
	for rest != "" && isDigit(rest[0]) {
		j := 0
		for j < len(rest) && isDigit(rest[j]) {
			j++
		}
		if rest[0] == '0' || len(sec.Part) >= maxParts {
			return sec, bad
		}
		n, err := strconv.ParseUint(rest[:j], 10, 31)
		if err != nil {
			return sec, bad
		}
		sec.Part = append(sec.Part, int(n))
		rest = rest[j:]
		if rest == "" {
			return sec, nil
		}
		if rest[0] != '.' || len(rest) == 1 {
			return sec, bad
		}
		rest = rest[1:]
	}
	name, list, hasList := strings.Cut(rest, " ")
	spec, ok := imap.ParseSectionSpecifier(name, len(sec.Part) > 0)
	if !ok {
		return sec, bad
	}
	sec.Specifier = spec
	fields := sec.Specifier == imap.SectionHeaderFields || sec.Specifier == imap.SectionHeaderFieldsNot
	if fields != hasList {
		return sec, bad
	}
	if fields {
		if len(list) < 3 || list[0] != '(' || list[len(list)-1] != ')' {
			return sec, bad
		}
		for _, f := range strings.Fields(list[1 : len(list)-1]) {
			for i := 0; i < len(f); i++ {
				if f[i] <= ' ' || f[i] >= 0x7f || f[i] == ':' || strings.IndexByte(`(){%*"\]`, f[i]) >= 0 {
					return sec, bad
				}
			}
			sec.Fields = append(sec.Fields, f)
		}
		if len(sec.Fields) == 0 {
			return sec, bad
		}
	}
	return sec, nil
}
