// Package header parses RFC 5322 header fields tolerantly: unfolding,
// RFC 2047 encoded-word decoding with legacy charsets (golang.org/x/text),
// address lists with groups (RFC 5322 §3.4), dates (RFC 5322 §3.3 plus the
// common broken forms) and the RFC 5256 §2.1 base subject used by SORT and
// THREAD.
//
// Parsing is modelled on Dovecot's lib-mail (message-address.c,
// message-date.c) so that ENVELOPE output matches Dovecot's. This package
// imports nothing from barid.
package header
