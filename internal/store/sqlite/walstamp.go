package sqlite

import (
	"bytes"
	"encoding/binary"
	"os"
	"sync"

	"barid/internal/store"
)

// The WAL stamp tells, without a SQLite read transaction, that no
// connection (of this process or of another one: barid deliver, import
// or a second server on the same file) has committed since a moment.
// A read transaction takes and releases the WAL's shared-memory read
// lock and the database file's lock (fcntl system calls) and runs the
// SQLite engine: it was most of what a SELECT of a 20,000-message
// mailbox still cost once its UIDs came from the flag index.
//
// SQLite's WAL index (the -shm file, https://www.sqlite.org/walformat.html
// §2.1) begins with the WAL-index header, written twice (48 bytes each)
// by every commit: iChange counts the header's writes, mxFrame is the
// last valid frame, and the salts change when the WAL restarts; a
// reader's snapshot is whatever that header says when its transaction
// begins. So if two reads of the header are equal, no commit became
// visible in between, and a value read from the database after the
// first read is still current. The header is read with one pread of the
// shared file (the same pages SQLite maps); a read torn by a concurrent
// commit shows as its two copies differing, and is treated as a change.
//
// The -shm file exists, and stays the same file, as long as a
// connection of this process holds the database open in WAL mode
// (SQLite deletes it only when the last connection closes, and in WAL
// mode every open connection keeps a shared lock on the database file
// that tells another process it is not the last).

// walHdrSize is the WAL-index header: two copies of 48 bytes.
const walHdrSize = 96

// walStamp is a WAL-index header as read; the zero stamp matches nothing.
type walStamp struct {
	ok  bool
	hdr [48]byte
}

// walWatch reads the WAL-index header of a store's database.
type walWatch struct {
	mu sync.Mutex // serializes buf
	f  *os.File
	// buf holds one header read.
	buf [walHdrSize]byte
	// key and refs: its entry in walWatches.
	key  string
	refs int
}

// walWatches shares one open -shm file per path among the stores of this
// process, and closes it only when the last of them closes. This is
// process-wide state on purpose, as SQLite's own unix VFS keeps one
// per file: POSIX record locks belong to the process, and closing any
// descriptor of a file drops every lock the process holds on it, so a
// descriptor closed while another store (or SQLite connection) of the
// process still uses the -shm would silently release SQLite's locks
// there (its read marks, and the lock that tells other processes the
// file is in use).
var walWatches = struct {
	sync.Mutex
	m map[string]*walWatch
}{m: map[string]*walWatch{}}

// openWALWatch opens path's -shm file for reading, or returns nil when
// there is none (not in WAL mode): callers then always read SQLite.
// Each call must be matched by one close, after the store's SQLite
// connections are closed.
func openWALWatch(path string) *walWatch {
	key := path + "-shm"
	walWatches.Lock()
	defer walWatches.Unlock()
	if w := walWatches.m[key]; w != nil {
		w.refs++
		return w
	}
	f, err := os.Open(key)
	if err != nil {
		return nil
	}
	w := &walWatch{f: f, key: key, refs: 1}
	walWatches.m[key] = w
	return w
}

// stamp reads the current header. A nil watch, a short read, copies that
// differ (a commit under way) or an uninitialised header give a stamp
// that never equals another.
func (w *walWatch) stamp() walStamp {
	if w == nil {
		return walStamp{}
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	n, err := w.f.ReadAt(w.buf[:], 0)
	if err != nil || n != walHdrSize {
		return walStamp{}
	}
	a, b := w.buf[:48], w.buf[48:]
	// isInit is byte 12 of the header (after iVersion, unused, iChange).
	if !bytes.Equal(a, b) || a[12] != 1 {
		return walStamp{}
	}
	var s walStamp
	s.ok = true
	copy(s.hdr[:], a)
	return s
}

// same reports whether s and t are the same valid header: no commit in
// between.
func (s walStamp) same(t walStamp) bool { return s.ok && t.ok && s.hdr == t.hdr }

// close releases one openWALWatch; the last closes the file.
func (w *walWatch) close() {
	if w == nil {
		return
	}
	walWatches.Lock()
	defer walWatches.Unlock()
	if w.refs--; w.refs > 0 {
		return
	}
	delete(walWatches.m, w.key)
	w.f.Close()
}

// mboxCache keeps mailbox rows by account and name (Store.Mailbox), each
// with the WAL stamp taken before its read: an entry answers only while
// the stamp is unchanged, that is while no connection has committed
// anything since, so it can never show an old row. Any commit makes
// every entry stale; the next lookup of each reads again.
type mboxCache struct {
	mu sync.Mutex
	m  map[mboxKey]mboxEntry
}

type mboxKey struct {
	account int64
	name    string
}

type mboxEntry struct {
	stamp walStamp
	mb    store.Mailbox
}

// mboxCacheMax bounds the entries; past it the map starts afresh.
const mboxCacheMax = 4096

// get returns a copy of the row of (account, name) if it was read after
// a stamp equal to st.
func (c *mboxCache) get(account int64, name string, st walStamp) (*store.Mailbox, bool) {
	if !st.ok {
		return nil, false
	}
	c.mu.Lock()
	e, ok := c.m[mboxKey{account, name}]
	c.mu.Unlock()
	if !ok || !e.stamp.same(st) {
		return nil, false
	}
	mb := e.mb
	return &mb, true
}

// put records mb, read after stamp st.
func (c *mboxCache) put(account int64, name string, st walStamp, mb *store.Mailbox) {
	if !st.ok {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= mboxCacheMax {
		c.m = map[mboxKey]mboxEntry{}
	}
	c.m[mboxKey{account, name}] = mboxEntry{stamp: st, mb: *mb}
}

// ownChain tells that every commit since a moment was this store's own
// writer's, so that what the process keeps in memory and the writer
// updates after each of its commits (the flag index) is still current
// without a SQLite read to check it. The WAL stamp alone cannot: under
// load some commit happens between any two commands, and each made the
// next use of the flag index read the mailbox row again (3 % of the
// server's CPU under imaptest; docs/benchmarks.md, "Session 11").
//
// The writer reads the stamp after BEGIN IMMEDIATE, when it holds the
// write lock, so no other connection can commit until its COMMIT; and
// again after COMMIT, once it has applied the batch to the flag index.
// Every commit adds one to the header's iChange (walformat.html §2.1;
// a WAL restart changes the salts and mxFrame, not iChange, and not the
// database's content), so a header after COMMIT whose iChange is one
// more than the one read after BEGIN was written by this commit and no
// other. head is then that header. A header read at the next BEGIN
// that differs from head means another connection or process committed
// in between: gen moves on, and everything validated under the old gen
// is checked against SQLite again.
type ownChain struct {
	mu   sync.Mutex
	head walStamp // after the writer's last commit, when nothing came after it
	gen  uint64   // moves on at every commit not known to be the writer's own
}

// current reports the chain's generation if st is its head: every
// commit up to st since the start of that generation was this writer's.
func (c *ownChain) current(st walStamp) (uint64, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen > 0 && c.head.same(st) {
		return c.gen, true
	}
	return 0, false
}

// generation is the chain's generation now (the writer's, between
// begin and committed).
func (c *ownChain) generation() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gen
}

// begin records the header the writer read after BEGIN IMMEDIATE.
func (c *ownChain) begin(before walStamp) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.head.same(before) {
		c.gen++
		c.head = walStamp{}
	}
}

// committed records the header read after the writer's COMMIT and the
// in-memory updates that follow it; before is what begin saw.
func (c *ownChain) committed(before, after walStamp) {
	c.mu.Lock()
	defer c.mu.Unlock()
	// A transaction that wrote no page commits nothing to the WAL: the
	// header stays as it was (an EXPUNGE that found nothing \Deleted).
	if before.ok && after.ok && (after.iChange() == before.iChange()+1 || after.same(before)) {
		c.head = after
		return
	}
	c.gen++
	c.head = walStamp{}
}

// broken ends the generation: a commit of the writer changed what the
// in-memory copies hold without telling them (SetUIDValidity and
// SetModSeqs, used by import), or its COMMIT failed.
func (c *ownChain) broken() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	c.head = walStamp{}
}

// iChange is the header's change counter (bytes 8-11, native order).
func (s walStamp) iChange() uint32 { return binary.NativeEndian.Uint32(s.hdr[8:12]) }
