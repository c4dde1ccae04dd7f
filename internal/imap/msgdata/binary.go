package msgdata

import (
	"errors"
	"io"

	"barid/internal/mail/mime"
)

// Binary returns the content of a part decoded from its
// Content-Transfer-Encoding, for BINARY[part] (RFC 3516 §4.2). An empty
// part number means the whole message (its header and body, not
// decoded). It returns ErrUnknownCTE for an encoding it does not know and
// ErrNoSuchPart for a part number that does not exist.
func Binary(root *mime.Part, blob io.ReaderAt, part []int) (io.Reader, int64, error) {
	if blob == nil {
		return nil, 0, errors.New("msgdata: binary needs the message bytes")
	}
	if len(part) == 0 {
		n := root.HeaderSize + root.BodySize
		return io.NewSectionReader(blob, 0, n), n, nil
	}
	p, ok := root.Find(part)
	if !ok {
		return nil, 0, ErrNoSuchPart
	}
	if p.Flags&mime.FlagUnknownCTE != 0 {
		return nil, 0, ErrUnknownCTE
	}
	body := io.NewSectionReader(blob, p.BodyStart(), p.BodySize)
	if p.Flags&(mime.FlagMultipart|mime.FlagMessage) != 0 {
		return body, p.BodySize, nil
	}
	r, ok := mime.NewDecoder(body, p.Encoding)
	if !ok {
		return nil, 0, ErrUnknownCTE
	}
	return r, p.DecodedSize, nil
}

// BinarySize returns BINARY.SIZE[part] (RFC 3516 §4.2) from the stored
// structure, without reading the message.
func BinarySize(root *mime.Part, part []int) (int64, error) {
	if len(part) == 0 {
		return root.HeaderSize + root.BodySize, nil
	}
	p, ok := root.Find(part)
	if !ok {
		return 0, ErrNoSuchPart
	}
	if p.Flags&mime.FlagUnknownCTE != 0 {
		return 0, ErrUnknownCTE
	}
	if p.Flags&(mime.FlagMultipart|mime.FlagMessage) != 0 {
		return p.BodySize, nil
	}
	return p.DecodedSize, nil
}
