package store

import (
	"context"
	"errors"
	"fmt"
)

// MetadataEntry is one RFC 5464 entry: its full name ("/private/comment",
// "/shared/vendor/x") and value. A nil Value in SetMetadata removes the
// entry (RFC 5464 §4.3: NIL).
type MetadataEntry struct {
	Name  string
	Value []byte
}

// MetadataLimits bound what SetMetadata may leave behind in one scope
// (a mailbox, or an account's server entries): the number of entries
// and the sum of their value sizes ([metadata] max_entries,
// max_server_entries, max_total_size).
type MetadataLimits struct {
	MaxEntries   int
	MaxTotalSize int64
}

// ErrMetadataTooMany refuses a SETMETADATA that would leave a scope over
// its limits (RFC 5464 §4.3: [METADATA TOOMANY]).
var ErrMetadataTooMany = errors.New("too many metadata entries")

// Metadata is RFC 5464 storage, implemented by both backends. An entry
// lives in a scope: a mailbox (mailboxID > 0) or the server (0). In a
// mailbox, /shared entries belong to the mailbox and /private ones to
// the mailbox and one account; server entries, /shared and /private,
// belong to the account (as Dovecot keeps them). Entries go with their
// mailbox (DELETE, and the account's deletion) and stay with it on
// RENAME, which keeps the mailbox's ID.
type Metadata interface {
	// MetadataEntries returns the entries accountID sees in the scope,
	// sorted by name.
	MetadataEntries(ctx context.Context, accountID, mailboxID int64) ([]MetadataEntry, error)
	// SetMetadata applies set (nil values remove) in one transaction and
	// refuses with ErrMetadataTooMany, storing nothing, when the scope
	// would exceed lim. A mailbox that does not exist is ErrNoMailbox.
	SetMetadata(ctx context.Context, accountID, mailboxID int64, set []MetadataEntry, lim MetadataLimits) error
}

// Check returns ErrMetadataTooMany, naming the limit, when a scope of n
// entries holding size bytes is over l (0: no limit).
func (l MetadataLimits) Check(n, size int64) error {
	if l.MaxEntries > 0 && n > int64(l.MaxEntries) {
		return fmt.Errorf("%w: %d entries, limit %d", ErrMetadataTooMany, n, l.MaxEntries)
	}
	if l.MaxTotalSize > 0 && size > l.MaxTotalSize {
		return fmt.Errorf("%w: %d bytes of values, limit %d", ErrMetadataTooMany, size, l.MaxTotalSize)
	}
	return nil
}
