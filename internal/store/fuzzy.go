package store

import "context"

// FuzzyWord is one word of a SEARCH FUZZY needle (RFC 6203) as a word
// index can narrow it (fuzzy.IndexWord): every text word that matches it
// begins with Prefix or lies inside an index term with a non-ASCII byte;
// Match tells whether a folded index term holds a match; every term that
// begins with Word does.
type FuzzyWord struct {
	Word, Prefix string
	Match        func(term string) bool
}

// FuzzyLookuper is an optional TextIndexer capability: the candidates of
// a FUZZY BODY or TEXT key from the index's vocabulary (SQLite,
// docs/search.md "SEARCH=FUZZY from the index").
type FuzzyLookuper interface {
	// FuzzyLookup returns, ascending, the UIDs of the mailbox's
	// messages that may hold a match of every word of words in what
	// SEARCH BODY (body true) or TEXT compares: those whose indexed
	// text holds a term Match accepts for each word, and every message
	// the index cannot rule out (pending contents, contents with a
	// word too long for the vocabulary). sure, a subset, holds those
	// the index proves hold a match of every word; it is empty unless
	// whole says that words are all the needle's words. The caller
	// reads the others (and every one for relevancy scores). ok is
	// false when the index cannot narrow (vocabulary incomplete, too
	// many terms).
	FuzzyLookup(ctx context.Context, mailboxID int64, words []FuzzyWord, whole, body bool) (maybe, sure []UID, ok bool, err error)
}
