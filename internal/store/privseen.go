package store

import "context"

// PrivateSeen is one user's own \Seen state of a message in a mailbox
// another account owns (docs/sharing.md "Private \Seen", Dovecot's
// INDEXPVT): Seen, and the modseq of the user's last change to it,
// which that user's CONDSTORE view of the message takes when it is
// above the message's own (RFC 7162 §3.1: a change the user sees gets
// a new MODSEQ).
type PrivateSeen struct {
	UID    UID
	Seen   bool
	ModSeq ModSeq
}

// PrivateSeenStore keeps per-user \Seen on shared mailboxes. Both
// backends implement it; storetest proves them. Nothing of it is read
// or written for a user's own mailboxes, whose \Seen is the message's.
//
// Rows go with the mailbox (DeleteMailbox, DeleteAccount of the owner)
// and with the user (DeleteAccount). A row of an expunged message is
// never returned and is removed by the user's next SetPrivateSeen on
// the mailbox, so that EXPUNGE, MOVE and the rest of the common path
// pay nothing for the feature; UIDs are never reused, so such a row can
// never attach to another message.
type PrivateSeenStore interface {
	// PrivateSeen returns accountID's rows for the mailbox's existing
	// messages, ascending by UID. A message without a row is unseen for
	// the user, with the message's own modseq.
	PrivateSeen(ctx context.Context, mailboxID, accountID int64) ([]PrivateSeen, error)
	// SetPrivateSeen sets (seen true) or clears accountID's \Seen on
	// those of uids that exist. Messages whose state changes get one new
	// modseq of the mailbox (HIGHESTMODSEQ grows, the message rows are
	// not touched) and are returned, ascending; the others are left
	// alone. ErrNoMailbox if the mailbox does not exist.
	SetPrivateSeen(ctx context.Context, mailboxID, accountID int64, uids []UID, seen bool) ([]PrivateSeen, error)
}

// AccountPrivateSeen is one user's PrivateSeen row of a mailbox.
type AccountPrivateSeen struct {
	AccountID int64
	PrivateSeen
}

// PrivateSeenCopier moves private \Seen state between stores, exactly
// (`barid store copy`, internal/imex): the rows keep their modseqs, as
// the copied messages keep theirs, so a CONDSTORE client of either
// store sees the same. Both backends implement it; storetest proves
// them.
type PrivateSeenCopier interface {
	// AllPrivateSeen returns every user's rows for the mailbox's
	// existing messages, by account, then UID.
	AllPrivateSeen(ctx context.Context, mailboxID int64) ([]AccountPrivateSeen, error)
	// ImportPrivateSeen writes accountID's rows as given (seen and
	// modseq), replacing the user's rows of those UIDs; rows of UIDs
	// the mailbox does not hold are left out. HIGHESTMODSEQ is not
	// changed (the copier sets it to the source's). ErrNoMailbox if the
	// mailbox does not exist.
	ImportPrivateSeen(ctx context.Context, mailboxID, accountID int64, rows []PrivateSeen) error
}
