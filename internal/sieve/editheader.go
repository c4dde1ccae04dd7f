package sieve

import (
	"bytes"
	"strings"

	"barid/internal/mail/header"
)

// editheader (RFC 5293).

type field struct {
	name  string
	value string // unfolded
	raw   []byte // the field as it appears, with its line end
}

type headerEdit struct {
	fields  []field
	changed bool
}

func (i *interp) ensureHeader(n *node) *headerEdit {
	if i.hdr != nil {
		return i.hdr
	}
	raw, err := i.message().Raw()
	if err != nil {
		i.fail(n, err, "reading the message: %v", err)
	}
	h := &headerEdit{}
	for _, f := range header.Parse(raw[:headerEnd(raw)]) {
		h.fields = append(h.fields, field{name: f.Name, value: f.Value, raw: f.Raw})
	}
	i.hdr = h
	return h
}

func (h *headerEdit) get(name string) []string {
	var out []string
	for _, f := range h.fields {
		if strings.EqualFold(f.name, name) {
			out = append(out, f.value)
		}
	}
	return out
}

func (h *headerEdit) bytes() []byte {
	var b bytes.Buffer
	for _, f := range h.fields {
		b.Write(f.raw)
	}
	b.WriteString("\r\n")
	return b.Bytes()
}

// validFieldName: RFC 5322 §3.6.8 ftext.
func validFieldName(s string) bool {
	if s == "" {
		return false
	}
	for k := 0; k < len(s); k++ {
		if s[k] < 33 || s[k] > 126 || s[k] == ':' {
			return false
		}
	}
	return true
}

// protectedField: RFC 5293 §6: Received and Auto-Submitted are not to be
// touched by scripts (Pigeonhole refuses them likewise).
func protectedField(name string) bool {
	return strings.EqualFold(name, "received") || strings.EqualFold(name, "auto-submitted")
}

// foldValue folds a value for the header (RFC 5322 §2.2.3), encoding it
// with RFC 2047 when it is not ASCII (RFC 5293 §4).
func foldValue(name, v string) string {
	v = strings.NewReplacer("\r\n", " ", "\r", " ", "\n", " ").Replace(v)
	for k := 0; k < len(v); k++ {
		if v[k] >= 0x80 {
			v = mimeQ(v)
			break
		}
	}
	var b strings.Builder
	line := len(name) + 2
	for k, w := range strings.Split(v, " ") {
		if k > 0 {
			if line+1+len(w) > 76 {
				b.WriteString("\r\n ")
				line = 1
			} else {
				b.WriteByte(' ')
				line++
			}
		}
		b.WriteString(w)
		line += len(w)
	}
	return b.String()
}

func mimeQ(v string) string {
	var b strings.Builder
	b.WriteString("=?UTF-8?B?")
	const enc = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	src := []byte(v)
	for k := 0; k < len(src); k += 3 {
		var x [3]byte
		nb := copy(x[:], src[k:])
		n := uint(x[0])<<16 | uint(x[1])<<8 | uint(x[2])
		out := []byte{enc[n>>18&63], enc[n>>12&63], enc[n>>6&63], enc[n&63]}
		if nb < 3 {
			out[3] = '='
		}
		if nb < 2 {
			out[2] = '='
		}
		b.Write(out)
	}
	b.WriteString("?=")
	return b.String()
}

func (i *interp) editHeader(n *node) {
	name := i.str(n.pos[0].strs[0])
	if len(n.pos) == 1 && n.name == "addheader" {
		return
	}
	if !validFieldName(name) {
		i.fail(n, nil, "%s: invalid header field name '%s'", n.name, name)
	}
	if protectedField(name) || i.protectedFields[strings.ToLower(name)] {
		return
	}
	h := i.ensureHeader(n)
	if n.name == "addheader" {
		val := i.str(n.pos[1].strs[0])
		f := field{name: name, value: strings.TrimSpace(header.Unfold([]byte(val)))}
		f.raw = []byte(name + ": " + foldValue(name, val) + "\r\n")
		if hasTag(n, "last") {
			h.fields = append(h.fields, f)
		} else {
			h.fields = append([]field{f}, h.fields...)
		}
		i.headerChanged()
		return
	}
	// deleteheader: RFC 5293 §5
	var patterns []string
	if len(n.pos) == 2 {
		patterns = i.strs(n.pos[1])
	}
	var idxs []int
	for k, f := range h.fields {
		if strings.EqualFold(f.name, name) {
			idxs = append(idxs, k)
		}
	}
	if p := n.tags["index"]; p != nil {
		k := int(p.num)
		if hasTag(n, "last") {
			k = len(idxs) - k + 1
		}
		if k < 1 || k > len(idxs) {
			return
		}
		idxs = idxs[k-1 : k]
	}
	del := map[int]bool{}
	for _, k := range idxs {
		if patterns == nil || i.match(n, []string{header.DecodeWords(h.fields[k].value)}, patterns) {
			del[k] = true
		}
	}
	if len(del) == 0 {
		return
	}
	out := h.fields[:0:0]
	for k, f := range h.fields {
		if !del[k] {
			out = append(out, f)
		}
	}
	h.fields = out
	i.headerChanged()
}

// headerChanged marks the header edited; the MIME structure is parsed
// again when next needed (not inside foreverypart, whose loop holds the
// parts it walks).
func (i *interp) headerChanged() {
	i.hdr.changed = true
	if i.part == nil {
		i.msg = nil
	}
}
