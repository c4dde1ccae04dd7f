package sieve

import (
	"bytes"

	"barid/internal/mail/header"
)

// rawMessage is a Message over the bytes of a whole message.
type rawMessage struct {
	raw []byte
	hdr []byte // the header block
}

// NewMessage returns a Message reading the given RFC 5322 message (for
// callers that hold the message in memory, and for tests). Header
// scans the header block for the name asked (a run asks for each name
// once, interp.hdrVals), so nothing is parsed up front.
func NewMessage(raw []byte) Message {
	return &rawMessage{raw: raw, hdr: raw[:headerEnd(raw)]}
}

// headerEnd is the offset just past the blank line that ends the header
// (or len(raw) when there is none).
func headerEnd(raw []byte) int {
	if bytes.HasPrefix(raw, []byte("\r\n")) {
		return 2
	}
	if bytes.HasPrefix(raw, []byte("\n")) {
		return 1
	}
	if k := bytes.Index(raw, []byte("\n\r\n")); k >= 0 {
		if j := bytes.Index(raw, []byte("\n\n")); j >= 0 && j < k {
			return j + 2
		}
		return k + 3
	}
	if j := bytes.Index(raw, []byte("\n\n")); j >= 0 {
		return j + 2
	}
	return len(raw)
}

func (m *rawMessage) Header(name string) []string { return header.Values(m.hdr, name) }

func (m *rawMessage) Size() int64          { return int64(len(m.raw)) }
func (m *rawMessage) Raw() ([]byte, error) { return m.raw, nil }
