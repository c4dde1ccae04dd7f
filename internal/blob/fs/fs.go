package fs

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	"barid/internal/blob"
)

// tmpMaxAge is how old a file in tmp/ must be before Open removes it as
// the leftover of a crashed writer.
const tmpMaxAge = 24 * time.Hour

// Store keeps blobs as files under one directory.
type Store struct {
	dir string
	tmp string
	now func() time.Time
	// mu orders a deduplicating Commit (which refreshes the existing
	// file's mtime) against DeleteIfOlder and Release (which re-read
	// it), so a sweep never deletes a blob a delivery has just been
	// handed. It also guards open.
	mu sync.Mutex
	// open holds the names of the temporary files of writers not yet
	// committed or aborted, which SweepTmp never removes.
	open map[string]struct{}
}

var (
	_ blob.Store      = (*Store)(nil)
	_ blob.Releaser   = (*Store)(nil)
	_ blob.TmpSweeper = (*Store)(nil)
)

// Open opens (creating with mode 0700) the blob directory dir and removes
// temporary files older than a day, which only a crashed writer leaves.
func Open(dir string) (*Store, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	s := &Store{dir: abs, tmp: filepath.Join(abs, "tmp"), now: time.Now, open: make(map[string]struct{})}
	if err := os.MkdirAll(s.tmp, 0o700); err != nil {
		return nil, err
	}
	ents, err := os.ReadDir(s.tmp)
	if err != nil {
		return nil, err
	}
	for _, e := range ents {
		if info, err := e.Info(); err == nil && s.now().Sub(info.ModTime()) > tmpMaxAge {
			os.Remove(filepath.Join(s.tmp, e.Name()))
		}
	}
	// One level of 256 shards, created up front: a fresh store would
	// otherwise create and fsync a new folder for most early messages
	// (measured: that was most of the blob cost of LMTP delivery). At a
	// million messages a shard holds ~4,000 files, which ext4's and xfs's
	// hashed directories handle without effort.
	created := false
	for i := 0; i < 256; i++ {
		err := os.Mkdir(filepath.Join(abs, fmt.Sprintf("%02x", i)), 0o700)
		if err == nil {
			created = true
		} else if !errors.Is(err, fs.ErrExist) {
			return nil, err
		}
	}
	if created {
		if err := syncDir(abs); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// validID reports whether id is a SHA-256 in lower-case hex: the only
// form ever produced, and one that cannot name a path outside the store.
func validID(id string) bool {
	if len(id) != sha256.Size*2 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// ErrInvalidID is returned (wrapping blob.ErrNotFound) for an ID that is
// not 64 lower-case hex digits.
var ErrInvalidID = fmt.Errorf("invalid blob id: %w", blob.ErrNotFound)

// path returns dir/ab/<id>.
func (s *Store) path(id string) string {
	return filepath.Join(s.dir, id[0:2], id)
}

// Create starts a new blob in dir/tmp.
func (s *Store) Create(ctx context.Context) (blob.Writer, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var rnd [12]byte
	rand.Read(rnd[:])
	name := filepath.Join(s.tmp, hex.EncodeToString(rnd[:]))
	s.mu.Lock()
	s.open[name] = struct{}{}
	s.mu.Unlock()
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		s.forget(name)
		return nil, err
	}
	h := sha256.New()
	w := &writer{s: s, f: f, name: name, h: h}
	w.bw = bufPool.Get().(*bufio.Writer)
	w.bw.Reset(io.MultiWriter((*fileWriter)(w), h))
	return w, nil
}

// bufPool holds the writers' 64 KiB buffers between blobs: a fresh one
// per blob was a twentieth of the bytes a large import allocated.
var bufPool = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, 64<<10) }}

// release gives the buffer back once the writer is done with it.
func (w *writer) release() {
	if w.bw != nil {
		w.bw.Reset(nil)
		bufPool.Put(w.bw)
		w.bw = nil
	}
}

// forget drops a temporary file from the open writers.
func (s *Store) forget(name string) {
	s.mu.Lock()
	delete(s.open, name)
	s.mu.Unlock()
}

type writer struct {
	s     *Store
	f     *os.File
	name  string
	h     hash.Hash
	bw    *bufio.Writer
	n     int64
	done  bool
	err   error
	stamp time.Time // the blob's mtime as Commit left it (Stamp)
	// written is what reached the file; flushed is how much of it
	// writeback was started for (startWriteback).
	written, flushed int64
}

// writebackChunk is how many bytes accumulate in the page cache before
// their writeback is started.
const writebackChunk = 256 << 10

// fileWriter is the writer's file side: it starts writeback of every
// full writebackChunk as the blob grows.
type fileWriter writer

func (fw *fileWriter) Write(p []byte) (int, error) {
	n, err := fw.f.Write(p)
	fw.written += int64(n)
	if d := fw.written - fw.flushed; d >= writebackChunk {
		d -= d % writebackChunk
		startWriteback(fw.f, fw.flushed, d)
		fw.flushed += d
	}
	return n, err
}

func (w *writer) Write(p []byte) (int, error) {
	if w.done {
		return 0, errors.New("blob/fs: write after commit or abort")
	}
	if w.err != nil {
		return 0, w.err
	}
	n, err := w.bw.Write(p)
	w.n += int64(n)
	w.err = err
	return n, err
}

// Commit fsyncs the file, renames it to its content address and fsyncs
// the directory, so the blob survives a crash once Commit returns. If the
// content is already stored, the temporary file is removed and the
// existing file's mtime refreshed, so the integrity sweep (which spares
// young blobs) does not delete it under the transaction about to
// reference it.
func (w *writer) Commit(ctx context.Context) (string, int64, error) {
	if w.done {
		return "", 0, errors.New("blob/fs: commit after commit or abort")
	}
	id, n, err := w.commit(ctx)
	w.done = true
	w.release()
	if err != nil {
		w.f.Close()
		os.Remove(w.name)
	}
	w.s.forget(w.name)
	if err != nil {
		return "", 0, err
	}
	return id, n, nil
}

// Stamp is the blob's modification time as the last Commit left it
// (blob.Stamped): Release deletes the blob only if it is unchanged.
func (w *writer) Stamp() time.Time { return w.stamp }

func (w *writer) commit(ctx context.Context) (string, int64, error) {
	if w.err != nil {
		return "", 0, w.err
	}
	if err := ctx.Err(); err != nil {
		return "", 0, err
	}
	if err := w.bw.Flush(); err != nil {
		return "", 0, err
	}
	if err := w.f.Sync(); err != nil {
		return "", 0, err
	}
	if err := w.f.Close(); err != nil {
		return "", 0, err
	}
	id := hex.EncodeToString(w.h.Sum(nil))
	dst := w.s.path(id)
	dir := filepath.Dir(dst)
	w.s.mu.Lock()
	_, err := os.Stat(dst)
	if err == nil {
		now := w.s.now()
		err := os.Chtimes(dst, now, now)
		if err == nil {
			// Read back: the file system may store fewer digits.
			if info, serr := os.Stat(dst); serr == nil {
				w.stamp = info.ModTime()
			}
		}
		w.s.mu.Unlock()
		os.Remove(w.name)
		if err != nil {
			return "", 0, err
		}
		// The entry may come from a concurrent Commit that has not yet
		// synced the directory.
		return id, w.n, syncDir(dir)
	}
	w.s.mu.Unlock()
	if err := w.s.mkdirs(dir); err != nil {
		return "", 0, err
	}
	// A fresh file: its mtime is now, so DeleteIfOlder spares it. The
	// rename and the stamp are taken under mu, so that a deduplicating
	// Commit of the same bytes comes after both and changes the stamp.
	w.s.mu.Lock()
	err = os.Rename(w.name, dst)
	if err == nil {
		if info, serr := os.Stat(dst); serr == nil {
			w.stamp = info.ModTime()
		}
	}
	w.s.mu.Unlock()
	if err != nil {
		return "", 0, err
	}
	return id, w.n, syncDir(dir)
}

// mkdirs creates the shard folder (0700) if it is missing (Open makes
// all of them) and fsyncs its parent when it did.
func (s *Store) mkdirs(dir string) error {
	err := os.Mkdir(dir, 0o700)
	if errors.Is(err, fs.ErrExist) {
		return nil
	}
	if err != nil {
		return err
	}
	return syncDir(filepath.Dir(dir))
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

func (w *writer) Abort() error {
	if w.done {
		return nil
	}
	w.done = true
	w.release()
	w.f.Close()
	defer w.s.forget(w.name)
	if err := os.Remove(w.name); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// reader is an *os.File with its size.
type reader struct {
	*os.File
	size int64
}

func (r *reader) Size() int64 { return r.size }

// Open returns a ranged reader on the blob.
func (s *Store) Open(ctx context.Context, id string) (blob.Reader, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if !validID(id) {
		return nil, ErrInvalidID
	}
	f, err := os.Open(s.path(id))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s", blob.ErrNotFound, id)
	}
	if err != nil {
		return nil, err
	}
	info, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	return &reader{File: f, size: info.Size()}, nil
}

// Delete removes a blob. Readers that have it open keep reading it.
func (s *Store) Delete(ctx context.Context, id string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if !validID(id) {
		return ErrInvalidID
	}
	err := os.Remove(s.path(id))
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%w: %s", blob.ErrNotFound, id)
	}
	return err
}

// DeleteIfOlder removes the blob only if it was last written at least
// minAge ago, checked under the same lock a deduplicating Commit takes to
// refresh the age. The integrity sweep should use it instead of Delete:
// between its List and its Delete, a delivery may have committed the same
// bytes again (and be about to insert the row that references them).
// It reports whether the blob was removed.
func (s *Store) DeleteIfOlder(ctx context.Context, id string, minAge time.Duration) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	if !validID(id) {
		return false, ErrInvalidID
	}
	p := s.path(id)
	s.mu.Lock()
	defer s.mu.Unlock()
	info, err := os.Stat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return false, fmt.Errorf("%w: %s", blob.ErrNotFound, id)
	}
	if err != nil {
		return false, err
	}
	if s.now().Sub(info.ModTime()) < minAge {
		return false, nil
	}
	if err := os.Remove(p); err != nil {
		return false, err
	}
	return true, nil
}

// List walks the shard directories and reports each blob with the age of
// its mtime. Files that are not valid blob names (or sit in the wrong
// shard) are skipped; tmp/ is not listed.
func (s *Store) List(ctx context.Context, fn func(id string, ageSeconds int64) error) error {
	top, err := os.ReadDir(s.dir)
	if err != nil {
		return err
	}
	now := s.now()
	for _, a := range top {
		if !a.IsDir() || !isHex2(a.Name()) {
			continue
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		ents, err := os.ReadDir(filepath.Join(s.dir, a.Name()))
		if err != nil {
			return err
		}
		for _, e := range ents {
			id := e.Name()
			if !e.Type().IsRegular() || !validID(id) || id[0:2] != a.Name() {
				continue
			}
			info, err := e.Info()
			if errors.Is(err, fs.ErrNotExist) {
				continue // deleted meanwhile
			}
			if err != nil {
				return err
			}
			age := int64(now.Sub(info.ModTime()) / time.Second)
			if err := fn(id, max(age, 0)); err != nil {
				return err
			}
		}
	}
	return nil
}

func isHex2(s string) bool {
	return len(s) == 2 && validID(s+"00000000000000000000000000000000000000000000000000000000000000")
}

// Release deletes blob id if its mtime is still stamp (no Commit of the
// same content has refreshed it since the one that returned stamp) and
// inUse reports false, all under mu (blob.Releaser).
func (s *Store) Release(ctx context.Context, id string, stamp time.Time, inUse func(context.Context) (bool, error)) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	if !validID(id) {
		return false, ErrInvalidID
	}
	p := s.path(id)
	s.mu.Lock()
	defer s.mu.Unlock()
	info, err := os.Stat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if stamp.IsZero() || !info.ModTime().Equal(stamp) {
		return false, nil
	}
	used, err := inUse(ctx)
	if err != nil || used {
		return false, err
	}
	if err := os.Remove(p); err != nil {
		return false, err
	}
	return true, nil
}

// SweepTmp removes the files in tmp/ that no open writer owns and that
// were last written at least minAge ago (blob.TmpSweeper): what a
// crashed writer, or one whose Abort could not remove its file, left.
func (s *Store) SweepTmp(ctx context.Context, minAge time.Duration) (int, error) {
	ents, err := os.ReadDir(s.tmp)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, e := range ents {
		if err := ctx.Err(); err != nil {
			return n, err
		}
		name := filepath.Join(s.tmp, e.Name())
		info, err := e.Info()
		if err != nil || !info.Mode().IsRegular() || s.now().Sub(info.ModTime()) < minAge {
			continue
		}
		s.mu.Lock()
		_, owned := s.open[name]
		if !owned && os.Remove(name) == nil {
			n++
		}
		s.mu.Unlock()
	}
	return n, nil
}
