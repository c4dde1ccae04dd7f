package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	"barid/internal/store"
)

var _ store.PrivateSeenStore = (*Store)(nil)

// PrivateSeen implements store.PrivateSeenStore.
func (s *Store) PrivateSeen(ctx context.Context, mailboxID, accountID int64) ([]store.PrivateSeen, error) {
	rows, err := s.query(ctx, `SELECT p.uid, p.seen, p.modseq FROM privseen p
		WHERE p.mailbox = $1 AND p.account = $2
		AND EXISTS (SELECT 1 FROM msgflags f WHERE f.mailbox = p.mailbox AND f.uid = p.uid)
		ORDER BY p.uid`, mailboxID, accountID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.PrivateSeen
	for rows.Next() {
		var uid, modseq int64
		var seen bool
		if err := rows.Scan(&uid, &seen, &modseq); err != nil {
			return nil, err
		}
		out = append(out, store.PrivateSeen{UID: store.UID(uid), Seen: seen, ModSeq: store.ModSeq(modseq)})
	}
	return out, rows.Err()
}

// SetPrivateSeen implements store.PrivateSeenStore.
func (s *Store) SetPrivateSeen(ctx context.Context, mailboxID, accountID int64, uids []store.UID, seen bool) ([]store.PrivateSeen, error) {
	uids = sortedUIDs(uids)
	var out []store.PrivateSeen
	err := s.write(ctx, func(tx pgx.Tx) error {
		out = nil
		// the mailbox row lock orders this modseq with the owner's writes
		mbs, err := lockMailboxes(ctx, tx, mailboxID)
		if err != nil {
			return err
		}
		m := mbs[mailboxID]
		if m == nil {
			return store.ErrNoMailbox
		}
		// rows of messages expunged since: removed here, not by EXPUNGE
		if _, err := tx.Exec(ctx, `DELETE FROM privseen p WHERE p.mailbox = $1 AND p.account = $2
			AND NOT EXISTS (SELECT 1 FROM msgflags f WHERE f.mailbox = p.mailbox AND f.uid = p.uid)`,
			mailboxID, accountID); err != nil {
			return err
		}
		if len(uids) == 0 {
			return nil
		}
		have, err := flagRows(ctx, tx, mailboxID, uids, "")
		if err != nil {
			return err
		}
		cur := make(map[store.UID]bool)
		rows, err := tx.Query(ctx, `SELECT uid, seen FROM privseen WHERE mailbox = $1 AND account = $2`, mailboxID, accountID)
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
		var changed []int64
		for _, r := range have {
			if cur[r.uid] == seen {
				continue
			}
			changed = append(changed, int64(r.uid))
			out = append(out, store.PrivateSeen{UID: r.uid, Seen: seen, ModSeq: modseq})
		}
		if len(changed) == 0 {
			return nil
		}
		if _, err := tx.Exec(ctx, `INSERT INTO privseen (mailbox, account, uid, seen, modseq)
			SELECT $1, $2, u, $4, $5 FROM unnest($3::bigint[]) AS u
			ON CONFLICT (mailbox, account, uid) DO UPDATE SET seen = excluded.seen, modseq = excluded.modseq`,
			mailboxID, accountID, changed, seen, int64(modseq)); err != nil {
			return err
		}
		if _, err = tx.Exec(ctx, `UPDATE mailboxes SET highestmodseq = $1 WHERE id = $2`, int64(modseq), mailboxID); err != nil {
			return err
		}
		// Other nodes' sessions of the user hear it (hintPrivateSeen);
		// the caller publishes it on this node.
		return s.notifyTx(ctx, tx, []store.Change{{Kind: store.ChangePrivateSeen, AccountID: accountID, MailboxID: mailboxID, ModSeq: modseq}})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

var _ store.PrivateSeenCopier = (*Store)(nil)

// AllPrivateSeen implements store.PrivateSeenCopier.
func (s *Store) AllPrivateSeen(ctx context.Context, mailboxID int64) ([]store.AccountPrivateSeen, error) {
	rows, err := s.query(ctx, `SELECT p.account, p.uid, p.seen, p.modseq FROM privseen p
		WHERE p.mailbox = $1
		AND EXISTS (SELECT 1 FROM msgflags f WHERE f.mailbox = p.mailbox AND f.uid = p.uid)
		ORDER BY p.account, p.uid`, mailboxID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.AccountPrivateSeen
	for rows.Next() {
		var acct, uid, modseq int64
		var seen bool
		if err := rows.Scan(&acct, &uid, &seen, &modseq); err != nil {
			return nil, err
		}
		out = append(out, store.AccountPrivateSeen{AccountID: acct,
			PrivateSeen: store.PrivateSeen{UID: store.UID(uid), Seen: seen, ModSeq: store.ModSeq(modseq)}})
	}
	return out, rows.Err()
}

// ImportPrivateSeen implements store.PrivateSeenCopier.
func (s *Store) ImportPrivateSeen(ctx context.Context, mailboxID, accountID int64, rows []store.PrivateSeen) error {
	uids := make([]int64, len(rows))
	seen := make([]bool, len(rows))
	mods := make([]int64, len(rows))
	for i, r := range rows {
		uids[i], seen[i], mods[i] = int64(r.UID), r.Seen, int64(r.ModSeq)
	}
	return s.write(ctx, func(tx pgx.Tx) error {
		var one int
		if err := tx.QueryRow(ctx, `SELECT 1 FROM mailboxes WHERE id = $1`, mailboxID).Scan(&one); err != nil {
			if errors.Is(err, pgx.ErrNoRows) {
				return store.ErrNoMailbox
			}
			return err
		}
		if len(rows) == 0 {
			return nil
		}
		_, err := tx.Exec(ctx, `INSERT INTO privseen (mailbox, account, uid, seen, modseq)
			SELECT $1, $2, r.uid, r.seen, r.modseq
			FROM unnest($3::bigint[], $4::boolean[], $5::bigint[]) AS r (uid, seen, modseq)
			WHERE EXISTS (SELECT 1 FROM msgflags f WHERE f.mailbox = $1 AND f.uid = r.uid)
			ON CONFLICT (mailbox, account, uid) DO UPDATE SET seen = excluded.seen, modseq = excluded.modseq`,
			mailboxID, accountID, uids, seen, mods)
		return err
	})
}
