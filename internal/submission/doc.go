// Package submission is barid's message submission server (RFC 6409)
// on port 587 with STARTTLS and on port 465 with implicit TLS
// (RFC 8314 §3.3), with BURL (RFC 4468), the last piece of the LEMONADE
// profile: a client that built a message on the IMAP server (APPEND,
// CATENATE, GENURLAUTH) submits it by its URL instead of uploading it
// again.
//
// It is built on go-smtp's server (third_party/go-smtp, whose BARID.md
// says what barid added: the BURL command and session EHLO keywords).
// AUTH (RFC 4954) is required and uses internal/auth: the same SASL
// mechanisms, failure delays, throttling and connection limits as IMAP,
// and the same rule for cleartext (refused without TLS except from
// loopback or with allow_plaintext_auth).
//
// Every message is relayed synchronously to one smarthost (the relay,
// e.g. a local Postfix), as Dovecot's submission service does: MAIL and
// RCPT are passed on as they come, the message is streamed to the relay
// as it arrives, and the client gets 250 only after the relay's 250; a
// relay error is passed back with its code. barid keeps no queue, so
// nothing it accepted can be lost in it. EHLO announces 8BITMIME,
// SMTPUTF8, DSN and SIZE as the relay can carry them, and MAIL and RCPT
// refuse a parameter the relay cannot (relaycaps.go).
//
// BURL URLs are resolved in process by internal/urlauth (no IMAP
// connection): a URLAUTH URL with access "submit+USER" for the
// authenticated USER (RFC 4467 §3), or a plain IMAP URL of the user's
// own mailbox (the trust relationship of RFC 4468 §3.5, as Dovecot
// allows).
//
// The envelope sender and the From (and Sender) header must be
// addresses of the authenticated account (RFC 6409 §6.1, "550 5.7.1").
package submission
