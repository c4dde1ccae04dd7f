package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"barid/internal/store"
)

// SetModSeqs gives copied messages their source MODSEQs and raises
// HIGHESTMODSEQ (store.ModSeqSetter, for barid store copy), under the
// mailbox's row lock.
func (s *Store) SetModSeqs(ctx context.Context, mailboxID int64, uids []store.UID, modseqs []store.ModSeq, highest store.ModSeq) error {
	var ch []store.Change
	return s.writeChanges(ctx, &ch, func(tx pgx.Tx) error {
		ch = nil
		mbs, err := lockMailboxes(ctx, tx, mailboxID)
		if err != nil {
			return err
		}
		m := mbs[mailboxID]
		h, err := store.CheckSetModSeqs(m.hms, uids, modseqs, highest)
		if err != nil {
			return err
		}
		if len(uids) > 0 {
			us := make([]int64, len(uids))
			ms := make([]int64, len(uids))
			for i := range uids {
				us[i], ms[i] = int64(uids[i]), int64(modseqs[i])
			}
			rows, err := tx.Query(ctx, `UPDATE msgflags f SET modseq = u.m
				FROM unnest($2::bigint[], $3::bigint[]) AS u(uid, m)
				WHERE f.mailbox = $1 AND f.uid = u.uid
				RETURNING f.uid, f.modseq, f.sysflags, f.keywords`, mailboxID, us, ms)
			if err != nil {
				return err
			}
			for rows.Next() {
				var u, ms int64
				var sys int32
				var kws string
				if err := rows.Scan(&u, &ms, &sys, &kws); err != nil {
					rows.Close()
					return err
				}
				ch = append(ch, store.Change{Kind: store.ChangeFlags, AccountID: m.account, MailboxID: mailboxID,
					UID: store.UID(u), ModSeq: store.ModSeq(ms), Flags: store.Flags{System: store.SysFlags(sys), Keywords: decodeKeywords(kws)}})
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
			if len(ch) != len(uids) {
				return store.ErrNoMessage
			}
		}
		if h != m.hms {
			_, err = tx.Exec(ctx, `UPDATE mailboxes SET highestmodseq = $1 WHERE id = $2`, int64(h), mailboxID)
		}
		return err
	})
}
