package postgres

import (
	"context"
	"fmt"

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
				WHERE f.mailbox = $1 AND f.uid = ANY($2) AND f.uid = u.uid
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

// SetTombstones records the source's expunged messages
// (store.ModSeqSetter, for barid store copy), under the mailbox's row
// lock.
func (s *Store) SetTombstones(ctx context.Context, mailboxID int64, tombs []store.StoreResult) error {
	return s.write(ctx, func(tx pgx.Tx) error {
		mbs, err := lockMailboxes(ctx, tx, mailboxID)
		if err != nil {
			return err
		}
		m := mbs[mailboxID]
		if err := store.CheckTombstones(m.uidnext, m.hms, tombs); err != nil {
			return err
		}
		if len(tombs) == 0 {
			return nil
		}
		us := make([]int64, len(tombs))
		ms := make([]int64, len(tombs))
		sys := make([]int32, len(tombs))
		kws := make([]string, len(tombs))
		for i, tb := range tombs {
			us[i], ms[i], sys[i], kws[i] = int64(tb.UID), int64(tb.ModSeq), int32(tb.Flags.System), encodeKeywords(tb.Flags.Keywords)
		}
		var live int64
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM msgflags WHERE mailbox = $1 AND uid = ANY($2)`, mailboxID, us).Scan(&live); err != nil {
			return err
		}
		if live > 0 {
			return fmt.Errorf("%w: %d of the UIDs are messages of the mailbox, not expunged", store.ErrCannot, live)
		}
		_, err = tx.Exec(ctx, `INSERT INTO expunged (mailbox, uid, modseq, sysflags, keywords)
			SELECT $1, u.uid, u.m, u.s, u.k FROM unnest($2::bigint[], $3::bigint[], $4::integer[], $5::text[]) AS u(uid, m, s, k)
			ON CONFLICT (mailbox, uid) DO UPDATE SET modseq = excluded.modseq, sysflags = excluded.sysflags, keywords = excluded.keywords`,
			mailboxID, us, ms, sys, kws)
		return err
	})
}
