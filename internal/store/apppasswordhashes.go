package store

import "context"

// AppPasswordHash is an app password with the hash AddAppPassword
// stored for it.
type AppPasswordHash struct {
	AppPassword
	Hash []byte
}

// AppPasswordHasher is an optional capability for barid store copy:
// an account's app passwords with their hashes (which AppPasswords
// does not return, so that nothing that lists them handles a hash), to
// be added again with AddAppPassword on the target.
type AppPasswordHasher interface {
	AppPasswordHashes(ctx context.Context, accountID int64) ([]AppPasswordHash, error)
}
