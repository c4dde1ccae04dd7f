package msgdata

import (
	"bytes"
	"encoding/binary"
	"io"
	"strings"
	"sync"

	"barid/internal/mail/casemap"
	"barid/internal/mail/header"
	"barid/internal/mail/mime"
)

// Fold returns s in the form used for i;unicode-casemap comparison
// (RFC 5051, RFC 9051 §6.4.4; internal/mail/casemap). Both sides of a
// comparison must be folded; folding twice changes nothing.
func Fold(s string) string {
	return casemap.Fold(s)
}

// MatchHeaderField implements SEARCH HEADER field string (RFC 9051
// §6.4.4): true if the top-level header has a field named field whose
// decoded value contains needle, case-insensitively. An empty needle
// matches any message that has the field.
func MatchHeaderField(topHeader []byte, field, needle string) bool {
	n := Fold(needle)
	found := false
	header.ForEach(topHeader, func(f header.Field) bool {
		if !strings.EqualFold(f.Name, field) {
			return true
		}
		if n == "" || strings.Contains(Fold(header.DecodeWords(f.Value)), n) {
			found = true
			return false
		}
		return true
	})
	return found
}

// maxSearchPart caps how much of one body part is decoded for a search.
const maxSearchPart = 16 << 20

// MatchBody implements SEARCH BODY (RFC 9051 §6.4.4): true if a text
// part of the message, decoded from its transfer encoding and converted
// to UTF-8 from its charset, contains needle case-insensitively.
// Embedded messages are searched too (their headers as well).
func MatchBody(root *mime.Part, blob io.ReaderAt, needle string) (bool, error) {
	n := Fold(needle)
	if n == "" {
		return true, nil
	}
	nb := []byte(n)
	return walkParts(root, blob, false, func(seg []byte) bool { return bytes.Contains(seg, nb) })
}

// walkParts calls fn with every folded text segment under p that SEARCH
// BODY (headers false) or, apart from the top-level header, SEARCH TEXT
// (headers true) compares with the needle: the decoded text parts, the
// headers of embedded messages, and with headers set every part's MIME
// header and decoded attachment file name, as Dovecot does. fn returns
// true to stop the walk; walkParts then returns true. fn must not keep
// seg, whose buffer is reused.
//
// MatchBody and MatchText stop at the first segment that contains the
// needle; Text joins all of them for the full-text index, so what the
// index holds is exactly what the scan compares (internal/fts).
func walkParts(p *mime.Part, blob io.ReaderAt, headers bool, fn func(seg []byte) bool) (bool, error) {
	return walkSegs(p, blob, headers, func(seg []byte, _ bool) bool { return fn(seg) })
}

// walkSegs is walkParts that also tells fn whether a segment is one
// SEARCH BODY compares too (body true: decoded text parts and the
// headers of embedded messages) or only SEARCH TEXT (a part's MIME
// header or attachment file name, given only with headers set).
func walkSegs(p *mime.Part, blob io.ReaderAt, headers bool, fn func(seg []byte, body bool) bool) (bool, error) {
	switch {
	case p.Flags&mime.FlagMultipart != 0:
		for _, c := range p.Children {
			if headers {
				hdr := make([]byte, c.HeaderSize)
				if _, err := blob.ReadAt(hdr, c.Offset); err != nil && err != io.EOF {
					return false, err
				}
				if fn([]byte(Fold(decodedHeaderText(hdr))), false) {
					return true, nil
				}
				if name := FileName(c); name != "" && fn([]byte(Fold(name)), false) {
					return true, nil
				}
			}
			if ok, err := walkSegs(c, blob, headers, fn); ok || err != nil {
				return ok, err
			}
		}
		return false, nil
	case p.Flags&mime.FlagMessage != 0:
		for _, c := range p.Children {
			hdr := make([]byte, c.HeaderSize)
			if _, err := blob.ReadAt(hdr, c.Offset); err != nil && err != io.EOF {
				return false, err
			}
			if fn([]byte(Fold(decodedHeaderText(hdr))), true) {
				return true, nil
			}
			if ok, err := walkSegs(c, blob, headers, fn); ok || err != nil {
				return ok, err
			}
		}
		return false, nil
	}
	// Dovecot searches the body of every text/* and message/* part
	// (lib-mail message-search: content_type_text); a message/* part
	// here is one the parser keeps opaque, such as message/global
	// (RFC 6532 §3.5, mime.Limits.MessageGlobal off, as Dovecot 2.3)
	// or message/delivery-status, searched as its decoded bytes.
	typ, _ := p.MediaType()
	if typ != "text" && typ != "message" {
		return false, nil
	}
	size := p.BodySize
	if size > maxSearchPart {
		size = maxSearchPart
	}
	// A part with two Content-Transfer-Encoding fields is decoded by the
	// last, as BINARY decodes it and Dovecot searches it.
	enc := p.Encoding
	switch {
	case p.Flags&mime.FlagBinBase64 != 0:
		enc = "base64"
	case p.Flags&mime.FlagBinQP != 0:
		enc = "quoted-printable"
	}
	r, ok := mime.NewDecoder(io.NewSectionReader(blob, p.BodyStart(), size), enc)
	if !ok {
		r = io.NewSectionReader(blob, p.BodyStart(), size)
	}
	// Undecodable content (bad base64, broken quoted-printable) is
	// searched as far as it decoded, as Dovecot does.
	buf := partBufs.Get().(*bytes.Buffer)
	defer func() {
		if buf.Cap() <= 1<<20 {
			buf.Reset()
			partBufs.Put(buf)
		}
	}()
	buf.Reset()
	_, _ = buf.ReadFrom(r)
	raw := buf.Bytes()
	charset := ""
	for _, pr := range p.Params {
		if strings.EqualFold(pr.Name, "charset") {
			charset = pr.Value
		}
	}
	if asciiCharset(charset) && isASCII(raw) {
		// Fast path, exact for ASCII text in an ASCII-compatible
		// charset: NFKD and the case mapping are ASCII lower case
		// there.
		lowerASCII(raw)
		return fn(raw, true), nil
	}
	return fn([]byte(Fold(header.ToUTF8(charset, raw))), true), nil
}

// FileName returns the decoded file name of an attachment: the
// Content-Disposition filename parameter, else the Content-Type name
// parameter (RFC 2183 §2.3, RFC 2231 §4 extended values, RFC 2047
// encoded-words as many mailers send them); "" if there is none.
func FileName(p *mime.Part) string {
	name, ok := mime.DecodeParam(p.DispParams, "filename")
	if !ok || name == "" {
		name, _ = mime.DecodeParam(p.Params, "name")
	}
	if name == "" {
		return ""
	}
	return header.DecodeWords(name)
}

// partBufs recycles the buffers text parts are decoded into.
var partBufs = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// asciiCharset reports whether charset maps the bytes 0x00-0x7F to the
// same ASCII characters (and needs no escape sequences), so pure ASCII
// text in it is already UTF-8. UTF-7, UTF-16 and ISO-2022-* are not.
func asciiCharset(charset string) bool {
	c := strings.ToLower(strings.TrimSpace(charset))
	switch {
	case c == "", c == "us-ascii", c == "ascii", c == "utf-8", c == "utf8":
		return true
	case strings.HasPrefix(c, "iso-8859-"), strings.HasPrefix(c, "windows-125"),
		strings.HasPrefix(c, "cp125"), c == "koi8-r", c == "koi8-u":
		return true
	}
	return false
}

// isASCII reports whether b has no byte above 0x7F, eight bytes a step.
func isASCII(b []byte) bool {
	i := 0
	for ; i+8 <= len(b); i += 8 {
		if binary.LittleEndian.Uint64(b[i:])&0x8080808080808080 != 0 {
			return false
		}
	}
	for ; i < len(b); i++ {
		if b[i] >= 0x80 {
			return false
		}
	}
	return true
}

// lowerASCII lower-cases the ASCII letters of b in place.
func lowerASCII(b []byte) {
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
}

// decodedHeaderText returns the header's fields as "Name: value" lines
// with encoded-words decoded.
func decodedHeaderText(hdr []byte) string {
	var b strings.Builder
	header.ForEach(hdr, func(f header.Field) bool {
		b.WriteString(f.Name)
		b.WriteString(": ")
		b.WriteString(header.DecodeWords(f.Value))
		b.WriteByte('\n')
		return true
	})
	return b.String()
}

// MatchText implements SEARCH TEXT (RFC 9051 §6.4.4): the header or the
// body contains needle.
func MatchText(root *mime.Part, topHeader []byte, blob io.ReaderAt, needle string) (bool, error) {
	n := Fold(needle)
	if n == "" {
		return true, nil
	}
	hdr, err := wholeHeader(root, topHeader, blob)
	if err != nil {
		return false, err
	}
	if strings.Contains(Fold(decodedHeaderText(hdr)), n) {
		return true, nil
	}
	nb := []byte(n)
	if bytes.Contains(bytes.ToLower(hdr), nb) {
		return true, nil
	}
	if name := FileName(root); name != "" && strings.Contains(Fold(name), n) {
		return true, nil
	}
	return walkParts(root, blob, true, func(seg []byte) bool { return bytes.Contains(seg, nb) })
}

// Text returns everything SEARCH TEXT compares with a needle, folded
// (i;unicode-casemap, RFC 5051) and joined by newlines: a message
// matches TEXT n (and BODY n) only if n, folded, occurs in Text. The
// full-text index (internal/fts) is built from it; since SEARCH matches
// within one segment and Text joins them, Text may also contain the
// needle where the message does not match (across a join), never the
// other way round, so an index over Text narrows candidates without
// losing any. A needle without a newline cannot span a join, so for it
// the converse holds too: TEXT n matches exactly when n occurs in Text.
func Text(root *mime.Part, topHeader []byte, blob io.ReaderAt) (string, error) {
	head, body, err := TextSplit(root, topHeader, blob)
	return head + body, err
}

// TextSplit is Text cut in two: body holds the segments SEARCH BODY
// compares (each followed by a newline), head the others that SEARCH
// TEXT adds (the top-level header decoded and raw, the file names, the
// parts' MIME headers). head+body has the segments of Text, so a needle
// without a newline is in body exactly when BODY matches, and in
// head+body exactly when TEXT matches (docs/search.md).
func TextSplit(root *mime.Part, topHeader []byte, blob io.ReaderAt) (head, body string, err error) {
	hdr, err := wholeHeader(root, topHeader, blob)
	if err != nil {
		return "", "", err
	}
	var h, b strings.Builder
	h.WriteString(Fold(decodedHeaderText(hdr)))
	h.WriteByte('\n')
	h.Write(bytes.ToLower(hdr))
	h.WriteByte('\n')
	if name := FileName(root); name != "" {
		h.WriteString(Fold(name))
		h.WriteByte('\n')
	}
	_, err = walkSegs(root, blob, true, func(seg []byte, isBody bool) bool {
		w := &h
		if isBody {
			w = &b
		}
		w.Write(seg)
		w.WriteByte('\n')
		return false
	})
	return h.String(), b.String(), err
}

// BodySegments calls fn with every folded segment SEARCH BODY compares
// (see walkParts), for matchers other than substring (FUZZY, RFC 6203).
// fn must not keep seg.
func BodySegments(root *mime.Part, blob io.ReaderAt, fn func(seg []byte)) error {
	_, err := walkParts(root, blob, false, func(seg []byte) bool { fn(seg); return false })
	return err
}

// TextSegments is BodySegments for SEARCH TEXT: the top-level header
// (decoded), the attachment file name and every segment of walkParts
// with headers.
func TextSegments(root *mime.Part, topHeader []byte, blob io.ReaderAt, fn func(seg []byte)) error {
	hdr, err := wholeHeader(root, topHeader, blob)
	if err != nil {
		return err
	}
	fn([]byte(Fold(decodedHeaderText(hdr))))
	if name := FileName(root); name != "" {
		fn([]byte(Fold(name)))
	}
	_, err = walkParts(root, blob, true, func(seg []byte) bool { fn(seg); return false })
	return err
}

// HeaderFieldValues calls fn with the decoded, folded value of every
// field of the top-level header named field (SEARCH HEADER).
func HeaderFieldValues(topHeader []byte, field string, fn func(folded string)) {
	for _, v := range header.Values(topHeader, field) {
		fn(Fold(header.DecodeWords(v)))
	}
}

// wholeHeader returns the message's top-level header: topHeader, the
// stored copy, unless it is shorter than the header is (a store may
// keep a bounded copy), in which case it is read from the bytes.
func wholeHeader(root *mime.Part, topHeader []byte, blob io.ReaderAt) ([]byte, error) {
	if int64(len(topHeader)) >= root.HeaderSize || blob == nil {
		return topHeader, nil
	}
	hdr := make([]byte, root.HeaderSize)
	if _, err := blob.ReadAt(hdr, 0); err != nil && err != io.EOF {
		return nil, err
	}
	return hdr, nil
}
