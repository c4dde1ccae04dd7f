package server

import (
	"slices"

	"barid/internal/fts/trigram"
	"barid/internal/mail/casemap"
	"barid/internal/search"
	"barid/internal/store"
)

// textIndex is what the store's full-text index (store.TextIndexer,
// docs/search.md) answered for the BODY and TEXT keys of one SEARCH
// (RFC 9051 §6.4.4): for each key it could look up, the messages it
// cannot rule out (maybe) and those it proves match (sure).
type textIndex struct {
	hints map[*search.Key]textHint
}

type textHint struct{ maybe, sure []store.UID }

// answer is the index's verdict on key k for message u: known is false
// when the message must be read to decide.
func (t *textIndex) answer(k *search.Key, u store.UID) (match, known bool) {
	return t.answerAt(k, u, nil)
}

// textCursor remembers, per key, where the last answer lay in the key's
// sets, for one goroutine asking in ascending UID order: each answer
// then gallops forward from the last instead of searching the whole set
// (two binary searches per message of 175,296 were 15 % of SEARCH TEXT
// "regards" at 1,000,000 messages). nil searches from scratch.
type textCursor map[*search.Key]*[2]int

func (t *textIndex) answerAt(k *search.Key, u store.UID, cur textCursor) (match, known bool) {
	h, ok := t.hints[k]
	if !ok {
		return false, false
	}
	if cur == nil {
		if _, in := slices.BinarySearch(h.maybe, u); !in {
			return false, true
		}
		if _, in := slices.BinarySearch(h.sure, u); in {
			return true, true
		}
		return false, false
	}
	p := cur[k]
	if p == nil {
		p = new([2]int)
		cur[k] = p
	}
	if _, in := gallop(h.maybe, &p[0], u); !in {
		return false, true
	}
	if _, in := gallop(h.sure, &p[1], u); in {
		return true, true
	}
	return false, false
}

// eval evaluates k for message u from the index alone, as far as it can:
// BODY and TEXT keys it answered, ALL, and AND, OR and NOT of those.
// known is false when some key needs the message's record or bytes.
// cur, if not nil, is the caller's textCursor.
func (t *textIndex) eval(k *search.Key, u store.UID, cur textCursor) (match, known bool) {
	switch k.Op {
	case search.OpAll:
		return true, true
	case search.OpBody, search.OpText:
		return t.answerAt(k, u, cur)
	case search.OpFuzzy:
		// Decided from the index for BODY and TEXT needles it
		// narrowed (searchfuzzy.go); the others are read and matched
		// word by word.
		if _, ok := t.hints[k]; ok {
			return t.answerAt(k, u, cur)
		}
		return false, false
	case search.OpNot:
		m, kn := t.eval(k.Sub[0], u, cur)
		return !m, kn
	case search.OpAnd:
		all := true
		for _, s := range k.Sub {
			m, kn := t.eval(s, u, cur)
			if kn && !m {
				return false, true
			}
			all = all && kn
		}
		return true, all
	case search.OpOr:
		all := true
		for _, s := range k.Sub {
			m, kn := t.eval(s, u, cur)
			if kn && m {
				return true, true
			}
			all = all && kn
		}
		return false, all
	}
	return false, false
}

// decidesText reports whether the index decided every BODY and TEXT
// key of k (outside FUZZY) for every message of uids, so that the scan
// needs none of their fields.
func (t *textIndex) decidesText(k *search.Key, uids []store.UID) bool {
	switch k.Op {
	case search.OpFuzzy:
		return true
	case search.OpBody, search.OpText:
		if _, ok := t.hints[k]; !ok {
			return false
		}
		cur := textCursor{}
		for _, u := range uids {
			if _, known := t.answerAt(k, u, cur); !known {
				return false
			}
		}
		return true
	}
	for _, s := range k.Sub {
		if !t.decidesText(s, uids) {
			return false
		}
	}
	return true
}

// fieldsBesidesText is k.Fields() without what its BODY and TEXT keys
// (outside FUZZY) need.
func fieldsBesidesText(k *search.Key) store.Fields {
	switch k.Op {
	case search.OpBody, search.OpText:
		return 0
	case search.OpFuzzy:
		return k.Fields()
	case search.OpAnd, search.OpOr, search.OpNot:
		var f store.Fields
		for _, s := range k.Sub {
			f |= fieldsBesidesText(s)
		}
		return f
	}
	return k.Fields()
}

// textIndexFor asks the index about every BODY and TEXT key of key
// whose needle has a trigram (not those under FUZZY, which match
// words, not substrings). It returns nil when there is no such key or
// no index. narrowed is the subset of uids (ascending) that may match,
// with ok false when the index cannot narrow the whole key (a needle
// under three characters, a NOT or an OR with a branch the index
// cannot decide). Messages the index leaves undecided are still read,
// so the answer is exactly the scan's.
func (c *Conn) textIndexFor(mboxID int64, uids []store.UID, key *search.Key) (ix *textIndex, narrowed []store.UID, ok bool, err error) {
	ti, has := c.srv.cfg.Store.(store.TextIndexer)
	if !has || c.srv.cfg.NoSearchPushdown || key.Fields()&store.FieldStructure == 0 {
		return nil, nil, false, nil
	}
	ix = &textIndex{hints: map[*search.Key]textHint{}}
	type lookup struct {
		needle string
		body   bool
	}
	done := map[lookup]textHint{}
	var walk func(k *search.Key) error
	walk = func(k *search.Key) error {
		switch k.Op {
		case search.OpFuzzy:
			return c.fuzzyHint(ix, mboxID, k)
		case search.OpBody, search.OpText:
			n := casemap.Fold(k.Value)
			if len(trigram.Split(n)) == 0 {
				return nil
			}
			l := lookup{n, k.Op == search.OpBody}
			h, seen := done[l]
			if !seen {
				maybe, sure, err := ti.TextLookup(c.readCtx(), mboxID, n, l.body)
				if err != nil {
					return err
				}
				h = textHint{maybe, sure}
				done[l] = h
			}
			ix.hints[k] = h
			return nil
		}
		for _, s := range k.Sub {
			if err := walk(s); err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk(key); err != nil {
		return nil, nil, false, err
	}
	if len(ix.hints) == 0 {
		return nil, nil, false, nil
	}
	set, ok := ix.maybeSet(key)
	if !ok {
		return ix, nil, false, nil
	}
	out := make([]store.UID, 0, min(len(set), len(uids)))
	i := 0
	for _, u := range uids {
		for i < len(set) && set[i] < u {
			i++
		}
		if i < len(set) && set[i] == u {
			out = append(out, u)
		}
	}
	return ix, out, true, nil
}

// maybeSet returns the ascending UIDs of the mailbox that may match k,
// as far as the index can tell.
func (t *textIndex) maybeSet(k *search.Key) ([]store.UID, bool) {
	switch k.Op {
	case search.OpBody, search.OpText, search.OpFuzzy:
		h, ok := t.hints[k]
		return h.maybe, ok
	case search.OpAnd:
		// Every sub-key must hold: those the index can narrow are
		// intersected.
		var out []store.UID
		narrowed := false
		for _, s := range k.Sub {
			set, ok := t.maybeSet(s)
			if !ok {
				continue
			}
			if !narrowed {
				out, narrowed = set, true
			} else {
				out = store.IntersectUIDs(out, set)
			}
		}
		return out, narrowed
	case search.OpOr:
		var out []store.UID
		for _, s := range k.Sub {
			set, ok := t.maybeSet(s)
			if !ok {
				return nil, false
			}
			out = unionUIDs(out, set)
		}
		return out, true
	}
	return nil, false
}

// mergeUIDs merges two ascending, disjoint UID lists.
func mergeUIDs(a, b []store.UID) []store.UID {
	if len(a) == 0 {
		return b
	}
	if len(b) == 0 {
		return a
	}
	return unionUIDs(a, b)
}

func unionUIDs(a, b []store.UID) []store.UID {
	out := make([]store.UID, 0, len(a)+len(b))
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		switch {
		case a[i] < b[j]:
			out = append(out, a[i])
			i++
		case a[i] > b[j]:
			out = append(out, b[j])
			j++
		default:
			out = append(out, a[i])
			i++
			j++
		}
	}
	out = append(out, a[i:]...)
	return append(out, b[j:]...)
}
