// Package lmtp is barid's LMTP server (RFC 2033), built on
// emersion/go-smtp's LMTP mode, and the client side of the private
// hand-off socket that "barid deliver" uses.
//
// An MTA (Postfix lmtp:unix: / lmtp:inet:, Exim's lmtp transport) opens a
// session, names the envelope sender and one or more recipients, and
// sends the message once. After the final "." the server answers once per
// accepted recipient (RFC 2033 §4.2), so one recipient over quota does
// not make the MTA resend to the others.
//
// Delivery goes through the one ingest path, internal/deliver: the
// message is streamed into one blob while its MIME structure is parsed in
// the same pass, the blob is made durable, and then each recipient's
// mailbox gets one metadata transaction (issued concurrently so the store
// can group-commit them). A recipient gets 250 only after its transaction
// committed. All recipients of a transaction share the one blob: the
// trace headers prepended to it are the same for all of them, exactly as
// Dovecot does (Return-Path always; Delivered-To and "for <rcpt>" in the
// Received header only when the transaction has a single recipient).
//
// Recipient matching (resolve.go): the full address is an account name,
// or, for a configured local domain, the local part is; matching is
// case-insensitive. "user+detail@" falls back to "user@" and, with
// detail_delivery, files into the mailbox "detail" when it exists.
//
// Replies (status.go): unknown recipient 550 5.1.1; over quota 552 5.2.2
// or 452 4.2.2 (lmtp.quota_tempfail); message over limits.literal_size
// 552 5.3.4; any other failure 451 4.3.0 so the MTA keeps the message and
// retries.
//
// The hand-off (handoff.go): the server always listens on
// <data_dir>/lmtp.sock (mode 0600). "barid deliver" connects there and
// speaks LMTP, naming the account and mailbox in a reserved recipient
// form that only that socket accepts; when nothing answers it delivers
// directly into the data folder through the same Deliverer.
package lmtp
