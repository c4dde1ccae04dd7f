package imap

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
