package store

import "context"

// CritOp is the kind of a Criteria node.
type CritOp uint8

const (
	CritAll       CritOp = iota // every message
	CritAnd                     // all of Sub
	CritOr                      // any of Sub
	CritNot                     // not Sub[0]
	CritSysSet                  // every bit of Sys set
	CritSysClear                // every bit of Sys clear
	CritKeyword                 // keyword Value set (case-insensitive)
	CritNoKeyword               // keyword Value not set
	CritContains                // search field Field ("subject", "from", "to", "cc", "bcc") contains Value
	CritLarger                  // Size > Num
	CritSmaller                 // Size < Num
	CritDate                    // date Field ("internal", "sent", "save") compared by Cmp with day Num
	CritUIDRange                // Lo <= UID <= Hi
)

// Criteria is a search condition a store may evaluate itself: the parts
// of IMAP SEARCH (RFC 9051 §6.4.4) that depend only on stored fields.
// Contains compares the stored lower-cased UTF-8 field with a lower-cased
// Value byte for byte. Date compares calendar days "disregarding time and
// timezone": Num is days since 1970-01-01 of the date in its own zone,
// Cmp is -1 (before), 0 (on) or 1 (since); a missing sent date counts as
// 1970-01-01 (as Dovecot), a missing save date as the internal date.
type Criteria struct {
	Op     CritOp
	Sub    []*Criteria
	Sys    SysFlags
	Field  string
	Value  string
	Num    int64
	Cmp    int
	Lo, Hi UID
}

// CriteriaSearcher is an optional acceleration: a Store that evaluates
// Criteria in the database, returning matching UIDs ascending.
type CriteriaSearcher interface {
	SearchCriteria(ctx context.Context, mailboxID int64, c *Criteria) ([]UID, error)
}

// FlagWarmer is an optional acceleration: a Store that keeps the flags of
// large mailboxes in memory can start loading them when a session selects
// the mailbox, ahead of the FETCH FLAGS or flag SEARCH that usually
// follows. It returns at once.
type FlagWarmer interface {
	WarmFlags(mailboxID int64)
}

// SelectSnapshot is what SELECT needs of a mailbox, read at one moment:
// the mailbox row, its UIDs (ascending), the lowest UID without \Seen
// (0: none) and its keywords as Keywords lists them. UIDs may be shared
// with the store (UIDsShared): the caller must copy them before changing
// them in place; appending is safe (no capacity past the length).
type SelectSnapshot struct {
	Mailbox     *Mailbox
	UIDs        []UID
	UIDsShared  bool
	FirstUnseen UID
	Keywords    []string
	// Ordered says InUse is filled: the keywords the messages carry,
	// each once (case-insensitively, as first spelled), in order of
	// first appearance (by UID, then by position in the message's
	// list), which is how SELECT lists a small mailbox's keywords
	// (Dovecot's order) without reading every message's flags.
	Ordered bool
	InUse   []string
}

// SelectReader is an optional acceleration: a Store that keeps a
// mailbox's flags in memory (FlagWarmer) answers SELECT's reads at once,
// in one database statement rather than four. ok is false when it cannot
// (the mailbox is not indexed yet, or was changed by another process):
// the caller then reads MessageUIDs, FirstUnseen and Keywords.
type SelectReader interface {
	SelectSnapshot(ctx context.Context, mailboxID int64) (snap SelectSnapshot, ok bool, err error)
}

// SelectRowReader is SelectReader for a mailbox row the caller has just
// read from the store (SELECT resolves the mailbox's name first): a
// store whose in-memory state is current for that row answers from it
// without reading the database a second time. The answer is the same as
// SelectSnapshot's would be, with Mailbox a copy of mb.
type SelectRowReader interface {
	SelectSnapshotOf(ctx context.Context, mb *Mailbox) (snap SelectSnapshot, ok bool, err error)
}

// StatusRowReader is MailboxStatus for a mailbox row the caller has just
// read from the store (STATUS resolves the mailbox's name first): a
// store whose in-memory state is current for that row counts from it
// without reading the database a second time. The answer is the same as
// MailboxStatus's would be, with Mailbox a copy of mb.
type StatusRowReader interface {
	MailboxStatusOf(ctx context.Context, mb *Mailbox) (*Status, error)
}

// NewUIDsReader is an optional acceleration for sessions told that
// messages were added: the UIDs above after (as UIDsAfter), the
// mailbox's FIRSTRECENT and its HIGHESTMODSEQ, read in one snapshot, so
// that a session that has nothing to claim (ClaimRecent) reads once,
// and so that one read can serve every session a change woke (the IMAP
// server shares it: a read whose HighestModSeq is at or above the
// MODSEQ of every change a session was told of shows that session all
// it must see).
type NewUIDsReader interface {
	UIDsAfterRecent(ctx context.Context, mailboxID int64, after UID) (NewUIDs, error)
}

// NewUIDs is what NewUIDsReader reads, all from one snapshot.
type NewUIDs struct {
	UIDs        []UID // above the caller's after, ascending
	FirstRecent UID
	// HighestModSeq is the mailbox's: the read saw every commit with a
	// MODSEQ up to it (MODSEQs and UIDs are given in commit order).
	HighestModSeq ModSeq
}
