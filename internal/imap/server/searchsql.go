package server

import (
	"barid/internal/search"
	"barid/internal/store"
)

// toCriteria translates a search key tree into store.Criteria, so that a
// store able to evaluate them (store.CriteriaSearcher) answers SEARCH in
// the database instead of this session copying every record. It fails
// (ok=false) on keys that need session state or message bytes: RECENT,
// NEW, OLD, \Recent, HEADER, BODY, TEXT, OLDER/YOUNGER, MODSEQ.
//
// uids are the mailbox's messages as the session sees them (the view's
// for the selected mailbox): sequence numbers and "*" refer to them.
func (c *Conn) toCriteria(k *search.Key, uids []store.UID) (*store.Criteria, bool) {
	cr, ok := c.toCriteriaNode(k, uids)
	if !ok || countCriteria(cr) > maxCriteriaNodes {
		// Large trees (thousands of sequence ranges) stay in the session:
		// SQLite limits expression depth and bound parameters.
		return nil, false
	}
	return cr, true
}

// maxCriteriaNodes bounds the SQL a search may become.
const maxCriteriaNodes = 200

func countCriteria(c *store.Criteria) int {
	n := 1
	for _, s := range c.Sub {
		n += countCriteria(s)
	}
	return n
}

func (c *Conn) toCriteriaNode(k *search.Key, uids []store.UID) (*store.Criteria, bool) {
	switch k.Op {
	case search.OpAll:
		return &store.Criteria{Op: store.CritAll}, true
	case search.OpAnd, search.OpOr, search.OpNot:
		op := map[search.Op]store.CritOp{search.OpAnd: store.CritAnd, search.OpOr: store.CritOr, search.OpNot: store.CritNot}[k.Op]
		out := &store.Criteria{Op: op}
		for _, s := range k.Sub {
			cs, ok := c.toCriteriaNode(s, uids)
			if !ok {
				return nil, false
			}
			out.Sub = append(out.Sub, cs)
		}
		return out, true
	case search.OpSeqSet:
		// Sequence ranges map to UID ranges of the view: the view holds
		// every UID up to its last one that the store may still have.
		n := uint32(len(uids))
		out := &store.Criteria{Op: store.CritOr}
		for _, r := range k.Seq.Resolve(n) {
			lo, hi := r.Start, min(r.Stop, n)
			if lo == 0 || lo > hi {
				continue
			}
			out.Sub = append(out.Sub, &store.Criteria{Op: store.CritUIDRange, Lo: uids[lo-1], Hi: uids[hi-1]})
		}
		return out, true
	case search.OpUIDSet:
		out := &store.Criteria{Op: store.CritOr}
		var last store.UID
		if len(uids) > 0 {
			last = uids[len(uids)-1]
		}
		for _, r := range k.UID.Resolve(uint32(last)) {
			if r.Start == 0 || r.Start > r.Stop {
				continue
			}
			out.Sub = append(out.Sub, &store.Criteria{Op: store.CritUIDRange, Lo: store.UID(r.Start), Hi: store.UID(r.Stop)})
		}
		return out, true
	case search.OpUIDList:
		if len(k.UIDs) > maxCriteriaNodes {
			return nil, false
		}
		out := &store.Criteria{Op: store.CritOr}
		for _, u := range k.UIDs {
			out.Sub = append(out.Sub, &store.Criteria{Op: store.CritUIDRange, Lo: u, Hi: u})
		}
		return out, true
	case search.OpFlag, search.OpNoFlag:
		if f, sys := store.ParseSysFlag(k.Flag); sys {
			if k.Op == search.OpFlag {
				return &store.Criteria{Op: store.CritSysSet, Sys: f}, true
			}
			return &store.Criteria{Op: store.CritSysClear, Sys: f}, true
		}
		if len(k.Flag) > 0 && k.Flag[0] == '\\' {
			return nil, false // \Recent and unknown system flags
		}
		if k.Op == search.OpFlag {
			return &store.Criteria{Op: store.CritKeyword, Value: k.Flag}, true
		}
		return &store.Criteria{Op: store.CritNoKeyword, Value: k.Flag}, true
	case search.OpLarger:
		return &store.Criteria{Op: store.CritLarger, Num: k.Num}, true
	case search.OpSmaller:
		return &store.Criteria{Op: store.CritSmaller, Num: k.Num}, true
	case search.OpBefore, search.OpOn, search.OpSince,
		search.OpSentBefore, search.OpSentOn, search.OpSentSince,
		search.OpSavedBefore, search.OpSavedOn, search.OpSavedSince:
		field, cmp := dateCrit(k.Op)
		return &store.Criteria{Op: store.CritDate, Field: field, Cmp: cmp, Num: k.Date.Unix() / 86400}, true
	case search.OpFrom, search.OpTo, search.OpCc, search.OpBcc, search.OpSubject:
		field := map[search.Op]string{search.OpFrom: "from", search.OpTo: "to", search.OpCc: "cc", search.OpBcc: "bcc", search.OpSubject: "subject"}[k.Op]
		return &store.Criteria{Op: store.CritContains, Field: field, Value: k.Value}, true
	}
	return nil, false
}

func dateCrit(op search.Op) (string, int) {
	switch op {
	case search.OpBefore:
		return "internal", -1
	case search.OpOn:
		return "internal", 0
	case search.OpSince:
		return "internal", 1
	case search.OpSentBefore:
		return "sent", -1
	case search.OpSentOn:
		return "sent", 0
	case search.OpSentSince:
		return "sent", 1
	case search.OpSavedBefore:
		return "save", -1
	case search.OpSavedOn:
		return "save", 0
	}
	return "save", 1
}
