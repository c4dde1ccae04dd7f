package store

import "context"

// DeletedSizer answers STATUS DELETED-STORAGE (RFC 9208, the new STATUS
// attributes; internal/imap/server/status.go): the sum of the RFC822.SIZE of the
// mailbox's messages that have \Deleted, which is what an EXPUNGE would
// free. No counter is kept for it, so writes pay nothing: it is summed
// from the mailbox's flag rows when a client asks. Both backends
// implement it; storetest proves them.
type DeletedSizer interface {
	DeletedSize(ctx context.Context, mailboxID int64) (int64, error)
}
