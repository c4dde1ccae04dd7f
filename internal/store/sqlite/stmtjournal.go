package sqlite

import (
	"fmt"

	"modernc.org/libc"
	lib "modernc.org/sqlite/lib"
)

// StmtJournalMemory is how many bytes of a statement journal or of a
// savepoint's sub-journal SQLite keeps in memory before it moves the
// journal to a temporary file (SQLITE_CONFIG_STMTJRNL_SPILL; SQLite's
// default is 64 KiB).
//
// The writer runs each request of a group-committed batch inside a
// SAVEPOINT (writer.go), so that a failing request is rolled back
// alone; SQLite then copies every page of the database that the
// request changes for the first time into the sub-journal. An APPEND
// of an 18 KB message under imaptest touched about 104 kB of such
// pages: past the default 64 KiB each batch created a temporary file
// (open, stat, access and unlink of a file under /var/tmp) and wrote
// its pages with one pwrite each, about a fifth of the writer's pwrites
// and 4-7 % of the server's CPU (docs/benchmarks.md, "Session 11").
// The sub-journal is never synced and is discarded at RELEASE, so
// keeping it in memory changes nothing about durability. Only the
// writer connection writes, so at most one such journal (and the
// statement journal of the statement running in it) is in memory at a
// time: this bounds the memory it takes, and a request that changes
// more than this still spills to a file as before.
const StmtJournalMemory = 8 << 20

// stmtJournalErr is the result of setting StmtJournalMemory; Open
// refuses to run without it (TestStmtJournalInMemory checks it works).
var stmtJournalErr = configStmtJournal(StmtJournalMemory)

// configStmtJournal calls sqlite3_config(SQLITE_CONFIG_STMTJRNL_SPILL,
// n). It is process-wide and only allowed before SQLite initialises,
// which the first connection does: so it runs while this package
// initialises, before any store can open a connection.
func configStmtJournal(n int32) error {
	t := libc.NewTLS()
	defer t.Close()
	const slot = 8 // libc.VaList's stride per argument
	bp := libc.Xcalloc(t, 1, slot)
	if bp == 0 {
		return fmt.Errorf("sqlite: config statement journal: out of memory")
	}
	defer libc.Xfree(t, bp)
	if rc := lib.Xsqlite3_config(t, lib.SQLITE_CONFIG_STMTJRNL_SPILL, libc.VaList(bp, n)); rc != lib.SQLITE_OK {
		return fmt.Errorf("sqlite: sqlite3_config(SQLITE_CONFIG_STMTJRNL_SPILL, %d): result code %d (SQLite was initialised before the store package)", n, rc)
	}
	return nil
}
