package postgres

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5"

	"barid/internal/store"
)

// segmentGap is the largest UID gap kept inside one range query. Dense
// sets (1:*) become one BETWEEN scan merged against the list; sparse sets
// become several short scans instead of walking the whole mailbox.
const segmentGap = 64

// segmentMax caps the UIDs of one segment.
const segmentMax = 8192

// segments splits sorted uids into runs whose internal gaps are at most
// segmentGap and calls fn with each run.
func segments(uids []store.UID, fn func(run []store.UID) error) error {
	for i := 0; i < len(uids); {
		j := i + 1
		for j < len(uids) && j-i < segmentMax && uids[j]-uids[j-1] <= segmentGap {
			j++
		}
		if err := fn(uids[i:j]); err != nil {
			return err
		}
		i = j
	}
	return nil
}

// sortedUIDs returns uids ascending and duplicate-free (the contract
// promises that already; a caller that breaks it gets a sorted copy
// rather than silently skipped messages).
func sortedUIDs(uids []store.UID) []store.UID {
	for i := 1; i < len(uids); i++ {
		if uids[i] <= uids[i-1] {
			c := slices.Clone(uids)
			slices.Sort(c)
			return slices.Compact(c)
		}
	}
	return uids
}

func int64s(uids []store.UID) []int64 {
	out := make([]int64, len(uids))
	for i, u := range uids {
		out[i] = int64(u)
	}
	return out
}

func toUIDs(v []int64) []store.UID {
	if len(v) == 0 {
		return nil
	}
	out := make([]store.UID, len(v))
	for i, u := range v {
		out[i] = store.UID(u)
	}
	return out
}

// flagRow is the msgflags part of a message.
type flagRow struct {
	uid    store.UID
	modseq store.ModSeq
	flags  store.Flags
	size   int64
}

const flagRowCols = `SELECT uid, modseq, sysflags, keywords, size FROM msgflags WHERE mailbox = $1 `

// flagRowsRange reads the msgflags rows of one segment of UIDs.
const flagRowsRange = flagRowCols + `AND uid BETWEEN $2 AND $3 ORDER BY uid`

// scanFlagRows appends to out the rows (closed when done) whose UIDs are
// in want (nil: all), in UID order.
func scanFlagRows(rows pgx.Rows, want []store.UID, out *[]flagRow) error {
	defer rows.Close()
	k := 0
	for rows.Next() {
		var uid, modseq, size int64
		var sys int32
		var kw string
		if err := rows.Scan(&uid, &modseq, &sys, &kw, &size); err != nil {
			return err
		}
		if want != nil {
			for k < len(want) && want[k] < store.UID(uid) {
				k++
			}
			if k == len(want) || want[k] != store.UID(uid) {
				continue
			}
		}
		*out = append(*out, flagRow{uid: store.UID(uid), modseq: store.ModSeq(modseq),
			flags: store.Flags{System: store.SysFlags(sys), Keywords: decodeKeywords(kw)}, size: size})
	}
	return rows.Err()
}

// flagRows reads msgflags rows of the listed messages (nil uids: every
// message matching where) in the caller's transaction, in UID order.
func flagRows(ctx context.Context, tx pgx.Tx, mailboxID int64, uids []store.UID, where string) ([]flagRow, error) {
	var out []flagRow
	if uids == nil {
		rows, err := tx.Query(ctx, flagRowCols+where+` ORDER BY uid`, mailboxID)
		if err != nil {
			return nil, err
		}
		return out, scanFlagRows(rows, nil, &out)
	}
	err := segments(uids, func(run []store.UID) error {
		rows, err := tx.Query(ctx, flagRowsRange, mailboxID, int64(run[0]), int64(run[len(run)-1]))
		if err != nil {
			return err
		}
		return scanFlagRows(rows, run, &out)
	})
	return out, err
}

// lockAndFlagRows is lockMailboxes(mailboxID) then flagRows(uids), in
// one round trip with the transaction's BEGIN when tx has not begun
// yet: PostgreSQL runs the pipelined statements in order, so the reads
// take their snapshots after the lock is held, as when sent one by one.
// With nil uids it reads the rows matching where, as flagRows does.
func lockAndFlagRows(ctx context.Context, tx pgx.Tx, mailboxID int64, uids []store.UID, where string) (*mboxState, []flagRow, error) {
	t, ok := tx.(*ptx)
	if !ok || t.begun {
		mbs, err := lockMailboxes(ctx, tx, mailboxID)
		if err != nil {
			return nil, nil, err
		}
		rows, err := flagRows(ctx, tx, mailboxID, uids, where)
		return mbs[mailboxID], rows, err
	}
	var runs [][]store.UID
	if uids == nil {
		runs = [][]store.UID{nil}
	}
	segments(uids, func(run []store.UID) error { //nolint:errcheck // fn returns nil
		runs = append(runs, run)
		return nil
	})
	br, err := t.beginBatch(ctx, func(b *pgx.Batch) {
		b.Queue(lockMailboxesSQL, []int64{mailboxID})
		for _, run := range runs {
			if run == nil {
				b.Queue(flagRowCols+where+` ORDER BY uid`, mailboxID)
				continue
			}
			b.Queue(flagRowsRange, mailboxID, int64(run[0]), int64(run[len(run)-1]))
		}
	})
	if err != nil {
		return nil, nil, err
	}
	defer br.Close()
	lrows, err := br.Query()
	if err != nil {
		return nil, nil, err
	}
	mbs, err := scanLocked(lrows, []int64{mailboxID})
	if err != nil {
		return nil, nil, err
	}
	var out []flagRow
	for _, run := range runs {
		rows, err := br.Query()
		if err != nil {
			return nil, nil, err
		}
		if err := scanFlagRows(rows, run, &out); err != nil {
			return nil, nil, err
		}
	}
	return mbs[mailboxID], out, br.Close()
}

// mboxState is the writable part of a mailbox row, read under its lock.
type mboxState struct {
	id          int64
	account     int64
	uidvalidity uint32
	uidnext     store.UID
	hms         store.ModSeq
}

// lockMailboxes takes the row locks of the given mailboxes in id order
// (so two transactions locking the same pair never deadlock) and returns
// their state by id. A missing mailbox is ErrNoMailbox. This is the lock
// every writer of a mailbox's messages holds until COMMIT: it orders
// them, on every node, and so the UIDs and MODSEQs they allocate.
func lockMailboxes(ctx context.Context, tx pgx.Tx, ids ...int64) (map[int64]*mboxState, error) {
	rows, err := tx.Query(ctx, lockMailboxesSQL, ids)
	if err != nil {
		return nil, err
	}
	return scanLocked(rows, ids)
}

const lockMailboxesSQL = `SELECT id, account, uidvalidity, uidnext, highestmodseq FROM mailboxes
		WHERE id = ANY($1) ORDER BY id FOR NO KEY UPDATE`

// scanLocked reads lockMailboxesSQL's rows (and closes them).
func scanLocked(rows pgx.Rows, ids []int64) (map[int64]*mboxState, error) {
	defer rows.Close()
	out := make(map[int64]*mboxState, len(ids))
	for rows.Next() {
		var m mboxState
		var uv, next, hms int64
		if err := rows.Scan(&m.id, &m.account, &uv, &next, &hms); err != nil {
			return nil, err
		}
		m.uidvalidity, m.uidnext, m.hms = uint32(uv), store.UID(next), store.ModSeq(hms)
		out[m.id] = &m
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for _, id := range ids {
		if out[id] == nil {
			return nil, store.ErrNoMailbox
		}
	}
	return out, nil
}

// bump allocates n UIDs (n may be 0) and one MODSEQ for the locked
// mailbox and applies the counter deltas, in one UPDATE ... RETURNING:
// the values come from the row as this transaction's lock sees it, and
// become visible when it commits, after every smaller one.
func bump(ctx context.Context, tx pgx.Tx, m *mboxState, n int, dMessages, dUnseen, dDeleted, dSize int64) (first store.UID, modseq store.ModSeq, err error) {
	var next, hms int64
	err = tx.QueryRow(ctx, bumpSQL+` RETURNING uidnext, highestmodseq`,
		m.id, n, dMessages, dUnseen, dDeleted, dSize).Scan(&next, &hms)
	if errNoRows(err) {
		return 0, 0, store.ErrNoMailbox
	}
	if err != nil {
		return 0, 0, err
	}
	// RFC 9051 §2.3.1.1: a UID is an nz-number (32 bits). The UPDATE is
	// rolled back with the transaction.
	if next-1 > math.MaxUint32 {
		return 0, 0, fmt.Errorf("%w: UID space of the mailbox exhausted (limit 2^32-1)", store.ErrCannot)
	}
	first = store.UID(next - int64(n))
	m.uidnext, m.hms = store.UID(next), store.ModSeq(hms)
	return first, m.hms, nil
}

const bumpSQL = `UPDATE mailboxes SET uidnext = uidnext + $2, highestmodseq = highestmodseq + 1,
		messages = messages + $3, unseen = unseen + $4, deleted = deleted + $5, size = size + $6
		WHERE id = $1`

// bumpAtCommit is bump for a change that adds no message, with the
// UPDATE sent with COMMIT (ptx.deferExec) instead of on its own: under
// m's row lock, taken by this transaction, the new MODSEQ can only be
// m.hms + 1. Without a ptx it is bump.
func bumpAtCommit(ctx context.Context, tx pgx.Tx, m *mboxState, dUnseen, dDeleted int64) (store.ModSeq, error) {
	t, ok := tx.(*ptx)
	if !ok {
		_, modseq, err := bump(ctx, tx, m, 0, 0, dUnseen, dDeleted, 0)
		return modseq, err
	}
	t.deferMerge(mergeWrite, bumpSQL, m.id, 0, int64(0), dUnseen, dDeleted, int64(0))
	m.hms++
	return m.hms, nil
}

const (
	insertMessage = `INSERT INTO messages (mailbox, uid, blob_id, size,
	internaldate, savedate, header, structure, envelope, subject, from_addr, to_addr, cc_addr, bcc_addr, sentdate,
	emailid, preview, threadid)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)`
	insertFlags = `INSERT INTO msgflags (mailbox, uid, modseq, sysflags, keywords, size) VALUES ($1, $2, $3, $4, $5, $6)`
)

// AppendMessages adds messages with consecutive new UIDs and one new
// modseq (RFC 7162 §3.1: a single command may give all its changes one
// modseq), allocated by bump under the mailbox's row lock in the
// transaction that inserts the rows.
func (s *Store) AppendMessages(ctx context.Context, mailboxID int64, msgs []store.NewMessage) ([]store.UID, []store.Change, error) {
	uids, ch, err := s.appendMessages(ctx, mailboxID, msgs)
	if err == nil {
		s.fc.own(ch) // flagcache.go
	}
	return uids, ch, err
}

func (s *Store) appendMessages(ctx context.Context, mailboxID int64, msgs []store.NewMessage) ([]store.UID, []store.Change, error) {
	if err := checkInline(msgs); err != nil {
		return nil, nil, err
	}
	var uids []store.UID
	var ch []store.Change
	err := s.writeChanges(ctx, &ch, func(tx pgx.Tx) error {
		uids, ch = nil, nil
		if t, ok := tx.(*ptx); ok && !t.begun && !anyKeywords(msgs) {
			var err error
			uids, ch, err = s.appendPipelined(ctx, t, mailboxID, msgs)
			return err
		}
		mbs, err := lockMailboxes(ctx, tx, mailboxID)
		if err != nil {
			return err
		}
		uids, ch, err = s.appendRows(ctx, tx, mbs[mailboxID], msgs)
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	return uids, ch, nil
}

// checkInline refuses inline bytes above maxInlineBytes.
func checkInline(msgs []store.NewMessage) error {
	for i := range msgs {
		if int64(len(msgs[i].Inline)) > maxInlineBytes {
			return fmt.Errorf("postgres: inline message of %d bytes exceeds the inline_max_bytes ceiling (%d)", len(msgs[i].Inline), maxInlineBytes)
		}
	}
	return nil
}

// appendRows is AppendMessages inside a transaction that holds m's row
// lock; m's UIDNEXT and HIGHESTMODSEQ advance (in m too, for a later
// step of the same transaction).
func (s *Store) appendRows(ctx context.Context, tx pgx.Tx, m *mboxState, msgs []store.NewMessage) ([]store.UID, []store.Change, error) {
	return s.appendRowsAt(ctx, tx, m, nil, msgs)
}

// appendRowsAt is appendRows with the caller's UIDs (at == nil: new
// consecutive ones), checked by store.CheckImportUIDs.
func (s *Store) appendRowsAt(ctx context.Context, tx pgx.Tx, m *mboxState, at []store.UID, msgs []store.NewMessage) ([]store.UID, []store.Change, error) {
	if len(msgs) == 0 {
		return nil, nil, nil
	}
	kw := keywordCache{}
	flags := make([]store.Flags, len(msgs))
	var total, unseen, deleted int64
	for i := range msgs {
		f, err := kw.canonicalIn(ctx, s, tx, m, normFlags(msgs[i].Flags))
		if err != nil {
			return nil, nil, err
		}
		flags[i] = f
		u, d := unseenDeleted(f.System)
		unseen += u
		deleted += d
		total += msgs[i].Size
	}
	n := len(msgs)
	if at != nil {
		// lockMailboxes read UIDNEXT under the row lock.
		if err := store.CheckImportUIDs(m.uidnext, at, len(msgs)); err != nil {
			return nil, nil, err
		}
		n = int(at[len(at)-1] + 1 - m.uidnext)
	}
	emailIDs := make([]int64, len(msgs))
	for i := range msgs {
		emailIDs[i] = emailID(msgs[i].EmailID)
	}
	b := &pgx.Batch{}
	var first store.UID
	var modseq store.ModSeq
	var threads []int64
	if t, ok := tx.(*ptx); ok && t.begun {
		known, err := s.bumpCheckLookup(ctx, t, m, n, int64(len(msgs)), unseen, deleted, total, msgs)
		if err != nil {
			return nil, nil, err
		}
		first, modseq = m.uidnext-store.UID(n), m.hms
		threads = queueThreads(b, m.account, msgs, emailIDs, known)
	} else {
		var err error
		first, modseq, err = bump(ctx, tx, m, n, int64(len(msgs)), unseen, deleted, total)
		if err != nil {
			return nil, nil, err
		}
		// bump just charged the owner's quota (trigger quotas_charge).
		if err := s.checkQuota(ctx, tx, m.account); err != nil {
			return nil, nil, err
		}
		// bump's quota charge holds the owner's quotas row lock until
		// the commit: the thread index is read and written by one
		// delivery to the account at a time.
		if threads, err = assignThreads(ctx, tx, b, m.account, msgs, emailIDs); err != nil {
			return nil, nil, err
		}
	}
	uids, ch := s.queueAppendRows(b, m, at, first, modseq, msgs, flags, emailIDs, threads)
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return nil, nil, err
	}
	return uids, ch, nil
}

// queueAppendRows queues the rows of msgs (blob bytes, messages,
// msgflags) on b, with UIDs from first (or at) and one MODSEQ, and
// returns the UIDs and the changes to publish.
func (s *Store) queueAppendRows(b *pgx.Batch, m *mboxState, at []store.UID, first store.UID, modseq store.ModSeq,
	msgs []store.NewMessage, flags []store.Flags, emailIDs, threads []int64) ([]store.UID, []store.Change) {
	mailboxID := m.id
	now := encodeTime(s.now())
	uids := make([]store.UID, len(msgs))
	ch := make([]store.Change, len(msgs))
	for i := range msgs {
		nm := &msgs[i]
		uid := first + store.UID(i)
		if at != nil {
			uid = at[i]
		}
		if nm.Inline != nil {
			// Takes the blobdata row's lock if it exists, so a
			// concurrent expunge of another message with the same
			// bytes waits and then sees this message (dropInline).
			b.Queue(`INSERT INTO blobdata (id, data) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET id = excluded.id`,
				nm.BlobID, nm.Inline)
		}
		b.Queue(insertMessage, mailboxID, int64(uid), nm.BlobID, nm.Size, encodeTime(nm.InternalDate), now,
			nm.Header, nm.Structure, nm.Envelope, []byte(nm.Subject), []byte(nm.From), []byte(nm.To),
			[]byte(nm.Cc), []byte(nm.Bcc), encodeTime(nm.SentDate), emailIDs[i], previewValue(nm), threads[i])
		b.Queue(insertFlags, mailboxID, int64(uid), int64(modseq), int32(flags[i].System),
			encodeKeywords(flags[i].Keywords), nm.Size)
		uids[i] = uid
		ch[i] = store.Change{Kind: store.ChangeAdded, AccountID: m.account, MailboxID: mailboxID, UID: uid,
			ModSeq: modseq, Flags: flags[i], Size: nm.Size}
	}
	return uids, ch
}

// bumpCheckLookup is, for appendRowsAt in a ptx, bump, checkQuota and
// the thread index lookup in one round trip: PostgreSQL runs them in
// that order, each later statement with a snapshot taken after the
// earlier ones (so the quota read sees bump's charge, and the thread
// index is read under the quotas row lock bump's charge took). Under
// m's row lock bump's results are known in advance: UIDNEXT + n and
// HIGHESTMODSEQ + 1; m advances to them.
func (s *Store) bumpCheckLookup(ctx context.Context, t *ptx, m *mboxState, n int, dMessages, dUnseen, dDeleted, dSize int64, msgs []store.NewMessage) (map[int64]store.ThreadEntry, error) {
	// RFC 9051 §2.3.1.1: a UID is an nz-number (32 bits).
	if int64(m.uidnext)+int64(n)-1 > math.MaxUint32 {
		return nil, fmt.Errorf("%w: UID space of the mailbox exhausted (limit 2^32-1)", store.ErrCannot)
	}
	quota := !s.quotaOff.Load()
	keys := store.ThreadLookupKeys(msgs)
	b := &pgx.Batch{}
	b.Queue(bumpSQL, m.id, n, dMessages, dUnseen, dDeleted, dSize)
	if quota {
		b.Queue(quotaSelect, m.account)
	}
	if len(keys) > 0 {
		b.Queue(threadLookup, m.account, keys)
	}
	br := t.SendBatch(ctx, b)
	defer br.Close()
	tag, err := br.Exec()
	if err != nil {
		return nil, err
	}
	if tag.RowsAffected() == 0 {
		return nil, store.ErrNoMailbox
	}
	if quota {
		q, err := s.scanQuota(m.account, br.QueryRow())
		if err != nil {
			return nil, err
		}
		if err := q.Limits.Check(q.Usage); err != nil {
			return nil, err
		}
	}
	known := map[int64]store.ThreadEntry{}
	if len(keys) > 0 {
		rows, err := br.Query()
		if err != nil {
			return nil, err
		}
		if err := scanThreads(rows, known); err != nil {
			return nil, err
		}
	}
	if err := br.Close(); err != nil {
		return nil, err
	}
	m.uidnext += store.UID(n)
	m.hms++
	return known, nil
}

// MessageUIDs returns the mailbox row and all its UIDs from one
// statement, hence one snapshot.
func (s *Store) MessageUIDs(ctx context.Context, mailboxID int64) (*store.Mailbox, []store.UID, error) {
	var list []int64
	mb, err := scanMailbox(s.queryRow(ctx, `SELECT `+mailboxCols+`,
		(SELECT coalesce(array_agg(f.uid ORDER BY f.uid), '{}') FROM msgflags f WHERE f.mailbox = m.id)
		FROM mailboxes m WHERE m.id = $1`, mailboxID), &list)
	if errNoRows(err) {
		return nil, nil, store.ErrNoMailbox
	}
	if err != nil {
		return nil, nil, err
	}
	out := make([]store.UID, len(list))
	for i, u := range list {
		out[i] = store.UID(u)
	}
	return mb, out, nil
}

// UIDsAfter returns the UIDs above after, ascending. UIDs are allocated
// under the mailbox's row lock in the transaction that inserts them, so
// once a UID is visible every smaller one that will ever exist is too:
// the result has no gap that a later call would fill.
func (s *Store) UIDsAfter(ctx context.Context, mailboxID int64, after store.UID) ([]store.UID, error) {
	var list []int64
	err := s.queryRow(ctx, `SELECT coalesce(array_agg(uid ORDER BY uid), '{}') FROM msgflags WHERE mailbox = $1 AND uid > $2`,
		mailboxID, int64(after)).Scan(&list)
	if err != nil {
		return nil, err
	}
	return toUIDs(list), nil
}

// UIDsAfterRecent is UIDsAfter with the mailbox's FIRSTRECENT and
// HIGHESTMODSEQ in one statement (store.NewUIDsReader): a session told
// of new messages reads once, and skips ClaimRecent when nothing is
// left to claim. The FIRSTRECENT read is remembered for the ClaimRecent
// that usually follows on this node, which then need not read it
// again.
func (s *Store) UIDsAfterRecent(ctx context.Context, mailboxID int64, after store.UID) (store.NewUIDs, error) {
	var list []int64
	var first, hms int64
	err := s.queryRow(ctx, `SELECT coalesce((SELECT array_agg(uid ORDER BY uid) FROM msgflags WHERE mailbox = $1 AND uid > $2), '{}'),
		firstrecent, highestmodseq FROM mailboxes WHERE id = $1`, mailboxID, int64(after)).Scan(&list, &first, &hms)
	if errNoRows(err) {
		return store.NewUIDs{}, store.ErrNoMailbox
	}
	if err != nil {
		return store.NewUIDs{}, err
	}
	rc := s.recentClaim(mailboxID)
	rc.mu.Lock()
	rc.read = store.UID(first)
	rc.mu.Unlock()
	return store.NewUIDs{UIDs: toUIDs(list), FirstRecent: store.UID(first), HighestModSeq: store.ModSeq(hms)}, nil
}

// FirstUnseen returns the lowest UID without \Seen, or 0 (RFC 3501
// §6.3.1 OK [UNSEEN]).
func (s *Store) FirstUnseen(ctx context.Context, mailboxID int64) (store.UID, error) {
	var uid *int64
	err := s.queryRow(ctx, `SELECT min(uid) FROM msgflags WHERE mailbox = $1 AND (sysflags & $2) = 0`,
		mailboxID, int32(store.FlagSeen)).Scan(&uid)
	if err != nil || uid == nil {
		return 0, err
	}
	return store.UID(*uid), nil
}

// ExpungedFlags returns, ascending, the listed UIDs that were expunged
// from the mailbox, each with the flags its message had then and the
// modseq of the expunge (store.Store).
func (s *Store) ExpungedFlags(ctx context.Context, mailboxID int64, uids []store.UID) ([]store.StoreResult, error) {
	if len(uids) == 0 {
		return nil, nil
	}
	rows, err := s.query(ctx, `SELECT uid, modseq, sysflags, keywords FROM expunged WHERE mailbox = $1 AND uid = ANY($2) ORDER BY uid`,
		mailboxID, int64s(uids))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.StoreResult
	for rows.Next() {
		var uid, modseq int64
		var sys int32
		var kw string
		if err := rows.Scan(&uid, &modseq, &sys, &kw); err != nil {
			return nil, err
		}
		out = append(out, store.StoreResult{UID: store.UID(uid), ModSeq: store.ModSeq(modseq),
			Flags: store.Flags{System: store.SysFlags(sys), Keywords: decodeKeywords(kw)}})
	}
	return out, rows.Err()
}

// ExpungedSince returns, ascending, the UIDs expunged from the mailbox
// with a modseq above since: the VANISHED (EARLIER) set of QRESYNC
// (RFC 7162 §3.2.5.1), from the tombstones Expunge leaves.
func (s *Store) ExpungedSince(ctx context.Context, mailboxID int64, since store.ModSeq) ([]store.UID, error) {
	var list []int64
	err := s.queryRow(ctx, `SELECT coalesce(array_agg(uid ORDER BY uid), '{}') FROM expunged WHERE mailbox = $1 AND modseq > $2`,
		mailboxID, int64(since)).Scan(&list)
	if err != nil {
		return nil, err
	}
	return toUIDs(list), nil
}

// Fields is store.Fields, named here for brevity.
type Fields = store.Fields

// sizeFromFlags reports whether RFC822.SIZE alone is asked: msgflags has
// it, so the wide row need not be read for it.
func sizeFromFlags(fields Fields) bool {
	return fields&store.FieldSize != 0 && fields&store.FieldBasics == 0
}

// fetchQuery builds the SELECT for the wanted fields: msgflags alone for
// flags, messages alone for the immutable fields, a join for both.
func fetchQuery(fields Fields) string {
	narrowSize := sizeFromFlags(fields)
	flags := fields&store.FieldFlags != 0 || narrowSize
	wide := fields&^(store.FieldFlags|store.FieldSize) != 0
	t := "m"
	if flags || !wide {
		t = "f"
	}
	var b strings.Builder
	b.WriteString("SELECT " + t + ".uid")
	if fields&store.FieldFlags != 0 {
		b.WriteString(", f.modseq, f.sysflags, f.keywords")
	}
	if narrowSize {
		b.WriteString(", f.size")
	}
	if fields&store.FieldBasics != 0 {
		b.WriteString(", m.blob_id, m.size, m.internaldate, m.savedate, m.emailid, m.threadid")
	}
	if fields&store.FieldPreview != 0 {
		b.WriteString(", m.preview")
	}
	if fields&store.FieldHeader != 0 {
		b.WriteString(", m.header")
	}
	if fields&store.FieldStructure != 0 {
		b.WriteString(", m.structure")
	}
	if fields&store.FieldEnvelope != 0 {
		b.WriteString(", m.envelope")
	}
	if fields&store.FieldSearch != 0 {
		b.WriteString(", m.subject, m.from_addr, m.to_addr, m.cc_addr, m.bcc_addr, m.sentdate")
	}
	if fields&store.FieldInline != 0 {
		b.WriteString(", d.data")
	}
	switch {
	case flags && wide:
		b.WriteString(" FROM msgflags f JOIN messages m ON m.mailbox = f.mailbox AND m.uid = f.uid")
	case wide:
		b.WriteString(" FROM messages m")
	default:
		b.WriteString(" FROM msgflags f")
	}
	if fields&store.FieldInline != 0 {
		// The bytes of a small message, in the same statement (and
		// snapshot) as its record (store.FieldInline).
		b.WriteString(" LEFT JOIN blobdata d ON d.id = m.blob_id")
	}
	b.WriteString(" WHERE " + t + ".mailbox = $1 AND " + t + ".uid BETWEEN $2 AND $3 ORDER BY " + t + ".uid")
	return b.String()
}

// FetchMessages calls fn for each listed UID that exists, in UID order,
// loading only the requested columns, in one REPEATABLE READ snapshot.
// fn runs while a pooled connection is held: keep it short.
func (s *Store) FetchMessages(ctx context.Context, mailboxID int64, uids []store.UID, fields store.Fields, fn func(*store.Message) error) error {
	if len(uids) == 0 {
		return nil
	}
	if fields&store.FieldInline != 0 {
		fields |= store.FieldBasics
	}
	uids = sortedUIDs(uids)
	// Flags and sizes from the node's flag cache (flagcache.go), else
	// from msgflags.
	flags := func(f Fields, fn func(*store.Message) error) error {
		if f&^(store.FieldFlags|store.FieldSize) == 0 {
			if ok, err := s.fetchFlagsCached(ctx, mailboxID, uids, f, fn); ok {
				return err
			}
		}
		return s.fetchSorted(ctx, mailboxID, uids, f, fn)
	}
	if fields&^(store.FieldFlags|store.FieldSize) == 0 {
		return flags(fields, fn)
	}
	// Records and bytes from the node's caches (reccache.go).
	ok, err := s.fetchCached(flags, mailboxID, uids, fields, fn)
	if ok {
		return err
	}
	return s.fetchSorted(ctx, mailboxID, uids, fields, fn)
}

// fetchSorted is FetchMessages for ascending, non-empty uids.
func (s *Store) fetchSorted(ctx context.Context, mailboxID int64, uids []store.UID, fields store.Fields, fn func(*store.Message) error) error {
	q := fetchQuery(fields)
	narrowSize := sizeFromFlags(fields)
	run := func(qr querier) error {
		return segments(uids, func(run []store.UID) error {
			rows, err := qr.Query(ctx, q, mailboxID, int64(run[0]), int64(run[len(run)-1]))
			if err != nil {
				return err
			}
			defer rows.Close()
			var (
				uid, modseq, size      int64
				sys                    int32
				kw, blobID             string
				idate, sdate, sentdate *int64
				hdr, strct, env        []byte
				subj, from, to, cc, bc []byte
				emailid, threadid      int64
				preview                []byte
				inline                 []byte
			)
			dst := []any{&uid}
			if fields&store.FieldFlags != 0 {
				dst = append(dst, &modseq, &sys, &kw)
			}
			if narrowSize {
				dst = append(dst, &size)
			}
			if fields&store.FieldBasics != 0 {
				dst = append(dst, &blobID, &size, &idate, &sdate, &emailid, &threadid)
			}
			if fields&store.FieldPreview != 0 {
				dst = append(dst, &preview)
			}
			if fields&store.FieldHeader != 0 {
				dst = append(dst, &hdr)
			}
			if fields&store.FieldStructure != 0 {
				dst = append(dst, &strct)
			}
			if fields&store.FieldEnvelope != 0 {
				dst = append(dst, &env)
			}
			if fields&store.FieldSearch != 0 {
				dst = append(dst, &subj, &from, &to, &cc, &bc, &sentdate)
			}
			if fields&store.FieldInline != 0 {
				dst = append(dst, &inline)
			}
			k := 0
			for rows.Next() {
				// pgx allocates each []byte it scans (they are nil
				// here), so the slices handed out are never reused.
				hdr, strct, env, preview, inline = nil, nil, nil, nil, nil
				if err := rows.Scan(dst...); err != nil {
					return err
				}
				u := store.UID(uid)
				for k < len(run) && run[k] < u {
					k++
				}
				if k == len(run) {
					break
				}
				if run[k] != u {
					continue
				}
				// A new Message per row: callers may keep it (the
				// conformance suite does), as with store/sqlite.
				m := &store.Message{MailboxID: mailboxID, UID: u, Header: hdr, Structure: strct, Envelope: env, Inline: inline}
				if fields&store.FieldFlags != 0 {
					m.ModSeq = store.ModSeq(modseq)
					m.Flags = store.Flags{System: store.SysFlags(sys), Keywords: decodeKeywords(kw)}
				}
				if narrowSize || fields&store.FieldBasics != 0 {
					m.Size = size
				}
				if fields&store.FieldBasics != 0 {
					m.BlobID, m.EmailID, m.ThreadID = blobID, emailid, threadid
					m.InternalDate, m.SaveDate = decodeTime(idate), decodeTime(sdate)
				}
				if fields&store.FieldPreview != 0 && preview != nil {
					m.Preview, m.HasPreview = string(preview), true
				}
				if fields&store.FieldSearch != 0 {
					m.Subject, m.From, m.To, m.Cc, m.Bcc = string(subj), string(from), string(to), string(cc), string(bc)
					m.SentDate = decodeTime(sentdate)
				}
				if err := fn(m); err != nil {
					return err
				}
			}
			return rows.Err()
		})
	}
	if s.isClosed() {
		return ErrClosed
	}
	if uids[len(uids)-1]-uids[0] <= segmentGap*2 && len(uids) <= segmentMax {
		// Usually one range query: no transaction needed for one snapshot.
		return run(s.pool)
	}
	return s.readTx(ctx, func(tx pgx.Tx) error { return run(tx) })
}

// StoreFlags changes flags (RFC 9051 §6.4.6) with CONDSTORE's
// UNCHANGEDSINCE (RFC 7162 §3.1.3), under the mailbox's row lock: the
// modseqs compared with unchangedSince are the latest committed ones.
// Every message that actually changes gets the same new modseq;
// unchanged ones keep theirs and produce no Change, but still appear in
// results.
func (s *Store) StoreFlags(ctx context.Context, mailboxID int64, uids []store.UID, op store.FlagOp, flags store.Flags, unchangedSince store.ModSeq) ([]store.StoreResult, []store.UID, []store.Change, error) {
	res, failed, ch, err := s.storeFlags(ctx, mailboxID, uids, op, flags, unchangedSince)
	if err == nil {
		s.fc.own(ch) // flagcache.go
	}
	return res, failed, ch, err
}

func (s *Store) storeFlags(ctx context.Context, mailboxID int64, uids []store.UID, op store.FlagOp, flags store.Flags, unchangedSince store.ModSeq) ([]store.StoreResult, []store.UID, []store.Change, error) {
	var (
		results []store.StoreResult
		failed  []store.UID
		ch      []store.Change
	)
	arg0 := normFlags(flags)
	uids = sortedUIDs(uids)
	if len(uids) > 0 && len(uids) <= storeOneMax && len(arg0.Keywords) == 0 {
		return s.storeFlagsOne(ctx, mailboxID, uids, op, arg0, unchangedSince)
	}
	err := s.writeChanges(ctx, &ch, func(tx pgx.Tx) error {
		results, failed, ch = nil, nil, nil
		if len(uids) == 0 {
			_, err := lockMailboxes(ctx, tx, mailboxID)
			return err
		}
		// One round trip for BEGIN, the lock and the read; the
		// writes below go with COMMIT (ptx).
		m, rows, err := lockAndFlagRows(ctx, tx, mailboxID, uids, "")
		if err != nil {
			return err
		}
		arg := arg0
		// New keywords are defined even when every listed message is
		// gone (expunged by another session): that session announces
		// them in FLAGS (Dovecot creates them too), and later SELECTs
		// must list them (RFC 9051 §7.3.5).
		kw := keywordCache{}
		if op != store.FlagsRemove {
			if arg, err = kw.canonicalIn(ctx, s, tx, m, arg); err != nil {
				return err
			}
		}
		type change struct {
			uid store.UID
			nf  store.Flags
		}
		var dUnseen, dDeleted int64
		var changed []change
		for _, r := range rows {
			if unchangedSince > 0 && r.modseq > unchangedSince {
				failed = append(failed, r.uid)
				continue
			}
			nf := op.Apply(r.flags, arg)
			if nf.Equal(r.flags) {
				results = append(results, store.StoreResult{UID: r.uid, ModSeq: r.modseq, Flags: r.flags})
				continue
			}
			ou, od := unseenDeleted(r.flags.System)
			nu, nd := unseenDeleted(nf.System)
			dUnseen += nu - ou
			dDeleted += nd - od
			changed = append(changed, change{r.uid, nf})
			results = append(results, store.StoreResult{UID: r.uid})
		}
		if len(changed) == 0 {
			if kw.definedNew(mailboxID) {
				// A keyword defined without a message change still
				// moves HIGHESTMODSEQ (keywordCache).
				_, err := bumpAtCommit(ctx, tx, m, 0, 0)
				return err
			}
			return nil
		}
		modseq, err := bumpAtCommit(ctx, tx, m, dUnseen, dDeleted)
		if err != nil {
			return err
		}
		s.lazyCommit(tx) // [storage] sync_flags
		us := make([]int64, len(changed))
		sys := make([]int32, len(changed))
		kws := make([]string, len(changed))
		for i, c := range changed {
			us[i], sys[i], kws[i] = int64(c.uid), int32(c.nf.System), encodeKeywords(c.nf.Keywords)
			ch = append(ch, store.Change{Kind: store.ChangeFlags, AccountID: m.account, MailboxID: mailboxID,
				UID: c.uid, ModSeq: modseq, Flags: c.nf})
		}
		// Fill in the results of the changed messages (in UID order,
		// like changed).
		j := 0
		for i := range results {
			if j < len(changed) && results[i].UID == changed[j].uid && results[i].ModSeq == 0 {
				results[i] = store.StoreResult{UID: changed[j].uid, ModSeq: modseq, Flags: changed[j].nf}
				j++
			}
		}
		const q = `UPDATE msgflags f SET modseq = $2, sysflags = u.s, keywords = u.k
			FROM unnest($3::bigint[], $4::integer[], $5::text[]) AS u(uid, s, k)
			WHERE f.mailbox = $1 AND f.uid = ANY($3) AND f.uid = u.uid`
		// "f.uid = ANY($3)" says the same as the join, for the plan:
		// a generic plan (genericPlans) would otherwise hash-join the
		// mailbox's every row with the list instead of probing the key.
		if t, ok := tx.(*ptx); ok {
			t.deferMerge(mergeWrite, q, mailboxID, int64(modseq), us, sys, kws)
			return nil
		}
		_, err = tx.Exec(ctx, q, mailboxID, int64(modseq), us, sys, kws)
		return err
	})
	if err != nil {
		return nil, nil, nil, err
	}
	return results, failed, ch, nil
}

// storeOneMax is the most messages a STORE changes through
// storeFlagsOne; a longer list (STORE 1:* on a big mailbox) takes the
// pipelined path, which reads the rows by UID range instead of one
// array of every UID.
const storeOneMax = 1024

// storeFlagOps names store.FlagOp for barid_store_flags.
var storeFlagOps = [...]string{store.FlagsReplace: "replace", store.FlagsAdd: "add", store.FlagsRemove: "remove"}

// storeFlagsOne is StoreFlags without keywords in one round trip: one
// autocommitted call of barid_store_flags (schema step 20), which takes
// the mailbox row lock, reads and updates the rows, bumps HIGHESTMODSEQ
// by one if a flag changed, sets synchronous_commit ([storage]
// sync_index) and queues the notification, in one statement's
// transaction. Keywords need their spellings registered first
// (keywordCache), so a STORE naming one takes the pipelined path;
// without keywords there is nothing to register, and FLAGS (replace)
// clears a message's keywords. A message whose flags come back with
// the new MODSEQ (HIGHESTMODSEQ + 1, which no row had before) is one
// this call changed.
func (s *Store) storeFlagsOne(ctx context.Context, mailboxID int64, uids []store.UID, op store.FlagOp, arg store.Flags, unchangedSince store.ModSeq) ([]store.StoreResult, []store.UID, []store.Change, error) {
	if int(op) >= len(storeFlagOps) {
		return nil, nil, nil, fmt.Errorf("postgres: unknown flag operation %d", op)
	}
	node := s.hintNode()
	var (
		results []store.StoreResult
		failed  []store.UID
		ch      []store.Change
	)
	err := s.retry(ctx, "statement", func() error {
		results, failed, ch = nil, nil, nil
		rows, err := s.query(ctx, `SELECT r_account, r_uid, r_modseq, r_sys, r_kw FROM barid_store_flags($1, $2, $3, $4, $5, $6, $7)`,
			mailboxID, int64s(uids), storeFlagOps[op], int32(arg.System), int64(unchangedSince), !s.opts.SyncIndex, node)
		if err != nil {
			return err
		}
		defer rows.Close()
		var account int64
		var modseq store.ModSeq
		header := false
		for rows.Next() {
			var acct, uid, ms int64
			var sys int32
			var kw string
			if err := rows.Scan(&acct, &uid, &ms, &sys, &kw); err != nil {
				return err
			}
			if !header {
				// The first row: the account and HIGHESTMODSEQ
				// before the call.
				header, account, modseq = true, acct, store.ModSeq(ms)+1
				continue
			}
			f := store.Flags{System: store.SysFlags(sys), Keywords: decodeKeywords(kw)}
			r := store.StoreResult{UID: store.UID(uid), ModSeq: store.ModSeq(ms), Flags: f}
			switch {
			case r.ModSeq == modseq:
				ch = append(ch, store.Change{Kind: store.ChangeFlags, AccountID: account, MailboxID: mailboxID,
					UID: r.UID, ModSeq: modseq, Flags: f})
			case unchangedSince > 0 && r.ModSeq > unchangedSince:
				// RFC 7162 §3.1.3: modified since UNCHANGEDSINCE.
				failed = append(failed, r.UID)
				continue
			}
			results = append(results, r)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		if !header {
			return store.ErrNoMailbox
		}
		return nil
	})
	if err != nil {
		return nil, nil, nil, err
	}
	return results, failed, ch, nil
}

// expungeRows deletes rows, leaves tombstones (RFC 7162 §3.2.5: QRESYNC
// reports them as VANISHED) and adjusts counters, all at one new modseq.
// The caller holds the mailbox's row lock.
func expungeRows(ctx context.Context, tx pgx.Tx, m *mboxState, rows []flagRow) ([]store.UID, []store.Change, error) {
	if len(rows) == 0 {
		return nil, nil, nil
	}
	var unseen, deleted, size int64
	uids := make([]store.UID, len(rows))
	for i, r := range rows {
		u, d := unseenDeleted(r.flags.System)
		unseen += u
		deleted += d
		size += r.size
		uids[i] = r.uid
	}
	n := int64(len(rows))
	list := int64s(uids)
	sys := make([]int32, len(rows))
	kws := make([]string, len(rows))
	for i, r := range rows {
		sys[i], kws[i] = int32(r.flags.System), encodeKeywords(r.flags.Keywords)
	}
	const (
		delMessages = `DELETE FROM messages WHERE mailbox = $1 AND uid = ANY($2) RETURNING blob_id`
		delFlags    = `DELETE FROM msgflags WHERE mailbox = $1 AND uid = ANY($2)`
		tombstones  = `INSERT INTO expunged (mailbox, uid, modseq, sysflags, keywords)
		SELECT $1, u.uid, $3, u.s, u.k FROM unnest($2::bigint[], $4::integer[], $5::text[]) AS u(uid, s, k)
		ON CONFLICT (mailbox, uid) DO UPDATE SET modseq = excluded.modseq, sysflags = excluded.sysflags, keywords = excluded.keywords`
	)
	if t, ok := tx.(*ptx); ok && t.begun {
		// One round trip for the four statements (their arguments are
		// known: under m's row lock the new MODSEQ is m.hms + 1), and
		// the blobdata clean-up goes with COMMIT.
		modseq := m.hms + 1
		b := &pgx.Batch{}
		b.Queue(bumpSQL, m.id, 0, -n, -unseen, -deleted, -size)
		b.Queue(delMessages, m.id, list)
		b.Queue(delFlags, m.id, list)
		b.Queue(tombstones, m.id, list, int64(modseq), sys, kws)
		br := t.SendBatch(ctx, b)
		blobIDs, err := func() ([]string, error) {
			defer br.Close()
			if _, err := br.Exec(); err != nil {
				return nil, err
			}
			brows, err := br.Query()
			if err != nil {
				return nil, err
			}
			ids, err := pgx.CollectRows(brows, pgx.RowTo[string])
			if err != nil {
				return nil, err
			}
			return ids, br.Close()
		}()
		if err != nil {
			return nil, nil, err
		}
		m.hms = modseq
		dropInlineAtCommit(t, blobIDs)
		return uids, expungeChanges(m, uids, modseq), nil
	}
	_, modseq, err := bump(ctx, tx, m, 0, -n, -unseen, -deleted, -size)
	if err != nil {
		return nil, nil, err
	}
	brows, err := tx.Query(ctx, delMessages, m.id, list)
	if err != nil {
		return nil, nil, err
	}
	blobIDs, err := pgx.CollectRows(brows, pgx.RowTo[string])
	if err != nil {
		return nil, nil, err
	}
	if _, err := tx.Exec(ctx, delFlags, m.id, list); err != nil {
		return nil, nil, err
	}
	if _, err := tx.Exec(ctx, tombstones, m.id, list, int64(modseq), sys, kws); err != nil {
		return nil, nil, err
	}
	if err := dropInline(ctx, tx, blobIDs); err != nil {
		return nil, nil, err
	}
	return uids, expungeChanges(m, uids, modseq), nil
}

// expungeChanges are the changes of expungeRows.
func expungeChanges(m *mboxState, uids []store.UID, modseq store.ModSeq) []store.Change {
	ch := make([]store.Change, len(uids))
	for i, u := range uids {
		ch[i] = store.Change{Kind: store.ChangeExpunged, AccountID: m.account, MailboxID: m.id, UID: u, ModSeq: modseq}
	}
	return ch
}

// Expunge removes the listed messages whatever their flags, or, with nil
// uids, every message flagged \Deleted (RFC 9051 §6.4.3). UID EXPUNGE's
// "only if \Deleted" rule (RFC 9051 §6.4.9) is the caller's filter.
func (s *Store) Expunge(ctx context.Context, mailboxID int64, uids []store.UID) ([]store.UID, []store.Change, error) {
	out, ch, err := s.expunge(ctx, mailboxID, uids)
	if err == nil {
		s.fc.own(ch) // flagcache.go
	}
	return out, ch, err
}

func (s *Store) expunge(ctx context.Context, mailboxID int64, uids []store.UID) ([]store.UID, []store.Change, error) {
	var out []store.UID
	var ch []store.Change
	if uids != nil {
		uids = sortedUIDs(uids)
	}
	if uids == nil || len(uids) > 0 && len(uids) <= storeOneMax {
		return s.expungeOne(ctx, mailboxID, uids)
	}
	err := s.writeChanges(ctx, &ch, func(tx pgx.Tx) error {
		out, ch = nil, nil
		if uids != nil && len(uids) == 0 {
			_, err := lockMailboxes(ctx, tx, mailboxID)
			return err
		}
		// The lock and the read in BEGIN's round trip (ptx).
		m, rows, err := lockAndFlagRows(ctx, tx, mailboxID, uids, fmt.Sprintf("AND (sysflags & %d) <> 0", store.FlagDeleted))
		if err != nil {
			return err
		}
		// An expunge follows flag changes' durability rule ([storage]
		// sync_index; Dovecot's mail_fsync=optimized): the blob sweep
		// flushes before it deletes bytes it no longer references (Flush).
		// Queued after expungeRows' blobdata clean-up, so that the
		// setting and the notifications (both deferred, mergeable)
		// go to PostgreSQL as one statement (ptx.deferMerge).
		out, ch, err = expungeRows(ctx, tx, m, rows)
		if err == nil {
			s.lazyCommit(tx)
		}
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	return out, ch, nil
}

// expungeOne is Expunge in one round trip: one autocommitted call of
// barid_expunge (schema step 21), which does in one statement's
// transaction what lockAndFlagRows, expungeRows and the COMMIT batch
// did in three round trips. [storage] sync_index decides
// synchronous_commit, as for lazyCommit.
func (s *Store) expungeOne(ctx context.Context, mailboxID int64, uids []store.UID) ([]store.UID, []store.Change, error) {
	node := s.hintNode()
	var list []int64 // nil: every message with \Deleted
	if uids != nil {
		list = int64s(uids)
	}
	var out []store.UID
	var ch []store.Change
	err := s.retry(ctx, "statement", func() error {
		out, ch = nil, nil
		rows, err := s.query(ctx, `SELECT r_account, r_uid, r_modseq FROM barid_expunge($1, $2, $3, $4)`,
			mailboxID, list, !s.opts.SyncIndex, node)
		if err != nil {
			return err
		}
		defer rows.Close()
		m := &mboxState{id: mailboxID}
		var modseq store.ModSeq
		header := false
		for rows.Next() {
			var acct, uid, ms int64
			if err := rows.Scan(&acct, &uid, &ms); err != nil {
				return err
			}
			if !header {
				header, m.account, modseq = true, acct, store.ModSeq(ms)
				continue
			}
			out = append(out, store.UID(uid))
		}
		if err := rows.Err(); err != nil {
			return err
		}
		if !header {
			return store.ErrNoMailbox
		}
		if len(out) > 0 {
			ch = expungeChanges(m, out, modseq)
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	return out, ch, nil
}

// copyRows inserts copies of src rows into dst with fresh UIDs and one
// new dst modseq, sharing blob IDs. SAVEDATE is now (RFC 8514). The
// caller holds both mailboxes' row locks.
func (s *Store) copyRows(ctx context.Context, tx pgx.Tx, src *mboxState, rows []flagRow, dst *mboxState) (*store.CopyResult, []store.Change, error) {
	res := &store.CopyResult{UIDValidity: dst.uidvalidity}
	if len(rows) == 0 {
		return res, nil, nil
	}
	kw := keywordCache{}
	var total, unseen, deleted int64
	for i := range rows {
		// Spell keywords as the destination first saw them.
		f, err := kw.canonicalIn(ctx, s, tx, dst, rows[i].flags)
		if err != nil {
			return nil, nil, err
		}
		rows[i].flags = f
		u, d := unseenDeleted(f.System)
		unseen += u
		deleted += d
		total += rows[i].size
	}
	first, modseq, err := bump(ctx, tx, dst, len(rows), int64(len(rows)), unseen, deleted, total)
	if err != nil {
		return nil, nil, err
	}
	n := len(rows)
	res.SrcUIDs = make([]store.UID, n)
	res.DstUIDs = make([]store.UID, n)
	srcs, dsts, sizes := make([]int64, n), make([]int64, n), make([]int64, n)
	sys, kws := make([]int32, n), make([]string, n)
	ch := make([]store.Change, n)
	for i, r := range rows {
		uid := first + store.UID(i)
		res.SrcUIDs[i], res.DstUIDs[i] = r.uid, uid
		srcs[i], dsts[i], sizes[i] = int64(r.uid), int64(uid), r.size
		sys[i], kws[i] = int32(r.flags.System), encodeKeywords(r.flags.Keywords)
		ch[i] = store.Change{Kind: store.ChangeAdded, AccountID: dst.account, MailboxID: dst.id, UID: uid, ModSeq: modseq, Flags: r.flags, Size: r.size}
	}
	if _, err := tx.Exec(ctx, `INSERT INTO messages (mailbox, uid, blob_id, size,
		internaldate, savedate, header, structure, envelope, subject, from_addr, to_addr, cc_addr, bcc_addr, sentdate,
		emailid, preview, threadid)
		SELECT $1, u.dst, m.blob_id, m.size, m.internaldate, $2, m.header, m.structure, m.envelope,
		m.subject, m.from_addr, m.to_addr, m.cc_addr, m.bcc_addr, m.sentdate, m.emailid, m.preview, m.threadid
		FROM unnest($3::bigint[], $4::bigint[]) AS u(src, dst) JOIN messages m ON m.mailbox = $5 AND m.uid = ANY($3) AND m.uid = u.src`,
		dst.id, encodeTime(s.now()), srcs, dsts, src.id); err != nil {
		return nil, nil, err
	}
	if _, err := tx.Exec(ctx, `INSERT INTO msgflags (mailbox, uid, modseq, sysflags, keywords, size)
		SELECT $1, u.uid, $2, u.s, u.k, u.size FROM unnest($3::bigint[], $4::integer[], $5::text[], $6::bigint[]) AS u(uid, s, k, size)`,
		dst.id, int64(modseq), dsts, sys, kws, sizes); err != nil {
		return nil, nil, err
	}
	return res, ch, nil
}

// CopyMessages copies messages into dst keeping flags and internal date
// (RFC 9051 §6.4.7) and sharing blobs; the result is COPYUID's mapping
// (RFC 4315 §3).
func (s *Store) CopyMessages(ctx context.Context, srcMailboxID int64, uids []store.UID, dstMailboxID int64) (*store.CopyResult, []store.Change, error) {
	return s.copyOrMove(ctx, srcMailboxID, uids, dstMailboxID, false)
}

// MoveMessages copies then expunges from src in one transaction
// (RFC 6851 §3.3). The changes are the Added ones for dst followed by the
// Expunged ones for src.
func (s *Store) MoveMessages(ctx context.Context, srcMailboxID int64, uids []store.UID, dstMailboxID int64) (*store.CopyResult, []store.Change, error) {
	return s.copyOrMove(ctx, srcMailboxID, uids, dstMailboxID, true)
}

func (s *Store) copyOrMove(ctx context.Context, srcID int64, uids []store.UID, dstID int64, move bool) (*store.CopyResult, []store.Change, error) {
	var res *store.CopyResult
	var ch []store.Change
	uids = sortedUIDs(uids)
	err := s.writeChanges(ctx, &ch, func(tx pgx.Tx) error {
		res, ch = nil, nil
		mbs, err := lockMailboxes(ctx, tx, srcID, dstID)
		if err != nil {
			return err
		}
		src, dst := mbs[srcID], mbs[dstID]
		var rows []flagRow
		if len(uids) > 0 {
			if rows, err = flagRows(ctx, tx, srcID, uids, ""); err != nil {
				return err
			}
		}
		res, ch, err = s.copyRows(ctx, tx, src, rows, dst)
		// A move within one account leaves its usage as it was; a copy,
		// or a move into another owner's mailbox, charges dst's owner.
		if err == nil && len(rows) > 0 && (!move || src.account != dst.account) {
			err = s.checkQuota(ctx, tx, dst.account)
		}
		if err != nil || !move || len(rows) == 0 {
			return err
		}
		_, ech, err := expungeRows(ctx, tx, src, rows)
		ch = append(ch, ech...)
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	return res, ch, nil
}

// ClaimRecent hands the \Recent messages up to upTo to the calling
// session (RFC 3501 §2.3.2: a message is recent in exactly one session,
// on any node) and returns the previous FirstRecent, in one statement
// under the mailbox's row lock.
//
// When a session has claimed past upTo already (every IDLE session but
// the first, when one message reaches many), there is nothing to claim,
// and the answer comes without the row lock and the durable commit the
// locked statement costs, which would otherwise turn a delivery's
// fan-out to N sessions into N serialised commits: from this node's
// memory of the mailbox's FIRSTRECENT, else from a plain read.
// FIRSTRECENT only grows, so any value above upTo, however old, gives
// the caller the same (empty) set of \Recent messages as the locked
// read would. The sessions of one node claim one mailbox one at a time,
// so the first one's claim is what the others find.
func (s *Store) ClaimRecent(ctx context.Context, mailboxID int64, upTo store.UID) (store.UID, error) {
	rc := s.recentClaim(mailboxID)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if rc.first > upTo {
		return rc.first, nil
	}
	var prev, now int64
	// A FIRSTRECENT that UIDsAfterRecent just read at or below upTo
	// says the plain read would find nothing to spare the claim.
	if fresh := rc.read; fresh == 0 || fresh > upTo {
		err := s.queryRow(ctx, `SELECT firstrecent FROM mailboxes WHERE id = $1`, mailboxID).Scan(&prev)
		if errNoRows(err) {
			return 0, store.ErrNoMailbox
		}
		if err != nil {
			return 0, err
		}
		if prev > int64(upTo) {
			rc.first = store.UID(prev)
			return rc.first, nil
		}
	}
	rc.read = 0
	// One statement outside an explicit transaction: its own
	// transaction, committed without BEGIN and COMMIT round trips;
	// set_config(..., true) applies to it alone ([storage]
	// sync_flags: a claim is a flag change).
	err := s.queryRow(ctx, `WITH o AS (
			SELECT id, firstrecent, least($2::bigint + 1, uidnext) AS claim FROM mailboxes WHERE id = $1 FOR NO KEY UPDATE
		), u AS (
			UPDATE mailboxes m SET firstrecent = o.claim FROM o WHERE m.id = o.id AND o.claim > o.firstrecent
		)
		SELECT firstrecent, greatest(firstrecent, claim),
			CASE WHEN $3 THEN set_config('synchronous_commit', 'off', true) END FROM o`,
		mailboxID, int64(upTo), !s.opts.SyncIndex).Scan(&prev, &now, nil)
	if errNoRows(err) {
		return 0, store.ErrNoMailbox
	}
	if err != nil {
		return 0, err
	}
	rc.first = store.UID(now)
	return store.UID(prev), nil
}

// recentClaims is the node's memory for ClaimRecent: per mailbox, a
// lock that lines its sessions up and the highest FIRSTRECENT seen.
type recentClaims struct {
	mu sync.Mutex
	m  map[int64]*recentClaimState
}

type recentClaimState struct {
	mu    sync.Mutex
	first store.UID
	// read: the FIRSTRECENT UIDsAfterRecent last read (0: none since
	// the last claim).
	read store.UID
}

// maxRecentClaims bounds recentClaims; past it the memory starts over
// (it is only a shortcut).
const maxRecentClaims = 100_000

func (s *Store) recentClaim(mailboxID int64) *recentClaimState {
	s.claims.mu.Lock()
	defer s.claims.mu.Unlock()
	if s.claims.m == nil || len(s.claims.m) >= maxRecentClaims {
		s.claims.m = map[int64]*recentClaimState{}
	}
	rc := s.claims.m[mailboxID]
	if rc == nil {
		rc = &recentClaimState{}
		s.claims.m[mailboxID] = rc
	}
	return rc
}

// BlobRefs calls fn with each distinct blob ID referenced by a message.
func (s *Store) BlobRefs(ctx context.Context, fn func(blobID string) error) error {
	rows, err := s.query(ctx, `SELECT DISTINCT blob_id FROM messages`)
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
}

// BlobReferenced reports whether any message row names blobID.
func (s *Store) BlobReferenced(ctx context.Context, blobID string) (bool, error) {
	var ok bool
	err := s.queryRow(ctx, `SELECT EXISTS (SELECT 1 FROM messages WHERE blob_id = $1)`, blobID).Scan(&ok)
	return ok, err
}

// Flush makes every commit made before it durable (store.Store), the
// ones [storage] sync_index = false made with synchronous_commit off
// included: a transaction that writes and commits with
// synchronous_commit on waits until the WAL is flushed up to its own
// commit record, and the WAL is one sequence, so every commit record
// before it is flushed too (PostgreSQL manual, "Asynchronous Commit").
// A read-only transaction writes no commit record and would not wait,
// hence the counter it bumps.
func (s *Store) Flush(ctx context.Context) error {
	return s.write(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SET LOCAL synchronous_commit TO on`); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO meta (key, value) VALUES ('flushes', 1)
			ON CONFLICT (key) DO UPDATE SET value = meta.value + 1`)
		return err
	})
}
