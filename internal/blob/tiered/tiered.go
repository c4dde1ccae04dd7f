package tiered

import (
	"bytes"
	"context"
	"errors"
	"io"
	"time"

	"barid/internal/blob"
)

// Inline is a source of blobs kept outside the file store, by ID.
// store/sqlite implements it (Store.OpenInline).
type Inline interface {
	// OpenInline returns the blob's bytes, or ok=false when it has none
	// under that ID. The returned slice is the caller's.
	OpenInline(ctx context.Context, id string) (data []byte, ok bool, err error)
}

// Cache is what an Inline source may also offer: a node-local cache of
// blob bytes (store/postgres keeps one, [storage] blob_cache_bytes).
// A blob's bytes never change (its ID is their SHA-256), so the cache
// needs no invalidation.
type Cache interface {
	// CachedBlob returns the cached bytes of blob id (shared: read
	// only).
	CachedBlob(id string) ([]byte, bool)
	// CacheBlob keeps b as the bytes of blob id; the caller gives b up.
	CacheBlob(id string, b []byte)
	// BlobCacheMax is the largest blob from the file store worth reading
	// whole into the cache; 0: none.
	BlobCacheMax() int64
}

// Store reads blobs from an Inline source first, then from a file store.
type Store struct {
	inline Inline
	files  blob.Store
}

var _ blob.Store = (*Store)(nil)

// New returns a Store over inline and files.
func New(inline Inline, files blob.Store) *Store {
	return &Store{inline: inline, files: files}
}

// Files returns the underlying file store.
func (s *Store) Files() blob.Store { return s.files }

// Create starts a blob in the file store (messages too large to be kept
// inline).
func (s *Store) Create(ctx context.Context) (blob.Writer, error) { return s.files.Create(ctx) }

// Open returns the blob's bytes from the inline source when it has them,
// else from the file store. A blob present in both (the same content
// delivered once under and once over a changed inline_max_bytes) is read
// inline: the content is the same, the ID being its SHA-256.
//
// With an Inline source that is also a Cache, the cache is asked first,
// and what is read is kept there: inline bytes, and a file-store blob up
// to BlobCacheMax, read whole.
func (s *Store) Open(ctx context.Context, id string) (blob.Reader, error) {
	c, _ := s.inline.(Cache)
	if c != nil {
		if data, ok := c.CachedBlob(id); ok {
			return memReader{bytes.NewReader(data)}, nil
		}
	}
	data, ok, err := s.inline.OpenInline(ctx, id)
	if err != nil {
		return nil, err
	}
	if ok {
		if c != nil {
			c.CacheBlob(id, data) // read only from here on
		}
		return memReader{bytes.NewReader(data)}, nil
	}
	r, err := s.files.Open(ctx, id)
	if err != nil || c == nil || r.Size() > c.BlobCacheMax() {
		return r, err
	}
	data = make([]byte, r.Size())
	n, err := r.ReadAt(data, 0)
	r.Close()
	if n < len(data) {
		if err == nil {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	c.CacheBlob(id, data)
	return memReader{bytes.NewReader(data)}, nil
}

// OpenInlineMany calls fn with the bytes of each of ids that the inline
// source has, in no particular order, in one query; the others are in
// the file store (Open them one by one). id and data are valid only
// until fn returns (store/sqlite hands over its own buffer): fn copies
// what it keeps. It returns
// errors.ErrUnsupported if the source has no batch read (store/sqlite
// has one; a reader then opens each blob in turn, as before).
func (s *Store) OpenInlineMany(ctx context.Context, ids []string, fn func(id string, data []byte) error) error {
	m, ok := s.inline.(interface {
		OpenInlineMany(ctx context.Context, ids []string, fn func(id string, data []byte) error) error
	})
	if !ok {
		return errors.ErrUnsupported
	}
	return m.OpenInlineMany(ctx, ids, fn)
}

// Delete removes a blob from the file store. Inline bytes go with their
// last message row, in the metadata store's transaction.
func (s *Store) Delete(ctx context.Context, id string) error { return s.files.Delete(ctx, id) }

// List lists the file store's blobs (the integrity sweep's input).
func (s *Store) List(ctx context.Context, fn func(id string, ageSeconds int64) error) error {
	return s.files.List(ctx, fn)
}

// DeleteIfOlder forwards to the file store's DeleteIfOlder (blob/fs has
// one: the sweep's race-free delete), or, for a file store without it,
// deletes unconditionally and reports true.
func (s *Store) DeleteIfOlder(ctx context.Context, id string, minAge time.Duration) (bool, error) {
	if d, ok := s.files.(interface {
		DeleteIfOlder(ctx context.Context, id string, minAge time.Duration) (bool, error)
	}); ok {
		return d.DeleteIfOlder(ctx, id, minAge)
	}
	if err := s.files.Delete(ctx, id); err != nil {
		return false, err
	}
	return true, nil
}

// memReader is a blob.Reader over bytes in memory.
type memReader struct{ *bytes.Reader }

func (memReader) Close() error { return nil }

// Release passes to the file store when it can release (blob.Releaser).
func (s *Store) Release(ctx context.Context, id string, stamp time.Time, inUse func(context.Context) (bool, error)) (bool, error) {
	if r, ok := s.files.(blob.Releaser); ok {
		return r.Release(ctx, id, stamp, inUse)
	}
	return false, nil
}

// SweepTmp passes to the file store when it spools (blob.TmpSweeper).
func (s *Store) SweepTmp(ctx context.Context, minAge time.Duration) (int, error) {
	if t, ok := s.files.(blob.TmpSweeper); ok {
		return t.SweepTmp(ctx, minAge)
	}
	return 0, nil
}

// PurgeTrash passes to the file store when it keeps swept blobs in a
// trash (blob/s3); it reports nothing otherwise.
func (s *Store) PurgeTrash(ctx context.Context, minAge time.Duration, inUse func(ctx context.Context, id string) (bool, error)) (purged, restored int, err error) {
	if p, ok := s.files.(interface {
		PurgeTrash(ctx context.Context, minAge time.Duration, inUse func(ctx context.Context, id string) (bool, error)) (int, int, error)
	}); ok {
		return p.PurgeTrash(ctx, minAge, inUse)
	}
	return 0, 0, nil
}
