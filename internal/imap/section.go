package imap

import "strings"

// SectionSpecifier is the text part of a section (RFC 9051 §6.4.5).
type SectionSpecifier uint8

const (
	SectionAll             SectionSpecifier = iota // BODY[] or BODY[1.2]: the whole part
	SectionHeader                                  // HEADER
	SectionHeaderFields                            // HEADER.FIELDS (...)
	SectionHeaderFieldsNot                         // HEADER.FIELDS.NOT (...)
	SectionText                                    // TEXT
	SectionMIME                                    // MIME (only with a part number)
)

// Section is a parsed BODY[...] / BINARY[...] section with its optional
// <partial> range. Part is the dotted part number, empty for the top level:
// BODY[1.2.HEADER] is Part{1,2}, Specifier SectionHeader.
type Section struct {
	Part      []int
	Specifier SectionSpecifier
	Fields    []string // header field names for HEADER.FIELDS[.NOT]

	// Partial is set when <offset.count> was given (RFC 9051 §6.4.5).
	Partial bool
	Offset  int64
	Count   int64
}

// ParseSectionSpecifier maps the text part of a section (RFC 9051
// §6.4.5: "", HEADER, HEADER.FIELDS, HEADER.FIELDS.NOT, TEXT, MIME; any
// case) to its SectionSpecifier. MIME names the header of a body part, so
// it needs a part number (hasPart). FETCH sections and IMAP URL
// ;SECTION= values (RFC 5092) share it.
func ParseSectionSpecifier(name string, hasPart bool) (SectionSpecifier, bool) {
	switch strings.ToUpper(name) {
	case "":
		return SectionAll, true
	case "HEADER":
		return SectionHeader, true
	case "HEADER.FIELDS":
		return SectionHeaderFields, true
	case "HEADER.FIELDS.NOT":
		return SectionHeaderFieldsNot, true
	case "TEXT":
		return SectionText, true
	case "MIME":
		return SectionMIME, hasPart
	}
	return 0, false
}
