// Package msgdata renders the message-data items of IMAP FETCH from the
// metadata computed once at delivery: ENVELOPE and BODYSTRUCTURE/BODY
// (RFC 9051 §7.5.2), BODY[section] and its ranges (RFC 9051 §6.4.5),
// BINARY and BINARY.SIZE (RFC 3516), plus the text-matching primitives of
// SEARCH (RFC 9051 §6.4.4).
//
// Output follows Dovecot 2.3 byte for byte wherever Dovecot's choice is
// within the RFCs (quoting, NIL rules, defaults for broken mail, section
// semantics for message/rfc822 parts); the golden corpus in testdata/mime
// pins it and testdata/mime/DIFFERENCES.md lists what differs on purpose.
package msgdata
