package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"barid/internal/store"
)

// The flag index is an in-memory copy of msgflags (uid, modseq, system
// flags, keywords, size) for large mailboxes, shared by every session.
// FETCH FLAGS, RFC822.SIZE, CONDSTORE's MODSEQ and SEARCH on flags, sizes
// and UIDs read it instead of scanning SQLite: on 100,000 messages that
// scan was the floor of FETCH 1:* (FLAGS) (~55 ms in SQLite against ~38 ms
// for the whole of Dovecot's answer, which reads its mmapped index). It is
// what Dovecot's dovecot.index is, kept in the process: 28 bytes a message.
//
// Consistency. Every in-process write goes through the writer goroutine,
// which applies its changes here right after COMMIT, in commit order
// (writer.run), exactly as it hands them to the bus. A mailbox is loaded
// from one read snapshot; changes committed while it loads are queued
// and replayed if their modseq is above the snapshot's. Writes from
// another process (the admin CLI, `barid deliver` while no server socket
// answers) bypass the writer, so every use first compares the mailbox's
// HIGHESTMODSEQ and UIDVALIDITY in the database with the index: on a
// difference the call is answered from SQLite, and a difference seen a
// second time (an in-process commit is applied within microseconds, so
// it cannot be that) drops the mailbox so the next use reloads it. An
// in-process change arriving after such a write would level the
// modseqs again; since every write raises a mailbox's modseq by exactly
// one, a change more than one above the index's drops the mailbox too
// (applyOne). The comparison is skipped while no commit happened since
// the last one (the WAL stamp) or while every commit since was the
// writer's own (ownChain, walstamp.go): another process's commit ends
// both, and the next use compares again.
//
// Memory. Only mailboxes of at least Options.FlagIndexMin messages are
// indexed, and at most Options.FlagIndexEntries messages in all; beyond
// that the least recently used mailboxes are dropped (evict).

type flagEnt struct {
	modseq store.ModSeq
	size   int64
	kw     uint32 // index into boxFlags.kwsets; 0 is "no keywords"
	sys    store.SysFlags
	dead   bool // expunged; removed by the next compaction
}

type boxFlags struct {
	hms     store.ModSeq // highest modseq reflected
	uidv    uint32
	uids    []store.UID // ascending, parallel to ents
	ents    []flagEnt
	ndead   int
	kwsets  [][]string // interned keyword lists, read-only once stored
	kwindex map[string]uint32
	used    int64
	// suspect is the database HIGHESTMODSEQ last seen differing from
	// hms; seen again, the mailbox is dropped.
	suspect store.ModSeq
	// stamp is the WAL header (walstamp.go) read before the last read
	// that found b current, when b.hms was stampHMS: while both hold,
	// b is still current.
	stamp    walStamp
	stampHMS store.ModSeq
	// gen is the ownChain generation (walstamp.go) in which a read
	// found b current: while the chain is still in it and the WAL
	// header is its head, every commit since was the writer's own and
	// is applied to b, so b is still current. 0: none.
	gen uint64
	// lent: uids[:len] has been handed out (selectView) and must not
	// change in place; appends past it are fine, since the borrower's
	// slice has no capacity beyond its length. own copies it first.
	lent bool
}

// own gives b a private copy of uids if they were lent, before a change
// in place (an insertion in the middle, compaction).
func (b *boxFlags) own() {
	if b.lent {
		b.uids = slices.Clone(b.uids)
		b.lent = false
	}
}

// load is a mailbox being loaded: the changes committed meanwhile, and
// a channel closed when the load ends (installed or not).
type load struct {
	q    []store.Change
	done chan struct{}
}

type flagIndex struct {
	mu      sync.Mutex
	boxes   map[int64]*boxFlags
	loading map[int64]*load
	entries int
	max     int
	min     int
	clock   int64
	// hits and misses count box's answers (stats.go): a current index
	// served, or a large enough mailbox that had to be (re)loaded or
	// was stale.
	hits, misses atomic.Int64
	// checks counts the reads of a mailbox row that box made to find out
	// whether an indexed mailbox is current.
	checks atomic.Int64
	// testAfterSnapshot, if set, runs inside loadBox once the snapshot
	// is read and before the load is installed (tests commit there).
	testAfterSnapshot func()
}

func newFlagIndex(maxEntries, minMessages int) *flagIndex {
	return &flagIndex{
		boxes:   map[int64]*boxFlags{},
		loading: map[int64]*load{},
		max:     maxEntries,
		min:     minMessages,
	}
}

func (b *boxFlags) intern(kw []string) uint32 {
	if len(kw) == 0 {
		return 0
	}
	key := strings.Join(kw, " ")
	if i, ok := b.kwindex[key]; ok {
		return i
	}
	i := uint32(len(b.kwsets))
	b.kwsets = append(b.kwsets, slices.Clone(kw)) // the caller's slice may change
	b.kwindex[key] = i
	return i
}

// find returns the position of uid, or -1.
func (b *boxFlags) find(uid store.UID) int {
	i := sort.Search(len(b.uids), func(i int) bool { return b.uids[i] >= uid })
	if i < len(b.uids) && b.uids[i] == uid {
		return i
	}
	return -1
}

func (b *boxFlags) put(uid store.UID, e flagEnt) int {
	n := len(b.uids)
	if n == 0 || uid > b.uids[n-1] {
		b.uids = append(b.uids, uid)
		b.ents = append(b.ents, e)
		return 1
	}
	i := sort.Search(n, func(i int) bool { return b.uids[i] >= uid })
	if i < n && b.uids[i] == uid {
		if b.ents[i].dead {
			b.ndead--
		}
		b.ents[i] = e
		return 0
	}
	b.own()
	b.uids = append(b.uids, 0)
	copy(b.uids[i+1:], b.uids[i:])
	b.uids[i] = uid
	b.ents = append(b.ents, flagEnt{})
	copy(b.ents[i+1:], b.ents[i:])
	b.ents[i] = e
	return 1
}

// compact drops expunged entries once they are a quarter of the box.
func (b *boxFlags) compact() int {
	if b.ndead == 0 || b.ndead < len(b.uids)/4 {
		return 0
	}
	return b.compactNow()
}

// compactNow drops the expunged entries whatever their number.
func (b *boxFlags) compactNow() int {
	if b.ndead == 0 {
		return 0
	}
	b.own()
	j := 0
	for i := range b.uids {
		if !b.ents[i].dead {
			b.uids[j], b.ents[j] = b.uids[i], b.ents[i]
			j++
		}
	}
	freed := len(b.uids) - j
	b.uids, b.ents = b.uids[:j], b.ents[:j]
	b.ndead = 0
	return freed
}

// apply records committed changes. Called by the writer after COMMIT.
func (x *flagIndex) apply(chs []store.Change) {
	x.mu.Lock()
	defer x.mu.Unlock()
	for i := range chs {
		ch := &chs[i]
		if l := x.loading[ch.MailboxID]; l != nil {
			l.q = append(l.q, *ch)
		}
		b := x.boxes[ch.MailboxID]
		if b == nil {
			continue
		}
		if !x.applyOne(ch.MailboxID, b, ch) {
			x.drop(ch.MailboxID)
		}
	}
}

// applyOne applies one change to b. It reports false when b can no longer
// be trusted: every change a writer makes raises the mailbox's modseq by
// exactly one (a command's changes share it), so a change more than one
// above b.hms means another process committed the modseqs between, and
// b misses those changes even once its modseq catches up.
func (x *flagIndex) applyOne(id int64, b *boxFlags, ch *store.Change) bool {
	if ch.ModSeq > b.hms+1 && ch.Kind != store.ChangeMailboxDeleted {
		return false
	}
	switch ch.Kind {
	case store.ChangeAdded:
		x.entries += b.put(ch.UID, flagEnt{modseq: ch.ModSeq, size: ch.Size, sys: ch.Flags.System, kw: b.intern(ch.Flags.Keywords)})
	case store.ChangeFlags:
		if i := b.find(ch.UID); i >= 0 {
			e := &b.ents[i]
			e.modseq, e.sys, e.kw = ch.ModSeq, ch.Flags.System, b.intern(ch.Flags.Keywords)
		}
	case store.ChangeExpunged:
		if i := b.find(ch.UID); i >= 0 && !b.ents[i].dead {
			b.ents[i].dead = true
			b.ndead++
			x.entries -= b.compact()
		}
	case store.ChangeMailboxDeleted:
		return false
	case store.ChangePrivateSeen:
		// a user's private \Seen raised the mailbox's modseq; no
		// message row changed
	default:
		return true
	}
	b.hms = max(b.hms, ch.ModSeq)
	return true
}

// evict drops the least recently used mailboxes until at most target
// entries remain. It frees an eighth of the cap beyond what is needed,
// so with many small mailboxes indexed the scan and sort are paid once
// per many loads, not once per load.
func (x *flagIndex) evict(target int) {
	type use struct{ id, used int64 }
	order := make([]use, 0, len(x.boxes))
	for id, b := range x.boxes {
		order = append(order, use{id, b.used})
	}
	slices.SortFunc(order, func(a, b use) int { return cmp.Compare(a.used, b.used) })
	for _, u := range order {
		if x.entries <= target {
			break
		}
		x.drop(u.id)
	}
}

func (x *flagIndex) drop(id int64) {
	if b := x.boxes[id]; b != nil {
		x.entries -= len(b.uids)
		delete(x.boxes, id)
	}
}

// box returns the index of mailboxID if it is current, loading it when
// the mailbox is large enough; nil means "answer from SQLite". The
// returned box must only be read under x.mu.
func (s *Store) box(ctx context.Context, mailboxID int64) (*boxFlags, error) {
	x := s.index
	if x == nil || x.max <= 0 {
		return nil, nil
	}
	// No commit since b was last found current (walstamp.go): it still
	// is, and no SQLite read is needed. A FETCH 1:* of 100,000
	// envelopes asks once per chunk, SELECT's FETCH FLAGS once.
	// Nor when every commit since was this store's writer's, which
	// applied it here (ownChain, walstamp.go).
	st := s.wal.stamp()
	gen, chained := s.chain.current(st)
	x.mu.Lock()
	if b := x.boxes[mailboxID]; b != nil && (b.stamp.same(st) && b.hms == b.stampHMS || chained && b.gen == gen) {
		x.clock++
		b.used = x.clock
		x.mu.Unlock()
		x.hits.Add(1)
		return b, nil
	}
	x.mu.Unlock()
	x.checks.Add(1)
	var hms, uidv, msgs int64
	err := s.read(ctx, func(r *reader) error {
		return r.queryRow(`SELECT highestmodseq, uidvalidity, messages FROM mailboxes WHERE id = ?`, mailboxID).Scan(&hms, &uidv, &msgs)
	})
	if errNoRows(err) {
		x.mu.Lock()
		x.drop(mailboxID)
		x.mu.Unlock()
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	x.mu.Lock()
	b := x.boxes[mailboxID]
	if b != nil {
		if b.hms == store.ModSeq(hms) && b.uidv == uint32(uidv) {
			x.clock++
			b.used = x.clock
			b.suspect = 0
			b.stamp, b.stampHMS = st, b.hms
			b.gen = 0
			if chained {
				b.gen = gen
			}
			x.mu.Unlock()
			x.hits.Add(1)
			return b, nil
		}
		x.misses.Add(1)
		if b.suspect == store.ModSeq(hms) {
			x.drop(mailboxID)
		} else {
			b.suspect = store.ModSeq(hms)
		}
		x.mu.Unlock()
		return nil, nil
	}
	if msgs < int64(x.min) || msgs > int64(x.max) {
		x.mu.Unlock()
		return nil, nil
	}
	if l := x.loading[mailboxID]; l != nil {
		// Another caller (often SELECT's warm-up) is loading it: wait for
		// that rather than scan SQLite at the same time, then check again.
		x.mu.Unlock()
		select {
		case <-l.done:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		x.mu.Lock()
		b := x.boxes[mailboxID]
		ok := b != nil && b.hms == store.ModSeq(hms) && b.uidv == uint32(uidv)
		x.mu.Unlock()
		if !ok {
			return nil, nil
		}
		return b, nil
	}
	x.misses.Add(1)
	l := &load{done: make(chan struct{})}
	x.loading[mailboxID] = l
	x.mu.Unlock()

	b, err = s.loadBox(ctx, mailboxID)

	x.mu.Lock()
	defer x.mu.Unlock()
	delete(x.loading, mailboxID)
	defer close(l.done)
	if err != nil || b == nil {
		return nil, err
	}
	q := &l.q
	// Replay what committed after the snapshot. Compare with the
	// snapshot's modseq, not b.hms, which grows as changes are applied:
	// the changes of one command share a modseq.
	snap := b.hms
	for i := range *q {
		if ch := &(*q)[i]; ch.ModSeq > snap || ch.Kind == store.ChangeMailboxDeleted {
			if !x.applyOne(mailboxID, b, ch) {
				return nil, nil // deleted, or written by another process
			}
		}
	}
	b.compact()
	if x.entries+len(b.uids) > x.max {
		x.evict(x.max - len(b.uids) - x.max/8)
	}
	x.entries += len(b.uids)
	x.clock++
	b.used = x.clock
	x.boxes[mailboxID] = b
	// Serve this call only if nothing was committed since the check
	// above; otherwise the next call validates again.
	if b.hms != store.ModSeq(hms) {
		return nil, nil
	}
	return b, nil
}

// loadBox reads a mailbox's msgflags rows and HIGHESTMODSEQ from one
// snapshot. Rows come aggregated a few thousand at a time, as in
// fetchFlags: database/sql's cost per row is most of a plain scan.
func (s *Store) loadBox(ctx context.Context, mailboxID int64) (*boxFlags, error) {
	b := &boxFlags{kwsets: [][]string{nil}, kwindex: map[string]uint32{}}
	err := s.bulkTx(ctx, func(r *reader) error {
		var hms, uidv, msgs int64
		if err := r.queryRow(`SELECT highestmodseq, uidvalidity, messages FROM mailboxes WHERE id = ?`, mailboxID).Scan(&hms, &uidv, &msgs); err != nil {
			return err
		}
		b.hms, b.uidv = store.ModSeq(hms), uint32(uidv)
		// Sized once (the counter is kept in the same transaction as
		// every change), so loading leaves no garbage of regrown arrays.
		n := int(min(max(msgs, 0), 1<<24))
		b.uids = make([]store.UID, 0, n)
		b.ents = make([]flagEnt, 0, n)
		const q = `SELECT count(*), max(uid), group_concat(uid || ' ' || modseq || ' ' || sysflags || ' ' || size || iif(keywords = '', '', ' ' || keywords), char(10))
			FROM (SELECT uid, modseq, sysflags, size, keywords FROM msgflags WHERE mailbox = ? AND uid > ? ORDER BY uid LIMIT 8192)`
		var after int64
		for {
			var n int64
			var last sql.NullInt64
			var raw sql.RawBytes
			rows, err := r.query(q, mailboxID, after)
			if err != nil {
				return err
			}
			for rows.Next() {
				if err := rows.Scan(&n, &last, &raw); err != nil {
					rows.Close()
					return err
				}
				if err := b.parseLines(raw); err != nil {
					rows.Close()
					return err
				}
			}
			if err := rows.Close(); err != nil {
				return err
			}
			if n < 8192 || !last.Valid {
				if h := s.index.testAfterSnapshot; h != nil {
					h()
				}
				return nil
			}
			after = last.Int64
		}
	})
	if errNoRows(err) {
		return nil, nil
	}
	return b, err
}

// parseLines reads "uid modseq sysflags size[ keyword...]" lines.
func (b *boxFlags) parseLines(raw []byte) error {
	for len(raw) > 0 {
		var line []byte
		line, raw = nextLine(raw)
		var nums [4]uint64
		rest, ok := parseUints(line, nums[:])
		if !ok {
			return fmt.Errorf("sqlite: bad flag index line %q", line)
		}
		var kw uint32
		if len(rest) > 0 {
			kw = b.intern(strings.Fields(string(rest)))
		}
		b.uids = append(b.uids, store.UID(nums[0]))
		b.ents = append(b.ents, flagEnt{modseq: store.ModSeq(nums[1]), sys: store.SysFlags(nums[2]), size: int64(nums[3]), kw: kw})
	}
	return nil
}

// indexed is one message's entry copied out of the index.
type indexed struct {
	uid    store.UID
	modseq store.ModSeq
	size   int64
	flags  store.Flags
}

// fill sets the flags and size of m from the index entry, for the
// fields asked; with FieldBasics the size comes with the row instead.
func (e *indexed) fill(m *store.Message, fields store.Fields) {
	if fields&store.FieldFlags != 0 {
		m.ModSeq, m.Flags = e.modseq, e.flags
	}
	if fields&store.FieldSize != 0 && fields&store.FieldBasics == 0 {
		m.Size = e.size
	}
}

// indexedBufs lends lookup's output buffers to fetchIndexed and
// fetchWithIndex, which otherwise allocated one per FETCH and SELECT.
var indexedBufs = sync.Pool{New: func() any { return new([]indexed) }}

const indexedStep = 4096 // UIDs looked up at a time

func getIndexed() *[]indexed { return indexedBufs.Get().(*[]indexed) }

func putIndexed(b *[]indexed) {
	clear((*b)[:cap(*b)]) // entries point at interned keyword lists
	*b = (*b)[:0]
	indexedBufs.Put(b)
}

// lookup copies the live entries for uids (ascending) out of b.
func (x *flagIndex) lookup(b *boxFlags, uids []store.UID, out []indexed) []indexed {
	x.mu.Lock()
	defer x.mu.Unlock()
	if len(uids) == 0 || len(b.uids) == 0 {
		return out
	}
	i := sort.Search(len(b.uids), func(i int) bool { return b.uids[i] >= uids[0] })
	for _, u := range uids {
		for i < len(b.uids) && b.uids[i] < u {
			i++
		}
		if i == len(b.uids) {
			break
		}
		if b.uids[i] != u || b.ents[i].dead {
			continue
		}
		e := &b.ents[i]
		out = append(out, indexed{uid: u, modseq: e.modseq, size: e.size, flags: store.Flags{System: e.sys, Keywords: b.kwsets[e.kw]}})
	}
	return out
}

// liveUIDs copies the UIDs of mailboxID's index entries when the index
// is loaded and current for the given HIGHESTMODSEQ and UIDVALIDITY,
// read from the database just before: an index at that modseq holds
// exactly the messages of that snapshot (every write raises the modseq,
// and the writer applies its changes here in commit order). It never
// loads: SELECT has started the warm-up (WarmFlags) and falls back to
// SQL meanwhile.
func (x *flagIndex) liveUIDs(mailboxID int64, hms store.ModSeq, uidv uint32) ([]store.UID, bool) {
	uids, _, ok := x.view(mailboxID, hms, uidv, false)
	return uids, ok
}

// selectView is liveUIDs plus the lowest live UID without \Seen (0 if
// every message is seen), from the same state of the index. The UIDs
// may be the index's own array, lent (boxFlags.lent): the caller must
// copy them before changing any in place.
func (x *flagIndex) selectView(mailboxID int64, hms store.ModSeq, uidv uint32) ([]store.UID, store.UID, bool) {
	return x.view(mailboxID, hms, uidv, true)
}

func (x *flagIndex) view(mailboxID int64, hms store.ModSeq, uidv uint32, lend bool) ([]store.UID, store.UID, bool) {
	x.mu.Lock()
	defer x.mu.Unlock()
	b := x.boxes[mailboxID]
	if b == nil || b.hms != hms || b.uidv != uidv {
		return nil, 0, false
	}
	x.clock++
	b.used = x.clock
	x.hits.Add(1)
	var first store.UID
	if lend {
		// Expunged entries would make every SELECT copy the live UIDs
		// out; one compaction lets this one and the next lend them.
		x.entries -= b.compactNow()
		first = b.firstWithout(store.FlagSeen)
		if b.ndead == 0 {
			// No copy: 4 bytes a message per SELECT (4 MiB at a
			// million) and the garbage they make.
			b.lent = true
			n := len(b.uids)
			return b.uids[:n:n], first, true
		}
	}
	out := make([]store.UID, 0, len(b.uids)-b.ndead)
	if b.ndead == 0 {
		return append(out, b.uids...), first, true
	}
	for i, u := range b.uids {
		if !b.ents[i].dead {
			out = append(out, u)
		}
	}
	return out, first, true
}

// live is the number of messages b holds.
func (x *flagIndex) live(b *boxFlags) int {
	x.mu.Lock()
	defer x.mu.Unlock()
	return len(b.uids) - b.ndead
}

// firstWithout returns the lowest live UID of b whose system flags lack
// f, or 0.
func (x *flagIndex) firstWithout(b *boxFlags, f store.SysFlags) store.UID {
	x.mu.Lock()
	defer x.mu.Unlock()
	return b.firstWithout(f)
}

// firstWithout is flagIndex.firstWithout under x.mu.
func (b *boxFlags) firstWithout(f store.SysFlags) store.UID {
	for i := range b.ents {
		if e := &b.ents[i]; !e.dead && e.sys&f == 0 {
			return b.uids[i]
		}
	}
	return 0
}

// fetchIndexed answers FetchMessages for flags and sizes from the index.
func (s *Store) fetchIndexed(b *boxFlags, mailboxID int64, uids []store.UID, fields store.Fields, fn func(*store.Message) error) error {
	const step = indexedStep
	pb := getIndexed()
	defer putIndexed(pb)
	// One Message, reused (fn must not keep it, store.Store); only the
	// fields set below ever change, so it is not zeroed per message.
	m := store.Message{MailboxID: mailboxID}
	for start := 0; start < len(uids); start += step {
		buf := s.index.lookup(b, uids[start:min(start+step, len(uids))], (*pb)[:0])
		*pb = buf
		for i := range buf {
			e := &buf[i]
			m.UID = e.uid
			e.fill(&m, fields)
			if err := fn(&m); err != nil {
				return err
			}
		}
	}
	return nil
}

// searchIndexed evaluates criteria made only of flags, keywords, sizes
// and UID ranges over the index. ok is false when c needs other fields.
func (s *Store) searchIndexed(b *boxFlags, c *store.Criteria) ([]store.UID, bool) {
	x := s.index
	x.mu.Lock()
	defer x.mu.Unlock()
	match, ok := compileIndexed(b, c)
	if !ok {
		return nil, false
	}
	var out []store.UID
	for i := range b.ents {
		if e := &b.ents[i]; !e.dead && match(b.uids[i], e) {
			out = append(out, b.uids[i])
		}
	}
	return out, true
}

// compileIndexed turns c into a predicate over index entries. Keyword
// tests are precomputed per interned keyword list. Must run under x.mu.
func compileIndexed(b *boxFlags, c *store.Criteria) (func(store.UID, *flagEnt) bool, bool) {
	switch c.Op {
	case store.CritAll:
		return func(store.UID, *flagEnt) bool { return true }, true
	case store.CritAnd, store.CritOr:
		subs := make([]func(store.UID, *flagEnt) bool, len(c.Sub))
		for i, sc := range c.Sub {
			f, ok := compileIndexed(b, sc)
			if !ok {
				return nil, false
			}
			subs[i] = f
		}
		if c.Op == store.CritAnd {
			return func(u store.UID, e *flagEnt) bool {
				for _, f := range subs {
					if !f(u, e) {
						return false
					}
				}
				return true
			}, true
		}
		return func(u store.UID, e *flagEnt) bool {
			for _, f := range subs {
				if f(u, e) {
					return true
				}
			}
			return false
		}, true
	case store.CritNot:
		if len(c.Sub) != 1 {
			return nil, false
		}
		f, ok := compileIndexed(b, c.Sub[0])
		if !ok {
			return nil, false
		}
		return func(u store.UID, e *flagEnt) bool { return !f(u, e) }, true
	case store.CritSysSet:
		want := c.Sys
		return func(_ store.UID, e *flagEnt) bool { return e.sys&want == want }, true
	case store.CritSysClear:
		want := c.Sys
		return func(_ store.UID, e *flagEnt) bool { return e.sys&want == 0 }, true
	case store.CritKeyword, store.CritNoKeyword:
		// Keywords are atoms, ASCII (RFC 9051 §9 flag-keyword), so this
		// is the SQL form's lower() comparison.
		has := make([]bool, len(b.kwsets))
		for i, set := range b.kwsets {
			has[i] = slices.ContainsFunc(set, func(k string) bool { return strings.EqualFold(k, c.Value) })
		}
		neg := c.Op == store.CritNoKeyword
		return func(_ store.UID, e *flagEnt) bool {
			// kwsets only grows while the lock is held, so e.kw < len(has).
			return has[e.kw] != neg
		}, true
	case store.CritLarger:
		n := c.Num
		return func(_ store.UID, e *flagEnt) bool { return e.size > n }, true
	case store.CritSmaller:
		n := c.Num
		return func(_ store.UID, e *flagEnt) bool { return e.size < n }, true
	case store.CritUIDRange:
		lo, hi := c.Lo, c.Hi
		return func(u store.UID, _ *flagEnt) bool { return u >= lo && u <= hi }, true
	}
	return nil, false
}

// VerifyFlagIndex compares every indexed mailbox that is current (its
// HIGHESTMODSEQ equal to the database's) with its msgflags rows and
// reports the first difference. It reads the database directly, never
// the index, so tests can check the index against the truth after a
// concurrent run. It returns how many mailboxes were compared.
func (s *Store) VerifyFlagIndex(ctx context.Context) (int, error) {
	x := s.index
	if x == nil {
		return 0, nil
	}
	x.mu.Lock()
	ids := make([]int64, 0, len(x.boxes))
	for id := range x.boxes {
		ids = append(ids, id)
	}
	x.mu.Unlock()
	checked := 0
	for _, id := range ids {
		db, err := s.loadBox(ctx, id)
		if err != nil {
			return checked, err
		}
		x.mu.Lock()
		b := x.boxes[id]
		var diff string
		switch {
		case b == nil || db == nil || b.hms != db.hms:
			// dropped, deleted or changed since: nothing to compare
		default:
			diff = compareBoxes(b, db)
			checked++
		}
		x.mu.Unlock()
		if diff != "" {
			return checked, fmt.Errorf("flag index of mailbox %d differs from the database: %s", id, diff)
		}
	}
	return checked, nil
}

func compareBoxes(idx, db *boxFlags) string {
	i := 0
	for j, u := range db.uids {
		for i < len(idx.uids) && idx.ents[i].dead {
			i++
		}
		if i == len(idx.uids) {
			return fmt.Sprintf("UID %d missing", u)
		}
		a, b := &idx.ents[i], &db.ents[j]
		ka, kb := strings.Join(idx.kwsets[a.kw], " "), strings.Join(db.kwsets[b.kw], " ")
		if idx.uids[i] != u || a.modseq != b.modseq || a.sys != b.sys || a.size != b.size || ka != kb {
			return fmt.Sprintf("UID %d: index (uid %d modseq %d flags %d size %d kw %q), database (modseq %d flags %d size %d kw %q)",
				u, idx.uids[i], a.modseq, a.sys, a.size, ka, b.modseq, b.sys, b.size, kb)
		}
		i++
	}
	for ; i < len(idx.uids); i++ {
		if !idx.ents[i].dead {
			return fmt.Sprintf("UID %d only in the index", idx.uids[i])
		}
	}
	return ""
}

// WarmFlags starts loading mailboxID's flag index in the background if
// the mailbox is large enough and not loaded yet (store.FlagWarmer):
// SELECT calls it, so that the FETCH FLAGS a client sends next finds the
// index ready, or waits for the load instead of scanning SQLite too.
func (s *Store) WarmFlags(mailboxID int64) {
	if s.index == nil {
		return
	}
	s.index.mu.Lock()
	_, loaded := s.index.boxes[mailboxID]
	_, loading := s.index.loading[mailboxID]
	s.index.mu.Unlock()
	if loaded || loading {
		return
	}
	go func() {
		if _, err := s.box(s.bg, mailboxID); err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, ErrClosed) {
			s.log.Warn("sqlite: flag index warm-up", "mailbox", mailboxID, "err", err)
		}
	}()
}
