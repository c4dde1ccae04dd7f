package server

import (
	"barid/internal/search"
	"barid/internal/store"
)

// fuzzyHint asks the store's vocabulary for the candidates of a FUZZY
// BODY or TEXT key (RFC 6203 §3; docs/search.md, "SEARCH=FUZZY from the
// index") and records them as the key's maybe set, and those the index
// proves match as its sure set. Without RELEVANCY the sure ones are
// answered without reading; every other candidate, and every one when
// scores are wanted, is read and matched by package fuzzy, so the
// answers and the relevancy scores are the scan's. Keys the store cannot
// narrow (no ASCII word in the needle, words in other scripts, no
// vocabulary, too many terms) are left to the scan.
func (c *Conn) fuzzyHint(ix *textIndex, mboxID int64, k *search.Key) error {
	fl, ok := c.srv.cfg.Store.(store.FuzzyLookuper)
	if !ok || k.Fuzzy == nil || (k.Sub[0].Op != search.OpBody && k.Sub[0].Op != search.OpText) {
		return nil
	}
	iw := k.Fuzzy.IndexWords()
	if len(iw) == 0 {
		return nil
	}
	words := make([]store.FuzzyWord, len(iw))
	for i, w := range iw {
		words[i] = store.FuzzyWord{Word: w.Word, Prefix: w.Prefix, Match: w.Matches}
	}
	maybe, sure, ok, err := fl.FuzzyLookup(c.readCtx(), mboxID, words, len(iw) == k.Fuzzy.Words(), k.Sub[0].Op == search.OpBody)
	if err != nil || !ok {
		return err
	}
	ix.hints[k] = textHint{maybe, sure}
	return nil
}
