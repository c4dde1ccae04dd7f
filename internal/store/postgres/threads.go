package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"barid/internal/mail/header"
	"barid/internal/store"
)

// RFC 8474 THREADID: the thread index of each account (schema step 15,
// rules in store/thread.go).

const (
	// An owned entry replaces a not-owned one, never another owned one.
	threadOwn = `INSERT INTO thread_msgids (account, msgid, thread, owned) VALUES ($1, $2, $3, true)
	ON CONFLICT (account, msgid) DO UPDATE SET thread = excluded.thread, owned = true WHERE NOT thread_msgids.owned`
	threadRef = `INSERT INTO thread_msgids (account, msgid, thread, owned) VALUES ($1, $2, $3, false)
	ON CONFLICT (account, msgid) DO NOTHING`
)

// assignThreads gives msgs their thread ids in account's index: one
// query reads every key the messages name (a primary-key probe each),
// and the index writes are queued on b, which the caller sends with its
// inserts. The caller's transaction must hold the account's quotas row
// lock (bump takes it through the quota trigger), so that no other
// delivery to the account reads the index until this one commits.
func assignThreads(ctx context.Context, tx pgx.Tx, b *pgx.Batch, account int64, msgs []store.NewMessage, emailIDs []int64) ([]int64, error) {
	known := map[int64]store.ThreadEntry{}
	if keys := store.ThreadLookupKeys(msgs); len(keys) > 0 {
		rows, err := tx.Query(ctx, threadLookup, account, keys)
		if err != nil {
			return nil, err
		}
		if err := scanThreads(rows, known); err != nil {
			return nil, err
		}
	}
	return queueThreads(b, account, msgs, emailIDs, known), nil
}

// threadLookup reads the thread index entries of an account's keys.
const threadLookup = `SELECT msgid, thread, owned FROM thread_msgids WHERE account = $1 AND msgid = ANY($2)`

// scanThreads reads threadLookup's rows into known (and closes them).
func scanThreads(rows pgx.Rows, known map[int64]store.ThreadEntry) error {
	defer rows.Close()
	for rows.Next() {
		var k int64
		var e store.ThreadEntry
		if err := rows.Scan(&k, &e.Thread, &e.Owned); err != nil {
			return err
		}
		known[k] = e
	}
	return rows.Err()
}

// queueThreads assigns the messages' threads from the index entries
// known and queues the index writes on b.
func queueThreads(b *pgx.Batch, account int64, msgs []store.NewMessage, emailIDs []int64, known map[int64]store.ThreadEntry) []int64 {
	threads, writes := store.AssignThreads(msgs, emailIDs, known)
	for _, w := range writes {
		q := threadRef
		if w.Owned {
			q = threadOwn
		}
		b.Queue(q, account, w.Key, w.Thread)
	}
	return threads
}

// threadBackfillBatch is how many messages one transaction of
// backfillThreads threads.
const threadBackfillBatch = 500

// threadBackfillLockKey is the pg_advisory_xact_lock key that keeps two
// nodes from backfilling at once ("thrd").
const threadBackfillLockKey = 0x74687264

// backfillThreads gives the messages stored before schema step 15 their
// thread ids, threadBackfillBatch to a transaction in (mailbox, uid)
// order, each threaded from its stored header as a delivery would be;
// one that shares its EMAILID with a message already threaded (a COPY or
// MOVE) takes that one's thread (RFC 8474 §5.2). It runs when a node
// opens the store; a node that starts meanwhile waits for the batch in
// progress and carries on from thread_backfill's position, so the work
// is done once and resumes after a crash. Live deliveries on other nodes
// may run alongside: each message's account is locked as a delivery
// locks it (its quotas row), and a transaction that meets a deadlock
// with one is retried.
func backfillThreads(ctx context.Context, conn *pgx.Conn) error {
	for attempt := 0; ; {
		done, err := backfillThreadsBatch(ctx, conn)
		if err == nil {
			if done {
				return nil
			}
			attempt = 0
			continue
		}
		if c := pgCode(err); (c != codeDeadlockDetected && c != codeSerializationFailure) || attempt >= 8 {
			return fmt.Errorf("threads backfill: %w", err)
		}
		attempt++
		select {
		case <-time.After(time.Duration(attempt) * 10 * time.Millisecond):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func backfillThreadsBatch(ctx context.Context, conn *pgx.Conn) (done bool, err error) {
	tx, err := conn.Begin(ctx)
	if err != nil {
		return false, err
	}
	defer tx.Rollback(context.Background()) //nolint:errcheck // no-op after Commit
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(threadBackfillLockKey)); err != nil {
		return false, err
	}
	var lastMbox, lastUID int64
	err = tx.QueryRow(ctx, `SELECT mailbox, uid FROM thread_backfill`).Scan(&lastMbox, &lastUID)
	if errors.Is(err, pgx.ErrNoRows) {
		return true, tx.Commit(ctx)
	}
	if err != nil {
		return false, err
	}
	type rec struct {
		mailbox, uid, account, emailid int64
		header                         []byte
	}
	rows, err := tx.Query(ctx, `SELECT m.mailbox, m.uid, b.account, m.emailid, m.header
		FROM messages m JOIN mailboxes b ON b.id = m.mailbox
		WHERE (m.mailbox, m.uid) > ($1, $2) AND m.threadid = 0 ORDER BY m.mailbox, m.uid LIMIT $3`,
		lastMbox, lastUID, threadBackfillBatch)
	if err != nil {
		return false, err
	}
	var batch []rec
	for rows.Next() {
		var r rec
		if err := rows.Scan(&r.mailbox, &r.uid, &r.account, &r.emailid, &r.header); err != nil {
			rows.Close()
			return false, err
		}
		batch = append(batch, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return false, err
	}
	if len(batch) == 0 {
		if _, err := tx.Exec(ctx, `DELETE FROM thread_backfill`); err != nil {
			return false, err
		}
		return true, tx.Commit(ctx)
	}
	locked := map[int64]bool{}
	for _, r := range batch {
		if !locked[r.account] {
			if _, err := tx.Exec(ctx, `SELECT 1 FROM quotas WHERE account = $1 FOR UPDATE`, r.account); err != nil {
				return false, err
			}
			locked[r.account] = true
		}
		var nm store.NewMessage
		nm.MessageID, nm.References = header.ThreadFields(r.header)
		if r.emailid != 0 {
			err := tx.QueryRow(ctx, `SELECT threadid FROM messages WHERE emailid = $1 AND threadid <> 0 LIMIT 1`, r.emailid).Scan(&nm.ThreadID)
			if err != nil && !errors.Is(err, pgx.ErrNoRows) {
				return false, err
			}
		}
		b := &pgx.Batch{}
		threads, err := assignThreads(ctx, tx, b, r.account, []store.NewMessage{nm}, []int64{emailID(r.emailid)})
		if err != nil {
			return false, err
		}
		b.Queue(`UPDATE messages SET threadid = $1 WHERE mailbox = $2 AND uid = $3`, threads[0], r.mailbox, r.uid)
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return false, err
		}
	}
	last := batch[len(batch)-1]
	if _, err := tx.Exec(ctx, `UPDATE thread_backfill SET mailbox = $1, uid = $2`, last.mailbox, last.uid); err != nil {
		return false, err
	}
	return false, tx.Commit(ctx)
}
