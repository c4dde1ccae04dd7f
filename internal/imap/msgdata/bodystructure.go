package msgdata

import (
	"strconv"
	"strings"

	"barid/internal/mail/mime"
)

// bodyStructureVersion tags the BODYSTRUCTURE that Analyze renders into
// the stored structure (mime annex 0). Any change to how BODYSTRUCTURE is
// rendered must increment it, so that messages stored before the change
// are rendered afresh rather than answered from the old text.
const bodyStructureVersion = 1

// BodyStructure renders BODYSTRUCTURE (extended=true) or BODY
// (extended=false) from a serialized structure (RFC 9051 §7.5.2), with
// its parentheses. It never reads message bytes: embedded messages'
// envelopes are in the structure. A BODYSTRUCTURE rendered at delivery
// by this version of the code is returned as stored (a slice of
// structure).
func BodyStructure(structure []byte, extended bool) ([]byte, error) {
	if extended {
		if a, ok := mime.Annex(structure, 0); ok && len(a) > 0 && a[0] == bodyStructureVersion {
			return a[1:], nil
		}
	}
	root, err := mime.Unmarshal(structure)
	if err != nil {
		return nil, err
	}
	return appendRoot(make([]byte, 0, len(structure)+64), root, extended), nil
}

// AppendBodyStructure appends the BODYSTRUCTURE or BODY of the message
// whose top-level part is root.
func appendRoot(b []byte, root *mime.Part, extended bool) []byte {
	if plain7bit(root) {
		// Dovecot does not keep the structure of a plain 7-bit
		// text/plain message; it writes the defaults.
		b = append(b, `("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" `...)
		b = strconv.AppendInt(b, root.BodyVSize, 10)
		b = append(b, ' ')
		b = strconv.AppendInt(b, root.BodyLines, 10)
		if extended {
			b = append(b, " NIL NIL NIL NIL"...)
		}
		return append(b, ')')
	}
	return AppendBodyStructure(b, root, extended)
}

// plain7bit mirrors Dovecot's message_part_data_is_plain_7bit: a single
// text/plain part with no parameter but charset=us-ascii, no
// Content-ID, -Description, -MD5, -Disposition, -Language, -Location,
// and 7bit encoding.
func plain7bit(p *mime.Part) bool {
	if p.Flags&mime.FlagText == 0 || len(p.Children) > 0 || p.Flags&mime.FlagMultipart != 0 {
		return false
	}
	if p.Flags&mime.FlagContentType != 0 {
		if _, sub, _ := rawType(p); !strings.EqualFold(sub, "plain") {
			return false
		}
	}
	if len(p.Params) > 1 || len(p.Params) == 1 && (!strings.EqualFold(p.Params[0].Name, "charset") ||
		!strings.EqualFold(p.Params[0].Value, "us-ascii")) {
		return false
	}
	if p.Has&(mime.HasID|mime.HasDescription|mime.HasMD5|mime.HasDisposition|mime.HasLocation) != 0 ||
		p.Language != nil {
		return false
	}
	return p.Has&mime.HasEncoding == 0 || strings.EqualFold(p.Encoding, "7bit")
}

// AppendBodyStructure appends the BODYSTRUCTURE or BODY of p to b.
func AppendBodyStructure(b []byte, p *mime.Part, extended bool) []byte {
	b = append(b, '(')
	if p.Flags&mime.FlagMultipart != 0 {
		b = appendMultipart(b, p, extended)
	} else {
		b = appendSinglePart(b, p, extended)
	}
	return append(b, ')')
}

// emptyPart is what Dovecot writes for a multipart without parts.
const emptyPart = `("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 0 0)`

func appendMultipart(b []byte, p *mime.Part, extended bool) []byte {
	if len(p.Children) == 0 {
		b = append(b, emptyPart...)
		if extended {
			b = append(b[:len(b)-1], " NIL NIL NIL NIL)"...)
		}
	}
	for _, c := range p.Children {
		b = AppendBodyStructure(b, c, extended)
	}
	b = append(b, ' ')
	if _, sub, ok := rawType(p); ok {
		b = appendNString(b, sub)
	} else {
		b = append(b, `"x-unknown"`...)
	}
	if !extended {
		return b
	}
	b = append(b, ' ')
	b = appendParams(b, p.Params, false)
	return appendCommonExt(b, p)
}

// rawType returns the type and subtype as sent, and whether there was a
// subtype at all.
func rawType(p *mime.Part) (typ, sub string, hasSub bool) {
	if p.RawType != "" {
		if i := strings.IndexByte(p.RawType, '/'); i >= 0 {
			return p.RawType[:i], p.RawType[i+1:], true
		}
		return p.RawType, "", false
	}
	return p.Type, p.Subtype, p.Flags&mime.FlagNoSubtype == 0
}

func appendSinglePart(b []byte, p *mime.Part, extended bool) []byte {
	var text bool
	switch {
	case p.Flags&mime.FlagMessage != 0 && p.Subtype == "global":
		b = append(b, `"message" "global"`...)
	case p.Flags&mime.FlagMessage != 0:
		b = append(b, `"message" "rfc822"`...)
	case p.Flags&mime.FlagLimit != 0:
		// a multipart or message/rfc822 not split because of a limit
		b = append(b, `"application" "octet-stream"`...)
	case p.Flags&mime.FlagContentType == 0:
		text = true
		b = append(b, `"text" "plain"`...)
	default:
		// Dovecot 2.3 writes a missing subtype as "".
		typ, sub, _ := rawType(p)
		text = strings.EqualFold(typ, "text")
		b = appendNString(b, typ)
		b = append(b, ' ')
		b = appendNString(b, sub)
	}
	b = append(b, ' ')
	b = appendParams(b, p.Params, text)
	b = append(b, ' ')
	b = appendOpt(b, p.Has&mime.HasID != 0, p.ID)
	b = append(b, ' ')
	b = appendOpt(b, p.Has&mime.HasDescription != 0, p.Description)
	b = append(b, ' ')
	if p.Has&mime.HasEncoding != 0 {
		b = appendNString(b, p.Encoding)
	} else {
		b = append(b, `"7bit"`...)
	}
	b = append(b, ' ')
	b = strconv.AppendInt(b, p.BodyVSize, 10)
	if text {
		b = append(b, ' ')
		b = strconv.AppendInt(b, p.BodyLines, 10)
	} else if p.Flags&mime.FlagMessage != 0 && len(p.Children) > 0 {
		c := p.Children[0]
		b = append(b, ' ')
		if c.EnvelopeIMAP != "" {
			b = append(b, c.EnvelopeIMAP...)
		} else {
			b = append(b, Envelope(c.Env)...)
		}
		b = append(b, ' ')
		b = AppendBodyStructure(b, c, extended)
		b = append(b, ' ')
		b = strconv.AppendInt(b, p.BodyLines, 10)
	}
	if !extended {
		return b
	}
	b = append(b, ' ')
	b = appendOpt(b, p.Has&mime.HasMD5 != 0, p.MD5)
	return appendCommonExt(b, p)
}

func appendOpt(b []byte, has bool, s string) []byte {
	if !has {
		return append(b, "NIL"...)
	}
	return appendNStringNoLF(b, s)
}

// appendParams writes a body-fld-param list. A text part without a charset
// gets charset=us-ascii (RFC 2045 §5.2), as Dovecot does.
func appendParams(b []byte, ps []mime.Param, text bool) []byte {
	if len(ps) == 0 {
		if !text {
			return append(b, "NIL"...)
		}
		return append(b, `("charset" "us-ascii")`...)
	}
	b = append(b, '(')
	charset := false
	for i, pr := range ps {
		if i > 0 {
			b = append(b, ' ')
		}
		if strings.EqualFold(pr.Name, "charset") {
			charset = true
		}
		b = appendNString(b, pr.Name)
		b = append(b, ' ')
		b = appendNString(b, pr.Value)
	}
	if text && !charset {
		b = append(b, ` "charset" "us-ascii"`...)
	}
	return append(b, ')')
}

// appendCommonExt writes body-fld-dsp, body-fld-lang and body-fld-loc.
func appendCommonExt(b []byte, p *mime.Part) []byte {
	b = append(b, ' ')
	if p.Has&mime.HasDisposition == 0 {
		b = append(b, "NIL"...)
	} else {
		b = append(b, '(')
		b = appendNString(b, p.Disposition)
		b = append(b, ' ')
		b = appendParams(b, p.DispParams, false)
		b = append(b, ')')
	}
	b = append(b, ' ')
	if len(p.Language) == 0 {
		b = append(b, "NIL"...)
	} else {
		b = append(b, '(')
		for i, l := range p.Language {
			if i > 0 {
				b = append(b, ' ')
			}
			b = appendNString(b, l)
		}
		b = append(b, ')')
	}
	b = append(b, ' ')
	return appendOpt(b, p.Has&mime.HasLocation != 0, p.Location)
}
