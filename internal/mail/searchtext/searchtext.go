// Package searchtext computes the text that SEARCH SUBJECT, FROM, TO, CC
// and BCC match (RFC 9051 §6.4.4), and the sent date SENTBEFORE, SENTON
// and SENTSINCE compare, once per message at delivery. The store keeps
// these fields and compares them with a folded needle as plain substrings,
// so everything here is already in i;unicode-casemap form (RFC 5051,
// internal/mail/casemap).
//
// The address fields are written the way Dovecot 2.3 searches them
// (lib-mail message_address_write, then RFC 2047 decoding): each address
// parsed, comments dropped, written as `name <local@domain>` or
// `<local@domain>`, a display name quoted when it is not an atom, groups
// as `group: <a@b>, <c@d>;`, and broken addresses with Dovecot's
// MISSING_MAILBOX / MISSING_DOMAIN placeholders. So SEARCH FROM
// "user@domain.org" finds `<user (comment)@ (comment) domain.org>`, a
// display name in a comment is found, and SEARCH FROM "<>" does not match
// a null sender (From: <>), exactly as in Dovecot.
package searchtext

import (
	"bytes"
	"strings"
	"time"

	"barid/internal/mail/casemap"
	"barid/internal/mail/header"
	"barid/internal/mail/mime"
)

// Fields are a message's stored search fields.
type Fields struct {
	Subject, From, To, Cc, Bcc string
	// SentDate is the parsed Date field; zero if absent or unparsable.
	SentDate time.Time
}

// FromEnvelope computes the fields from a parsed top-level header.
func FromEnvelope(e *mime.Envelope) Fields {
	if e == nil {
		return Fields{}
	}
	f := Fields{
		Subject: Subject(e.Subject),
		From:    Addresses(e.From),
		To:      Addresses(e.To),
		Cc:      Addresses(e.Cc),
		Bcc:     Addresses(e.Bcc),
	}
	if e.Has&mime.EnvDate != 0 {
		if t, ok := header.ParseDate(e.Date); ok {
			f.SentDate = t
		}
	}
	return f
}

// FromHeader computes the fields from a raw top-level header block (as
// stored), for re-deriving them in stores written by older versions.
func FromHeader(hdr []byte) Fields {
	root, err := mime.Parse(bytes.NewReader(hdr), mime.Limits{})
	if err != nil || root == nil {
		return Fields{}
	}
	return FromEnvelope(root.Env)
}

// Subject is the searchable form of a Subject field: unfolded,
// RFC 2047-decoded, folded.
func Subject(raw string) string {
	return casemap.Fold(header.DecodeWords(header.Unfold([]byte(raw))))
}

// Addresses is the searchable form of every occurrence of an address
// field (see the package comment), folded.
func Addresses(vs []string) string {
	if len(vs) == 0 {
		return ""
	}
	var b []byte
	for i, v := range vs {
		if i > 0 {
			b = append(b, ", "...)
		}
		b = appendList(b, header.ParseAddressList(string(header.Unfold([]byte(v)))))
	}
	return casemap.Fold(header.DecodeWords(string(b)))
}

// appendList writes an address list as Dovecot's message_address_write
// does.
func appendList(b []byte, list []header.Address) []byte {
	for i, a := range list {
		switch {
		case a.GroupEnd:
			b = append(b, ';')
			continue
		case i > 0 && !list[i-1].GroupStart:
			b = append(b, ", "...)
		}
		if a.GroupStart {
			b = appendPhrase(b, a.Mailbox, true)
			b = append(b, ':')
			if i+1 < len(list) && !list[i+1].GroupEnd {
				b = append(b, ' ')
			}
			continue
		}
		if a.Name != "" {
			b = appendPhrase(b, a.Name, true)
			b = append(b, ' ')
		}
		b = append(b, '<')
		if a.Route != "" {
			b = append(b, a.Route...)
			b = append(b, ':')
		}
		b = appendPhrase(b, a.Mailbox, false)
		if a.Domain != "" {
			b = append(b, '@')
			b = append(b, a.Domain...)
		}
		b = append(b, '>')
	}
	return b
}

// appendPhrase writes s as it is when it is an atom (RFC 5322 §3.2.3
// atext; octets above 0x7F count as atext, and so does "." in a local
// part), else as a quoted string.
func appendPhrase(b []byte, s string, quoteDot bool) []byte {
	plain := s != ""
	for i := 0; i < len(s) && plain; i++ {
		c := s[i]
		plain = isAtext(c) || (c == '.' && !quoteDot)
	}
	if plain {
		return append(b, s...)
	}
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' || s[i] == '\\' {
			b = append(b, '\\')
		}
		b = append(b, s[i])
	}
	return append(b, '"')
}

func isAtext(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c >= 0x80:
		return true
	}
	return strings.IndexByte("!#$%&'*+-/=?^_`{|}~", c) >= 0
}
