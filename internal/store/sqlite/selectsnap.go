package sqlite

import (
	"bytes"
	"context"

	"barid/internal/store"
)

// scanFunc adapts a function to scanMailbox's Scan interface.
type scanFunc func(dest ...any) error

func (f scanFunc) Scan(dest ...any) error { return f(dest...) }

// SelectSnapshot answers what SELECT reads (store.SelectReader) from one
// statement and the flag index: the mailbox row and its keywords in one
// SQLite read, then the UIDs and the first unseen message from the index
// if it is current for that row's HIGHESTMODSEQ and UIDVALIDITY. Every
// SQLite read transaction takes and releases the WAL's shared-memory
// locks (fcntl system calls), so four reads cost more than the rest of a
// SELECT of 20,000 messages together. ok is false when the index is not
// loaded or not current; the caller then reads the slow way, and SELECT
// has already started the load (WarmFlags).
func (s *Store) SelectSnapshot(ctx context.Context, mailboxID int64) (store.SelectSnapshot, bool, error) {
	var snap store.SelectSnapshot
	if s.index == nil {
		return snap, false, nil
	}
	var kws []byte
	err := s.read(ctx, func(r *reader) error {
		row := r.queryRow(`SELECT `+mailboxCols+`,
			(SELECT group_concat(name, ' ') FROM (SELECT name FROM keywords WHERE mailbox = m.id ORDER BY lname))
			FROM mailboxes m WHERE m.id = ?`, mailboxID)
		var err error
		snap.Mailbox, err = scanMailbox(scanFunc(func(dest ...any) error {
			return row.Scan(append(dest, &kws)...)
		}))
		return err
	})
	if errNoRows(err) {
		return snap, false, store.ErrNoMailbox
	}
	if err != nil {
		return snap, false, err
	}
	mb := snap.Mailbox
	uids, first, ok := s.index.selectView(mailboxID, mb.HighestModSeq, mb.UIDValidity)
	if !ok {
		return snap, false, nil
	}
	snap.UIDs, snap.FirstUnseen, snap.UIDsShared = uids, first, true
	// Keywords are atoms (RFC 9051 §9 flag-keyword): no spaces inside.
	for f := range bytes.FieldsSeq(kws) {
		snap.Keywords = append(snap.Keywords, string(f))
	}
	return snap, true, nil
}
