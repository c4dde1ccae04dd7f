package sqlite

import (
	"modernc.org/sqlite"

	"barid/internal/store"
)

type kwFact struct {
	box         store.KeywordBox
	lname, name string
}

// The store's store.KnownKeywords is exact because the keywords table
// only grows while a mailbox lives and a spelling never changes
// (keywordCache): a spelling is added only after the transaction that
// read or inserted it committed (writer.run), and the whole cache is
// dropped after a commit that deleted a mailbox or changed a UIDVALIDITY
// (DeleteMailbox, DeleteAccount, SetUIDValidity: an id and UIDVALIDITY
// could then name another mailbox, SQLite reusing INTEGER PRIMARY KEY
// ids), and whenever another connection (another process on the same
// file) has committed since the writer last committed (the pager's data
// version, dataVersionSettled).

// knownKeyword returns the spelling of lname committed in box, if the
// cache holds it. The first call of a transaction drops the cache if
// the database changed since the writer's previous commit (another
// connection committed: dataVersionSettled).
func (t *wtx) knownKeyword(b store.KeywordBox, lname string) (string, bool) {
	if !t.kwChecked {
		t.kwChecked = true
		if v, ok := t.w.fileDataVersion(); !ok || !t.dvKnown || v != t.w.dataVersion {
			t.w.s.kwKnown.Forget()
		}
	}
	return t.w.s.kwKnown.Get(b, lname)
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
		w.s.kwKnown.Forget()
	}
	w.dataVersion, w.dvKnown = v, ok
}

// learnKeyword records that box has lname spelled name in this
// transaction: known to later transactions once it commits.
func (t *wtx) learnKeyword(b store.KeywordBox, lname, name string) {
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
			s.kwKnown.Forget()
		}
		for _, f := range r.kw {
			s.kwKnown.Add(f.box, f.lname, f.name)
		}
	}
}
