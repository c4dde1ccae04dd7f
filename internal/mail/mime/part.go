package mime

// Limits bounds the work Parse does on one message. Past a limit the rest
// of the message is not split further: it becomes the body of the part
// being parsed, as Dovecot does (lib-mail message-parser).
type Limits struct {
	// MaxDepth is the deepest nesting of multipart and message/rfc822
	// parts that is parsed ("mime_depth"). Default 100, as in Dovecot
	// (MESSAGE_PARSER_DEFAULT_MAX_NESTED_MIME_PARTS); a lower value
	// makes BODYSTRUCTURE differ from Dovecot's for deeper messages.
	MaxDepth int
	// MaxParts is the most MIME parts one message may have
	// ("mime_parts"). Default 10000, as in Dovecot
	// (MESSAGE_PARSER_DEFAULT_MAX_TOTAL_MIME_PARTS).
	MaxParts int
	// MaxHeaderBytes is the most bytes of a header block that are
	// kept for analysis ("header_size"). Default 1 MiB. Offsets and
	// sizes are always exact; only the header fields looked at past this
	// point are ignored.
	MaxHeaderBytes int
	// MessageGlobal makes message/global (RFC 6532 §3.5) an embedded
	// message like message/rfc822, as IMAP4rev2 describes it
	// (RFC 9051 §7.5.2 body-type-msg). Off by default: Dovecot 2.3
	// treats message/global as an opaque part, and so does barid then.
	MessageGlobal bool
}

// Default limit values.
const (
	DefaultMaxDepth       = 100
	DefaultMaxParts       = 10000
	DefaultMaxHeaderBytes = 1 << 20
)

// DefaultLimits returns the default Limits.
func DefaultLimits() Limits {
	return Limits{MaxDepth: DefaultMaxDepth, MaxParts: DefaultMaxParts, MaxHeaderBytes: DefaultMaxHeaderBytes}
}

func (l Limits) withDefaults() Limits {
	if l.MaxDepth <= 0 {
		l.MaxDepth = DefaultMaxDepth
	}
	if l.MaxParts <= 0 {
		l.MaxParts = DefaultMaxParts
	}
	if l.MaxHeaderBytes <= 0 {
		l.MaxHeaderBytes = DefaultMaxHeaderBytes
	}
	return l
}

// Flags describe a Part.
type Flags uint16

const (
	// FlagMIME: the part's Content-* fields count (it is a MIME body
	// part, or the message has Mime-Version or Content-Type).
	FlagMIME Flags = 1 << iota
	// FlagMultipart: multipart/* with a boundary; Children are its
	// body parts.
	FlagMultipart
	// FlagMessage: message/rfc822 or message/global (RFC 6532 §3.5);
	// Children[0] is the embedded message.
	FlagMessage
	// FlagText: text/* (or the text/plain default).
	FlagText
	// FlagDigest: multipart/digest; children without Content-Type
	// default to message/rfc822 (RFC 2046 §5.1.5).
	FlagDigest
	// FlagHasNULs: the part contains NUL bytes.
	FlagHasNULs
	// FlagBareLF: a line end of this part (header or body) is not CRLF:
	// a bare LF, or CR CR LF. IMAP gets every line end as CRLF (and CR
	// CR LF as CRLF, as from Dovecot's LF storage), so its "virtual"
	// sizes differ from its byte sizes.
	FlagBareLF
	// FlagUnknownCTE: the (last) Content-Transfer-Encoding is not one
	// of 7bit, 8bit, binary, base64, quoted-printable (RFC 3516 §4.3
	// UNKNOWN-CTE).
	FlagUnknownCTE
	// FlagContentType: the part had a usable Content-Type field.
	FlagContentType
	// FlagLimit: a limit stopped the parsing of this part's structure.
	FlagLimit
	// FlagNoSubtype: the Content-Type had no "/subtype".
	FlagNoSubtype
	// FlagBinBase64, FlagBinQP: the part's last
	// Content-Transfer-Encoding field, which BINARY decodes by
	// (FlagUnknownCTE if it is neither these nor 7bit/8bit/binary).
	FlagBinBase64
	FlagBinQP
	// FlagBadEncoding: the body is not valid base64 or
	// quoted-printable; BINARY fails on it, as in Dovecot.
	FlagBadEncoding
	// FlagHeaderCut: a boundary line cut the header short (there was
	// no blank line). Dovecot's BINARY reads such a header on to the
	// next blank line.
	FlagHeaderCut
	// FlagTruncatedEncoding: the body is valid base64 or
	// quoted-printable up to its end, where it stops in the middle of a
	// 4-character group or an "=" escape (Dovecot drops the connection
	// on BINARY of it, rather than answering NO [PARSE]).
	FlagTruncatedEncoding
)

// ContentFields is a bit set of optional Content-* fields.
type ContentFields uint8

// ContentFields bits.
const (
	HasID ContentFields = 1 << iota
	HasDescription
	HasEncoding
	HasMD5
	HasLocation
	HasDisposition
)

// Param is one Content-Type or Content-Disposition parameter, after
// RFC 2231 continuations and charsets are decoded (value in UTF-8 when a
// charset was given).
type Param struct {
	Name  string
	Value string
}

// Envelope holds the raw values (continuation lines joined with "\n") of
// the header fields an IMAP ENVELOPE is built from (RFC 9051 §7.5.2). It
// is recorded for the top-level message and for every message embedded in
// a message/rfc822 part. As Dovecot does, the last occurrence of Date,
// Subject, In-Reply-To and Message-ID wins, while every occurrence of an
// address field is kept (their address lists are concatenated). Has says
// which fields were present.
type Envelope struct {
	Date, Subject, InReplyTo, MessageID string
	From, Sender, ReplyTo, To, Cc, Bcc  []string
	Has                                 EnvFields
}

// EnvFields is a bit set of Envelope fields.
type EnvFields uint16

// Envelope field bits, in ENVELOPE order.
const (
	EnvDate EnvFields = 1 << iota
	EnvSubject
	EnvFrom
	EnvSender
	EnvReplyTo
	EnvTo
	EnvCc
	EnvBcc
	EnvInReplyTo
	EnvMessageID
)

// Part is one node of a message's MIME tree. Offsets are byte offsets from
// the start of the message; sizes are in bytes. "Virtual" sizes count every
// line end as CRLF, which is what IMAP sends (RFC 9051 §2.3.4: RFC822.SIZE
// and body sizes are in CRLF form).
type Part struct {
	Flags Flags

	// Offset is where the part's header starts.
	Offset int64
	// LFOffset is Offset counted as if every CRLF were a bare LF: the
	// position Dovecot works with when it stores messages with LF line
	// ends. Dovecot's BINARY.SIZE arithmetic works with it; barid no
	// longer copies that arithmetic (msgdata.BinarySize), but the field
	// stays in the stored structure format.
	LFOffset int64
	// HeaderSize is the header's length including the blank line that
	// ends it (if there is one). The body starts at Offset+HeaderSize.
	HeaderSize  int64
	HeaderVSize int64
	HeaderLines int64
	// BodySize is the body's length. For a multipart it covers the
	// preamble, every child with its boundary lines, and the epilogue.
	BodySize  int64
	BodyVSize int64
	BodyLines int64
	// DecodedSize is the body's size after Content-Transfer-Encoding
	// decoding (RFC 3516 §4.2), with line ends as CRLF. Only
	// meaningful for leaf parts.
	DecodedSize int64
	// BinHeaderSize is the size of the header as BINARY rewrites it
	// for a base64 or quoted-printable part (see FlagBinBase64); 0
	// otherwise.
	BinHeaderSize int64

	// Type and Subtype are lower-cased; "" if there was no
	// Content-Type (the defaults then apply: text/plain, or
	// message/rfc822 inside multipart/digest).
	Type, Subtype string
	// RawType is "type/subtype" as sent, kept only when it differs
	// from the lower-cased form (Dovecot's BODYSTRUCTURE echoes it).
	RawType string
	Params  []Param

	// Has says which of the string fields below were present (a
	// present field may be empty).
	Has ContentFields

	ID          string // Content-ID, raw
	Description string // Content-Description, raw
	Encoding    string // Content-Transfer-Encoding token as sent; "" = 7bit
	MD5         string // Content-MD5, raw
	Disposition string // Content-Disposition type as sent
	DispParams  []Param
	Language    []string
	Location    string

	// Env is set on the top-level part and on each message embedded in a
	// message/rfc822 part (the child of a FlagMessage part).
	Env *Envelope
	// EnvelopeIMAP optionally carries a pre-rendered IMAP ENVELOPE for
	// Env (set by internal/imap/msgdata at delivery so BODYSTRUCTURE
	// does no address parsing). Opaque to this package.
	EnvelopeIMAP string

	Children []*Part
}

// HeaderEnd is the offset just past the header (where the body starts).
func (p *Part) HeaderEnd() int64 { return p.Offset + p.HeaderSize }

// BodyStart is the offset of the first body byte.
func (p *Part) BodyStart() int64 { return p.Offset + p.HeaderSize }

// BodyEnd is the offset just past the body.
func (p *Part) BodyEnd() int64 { return p.Offset + p.HeaderSize + p.BodySize }

// IsMultipart reports whether the part has MIME children.
func (p *Part) IsMultipart() bool { return p.Flags&FlagMultipart != 0 }

// IsMessage reports whether the part is message/rfc822 or message/global
// with an embedded message as its child.
func (p *Part) IsMessage() bool { return p.Flags&FlagMessage != 0 }

// MediaType returns the effective type and subtype, applying the
// defaults of RFC 2045 §5.2 and RFC 2046 §5.1.5.
func (p *Part) MediaType() (typ, sub string) {
	if p.Type != "" {
		return p.Type, p.Subtype
	}
	if p.Flags&FlagMessage != 0 {
		return "message", "rfc822"
	}
	return "text", "plain"
}

// Find returns the part with the given part number (RFC 9051 §6.4.5).
// An empty path is the whole message. Part 1 of a message that is not
// multipart is its body, that is the top-level part itself. Numbers
// continue inside a message/rfc822 part with the embedded message's own
// numbering: if part 2 is message/rfc822, 2.1 is the first part of the
// embedded message (or its body, if that is not multipart).
func (p *Part) Find(path []int) (*Part, bool) {
	part := p
	for i, n := range path {
		if n < 1 {
			return nil, false
		}
		if part.Flags&FlagMultipart != 0 {
			if n > len(part.Children) {
				return nil, false
			}
			part = part.Children[n-1]
		} else {
			// Only 1 is allowed below a non-multipart; and unless
			// it is a message, the path must end here.
			if n != 1 {
				return nil, false
			}
			if i+1 < len(path) && part.Flags&FlagMessage == 0 {
				return nil, false
			}
		}
		if i+1 < len(path) && part.Flags&FlagMessage != 0 {
			if len(part.Children) == 0 {
				return nil, false
			}
			part = part.Children[0]
		}
	}
	return part, true
}
