package msgdata

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strings"

	"barid/internal/imap"
	"barid/internal/mail/header"
	"barid/internal/mail/mime"
)

// Errors of the section and binary functions.
var (
	// ErrUnknownCTE: BINARY of a part whose Content-Transfer-Encoding is
	// not known (RFC 3516 §4.3: answer NO [UNKNOWN-CTE]).
	ErrUnknownCTE = errors.New("unknown Content-Transfer-Encoding")
	// ErrNoSuchPart: the part number does not exist in the message.
	// Section, Binary and BinarySize do not return it: like Dovecot they
	// answer an empty string (or 0) for a part that does not exist.
	ErrNoSuchPart = errors.New("no such message part")
)

// target is what a section resolves to: a byte range of the message, or
// a header to filter.
type target struct {
	part     *mime.Part // part whose header or body is addressed
	header   bool       // the part's header (else its body)
	whole    bool       // header and body (BODY[])
	empty    bool       // the section exists in syntax only: empty result
	filtered bool       // HEADER.FIELDS[.NOT]
}

// resolve maps a section onto the structure, following Dovecot's
// imap-msgpart: BODY[n] is part n's body; n.MIME its MIME header; n.HEADER,
// n.TEXT and n.HEADER.FIELDS need part n to be message/rfc822 and address
// the embedded message; a part number that does not exist yields an empty
// result.
func resolve(root *mime.Part, sec imap.Section) target {
	if len(sec.Part) == 0 {
		switch sec.Specifier {
		case imap.SectionAll:
			return target{part: root, whole: true}
		case imap.SectionHeader:
			return target{part: root, header: true}
		case imap.SectionHeaderFields, imap.SectionHeaderFieldsNot:
			return target{part: root, header: true, filtered: true}
		case imap.SectionText:
			return target{part: root}
		default:
			return target{empty: true}
		}
	}
	p, ok := root.Find(sec.Part)
	if !ok {
		return target{empty: true}
	}
	switch sec.Specifier {
	case imap.SectionAll:
		return target{part: p}
	case imap.SectionMIME:
		return target{part: p, header: true}
	}
	if p.Flags&mime.FlagMessage == 0 || len(p.Children) == 0 {
		return target{empty: true}
	}
	c := p.Children[0]
	switch sec.Specifier {
	case imap.SectionHeader:
		return target{part: c, header: true}
	case imap.SectionHeaderFields, imap.SectionHeaderFieldsNot:
		return target{part: c, header: true, filtered: true}
	default:
		return target{part: c}
	}
}

// NeedsBlob reports whether Section needs the message bytes for sec, or
// can answer from the stored top-level header. It assumes the stored
// header is complete; when Analysis.Header may have been capped at
// Limits.MaxHeaderBytes, use NeedsBlobHeader.
func NeedsBlob(root *mime.Part, sec imap.Section) bool {
	return needsBlob(root, sec, -1)
}

// NeedsBlobHeader is NeedsBlob for a stored header that may have been
// capped at Limits.MaxHeaderBytes.
func NeedsBlobHeader(root *mime.Part, sec imap.Section, topHeaderLen int) bool {
	return needsBlob(root, sec, topHeaderLen)
}

func needsBlob(root *mime.Part, sec imap.Section, hdrLen int) bool {
	t := resolve(root, sec)
	if t.empty {
		return false
	}
	if t.part == root && t.header && !t.whole {
		return hdrLen >= 0 && int64(hdrLen) < root.HeaderSize
	}
	return true
}

// Section returns the bytes of BODY[section], before any <partial> is
// applied (see Partial). topHeader is the stored top-level header; blob
// may be nil when NeedsBlob reported false. Like Dovecot, bare LF line
// ends are sent as CRLF and NUL bytes as 0x80 (IMAP literals may not
// carry NUL), so size is the CRLF ("virtual") size.
func Section(root *mime.Part, topHeader []byte, blob io.ReaderAt, sec imap.Section) (io.Reader, int64, error) {
	t := resolve(root, sec)
	if t.empty {
		return strings.NewReader(""), 0, nil
	}
	p := t.part
	if t.filtered {
		hdr, err := partHeader(p, root, topHeader, blob)
		if err != nil {
			return nil, 0, err
		}
		var out []byte
		if p == root && sec.Specifier == imap.SectionHeaderFields {
			out = HeaderFields(hdr, sec.Fields)
		} else {
			out = FilterHeader(hdr, sec.Fields, sec.Specifier == imap.SectionHeaderFieldsNot)
		}
		return bytes.NewReader(out), int64(len(out)), nil
	}
	var off, n, vn int64
	switch {
	case t.whole:
		off, n, vn = p.Offset, p.HeaderSize+p.BodySize, p.HeaderVSize+p.BodyVSize
	case t.header:
		off, n, vn = p.Offset, p.HeaderSize, p.HeaderVSize
		if p == root && int64(len(topHeader)) >= n {
			return convert(bytes.NewReader(topHeader[:n]), n, vn, p.Flags)
		}
	default:
		off, n, vn = p.BodyStart(), p.BodySize, p.BodyVSize
	}
	if blob == nil {
		return nil, 0, errors.New("msgdata: section needs the message bytes")
	}
	return convert(io.NewSectionReader(blob, off, n), n, vn, p.Flags)
}

// convert wraps r so that bare LFs become CRLF and NULs become 0x80 when
// the part has them.
func convert(r io.Reader, n, vn int64, f mime.Flags) (io.Reader, int64, error) {
	if vn != n || f&mime.FlagBareLF != 0 {
		r = &crlfReader{r: bufio.NewReader(r)}
	}
	if f&mime.FlagHasNULs != 0 {
		r = &nulReader{r: r}
	}
	return r, vn, nil
}

func partHeader(p, root *mime.Part, topHeader []byte, blob io.ReaderAt) ([]byte, error) {
	var hdr []byte
	if p == root && int64(len(topHeader)) >= p.HeaderSize {
		hdr = topHeader[:p.HeaderSize]
	} else {
		if blob == nil {
			return nil, errors.New("msgdata: section needs the message bytes")
		}
		hdr = make([]byte, p.HeaderSize)
		if _, err := blob.ReadAt(hdr, p.Offset); err != nil && !errors.Is(err, io.EOF) {
			return nil, err
		}
	}
	if endsWithBlankLine(hdr) || blob == nil {
		return hdr, nil
	}
	// A header cut short by a boundary (or by the end of an embedded
	// message): like Dovecot's header filter, read on to the next blank
	// line or the end of the message.
	return readToBlankLine(hdr, blob, p.Offset+p.HeaderSize)
}

// maxHeaderScan bounds readToBlankLine.
const maxHeaderScan = 1 << 20

func endsWithBlankLine(h []byte) bool {
	switch {
	case len(h) == 0:
		return false
	case bytes.Equal(h, []byte("\n")), bytes.Equal(h, []byte("\r\n")), bytes.Equal(h, []byte("\r\r\n")):
		return true
	}
	return bytes.HasSuffix(h, []byte("\n\n")) || bytes.HasSuffix(h, []byte("\n\r\n")) ||
		bytes.HasSuffix(h, []byte("\n\r\r\n"))
}

func isBlank(line []byte) bool {
	switch string(line) {
	case "\n", "\r\n", "\r\r\n":
		return true
	}
	return false
}

func readToBlankLine(hdr []byte, blob io.ReaderAt, off int64) ([]byte, error) {
	out := append([]byte(nil), hdr...)
	atLineStart := len(out) == 0 || out[len(out)-1] == '\n'
	br := bufio.NewReader(io.NewSectionReader(blob, off, maxHeaderScan))
	for {
		line, err := br.ReadSlice('\n')
		out = append(out, line...)
		if atLineStart && isBlank(line) {
			return out, nil
		}
		atLineStart = err == nil
		if err != nil && err != bufio.ErrBufferFull {
			if errors.Is(err, io.EOF) {
				return out, nil
			}
			return nil, err
		}
	}
}

// HeaderFields returns BODY[HEADER.FIELDS (names)] of the top-level
// header (RFC 9051 §6.4.5): the matching fields in message order, each
// ending in CRLF, then an empty line, whatever the header looked like
// (Dovecot builds this answer from its parsed-header cache).
//
// One exception, also Dovecot's: the header's final field, when the
// message ends inside it without a line end, is not given one.
func HeaderFields(hdr []byte, names []string) []byte {
	var out []byte
	end := 0
	header.ForEach(hdr, func(f header.Field) bool {
		end += len(f.Raw)
		for _, n := range names {
			if strings.EqualFold(n, f.Name) {
				out = appendCRLF(out, f.Raw)
				if n := len(out); out[n-1] != '\n' && end < len(hdr) {
					out = append(out, '\r', '\n')
				}
				break
			}
		}
		return true
	})
	return append(out, '\r', '\n')
}

// FilterHeader returns the fields of hdr whose names are (not=false) or
// are not (not=true) in names, in message order, as they are (line ends
// sent as CRLF), followed by the empty line that ended the header if it
// had one. This is HEADER.FIELDS.NOT, and HEADER.FIELDS of an embedded
// message, as Dovecot's header filter gives them.
func FilterHeader(hdr []byte, names []string, not bool) []byte {
	var out []byte
	end := 0
	header.ForEach(hdr, func(f header.Field) bool {
		end += len(f.Raw)
		in := false
		for _, n := range names {
			if strings.EqualFold(n, f.Name) {
				in = true
				break
			}
		}
		if in != not {
			out = appendCRLF(out, f.Raw)
		}
		return true
	})
	// the blank line that ended the header, if there was one
	if end < len(hdr) {
		out = append(out, '\r', '\n')
	}
	return out
}

// appendCRLF appends b with its line ends as Dovecot sends them: every LF
// preceded by exactly one CR; a CR directly before a CRLF is dropped
// (Dovecot stores LF line ends: "\r\r\n" is stored as "\r\n").
func appendCRLF(out, b []byte) []byte {
	crs := 0
	for _, c := range b {
		switch c {
		case '\r':
			crs++
			continue
		case '\n':
			n := crs - 1
			if n < 1 {
				n = 1
			}
			for ; n > 0; n-- {
				out = append(out, '\r')
			}
			out = append(out, '\n')
		default:
			for ; crs > 0; crs-- {
				out = append(out, '\r')
			}
			out = append(out, c)
		}
		crs = 0
	}
	for ; crs > 0; crs-- {
		out = append(out, '\r')
	}
	return out
}

// Partial applies a <offset.count> range (RFC 9051 §6.4.5) to a section
// of the given size.
func Partial(r io.Reader, size int64, sec imap.Section) (io.Reader, int64, error) {
	if !sec.Partial {
		return r, size, nil
	}
	if sec.Offset >= size {
		return strings.NewReader(""), 0, nil
	}
	if _, err := io.CopyN(io.Discard, r, sec.Offset); err != nil {
		return nil, 0, err
	}
	n := size - sec.Offset
	if sec.Count < n {
		n = sec.Count
	}
	return io.LimitReader(r, n), n, nil
}

// crlfReader streams appendCRLF's conversion.
type crlfReader struct {
	r   *bufio.Reader
	crs int    // CRs held back
	out []byte // converted bytes not yet returned
	err error
}

func (c *crlfReader) Read(p []byte) (int, error) {
	for len(c.out) == 0 {
		if c.err != nil {
			return 0, c.err
		}
		b, err := c.r.ReadByte()
		if err != nil {
			for ; c.crs > 0; c.crs-- {
				c.out = append(c.out, '\r')
			}
			c.err = err
			continue
		}
		switch b {
		case '\r':
			c.crs++
		case '\n':
			n := c.crs - 1
			if n < 1 {
				n = 1
			}
			for ; n > 0; n-- {
				c.out = append(c.out, '\r')
			}
			c.out = append(c.out, '\n')
			c.crs = 0
		default:
			for ; c.crs > 0; c.crs-- {
				c.out = append(c.out, '\r')
			}
			c.out = append(c.out, b)
		}
	}
	n := copy(p, c.out)
	c.out = c.out[n:]
	if len(c.out) == 0 {
		c.out = c.out[:0:0]
	}
	return n, nil
}

type nulReader struct{ r io.Reader }

func (z *nulReader) Read(p []byte) (int, error) {
	n, err := z.r.Read(p)
	for i := 0; i < n; i++ {
		if p[i] == 0 {
			p[i] = 0x80
		}
	}
	return n, err
}
