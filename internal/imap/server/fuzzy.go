package server

import (
	"barid/internal/imap"
	"barid/internal/search"
)

// checkRelevancy refuses the RELEVANCY return option without a FUZZY
// key (RFC 6203 §4: "MUST NOT be used unless a FUZZY search key is also
// given") and, since a relevancy score belongs to one search, together
// with UPDATE (RFC 5267 §4.2 updates carry no scores).
func checkRelevancy(ret *searchReturn, key *search.Key) error {
	if !ret.relevancy {
		return nil
	}
	if !key.Uses(search.OpFuzzy) {
		return &imap.Error{Type: "BAD", Text: "RELEVANCY needs a FUZZY search key (RFC 6203)"}
	}
	if ret.update {
		return &imap.Error{Type: "BAD", Text: "RELEVANCY cannot be combined with UPDATE"}
	}
	return nil
}

// writeRelevancy writes " RELEVANCY (score ...)" (RFC 6203 §4): the
// scores of the messages returned, in their order (ascending for SEARCH,
// sort order for SORT): the PARTIAL window's when PARTIAL was asked for,
// otherwise every match's.
func (c *Conn) writeRelevancy(ret *searchReturn, scores []int) {
	if ret.partial != nil {
		i, j := ret.partial.window(len(scores))
		if i >= j {
			scores = nil
		} else {
			scores = scores[i:j]
		}
	}
	c.enc.RawString(" RELEVANCY (")
	for i, s := range scores {
		if i > 0 {
			c.enc.SP()
		}
		c.enc.Number(uint32(s))
	}
	c.enc.RawString(")")
}
