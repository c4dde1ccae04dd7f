// Package oracle compares barid with Dovecot: the same IMAP session is
// sent to both servers on loopback and their answers to each command
// are compared after normalising only what the RFCs leave to the server
// (the human-readable text after a status response, UIDVALIDITY values,
// the order of LIST responses). Where the servers differ on purpose, an
// allowance rewrites just the differing token of the one command it is
// attached to; where barid is wrong, an open-bug record expects exactly
// today's answers and fails once barid agrees with Dovecot.
// DIFFERENCES.md lists every rule with its reason and RFC.
//
// The comparison runs only where Dovecot is installed (Debian:
// dovecot-imapd); otherwise it skips with a message saying so. The
// tests that prove each rule can still fail need no Dovecot.
package oracle
