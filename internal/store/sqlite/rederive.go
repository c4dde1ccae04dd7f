package sqlite

import (
	"context"
	"database/sql"

	"barid/internal/mail/searchtext"
)

// rederiveBatch is how many messages one transaction of
// rederiveSearchFields rewrites: the rows read and the WAL written stay
// bounded whatever the size of the store.
const rederiveBatch = 500

// rederiveSearchFields recomputes the stored search fields of every
// message from its stored header (migration 7): the subject and the
// address fields in i;unicode-casemap form with addresses as Dovecot
// searches them (internal/mail/searchtext), and the sent date with the
// obsolete forms header.ParseDate now reads. Rows are visited in rowid
// order, rederiveBatch at a time, each batch in its own transaction; only
// rows whose fields change are written. The last rowid done is kept in
// meta, so an interrupted run resumes there (running it again from the
// start would give the same result).
func rederiveSearchFields(ctx context.Context, conn *sql.Conn) error {
	const key = "migration9_rowid"
	var last int64
	err := conn.QueryRowContext(ctx, "SELECT value FROM meta WHERE key = ?", key).Scan(&last)
	if err != nil && err != sql.ErrNoRows {
		return err
	}
	type row struct {
		id                         int64
		subject, from, to, cc, bcc string
		sent                       sql.NullInt64
		header                     []byte
	}
	next := func(last int64) ([]row, int64, error) {
		rows, err := conn.QueryContext(ctx, `SELECT rowid, subject, from_addr, to_addr, cc_addr, bcc_addr, sentdate, header
			FROM messages WHERE rowid > ? ORDER BY rowid LIMIT ?`, last, rederiveBatch)
		if err != nil {
			return nil, 0, err
		}
		defer rows.Close()
		var batch []row
		for rows.Next() {
			var r row
			if err := rows.Scan(&r.id, &r.subject, &r.from, &r.to, &r.cc, &r.bcc, &r.sent, &r.header); err != nil {
				return nil, 0, err
			}
			batch = append(batch, r)
		}
		if len(batch) == 0 {
			return nil, 0, rows.Err()
		}
		return batch, batch[len(batch)-1].id, rows.Err()
	}
	return rewriteInBatches(ctx, conn, key, "search fields", last, next, func(batch []row) error {
		for _, r := range batch {
			f := searchtext.FromHeader(r.header)
			sent := encodeTime(f.SentDate)
			sentSame := (sent == nil && !r.sent.Valid) || (sent != nil && r.sent.Valid && sent.(int64) == r.sent.Int64)
			if f.Subject == r.subject && f.From == r.from && f.To == r.to && f.Cc == r.cc && f.Bcc == r.bcc && sentSame {
				continue
			}
			if _, err := conn.ExecContext(ctx, `UPDATE messages SET subject = ?, from_addr = ?, to_addr = ?, cc_addr = ?, bcc_addr = ?, sentdate = ?
				WHERE rowid = ?`, f.Subject, f.From, f.To, f.Cc, f.Bcc, sent, r.id); err != nil {
				return err
			}
		}
		return nil
	})
}
