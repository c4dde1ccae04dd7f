package sqlite

import (
	"context"

	"barid/internal/store"
)

var _ store.PrivateSeenStore = (*Store)(nil)

// PrivateSeen implements store.PrivateSeenStore.
func (s *Store) PrivateSeen(ctx context.Context, mailboxID, accountID int64) ([]store.PrivateSeen, error) {
	var out []store.PrivateSeen
	err := s.read(ctx, func(r *reader) error {
		out = nil
		rows, err := r.query(`SELECT p.uid, p.seen, p.modseq FROM privseen p
			WHERE p.mailbox = ? AND p.account = ?
			AND EXISTS (SELECT 1 FROM msgflags f WHERE f.mailbox = p.mailbox AND f.uid = p.uid)
			ORDER BY p.uid`, mailboxID, accountID)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var uid, modseq int64
			var seen bool
			if err := rows.Scan(&uid, &seen, &modseq); err != nil {
				return err
			}
			out = append(out, store.PrivateSeen{UID: store.UID(uid), Seen: seen, ModSeq: store.ModSeq(modseq)})
		}
		return rows.Err()
	})
	return out, err
}

// SetPrivateSeen implements store.PrivateSeenStore.
func (s *Store) SetPrivateSeen(ctx context.Context, mailboxID, accountID int64, uids []store.UID, seen bool) ([]store.PrivateSeen, error) {
	uids = sortedUIDs(uids)
	var out []store.PrivateSeen
	err := s.write(ctx, func(t *wtx) error {
		out = nil
		m, err := loadMbox(t, mailboxID)
		if err != nil {
			return err
		}
		// rows of messages expunged since: removed here, not by EXPUNGE
		if _, err := t.exec(`DELETE FROM privseen WHERE mailbox = ? AND account = ?
			AND NOT EXISTS (SELECT 1 FROM msgflags f WHERE f.mailbox = privseen.mailbox AND f.uid = privseen.uid)`,
			mailboxID, accountID); err != nil {
			return err
		}
		if len(uids) == 0 {
			return nil
		}
		have, err := flagRows(t, mailboxID, uids, "")
		if err != nil {
			return err
		}
		cur := make(map[store.UID]bool)
		rows, err := t.query(`SELECT uid, seen FROM privseen WHERE mailbox = ? AND account = ?`, mailboxID, accountID)
		if err != nil {
			return err
		}
		for rows.Next() {
			var uid int64
			var on bool
			if err := rows.Scan(&uid, &on); err != nil {
				rows.Close()
				return err
			}
			cur[store.UID(uid)] = on
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		modseq := m.hms + 1
		var ch []store.Change
		for _, r := range have {
			if cur[r.uid] == seen {
				continue
			}
			if _, err := t.exec(`INSERT INTO privseen (mailbox, account, uid, seen, modseq) VALUES (?, ?, ?, ?, ?)
				ON CONFLICT (mailbox, account, uid) DO UPDATE SET seen = excluded.seen, modseq = excluded.modseq`,
				mailboxID, accountID, int64(r.uid), seen, int64(modseq)); err != nil {
				return err
			}
			out = append(out, store.PrivateSeen{UID: r.uid, Seen: seen, ModSeq: modseq})
			ch = append(ch, store.Change{Kind: store.ChangePrivateSeen, AccountID: accountID, MailboxID: mailboxID, UID: r.uid, ModSeq: modseq})
		}
		if len(out) == 0 {
			return nil
		}
		if _, err := t.exec(`UPDATE mailboxes SET highestmodseq = ? WHERE id = ?`, int64(modseq), mailboxID); err != nil {
			return err
		}
		t.emit(ch) // the flag index follows the modseq
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

var _ store.PrivateSeenCopier = (*Store)(nil)

// AllPrivateSeen implements store.PrivateSeenCopier.
func (s *Store) AllPrivateSeen(ctx context.Context, mailboxID int64) ([]store.AccountPrivateSeen, error) {
	var out []store.AccountPrivateSeen
	err := s.read(ctx, func(r *reader) error {
		out = nil
		rows, err := r.query(`SELECT p.account, p.uid, p.seen, p.modseq FROM privseen p
			WHERE p.mailbox = ?
			AND EXISTS (SELECT 1 FROM msgflags f WHERE f.mailbox = p.mailbox AND f.uid = p.uid)
			ORDER BY p.account, p.uid`, mailboxID)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var acct, uid, modseq int64
			var seen bool
			if err := rows.Scan(&acct, &uid, &seen, &modseq); err != nil {
				return err
			}
			out = append(out, store.AccountPrivateSeen{AccountID: acct,
				PrivateSeen: store.PrivateSeen{UID: store.UID(uid), Seen: seen, ModSeq: store.ModSeq(modseq)}})
		}
		return rows.Err()
	})
	return out, err
}

// ImportPrivateSeen implements store.PrivateSeenCopier.
func (s *Store) ImportPrivateSeen(ctx context.Context, mailboxID, accountID int64, rows []store.PrivateSeen) error {
	return s.write(ctx, func(t *wtx) error {
		if _, err := loadMbox(t, mailboxID); err != nil {
			return err
		}
		for _, r := range rows {
			if _, err := t.exec(`INSERT INTO privseen (mailbox, account, uid, seen, modseq)
				SELECT ?1, ?2, ?3, ?4, ?5 WHERE EXISTS (SELECT 1 FROM msgflags WHERE mailbox = ?1 AND uid = ?3)
				ON CONFLICT (mailbox, account, uid) DO UPDATE SET seen = excluded.seen, modseq = excluded.modseq`,
				mailboxID, accountID, int64(r.UID), r.Seen, int64(r.ModSeq)); err != nil {
				return err
			}
		}
		return nil
	})
}
