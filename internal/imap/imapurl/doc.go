// Package imapurl parses IMAP URLs (RFC 5092) and the URLAUTH forms of
// them (RFC 4467 §6), and resolves relative IMAP URLs against a base
// (RFC 5092 §7.1, RFC 3986 §5.2), for CATENATE (RFC 4469), URLFETCH
// and GENURLAUTH (RFC 4467) and ;PARTIAL= (RFC 5550).
//
// The parser is pure: it does no I/O, looks nothing up and keeps no
// state, so it is fuzzed on its own (FuzzParse). What a URL names is
// resolved by internal/urlauth.
package imapurl
