package sqlite

import (
	"context"
	"fmt"

	"barid/internal/store"
)

// SetModSeqs gives copied messages their source MODSEQs and raises
// HIGHESTMODSEQ (store.ModSeqSetter, for barid store copy).
func (s *Store) SetModSeqs(ctx context.Context, mailboxID int64, uids []store.UID, modseqs []store.ModSeq, highest store.ModSeq) error {
	return s.write(ctx, func(t *wtx) error {
		t.w.chainBreak = true // HIGHESTMODSEQ may move without a change (ownChain)
		m, err := loadMbox(t, mailboxID)
		if err != nil {
			return err
		}
		h, err := store.CheckSetModSeqs(m.hms, uids, modseqs, highest)
		if err != nil {
			return err
		}
		ch := make([]store.Change, 0, len(uids))
		for i, u := range uids {
			var sys int64
			var kws string
			err := t.queryRow(`SELECT sysflags, keywords FROM msgflags WHERE mailbox = ? AND uid = ?`, mailboxID, int64(u)).Scan(&sys, &kws)
			if errNoRows(err) {
				return store.ErrNoMessage
			}
			if err != nil {
				return err
			}
			if _, err := t.exec(`UPDATE msgflags SET modseq = ? WHERE mailbox = ? AND uid = ?`, int64(modseqs[i]), mailboxID, int64(u)); err != nil {
				return err
			}
			// The flag index learns the new modseq from the change.
			ch = append(ch, store.Change{Kind: store.ChangeFlags, AccountID: m.account, MailboxID: mailboxID, UID: u,
				ModSeq: modseqs[i], Flags: store.Flags{System: store.SysFlags(sys), Keywords: decodeKeywords(kws)}})
		}
		if h != m.hms {
			if _, err := t.exec(`UPDATE mailboxes SET highestmodseq = ? WHERE id = ?`, int64(h), mailboxID); err != nil {
				return err
			}
		}
		t.emit(ch)
		return nil
	})
}

// SetTombstones records the source's expunged messages
// (store.ModSeqSetter, for barid store copy).
func (s *Store) SetTombstones(ctx context.Context, mailboxID int64, tombs []store.StoreResult) error {
	return s.write(ctx, func(t *wtx) error {
		m, err := loadMbox(t, mailboxID)
		if err != nil {
			return err
		}
		if err := store.CheckTombstones(m.uidnext, m.hms, tombs); err != nil {
			return err
		}
		for _, tb := range tombs {
			var one int
			err := t.queryRow(`SELECT 1 FROM msgflags WHERE mailbox = ? AND uid = ?`, mailboxID, int64(tb.UID)).Scan(&one)
			if err == nil {
				return fmt.Errorf("%w: UID %d is a message of the mailbox, not expunged", store.ErrCannot, tb.UID)
			}
			if !errNoRows(err) {
				return err
			}
			if _, err := t.exec(`INSERT OR REPLACE INTO expunged (mailbox, uid, modseq, sysflags, keywords) VALUES (?, ?, ?, ?, ?)`,
				mailboxID, int64(tb.UID), int64(tb.ModSeq), int64(tb.Flags.System), encodeKeywords(tb.Flags.Keywords)); err != nil {
				return err
			}
		}
		return nil
	})
}
