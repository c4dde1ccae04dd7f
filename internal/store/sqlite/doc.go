// Package sqlite is the embedded default implementation of store.Store:
// one SQLite database file in WAL mode, through the pure-Go driver
// modernc.org/sqlite (no cgo, so the barid binary stays static; see
// docs/sqlite-driver.md for the measurements behind that choice).
//
// Concurrency: SQLite has one writer. All writes go through a single
// goroutine that owns the only read-write connection and folds the
// requests waiting for it into one transaction (group commit, see
// writer.go). A caller's method returns only after COMMIT, and COMMIT
// with journal_mode=WAL and synchronous=FULL returns only after the WAL
// is fsynced, so every acknowledged write is durable. Reads use a
// separate pool of query_only connections that read WAL snapshots
// concurrently with the writer. busy_timeout covers the remaining lock
// waits (another process such as the admin CLI writing the same file),
// so clients never see SQLITE_BUSY.
//
// Invariants kept here (RFC 9051 §2.3.1.1, RFC 7162 §3.1):
//   - UIDNEXT is stored in the transaction that inserts the message, so a
//     UID is never reused, also across expunges and restarts.
//   - UIDVALIDITY of a new mailbox is max(unix time, last given + 1),
//     strictly increasing per database.
//   - Every change to a mailbox (append, flag change, expunge, copy into
//     it) takes HIGHESTMODSEQ+1; one call's changes share that modseq.
//   - Copies share the source's blob ID.
//
// The schema is versioned with PRAGMA user_version (schema.go).
package sqlite
