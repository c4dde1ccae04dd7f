package sqlite

import (
	"sync"

	"modernc.org/sqlite"
)

// knownKeywordsMax bounds the keyword spellings knownKeywords holds (all
// mailboxes together); past it the cache starts over empty. It is a
// cache, not a limit: a spelling not held costs one indexed SELECT in
// the append that needs it.
const knownKeywordsMax = 1 << 16

// kwBox names one mailbox for knownKeywords: its id with its
// UIDVALIDITY, since a deleted mailbox's id can be reused (SQLite's
// INTEGER PRIMARY KEY) and a new mailbox always gets a new UIDVALIDITY.
type kwBox struct {
	id          int64
	uidvalidity uint32
}

type kwFact struct {
	box         kwBox
	lname, name string
}

// knownKeywords remembers, across write transactions, keyword
// spellings committed in each mailbox's keywords table, so that an
// append of a message with a keyword the mailbox already has (a Sieve
// script's addflag on every delivery) does not look it up again in the
// writer's transaction. What it holds is exact because the table only
// grows while a mailbox lives and a spelling never changes
// (keywordCache): a fact is added only after the transaction that read
// or inserted it committed (writer.run), the whole cache is dropped
// after a commit that deleted a mailbox or changed a UIDVALIDITY
// (DeleteMailbox, DeleteAccount, SetUIDValidity: an id and UIDVALIDITY
// could then name another mailbox), and whenever another connection
// (another process on the same file) has committed since the writer
// last committed (the pager's data version, dataVersionSettled).
type knownKeywords struct {
	mu    sync.Mutex
	boxes map[kwBox]map[string]string
	n     int
}

func (k *knownKeywords) get(b kwBox, lname string) (string, bool) {
	k.mu.Lock()
	name, ok := k.boxes[b][lname]
	k.mu.Unlock()
	return name, ok
}

func (k *knownKeywords) add(facts []kwFact) {
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, f := range facts {
		if k.n >= knownKeywordsMax {
			k.boxes, k.n = nil, 0
		}
		if k.boxes == nil {
			k.boxes = map[kwBox]map[string]string{}
		}
		m := k.boxes[f.box]
		if m == nil {
			m = map[string]string{}
			k.boxes[f.box] = m
		}
		if _, ok := m[f.lname]; !ok {
			m[f.lname] = f.name
			k.n++
		}
	}
}

func (k *knownKeywords) forget() {
	k.mu.Lock()
	k.boxes, k.n = nil, 0
	k.mu.Unlock()
}

// knownKeyword returns the spelling of lname committed in box, if the
// cache holds it. The first call of a transaction drops the cache if
// the database changed since the writer's previous commit (another
// connection committed: dataVersionSettled).
func (t *wtx) knownKeyword(b kwBox, lname string) (string, bool) {
	if !t.kwChecked {
		t.kwChecked = true
		if v, ok := t.w.fileDataVersion(); !ok || !t.dvKnown || v != t.w.dataVersion {
			t.w.s.kwKnown.forget()
		}
	}
	return t.w.s.kwKnown.get(b, lname)
}

// fileDataVersion is SQLite's data version of the writer's pager
// (SQLITE_FCNTL_DATA_VERSION, https://www.sqlite.org/c3ref/c_fcntl_begin_atomic_write.html):
// it changes with every commit of the writer and whenever the writer's
// connection finds that another connection committed (at the start of
// its next transaction). A file control, not a statement: no SQL runs.
func (w *writer) fileDataVersion() (v uint32, ok bool) {
	w.conn.Raw(func(dc any) error { //nolint:errcheck // ok stays false
		if fc, is := dc.(sqlite.FileControl); is {
			var err error
			v, err = fc.FileControlDataVersion("main")
			ok = err == nil
		}
		return nil
	})
	return v, ok
}

// dataVersionSettled follows the data version across a committed batch:
// the writer's own commit moves it by exactly one, so any other step
// means another connection committed before this batch began, and what
// the cache holds may be stale (a mailbox deleted and made again under
// the same id and UIDVALIDITY by another process). A batch that did not
// commit leaves the version unknown: the next transaction to consult
// the cache drops it.
func (w *writer) dataVersionSettled(known bool) {
	v, ok := w.fileDataVersion()
	if !ok || !known || v != w.dataVersion+1 {
		w.s.kwKnown.forget()
	}
	w.dataVersion, w.dvKnown = v, ok
}

// learnKeyword records that box has lname spelled name in this
// transaction: known to later transactions once it commits.
func (t *wtx) learnKeyword(b kwBox, lname, name string) {
	t.req.kw = append(t.req.kw, kwFact{box: b, lname: lname, name: name})
}

// forgetKeywords drops the known spellings once this request commits:
// it deleted a mailbox or changed a UIDVALIDITY.
func (t *wtx) forgetKeywords() { t.req.kwForget = true }

// keywordsCommitted applies a committed batch's keyword facts in commit
// order (writer.run, after COMMIT).
func (s *Store) keywordsCommitted(t *wtx, batch []*writeReq) {
	t.w.dataVersionSettled(t.dvKnown)
	for _, r := range batch {
		if r.err != nil {
			continue
		}
		if r.kwForget {
			s.kwKnown.forget()
		}
		if len(r.kw) > 0 {
			s.kwKnown.add(r.kw)
		}
	}
}
