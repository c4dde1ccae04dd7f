package server

import (
	"barid/internal/fts/trigram"
	"barid/internal/mail/casemap"
	"barid/internal/search"
	"barid/internal/store"
)

// textCandidates narrows the messages a SEARCH with BODY or TEXT keys
// must scan (RFC 9051 §6.4.4) with the store's full-text index
// (store.TextIndexer, docs/search.md). It returns the subset of uids
// (ascending) that may match, and ok=false when the index cannot narrow
// the key: no BODY/TEXT key, a needle under three characters, a NOT or
// an OR with a branch the index cannot decide. The index only narrows;
// the caller still evaluates the whole key on every candidate, so the
// answer is exactly the scan's.
func (c *Conn) textCandidates(mboxID int64, uids []store.UID, key *search.Key) ([]store.UID, bool, error) {
	ti, ok := c.srv.cfg.Store.(store.TextIndexer)
	if !ok || c.srv.cfg.NoSearchPushdown || key.Fields()&store.FieldStructure == 0 {
		return nil, false, nil
	}
	set, ok, err := c.textSet(ti, mboxID, key)
	if err != nil || !ok {
		return nil, false, err
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
	return out, true, nil
}

// textSet returns the ascending UIDs of the mailbox that may match k,
// as far as the index can tell.
func (c *Conn) textSet(ti store.TextIndexer, mboxID int64, k *search.Key) ([]store.UID, bool, error) {
	switch k.Op {
	case search.OpBody, search.OpText:
		n := casemap.Fold(k.Value)
		if len(trigram.Split(n)) == 0 {
			return nil, false, nil
		}
		set, err := ti.TextCandidates(c.readCtx(), mboxID, []string{n})
		return set, err == nil, err
	case search.OpAnd:
		// One query for the BODY/TEXT needles directly under AND (every
		// one must occur), intersected with what nested keys allow.
		var needles []string
		var sets [][]store.UID
		for _, s := range k.Sub {
			if s.Op == search.OpBody || s.Op == search.OpText {
				if n := casemap.Fold(s.Value); len(trigram.Split(n)) > 0 {
					needles = append(needles, n)
				}
				continue
			}
			set, ok, err := c.textSet(ti, mboxID, s)
			if err != nil {
				return nil, false, err
			}
			if ok {
				sets = append(sets, set)
			}
		}
		if len(needles) > 0 {
			set, err := ti.TextCandidates(c.readCtx(), mboxID, needles)
			if err != nil {
				return nil, false, err
			}
			sets = append(sets, set)
		}
		if len(sets) == 0 {
			return nil, false, nil
		}
		out := sets[0]
		for _, s := range sets[1:] {
			out = intersectUIDs(out, s)
		}
		return out, true, nil
	case search.OpOr:
		var out []store.UID
		for _, s := range k.Sub {
			set, ok, err := c.textSet(ti, mboxID, s)
			if err != nil || !ok {
				return nil, false, err
			}
			out = unionUIDs(out, set)
		}
		return out, true, nil
	}
	return nil, false, nil
}

func intersectUIDs(a, b []store.UID) []store.UID {
	var out []store.UID
	for i, j := 0, 0; i < len(a) && j < len(b); {
		switch {
		case a[i] < b[j]:
			i++
		case a[i] > b[j]:
			j++
		default:
			out = append(out, a[i])
			i++
			j++
		}
	}
	return out
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
