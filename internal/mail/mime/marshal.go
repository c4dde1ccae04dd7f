package mime

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Serialized form (stored per message, decoded on every BODYSTRUCTURE):
//
//	version byte (2)
//	uvarint number of parts
//	part (pre-order):
//	  uvarint flags, has(byte)
//	  uvarint offset, offset-lfOffset, headerSize, headerVSize-headerSize, headerLines,
//	          bodySize, bodyVSize-bodySize, bodyLines, decodedSize,
//	          binHeaderSize
//	  string type, subtype, rawType
//	  uvarint nparams, then name/value strings
//	  for each Has bit set, in bit order: string (ID, Description,
//	          Encoding, MD5, Location)
//	  if HasDisposition: string disposition, uvarint n, params
//	  uvarint nlang+1 (0 = none), strings
//	  byte envelope presence: 0 none, 1 raw fields, 2 rendered
//	    raw: uvarint has bits, then the present fields' strings
//	    rendered: string, plus raw fields as above
//	  uvarint nchildren, children
//
// Strings are uvarint length + bytes. Unmarshal converts the input to one
// string and slices it, so decoding allocates only the Part nodes and
// slices.
//
// Format 3 is format 2 preceded by opaque annexes that Unmarshal skips:
//
//	version byte (3)
//	uvarint number of annexes, then each as a string
//	the format 2 encoding, version byte included
//
// The IMAP layer keeps the rendered BODYSTRUCTURE there, so that FETCH
// BODYSTRUCTURE need not decode the tree (MarshalAnnex, Annex).
const (
	marshalVersion = 2
	annexVersion   = 3
)

// MarshalAnnex encodes p like Marshal, preceded by annex byte strings
// (format 3) which Annex returns and Unmarshal skips.
func (p *Part) MarshalAnnex(annex ...[]byte) []byte {
	tree := p.Marshal()
	n := 1 + binary.MaxVarintLen64 + len(tree)
	for _, a := range annex {
		n += binary.MaxVarintLen64 + len(a)
	}
	b := make([]byte, 0, n)
	b = append(b, annexVersion)
	b = putU(b, uint64(len(annex)))
	for _, a := range annex {
		b = binary.AppendUvarint(b, uint64(len(a)))
		b = append(b, a...)
	}
	return append(b, tree...)
}

// Annex returns the i-th annex of a format 3 encoding (a slice of b, not
// a copy), or false if b has none.
func Annex(b []byte, i int) ([]byte, bool) {
	annexes, _, ok := splitAnnex(b)
	if !ok || i < 0 || i >= len(annexes) {
		return nil, false
	}
	return annexes[i], true
}

// splitAnnex separates a format 3 encoding into its annexes and the
// format 2 tree; a format 2 encoding is returned as the tree.
func splitAnnex(b []byte) (annexes [][]byte, tree []byte, ok bool) {
	if len(b) == 0 || b[0] != annexVersion {
		return nil, b, len(b) > 0 && b[0] == marshalVersion
	}
	rest := b[1:]
	n, k := binary.Uvarint(rest)
	if k <= 0 || n > uint64(len(rest)) {
		return nil, nil, false
	}
	rest = rest[k:]
	annexes = make([][]byte, 0, n)
	for range n {
		l, k := binary.Uvarint(rest)
		if k <= 0 || l > uint64(len(rest)-k) {
			return nil, nil, false
		}
		annexes = append(annexes, rest[k:k+int(l):k+int(l)])
		rest = rest[k+int(l):]
	}
	return annexes, rest, true
}

// Marshal encodes p and its subtree.
func (p *Part) Marshal() []byte {
	b := make([]byte, 0, 256)
	b = append(b, marshalVersion)
	b = putU(b, uint64(p.count()))
	return p.marshal(b)
}

func (p *Part) count() int {
	n := 1
	for _, c := range p.Children {
		n += c.count()
	}
	return n
}

func putU(b []byte, v uint64) []byte { return binary.AppendUvarint(b, v) }

func putS(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func putParams(b []byte, ps []Param) []byte {
	b = putU(b, uint64(len(ps)))
	for _, p := range ps {
		b = putS(b, p.Name)
		b = putS(b, p.Value)
	}
	return b
}

func (p *Part) marshal(b []byte) []byte {
	b = putU(b, uint64(p.Flags))
	b = append(b, byte(p.Has))
	b = putU(b, uint64(p.Offset))
	b = putU(b, uint64(p.Offset-p.LFOffset))
	b = putU(b, uint64(p.HeaderSize))
	b = putU(b, uint64(p.HeaderVSize-p.HeaderSize))
	b = putU(b, uint64(p.HeaderLines))
	b = putU(b, uint64(p.BodySize))
	b = putU(b, uint64(p.BodyVSize-p.BodySize))
	b = putU(b, uint64(p.BodyLines))
	b = putU(b, uint64(p.DecodedSize))
	b = putU(b, uint64(p.BinHeaderSize))
	b = putS(b, p.Type)
	b = putS(b, p.Subtype)
	b = putS(b, p.RawType)
	b = putParams(b, p.Params)
	if p.Has&HasID != 0 {
		b = putS(b, p.ID)
	}
	if p.Has&HasDescription != 0 {
		b = putS(b, p.Description)
	}
	if p.Has&HasEncoding != 0 {
		b = putS(b, p.Encoding)
	}
	if p.Has&HasMD5 != 0 {
		b = putS(b, p.MD5)
	}
	if p.Has&HasLocation != 0 {
		b = putS(b, p.Location)
	}
	if p.Has&HasDisposition != 0 {
		b = putS(b, p.Disposition)
		b = putParams(b, p.DispParams)
	}
	if p.Language == nil {
		b = putU(b, 0)
	} else {
		b = putU(b, uint64(len(p.Language))+1)
		for _, l := range p.Language {
			b = putS(b, l)
		}
	}
	switch {
	case p.Env == nil && p.EnvelopeIMAP == "":
		b = append(b, 0)
	case p.EnvelopeIMAP == "":
		b = append(b, 1)
		b = putEnv(b, p.Env)
	default:
		b = append(b, 2)
		b = putS(b, p.EnvelopeIMAP)
		b = putEnv(b, p.Env)
	}
	b = putU(b, uint64(len(p.Children)))
	for _, c := range p.Children {
		b = c.marshal(b)
	}
	return b
}

func putEnv(b []byte, e *Envelope) []byte {
	if e == nil {
		return putU(b, 0)
	}
	b = putU(b, uint64(e.Has))
	if e.Has&EnvDate != 0 {
		b = putS(b, e.Date)
	}
	if e.Has&EnvSubject != 0 {
		b = putS(b, e.Subject)
	}
	if e.Has&EnvInReplyTo != 0 {
		b = putS(b, e.InReplyTo)
	}
	if e.Has&EnvMessageID != 0 {
		b = putS(b, e.MessageID)
	}
	for i, l := range e.lists() {
		if e.Has&(EnvFrom<<i) != 0 {
			b = putU(b, uint64(len(*l)))
			for _, s := range *l {
				b = putS(b, s)
			}
		}
	}
	return b
}

func (e *Envelope) lists() [6]*[]string {
	return [6]*[]string{&e.From, &e.Sender, &e.ReplyTo, &e.To, &e.Cc, &e.Bcc}
}

// ErrCorrupt is returned by Unmarshal for bytes Marshal did not produce.
var ErrCorrupt = errors.New("mime: corrupt serialized structure")

type unmarshaler struct {
	s     string
	i     int
	err   bool
	slab  []Part
	depth int
}

// Unmarshal decodes what Marshal produced.
func Unmarshal(b []byte) (*Part, error) {
	if len(b) > 0 && b[0] == annexVersion {
		_, tree, ok := splitAnnex(b)
		if !ok {
			return nil, fmt.Errorf("%w: annex", ErrCorrupt)
		}
		b = tree
	}
	if len(b) < 1 || b[0] != marshalVersion {
		return nil, fmt.Errorf("%w: version", ErrCorrupt)
	}
	u := &unmarshaler{s: string(b[1:])}
	// one allocation for all parts (each part takes at least 10 bytes)
	if n := u.u(); !u.err && n > 0 && n <= uint64(len(u.s)) {
		u.slab = make([]Part, n)
	}
	p := u.part()
	if u.err || u.i != len(u.s) {
		return nil, ErrCorrupt
	}
	return p, nil
}

func (u *unmarshaler) u() uint64 {
	if u.err {
		return 0
	}
	var v uint64
	var shift uint
	for {
		if u.i >= len(u.s) || shift > 63 {
			u.err = true
			return 0
		}
		c := u.s[u.i]
		u.i++
		v |= uint64(c&0x7f) << shift
		if c < 0x80 {
			return v
		}
		shift += 7
	}
}

func (u *unmarshaler) i64() int64 { return int64(u.u()) }

func (u *unmarshaler) str() string {
	n := u.u()
	if u.err || n > uint64(len(u.s)-u.i) {
		u.err = true
		return ""
	}
	s := u.s[u.i : u.i+int(n)]
	u.i += int(n)
	return s
}

func (u *unmarshaler) byte1() byte {
	if u.err || u.i >= len(u.s) {
		u.err = true
		return 0
	}
	c := u.s[u.i]
	u.i++
	return c
}

func (u *unmarshaler) params() []Param {
	n := u.u()
	if n == 0 || u.err {
		return nil
	}
	if n > uint64(len(u.s)-u.i) {
		u.err = true
		return nil
	}
	ps := make([]Param, n)
	for i := range ps {
		ps[i].Name = u.str()
		ps[i].Value = u.str()
	}
	return ps
}

func (u *unmarshaler) newPart() *Part {
	if len(u.slab) == 0 {
		u.slab = make([]Part, 8)
	}
	p := &u.slab[0]
	u.slab = u.slab[1:]
	return p
}

func (u *unmarshaler) part() *Part {
	u.depth++
	if u.depth > 10000 {
		u.err = true
		return nil
	}
	defer func() { u.depth-- }()
	p := u.newPart()
	p.Flags = Flags(u.u())
	p.Has = ContentFields(u.byte1())
	p.Offset = u.i64()
	p.LFOffset = p.Offset - u.i64()
	p.HeaderSize = u.i64()
	p.HeaderVSize = p.HeaderSize + u.i64()
	p.HeaderLines = u.i64()
	p.BodySize = u.i64()
	p.BodyVSize = p.BodySize + u.i64()
	p.BodyLines = u.i64()
	p.DecodedSize = u.i64()
	p.BinHeaderSize = u.i64()
	p.Type = u.str()
	p.Subtype = u.str()
	p.RawType = u.str()
	p.Params = u.params()
	if p.Has&HasID != 0 {
		p.ID = u.str()
	}
	if p.Has&HasDescription != 0 {
		p.Description = u.str()
	}
	if p.Has&HasEncoding != 0 {
		p.Encoding = u.str()
	}
	if p.Has&HasMD5 != 0 {
		p.MD5 = u.str()
	}
	if p.Has&HasLocation != 0 {
		p.Location = u.str()
	}
	if p.Has&HasDisposition != 0 {
		p.Disposition = u.str()
		p.DispParams = u.params()
	}
	if n := u.u(); n > 0 {
		n--
		if n > uint64(len(u.s)-u.i) {
			u.err = true
			return p
		}
		p.Language = make([]string, n)
		for i := range p.Language {
			p.Language[i] = u.str()
		}
	}
	switch u.byte1() {
	case 0:
	case 1:
		p.Env = u.env()
	case 2:
		p.EnvelopeIMAP = u.str()
		p.Env = u.env()
	default:
		u.err = true
	}
	n := u.u()
	if u.err || n > uint64(len(u.s)-u.i) {
		u.err = true
		return p
	}
	if n > 0 {
		p.Children = make([]*Part, n)
		for i := range p.Children {
			p.Children[i] = u.part()
			if u.err {
				return p
			}
		}
	}
	return p
}

func (u *unmarshaler) env() *Envelope {
	has := EnvFields(u.u())
	if has == 0 {
		return &Envelope{}
	}
	e := &Envelope{Has: has}
	if has&EnvDate != 0 {
		e.Date = u.str()
	}
	if has&EnvSubject != 0 {
		e.Subject = u.str()
	}
	if has&EnvInReplyTo != 0 {
		e.InReplyTo = u.str()
	}
	if has&EnvMessageID != 0 {
		e.MessageID = u.str()
	}
	for i, l := range e.lists() {
		if has&(EnvFrom<<i) != 0 {
			n := u.u()
			if u.err || n > uint64(len(u.s)-u.i) {
				u.err = true
				return e
			}
			*l = make([]string, n)
			for j := range *l {
				(*l)[j] = u.str()
			}
		}
	}
	return e
}
