package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"time"

	"barid/internal/store"
)

// msgrec (schema step 28) holds each message's ENVELOPE and MIME
// structure again, keyed by mailbox << 32 | uid. A FETCH 1:* ENVELOPE
// (or BODYSTRUCTURE) of a mailbox whose records the record cache cannot
// hold (metacache.go: a million messages need several hundred MiB) read
// every wide messages row, two to a page, through a rowid seek from the
// primary-key index per message: at 100,000 messages, three quarters of
// the command's server CPU. From msgrec it is a scan of one table in key
// order, four to nine records to a page, and no seek, the way Dovecot
// answers it from dovecot.index.cache.
//
// Triggers on messages keep msgrec in the transaction of every insert,
// delete and update, so it never disagrees with messages in any
// snapshot. The messages stored before step 28 are copied by
// backfillRecs, in the background, through the writer (so it never
// blocks a client's write for long), recBackfillBatch rows to a
// transaction; the meta key holds the last messages rowid copied, so an
// interrupted copy resumes. Until it is done (recReady) FETCH reads
// messages as before.

// recBackfillKey is the meta key of schema step 28's copy: the last
// messages rowid copied into msgrec.
const recBackfillKey = "msgrec_backfill_rowid"

// recBackfillBatch is how many messages rows one transaction of the
// copy reads; small enough that a client's write waits at most a few
// tens of milliseconds behind it.
const recBackfillBatch = 2000

// recMaxMailbox: mailbox ids from here on have no msgrec rows (the
// triggers' WHEN clause), as their key would not fit.
const recMaxMailbox = 1 << 31

// msgrecFields are the fields msgrec holds.
const msgrecFields = store.FieldEnvelope | store.FieldStructure

// useRecs reports whether fetchRows may read fields of mailboxID from
// msgrec: nothing else asked, and msgrec complete.
func (s *Store) useRecs(mailboxID int64, fields store.Fields) bool {
	return fields != 0 && fields&^msgrecFields == 0 && mailboxID > 0 && mailboxID < recMaxMailbox && s.recReady.Load()
}

// recQuery selects msgrec's columns for fields (msgrecFields only) over a
// key range.
func recQuery(fields store.Fields) string {
	switch fields {
	case store.FieldEnvelope:
		return "SELECT id, envelope FROM msgrec WHERE id BETWEEN ? AND ?"
	case store.FieldStructure:
		return "SELECT id, structure FROM msgrec WHERE id BETWEEN ? AND ?"
	}
	return "SELECT id, envelope, structure FROM msgrec WHERE id BETWEEN ? AND ?"
}

// fetchRecs is fetchRows for fields in msgrecFields, from msgrec: one range
// scan per segment of uids, in UID order.
func (s *Store) fetchRecs(ctx context.Context, mailboxID int64, uids []store.UID, fields store.Fields, fn func(*store.Message) error) error {
	q := recQuery(fields)
	tx := s.readTx
	if len(uids) >= 256 || store.IsBulk(ctx) {
		tx = s.bulkTx
	}
	base := mailboxID << 32
	// One record, refilled for each row: fn must not keep it (as with
	// fetchCached), and a FETCH 1:* of 100,000 then allocates no
	// store.Message per row.
	var m store.Message
	return tx(ctx, func(r *reader) error {
		return segments(uids, func(run []store.UID) error {
			c := runCursor{run: run}
			args := namedArgs(base|int64(run[0]), base|int64(run[len(run)-1]))
			return r.rawQuery(q, args, func(v []driver.Value) error {
				u := store.UID(uint32(rawInt(v[0])))
				if want, past := c.match(u); past {
					return errStopRows
				} else if !want {
					return nil
				}
				m = store.Message{MailboxID: mailboxID, UID: u}
				switch fields {
				case store.FieldEnvelope:
					m.Envelope = rawBytes(v[1])
				case store.FieldStructure:
					m.Structure = rawBytes(v[1])
				default:
					m.Envelope, m.Structure = rawBytes(v[1]), rawBytes(v[2])
				}
				return fn(&m)
			})
		})
	})
}

// recBackfillPending reads whether schema step 28's copy has work left,
// and from which rowid (before the writer starts).
func recBackfillPending(ctx context.Context, conn *sql.Conn) (last int64, pending bool, err error) {
	err = conn.QueryRowContext(ctx, "SELECT value FROM meta WHERE key = ?", recBackfillKey).Scan(&last)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil
	}
	return last, err == nil, err
}

// backfillRecs copies into msgrec the messages stored before schema step
// 25, after last (a messages rowid), recBackfillBatch rows to a
// background write, then marks msgrec complete (recReady). Rows the
// triggers wrote meanwhile (new messages) are kept: INSERT OR IGNORE,
// and a trigger's row is the same record. It stops when the store
// closes; the next Open resumes from the meta key.
func (s *Store) backfillRecs(last int64) {
	defer close(s.recDone)
	t0 := time.Now()
	copied := int64(0)
	for {
		var next, n int64
		done := false
		err := s.writeBackground(s.bg, func(t *wtx) error {
			done, n = false, 0
			var hi sql.NullInt64
			if err := t.queryRow(`SELECT max(rowid), count(*) FROM (SELECT rowid FROM messages WHERE rowid > ? ORDER BY rowid LIMIT ?)`,
				last, recBackfillBatch).Scan(&hi, &n); err != nil {
				return err
			}
			if !hi.Valid {
				done = true
				_, err := t.exec(`DELETE FROM meta WHERE key = ?`, recBackfillKey)
				return err
			}
			if _, err := t.exec(`INSERT OR IGNORE INTO msgrec (id, envelope, structure)
				SELECT (mailbox << 32) | uid, envelope, structure FROM messages
				WHERE rowid > ? AND rowid <= ? AND mailbox > 0 AND mailbox < 2147483648`, last, hi.Int64); err != nil {
				return err
			}
			next = hi.Int64
			_, err := t.exec(`UPDATE meta SET value = ? WHERE key = ?`, next, recBackfillKey)
			return err
		})
		if err != nil {
			if errors.Is(err, ErrClosed) || errors.Is(err, context.Canceled) {
				return
			}
			s.log.Warn("sqlite: copying envelopes into msgrec; retrying in 5s", "err", err)
			select {
			case <-time.After(5 * time.Second):
				continue
			case <-s.bg.Done():
				return
			}
		}
		if done {
			s.recReady.Store(true)
			s.log.Info("sqlite: msgrec complete (FETCH of envelopes and structures reads it)", "messages", copied, "took", time.Since(t0).Round(time.Millisecond))
			return
		}
		last = next
		copied += n
	}
}
