package mime

import (
	"bytes"
	"strings"
)

// headerState collects the header fields of one part as its lines stream
// by. Fields are unfolded the way Dovecot's header parser does it
// (SKIP_INITIAL_LWSP, DROP_CR): the value starts after the colon and any
// white space; continuation lines are appended after a "\n", keeping their
// leading white space.
type headerState struct {
	part     *Part
	envelope bool // record envelope fields
	global   bool // message/global is a message (Limits.MessageGlobal)
	budget   int  // header bytes still examined

	name    []byte
	value   []byte
	inField bool
	skip    bool // field too large / past the budget
	prevNL  int

	seenType bool
	boundary []byte

	// Content-Transfer-Encoding as BINARY sees it: the last such field
	// counts, whether or not the part is MIME (Dovecot's
	// index-mail-binary). cteVSize is the CRLF size of those fields'
	// lines, which the converted header leaves out.
	binKind    int
	cteVSize   int64
	fieldVSize int64
	folded     bool // the current field has continuation lines
	lastWasCTE bool // the last field seen is Content-Transfer-Encoding
}

func (h *headerState) reset(part *Part, envelope, global bool, budget int) {
	*h = headerState{part: part, envelope: envelope, global: global, budget: budget,
		name: h.name[:0], value: h.value[:0], binKind: encIdentity}
}

// line handles one header line (or a piece of a long one).
func (h *headerState) line(b []byte, atStart, complete bool) {
	h.budget -= len(b)
	vs := int64(len(b))
	if complete {
		vs += int64(2 - nlLen(b))
	}
	if !atStart || len(b) > 0 && (b[0] == ' ' || b[0] == '\t') && h.inField {
		h.fieldVSize += vs
	}
	if !atStart {
		// continuation of a long physical line
		if h.inField && !h.skip {
			h.value = append(h.value, trimNL(b)...)
		}
		return
	}
	if len(b) > 0 && (b[0] == ' ' || b[0] == '\t') && h.inField {
		h.folded = true
		if !h.skip {
			h.value = append(h.value, '\n')
			h.value = append(h.value, trimNL(b)...)
		}
		return
	}
	h.flush()
	h.fieldVSize = vs
	h.folded = false
	if h.budget < 0 {
		h.skip = true
		h.inField = true
		return
	}
	h.inField = true
	h.skip = false
	c := bytes.IndexByte(b, ':')
	if c < 0 {
		// no colon: the whole line is the name; it matters to no one.
		h.skip = true
		return
	}
	name := b[:c]
	for len(name) > 0 && (name[len(name)-1] == ' ' || name[len(name)-1] == '\t') {
		name = name[:len(name)-1]
	}
	h.name = append(h.name[:0], name...)
	v := b[c+1:]
	v = trimNL(v)
	i := 0
	for i < len(v) && (v[i] == ' ' || v[i] == '\t') {
		i++
	}
	if i == len(v) && len(v) > 0 {
		i = 1
	}
	h.value = append(h.value[:0], v[i:]...)
}

// trimNL removes a line end: LF, CRLF or CR CR LF (see nlLen).
func trimNL(b []byte) []byte {
	if n := len(b); n > 0 && b[n-1] == '\n' {
		return b[:n-nlLen(b)]
	}
	return b
}

// finish processes the last field.
func (h *headerState) finish() {
	h.flush()
}

func (h *headerState) flush() {
	h.lastWasCTE = false
	if !h.inField || h.skip {
		h.inField = false
		return
	}
	h.inField = false
	if strings.EqualFold(string(h.name), "content-transfer-encoding") {
		h.lastWasCTE = true
		first := h.value
		if i := bytes.IndexByte(first, '\n'); i >= 0 {
			first = first[:i]
		}
		h.binKind = encodingKind(string(first))
		if h.folded {
			// Dovecot's BINARY reads each line of the field on its
			// own; a continuation line has no value: unknown.
			h.binKind = encUnknown
		}
		h.cteVSize += h.fieldVSize
	}
	h.field(string(h.name), h.value)
}

func (h *headerState) field(name string, value []byte) {
	p := h.part
	if len(name) > 8 && strings.EqualFold(name[:8], "content-") {
		h.contentField(name[8:], value)
	} else if strings.EqualFold(name, "mime-version") {
		p.Flags |= FlagMIME
	}
	if !h.envelope {
		return
	}
	e := p.Env
	if e == nil {
		e = &Envelope{}
		p.Env = e
	}
	v := string(value)
	switch strings.ToLower(name) {
	case "date":
		e.Date, e.Has = v, e.Has|EnvDate
	case "subject":
		e.Subject, e.Has = v, e.Has|EnvSubject
	case "from":
		e.From, e.Has = append(e.From, v), e.Has|EnvFrom
	case "sender":
		e.Sender, e.Has = append(e.Sender, v), e.Has|EnvSender
	case "reply-to":
		e.ReplyTo, e.Has = append(e.ReplyTo, v), e.Has|EnvReplyTo
	case "to":
		e.To, e.Has = append(e.To, v), e.Has|EnvTo
	case "cc":
		e.Cc, e.Has = append(e.Cc, v), e.Has|EnvCc
	case "bcc":
		e.Bcc, e.Has = append(e.Bcc, v), e.Has|EnvBcc
	case "in-reply-to":
		e.InReplyTo, e.Has = v, e.Has|EnvInReplyTo
	case "message-id":
		e.MessageID, e.Has = v, e.Has|EnvMessageID
	}
}

// contentField records a Content-* field. As Dovecot does, the first
// occurrence of each wins (Content-Disposition: until one with parameters
// was seen).
func (h *headerState) contentField(name string, value []byte) {
	p := h.part
	switch strings.ToLower(name) {
	case "type":
		p.Flags |= FlagMIME
		if h.seenType {
			return
		}
		h.seenType = true
		p.Flags |= FlagContentType
		typ, rest, ok := parseContentType(value)
		raw := typ
		lt := strings.ToLower(typ)
		if i := strings.IndexByte(lt, '/'); i >= 0 {
			p.Type, p.Subtype = lt[:i], lt[i+1:]
		} else {
			p.Type, p.Subtype = lt, ""
			p.Flags |= FlagNoSubtype
		}
		if raw != lt {
			p.RawType = raw
		}
		switch {
		case lt == "message/rfc822", lt == "message/global" && h.global:
			p.Flags |= FlagMessage
		case lt == "text" || strings.HasPrefix(lt, "text/"):
			p.Flags |= FlagText
		case strings.HasPrefix(lt, "multipart/"):
			p.Flags |= FlagMultipart
			if lt == "multipart/digest" {
				p.Flags |= FlagDigest
			}
		}
		if !ok {
			return
		}
		p.Params = parseParams(rest)
		if p.Flags&FlagMultipart != 0 {
			for _, pr := range p.Params {
				if strings.EqualFold(pr.Name, "boundary") {
					b := pr.Value
					if len(b) > boundaryMax {
						b = b[:boundaryMax]
					}
					h.boundary = []byte(b)
					break
				}
			}
		}
	case "transfer-encoding":
		if p.Has&HasEncoding == 0 {
			if tok, ok := parseCTE(value); ok {
				p.Encoding = tok
				p.Has |= HasEncoding
			}
		}
	case "id":
		if p.Has&HasID == 0 {
			p.ID = string(value)
			p.Has |= HasID
		}
	case "md5":
		if p.Has&HasMD5 == 0 {
			p.MD5 = string(value)
			p.Has |= HasMD5
		}
	case "description":
		if p.Has&HasDescription == 0 {
			p.Description = string(value)
			p.Has |= HasDescription
		}
	case "disposition":
		if p.DispParams == nil {
			tok, rest, ok := parseToken(value)
			if !ok {
				return
			}
			p.Disposition = tok
			p.Has |= HasDisposition
			p.DispParams = parseParams(rest)
		}
	case "language":
		if p.Language == nil {
			p.Language = parseLanguage(value)
		}
	case "location":
		if p.Has&HasLocation == 0 {
			p.Location = string(value)
			p.Has |= HasLocation
		}
	}
}
