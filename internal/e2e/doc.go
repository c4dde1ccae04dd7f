// Package e2e holds end-to-end tests of barid: whole servers started
// in-process (app.New on a temporary data folder) or as a built binary in
// a subprocess, driven over real sockets by raw IMAP clients and by
// github.com/emersion/go-imap/v2's client.
//
// What the tests check (docs/concurrency.md):
//
//   - Several sessions on one mailbox: pending EXPUNGE, EXISTS, RECENT
//     and FETCH (FLAGS) responses are sent only where RFC 9051 §7.5.1 and
//     RFC 3501 §7.4.1 allow them (never during FETCH, STORE, SEARCH or
//     COPY by sequence number), with correct sequence numbers, keywords
//     announced by FLAGS before a FETCH uses them, and IDLE (RFC 2177)
//     pushing other sessions' changes promptly.
//   - A mailbox deleted or renamed under a selected session.
//   - A random mix of many clients for a fixed time, after which every
//     session's view equals the store; UIDs are unique and ascending,
//     MODSEQ (RFC 7162) never goes backwards for a session.
//   - Durability: APPEND OK only after the message is durable; SIGKILL
//     in the middle of concurrent APPENDs loses no acknowledged message
//     and never reuses a UID; the startup integrity sweep.
//   - Memory per idle connection (a benchmark, not a test).
//
// The package has no non-test code beyond this file; internal/e2e/cmd
// holds helper programs.
package e2e
