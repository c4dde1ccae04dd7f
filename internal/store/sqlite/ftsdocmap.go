package sqlite

import (
	"container/list"
	"context"
	"database/sql"
	"errors"
	"slices"
	"sync"
	"sync/atomic"

	"barid/internal/store"
)

// The document map (docs/search.md, "Common words"): for mailboxes whose
// lookups hit many index documents, an in-memory copy of the mailbox's
// fts_where rows, (document, UID) pairs sorted by document. FTS5 gives
// a word's documents in rowid order; turning 175,296 of them into UIDs
// by one fts_where seek each was 60 % of SEARCH TEXT "regards" at
// 1,000,000 messages (about 1 µs a seek, and the sort of the UIDs after
// it); merged against this copy it is a walk over two sorted arrays.
//
// Consistency. A map describes one read snapshot, its cover: the
// mailbox's UIDVALIDITY and HIGHESTMODSEQ, the highest fts_docs.id and
// the highest UID. Every fact it holds, "UID u of this mailbox has the
// content of document d", stays true for as long as u exists (a
// message's content never changes, a UID is never reused within a
// UIDVALIDITY), so a lookup in a later snapshot brings the map forward
// by reading only what changed since its cover:
//   - documents indexed since (fts_docs.id above the cover's: SQLite
//     gives a new row max(id)+1), whose fts_where rows IndexText wrote
//     with every message holding them;
//   - if HIGHESTMODSEQ moved (every message insert and expunge raises
//     it): the UIDs expunged since (the expunged table, by modseq),
//     marked dead, and the messages above the cover's UID whose content
//     was indexed already (COPY, MOVE, a second delivery of the same
//     bytes; the fts_where_insert trigger's rows).
//
// Only the highest document id can be given again, after its row was
// deleted (orphan purge): a map checks that its cover's document still
// names the same content and is reloaded when not. A lookup in a
// snapshot older than a map's cover does not use it (it would answer
// for a later state); it takes the SQL path, as do mailboxes whose map
// would not fit in Options.DocMapEntries.

// DefaultDocMapEntries is the default of Options.DocMapEntries: about
// 12 bytes an entry, so 48 MiB at most.
const DefaultDocMapEntries = 4 << 20

// DefaultDocMapMinHits is the default of Options.DocMapMinHits.
const DefaultDocMapMinHits = 4096

type docBox struct {
	id   int64
	mu   sync.Mutex
	elem *list.Element // in docMaps.lru, under docMaps.mu
	// cover
	loaded  bool
	loading bool // a background load is under way (loadDocMap)
	uidv    int64
	hms     int64
	maxDoc  int64
	maxBlob string
	maxUID  int64
	// docs ascending, uids parallel; uid 0 marks an expunged message.
	docs []int64
	uids []store.UID
	dead int
	size int // entries charged to docMaps.used
}

type docMaps struct {
	mu    sync.Mutex
	limit int
	used  int
	boxes map[int64]*docBox
	lru   *list.List // front: most recently used *docBox
}

func newDocMaps(limit int) *docMaps {
	return &docMaps{limit: limit, boxes: map[int64]*docBox{}, lru: list.New()}
}

// box returns the map of a mailbox, created empty if absent.
func (m *docMaps) box(id int64) *docBox {
	m.mu.Lock()
	defer m.mu.Unlock()
	b := m.boxes[id]
	if b == nil {
		b = &docBox{id: id}
		m.boxes[id] = b
		b.elem = m.lru.PushFront(b)
	} else {
		m.lru.MoveToFront(b.elem)
	}
	return b
}

// charge records b's new size and evicts the least recently used maps
// other than b while the total is over the limit. It reports false, and
// forgets b, when b alone is over it or was replaced meanwhile (the
// caller then answers without it).
func (m *docMaps) charge(b *docBox, size int) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if cur := m.boxes[b.id]; cur != b {
		if cur != nil {
			b.size = 0
			return false
		}
		m.boxes[b.id] = b
		b.elem = m.lru.PushFront(b)
	}
	m.used += size - b.size
	b.size = size
	for e := m.lru.Back(); m.used > m.limit && e != nil; {
		prev := e.Prev()
		if o := e.Value.(*docBox); o != b {
			// o's arrays go with it; a lookup holding o still
			// answers from them (they are true for its snapshot).
			m.drop(o)
		}
		e = prev
	}
	if m.used > m.limit {
		m.drop(b)
		return false
	}
	return true
}

func (m *docMaps) drop(b *docBox) {
	m.used -= b.size
	b.size = 0
	m.lru.Remove(b.elem)
	delete(m.boxes, b.id)
}

// docCover is the state of a mailbox and of fts_docs in a read snapshot.
type docCover struct {
	uidv, hms, maxDoc, maxUID int64
	maxBlob                   string
	messages                  int64
}

func readDocCover(r *reader, mailboxID int64) (c docCover, ok bool, err error) {
	var uidnext int64
	err = r.c.conn.QueryRowContext(r.ctx, `SELECT uidvalidity, highestmodseq, uidnext, messages FROM mailboxes WHERE id = ?`, mailboxID).
		Scan(&c.uidv, &c.hms, &uidnext, &c.messages)
	if errNoRows(err) {
		return c, false, nil
	}
	if err != nil {
		return c, false, err
	}
	c.maxUID = uidnext - 1
	var id sql.NullInt64
	var blob sql.NullString
	if err := r.c.conn.QueryRowContext(r.ctx, `SELECT id, blob_id FROM fts_docs WHERE id = (SELECT max(id) FROM fts_docs)`).
		Scan(&id, &blob); err != nil && !errNoRows(err) {
		return c, false, err
	}
	c.maxDoc, c.maxBlob = id.Int64, blob.String
	return c, true, nil
}

// docMapAsync makes a lookup that finds no map start loading it in the
// background and answer in SQL meanwhile (the first load reads every
// fts_where row of the mailbox: about a second at 1,000,000 messages,
// longer than the SQL join it replaces). Tests turn it off to know
// which path answers.
var docMapAsync atomic.Bool

func init() { docMapAsync.Store(true) }

// docMapFor returns the map of a mailbox brought to r's snapshot, locked
// (the caller unlocks b.mu), or nil when it cannot be used: the mailbox
// is gone, the snapshot is older than the map, or the map does not fit.
// A map that must be read whole is read here when load is true, else
// (docMapAsync) by loadDocMap in the background.
func (s *Store) docMapFor(r *reader, mailboxID int64, load bool) (*docBox, error) {
	cov, ok, err := readDocCover(r, mailboxID)
	if err != nil || !ok || cov.messages > int64(s.docmaps.limit) {
		// A mailbox too big for the limit is not loaded only to be
		// dropped again.
		return nil, err
	}
	b := s.docmaps.box(mailboxID)
	b.mu.Lock()
	keep := false
	defer func() {
		if !keep {
			b.mu.Unlock()
		}
	}()
	fresh := !b.loaded || b.uidv != cov.uidv
	if !fresh {
		if b.hms > cov.hms || b.maxDoc > cov.maxDoc {
			return nil, nil // r's snapshot is older than the map
		}
		if b.maxDoc != cov.maxDoc || b.maxBlob != cov.maxBlob {
			// Is the cover's last document still the same content?
			var blob string
			err := r.c.conn.QueryRowContext(r.ctx, `SELECT blob_id FROM fts_docs WHERE id = ?`, b.maxDoc).Scan(&blob)
			if err != nil && !errNoRows(err) {
				return nil, err
			}
			fresh = err != nil || blob != b.maxBlob
		}
	}
	if fresh && !load && docMapAsync.Load() {
		if !b.loading {
			b.loading = true
			go s.loadDocMap(b)
		}
		return nil, nil
	}
	if fresh {
		err = b.load(r, cov)
	} else {
		err = b.refresh(r, cov)
	}
	if err != nil {
		s.docmaps.charge(b, 0)
	}
	if err != nil || !s.docmaps.charge(b, len(b.docs)) {
		b.loaded = false
		b.docs, b.uids = nil, nil
		return nil, err
	}
	keep = true
	return b, nil
}

// loadDocMap reads the map of b's mailbox in the background.
func (s *Store) loadDocMap(b *docBox) {
	err := s.bulkTx(s.bg, func(r *reader) error {
		m, err := s.docMapFor(r, b.id, true)
		if m != nil {
			m.mu.Unlock()
		}
		return err
	})
	if err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, ErrClosed) {
		s.log.Warn("sqlite: full-text document map", "mailbox", b.id, "err", err)
	}
	b.mu.Lock()
	b.loading = false
	b.mu.Unlock()
}

// load reads the mailbox's fts_where rows.
func (b *docBox) load(r *reader, cov docCover) error {
	var ds, us sql.RawBytes
	b.docs, b.uids, b.dead = b.docs[:0], b.uids[:0], 0
	rows, err := r.c.conn.QueryContext(r.ctx, `SELECT group_concat(doc), group_concat(uid) FROM fts_where WHERE mailbox = ?`, b.id)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := rows.Scan(&ds, &us); err != nil {
			return err
		}
		if b.docs, err = parseInts(b.docs, ds); err != nil {
			return err
		}
		if b.uids, err = parseUIDs(b.uids, us, false); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if len(b.docs) != len(b.uids) {
		return errDocMap
	}
	sortPairs(b.docs, b.uids)
	b.setCover(cov)
	b.loaded = true
	return nil
}

func (b *docBox) setCover(cov docCover) {
	b.uidv, b.hms, b.maxDoc, b.maxBlob, b.maxUID = cov.uidv, cov.hms, cov.maxDoc, cov.maxBlob, cov.maxUID
}

// refresh brings a map to cov (see "Consistency" above).
func (b *docBox) refresh(r *reader, cov docCover) error {
	var addD []int64
	var addU []store.UID
	scan := func(q string, args ...any) error {
		rows, err := r.c.conn.QueryContext(r.ctx, q, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var d, u int64
			if err := rows.Scan(&d, &u); err != nil {
				return err
			}
			addD = append(addD, d)
			addU = append(addU, store.UID(u))
		}
		return rows.Err()
	}
	if cov.maxDoc > b.maxDoc {
		if err := scan(`SELECT doc, uid FROM fts_where WHERE doc > ? AND mailbox = ?`, b.maxDoc, b.id); err != nil {
			return err
		}
	}
	if cov.hms > b.hms {
		rows, err := r.c.conn.QueryContext(r.ctx, `SELECT uid FROM expunged WHERE mailbox = ? AND modseq > ?`, b.id, b.hms)
		if err != nil {
			return err
		}
		gone := map[store.UID]struct{}{}
		for rows.Next() {
			var u int64
			if err := rows.Scan(&u); err != nil {
				rows.Close()
				return err
			}
			if u <= b.maxUID {
				gone[store.UID(u)] = struct{}{}
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if len(gone) > 0 {
			for i, u := range b.uids {
				if _, ok := gone[u]; ok && u != 0 {
					b.uids[i] = 0
					b.dead++
				}
			}
		}
		if cov.maxUID > b.maxUID {
			// Messages since whose content was indexed before the
			// cover (those indexed after it came with their documents
			// above).
			if err := scan(`SELECT d.id, m.uid FROM messages m CROSS JOIN fts_docs d ON d.blob_id = m.blob_id
				WHERE m.mailbox = ? AND m.uid > ? AND d.id <= ?`, b.id, b.maxUID, b.maxDoc); err != nil {
				return err
			}
		}
	}
	if len(addD) > 0 || b.dead > len(b.uids)/4 {
		b.merge(addD, addU)
	}
	b.setCover(cov)
	return nil
}

// merge adds pairs to the map and drops its dead entries.
func (b *docBox) merge(addD []int64, addU []store.UID) {
	sortPairs(addD, addU)
	docs := make([]int64, 0, len(b.docs)-b.dead+len(addD))
	uids := make([]store.UID, 0, cap(docs))
	i, j := 0, 0
	for i < len(b.docs) || j < len(addD) {
		if j == len(addD) || i < len(b.docs) && b.docs[i] <= addD[j] {
			if b.uids[i] != 0 {
				docs, uids = append(docs, b.docs[i]), append(uids, b.uids[i])
			}
			i++
		} else {
			docs, uids = append(docs, addD[j]), append(uids, addU[j])
			j++
		}
	}
	b.docs, b.uids, b.dead = docs, uids, 0
}

// uidsOf appends to out the live UIDs of the documents ds (ascending).
func (b *docBox) uidsOf(out []store.UID, ds []int64) []store.UID {
	i := 0
	for _, d := range ds {
		if i < len(b.docs) && b.docs[i] < d {
			// Gallop: the map is usually much longer than ds.
			step := 1
			for i+step < len(b.docs) && b.docs[i+step] < d {
				i += step
				step *= 2
			}
			// b.docs[i] < d, and d <= b.docs[i+step] if that exists.
			lo, hi := i+1, min(i+step+1, len(b.docs))
			i = lo + sortSearch(b.docs[lo:hi], d)
		}
		for ; i < len(b.docs) && b.docs[i] == d; i++ {
			if u := b.uids[i]; u != 0 {
				out = append(out, u)
			}
		}
	}
	return out
}

// sortSearch returns the first index of a (ascending) whose value is at
// least d.
func sortSearch(a []int64, d int64) int {
	n, _ := slices.BinarySearch(a, d)
	return n
}

// sortPairs sorts docs ascending, carrying uids along, unless sorted.
func sortPairs(docs []int64, uids []store.UID) {
	if slices.IsSorted(docs) {
		return
	}
	idx := make([]int, len(docs))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int {
		switch {
		case docs[a] < docs[b]:
			return -1
		case docs[a] > docs[b]:
			return 1
		}
		return 0
	})
	d2 := make([]int64, len(docs))
	u2 := make([]store.UID, len(uids))
	for k, i := range idx {
		d2[k], u2[k] = docs[i], uids[i]
	}
	copy(docs, d2)
	copy(uids, u2)
}

type docMapError string

func (e docMapError) Error() string { return string(e) }

const errDocMap = docMapError("sqlite: fts_where lists of unequal length")

// parseInts appends the comma-separated integers of b to out.
func parseInts(out []int64, b []byte) ([]int64, error) {
	if len(b) == 0 {
		return out, nil
	}
	var v int64
	digits := 0
	for i := 0; i <= len(b); i++ {
		if i == len(b) || b[i] == ',' {
			if digits == 0 {
				return nil, errBadIntList
			}
			out = append(out, v)
			v, digits = 0, 0
			continue
		}
		c := b[i] - '0'
		if c > 9 || digits > 18 {
			return nil, errBadIntList
		}
		v = v*10 + int64(c)
		digits++
	}
	return out, nil
}

const errBadIntList = docMapError("sqlite: bad integer list")
