// Package bench is barid's load tool and benchmark suite. It drives any
// IMAP4rev1/IMAP4rev2 server (RFC 3501, RFC 9051) and any LMTP server
// (RFC 2033), not only barid, so the same figures can be produced for
// Dovecot and barid side by side.
//
// The tool is exposed as `barid bench <scenario> [flags]` through [Main].
// Scenarios:
//
//   - mix: N concurrent clients run a weighted command mix for a fixed
//     time, either with a new login per cycle or with long-lived sessions,
//     and every answer is validated.
//   - populate: fills mailboxes with deterministic, varied messages using
//     MULTIAPPEND (RFC 3502), pipelined APPEND with LITERAL+ (RFC 7888),
//     or LMTP.
//   - bigbox: times SELECT, whole-mailbox FETCHes, SEARCH and SORT
//     (RFC 5256) on a large mailbox.
//   - idle: holds C IDLE (RFC 2177) connections, reports the server's
//     memory per connection and the time a delivery takes to reach them.
//   - lmtp: delivery throughput at a given concurrency and message size.
//   - latency: LOGIN, APPEND and UID FETCH BODY.PEEK[] one at a time
//     through unmodified client libraries (Python imaplib, a Go client
//     with Nagle on that splits its writes, a one-write baseline), where
//     a server's delayed ACK shows (internal/quickack).
//   - report: renders the JSON-lines results file as docs/benchmarks.md.
//
// The IMAP client in this package (conn.go, scan.go) is deliberately raw
// and small: it pipelines, handles literals and matches tagged responses
// without building response trees, so that the client's own allocations do
// not distort the measurement and 10,000+ idle connections fit in a few
// hundred megabytes.
//
// Charts are drawn by the sibling package bench/chart, kept apart so that
// the barid binary does not link a plotting library.
package bench
