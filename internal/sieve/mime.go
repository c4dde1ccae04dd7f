package sieve

import (
	"bytes"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"

	"barid/internal/mail/header"
	"barid/internal/mail/mime"
)

// body (RFC 5173), the mime extension and foreverypart (RFC 5703), and
// extracttext (RFC 5703 §7).

type parsedMsg struct {
	raw  []byte
	root *mime.Part
}

// mimePart is the current part of a foreverypart loop.
type mimePart struct {
	p    *mime.Part
	path []int // child indexes from the top-level part
	gen  int   // interp.gen when p was found
}

func (i *interp) parsed(n *node) *parsedMsg {
	m, err := i.parseCurrent()
	if err != nil {
		i.fail(n, err, "%v", err)
	}
	return m
}

// parseCurrent parses the current message (editheader changes, replace
// and enclose included) once, until it changes.
func (i *interp) parseCurrent() (*parsedMsg, error) {
	if i.msg != nil {
		return i.msg, nil
	}
	raw, err := i.message().Raw()
	if err != nil {
		return nil, fmt.Errorf("reading the message: %w", err)
	}
	if i.hdr != nil && i.hdr.changed {
		// MIME tests see the edited message (RFC 5293 §4), as in
		// Pigeonhole: deleting Content-Type makes it text/plain
		raw = append(i.hdr.bytes(), raw[headerEnd(raw):]...)
	}
	root, err := mime.Parse(bytes.NewReader(raw), mime.DefaultLimits())
	if err != nil {
		return nil, fmt.Errorf("parsing the message: %w", err)
	}
	i.msg = &parsedMsg{raw: raw, root: root}
	return i.msg, nil
}

func (i *interp) parsedNoFail() *mime.Part {
	m, err := i.parseCurrent()
	if err != nil {
		return nil
	}
	return m.root
}

func (m *parsedMsg) headerOf(p *mime.Part) []header.Field {
	end := min(p.HeaderEnd(), int64(len(m.raw)))
	return header.Parse(m.raw[p.Offset:end])
}

func (m *parsedMsg) bodyOf(p *mime.Part) []byte {
	s, e := min(p.BodyStart(), int64(len(m.raw))), min(p.BodyEnd(), int64(len(m.raw)))
	return m.raw[s:e]
}

// decodedText returns a leaf part's body decoded from its transfer
// encoding and converted to UTF-8 from its charset.
func (m *parsedMsg) decodedText(p *mime.Part) string {
	rd, ok := mime.NewPartDecoder(bytes.NewReader(m.bodyOf(p)), p)
	var b []byte
	if ok {
		b, _ = io.ReadAll(rd)
	} else {
		b = m.bodyOf(p)
	}
	cs, _ := mime.DecodeParam(p.Params, "charset")
	return header.ToUTF8(cs, b)
}

// walk visits p and every part below it, depth first, in message order.
func walk(p *mime.Part, fn func(*mime.Part)) {
	fn(p)
	for _, c := range p.Children {
		walk(c, fn)
	}
}

var htmlTag = regexp.MustCompile(`(?s)<[^>]*>`)

// body: RFC 5173 §5.
func (i *interp) body(n *node) bool {
	m := i.parsed(n)
	var vals []string
	switch {
	case hasTag(n, "raw"):
		// §5.1: the undecoded body; an empty one is no value at all
		// (Pigeonhole)
		if b := m.bodyOf(m.root); len(b) > 0 {
			vals = []string{string(b)}
		}
	case hasTag(n, "content"):
		types := i.strs(n.tags["content"])
		walk(m.root, func(p *mime.Part) {
			typ, sub := p.MediaType()
			if !contentMatches(types, typ, sub) {
				return
			}
			switch {
			case p.IsMultipart():
				// §5.2: a multipart is matched by its prologue and
				// epilogue, which we do not split: skip it
			case p.IsMessage():
				// §5.2: for message/rfc822 the header of the embedded
				// message
				if len(p.Children) > 0 {
					c := p.Children[0]
					vals = append(vals, string(m.raw[c.Offset:min(c.HeaderEnd(), int64(len(m.raw)))]))
				}
			default:
				vals = append(vals, m.decodedText(p))
			}
		})
	default:
		// :text (§5.3): the text parts, decoded; HTML without markup
		walk(m.root, func(p *mime.Part) {
			if p.IsMultipart() || p.IsMessage() {
				return
			}
			typ, sub := p.MediaType()
			if typ != "text" {
				return
			}
			t := m.decodedText(p)
			if sub == "html" {
				t = htmlTag.ReplaceAllString(t, " ")
			}
			vals = append(vals, t)
		})
	}
	return i.match(n, vals, i.strs(n.pos[0]))
}

func hasTag(n *node, t string) bool { _, ok := n.tags[t]; return ok }

// contentMatches: RFC 5173 §5.2: "" matches every type, "text" a main
// type, "text/plain" a full type.
func contentMatches(types []string, typ, sub string) bool {
	for _, t := range types {
		t = strings.ToLower(strings.TrimSpace(t))
		switch {
		case t == "":
			return true
		case !strings.Contains(t, "/"):
			if t == typ {
				return true
			}
		case t == typ+"/"+sub:
			return true
		}
	}
	return false
}

// mimeHeader gives the values of a header field of the current MIME part
// (RFC 5703 §4), or of it and its children with :anychild. :type,
// :subtype, :contenttype and :param pick pieces of Content-Type (and
// :param also of Content-Disposition).
func (i *interp) mimeHeader(n *node, name string) []string {
	m := i.parsed(n)
	cur := m.root
	if i.part != nil {
		cur = i.part.p
	}
	parts := []*mime.Part{cur}
	if hasTag(n, "anychild") {
		parts = nil
		walk(cur, func(p *mime.Part) { parts = append(parts, p) })
	}
	var out []string
	lname := strings.ToLower(name)
	for _, p := range parts {
		fields := m.headerOf(p)
		if !slices.ContainsFunc(fields, func(f header.Field) bool { return strings.EqualFold(f.Name, name) }) {
			// the pieces of a field that is not there are not there
			// either (no defaults), as in Pigeonhole
			continue
		}
		switch {
		case lname == "content-type" && hasTag(n, "type"):
			t, _ := p.MediaType()
			out = append(out, t)
			continue
		case lname == "content-type" && hasTag(n, "subtype"):
			_, s := p.MediaType()
			out = append(out, s)
			continue
		case lname == "content-type" && hasTag(n, "contenttype"):
			t, s := p.MediaType()
			out = append(out, t+"/"+s)
			continue
		case hasTag(n, "param") && (lname == "content-type" || lname == "content-disposition"):
			ps := p.Params
			if lname == "content-disposition" {
				ps = p.DispParams
			}
			for _, pn := range i.strs(n.tags["param"]) {
				// a missing parameter of a present field is "", as in
				// Pigeonhole
				v, _ := mime.DecodeParam(ps, strings.ToLower(pn))
				out = append(out, v)
			}
			continue
		}
		for _, f := range fields {
			if strings.EqualFold(f.Name, name) {
				out = append(out, f.Value)
			}
		}
	}
	return out
}

// forEveryPart: RFC 5703 §3; every part, depth first. When replace or
// enclose changes the structure inside the loop, the loop goes on in
// the new structure after the current part, and not into the parts the
// replacement made (RFC 5703 §5).
func (i *interp) forEveryPart(n *node) flow {
	var paths [][]int
	// Pigeonhole visits the top-level part too
	walkPaths(i.parsed(n).root, nil, func(_ *mime.Part, p []int) { paths = append(paths, p) })
	name, _ := i.tagStr(n, "name")
	prev := i.part
	if prev == nil {
		i.replacedPaths = nil // an outermost loop sees the structure as it is
	}
	defer func() { i.part = i.refind(prev) }()
	for k := 0; k < len(paths); k++ {
		path := paths[k]
		if i.skipped(path) {
			continue
		}
		p := partAt(i.parsed(n).root, path)
		if p == nil {
			continue
		}
		i.part = &mimePart{p: p, path: path, gen: i.gen}
		gen := i.gen
		f := i.run(n.block)
		if i.gen != gen {
			var np [][]int
			walkPaths(i.parsed(n).root, nil, func(_ *mime.Part, p []int) { np = append(np, p) })
			at := len(np)
			for j, q := range np {
				if samePath(q, path) {
					at = j
					break
				}
			}
			paths, k = np, at
		}
		switch f {
		case flowBreak:
			if i.breakName == "" || i.breakName == name {
				i.breakName = ""
				return flowNext
			}
			return flowBreak
		case flowNext:
		default:
			return f
		}
	}
	return flowNext
}

// extractText: RFC 5703 §7: the current part's text into a variable.
func (i *interp) extractText(n *node) {
	if i.part == nil {
		i.fail(n, nil, "extracttext outside foreverypart")
	}
	m := i.parsed(n)
	p := i.part.p
	var t string
	if !p.IsMultipart() && !p.IsMessage() {
		if typ, _ := p.MediaType(); typ == "text" {
			t = m.decodedText(p)
		}
	}
	if fp := n.tags["first"]; fp != nil {
		r := []rune(t)
		if int64(len(r)) > fp.num {
			t = string(r[:fp.num])
		}
	}
	i.setVar(n, n.pos[0].strs[0], applyModifiers(n, t))
}
