package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"barid/internal/store"
)

// segmentGap is the largest UID gap kept inside one range query. Dense
// sets (1:*) become one BETWEEN scan merged against the list; sparse sets
// become several short scans instead of walking the whole mailbox.
const segmentGap = 64

// segmentMax caps the UIDs of one segment, bounding the memory of one
// aggregated result (fetchFlags) to a few hundred KiB.
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

// sortedUIDs returns uids ascending and duplicate-free. The contract
// promises that already (store.Store: "uids arguments are sorted
// ascending and duplicate-free"); a caller that breaks it gets a sorted
// copy rather than silently skipped messages.
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

type querier func(q string, args ...any) (*sql.Rows, error)

// scanUIDs runs sel (which must end in "uid BETWEEN ? AND ?" with the
// mailbox as first argument and select uid first) over each segment of
// uids and calls fn for rows whose UID is listed, in UID order.
func scanUIDs(query querier, sel string, mailboxID int64, uids []store.UID, dst []any, fn func() error) error {
	uidp, ok := dst[0].(*int64)
	if !ok {
		return errors.New("sqlite: scanUIDs: first column must scan into *int64")
	}
	return segments(uids, func(run []store.UID) error {
		rows, err := query(sel, mailboxID, int64(run[0]), int64(run[len(run)-1]))
		if err != nil {
			return err
		}
		defer rows.Close()
		c := runCursor{run: run}
		for rows.Next() {
			if err := rows.Scan(dst...); err != nil {
				return err
			}
			want, past := c.match(store.UID(*uidp))
			if past {
				break
			}
			if !want {
				continue
			}
			if err := fn(); err != nil {
				return err
			}
		}
		return rows.Err()
	})
}

// flagRow is the covering-index part of a message.
type flagRow struct {
	uid    store.UID
	modseq store.ModSeq
	flags  store.Flags
	size   int64
}

// flagRows reads the covering-index columns of the listed messages
// (nil uids: every message) inside the writer transaction.
func flagRows(t *wtx, mailboxID int64, uids []store.UID, where string) ([]flagRow, error) {
	var uid, modseq, size int64
	var sys int64
	var kw string
	dst := []any{&uid, &modseq, &sys, &kw, &size}
	var out []flagRow
	add := func() error {
		out = append(out, flagRow{uid: store.UID(uid), modseq: store.ModSeq(modseq),
			flags: store.Flags{System: store.SysFlags(sys), Keywords: decodeKeywords(kw)}, size: size})
		return nil
	}
	const cols = `SELECT uid, modseq, sysflags, keywords, size FROM msgflags WHERE mailbox = ? `
	if uids == nil {
		rows, err := t.query(cols+where+` ORDER BY uid`, mailboxID)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		for rows.Next() {
			if err := rows.Scan(dst...); err != nil {
				return nil, err
			}
			add() //nolint:errcheck // never fails
		}
		return out, rows.Err()
	}
	err := scanUIDs(t.query, cols+`AND uid BETWEEN ? AND ? ORDER BY uid`, mailboxID, uids, dst, add)
	return out, err
}

// mboxState is the writable part of a mailbox row.
type mboxState struct {
	id          int64
	account     int64
	uidvalidity uint32
	uidnext     store.UID
	hms         store.ModSeq
}

func loadMbox(t *wtx, id int64) (*mboxState, error) {
	var m mboxState
	err := t.queryRow(`SELECT id, account, uidvalidity, uidnext, highestmodseq FROM mailboxes WHERE id = ?`, id).
		Scan(&m.id, &m.account, &m.uidvalidity, &m.uidnext, &m.hms)
	if errNoRows(err) {
		return nil, store.ErrNoMailbox
	}
	if err != nil {
		return nil, err
	}
	return &m, nil
}

// allocUIDs reserves n UIDs from the mailbox or fails when the 32-bit
// UID space would overflow (RFC 9051 §2.3.1.1: nz-number).
func allocUIDs(m *mboxState, n int) (store.UID, error) {
	first := m.uidnext
	if uint64(first)+uint64(n)-1 > math.MaxUint32 {
		return 0, fmt.Errorf("%w: UID space of the mailbox exhausted (limit 2^32-1)", store.ErrCannot)
	}
	m.uidnext = first + store.UID(n)
	return first, nil
}

func normFlags(f store.Flags) store.Flags { return store.FlagsFromNames(f.Names()) }

// insertMessage is INSERT OR FAIL: with the messages table's AFTER
// INSERT trigger (fts_msg_insert) and its UNIQUE key, a plain INSERT
// (OR ABORT) makes SQLite keep a statement journal so that a failing
// row can be undone alone: every b-tree page the statement touches is
// first copied to a temporary file, once per message. That was a sixth
// of the writer's CPU in a 100,000-message import (docs/benchmarks.md,
// "Import"). OR FAIL needs no statement journal; what a failed INSERT
// had done is undone with the whole request instead (every caller
// returns the error, and the writer rolls the request back: ROLLBACK,
// or ROLLBACK TO its savepoint in a group-commit batch). The trigger's
// own statements cannot fail (schema step 21 guards its insert), since
// OR FAIL applies to them too (https://www.sqlite.org/lang_createtrigger.html).
const (
	insertMessage = `INSERT OR FAIL INTO messages (mailbox, uid, blob_id, size,
	internaldate, savedate, header, structure, envelope, subject, from_addr, to_addr, cc_addr, bcc_addr, sentdate,
	emailid, preview, threadid)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	insertFlags = `INSERT INTO msgflags (mailbox, uid, modseq, sysflags, keywords, size) VALUES (?, ?, ?, ?, ?, ?)`
)

// AppendMessages adds messages with consecutive new UIDs and one new
// modseq (RFC 7162 §3.1: a single command may give all its changes one
// modseq). UIDNEXT is advanced in the same transaction, so a UID is never
// handed out twice, even across crashes.
func (s *Store) AppendMessages(ctx context.Context, mailboxID int64, msgs []store.NewMessage) ([]store.UID, []store.Change, error) {
	var uids []store.UID
	var ch []store.Change
	err := s.write(ctx, func(t *wtx) error {
		uids, ch = nil, nil
		m, err := loadMbox(t, mailboxID)
		if err != nil {
			return err
		}
		uids, ch, err = s.appendRows(t, m, msgs)
		t.emit(ch)
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	return uids, ch, nil
}

// appendRows is AppendMessages inside a transaction: m's UIDNEXT and
// HIGHESTMODSEQ advance (in m too, for a later step of the same
// transaction). The caller emits the changes.
func (s *Store) appendRows(t *wtx, m *mboxState, msgs []store.NewMessage) ([]store.UID, []store.Change, error) {
	return s.appendRowsAt(t, m, nil, msgs)
}

// appendRowsAt is appendRows with the caller's UIDs (at == nil: new
// consecutive ones), checked by checkImportUIDs.
func (s *Store) appendRowsAt(t *wtx, m *mboxState, at []store.UID, msgs []store.NewMessage) ([]store.UID, []store.Change, error) {
	if len(msgs) == 0 {
		return nil, nil, nil
	}
	mailboxID := m.id
	var total, unseen, deleted int64
	for i := range msgs {
		total += msgs[i].Size
	}
	var first store.UID
	if at == nil {
		var err error
		if first, err = allocUIDs(m, len(msgs)); err != nil {
			return nil, nil, err
		}
	} else {
		if err := store.CheckImportUIDs(m.uidnext, at, len(msgs)); err != nil {
			return nil, nil, err
		}
		m.uidnext = at[len(at)-1] + 1
	}
	modseq := m.hms + 1
	m.hms = modseq
	now := encodeTime(s.now())
	uids := make([]store.UID, len(msgs))
	ch := make([]store.Change, len(msgs))
	kw := keywordCache{}
	emailIDs := make([]int64, len(msgs))
	for i := range msgs {
		emailIDs[i] = emailID(msgs[i].EmailID)
	}
	threads, err := assignThreads(t, m.account, msgs, emailIDs)
	if err != nil {
		return nil, nil, err
	}
	for i := range msgs {
		nm := &msgs[i]
		uid := first + store.UID(i)
		if at != nil {
			uid = at[i]
		}
		f, err := kw.canonicalIn(t, m, normFlags(nm.Flags))
		if err != nil {
			return nil, nil, err
		}
		if _, err := t.exec(insertMessage, mailboxID, int64(uid),
			nm.BlobID, nm.Size, encodeTime(nm.InternalDate), now, nm.Header, nm.Structure, nm.Envelope,
			nm.Subject, nm.From, nm.To, nm.Cc, nm.Bcc, encodeTime(nm.SentDate),
			emailIDs[i], previewValue(nm), threads[i]); err != nil {
			return nil, nil, err
		}
		if err := putInline(t, nm); err != nil {
			return nil, nil, err
		}
		if _, err := t.exec(insertFlags, mailboxID, int64(uid), int64(modseq), int64(f.System),
			encodeKeywords(f.Keywords), nm.Size); err != nil {
			return nil, nil, err
		}
		u, d := unseenDeleted(f.System)
		unseen += u
		deleted += d
		uids[i] = uid
		ch[i] = store.Change{Kind: store.ChangeAdded, AccountID: m.account, MailboxID: mailboxID, UID: uid, ModSeq: modseq, Flags: f, Size: nm.Size}
	}
	_, err = t.exec(`UPDATE mailboxes SET uidnext = ?, highestmodseq = ?, messages = messages + ?,
		unseen = unseen + ?, deleted = deleted + ?, size = size + ? WHERE id = ?`,
		int64(m.uidnext), int64(modseq), len(msgs), unseen, deleted, total, mailboxID)
	if err != nil {
		return nil, nil, err
	}
	// The counters just charged the owner's quota (trigger quotas_charge).
	if err := s.checkQuota(t, m.account); err != nil {
		return nil, nil, err
	}
	return uids, ch, nil
}

// MessageUIDs returns the mailbox row and all its UIDs from one snapshot.
// When the mailbox's flag index is current for the row just read (the
// same HIGHESTMODSEQ and UIDVALIDITY), the UIDs are copied from it
// instead of read from msgflags: SELECT of a 20,000-message mailbox then
// costs a memmove rather than a 2 ms aggregate scan (Dovecot answers it
// from its index in about 0.1 ms).
func (s *Store) MessageUIDs(ctx context.Context, mailboxID int64) (*store.Mailbox, []store.UID, error) {
	if s.index != nil {
		var mb *store.Mailbox
		err := s.read(ctx, func(r *reader) error {
			var err error
			mb, err = scanMailbox(r.queryRow(`SELECT `+mailboxCols+` FROM mailboxes m WHERE m.id = ?`, mailboxID))
			return err
		})
		if errNoRows(err) {
			return nil, nil, store.ErrNoMailbox
		}
		if err != nil {
			return nil, nil, err
		}
		if out, ok := s.index.liveUIDs(mailboxID, mb.HighestModSeq, mb.UIDValidity); ok {
			return mb, out, nil
		}
	}
	return s.messageUIDsSQL(ctx, mailboxID)
}

// messageUIDsSQL is MessageUIDs read from msgflags in one snapshot.
func (s *Store) messageUIDsSQL(ctx context.Context, mailboxID int64) (*store.Mailbox, []store.UID, error) {
	var mb *store.Mailbox
	var out []store.UID
	err := s.readTx(ctx, func(r *reader) error {
		var n int
		var err error
		mb, err = scanMailbox(r.queryRow(`SELECT `+mailboxCols+` FROM mailboxes m WHERE m.id = ?`, mailboxID))
		if err != nil {
			return err
		}
		if err := r.queryRow(`SELECT messages FROM mailboxes WHERE id = ?`, mailboxID).Scan(&n); err != nil {
			return err
		}
		out = make([]store.UID, 0, n)
		// One aggregated string instead of one row per UID: database/sql
		// costs ~300ns a row, the concatenation and the parse below a
		// fraction of that (BenchmarkMessageUIDs100k).
		rows, err := r.query(`SELECT group_concat(uid) FROM
			(SELECT uid FROM msgflags WHERE mailbox = ? ORDER BY uid)`, mailboxID)
		if err != nil {
			return err
		}
		out, err = scanUIDList(rows, out, true)
		return err
	})
	if errNoRows(err) {
		return nil, nil, store.ErrNoMailbox
	}
	if err == nil {
		err = s.settle(ctx, mailboxID)
	}
	if err != nil {
		return nil, nil, err
	}
	return mb, out, nil
}

// parseUIDs appends the UIDs of a comma-separated decimal list (a
// group_concat'ed column); with ascending set it also checks that the
// list is strictly ascending.
func parseUIDs(out []store.UID, b []byte, ascending bool) ([]store.UID, error) {
	if len(b) == 0 {
		return out, nil
	}
	var v uint64
	digits := 0
	for i := 0; i <= len(b); i++ {
		if i == len(b) || b[i] == ',' {
			if digits == 0 || v > math.MaxUint32 {
				return nil, fmt.Errorf("sqlite: bad UID list near byte %d", i)
			}
			u := store.UID(v)
			if n := len(out); ascending && n > 0 && out[n-1] >= u {
				return nil, fmt.Errorf("sqlite: UID list out of order at %d", u)
			}
			out = append(out, u)
			v, digits = 0, 0
			continue
		}
		c := b[i] - '0'
		if c > 9 {
			return nil, fmt.Errorf("sqlite: bad UID list near byte %d", i)
		}
		v = v*10 + uint64(c)
		digits++
	}
	return out, nil
}

// scanUIDList reads the single group_concat(uid) column of rows into out
// (closing rows). One aggregated string instead of one row per UID:
// database/sql costs ~300ns a row, the parse a fraction of that.
func scanUIDList(rows *sql.Rows, out []store.UID, ascending bool) ([]store.UID, error) {
	err := eachAggregate(rows, func(raw []byte) (err error) {
		out, err = parseUIDs(out, raw, ascending)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// eachAggregate calls fn with the single column of each row of rows, an
// aggregate (group_concat) that carries many messages in one string,
// and closes rows. raw is valid only during fn.
func eachAggregate(rows *sql.Rows, fn func(raw []byte) error) error {
	defer rows.Close()
	var raw sql.RawBytes
	for rows.Next() {
		if err := rows.Scan(&raw); err != nil {
			return err
		}
		if err := fn(raw); err != nil {
			return err
		}
	}
	return rows.Err()
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
	switch {
	case flags && wide:
		b.WriteString(" FROM msgflags f JOIN messages m ON m.mailbox = f.mailbox AND m.uid = f.uid")
	case wide:
		b.WriteString(" FROM messages m")
	default:
		b.WriteString(" FROM msgflags f")
	}
	b.WriteString(" WHERE " + t + ".mailbox = ? AND " + t + ".uid BETWEEN ? AND ? ORDER BY " + t + ".uid")
	return b.String()
}

// Fields is store.Fields, named here for brevity.
type Fields = store.Fields

// sizeFromFlags reports whether RFC822.SIZE alone is asked: msgflags has
// it, so the wide row need not be read for it.
func sizeFromFlags(fields Fields) bool {
	return fields&store.FieldSize != 0 && fields&store.FieldBasics == 0
}

// FetchMessages calls fn for each listed UID that exists, in UID order,
// loading only the requested columns. fn runs while a pooled read
// connection (and, for non-flag fields, a read snapshot) is held: keep it
// short and never write to a client socket from it, or WAL checkpoints
// wait on the slowest reader (docs/architecture.md: never write to a socket while
// holding a store lock).
func (s *Store) FetchMessages(ctx context.Context, mailboxID int64, uids []store.UID, fields store.Fields, fn func(*store.Message) error) error {
	if len(uids) == 0 {
		return nil
	}
	// The records stream to fn as they are read, so the mailbox is
	// settled first (durable.go); the UIDs asked for come from a view
	// that settled reads built.
	if err := s.settle(ctx, mailboxID); err != nil {
		return err
	}
	if fields&store.FieldInline != 0 {
		return s.fetchInline(ctx, mailboxID, uids, fields, fn)
	}
	uids = sortedUIDs(uids)
	// The flag index serves flags and sizes, and UIDs alone (UID FETCH
	// 1:* (UID)), and says which messages exist for the record cache,
	// which may hold every other field asked (FETCH 1:* ENVELOPE).
	if fields&(store.FieldFlags|store.FieldSize) != 0 || fields == 0 || (s.recs != nil && fields&^recFields == 0) {
		b, err := s.box(ctx, mailboxID)
		if err != nil {
			return err
		}
		if b != nil {
			if fields&^(store.FieldFlags|store.FieldSize) == 0 {
				return s.fetchIndexed(b, mailboxID, uids, fields, fn)
			}
			return s.fetchWithIndex(ctx, b, mailboxID, uids, fields, fn)
		}
	}
	if fields == store.FieldFlags {
		return s.fetchFlags(ctx, mailboxID, uids, fn)
	}
	return s.fetchRows(ctx, mailboxID, uids, fields, fn)
}

// fetchWithIndex reads the wide fields from SQLite without the msgflags
// join and takes flags and size from the flag index. A message the index
// no longer has was expunged after the row was read: it is skipped, as
// if the row had gone too.
func (s *Store) fetchWithIndex(ctx context.Context, b *boxFlags, mailboxID int64, uids []store.UID, fields store.Fields, fn func(*store.Message) error) error {
	const step = indexedStep
	rest := fields &^ (store.FieldFlags | store.FieldSize)
	pb := getIndexed()
	defer putIndexed(pb)
	var sc *recScratch
	small := len(uids) < recCacheMaxFetch && !store.IsBulk(ctx)
	if s.recs != nil && rest&^recFields == 0 && (small || s.recs.fits(s.index.live(b))) {
		sc = recBufs.Get().(*recScratch)
		defer sc.release()
	}
	for start := 0; start < len(uids); start += step {
		run := uids[start:min(start+step, len(uids))]
		ents := s.index.lookup(b, run, (*pb)[:0])
		*pb = ents
		if sc != nil {
			if err := s.fetchCached(ctx, sc, b.uidv, mailboxID, ents, fields, fn); err != nil {
				return err
			}
			continue
		}
		k := 0
		err := s.fetchRows(ctx, mailboxID, run, rest, func(m *store.Message) error {
			for k < len(ents) && ents[k].uid < m.UID {
				k++
			}
			if k == len(ents) || ents[k].uid != m.UID {
				return nil
			}
			ents[k].fill(m, fields)
			return fn(m)
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// fetchCached is fetchWithIndex for fields the record cache holds
// (metacache.go): records it has are not read again; the others are
// read (with every cached field) and added. ents are the flag index's
// entries of the messages asked, in UID order.
func (s *Store) fetchCached(ctx context.Context, sc *recScratch, uidv uint32, mailboxID int64, ents []indexed, fields store.Fields, fn func(*store.Message) error) error {
	header := fields&store.FieldHeader != 0
	sc.hits, sc.missed = s.recs.lookup(mailboxID, uidv, ents, header, sc.hits[:0], sc.missed[:0])
	sc.loaded = sc.loaded[:0]
	if len(sc.missed) > 0 {
		load := cachedFields
		if header {
			load |= store.FieldHeader
		}
		err := s.fetchRows(ctx, mailboxID, sc.missed, load, func(m *store.Message) error {
			sc.loaded = append(sc.loaded, s.recs.add(mailboxID, uidv, m, header))
			return nil
		})
		if err != nil {
			return err
		}
	}
	rest := fields &^ (store.FieldFlags | store.FieldSize)
	j := 0
	var m store.Message
	for i := range ents {
		x := &ents[i]
		e := sc.hits[i]
		if e == nil {
			for j < len(sc.loaded) && sc.loaded[j].key.uid < x.uid {
				j++
			}
			if j == len(sc.loaded) || sc.loaded[j].key.uid != x.uid {
				continue // its row is gone: expunged since the lookup
			}
			e = sc.loaded[j]
		}
		m = store.Message{MailboxID: mailboxID, UID: x.uid}
		e.fill(&m, rest)
		x.fill(&m, fields)
		if err := fn(&m); err != nil {
			return err
		}
	}
	return nil
}

// fetchRows is the general FetchMessages: one row per message, read
// through the driver (rawQuery). The columns come in fetchQuery's order.
func (s *Store) fetchRows(ctx context.Context, mailboxID int64, uids []store.UID, fields store.Fields, fn func(*store.Message) error) error {
	if s.useRecs(mailboxID, fields) {
		return s.fetchRecs(ctx, mailboxID, uids, fields, fn)
	}
	q := fetchQuery(fields)
	narrowSize := sizeFromFlags(fields)
	tx := s.readTx
	if len(uids) >= 256 || store.IsBulk(ctx) {
		tx = s.bulkTx
	}
	return tx(ctx, func(r *reader) error {
		return segments(uids, func(run []store.UID) error {
			c := runCursor{run: run}
			args := namedArgs(mailboxID, int64(run[0]), int64(run[len(run)-1]))
			return r.rawQuery(q, args, func(v []driver.Value) error {
				u := store.UID(rawInt(v[0]))
				if want, past := c.match(u); past {
					return errStopRows
				} else if !want {
					return nil
				}
				m := &store.Message{MailboxID: mailboxID, UID: u}
				i := 1
				if fields&store.FieldFlags != 0 {
					m.ModSeq = store.ModSeq(rawInt(v[i]))
					m.Flags = store.Flags{System: store.SysFlags(rawInt(v[i+1])), Keywords: decodeKeywords(rawString(v[i+2]))}
					i += 3
				}
				if narrowSize {
					m.Size = rawInt(v[i])
					i++
				}
				if fields&store.FieldBasics != 0 {
					m.BlobID, m.Size = rawString(v[i]), rawInt(v[i+1])
					m.InternalDate = decodeTime(nullInt(v[i+2]))
					m.SaveDate = decodeTime(nullInt(v[i+3]))
					m.EmailID, m.ThreadID = rawInt(v[i+4]), rawInt(v[i+5])
					i += 6
				}
				if fields&store.FieldPreview != 0 {
					if v[i] != nil {
						m.Preview, m.HasPreview = rawString(v[i]), true
					}
					i++
				}
				if fields&store.FieldHeader != 0 {
					m.Header = rawBytes(v[i])
					i++
				}
				if fields&store.FieldStructure != 0 {
					m.Structure = rawBytes(v[i])
					i++
				}
				if fields&store.FieldEnvelope != 0 {
					m.Envelope = rawBytes(v[i])
					i++
				}
				if fields&store.FieldSearch != 0 {
					m.Subject, m.From, m.To = rawString(v[i]), rawString(v[i+1]), rawString(v[i+2])
					m.Cc, m.Bcc = rawString(v[i+3]), rawString(v[i+4])
					m.SentDate = decodeTime(nullInt(v[i+5]))
				}
				return fn(m)
			})
		})
	})
}

// nullInt reads a nullable INTEGER driver value as sql.NullInt64.
func nullInt(v driver.Value) sql.NullInt64 {
	n, ok := rawNullInt(v)
	return sql.NullInt64{Int64: n, Valid: ok}
}

// fetchFlags is FetchMessages for FieldFlags alone, the FETCH FLAGS and
// CONDSTORE resync path. Each segment comes back as one string
// "uid modseq sysflags[ keyword...]\n..." aggregated from the covering
// index, which halves the per-row cost of database/sql (measured in
// BenchmarkFetchFlags100k). Keywords are atoms: no spaces, no newlines.
func (s *Store) fetchFlags(ctx context.Context, mailboxID int64, uids []store.UID, fn func(*store.Message) error) error {
	const q = `SELECT group_concat(uid || ' ' || modseq || ' ' || sysflags || iif(keywords = '', '', ' ' || keywords), char(10))
		FROM (SELECT uid, modseq, sysflags, keywords FROM msgflags
		WHERE mailbox = ? AND uid BETWEEN ? AND ? ORDER BY uid)`
	return s.read(ctx, func(r *reader) error {
		return segments(uids, func(run []store.UID) error {
			rows, err := r.query(q, mailboxID, int64(run[0]), int64(run[len(run)-1]))
			if err != nil {
				return err
			}
			return eachAggregate(rows, func(raw []byte) error {
				return emitFlagLines(mailboxID, run, raw, fn)
			})
		})
	})
}

// emitFlagLines parses fetchFlags' aggregate and calls fn for the lines
// whose UID is in want (sorted).
func emitFlagLines(mailboxID int64, want []store.UID, b []byte, fn func(*store.Message) error) error {
	k := 0
	var msgs []store.Message // allocated in blocks: one allocation per 256 messages
	for len(b) > 0 {
		var line []byte
		line, b = nextLine(b)
		var nums [3]uint64
		rest, ok := parseUints(line, nums[:])
		if !ok {
			return fmt.Errorf("sqlite: bad flags line %q", line)
		}
		u := store.UID(nums[0])
		for k < len(want) && want[k] < u {
			k++
		}
		if k == len(want) {
			return nil
		}
		if want[k] != u {
			continue
		}
		if len(msgs) == 0 {
			msgs = make([]store.Message, min(256, len(want)-k))
		}
		m := &msgs[0]
		msgs = msgs[1:]
		*m = store.Message{MailboxID: mailboxID, UID: u, ModSeq: store.ModSeq(nums[1]),
			Flags: store.Flags{System: store.SysFlags(nums[2])}}
		if len(rest) > 0 {
			m.Flags.Keywords = strings.Fields(string(rest))
		}
		if err := fn(m); err != nil {
			return err
		}
	}
	return nil
}

// nextLine splits b at its first newline.
func nextLine(b []byte) (line, rest []byte) {
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		return b[:i], b[i+1:]
	}
	return b, nil
}

// parseUints reads len(dst) numbers with parseUint and returns what
// follows them.
func parseUints(b []byte, dst []uint64) ([]byte, bool) {
	for j := range dst {
		var ok bool
		if dst[j], b, ok = parseUint(b); !ok {
			return nil, false
		}
	}
	return b, true
}

// parseUint reads a decimal number and skips one following space.
func parseUint(b []byte) (uint64, []byte, bool) {
	var v uint64
	i := 0
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		v = v*10 + uint64(b[i]-'0')
		i++
	}
	if i == 0 || i > 19 {
		return 0, nil, false
	}
	if i < len(b) {
		if b[i] != ' ' {
			return 0, nil, false
		}
		i++
	}
	return v, b[i:], true
}

// StoreFlags changes flags (RFC 9051 §6.4.6) with CONDSTORE's
// UNCHANGEDSINCE (RFC 7162 §3.1.3): a message whose modseq is above
// unchangedSince is left alone and reported in failed. Every message that
// actually changes gets the same new modseq; unchanged ones keep theirs
// and produce no Change, but still appear in results (for the FETCH
// response a non-silent STORE sends).
func (s *Store) StoreFlags(ctx context.Context, mailboxID int64, uids []store.UID, op store.FlagOp, flags store.Flags, unchangedSince store.ModSeq) ([]store.StoreResult, []store.UID, []store.Change, error) {
	var (
		results []store.StoreResult
		failed  []store.UID
		ch      []store.Change
	)
	arg := normFlags(flags)
	uids = sortedUIDs(uids)
	err := s.writeLazy(ctx, func(t *wtx) error {
		results, failed, ch = nil, nil, nil
		m, err := loadMbox(t, mailboxID)
		if err != nil {
			return err
		}
		if len(uids) == 0 {
			return nil
		}
		rows, err := flagRows(t, mailboxID, uids, "")
		if err != nil {
			return err
		}
		arg := arg
		// New keywords are defined even when every listed message is
		// gone (expunged by another session): that session announces
		// them in FLAGS (Dovecot creates them too), and later SELECTs
		// must list them (RFC 9051 §7.3.5).
		if op != store.FlagsRemove {
			kw := keywordCache{}
			if arg, err = kw.canonicalIn(t, m, arg); err != nil {
				return err
			}
		}
		modseq := m.hms + 1
		var dUnseen, dDeleted int64
		var changed []store.UID
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
			changed = append(changed, r.uid)
			results = append(results, store.StoreResult{UID: r.uid, ModSeq: modseq, Flags: nf})
			ch = append(ch, store.Change{Kind: store.ChangeFlags, AccountID: m.account, MailboxID: mailboxID, UID: r.uid, ModSeq: modseq, Flags: nf})
		}
		if err := updateFlags(t, mailboxID, modseq, changed, ch); err != nil {
			return err
		}
		if len(ch) == 0 {
			return nil
		}
		_, err = t.exec(`UPDATE mailboxes SET highestmodseq = ?, unseen = unseen + ?, deleted = deleted + ? WHERE id = ?`,
			int64(modseq), dUnseen, dDeleted, mailboxID)
		t.emit(ch)
		return err
	})
	if err != nil {
		return nil, nil, nil, err
	}
	return results, failed, ch, nil
}

// updateFlags writes the new flag state of the changed messages (ch holds
// it, in the order of changed). One UPDATE per message: a single
// set-based UPDATE over a json_each UID list was measured and saved no
// CPU (BenchmarkStoreFlagsAll100k, 3.8-4.0 µs/msg either way): the cost is
// SQLite's b-tree work per row, not the statement overhead.
func updateFlags(t *wtx, mailboxID int64, modseq store.ModSeq, changed []store.UID, ch []store.Change) error {
	for i, u := range changed {
		nf := ch[i].Flags
		if _, err := t.exec(`UPDATE msgflags SET modseq = ?, sysflags = ?, keywords = ? WHERE mailbox = ? AND uid = ?`,
			int64(modseq), int64(nf.System), encodeKeywords(nf.Keywords), mailboxID, int64(u)); err != nil {
			return err
		}
	}
	return nil
}

// expungeRows deletes rows, leaves tombstones (RFC 7162 §3.2.5: QRESYNC
// reports them as VANISHED) and adjusts counters, all at one new modseq.
func expungeRows(t *wtx, m *mboxState, rows []flagRow) ([]store.UID, []store.Change, error) {
	if len(rows) == 0 {
		return nil, nil, nil
	}
	modseq := m.hms + 1
	m.hms = modseq
	var unseen, deleted, size int64
	uids := make([]store.UID, len(rows))
	ch := make([]store.Change, len(rows))
	for i, r := range rows {
		var blobID string
		err := t.queryRow(`DELETE FROM messages WHERE mailbox = ? AND uid = ? RETURNING blob_id`, m.id, int64(r.uid)).Scan(&blobID)
		if err != nil && !errNoRows(err) {
			return nil, nil, err
		}
		if err == nil {
			if err := dropInline(t, blobID); err != nil {
				return nil, nil, err
			}
		}
		if _, err := t.exec(`DELETE FROM msgflags WHERE mailbox = ? AND uid = ?`, m.id, int64(r.uid)); err != nil {
			return nil, nil, err
		}
		if _, err := t.exec(`INSERT OR REPLACE INTO expunged (mailbox, uid, modseq, sysflags, keywords) VALUES (?, ?, ?, ?, ?)`,
			m.id, int64(r.uid), int64(modseq), int64(r.flags.System), encodeKeywords(r.flags.Keywords)); err != nil {
			return nil, nil, err
		}
		u, d := unseenDeleted(r.flags.System)
		unseen += u
		deleted += d
		size += r.size
		uids[i] = r.uid
		ch[i] = store.Change{Kind: store.ChangeExpunged, AccountID: m.account, MailboxID: m.id, UID: r.uid, ModSeq: modseq}
	}
	_, err := t.exec(`UPDATE mailboxes SET highestmodseq = ?, messages = messages - ?, unseen = unseen - ?,
		deleted = deleted - ?, size = size - ? WHERE id = ?`, int64(modseq), len(rows), unseen, deleted, size, m.id)
	if err != nil {
		return nil, nil, err
	}
	return uids, ch, nil
}

// Expunge removes the listed messages whatever their flags, or, with nil
// uids, every message flagged \Deleted (RFC 9051 §6.4.3). UID EXPUNGE's
// "only if \Deleted" rule (RFC 9051 §6.4.9) is the caller's filter.
//
// It is a lazy write, like a flag change (Options.SyncIndex; Dovecot's
// mail_fsync=optimized does not fsync an expunge either): a power loss
// before the next fsynced commit may bring the messages back. Their
// blob files are deleted only by the sweep, after Flush.
func (s *Store) Expunge(ctx context.Context, mailboxID int64, uids []store.UID) ([]store.UID, []store.Change, error) {
	var out []store.UID
	var ch []store.Change
	if uids != nil {
		uids = sortedUIDs(uids)
	}
	err := s.writeLazy(ctx, func(t *wtx) error {
		out, ch = nil, nil
		m, err := loadMbox(t, mailboxID)
		if err != nil {
			return err
		}
		if uids != nil && len(uids) == 0 {
			return nil
		}
		var rows []flagRow
		if uids == nil {
			rows, err = flagRows(t, mailboxID, nil, fmt.Sprintf("AND sysflags & %d != 0", store.FlagDeleted))
		} else {
			rows, err = flagRows(t, mailboxID, uids, "")
		}
		if err != nil {
			return err
		}
		out, ch, err = expungeRows(t, m, rows)
		t.emit(ch)
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	return out, ch, nil
}

// copyRows inserts copies of src rows into dst with fresh UIDs and one
// new dst modseq, sharing blob IDs. SAVEDATE is now (RFC 8514).
func (s *Store) copyRows(t *wtx, src *mboxState, rows []flagRow, dst *mboxState) (*store.CopyResult, []store.Change, error) {
	res := &store.CopyResult{UIDValidity: dst.uidvalidity}
	if len(rows) == 0 {
		return res, nil, nil
	}
	var total, unseen, deleted int64
	for _, r := range rows {
		total += r.size
	}
	first, err := allocUIDs(dst, len(rows))
	if err != nil {
		return nil, nil, err
	}
	modseq := dst.hms + 1
	dst.hms = modseq
	now := encodeTime(s.now())
	res.SrcUIDs = make([]store.UID, len(rows))
	res.DstUIDs = make([]store.UID, len(rows))
	ch := make([]store.Change, len(rows))
	kw := keywordCache{}
	for i, r := range rows {
		uid := first + store.UID(i)
		if _, err := t.exec(`INSERT INTO messages (mailbox, uid, blob_id, size,
			internaldate, savedate, header, structure, envelope, subject, from_addr, to_addr, cc_addr, bcc_addr, sentdate,
			emailid, preview, threadid)
			SELECT ?, ?, blob_id, size, internaldate, ?, header, structure, envelope,
			subject, from_addr, to_addr, cc_addr, bcc_addr, sentdate, emailid, preview, threadid
			FROM messages WHERE mailbox = ? AND uid = ?`,
			dst.id, int64(uid), now, src.id, int64(r.uid)); err != nil {
			return nil, nil, err
		}
		// Spell keywords as the destination first saw them.
		f, err := kw.canonicalIn(t, dst, r.flags)
		if err != nil {
			return nil, nil, err
		}
		r.flags = f
		if _, err := t.exec(insertFlags, dst.id, int64(uid), int64(modseq), int64(f.System),
			encodeKeywords(f.Keywords), r.size); err != nil {
			return nil, nil, err
		}
		u, d := unseenDeleted(r.flags.System)
		unseen += u
		deleted += d
		res.SrcUIDs[i] = r.uid
		res.DstUIDs[i] = uid
		ch[i] = store.Change{Kind: store.ChangeAdded, AccountID: dst.account, MailboxID: dst.id, UID: uid, ModSeq: modseq, Flags: r.flags, Size: r.size}
	}
	_, err = t.exec(`UPDATE mailboxes SET uidnext = ?, highestmodseq = ?, messages = messages + ?,
		unseen = unseen + ?, deleted = deleted + ?, size = size + ? WHERE id = ?`,
		int64(dst.uidnext), int64(modseq), len(rows), unseen, deleted, total, dst.id)
	if err != nil {
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
	err := s.write(ctx, func(t *wtx) error {
		res, ch = nil, nil
		src, err := loadMbox(t, srcID)
		if err != nil {
			return err
		}
		dst, err := loadMbox(t, dstID)
		if err != nil {
			return err
		}
		var rows []flagRow
		if len(uids) > 0 {
			if rows, err = flagRows(t, srcID, uids, ""); err != nil {
				return err
			}
		}
		res, ch, err = s.copyRows(t, src, rows, dst)
		// A move within one account leaves its usage as it was; a copy,
		// or a move into another owner's mailbox, charges dst's owner.
		if err == nil && len(rows) > 0 && (!move || src.account != dst.account) {
			if err = s.checkQuota(t, dst.account); err != nil {
				res, ch = nil, nil
			}
		}
		if err != nil || !move || len(rows) == 0 {
			t.emit(ch)
			return err
		}
		if srcID == dstID {
			src = dst // same row: continue from the state the copy left
		}
		_, ech, err := expungeRows(t, src, rows)
		ch = append(ch, ech...)
		t.emit(ch)
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	return res, ch, nil
}

// ClaimRecent hands the \Recent messages up to upTo to the calling
// session (RFC 3501 §2.3.2: a message is recent in exactly one session)
// and returns the previous FirstRecent.
func (s *Store) ClaimRecent(ctx context.Context, mailboxID int64, upTo store.UID) (store.UID, error) {
	var prev store.UID
	// Most calls find nothing left to claim: when a delivery reaches
	// many idle sessions of one mailbox, the first claims it and the
	// others would each queue a transaction on the single writer (with
	// 19,500 idlers that held the next delivery's acknowledgement for
	// most of a second). A read answers them; FIRSTRECENT only grows, so
	// a value already past upTo stays past it.
	var first, next int64
	err := s.read(ctx, func(r *reader) error {
		return r.queryRow(`SELECT firstrecent, uidnext FROM mailboxes WHERE id = ?`, mailboxID).Scan(&first, &next)
	})
	if errNoRows(err) {
		return 0, store.ErrNoMailbox
	}
	if err != nil {
		return 0, err
	}
	if min(int64(upTo)+1, next) <= first {
		return store.UID(first), nil
	}
	err = s.writeLazy(ctx, func(t *wtx) error {
		var next store.UID
		err := t.queryRow(`SELECT firstrecent, uidnext FROM mailboxes WHERE id = ?`, mailboxID).Scan(&prev, &next)
		if errNoRows(err) {
			return store.ErrNoMailbox
		}
		if err != nil {
			return err
		}
		claim := min(int64(upTo)+1, int64(next))
		if claim <= int64(prev) {
			return nil
		}
		_, err = t.exec(`UPDATE mailboxes SET firstrecent = ? WHERE id = ?`, claim, mailboxID)
		return err
	})
	return prev, err
}

// BlobRefs calls fn with each distinct blob ID referenced by a message.
func (s *Store) BlobRefs(ctx context.Context, fn func(blobID string) error) error {
	return s.readTx(ctx, func(r *reader) error {
		rows, err := r.query(`SELECT DISTINCT blob_id FROM messages INDEXED BY messages_blob`)
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
	})
}

// BlobReferenced reports whether any message row names blobID.
func (s *Store) BlobReferenced(ctx context.Context, blobID string) (bool, error) {
	var ok bool
	err := s.read(ctx, func(r *reader) error {
		return r.queryRow(`SELECT EXISTS (SELECT 1 FROM messages WHERE blob_id = ?)`, blobID).Scan(&ok)
	})
	return ok, err
}

// ExpungedFlags returns, ascending, the listed UIDs that were expunged
// from the mailbox, each with the flags its message had then and the
// modseq of the expunge (store.Store).
func (s *Store) ExpungedFlags(ctx context.Context, mailboxID int64, uids []store.UID) ([]store.StoreResult, error) {
	var out []store.StoreResult
	uids = sortedUIDs(uids)
	err := s.read(ctx, func(r *reader) error {
		out = out[:0]
		for _, u := range uids {
			var modseq, sys int64
			var kw string
			err := r.queryRow(`SELECT modseq, sysflags, keywords FROM expunged WHERE mailbox = ? AND uid = ?`, mailboxID, int64(u)).Scan(&modseq, &sys, &kw)
			if errNoRows(err) {
				continue
			}
			if err != nil {
				return err
			}
			out = append(out, store.StoreResult{UID: u, ModSeq: store.ModSeq(modseq),
				Flags: store.Flags{System: store.SysFlags(sys), Keywords: decodeKeywords(kw)}})
		}
		return nil
	})
	if err == nil {
		err = s.settle(ctx, mailboxID)
	}
	return out, err
}

// ExpungedSince returns, ascending, the UIDs expunged from the mailbox
// with a modseq above since: the VANISHED (EARLIER) set of QRESYNC
// (RFC 7162 §3.2.5.1). Not part of store.Store yet.
func (s *Store) ExpungedSince(ctx context.Context, mailboxID int64, since store.ModSeq) ([]store.UID, error) {
	var out []store.UID
	err := s.read(ctx, func(r *reader) error {
		rows, err := r.query(`SELECT uid FROM expunged WHERE mailbox = ? AND modseq > ? ORDER BY uid`, mailboxID, int64(since))
		if err != nil {
			return err
		}
		defer rows.Close()
		var uid int64
		for rows.Next() {
			if err := rows.Scan(&uid); err != nil {
				return err
			}
			out = append(out, store.UID(uid))
		}
		return rows.Err()
	})
	if err == nil {
		err = s.settle(ctx, mailboxID)
	}
	return out, err
}

// Flush makes every commit made before it durable (store.Store), the
// lazy ones included (Options.SyncIndex): it commits a durable write of
// its own, which fsyncs the WAL (synchronous=FULL, or the syncer's
// fdatasync), and SQLite appends every commit to the WAL in order, so
// that fsync covers each one before it; what a checkpoint already
// copied to the database file was synced by the checkpoint. A
// transaction that wrote no page would fsync nothing, hence the
// counter it bumps. It waits for the fsync even when ctx carries a
// store.Gate.
func (s *Store) Flush(ctx context.Context) error {
	return s.write(store.WithGate(ctx, nil), func(t *wtx) error {
		_, err := t.exec(`INSERT INTO meta (key, value) VALUES ('flushes', 1)
			ON CONFLICT (key) DO UPDATE SET value = value + 1`)
		return err
	})
}

// runCursor matches rows returned in UID order against run, the sorted
// UIDs a fetch asked for, by one forward walk.
type runCursor struct {
	run []store.UID
	k   int
}

// match reports whether u is one of the run's UIDs (want), and whether
// every UID of the run lies behind u (past: the rows can stop).
func (c *runCursor) match(u store.UID) (want, past bool) {
	for c.k < len(c.run) && c.run[c.k] < u {
		c.k++
	}
	if c.k == len(c.run) {
		return false, true
	}
	return c.run[c.k] == u, false
}

// fetchInline is FetchMessages with store.FieldInline: the records
// first (with their blob ids), then the bytes of those kept inline in
// one query (OpenInlineMany), then fn for each. The records are held
// until their bytes are read: the reader that streams records is not
// held while another reads blobdata. In-process, this saves SQLite
// nothing over opening each blob; it exists so that a caller asks one
// way on both backends (PostgreSQL reads both in one statement).
func (s *Store) fetchInline(ctx context.Context, mailboxID int64, uids []store.UID, fields store.Fields, fn func(*store.Message) error) error {
	var msgs []*store.Message
	err := s.FetchMessages(ctx, mailboxID, uids, fields&^store.FieldInline|store.FieldBasics, func(m *store.Message) error {
		c := *m
		msgs = append(msgs, &c)
		return nil
	})
	if err != nil {
		return err
	}
	ids := make([]string, 0, len(msgs))
	for _, m := range msgs {
		if m.BlobID != "" {
			ids = append(ids, m.BlobID)
		}
	}
	got := make(map[string][]byte, len(ids))
	if err := s.OpenInlineMany(ctx, ids, func(id string, data []byte) error {
		got[strings.Clone(id)] = append([]byte{}, data...) // both valid only in fn
		return nil
	}); err != nil {
		return err
	}
	for _, m := range msgs {
		m.Inline = got[m.BlobID]
		if err := fn(m); err != nil {
			return err
		}
	}
	return nil
}
