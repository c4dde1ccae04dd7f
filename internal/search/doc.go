// Package search evaluates IMAP SEARCH criteria (RFC 9051 §6.4.4,
// RFC 3501 §6.4.4) against stored message records. The IMAP server parses
// the criteria into a Key tree; Plan tells it which store fields the tree
// needs, so a flag-only search never loads headers, structures or bytes;
// Match evaluates one message.
//
// Matching is case-insensitive (i;unicode-casemap, RFC 5051, approximated
// by Unicode lower-casing of NFC text) and runs on decoded text: header
// keys on RFC 2047-decoded fields, BODY and TEXT on bodies decoded from
// base64/quoted-printable and converted to UTF-8.
package search
