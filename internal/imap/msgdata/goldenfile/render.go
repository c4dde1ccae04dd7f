package goldenfile

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"barid/internal/imap"
	"barid/internal/imap/msgdata"
	"barid/internal/mail/mime"
)

// ParseItem parses a FETCH item name such as "BODY[1.2.HEADER.FIELDS
// (FROM)]<0.10>" into its kind ("BODY", "BINARY", "BINARY.SIZE") and
// section. Items without a section return ok=false.
func ParseItem(name string) (kind string, sec imap.Section, ok bool, err error) {
	i := strings.IndexByte(name, '[')
	if i < 0 {
		return name, sec, false, nil
	}
	kind = name[:i]
	j := strings.LastIndexByte(name, ']')
	if j < i {
		return "", sec, false, fmt.Errorf("bad item %q", name)
	}
	spec := name[i+1 : j]
	rest := name[j+1:]
	if rest != "" {
		if !strings.HasPrefix(rest, "<") || !strings.HasSuffix(rest, ">") {
			return "", sec, false, fmt.Errorf("bad partial in %q", name)
		}
		oc := strings.SplitN(rest[1:len(rest)-1], ".", 2)
		sec.Partial = true
		if sec.Offset, err = strconv.ParseInt(oc[0], 10, 64); err != nil {
			return "", sec, false, err
		}
		sec.Count = 1 << 62
		if len(oc) == 2 {
			if sec.Count, err = strconv.ParseInt(oc[1], 10, 64); err != nil {
				return "", sec, false, err
			}
		}
	}
	// part number
	for spec != "" && spec[0] >= '0' && spec[0] <= '9' {
		k := 0
		for k < len(spec) && spec[k] >= '0' && spec[k] <= '9' {
			k++
		}
		n, _ := strconv.Atoi(spec[:k])
		sec.Part = append(sec.Part, n)
		spec = strings.TrimPrefix(spec[k:], ".")
	}
	up := strings.ToUpper(spec)
	switch {
	case up == "":
		sec.Specifier = imap.SectionAll
	case up == "HEADER":
		sec.Specifier = imap.SectionHeader
	case up == "TEXT":
		sec.Specifier = imap.SectionText
	case up == "MIME":
		sec.Specifier = imap.SectionMIME
	case strings.HasPrefix(up, "HEADER.FIELDS.NOT "):
		sec.Specifier = imap.SectionHeaderFieldsNot
		sec.Fields = fieldList(spec[len("HEADER.FIELDS.NOT "):])
	case strings.HasPrefix(up, "HEADER.FIELDS "):
		sec.Specifier = imap.SectionHeaderFields
		sec.Fields = fieldList(spec[len("HEADER.FIELDS "):])
	default:
		return "", sec, false, fmt.Errorf("bad section %q", spec)
	}
	return kind, sec, true, nil
}

func fieldList(s string) []string {
	s = strings.TrimSpace(s)
	s = strings.TrimPrefix(s, "(")
	s = strings.TrimSuffix(s, ")")
	return strings.Fields(s)
}

// Message is a parsed message ready for rendering items.
type Message struct {
	Raw      []byte
	Analysis *msgdata.Analysis
	Root     *mime.Part
}

// Load analyzes raw with lim and round-trips the structure through
// Marshal/Unmarshal, as the server does.
func Load(raw []byte, lim mime.Limits) (*Message, error) {
	a, err := msgdata.Analyze(bytes.NewReader(raw), lim)
	if err != nil {
		return nil, err
	}
	root, err := mime.Unmarshal(a.Structure)
	if err != nil {
		return nil, err
	}
	return &Message{Raw: raw, Analysis: a, Root: root}, nil
}

// Render produces barid's value for one FETCH item.
func (m *Message) Render(name string) Item {
	it := Item{Name: name}
	kind, sec, hasSec, err := ParseItem(name)
	if err != nil {
		return Item{Name: name, Kind: "error", Value: []byte(err.Error())}
	}
	blob := bytes.NewReader(m.Raw)
	switch {
	case kind == "BODYSTRUCTURE" || kind == "BODY" && !hasSec:
		v, err := msgdata.BodyStructure(m.Analysis.Structure, kind == "BODYSTRUCTURE")
		if err != nil {
			return errItem(name, err)
		}
		it.Kind, it.Value = "raw", v
	case kind == "ENVELOPE":
		it.Kind, it.Value = "raw", m.Analysis.Envelope
	case kind == "RFC822.SIZE":
		it.Kind, it.Value = "raw", []byte(strconv.FormatInt(m.Analysis.Size, 10))
	case kind == "RFC822" || kind == "RFC822.HEADER" || kind == "RFC822.TEXT":
		s := imap.Section{}
		switch kind {
		case "RFC822.HEADER":
			s.Specifier = imap.SectionHeader
		case "RFC822.TEXT":
			s.Specifier = imap.SectionText
		}
		return m.section(name, s)
	case kind == "BODY":
		return m.section(name, sec)
	case kind == "BINARY.SIZE":
		n, err := msgdata.BinarySize(m.Root, blob, sec.Part)
		if err != nil {
			return errItem(name, err)
		}
		it.Kind, it.Value = "raw", []byte(strconv.FormatInt(n, 10))
	case kind == "BINARY":
		r, n, err := msgdata.Binary(m.Root, blob, sec.Part)
		if err != nil {
			return errItem(name, err)
		}
		r, _, err = msgdata.Partial(r, n, sec)
		if err != nil {
			return errItem(name, err)
		}
		v, err := io.ReadAll(r)
		if err != nil {
			return errItem(name, err)
		}
		it.Kind, it.Value = "str", v
	default:
		return Item{Name: name, Kind: "error", Value: []byte("unknown item")}
	}
	return it
}

func (m *Message) section(name string, sec imap.Section) Item {
	r, n, err := msgdata.Section(m.Root, m.Analysis.Header, bytes.NewReader(m.Raw), sec)
	if err != nil {
		return errItem(name, err)
	}
	r, _, err = msgdata.Partial(r, n, sec)
	if err != nil {
		return errItem(name, err)
	}
	v, err := io.ReadAll(r)
	if err != nil {
		return errItem(name, err)
	}
	return Item{Name: name, Kind: "str", Value: v}
}

func errItem(name string, err error) Item {
	switch {
	case errors.Is(err, msgdata.ErrUnknownCTE):
		return Item{Name: name, Kind: "no", Value: []byte("UNKNOWN-CTE")}
	case errors.Is(err, msgdata.ErrTruncatedEncoding):
		// Dovecot drops the connection here; what the server does
		// with this error is its choice.
		return Item{Name: name, Kind: "bye"}
	case errors.Is(err, msgdata.ErrBadEncoding):
		return Item{Name: name, Kind: "no", Value: []byte("PARSE")}
	case errors.Is(err, msgdata.ErrNoSuchPart):
		return Item{Name: name, Kind: "nil"}
	}
	return Item{Name: name, Kind: "error", Value: []byte(err.Error())}
}
