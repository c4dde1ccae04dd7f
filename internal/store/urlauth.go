package store

import "context"

// URLAuthKeys is an optional capability: the mailbox access keys of
// URLAUTH's INTERNAL mechanism (RFC 4467 §7), one per mailbox (so per
// user and mailbox), used by internal/urlauth to sign and verify
// URLAUTH-authorized URLs. A key goes away with its mailbox, so a
// mailbox created later under the same name never honours URLs signed
// for the old one.
type URLAuthKeys interface {
	// URLAuthKey returns the mailbox's access key. When the mailbox has
	// none: with newKey nil it returns nil, nil; otherwise it stores
	// newKey and returns it (of two concurrent first uses, both get the
	// key that was stored first).
	URLAuthKey(ctx context.Context, mailboxID int64, newKey []byte) ([]byte, error)
	// ResetURLAuthKeys removes the access key of mailboxID, or, with
	// mailboxID 0, of every mailbox of the account (RFC 4467 §3.1
	// RESETKEY): URLs signed with them no longer verify, and the next
	// GENURLAUTH makes a new key.
	ResetURLAuthKeys(ctx context.Context, accountID, mailboxID int64) error
}
