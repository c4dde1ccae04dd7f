// Package admin holds the operator's actions behind the admin CLI
// ("barid mailbox", "search", "expunge", "fetch", "who", "kick") and the
// control socket that lets the CLI reach a running server.
//
// Mailbox actions call the same store functions the IMAP handlers call
// (CREATE with its superiors, DELETE, RENAME with INBOX's special case
// and subscriptions following, SUBSCRIBE), and search uses the IMAP
// server's own SEARCH parser and evaluator (server.ParseSearch,
// server.SearchMailbox), so the CLI accepts and answers what a client
// would get. The layer is kept thin on purpose: when the mailbox rules
// move into a service of their own, these functions are re-pointed
// there.
//
// Writes and the bus: a running server's sessions learn of changes
// through its change bus (internal/notify). When the server runs, the
// CLI sends writes over the control socket so the server makes them and
// publishes the changes; when it does not, the CLI opens the data folder
// and writes directly (no session exists to tell).
package admin
