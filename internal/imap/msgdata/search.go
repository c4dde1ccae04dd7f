package msgdata

import (
	"bytes"
	"io"
	"strings"

	"golang.org/x/text/unicode/norm"

	"barid/internal/mail/header"
	"barid/internal/mail/mime"
)

// Fold returns s in the form used for i;unicode-casemap comparison
// (RFC 5051, RFC 9051 §6.4.4): NFC-normalized, then simple lower case.
// Both sides of a comparison must be folded.
func Fold(s string) string {
	return strings.ToLower(norm.NFC.String(s))
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
	return matchParts(root, root, blob, n, false)
}

// matchParts searches the decoded text parts under p; with headers set
// (SEARCH TEXT) it searches every part's MIME header too, as Dovecot
// does.
func matchParts(root, p *mime.Part, blob io.ReaderAt, n string, headers bool) (bool, error) {
	switch {
	case p.Flags&mime.FlagMultipart != 0:
		for _, c := range p.Children {
			if headers {
				hdr := make([]byte, c.HeaderSize)
				if _, err := blob.ReadAt(hdr, c.Offset); err != nil && err != io.EOF {
					return false, err
				}
				if strings.Contains(Fold(decodedHeaderText(hdr)), n) {
					return true, nil
				}
			}
			if ok, err := matchParts(root, c, blob, n, headers); ok || err != nil {
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
			if strings.Contains(Fold(decodedHeaderText(hdr)), n) {
				return true, nil
			}
			if ok, err := matchParts(root, c, blob, n, headers); ok || err != nil {
				return ok, err
			}
		}
		return false, nil
	}
	typ, _ := p.MediaType()
	if typ != "text" {
		return false, nil
	}
	size := p.BodySize
	if size > maxSearchPart {
		size = maxSearchPart
	}
	r, ok := mime.NewDecoder(io.NewSectionReader(blob, p.BodyStart(), size), p.Encoding)
	if !ok {
		r = io.NewSectionReader(blob, p.BodyStart(), size)
	}
	// Undecodable content (bad base64, broken quoted-printable) is
	// searched as far as it decoded, as Dovecot does.
	raw, _ := io.ReadAll(r)
	charset := ""
	for _, pr := range p.Params {
		if strings.EqualFold(pr.Name, "charset") {
			charset = pr.Value
		}
	}
	return strings.Contains(Fold(header.ToUTF8(charset, raw)), n), nil
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
	hdr := topHeader
	if int64(len(hdr)) < root.HeaderSize && blob != nil {
		hdr = make([]byte, root.HeaderSize)
		if _, err := blob.ReadAt(hdr, 0); err != nil && err != io.EOF {
			return false, err
		}
	}
	if strings.Contains(Fold(decodedHeaderText(hdr)), n) {
		return true, nil
	}
	if bytes.Contains(bytes.ToLower(hdr), []byte(n)) {
		return true, nil
	}
	return matchParts(root, root, blob, n, true)
}
