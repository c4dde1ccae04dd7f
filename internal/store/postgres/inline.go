package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"
)

// Inline message bytes (table blobdata), as in store/sqlite: a message up
// to [storage] inline_max_bytes reaches AppendMessages with its bytes in
// store.NewMessage.Inline; they are inserted as bytea in the transaction
// that adds the message row, so one commit makes the message durable and
// every node can read it. With several nodes this matters more than the
// saved fsyncs: blob/fs is a folder on one machine, and until the blob
// store is shared (S3) the small messages, most mail, are the ones every
// node can serve. PostgreSQL keeps values above about 2 KB compressed
// out of line (TOAST), so the rows stay small in the table itself.
//
// The row is keyed by the blob ID (SHA-256 hex), so identical messages
// share it. It goes in the transaction that deletes the last message row
// naming it. Because several transactions may add and remove messages
// with the same bytes at once (on different nodes, in different
// mailboxes), both sides lock the blobdata row: an append inserts it
// with ON CONFLICT DO UPDATE (which locks an existing row), and
// dropInline locks it FOR UPDATE before checking, in a new statement and
// so a new snapshot, that no message names it. Whichever comes second
// waits for the first to commit and then sees its effect.

// maxInlineBytes bounds what AppendMessages keeps inline, whatever the
// configuration says (internal/config refuses a larger
// inline_max_bytes).
const maxInlineBytes = 1 << 20

// inlineCandidates returns the blob IDs q (one query with one argument)
// selects: the inline blobs of messages about to be deleted.
func inlineCandidates(ctx context.Context, tx pgx.Tx, q string, arg any) ([]string, error) {
	rows, err := tx.Query(ctx, q, arg)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// dropInline deletes the blobdata rows of ids that no message names any
// more. Call it after deleting message rows, in the same transaction.
// IDs without a blobdata row (bytes in the blob store) cost one index
// probe.
func dropInline(ctx context.Context, tx pgx.Tx, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	rows, err := tx.Query(ctx, lockInline, ids)
	if err != nil {
		return err
	}
	locked, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil || len(locked) == 0 {
		return err
	}
	_, err = tx.Exec(ctx, dropUnused, locked)
	return err
}

const (
	lockInline = `SELECT id FROM blobdata WHERE id = ANY($1) ORDER BY id FOR UPDATE`
	dropUnused = `DELETE FROM blobdata b WHERE b.id = ANY($1)
		AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.blob_id = b.id)`
)

// dropInlineAtCommit is dropInline with both statements sent with the
// transaction's COMMIT (ptx.deferExec). The DELETE, a later statement,
// still reads with a snapshot taken after the lock, and it only
// touches rows that exist.
func dropInlineAtCommit(t *ptx, ids []string) {
	if len(ids) == 0 {
		return
	}
	t.deferExec(lockInline, ids)
	t.deferExec(dropUnused, ids)
}

// OpenInline returns the bytes of a blob kept in the database, or
// ok=false when blobID has no inline row (its bytes are in the blob
// store). internal/blob/tiered calls it before looking in blob/fs.
func (s *Store) OpenInline(ctx context.Context, blobID string) (data []byte, ok bool, err error) {
	err = s.queryRow(ctx, `SELECT data FROM blobdata WHERE id = $1`, blobID).Scan(&data)
	if errNoRows(err) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	if data == nil {
		data = []byte{} // an empty message is still a message
	}
	return data, true, nil
}

// InlineIDs calls fn with the ID of every blob kept in the database (the
// integrity sweep counts them as present).
func (s *Store) InlineIDs(ctx context.Context, fn func(id string) error) error {
	rows, err := s.query(ctx, `SELECT id FROM blobdata`)
	if err != nil {
		return err
	}
	defer rows.Close()
	var id string
	for rows.Next() {
		if err := rows.Scan(&id); err != nil {
			return err
		}
		if err := fn(id); err != nil {
			return err
		}
	}
	return rows.Err()
}

// SweepInline deletes inline bytes that no message references and
// returns how many rows went: leftovers of a bug or of a database edited
// by hand, since rows and the messages naming them are written and
// deleted in the same transactions. It locks the candidates first and
// checks again in a new snapshot, like dropInline, so an append on
// another node that is adding a message with the same bytes either
// committed before (and is seen) or waits and writes the row again.
func (s *Store) SweepInline(ctx context.Context) (int64, error) {
	var n int64
	err := s.write(ctx, func(tx pgx.Tx) error {
		n = 0
		rows, err := tx.Query(ctx, `SELECT id FROM blobdata b
			WHERE NOT EXISTS (SELECT 1 FROM messages m WHERE m.blob_id = b.id) ORDER BY id FOR UPDATE SKIP LOCKED`)
		if err != nil {
			return err
		}
		ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil || len(ids) == 0 {
			return err
		}
		tag, err := tx.Exec(ctx, `DELETE FROM blobdata b WHERE b.id = ANY($1)
			AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.blob_id = b.id)`, ids)
		n = tag.RowsAffected()
		return err
	})
	return n, err
}
