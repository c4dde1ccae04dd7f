// Package blob is the byte store of barid: message bytes, content-addressed
// by SHA-256, readable by range so that a BODY[1.2]<0.100> fetch reads only
// the bytes it returns.
//
// Durability contract: Writer.Commit returns only after the bytes are
// fsynced, renamed into place and the directory fsynced. The metadata
// transaction that references a blob runs after Commit, so a crash leaves at
// worst an orphan blob (removed by the integrity sweep), never a row that
// points to missing bytes.
package blob

import (
	"context"
	"errors"
	"io"
	"time"
)

// ErrNotFound is returned by Open and Delete for an unknown ID.
var ErrNotFound = errors.New("blob not found")

// Reader reads a stored blob by range.
type Reader interface {
	io.ReaderAt
	io.Closer
	Size() int64
}

// Writer receives the bytes of a new blob.
type Writer interface {
	io.Writer
	// Commit makes the blob durable and returns its content ID and size.
	// If a blob with the same content exists, Commit keeps one copy.
	Commit(ctx context.Context) (id string, size int64, err error)
	// Abort discards the bytes written so far. Safe after Commit (no-op).
	Abort() error
}

// Store is a content-addressed byte store. Implementations: blob/fs
// (embedded default), later blob/s3.
type Store interface {
	Create(ctx context.Context) (Writer, error)
	Open(ctx context.Context, id string) (Reader, error)
	Delete(ctx context.Context, id string) error
	// List calls fn for every stored blob with its age in seconds since
	// it was last written (the integrity sweep skips young blobs, which
	// may belong to a transaction not yet committed).
	List(ctx context.Context, fn func(id string, ageSeconds int64) error) error
}

// Stamped is a Writer whose successful Commit leaves a stamp that
// Releaser.Release checks (blob/fs: the file's modification time as that
// Commit left it).
type Stamped interface {
	Stamp() time.Time
}

// Releaser is a Store that can take back a blob committed for a message
// that was then never stored (an APPEND whose command failed after its
// literal, a MULTIAPPEND cut off half way, an LMTP transfer no
// recipient took), at once rather than at the next sweep.
type Releaser interface {
	// Release deletes blob id unless another Commit of the same content
	// has touched it since the Commit that returned stamp (that writer
	// is about to reference it), or inUse reports true (a stored
	// message references it). It reports whether it deleted the blob.
	// Both checks and the deletion happen under the lock a
	// deduplicating Commit takes, so neither can slip in between.
	Release(ctx context.Context, id string, stamp time.Time, inUse func(context.Context) (bool, error)) (bool, error)
}

// TmpSweeper is a Store that spools blobs being written as temporary
// files and can remove the ones no writer owns any more.
type TmpSweeper interface {
	// SweepTmp removes temporary files that no open writer of this Store
	// owns and that were last written more than minAge ago (a crashed
	// writer's leftovers), and returns how many it removed.
	SweepTmp(ctx context.Context, minAge time.Duration) (int, error)
}
