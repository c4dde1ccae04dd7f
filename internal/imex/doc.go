// Package imex moves mail into and out of barid: Maildir++ trees with
// Dovecot's dovecot-uidlist and dovecot-keywords (maildir.go), mbox files
// in the mboxo and mboxrd quotings (mbox.go), and a running IMAP server
// (migrate.go). Export (export.go) writes the same formats back so that a
// re-import keeps UIDs.
//
// Every import goes through one engine (engine.go): messages are read in
// a bounded pipeline (a few workers analyse them with internal/deliver's
// Prepare while the previous batch commits), committed in batches of
// one transaction each, so memory stays flat whatever the source's size.
//
// Idempotence and resumption:
//   - when the source has UIDs and a UIDVALIDITY (a Dovecot uidlist, an
//     IMAP server) and the target mailbox is new, or has that same
//     UIDVALIDITY because an earlier run created it, messages keep their
//     UIDs (store.Store.AppendMessagesAt); batches commit in ascending
//     UID order, so every UID below the mailbox's UIDNEXT is done, and a
//     second run starts at UIDNEXT;
//   - otherwise a message is identified by its content (the SHA-256 of
//     its bytes, which is its blob ID): a source message is skipped while
//     the target holds an unclaimed message with the same bytes. The
//     count is kept per digest, so duplicates in the source stay
//     duplicates.
//
// An import runs either on a data folder no server is using, or inside
// the running server (its control socket's import op, internal/app),
// where Importer.Publish puts every commit on the server's change bus
// so that its sessions see the mail arrive (docs/operations.md, "Import
// and export").
package imex
