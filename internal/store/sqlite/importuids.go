package sqlite

import (
	"context"
	"fmt"

	"barid/internal/store"
)

// SetUIDValidity gives a mailbox that never held a message the
// UIDVALIDITY of the mailbox it is imported from (store.Store).
func (s *Store) SetUIDValidity(ctx context.Context, mailboxID int64, uidValidity uint32) (*store.Mailbox, error) {
	if uidValidity == 0 {
		return nil, fmt.Errorf("%w: UIDVALIDITY 0", store.ErrCannot)
	}
	err := s.write(ctx, func(t *wtx) error {
		t.w.chainBreak = true // the flag index learns UIDVALIDITY from SQLite (ownChain)
		m, err := loadMbox(t, mailboxID)
		if err != nil {
			return err
		}
		if m.uidvalidity == uidValidity {
			return nil
		}
		if m.uidnext != 1 {
			return fmt.Errorf("%w: the mailbox has held messages (UIDNEXT %d); its UIDVALIDITY stays", store.ErrCannot, m.uidnext)
		}
		t.forgetKeywords()
		// RFC 8474 §4: no two mailboxes of the account share a
		// MAILBOXID (derived from UIDVALIDITY). An unused one steps aside.
		rows, err := t.query(`SELECT id, uidnext FROM mailboxes WHERE account = ? AND uidvalidity = ? AND id != ?`,
			m.account, int64(uidValidity), mailboxID)
		if err != nil {
			return err
		}
		var others []int64
		for rows.Next() {
			var id, next int64
			if err := rows.Scan(&id, &next); err != nil {
				rows.Close()
				return err
			}
			if next != 1 {
				rows.Close()
				return fmt.Errorf("%w: another mailbox of the account has UIDVALIDITY %d", store.ErrCannot, uidValidity)
			}
			others = append(others, id)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		// The counter moves past the imported value first, so the
		// fresh values below (and later CREATEs) never repeat it.
		if _, err := t.exec(`INSERT INTO meta (key, value) VALUES ('uidvalidity', ?)
			ON CONFLICT (key) DO UPDATE SET value = max(value, excluded.value)`, int64(uidValidity)); err != nil {
			return err
		}
		for _, id := range others {
			uv, err := s.nextUIDValidity(t)
			if err != nil {
				return err
			}
			if _, err := t.exec(`UPDATE mailboxes SET uidvalidity = ? WHERE id = ?`, int64(uv), id); err != nil {
				return err
			}
		}
		_, err = t.exec(`UPDATE mailboxes SET uidvalidity = ? WHERE id = ?`, int64(uidValidity), mailboxID)
		return err
	})
	if err != nil {
		return nil, err
	}
	return s.MailboxByID(ctx, mailboxID)
}

// AppendMessagesAt appends messages with the caller's UIDs
// (store.Store).
func (s *Store) AppendMessagesAt(ctx context.Context, mailboxID int64, uids []store.UID, msgs []store.NewMessage, uidNext store.UID) ([]store.Change, error) {
	if err := store.CheckImportUIDs(1, uids, len(msgs)); err != nil {
		return nil, err
	}
	var ch []store.Change
	err := s.write(ctx, func(t *wtx) error {
		ch = nil
		m, err := loadMbox(t, mailboxID)
		if err != nil {
			return err
		}
		_, ch, err = s.appendRowsAt(t, m, uids, msgs)
		if err != nil {
			return err
		}
		if uidNext > m.uidnext {
			if _, err := t.exec(`UPDATE mailboxes SET uidnext = ? WHERE id = ?`, int64(uidNext), mailboxID); err != nil {
				return err
			}
		}
		t.emit(ch)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return ch, nil
}
