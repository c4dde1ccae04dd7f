package s3

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"barid/internal/blob"
)

// Checksum selects the integrity check the client sends with uploads.
type Checksum string

const (
	// ChecksumMD5 (the default) sends Content-MD5 with every PUT and
	// every part: understood by every S3-compatible server, and it needs
	// no aws-chunked trailer.
	ChecksumMD5 Checksum = "md5"
	// ChecksumCRC32C sends a trailing x-amz-checksum-crc32c in an
	// aws-chunked body with an unsigned payload
	// (STREAMING-UNSIGNED-PAYLOAD-TRAILER, the form current AWS SDKs
	// send by default with CRC32/CRC64NVME): for servers that implement
	// trailing checksums. The signed-chunk form with a trailer
	// (STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER, minio-go's choice
	// over plain HTTP) was refused by versitygw 1.8.0 with "The CRC32C
	// you specified did not match", so it is not used.
	ChecksumCRC32C Checksum = "crc32c"
	// ChecksumNone sends neither (the payload is still covered by the
	// SigV4 signature over plain HTTP, or by TLS).
	ChecksumNone Checksum = "none"
)

const (
	// DefaultPartSize is the size of the parts of a multipart upload,
	// and the size up to which a blob is sent in one PUT.
	DefaultPartSize = 8 << 20
	// MinPartSize is S3's smallest part (except the last).
	MinPartSize = 5 << 20
	// DefaultTmpMaxAge is how old an object under tmp/ or an unfinished
	// multipart upload must be before SweepTmp removes it: a writer on
	// another node may stream a slow client's APPEND for a long time.
	DefaultTmpMaxAge = 24 * time.Hour
	// readWindow is how many bytes one ranged GET asks for at least:
	// sequential ReadAt calls continue the same response.
	readWindow = 1 << 20
	// DefaultMaxIdleConns is how many idle connections to the server the
	// client keeps for reuse (Options.MaxIdleConns). minio-go's default
	// transport keeps 16 per host; with more requests than that in
	// flight (20 IMAP clients, LMTP, the indexer), every request past
	// the 16th closed its connection when done and the next one dialled
	// again: 251 connections in a 25 s two-node run (docs/benchmarks.md,
	// "Session 9").
	DefaultMaxIdleConns = 256
)

// Options configures a Store.
type Options struct {
	Bucket string
	// Prefix is prepended to every key ("" or ending in "/").
	Prefix string
	// Endpoint is the server's URL, http://HOST:PORT or https://HOST.
	// Empty means AWS S3 (https://s3.amazonaws.com).
	Endpoint string
	Region   string
	// AccessKey and SecretKey; empty means AWS_ACCESS_KEY_ID and
	// AWS_SECRET_ACCESS_KEY from the environment.
	AccessKey, SecretKey string
	// Lookup is "path" (bucket in the path, what most S3-compatible
	// servers want), "dns" (virtual-hosted) or "" (path style except on
	// AWS and a few known hosts).
	Lookup   string
	Checksum Checksum
	// PartSize: see DefaultPartSize. At least MinPartSize.
	PartSize int64
	// TmpMaxAge: see DefaultTmpMaxAge.
	TmpMaxAge time.Duration
	// Now is the clock (tests); nil means time.Now.
	Now func() time.Time
	// MaxIdleConns: see DefaultMaxIdleConns.
	MaxIdleConns int
}

// Store is a blob.Store in one bucket of an S3-compatible server.
type Store struct {
	client   *minio.Client
	core     minio.Core
	bucket   string
	prefix   string
	checksum Checksum
	partSize int64
	tmpAge   time.Duration
	now      func() time.Time

	dials atomic.Int64 // TCP connections opened to the server

	mu sync.Mutex
	// open holds the tmp/ keys of this process's writers not yet
	// committed or aborted, which SweepTmp never removes.
	open map[string]struct{}
}

var (
	_ blob.Store      = (*Store)(nil)
	_ blob.TmpSweeper = (*Store)(nil)
)

// Open connects to the server and checks that the bucket exists.
func Open(ctx context.Context, o Options) (*Store, error) {
	if o.Bucket == "" {
		return nil, errors.New("blob/s3: no bucket")
	}
	if o.Prefix != "" && !strings.HasSuffix(o.Prefix, "/") {
		o.Prefix += "/"
	}
	switch o.Checksum {
	case "":
		o.Checksum = ChecksumMD5
	case ChecksumMD5, ChecksumCRC32C, ChecksumNone:
	default:
		return nil, fmt.Errorf("blob/s3: checksum must be md5, crc32c or none, got %q", o.Checksum)
	}
	if o.PartSize == 0 {
		o.PartSize = DefaultPartSize
	}
	if o.PartSize < MinPartSize {
		return nil, fmt.Errorf("blob/s3: part size %d is below S3's minimum %d", o.PartSize, MinPartSize)
	}
	if o.TmpMaxAge == 0 {
		o.TmpMaxAge = DefaultTmpMaxAge
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	host, secure := "s3.amazonaws.com", true
	if o.Endpoint != "" {
		switch {
		case strings.HasPrefix(o.Endpoint, "http://"):
			host, secure = strings.TrimPrefix(o.Endpoint, "http://"), false
		case strings.HasPrefix(o.Endpoint, "https://"):
			host = strings.TrimPrefix(o.Endpoint, "https://")
		default:
			return nil, fmt.Errorf("blob/s3: endpoint must start with http:// or https://")
		}
		host = strings.TrimSuffix(host, "/")
		if host == "" || strings.Contains(host, "/") {
			return nil, fmt.Errorf("blob/s3: endpoint must be a scheme and HOST[:PORT] without a path")
		}
	}
	lookup := minio.BucketLookupAuto
	switch o.Lookup {
	case "":
	case "path":
		lookup = minio.BucketLookupPath
	case "dns":
		lookup = minio.BucketLookupDNS
	default:
		return nil, fmt.Errorf("blob/s3: lookup must be path or dns, got %q", o.Lookup)
	}
	var creds *credentials.Credentials
	if o.AccessKey != "" || o.SecretKey != "" {
		creds = credentials.NewStaticV4(o.AccessKey, o.SecretKey, "")
	} else {
		creds = credentials.NewEnvAWS()
	}
	if o.MaxIdleConns <= 0 {
		o.MaxIdleConns = DefaultMaxIdleConns
	}
	tr, err := minio.DefaultTransport(secure)
	if err != nil {
		return nil, fmt.Errorf("blob/s3: %w", err)
	}
	// Every request of every session goes to the one host: its idle
	// pool is the whole pool.
	tr.MaxIdleConns, tr.MaxIdleConnsPerHost = o.MaxIdleConns, o.MaxIdleConns
	s := &Store{bucket: o.Bucket, prefix: o.Prefix,
		checksum: o.Checksum, partSize: o.PartSize, tmpAge: o.TmpMaxAge, now: o.Now, open: map[string]struct{}{}}
	dial := tr.DialContext
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		s.dials.Add(1)
		return dial(ctx, network, addr)
	}
	client, err := minio.New(host, &minio.Options{
		Transport:    tr,
		Creds:        creds,
		Secure:       secure,
		Region:       o.Region,
		BucketLookup: lookup,
		// Trailing checksums (aws-chunked bodies with an
		// x-amz-checksum-* trailer) only when asked for: see Checksum.
		TrailingHeaders: o.Checksum == ChecksumCRC32C,
		MaxRetries:      5,
	})
	if err != nil {
		return nil, fmt.Errorf("blob/s3: %w", err)
	}
	s.client, s.core = client, minio.Core{Client: client}
	ok, err := client.BucketExists(ctx, o.Bucket)
	if err != nil {
		return nil, fmt.Errorf("blob/s3: bucket %s: %w", o.Bucket, err)
	}
	if !ok {
		return nil, fmt.Errorf("blob/s3: bucket %s does not exist", o.Bucket)
	}
	return s, nil
}

// Dials reports how many TCP connections the store has opened to the
// server (tests and measurements of connection reuse).
func (s *Store) Dials() int64 { return s.dials.Load() }

// Client is the underlying minio client (tests).
func (s *Store) Client() *minio.Client { return s.client }

// Bucket is the store's bucket.
func (s *Store) Bucket() string { return s.bucket }

func (s *Store) blobKey(id string) string  { return s.prefix + "blob/" + id }
func (s *Store) trashKey(id string) string { return s.prefix + "trash/" + id }
func (s *Store) tmpPrefix() string         { return s.prefix + "tmp/" }

// validID reports whether id is a SHA-256 in lower-case hex, the only
// form ever produced.
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

// isNotFound reports whether err is the server's "no such object".
func isNotFound(err error) bool {
	r := minio.ToErrorResponse(err)
	return r.Code == minio.NoSuchKey || r.StatusCode == http.StatusNotFound && r.Code != minio.NoSuchBucket
}

// putOptions are the options of every upload: see Checksum.
func (s *Store) putOptions() minio.PutObjectOptions {
	o := minio.PutObjectOptions{
		ContentType: "message/rfc822",
		PartSize:    uint64(s.partSize),
	}
	switch s.checksum {
	case ChecksumMD5:
		o.SendContentMd5 = true
	case ChecksumCRC32C:
		o.Checksum = minio.ChecksumCRC32C
		o.DisableContentSha256 = true // see ChecksumCRC32C
	}
	return o
}

// Create starts a new blob. The bytes stay in memory up to PartSize;
// past that they are streamed to a multipart upload under tmp/.
func (s *Store) Create(ctx context.Context) (blob.Writer, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return &writer{s: s, ctx: context.WithoutCancel(ctx), h: sha256.New()}, nil
}

type writer struct {
	s   *Store
	ctx context.Context // for the upload, which outlives Write calls
	h   hash.Hash
	buf []byte
	n   int64
	err error

	// Streaming (past PartSize): the upload goroutine reads pr.
	tmpKey string
	pw     *io.PipeWriter
	up     chan struct{} // closed when the upload has returned
	upInfo minio.UploadInfo
	upErr  error
	cancel context.CancelFunc

	done bool
}

func (w *writer) Write(p []byte) (int, error) {
	if w.done {
		return 0, errors.New("blob/s3: write after commit or abort")
	}
	if w.err != nil {
		return 0, w.err
	}
	w.h.Write(p)
	w.n += int64(len(p))
	if w.pw == nil {
		if int64(len(w.buf)+len(p)) <= w.s.partSize {
			w.buf = append(w.buf, p...)
			return len(p), nil
		}
		w.startUpload()
		if _, err := w.pw.Write(w.buf); err != nil {
			w.err = err
			return 0, err
		}
		w.buf = nil
	}
	if _, err := w.pw.Write(p); err != nil {
		w.err = err
		return 0, err
	}
	return len(p), nil
}

// startUpload starts the multipart upload of a blob larger than one
// part under a random tmp/ key.
func (w *writer) startUpload() {
	var rnd [16]byte
	rand.Read(rnd[:])
	w.tmpKey = w.s.tmpPrefix() + hex.EncodeToString(rnd[:])
	w.s.mu.Lock()
	w.s.open[w.tmpKey] = struct{}{}
	w.s.mu.Unlock()
	pr, pw := io.Pipe()
	w.pw = pw
	w.up = make(chan struct{})
	ctx, cancel := context.WithCancel(w.ctx)
	w.cancel = cancel
	go func() {
		defer close(w.up)
		// Size -1: minio-go reads one part at a time into a buffer of
		// PartSize bytes and uploads it, so memory does not grow with
		// the blob.
		w.upInfo, w.upErr = w.s.client.PutObject(ctx, w.s.bucket, w.tmpKey, pr, -1, w.s.putOptions())
		if w.upErr != nil {
			pr.CloseWithError(w.upErr)
		} else {
			pr.Close()
		}
	}()
}

// forget drops the writer's tmp/ key from the open writers.
func (w *writer) forget() {
	if w.tmpKey == "" {
		return
	}
	w.s.mu.Lock()
	delete(w.s.open, w.tmpKey)
	w.s.mu.Unlock()
}

// Commit stores the blob under blob/<sha256> and returns once the server
// has accepted the whole object. The same content committed again is
// written again (S3 has no rename nor touch), which also makes it young
// for the orphan sweep.
func (w *writer) Commit(ctx context.Context) (string, int64, error) {
	if w.done {
		return "", 0, errors.New("blob/s3: commit after commit or abort")
	}
	id, err := w.commit(ctx)
	w.done = true
	if err != nil {
		w.discard()
		return "", 0, err
	}
	return id, w.n, nil
}

func (w *writer) commit(ctx context.Context) (string, error) {
	if w.err != nil {
		return "", w.err
	}
	if err := ctx.Err(); err != nil {
		return "", err
	}
	id := hex.EncodeToString(w.h.Sum(nil))
	key := w.s.blobKey(id)
	if w.pw == nil {
		info, err := w.s.client.PutObject(ctx, w.s.bucket, key, bytes.NewReader(w.buf), int64(len(w.buf)), w.s.putOptions())
		if err != nil {
			return "", fmt.Errorf("blob/s3: put %s: %w", id, err)
		}
		if info.Size != w.n {
			return "", fmt.Errorf("blob/s3: put %s: server took %d of %d bytes", id, info.Size, w.n)
		}
		w.buf = nil
		return id, nil
	}
	// End of the stream: minio-go uploads the last part and completes
	// the multipart upload.
	w.pw.Close()
	select {
	case <-w.up:
	case <-ctx.Done():
		return "", ctx.Err()
	}
	if w.upErr != nil {
		return "", fmt.Errorf("blob/s3: upload %s: %w", id, w.upErr)
	}
	if w.upInfo.Size != w.n {
		return "", fmt.Errorf("blob/s3: upload %s: server took %d of %d bytes", id, w.upInfo.Size, w.n)
	}
	if _, err := w.s.client.CopyObject(ctx,
		minio.CopyDestOptions{Bucket: w.s.bucket, Object: key},
		minio.CopySrcOptions{Bucket: w.s.bucket, Object: w.tmpKey}); err != nil {
		return "", fmt.Errorf("blob/s3: copy %s into place: %w", id, err)
	}
	// The tmp/ object is no longer needed; if this fails SweepTmp
	// removes it later.
	w.s.client.RemoveObject(ctx, w.s.bucket, w.tmpKey, minio.RemoveObjectOptions{})
	w.forget()
	return id, nil
}

// discard ends a streaming upload that will not be committed: the pipe
// is closed with an error, so minio-go aborts the multipart upload, and
// a tmp/ object already completed is removed.
func (w *writer) discard() {
	w.buf = nil
	if w.pw == nil {
		return
	}
	w.pw.CloseWithError(errAborted)
	select {
	case <-w.up:
	case <-time.After(30 * time.Second):
		w.cancel() // SweepTmp takes what is left
		<-w.up
	}
	if w.upErr == nil {
		ctx, cancel := context.WithTimeout(w.ctx, 30*time.Second)
		w.s.client.RemoveObject(ctx, w.s.bucket, w.tmpKey, minio.RemoveObjectOptions{})
		cancel()
	}
	w.cancel()
	w.forget()
}

var errAborted = errors.New("blob/s3: writer aborted")

func (w *writer) Abort() error {
	if w.done {
		return nil
	}
	w.done = true
	w.discard()
	return nil
}

// Open returns a ranged reader on the blob. A blob the sweep moved to
// trash/ is put back first: a message references it after all.
func (s *Store) Open(ctx context.Context, id string) (blob.Reader, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if !validID(id) {
		return nil, ErrInvalidID
	}
	info, err := s.client.StatObject(ctx, s.bucket, s.blobKey(id), minio.StatObjectOptions{})
	if isNotFound(err) {
		if rerr := s.restore(ctx, id); rerr != nil {
			return nil, rerr
		}
		info, err = s.client.StatObject(ctx, s.bucket, s.blobKey(id), minio.StatObjectOptions{})
	}
	if isNotFound(err) {
		return nil, fmt.Errorf("%w: %s", blob.ErrNotFound, id)
	}
	if err != nil {
		return nil, fmt.Errorf("blob/s3: stat %s: %w", id, err)
	}
	rctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	return &reader{s: s, key: s.blobKey(id), size: info.Size, etag: info.ETag, ctx: rctx, cancel: cancel}, nil
}

// restore copies trash/<id> back to blob/<id> and removes the trash
// copy. No trash copy is blob.ErrNotFound.
func (s *Store) restore(ctx context.Context, id string) error {
	_, err := s.client.CopyObject(ctx,
		minio.CopyDestOptions{Bucket: s.bucket, Object: s.blobKey(id)},
		minio.CopySrcOptions{Bucket: s.bucket, Object: s.trashKey(id)})
	if isNotFound(err) {
		return fmt.Errorf("%w: %s", blob.ErrNotFound, id)
	}
	if err != nil {
		return fmt.Errorf("blob/s3: restore %s from trash: %w", id, err)
	}
	s.client.RemoveObject(ctx, s.bucket, s.trashKey(id), minio.RemoveObjectOptions{})
	return nil
}

// reader reads an object by range. Sequential ReadAt calls continue one
// ranged GET of at least readWindow bytes; a jump opens another.
type reader struct {
	s      *Store
	key    string
	size   int64
	etag   string
	ctx    context.Context
	cancel context.CancelFunc

	mu       sync.Mutex
	body     io.ReadCloser
	pos, end int64 // body's next offset and the end of its range
}

func (r *reader) Size() int64 { return r.size }

func (r *reader) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, errors.New("blob/s3: negative offset")
	}
	if off >= r.size {
		return 0, io.EOF
	}
	want := int(min(int64(len(p)), r.size-off))
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for n < want {
		cur := off + int64(n)
		if r.body == nil || r.pos != cur || r.pos >= r.end {
			if err := r.openAt(cur, int64(want-n)); err != nil {
				return n, err
			}
		}
		m, err := io.ReadFull(r.body, p[n:n+int(min(int64(want-n), r.end-r.pos))])
		n += m
		r.pos += int64(m)
		if err != nil {
			r.closeBody()
			if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
				err = fmt.Errorf("blob/s3: %s: short read at %d", r.key, r.pos)
			}
			return n, err
		}
	}
	if want < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// openAt starts a ranged GET at off for at least need bytes.
func (r *reader) openAt(off, need int64) error {
	r.closeBody()
	end := min(r.size, off+max(need, readWindow))
	var o minio.GetObjectOptions
	if err := o.SetRange(off, end-1); err != nil {
		return err
	}
	// The object under a content address never changes; the ETag
	// check still catches a server that gives a different one.
	if r.etag != "" {
		o.SetMatchETag(r.etag)
	}
	body, _, _, err := r.s.core.GetObject(r.ctx, r.s.bucket, r.key, o)
	if err != nil {
		if isNotFound(err) {
			return fmt.Errorf("%w: %s", blob.ErrNotFound, r.key)
		}
		return fmt.Errorf("blob/s3: get %s: %w", r.key, err)
	}
	r.body, r.pos, r.end = body, off, end
	return nil
}

// closeBody ends the current ranged GET. A body closed before its end
// costs its connection (net/http does not reuse it); draining it first
// would keep the connection but could block Close on a stalled server,
// so it is not done.
func (r *reader) closeBody() {
	if r.body != nil {
		r.body.Close()
		r.body = nil
	}
}

func (r *reader) Close() error {
	r.mu.Lock()
	r.closeBody()
	r.mu.Unlock()
	r.cancel()
	return nil
}

// Delete removes a blob.
func (s *Store) Delete(ctx context.Context, id string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if !validID(id) {
		return ErrInvalidID
	}
	// S3's DELETE succeeds on a missing key: ask first.
	if _, err := s.client.StatObject(ctx, s.bucket, s.blobKey(id), minio.StatObjectOptions{}); err != nil {
		if isNotFound(err) {
			return fmt.Errorf("%w: %s", blob.ErrNotFound, id)
		}
		return fmt.Errorf("blob/s3: stat %s: %w", id, err)
	}
	if err := s.client.RemoveObject(ctx, s.bucket, s.blobKey(id), minio.RemoveObjectOptions{}); err != nil {
		return fmt.Errorf("blob/s3: delete %s: %w", id, err)
	}
	return nil
}

// List reports every blob under blob/ with the age of its
// LastModified, as the server's clock set it and this node's clock
// reads it (keep the clocks in step: the sweep grace covers skew).
func (s *Store) List(ctx context.Context, fn func(id string, ageSeconds int64) error) error {
	return s.list(ctx, s.prefix+"blob/", fn)
}

func (s *Store) list(ctx context.Context, prefix string, fn func(id string, ageSeconds int64) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // ends the listing goroutine when fn stops early
	for obj := range s.client.ListObjects(ctx, s.bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true}) {
		if obj.Err != nil {
			return fmt.Errorf("blob/s3: list %s: %w", prefix, obj.Err)
		}
		id := strings.TrimPrefix(obj.Key, prefix)
		if !validID(id) {
			continue
		}
		age := int64(s.now().Sub(obj.LastModified) / time.Second)
		if err := fn(id, max(age, 0)); err != nil {
			return err
		}
	}
	return ctx.Err()
}

// DeleteIfOlder takes blob id away if it was last written at least
// minAge ago (the orphan sweep's delete): it moves the object to
// trash/<id>, where Open still finds it and PurgeTrash deletes it only
// when no message references it after another grace period. S3 gives
// no way to make "still old?" and "delete" one step, so a Commit of
// the same content on another node may land in between: the trash keeps
// its bytes. It reports whether the blob was taken away.
func (s *Store) DeleteIfOlder(ctx context.Context, id string, minAge time.Duration) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	if !validID(id) {
		return false, ErrInvalidID
	}
	info, err := s.client.StatObject(ctx, s.bucket, s.blobKey(id), minio.StatObjectOptions{})
	if isNotFound(err) {
		return false, fmt.Errorf("%w: %s", blob.ErrNotFound, id)
	}
	if err != nil {
		return false, fmt.Errorf("blob/s3: stat %s: %w", id, err)
	}
	if s.now().Sub(info.LastModified) < minAge {
		return false, nil
	}
	if _, err := s.client.CopyObject(ctx,
		minio.CopyDestOptions{Bucket: s.bucket, Object: s.trashKey(id)},
		minio.CopySrcOptions{Bucket: s.bucket, Object: s.blobKey(id)}); err != nil {
		if isNotFound(err) {
			return false, fmt.Errorf("%w: %s", blob.ErrNotFound, id)
		}
		return false, fmt.Errorf("blob/s3: move %s to trash: %w", id, err)
	}
	if err := s.client.RemoveObject(ctx, s.bucket, s.blobKey(id), minio.RemoveObjectOptions{}); err != nil {
		return false, fmt.Errorf("blob/s3: delete %s: %w", id, err)
	}
	return true, nil
}

// PurgeTrash deletes the blobs that have stayed in trash/ for at least
// minAge and that inUse reports unreferenced, and puts the referenced
// ones back under blob/ (a delivery reused the content while the sweep
// took it away). It returns how many it deleted and restored.
func (s *Store) PurgeTrash(ctx context.Context, minAge time.Duration, inUse func(ctx context.Context, id string) (bool, error)) (purged, restored int, err error) {
	err = s.list(ctx, s.prefix+"trash/", func(id string, age int64) error {
		if time.Duration(age)*time.Second < minAge {
			return nil
		}
		used, err := inUse(ctx, id)
		if err != nil {
			return err
		}
		if used {
			if err := s.restore(ctx, id); err != nil && !errors.Is(err, blob.ErrNotFound) {
				return err
			}
			restored++
			return nil
		}
		// Re-read the age: a sweep on another node may have moved a
		// fresh copy here since the listing.
		info, err := s.client.StatObject(ctx, s.bucket, s.trashKey(id), minio.StatObjectOptions{})
		if isNotFound(err) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("blob/s3: stat trash %s: %w", id, err)
		}
		if s.now().Sub(info.LastModified) < minAge {
			return nil
		}
		if err := s.client.RemoveObject(ctx, s.bucket, s.trashKey(id), minio.RemoveObjectOptions{}); err != nil {
			return fmt.Errorf("blob/s3: delete trash %s: %w", id, err)
		}
		purged++
		return nil
	})
	return purged, restored, err
}

// SweepTmp removes objects under tmp/ and unfinished multipart uploads
// that no writer of this Store owns and that are older than minAge, or
// than the store's TmpMaxAge if that is longer: writers on other nodes
// are not known here (blob.TmpSweeper).
func (s *Store) SweepTmp(ctx context.Context, minAge time.Duration) (int, error) {
	minAge = max(minAge, s.tmpAge)
	owned := func(key string) bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		_, ok := s.open[key]
		return ok
	}
	n := 0
	prefix := s.tmpPrefix()
	lctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for obj := range s.client.ListObjects(lctx, s.bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true}) {
		if obj.Err != nil {
			return n, fmt.Errorf("blob/s3: list %s: %w", prefix, obj.Err)
		}
		if s.now().Sub(obj.LastModified) < minAge || owned(obj.Key) {
			continue
		}
		if err := s.client.RemoveObject(ctx, s.bucket, obj.Key, minio.RemoveObjectOptions{}); err == nil {
			n++
		}
	}
	for up := range s.client.ListIncompleteUploads(lctx, s.bucket, prefix, true) {
		if up.Err != nil {
			return n, fmt.Errorf("blob/s3: list uploads %s: %w", prefix, up.Err)
		}
		if s.now().Sub(up.Initiated) < minAge || owned(up.Key) {
			continue
		}
		if err := s.client.RemoveIncompleteUpload(ctx, s.bucket, up.Key); err == nil {
			n++
		}
	}
	return n, nil
}
