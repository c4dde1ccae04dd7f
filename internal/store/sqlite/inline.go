package sqlite

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"barid/internal/store"
)

// Inline message bytes (migration 5, table blobdata). A message up to
// [storage] inline_max_bytes reaches AppendMessages with its bytes in
// store.NewMessage.Inline; they are inserted in the same transaction as
// the message row, so the one WAL fsync of the group commit makes the
// message durable (no blob file, no shard-folder fsync). The row is keyed
// by the blob ID (SHA-256 hex), so identical messages share it, like
// blob/fs files; it goes in the transaction that deletes the last message
// row naming it (expunge, MOVE, mailbox and account deletion).

// putInline stores a message's bytes under its blob ID unless present.
func putInline(t *wtx, nm *store.NewMessage) error {
	if nm.Inline == nil {
		return nil
	}
	if int64(len(nm.Inline)) > maxInlineBytes {
		return fmt.Errorf("sqlite: inline message of %d bytes exceeds the inline_max_bytes ceiling (%d)", len(nm.Inline), maxInlineBytes)
	}
	_, err := t.exec(`INSERT OR IGNORE INTO blobdata (id, data) VALUES (?, ?)`, nm.BlobID, nm.Inline)
	return err
}

// maxInlineBytes bounds what AppendMessages keeps inline, whatever the
// configuration says: SQLite handles large BLOBs, but every byte is
// written twice (WAL, then checkpoint) and a reader holds it in memory.
// internal/config refuses a larger inline_max_bytes.
const maxInlineBytes = 1 << 20

// dropInline deletes the inline bytes of blobID if no message row names
// it any more. Call it after deleting a message row, in the same
// transaction. A blob kept in blob/fs has no blobdata row: the DELETE
// then probes one index entry and changes nothing.
func dropInline(t *wtx, blobID string) error {
	_, err := t.exec(`DELETE FROM blobdata WHERE id = ?1
		AND NOT EXISTS (SELECT 1 FROM messages INDEXED BY messages_blob WHERE blob_id = ?1)`, blobID)
	return err
}

// dropInlineMailbox deletes the inline rows of the mailbox's messages
// that no message in another mailbox names. Call it BEFORE deleting the
// mailbox's message rows (DeleteMailbox).
func dropInlineMailbox(t *wtx, mailboxID int64) error {
	_, err := t.exec(`DELETE FROM blobdata WHERE id IN (SELECT blob_id FROM messages WHERE mailbox = ?1)
		AND NOT EXISTS (SELECT 1 FROM messages o INDEXED BY messages_blob
			WHERE o.blob_id = blobdata.id AND o.mailbox != ?1)`, mailboxID)
	return err
}

// dropInlineAccount deletes the inline rows of the account's messages
// that no other account's message names (identical bytes delivered to
// two accounts share one row). Call it BEFORE deleting the account's
// message rows (DeleteAccount).
func dropInlineAccount(t *wtx, accountID int64) error {
	_, err := t.exec(`DELETE FROM blobdata WHERE id IN (SELECT blob_id FROM messages
			WHERE mailbox IN (SELECT id FROM mailboxes WHERE account = ?1))
		AND NOT EXISTS (SELECT 1 FROM messages o INDEXED BY messages_blob
			WHERE o.blob_id = blobdata.id AND o.mailbox NOT IN (SELECT id FROM mailboxes WHERE account = ?1))`, accountID)
	return err
}

// OpenInline returns the bytes of a blob kept in the database, or
// ok=false when blobID has no inline row (its bytes are in the blob
// store). internal/blob/tiered calls it before looking in blob/fs.
func (s *Store) OpenInline(ctx context.Context, blobID string) (data []byte, ok bool, err error) {
	read := s.read
	if store.IsBulk(ctx) {
		read = s.bulkRead
	}
	err = read(ctx, func(r *reader) error {
		return r.queryRow(`SELECT data FROM blobdata WHERE id = ?`, blobID).Scan(&data)
	})
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

// OpenInlineMany calls fn with the bytes of each of ids kept in the
// database, in no particular order, in one query: a reader that knows
// which messages it will send next (POP3 RETR in order) pays one
// statement for several. IDs without an inline row (in the blob store)
// are skipped; an ID given twice is reported once. id and data are
// SQLite's memory, valid only until fn returns (inline_sink.go): fn
// copies what it keeps. An error from fn stops the read and is
// returned.
func (s *Store) OpenInlineMany(ctx context.Context, ids []string, fn func(id string, data []byte) error) error {
	if len(ids) == 0 {
		return nil
	}
	// Each ID once: the query joins the list to the table (an IN
	// (subquery) built a temporary B-tree per call).
	uniq := ids
	for i := 1; i < len(ids) && len(uniq) == len(ids); i++ {
		if slices.Contains(ids[:i], ids[i]) {
			uniq = nil
		}
	}
	if uniq == nil {
		uniq = make([]string, 0, len(ids))
		for _, id := range ids {
			if !slices.Contains(uniq, id) {
				uniq = append(uniq, id)
			}
		}
	}
	list, err := json.Marshal(uniq)
	if err != nil {
		return err
	}
	read := s.read
	if store.IsBulk(ctx) {
		read = s.bulkRead
	}
	sink := &inlineSink{fn: fn}
	slot := takeSinkSlot(sink)
	defer releaseSinkSlot(slot)
	err = read(ctx, func(r *reader) error {
		rows, err := r.query(`SELECT `+inlineSinkFunc+`(?, b.id, b.data) FROM json_each(?) j CROSS JOIN blobdata b ON b.id = j.value`, slot, string(list))
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
		}
		return rows.Err()
	})
	if sink.err != nil {
		return sink.err
	}
	return err
}

// InlineIDs calls fn with the ID of every blob kept in the database (the
// integrity sweep counts them as present).
func (s *Store) InlineIDs(ctx context.Context, fn func(id string) error) error {
	return s.readTx(ctx, func(r *reader) error {
		rows, err := r.query(`SELECT id FROM blobdata`)
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
	})
}

// sweepInlineChunk is how many inline rows SweepInline examines per
// read, and the most it deletes per write (a variable for tests).
var sweepInlineChunk = 2048

// SweepInline deletes inline bytes that no message references and
// returns how many rows went. Rows and the messages naming them are
// written and deleted in the same transactions, so there is no window in
// which a fresh row is legitimately unreferenced: unlike the blob/fs
// sweep, this needs no grace period. It finds leftovers of a bug or of a
// database edited by hand.
//
// The rows are examined a chunk at a time by a reader, and only the
// unreferenced ones of a chunk are deleted, in a background write that
// checks again that no message names them: one DELETE over the whole
// table held the writer (every delivery and APPEND) for 5-42 s at
// 1,000,000 messages, at each start and every sweep interval.
func (s *Store) SweepInline(ctx context.Context) (int64, error) {
	var n int64
	after := ""
	for {
		var orphans []string
		last := ""
		seen := 0
		err := s.read(ctx, func(r *reader) error {
			rows, err := r.query(`SELECT b.id, EXISTS (SELECT 1 FROM messages INDEXED BY messages_blob WHERE blob_id = b.id)
				FROM blobdata b WHERE b.id > ? ORDER BY b.id LIMIT ?`, after, sweepInlineChunk)
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				var id string
				var used bool
				if err := rows.Scan(&id, &used); err != nil {
					return err
				}
				seen++
				last = id
				if !used {
					orphans = append(orphans, id)
				}
			}
			return rows.Err()
		})
		if err != nil {
			return n, err
		}
		if len(orphans) > 0 {
			var gone int64
			err := s.writeBackground(ctx, func(t *wtx) error {
				gone = 0
				for _, id := range orphans {
					k, err := t.execN(`DELETE FROM blobdata WHERE id = ? AND NOT EXISTS
						(SELECT 1 FROM messages INDEXED BY messages_blob WHERE blob_id = ?)`, id, id)
					if err != nil {
						return err
					}
					gone += k
				}
				return nil
			})
			if err != nil {
				return n, err
			}
			n += gone
		}
		if seen < sweepInlineChunk {
			return n, nil
		}
		after = last
	}
}
