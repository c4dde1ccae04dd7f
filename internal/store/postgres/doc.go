// Package postgres is the PostgreSQL implementation of store.Store: the
// metadata of one mail store shared by any number of barid nodes, each
// with its own connection pool (github.com/jackc/pgx/v5/pgxpool). Schema,
// UID/MODSEQ allocation and what is per node are described in
// docs/scale-out.md.
//
// Concurrency: every write is one transaction at READ COMMITTED. Every
// write that touches a mailbox's messages first takes that mailbox's row
// lock, and allocates UIDs and the MODSEQ under it (UPDATE mailboxes SET
// uidnext = uidnext + n, highestmodseq = highestmodseq + 1 ... RETURNING).
// The lock is held until COMMIT, so the writers of one mailbox run one
// after the other, whichever node they are on, and a UID or MODSEQ
// becomes visible only after every smaller one (RFC 9051 §2.3.1.1,
// RFC 7162 §3.1). Writes on two mailboxes (COPY, MOVE) lock both rows in
// id order. A transaction that PostgreSQL aborts for a deadlock or a
// serialization failure is run again (withRetry).
//
// Reads are single statements where the answer must be consistent (the
// mailbox row and its UID list come from one statement, hence one
// snapshot), or REPEATABLE READ read-only transactions.
//
// Capabilities beyond store.Store: Sorter and CriteriaSearcher (the
// database sorts and searches); SetQuota; OpenInline, InlineIDs and
// SweepInline (small messages kept as bytea in the database, see
// inline.go). FlagWarmer is deliberately absent: store/sqlite's flag
// index and record cache are per-process memory of data that, with
// several nodes, other nodes change, so every read goes to PostgreSQL.
//
// Change bus between nodes: every write transaction queues pg_notify
// hints (hint.go) and Listen (listen.go) turns other nodes' hints into
// store.Change values on the local bus, with catch-up after a lost
// connection and a slow poll.
//
// The schema is versioned in table barid_schema and migrated at Open
// under a transaction-level advisory lock (schema.go).
package postgres
