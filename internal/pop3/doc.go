// Package pop3 is barid's POP3 server (RFC 1939) with the extensions
// clients use: CAPA and response codes (RFC 2449, RFC 3206), STLS
// (RFC 2595), AUTH with SASL (RFC 5034), UIDL and TOP.
//
// It is thin: it parses a command line (parse.go, pure and fuzzed), calls
// the services every protocol shares, and renders the answer. Passwords
// and SASL go through internal/auth (the same mechanisms, failure delays
// and connection limits as IMAP); messages come from the one
// store.Store / blob.Store; the changes POP3 makes go out on the
// notify.Bus, so IMAP sessions (IDLE included) see them at once.
//
// Maildrop semantics (maildrop.go), as Dovecot's pop3 does by default:
//
//   - The maildrop is INBOX, taken as a snapshot at login: messages that
//     arrive during the session are listed by the next one.
//   - One POP3 session per maildrop: a second login gets
//     "-ERR [IN-USE]" (RFC 2449 §8.1.2). IMAP sessions are not counted.
//   - Sizes (STAT, LIST, "+OK n octets") are RFC822.SIZE, the size with
//     every line end as CRLF, before dot-stuffing: a message stored with
//     bare LFs is sent (and counted) with CRLFs, as Dovecot does.
//   - UIDL is Dovecot's default pop3_uidl_format "%08Xu%08Xv": the UID
//     and then the UIDVALIDITY, each as 8 hex digits, in lower case as
//     Dovecot 2.3 actually writes them. It is stable across sessions and
//     flag changes, and changes only when the mailbox's UIDVALIDITY does.
//   - DELE marks; QUIT expunges the marked messages through the store in
//     one transaction and publishes the expunge (RFC 1939 §6 UPDATE
//     state). A session that ends without QUIT deletes nothing.
//   - RETR (not TOP) sets \Seen on a message that did not have it,
//     written when the session ends (QUIT or not), as Dovecot does;
//     RSET forgets both the deletions and the pending \Seen.
package pop3
