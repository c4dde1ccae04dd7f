package server

import (
	"barid/internal/imap"
	"barid/internal/store"
)

// readTargets reads a sequence set (or, for UID commands, a UID set) and
// resolves it against the view to UIDs, ascending. "$" (RFC 5182
// SEARCHRES) stands for the saved search result.
func (c *Conn) readTargets(uid bool) ([]store.UID, error) {
	c.lastUIDSet = nil
	if b, ok := c.dec.Peek(); ok && b == '$' {
		c.dec.ExpectSpecial('$')
		return c.sel.filterExisting(c.searchRes), nil
	}
	if uid {
		var set imap.UIDSet
		if !c.dec.ExpectUIDSet(&set) {
			return nil, c.dec.Err()
		}
		c.lastUIDSet = set
		return c.sel.uidsIn(set), nil
	}
	var set imap.SeqSet
	if !c.dec.ExpectSeqSet(&set) {
		return nil, c.dec.Err()
	}
	uids, err := c.sel.seqToUIDs(set)
	if err != nil {
		return nil, &deferredErr{err}
	}
	return uids, nil
}

// deferredErr is a semantic error found while parsing; the handler
// finishes reading the line, then returns it.
type deferredErr struct{ err error }

func (e *deferredErr) Error() string { return e.err.Error() }
func (e *deferredErr) Unwrap() error { return e.err }

func (v *view) filterExisting(uids []store.UID) []store.UID {
	var out []store.UID
	for _, u := range uids {
		if v.seqOf(u) != 0 {
			out = append(out, u)
		}
	}
	return out
}
