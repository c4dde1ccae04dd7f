package server

import (
	"strings"

	"barid/internal/imap"
	"barid/internal/mailbox"
)

// Mailbox names (RFC 9051 §5.1): "/" is the hierarchy separator, INBOX
// is case-insensitive, names travel as modified UTF-7 for rev1 clients
// (RFC 3501 §5.1.3) and as UTF-8 once IMAP4rev2 or UTF8=ACCEPT is on.
// Names are rows in the store, never file paths, so no name can reach
// outside the data folder; we still refuse "." and ".." components and
// control characters so that exports and tools never see them.

// readMailbox reads a mailbox argument and returns its canonical UTF-8
// name.
func (c *Conn) readMailbox() (string, error) {
	var raw string
	if !c.dec.ExpectAString(&raw) {
		return "", c.dec.Err()
	}
	return c.canonicalName(raw)
}

// canonicalName decodes a wire name and validates it.
func (c *Conn) canonicalName(raw string) (string, error) {
	name := raw
	if !c.utf8 && strings.Contains(raw, "&") {
		dec, err := imap.DecodeMUTF7(raw)
		if err != nil {
			return "", &imap.Error{Type: "NO", Code: imap.CodeCannot, Text: "Invalid modified UTF-7 in mailbox name"}
		}
		name = dec
	}
	return normalizeName(name)
}

// normalizeName maps INBOX's spellings to "INBOX" and checks the name
// (the rules live in internal/mailbox).
func normalizeName(name string) (string, error) { return mailbox.Normalize(name) }

// wireName encodes a canonical name for this client.
func (c *Conn) wireName(name string) string {
	if c.utf8 {
		return name
	}
	return imap.EncodeMUTF7(name)
}

// writeMailboxName writes a mailbox name as an astring (quoted or
// literal as needed).
func (c *Conn) writeMailboxName(name string) {
	w := c.wireName(name)
	if w == "INBOX" {
		c.enc.Atom("INBOX")
		return
	}
	c.enc.AString(w)
}
