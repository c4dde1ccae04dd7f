package sqlite

import (
	"context"
	"database/sql"
	"errors"

	"barid/internal/mail/header"
	"barid/internal/store"
)

// RFC 8474 THREADID: the thread index of each account (schema step 21,
// rules in store/thread.go).

// threadLookupWidth is how many keys one lookup statement asks for; a
// message names a few ids, so one statement (keys repeated to fill it)
// usually does, and the prepared statement is always the same one.
const threadLookupWidth = 8

const (
	threadLookup = `SELECT msgid, thread, owned FROM thread_msgids WHERE account = ? AND msgid IN (?, ?, ?, ?, ?, ?, ?, ?)`
	// An owned entry replaces a not-owned one, never another owned one.
	threadOwn = `INSERT INTO thread_msgids (account, msgid, thread, owned) VALUES (?, ?, ?, 1)
	ON CONFLICT (account, msgid) DO UPDATE SET thread = excluded.thread, owned = 1 WHERE owned = 0`
	threadRef = `INSERT OR IGNORE INTO thread_msgids (account, msgid, thread, owned) VALUES (?, ?, ?, 0)`
)

// threadDB is what assignThreads runs its statements on: the writer's
// transaction (wtx) or the migration's connection (connTx).
type threadDB interface {
	query(q string, args ...any) (*sql.Rows, error)
	exec(q string, args ...any) (sql.Result, error)
}

// assignThreads gives msgs their thread ids in account's index and
// records them there. The single writer keeps every other delivery out
// until the transaction commits. Each key is one primary-key probe (a
// prepared statement), so the cost per message is a few index lookups
// whatever the account's size (BenchmarkAppendThreaded), asked
// threadLookupWidth at a time.
func assignThreads(db threadDB, account int64, msgs []store.NewMessage, emailIDs []int64) ([]int64, error) {
	known := map[int64]store.ThreadEntry{}
	keys := store.ThreadLookupKeys(msgs)
	args := make([]any, 1+threadLookupWidth)
	args[0] = account
	for start := 0; start < len(keys); start += threadLookupWidth {
		part := keys[start:min(start+threadLookupWidth, len(keys))]
		for i := range threadLookupWidth {
			args[1+i] = part[i%len(part)]
		}
		rows, err := db.query(threadLookup, args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var k, thread, owned int64
			if err := rows.Scan(&k, &thread, &owned); err != nil {
				rows.Close()
				return nil, err
			}
			known[k] = store.ThreadEntry{Thread: thread, Owned: owned != 0}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	threads, writes := store.AssignThreads(msgs, emailIDs, known)
	for _, w := range writes {
		q := threadRef
		if w.Owned {
			q = threadOwn
		}
		if _, err := db.exec(q, account, w.Key, w.Thread); err != nil {
			return nil, err
		}
	}
	return threads, nil
}

// connTx runs statements on the migration's connection, inside the
// transaction it has begun.
type connTx struct {
	ctx  context.Context
	conn *sql.Conn
}

func (c connTx) query(q string, args ...any) (*sql.Rows, error) {
	return c.conn.QueryContext(c.ctx, q, args...)
}

func (c connTx) exec(q string, args ...any) (sql.Result, error) {
	return c.conn.ExecContext(c.ctx, q, args...)
}

// threadBackfillKey is the meta key schema step 21 sets when the store
// had messages: the last rowid threaded so far.
const threadBackfillKey = "threads_backfill_rowid"

// threadBackfillBatch is how many messages one transaction of
// backfillThreads threads.
const threadBackfillBatch = 500

// backfillThreads gives the messages stored before schema step 21 their
// thread ids, in rowid (delivery) order, threadBackfillBatch to a
// transaction, as if they were delivered again in that order: each is
// threaded from its stored header with the rules of a delivery. A
// message that shares its EMAILID with one already threaded (a COPY or
// MOVE made since EMAILIDs exist) takes that one's thread (RFC 8474
// §5.2: one EMAILID, one THREADID). It runs when the store opens, before
// the writer starts, and resumes where an interrupted run stopped.
func backfillThreads(ctx context.Context, conn *sql.Conn) error {
	var last int64
	err := conn.QueryRowContext(ctx, "SELECT value FROM meta WHERE key = ?", threadBackfillKey).Scan(&last)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return err
	}
	// The lookup of a thread by EMAILID below needs an index on it;
	// messages has none since schema step 30 (delivery would pay for it),
	// so the backfill keeps one while it runs. An interrupted run finds
	// it and resumes; the end of the work drops it.
	if _, err := conn.ExecContext(ctx, "CREATE INDEX IF NOT EXISTS "+threadBackfillIndex+" ON messages (emailid)"); err != nil {
		return err
	}
	type rec struct {
		id, account, emailid int64
		header               []byte
	}
	db := connTx{ctx, conn}
	next := func(last int64) ([]rec, int64, error) {
		rows, err := conn.QueryContext(ctx, `SELECT m.rowid, b.account, m.emailid, m.header
			FROM messages m JOIN mailboxes b ON b.id = m.mailbox
			WHERE m.rowid > ? AND m.threadid = 0 ORDER BY m.rowid LIMIT ?`, last, threadBackfillBatch)
		if err != nil {
			return nil, 0, err
		}
		defer rows.Close()
		var batch []rec
		for rows.Next() {
			var r rec
			if err := rows.Scan(&r.id, &r.account, &r.emailid, &r.header); err != nil {
				return nil, 0, err
			}
			batch = append(batch, r)
		}
		if len(batch) == 0 {
			return nil, 0, rows.Err()
		}
		return batch, batch[len(batch)-1].id, rows.Err()
	}
	err = rewriteInBatches(ctx, conn, threadBackfillKey, "threads", last, next, func(batch []rec) error {
		for _, r := range batch {
			var nm store.NewMessage
			nm.MessageID, nm.References = header.ThreadFields(r.header)
			if r.emailid != 0 {
				err := conn.QueryRowContext(ctx, `SELECT threadid FROM messages WHERE emailid = ? AND threadid != 0 LIMIT 1`,
					r.emailid).Scan(&nm.ThreadID)
				if err != nil && !errors.Is(err, sql.ErrNoRows) {
					return err
				}
			}
			threads, err := assignThreads(db, r.account, []store.NewMessage{nm}, []int64{emailID(r.emailid)})
			if err != nil {
				return err
			}
			if _, err := conn.ExecContext(ctx, `UPDATE messages SET threadid = ? WHERE rowid = ?`, threads[0], r.id); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	_, err = conn.ExecContext(ctx, "DROP INDEX IF EXISTS "+threadBackfillIndex)
	return err
}

// threadBackfillIndex is the index on messages.emailid that
// backfillThreads keeps while it runs.
const threadBackfillIndex = "messages_emailid_backfill"
