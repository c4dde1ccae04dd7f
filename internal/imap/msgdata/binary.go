package msgdata

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"barid/internal/mail/header"
	"barid/internal/mail/mime"
)

// ErrBadEncoding: BINARY of a part whose base64 or quoted-printable body
// is invalid. Dovecot answers NO [PARSE] "Invalid data in MIME part".
var ErrBadEncoding = errors.New("invalid data in MIME part")

// ErrTruncatedEncoding (which also matches ErrBadEncoding with errors.Is)
// is returned when the first undecodable body is base64 that ends in the
// middle of a group. Dovecot 2.3 drops the connection in that case
// ("Base64 data ends prematurely"); a server may answer NO [PARSE]
// instead (barid's choice; see testdata/mime/DIFFERENCES.md).
var ErrTruncatedEncoding = fmt.Errorf("%w: base64 data ends prematurely", ErrBadEncoding)

// cteBinary is the field BINARY puts in a rewritten header.
const cteBinary = "Content-Transfer-Encoding: binary\r\n"

// Binary returns the content of BINARY[part] (RFC 3516 §4.2) and its
// length: the part's body decoded from its Content-Transfer-Encoding. For a
// multipart or message/rfc822 part, or for the whole message (empty part),
// the parts inside are decoded too and each decoded part's header says
// "Content-Transfer-Encoding: binary", as Dovecot does. A body sent as
// "binary" is sent as it is, its octets unchanged (RFC 3516 §4.2: the
// content "with no transfer encoding"; bare LFs stay bare, as Dovecot's
// APPEND of a literal8 gives them back). A part number that does not exist
// gives an empty result (as in Dovecot). It returns ErrUnknownCTE if a
// part involved has an encoding it does not know, and ErrBadEncoding if
// one has invalid base64 or quoted-printable.
//
// The length is always the number of bytes the reader yields: BinarySize
// reports the same number (Dovecot 2.3 computes BINARY.SIZE with separate
// arithmetic that can disagree with its own BINARY, even go negative;
// testdata/mime/DIFFERENCES.md).
func Binary(root *mime.Part, blob io.ReaderAt, part []int) (io.Reader, int64, error) {
	b, err := buildBinary(root, blob, part)
	if err != nil || b == nil {
		return strings.NewReader(""), 0, err
	}
	return io.MultiReader(b.readers...), b.size, nil
}

// buildBinary lays out BINARY[part]: the readers are lazy for bodies, so
// BinarySize reads only headers and boundary lines. A nil builder is an
// empty result.
func buildBinary(root *mime.Part, blob io.ReaderAt, part []int) (*binBuilder, error) {
	p := root
	if len(part) > 0 {
		var ok bool
		if p, ok = root.Find(part); !ok {
			return nil, nil
		}
	}
	if err := checkBinary(p); err != nil {
		return nil, err
	}
	if blob == nil {
		return nil, errors.New("msgdata: binary needs the message bytes")
	}
	b := &binBuilder{blob: blob}
	if len(part) > 0 {
		b.start = p.HeaderEnd()
	}
	if err := b.add(p, len(part) == 0); err != nil {
		return nil, err
	}
	if err := b.copyTo(p.BodyEnd()); err != nil {
		return nil, err
	}
	return b, nil
}

// checkBinary reports the first reason BINARY can not decode p's subtree.
func checkBinary(p *mime.Part) error {
	var bad error
	var walk func(*mime.Part) error
	walk = func(q *mime.Part) error {
		if q.Flags&mime.FlagUnknownCTE != 0 {
			return ErrUnknownCTE
		}
		if q.Flags&mime.FlagBadEncoding != 0 && bad == nil {
			bad = ErrBadEncoding
			if q.Flags&mime.FlagTruncatedEncoding != 0 {
				bad = ErrTruncatedEncoding
			}
		}
		for _, c := range q.Children {
			if err := walk(c); err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk(p); err != nil {
		return err
	}
	return bad
}

func converted(p *mime.Part) bool { return p.Flags&(mime.FlagBinBase64|mime.FlagBinQP) != 0 }

// hasConvertedBody reports whether BINARY decodes some body in p's
// subtree: a base64 or quoted-printable leaf that is not empty.
func hasConvertedBody(p *mime.Part) bool {
	if len(p.Children) == 0 {
		return converted(p) && p.BodySize > 0
	}
	for _, c := range p.Children {
		if hasConvertedBody(c) {
			return true
		}
	}
	return false
}

// binBuilder assembles the BINARY stream the way Dovecot's
// index-mail-binary does: unconverted stretches are copied with CRLF line
// ends, the headers of decoded parts are rewritten, leaf bodies decoded;
// size is always the length of what the readers yield.
type binBuilder struct {
	blob    io.ReaderAt
	readers []io.Reader
	size    int64
	start   int64 // first byte not yet copied
}

func (b *binBuilder) copyTo(end int64) error {
	if end <= b.start {
		return nil
	}
	buf := make([]byte, end-b.start)
	if _, err := b.blob.ReadAt(buf, b.start); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	out := toCRLF(buf)
	b.readers = append(b.readers, bytes.NewReader(out))
	b.size += int64(len(out))
	b.start = end
	return nil
}

func (b *binBuilder) add(p *mime.Part, includeHdr bool) error {
	hdrEnd := p.HeaderEnd()
	switch {
	case !includeHdr:
	case converted(p) && len(p.Children) == 0 && p.BodySize > 0:
		// Only a header whose body is decoded is rewritten: a
		// converted part with an empty body (or a multipart that
		// claims an encoding) keeps its header as sent.
		if err := b.copyTo(p.Offset); err != nil {
			return err
		}
		hdr := make([]byte, p.HeaderSize)
		if _, err := b.blob.ReadAt(hdr, p.Offset); err != nil && !errors.Is(err, io.EOF) {
			return err
		}
		out := convertHeader(hdr)
		b.readers = append(b.readers, bytes.NewReader(out))
		b.size += int64(len(out))
	default:
		if err := b.copyTo(hdrEnd); err != nil {
			return err
		}
	}
	b.start = hdrEnd
	end := p.BodyEnd()
	if len(p.Children) > 0 {
		for _, c := range p.Children {
			if err := b.add(c, true); err != nil {
				return err
			}
		}
		if err := b.copyTo(end); err != nil {
			return err
		}
		b.start = end
		return nil
	}
	if p.BodySize == 0 {
		b.start = end
		return nil
	}
	body := io.NewSectionReader(b.blob, p.BodyStart(), p.BodySize)
	if converted(p) {
		r, _ := mime.NewPartDecoder(body, p)
		b.readers = append(b.readers, r)
		b.size += p.DecodedSize
	} else if strings.EqualFold(p.Encoding, "binary") {
		// RFC 3516 §4.2: binary content goes out as its octets; its
		// line ends are not lines.
		b.readers = append(b.readers, body)
		b.size += p.BodySize
	} else {
		var r io.Reader = body
		if p.BodyVSize != p.BodySize || p.Flags&mime.FlagBareLF != 0 {
			r = &crlfReader{r: bufio.NewReader(body)}
		}
		b.readers = append(b.readers, r)
		b.size += p.BodyVSize
	}
	b.start = end
	return nil
}

// convertHeader drops the Content-Transfer-Encoding fields of a header and
// adds "Content-Transfer-Encoding: binary" before its blank line, with
// CRLF line ends.
func convertHeader(hdr []byte) []byte {
	var out []byte
	end := 0
	header.ForEach(hdr, func(f header.Field) bool {
		end += len(f.Raw)
		if !strings.EqualFold(f.Name, "Content-Transfer-Encoding") {
			out = appendCRLF(out, f.Raw)
		}
		return true
	})
	if end < len(hdr) {
		out = append(out, cteBinary...)
		out = append(out, '\r', '\n')
	}
	return out
}

func toCRLF(b []byte) []byte {
	if bytes.IndexByte(b, '\n') < 0 && bytes.IndexByte(b, '\r') < 0 {
		return b
	}
	return appendCRLF(make([]byte, 0, len(b)+16), b)
}

// BinarySize returns BINARY.SIZE[part] (RFC 3516 §4.2): the length of
// BINARY[part], computed from the stored structure and the message's
// headers and boundary lines (bodies are not read). It is 0 for a part
// that does not exist, and ErrUnknownCTE or ErrBadEncoding if any part of
// the message can not be decoded (Dovecot decodes the whole message to
// answer).
func BinarySize(root *mime.Part, blob io.ReaderAt, part []int) (int64, error) {
	if _, ok := root.Find(part); !ok && len(part) > 0 {
		return 0, nil
	}
	if err := checkBinary(root); err != nil {
		return 0, err
	}
	b, err := buildBinary(root, blob, part)
	if err != nil || b == nil {
		return 0, err
	}
	return b.size, nil
}

// BinaryLiteral8 reports whether BINARY[part] should be sent as a
// literal8 (RFC 3516 §4.2, "~{n}"): as in Dovecot, when a body in it was
// decoded or it contains NUL bytes.
func BinaryLiteral8(root *mime.Part, part []int) bool {
	p, ok := root.Find(part)
	if !ok {
		return false
	}
	return hasConvertedBody(p) || p.Flags&mime.FlagHasNULs != 0
}
