// Package imap holds the IMAP vocabulary shared by the wire codec and the
// server: sequence and UID sets (RFC 9051 §9 "sequence-set"), modified
// UTF-7 mailbox names (RFC 3501 §5.1.3), capability names, date-time
// formats, response codes (RFC 5530 and others), system flags, and the
// *Error type that the server sends to the client as it is.
//
// The package does no I/O and keeps no global mutable state.
package imap
