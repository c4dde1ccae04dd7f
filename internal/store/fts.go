package store

import (
	"context"
	"errors"
	"time"
)

// TextIndexer is an optional store capability: a full-text index of what
// SEARCH BODY and TEXT compare (RFC 9051 §6.4.4), kept beside the
// metadata so it is transactional and backed up with it (docs/search.md).
//
// The index is per message content (blob id), so a COPY shares the entry
// of its original. The store itself tracks which contents have no entry
// yet (every message insert, in the insert's transaction, marks its blob
// pending unless it is indexed) and which entries lost their last message
// (expunge, mailbox and account deletion); the text itself is computed
// outside the store (internal/fts), which reads pending contents and
// hands their text to IndexText. Until then a pending message is always
// a candidate, so SEARCH stays exact while the index catches up.
type TextIndexer interface {
	// TextCandidates returns, ascending, the UIDs of the mailbox's
	// messages whose indexed text may contain every string of needles
	// (each folded with i;unicode-casemap and at least three characters
	// long), together with every message whose content is not indexed
	// yet. A superset of the matches: the caller verifies.
	TextCandidates(ctx context.Context, mailboxID int64, needles []string) ([]UID, error)
	// TextLookup answers one needle (folded with i;unicode-casemap, at
	// least three characters) of SEARCH BODY (body true) or TEXT over
	// the mailbox. maybe, ascending, holds every message the index
	// cannot rule out, those whose content is pending among them; sure,
	// ascending and a subset of maybe, those it proves match (RFC 9051
	// §6.4.4, exactly as msgdata.MatchBody or MatchText would answer).
	// Only maybe minus sure needs to be read.
	TextLookup(ctx context.Context, mailboxID int64, needle string, body bool) (maybe, sure []UID, err error)
	// TextPending returns up to limit contents waiting for the index,
	// each with one message that holds it; accountID 0 means any
	// account.
	TextPending(ctx context.Context, accountID int64, limit int) ([]TextPending, error)
	// ClaimTextPending is TextPending for indexers that share the store
	// (several nodes on one database, or barid index beside a running
	// server): it returns up to limit pending contents that no other
	// owner's claim holds at now, and claims them for owner until
	// now+lease, so that two indexers never extract the same content.
	// The owner's own claims are returned again (what its last batch
	// left over). IndexText ends a claim with its pending entry; the
	// claim of an owner that died lapses at its end and the content is
	// claimed again. Claims never hide a content from TextCandidates or
	// TextLookup: a claimed content is pending until indexed.
	ClaimTextPending(ctx context.Context, owner string, now time.Time, lease time.Duration, accountID int64, limit int) ([]TextPending, error)
	// IndexText stores the text of contents that TextPending returned and
	// takes them off the pending list. A content whose messages are all
	// gone by then is skipped.
	IndexText(ctx context.Context, docs []TextDoc) error
	// PurgeTextIndex removes the entries of contents that no message
	// holds any more, returning how many it removed.
	PurgeTextIndex(ctx context.Context) (int, error)
	// TextIndexStatus reports the index's size and lag.
	TextIndexStatus(ctx context.Context) (TextIndexStatus, error)
	// TextIndexLag is TextIndexStatus's Pending alone: how many contents
	// wait for the index. Cheap enough to poll (the metrics endpoint's
	// barid_fts_pending_contents, which benchmarks wait on), where
	// TextIndexStatus may read the whole index to size it.
	TextIndexLag(ctx context.Context) (int64, error)
}

// TextVocabBuilder is a TextIndexer that keeps a vocabulary of its
// words and may have to build it for contents indexed before it existed
// (SQLite, docs/search.md "Needles inside words"). CatchUpVocab does one
// bounded step and reports whether more is left; until none is, lookups
// do not use the vocabulary.
type TextVocabBuilder interface {
	CatchUpVocab(ctx context.Context) (more bool, err error)
}

// TextPending is a content without an index entry.
type TextPending struct {
	BlobID    string
	MailboxID int64
	UID       UID
}

// Rows is what ScanTextPending reads: database/sql's and pgx's rows.
type Rows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
}

// ScanTextPending reads rows of (blob id, mailbox id, UID), each followed
// by the columns extra are scanned into, as the backends' pending-list
// queries return them.
func ScanTextPending(rows Rows, extra ...any) ([]TextPending, error) {
	var out []TextPending
	for rows.Next() {
		var p TextPending
		var uid int64
		if err := rows.Scan(append([]any{&p.BlobID, &p.MailboxID, &uid}, extra...)...); err != nil {
			return nil, err
		}
		p.UID = UID(uid)
		out = append(out, p)
	}
	return out, rows.Err()
}

// TextDoc is the index text of one content, as msgdata.TextSplit cuts
// it: Body holds the segments SEARCH BODY compares, Head those SEARCH
// TEXT adds; Head+Body is msgdata.Text.
type TextDoc struct {
	BlobID string
	Head   string
	Body   string
}

// TextIndexStatus describes the full-text index.
type TextIndexStatus struct {
	Indexed int64 // contents with an entry
	Pending int64 // contents waiting for one (the lag)
	Orphans int64 // entries whose last message is gone, not yet purged
	// Bytes is the index's size on disk where the store can tell
	// (SQLite: the FTS5 shadow tables; PostgreSQL: the table, its TOAST
	// and its indexes); -1 if unknown.
	Bytes int64
}

// ErrNoTrigram is TextCandidates' answer to needles of which none is
// long enough for the index to narrow.
var ErrNoTrigram = errors.New("store: no needle of three or more characters for the text index")
