package sqlite

import (
	"context"
	"database/sql"
	"log/slog"
	"sync/atomic"

	"modernc.org/sqlite"
)

// WAL checkpoints off the writer goroutine.
//
// A checkpoint copies the pages committed to the WAL back into the
// database file and fsyncs it. SQLite runs one on the committing
// connection whenever the WAL passes wal_autocheckpoint pages (1000 by
// default): inside the writer goroutine, so every write waiting for the
// next batch waited for the copy and its fsync too. In a 100,000-message
// import that was 3.7 of the writer's 13 CPU-seconds, plus a database
// fsync after almost every batch (docs/benchmarks.md, "Import").
//
// Here the writer counts the pages it wrote to the WAL
// (SQLITE_DBSTATUS_CACHE_WRITE) and, every checkpointPages of them,
// wakes a goroutine that runs a PASSIVE checkpoint on a connection of its
// own; SQLite lets a checkpoint run while the writer appends to the WAL
// (https://www.sqlite.org/wal.html, "Concurrency"). A passive checkpoint
// never waits for readers or the writer, and the WAL restarts from its
// start once a checkpoint has copied every frame. The writer keeps
// wal_autocheckpoint at backstopPages, so the WAL still stays bounded if
// the goroutine falls behind (its own checkpoint then finds most frames
// already copied). The backstop is 16 times the goroutine's threshold
// (64 MiB of WAL with 4 KiB pages): one transaction of an import writes
// a few thousand pages, and with the backstop at 4 times, the WAL passed
// it at the next commit while the goroutine was still copying, so the
// writer ran four fifths of the checkpoints itself (1.5 of 1.8
// CPU-seconds in a profile of a 100,000-message import).
//
// Durability is SQLite's: a COMMIT is durable when the WAL is fsynced
// (synchronous=FULL), whoever checkpoints later.
const (
	checkpointPages = 1000 // SQLite's default wal_autocheckpoint
	backstopPages   = 16 * checkpointPages
)

type checkpointer struct {
	db   *sql.DB
	log  *slog.Logger
	poke chan struct{}
	done chan struct{}
	// runs counts the checkpoints run (tests).
	runs atomic.Int64
	// pending is the pages the writer wrote since the last poke (writer
	// goroutine only).
	pending int
}

// startCheckpointer opens the checkpoint connection on dsn and starts its
// goroutine.
func startCheckpointer(dsn string, log *slog.Logger) (*checkpointer, error) {
	db, err := sql.Open(driverName, dsn)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxLifetime(0)
	c := &checkpointer{db: db, log: log, poke: make(chan struct{}, 1), done: make(chan struct{})}
	go c.loop()
	return c, nil
}

func (c *checkpointer) loop() {
	defer close(c.done)
	for range c.poke {
		c.runs.Add(1)
		if _, err := c.db.ExecContext(context.Background(), "PRAGMA wal_checkpoint(PASSIVE)"); err != nil {
			// The writer's own autocheckpoint (backstopPages) still runs.
			c.log.Warn("sqlite: background WAL checkpoint failed", "err", err)
		}
	}
}

// committed is called by the writer after each COMMIT: it reads how many
// pages the connection wrote since the last call and wakes the goroutine
// every checkpointPages. It never blocks: a wake-up while a checkpoint
// runs is folded into the next one. It returns whether the transaction
// wrote any page (-1 if the counter could not be read): one that wrote
// none added nothing to the WAL, so there is nothing to fsync for it.
func (c *checkpointer) committed(conn *sql.Conn) (wrote int) {
	wrote = -1
	conn.Raw(func(dc any) error { //nolint:errcheck // a counter; -1 on failure
		if st, ok := dc.(sqlite.DBStatus); ok {
			n, _, err := st.Status(sqlite.DBStatusCacheWrite, true)
			if err == nil {
				wrote = n
				c.pending += n
			}
		}
		return nil
	})
	if c.pending < checkpointPages {
		return wrote
	}
	c.pending = 0
	select {
	case c.poke <- struct{}{}:
	default:
	}
	return wrote
}

// stop ends the goroutine after the checkpoint it is running and closes
// its connection. Call it after the writer stopped.
func (c *checkpointer) stop() error {
	if c == nil {
		return nil
	}
	close(c.poke)
	<-c.done
	return c.db.Close()
}
