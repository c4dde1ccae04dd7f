package sieve

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"strings"

	"barid/internal/mail/header"
	"barid/internal/mail/mime"
)

// replace and enclose (RFC 5703 §5-6). Both change the message the rest
// of the script sees (tests, MIME loops, the copies keep and fileinto
// store: Result.Message). A redirect sends the message as replace left
// it at that point, but never an enclosed one (RFC 5703 §6: enclose
// "does not affect messages that are forwarded via a redirect").

// message is the message the script works on: the one delivered, or
// the one replace/enclose made.
func (i *interp) message() Message {
	if i.cur != nil {
		return i.cur
	}
	return i.env.Msg
}

// currentRaw is the whole current message with the editheader changes.
func (i *interp) currentRaw(n *node) []byte {
	raw, err := i.message().Raw()
	if err != nil {
		i.fail(n, err, "reading the message: %v", err)
	}
	if i.hdr != nil && i.hdr.changed {
		return append(i.hdr.bytes(), raw[headerEnd(raw):]...)
	}
	return raw
}

// setMessage makes raw the current message: header edits are part of
// it, parsed structures and caches are dropped, and the MIME loops
// continue in the new structure (forEveryPart).
func (i *interp) setMessage(raw []byte, changed []int, enclosed bool) {
	i.cur = NewMessage(raw)
	i.hdr = nil
	i.msg = nil
	i.hdrVals = nil
	i.gen++
	i.replacedPaths = append(i.replacedPaths, changed)
	if enclosed {
		i.enclosed = true
	} else if !i.enclosed {
		i.redirectRaw = raw
	}
	if i.part != nil {
		i.part = i.refind(i.part)
	}
}

// crlfText makes every line end CRLF.
func crlfText(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	return strings.ReplaceAll(s, "\n", "\r\n")
}

// mimeStructureField: the header fields that describe the MIME structure
// replace takes away with the content (RFC 5703 §5).
func mimeStructureField(name string) bool {
	l := strings.ToLower(name)
	return strings.HasPrefix(l, "content-") || l == "mime-version"
}

// textEntity is the text/plain part replace makes without :mime.
func textEntity(text string) string {
	return "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n" + crlfText(text)
}

// replace: RFC 5703 §5.
func (i *interp) replace(n *node) {
	text := i.str(n.pos[0].strs[0])
	entity := textEntity(text)
	if hasTag(n, "mime") {
		// the replacement is a MIME entity, header and content
		// (RFC 2045 §2.4)
		entity = crlfText(text)
	}
	raw := i.currentRaw(n)
	if i.part != nil && len(i.part.path) > 0 {
		// Inside foreverypart: the current part alone, its header and
		// body (a multipart with all its children).
		p := i.part.p
		var b bytes.Buffer
		b.Write(raw[:p.Offset])
		b.WriteString(entity)
		b.Write(raw[min(p.BodyEnd(), int64(len(raw))):])
		i.setMessage(b.Bytes(), i.part.path, false)
		return
	}
	// The whole message: its header stays but for the MIME fields; the
	// entity's own fields and content follow.
	var b bytes.Buffer
	subject, hasSubject := i.tagStr(n, "subject")
	from, hasFrom := i.tagStr(n, "from")
	if hasFrom {
		if _, ok := parseMailboxList(from); !ok {
			// RFC 5703 §5: an unusable :from is ignored
			hasFrom = false
		}
	}
	for _, f := range header.Parse(raw[:headerEnd(raw)]) {
		switch {
		case mimeStructureField(f.Name):
			continue
		case hasSubject && strings.EqualFold(f.Name, "subject"):
			// RFC 5703 §5: the old Subject stays as Original-Subject
			b.WriteString("Original-Subject:")
			b.Write(f.Raw[len(f.Name)+1:])
			i.protected("original-subject")
			continue
		case hasFrom && strings.EqualFold(f.Name, "from"):
			b.WriteString("Original-From:")
			b.Write(f.Raw[len(f.Name)+1:])
			i.protected("original-from")
			continue
		}
		b.Write(f.Raw)
	}
	if hasSubject {
		b.WriteString("Subject: " + foldValue("Subject", subject) + "\r\n")
	}
	if hasFrom {
		b.WriteString("From: " + foldValue("From", from) + "\r\n")
	}
	b.WriteString("MIME-Version: 1.0\r\n")
	if !strings.Contains(entity, "\r\n\r\n") && !strings.HasPrefix(entity, "\r\n") {
		// a :mime text without a header: all of it is content
		entity = "\r\n" + entity
	}
	b.WriteString(entity)
	i.setMessage(b.Bytes(), []int{}, false)
}

// enclose: RFC 5703 §6: the message becomes the message/rfc822 part of
// a new multipart/mixed message whose first part is the text.
func (i *interp) enclose(n *node) {
	text := i.str(n.pos[0].strs[0])
	old := i.currentRaw(n)
	fields := header.Parse(old[:headerEnd(old)])
	subject, hasSubject := i.tagStr(n, "subject")
	var b bytes.Buffer
	copied := map[string]bool{}
	for _, h := range i.strs(n.tags["headers"]) {
		lh := strings.ToLower(h)
		if copied[lh] || mimeStructureField(h) || hasSubject && lh == "subject" {
			continue
		}
		for _, f := range fields {
			if strings.EqualFold(f.Name, h) {
				b.Write(f.Raw)
				copied[lh] = true
			}
		}
	}
	// RFC 5703 §6: Date and From, unless copied, are made for the user
	// running the script; the Subject is :subject or the enclosed one's.
	if !copied["date"] {
		b.WriteString("Date: " + i.now.Format("Mon, 02 Jan 2006 15:04:05 -0700") + "\r\n")
	}
	if !copied["from"] {
		owner := strings.Trim(i.env.Envelope.To, "<> ")
		if len(i.env.UserAddresses) > 0 {
			owner = strings.Trim(i.env.UserAddresses[0], "<> ")
		}
		if owner != "" {
			b.WriteString("From: <" + owner + ">\r\n")
		}
	}
	switch {
	case hasSubject:
		b.WriteString("Subject: " + foldValue("Subject", subject) + "\r\n")
	case !copied["subject"]:
		for _, f := range fields {
			if strings.EqualFold(f.Name, "subject") {
				b.Write(f.Raw)
				break
			}
		}
	}
	sum := sha256.Sum256(old)
	boundary := "barid-enclose-" + hex.EncodeToString(sum[:12])
	b.WriteString("MIME-Version: 1.0\r\n")
	b.WriteString("Content-Type: multipart/mixed; boundary=\"" + boundary + "\"\r\n\r\n")
	b.WriteString("--" + boundary + "\r\n")
	b.WriteString(textEntity(text))
	b.WriteString("\r\n--" + boundary + "\r\nContent-Type: message/rfc822\r\n\r\n")
	b.Write(old)
	if !bytes.HasSuffix(old, []byte("\r\n")) {
		b.WriteString("\r\n")
	}
	b.WriteString("--" + boundary + "--\r\n")
	i.setMessage(b.Bytes(), []int{}, true)
}

// protected marks a field replace added, which editheader may then not
// touch (RFC 5703 §5).
func (i *interp) protected(name string) {
	if i.protectedFields == nil {
		i.protectedFields = map[string]bool{}
	}
	i.protectedFields[name] = true
}

// parseMailboxList checks an RFC 5322 mailbox-list.
func parseMailboxList(s string) ([]header.Address, bool) {
	var out []header.Address
	for _, a := range header.ParseAddressList(s) {
		if a.GroupStart || a.GroupEnd {
			return nil, false
		}
		if a.Invalid || a.Mailbox == "" || a.Domain == "" {
			return nil, false
		}
		out = append(out, a)
	}
	return out, len(out) > 0
}

// Part paths for foreverypart: the child indexes from the top-level part.

func walkPaths(p *mime.Part, path []int, fn func(*mime.Part, []int)) {
	fn(p, path)
	for k, c := range p.Children {
		walkPaths(c, append(path[:len(path):len(path)], k), fn)
	}
}

func partAt(root *mime.Part, path []int) *mime.Part {
	p := root
	for _, k := range path {
		if k >= len(p.Children) {
			return nil
		}
		p = p.Children[k]
	}
	return p
}

func hasPrefix(path, prefix []int) bool {
	if len(prefix) > len(path) {
		return false
	}
	for k := range prefix {
		if path[k] != prefix[k] {
			return false
		}
	}
	return true
}

func samePath(a, b []int) bool { return len(a) == len(b) && hasPrefix(a, b) }

// refind gives the part at the same path in the current structure (the
// nearest existing ancestor if it is gone).
func (i *interp) refind(mp *mimePart) *mimePart {
	if mp == nil || mp.gen == i.gen {
		return mp
	}
	root := i.parsedNoFail()
	if root == nil {
		return mp
	}
	path := mp.path
	for {
		if p := partAt(root, path); p != nil {
			return &mimePart{p: p, path: path, gen: i.gen}
		}
		path = path[:len(path)-1]
	}
}

// skipped reports whether a path lies below a part replace or enclose
// changed: the loops do not go into the parts that content made.
func (i *interp) skipped(path []int) bool {
	for _, r := range i.replacedPaths {
		if len(path) > len(r) && hasPrefix(path, r) {
			return true
		}
	}
	return false
}
