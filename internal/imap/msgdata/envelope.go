package msgdata

import (
	"barid/internal/mail/header"
	"barid/internal/mail/mime"
)

// Envelope renders an IMAP ENVELOPE (RFC 9051 §7.5.2) from the raw fields
// of a message header, including the parentheses. As Dovecot does: an
// absent field is NIL, Sender and Reply-To default to From, encoded-words
// are kept as sent, Subject and display names are written "for humans"
// (white space collapsed), and broken addresses get placeholder parts.
func Envelope(e *mime.Envelope) []byte {
	b := make([]byte, 0, 256)
	b = append(b, '(')
	b = appendEnvelopeBody(b, e)
	return append(b, ')')
}

func appendEnvelopeBody(b []byte, e *mime.Envelope) []byte {
	if e == nil {
		e = &mime.Envelope{}
	}
	b = appendNStr(b, e.Has&mime.EnvDate != 0, e.Date, appendNStringNoLF)
	b = append(b, ' ')
	if e.Has&mime.EnvSubject != 0 {
		b = appendStringForHumans(b, e.Subject)
	} else {
		b = append(b, "NIL"...)
	}
	from := addrs(e, mime.EnvFrom, e.From)
	b = append(b, ' ')
	b = appendAddresses(b, from)
	b = append(b, ' ')
	// RFC 3501 §7.4.2, RFC 9051 §7.5.2: Sender and Reply-To that are
	// absent, or present but empty, are the From member.
	b = appendAddresses(b, orFrom(addrs(e, mime.EnvSender, e.Sender), from))
	b = append(b, ' ')
	b = appendAddresses(b, orFrom(addrs(e, mime.EnvReplyTo, e.ReplyTo), from))
	b = append(b, ' ')
	b = appendAddresses(b, addrs(e, mime.EnvTo, e.To))
	b = append(b, ' ')
	b = appendAddresses(b, addrs(e, mime.EnvCc, e.Cc))
	b = append(b, ' ')
	b = appendAddresses(b, addrs(e, mime.EnvBcc, e.Bcc))
	b = append(b, ' ')
	b = appendNStr(b, e.Has&mime.EnvInReplyTo != 0, e.InReplyTo, appendNStringNoLF)
	b = append(b, ' ')
	b = appendNStr(b, e.Has&mime.EnvMessageID != 0, e.MessageID, appendNStringNoLF)
	return b
}

func orFrom(list, from []header.Address) []header.Address {
	if len(list) == 0 {
		return from
	}
	return list
}

// addrs parses every occurrence of an address field and concatenates the
// lists, as Dovecot does for repeated fields.
func addrs(e *mime.Envelope, bit mime.EnvFields, vs []string) []header.Address {
	if e.Has&bit == 0 {
		return nil
	}
	var out []header.Address
	for _, v := range vs {
		out = append(out, header.ParseAddressList(v)...)
	}
	return out
}

func appendNStr(b []byte, has bool, s string, f func([]byte, string) []byte) []byte {
	if !has {
		return append(b, "NIL"...)
	}
	return f(b, s)
}

func appendAddresses(b []byte, list []header.Address) []byte {
	if len(list) == 0 {
		return append(b, "NIL"...)
	}
	b = append(b, '(')
	for _, a := range list {
		switch {
		case a.GroupStart:
			b = append(b, "(NIL NIL "...)
			b = appendNString(b, a.Mailbox)
			b = append(b, " NIL)"...)
		case a.GroupEnd:
			b = append(b, "(NIL NIL NIL NIL)"...)
		default:
			b = append(b, '(')
			if a.Name != "" {
				b = appendStringForHumans(b, a.Name)
			} else {
				b = append(b, "NIL"...)
			}
			b = append(b, ' ')
			if a.Route != "" {
				b = appendNString(b, a.Route)
			} else {
				b = append(b, "NIL"...)
			}
			b = append(b, ' ')
			b = appendNString(b, a.Mailbox)
			b = append(b, ' ')
			b = appendNString(b, a.Domain)
			b = append(b, ')')
		}
	}
	return append(b, ')')
}
