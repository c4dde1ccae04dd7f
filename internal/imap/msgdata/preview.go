package msgdata

import (
	"bytes"
	"html"
	"io"
	"strings"
	"unicode"
	"unicode/utf8"

	"barid/internal/mail/header"
	"barid/internal/mail/mime"
)

// PreviewMaxChars is the longest preview (RFC 8970 §3.1: "no more than
// 256 characters").
const PreviewMaxChars = 256

// previewReadMax bounds how many bytes of the chosen part are decoded:
// enough for 256 characters of text after quoted lines, HTML markup and
// white space are dropped.
const previewReadMax = 64 << 10

// Preview computes the RFC 8970 preview of a message: the text of its
// first text/plain part (in MIME order, attachments skipped), or, if it
// has none, of its first text/html part reduced to text; decoded from
// its transfer encoding and charset, quoted lines ("> ...") dropped,
// white space collapsed, cut to PreviewMaxChars characters. "" when the
// message has no text. As Dovecot, a message/rfc822 part is not looked
// into.
func Preview(root *mime.Part, blob io.ReaderAt) (string, error) {
	p := findPreviewPart(root, "plain")
	isHTML := false
	if p == nil {
		p = findPreviewPart(root, "html")
		isHTML = p != nil
	}
	if p == nil {
		return "", nil
	}
	size := min(p.BodySize, previewReadMax)
	src := io.NewSectionReader(blob, p.BodyStart(), size)
	r, ok := mime.NewDecoder(src, p.Encoding)
	if !ok {
		r = src
	}
	var buf bytes.Buffer
	// Decoding never makes the text longer than its encoded size: with
	// room for that (and ReadFrom's minimum read), the buffer is
	// allocated once instead of doubling from 512 bytes.
	buf.Grow(int(size) + bytes.MinRead)
	// Undecodable content is used as far as it decoded.
	_, _ = buf.ReadFrom(io.LimitReader(r, previewReadMax))
	charset, _ := mime.DecodeParam(p.Params, "charset")
	text := header.ToUTF8(charset, buf.Bytes())
	if isHTML {
		return previewText(htmlToText(text), false), nil
	}
	return previewText(text, true), nil
}

// findPreviewPart returns the first leaf text/<sub> part that is not an
// attachment, depth first.
func findPreviewPart(p *mime.Part, sub string) *mime.Part {
	if p.IsMultipart() {
		for _, c := range p.Children {
			if f := findPreviewPart(c, sub); f != nil {
				return f
			}
		}
		return nil
	}
	if p.IsMessage() {
		return nil
	}
	t, s := p.MediaType()
	if t != "text" || s != sub || strings.EqualFold(p.Disposition, "attachment") {
		return nil
	}
	return p
}

// previewText drops quoted lines (if asked), collapses white space (and control
// characters) to single spaces and cuts at PreviewMaxChars characters.
func previewText(s string, dropQuoted bool) string {
	var b strings.Builder
	n := 0
	space := false
	for line := range strings.Lines(s) {
		if dropQuoted && strings.HasPrefix(strings.TrimLeft(line, " \t"), ">") {
			continue
		}
		for _, r := range line {
			if r == utf8.RuneError || unicode.IsSpace(r) || unicode.IsControl(r) {
				space = b.Len() > 0
				continue
			}
			if space {
				if n+1 >= PreviewMaxChars {
					return b.String()
				}
				b.WriteByte(' ')
				n++
				space = false
			}
			b.WriteRune(r)
			n++
			if n == PreviewMaxChars {
				return b.String()
			}
		}
	}
	return b.String()
}

// htmlToText reduces HTML to its text: tags removed (a block-level tag
// or <br> becomes a line break), <script>, <style> and <head> content and
// comments dropped, character references decoded.
func htmlToText(s string) string {
	var b strings.Builder
	for len(s) > 0 {
		i := strings.IndexByte(s, '<')
		if i < 0 {
			b.WriteString(html.UnescapeString(s))
			break
		}
		b.WriteString(html.UnescapeString(s[:i]))
		s = s[i:]
		if strings.HasPrefix(s, "<!--") {
			end := strings.Index(s, "-->")
			if end < 0 {
				break
			}
			s = s[end+3:]
			continue
		}
		end := strings.IndexByte(s, '>')
		if end < 0 {
			break
		}
		closing := end > 1 && s[1] == '/'
		tag := strings.ToLower(strings.TrimLeft(s[1:end], "/"))
		if j := strings.IndexAny(tag, " \t\r\n/"); j >= 0 {
			tag = tag[:j]
		}
		s = s[end+1:]
		switch tag {
		case "script", "style", "head", "title":
			if closing {
				continue
			}
			close := strings.Index(strings.ToLower(s), "</"+tag)
			if close < 0 {
				return b.String()
			}
			s = s[close:]
		case "br", "p", "div", "tr", "li", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "table":
			b.WriteByte('\n')
		default:
			b.WriteByte(' ')
		}
	}
	return b.String()
}
