// Package mime parses the MIME structure of a message (RFC 2045, RFC 2046,
// RFC 2231, RFC 6532) in one streaming pass, recording for every part the
// byte offsets and sizes of its header and body, line counts, the
// Content-* fields, the decoded body size (RFC 3516), and for each message
// (top level and message/rfc822) the raw fields of its IMAP ENVELOPE.
//
// The result serves every IMAP FETCH item that depends on structure
// (BODYSTRUCTURE, BODY[section], BINARY.SIZE) without reading the message
// again. Part.Marshal and Unmarshal store it compactly.
//
// Broken mail never makes Parse fail: the parser follows Dovecot's
// lib-mail message-parser rules (prefix-matching boundaries, the line end
// before a boundary belonging to the boundary, headers without a blank line,
// LF-only input) so that offsets match what Dovecot reports, and beyond
// Limits.MaxDepth / Limits.MaxParts the rest of a message is one part.
//
// This package imports nothing from barid.
package mime
