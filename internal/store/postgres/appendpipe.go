package postgres

import (
	"context"
	"fmt"
	"math"

	"github.com/jackc/pgx/v5"

	"barid/internal/store"
)

// anyKeywords reports whether a message to append carries a keyword
// (whose spelling appendRowsAt registers before the rows).
func anyKeywords(msgs []store.NewMessage) bool {
	for i := range msgs {
		if len(msgs[i].Flags.Keywords) > 0 {
			return true
		}
	}
	return false
}

// appendPipelined is AppendMessages in two round trips instead of four
// (docs/scale-out.md, "Round trips"), for messages without keywords:
//
//  1. BEGIN, bump (the UPDATE takes the mailbox row's lock, allocates
//     the UIDs and the MODSEQ and returns them with the owner), the
//     quota read (after bump's charge) and the thread index lookup,
//     pipelined;
//  2. the rows (blob bytes, messages, msgflags), the thread index
//     writes, the change notifications and COMMIT, pipelined
//     (ptx.deferExec).
//
// PostgreSQL runs a pipeline's statements in order, each later one with
// a snapshot taken after the earlier ones, as lockMailboxes, bump,
// checkQuota and the inserts did one by one; an error in step 2 fails
// the COMMIT, which rolls everything back.
func (s *Store) appendPipelined(ctx context.Context, t *ptx, mailboxID int64, msgs []store.NewMessage) ([]store.UID, []store.Change, error) {
	flags := make([]store.Flags, len(msgs))
	var total, unseen, deleted int64
	emailIDs := make([]int64, len(msgs))
	for i := range msgs {
		flags[i] = normFlags(msgs[i].Flags)
		u, d := unseenDeleted(flags[i].System)
		unseen += u
		deleted += d
		total += msgs[i].Size
		emailIDs[i] = emailID(msgs[i].EmailID)
	}
	n := len(msgs)
	quota := !s.quotaOff.Load()
	keys := store.ThreadLookupKeys(msgs)
	const owner = `(SELECT account FROM mailboxes WHERE id = $1)`
	br, err := t.beginBatch(ctx, func(b *pgx.Batch) {
		b.Queue(bumpSQL+` RETURNING account, uidvalidity, uidnext, highestmodseq`,
			mailboxID, n, int64(n), unseen, deleted, total)
		if quota {
			b.Queue(`SELECT storage, messages, limit_storage, limit_messages FROM quotas WHERE account = `+owner, mailboxID)
		}
		if len(keys) > 0 {
			b.Queue(`SELECT msgid, thread, owned FROM thread_msgids WHERE account = `+owner+` AND msgid = ANY($2)`,
				mailboxID, keys)
		}
	})
	if err != nil {
		return nil, nil, err
	}
	defer br.Close()
	m := &mboxState{id: mailboxID}
	var uv, next, hms int64
	err = br.QueryRow().Scan(&m.account, &uv, &next, &hms)
	if errNoRows(err) {
		return nil, nil, store.ErrNoMailbox
	}
	if err != nil {
		return nil, nil, err
	}
	// RFC 9051 §2.3.1.1: a UID is an nz-number (32 bits); the UPDATE is
	// rolled back with the transaction.
	if next-1 > math.MaxUint32 {
		return nil, nil, fmt.Errorf("%w: UID space of the mailbox exhausted (limit 2^32-1)", store.ErrCannot)
	}
	m.uidvalidity, m.uidnext, m.hms = uint32(uv), store.UID(next), store.ModSeq(hms)
	if quota {
		q, err := s.scanQuota(m.account, br.QueryRow())
		if err != nil {
			return nil, nil, err
		}
		if err := q.Limits.Check(q.Usage); err != nil {
			return nil, nil, err
		}
	}
	known := map[int64]store.ThreadEntry{}
	if len(keys) > 0 {
		rows, err := br.Query()
		if err != nil {
			return nil, nil, err
		}
		if err := scanThreads(rows, known); err != nil {
			return nil, nil, err
		}
	}
	if err := br.Close(); err != nil {
		return nil, nil, err
	}
	b := &pgx.Batch{}
	threads := queueThreads(b, m.account, msgs, emailIDs, known)
	uids, ch := s.queueAppendRows(b, m, nil, m.uidnext-store.UID(n), m.hms, msgs, flags, emailIDs, threads)
	for _, q := range b.QueuedQueries {
		t.deferExec(q.SQL, q.Arguments...)
	}
	return uids, ch, nil
}
