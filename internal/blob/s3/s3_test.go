package s3

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"barid/internal/blob"
	"barid/internal/blob/blobtest"
	"barid/internal/blob/s3/s3test"
)

// open returns a store on the test server under a fresh prefix.
func open(t *testing.T, edit func(*Options)) *Store {
	t.Helper()
	o, err := ParseURL(s3test.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		edit(&o)
	}
	s, err := Open(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestConformance(t *testing.T) {
	blobtest.Run(t, func(t *testing.T) blob.Store { return open(t, nil) })
}

// Every checksum mode stores and reads back a one-PUT and a multipart
// blob: md5 is the default; crc32c sends aws-chunked bodies with a
// trailing checksum, what current AWS SDKs do by default.
func TestChecksumModes(t *testing.T) {
	for _, c := range []Checksum{ChecksumMD5, ChecksumCRC32C, ChecksumNone} {
		t.Run(string(c), func(t *testing.T) {
			t.Parallel()
			s := open(t, func(o *Options) { o.Checksum = c; o.PartSize = MinPartSize })
			for _, size := range []int{1000, MinPartSize*2 + 12345} {
				data := pattern(size)
				id := blobtest.Put(t, s, data)
				if got := blobtest.Get(t, s, id); !bytes.Equal(got, data) {
					t.Fatalf("size %d: read back differs", size)
				}
			}
		})
	}
}

func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*31 + i>>11)
	}
	return b
}

// A blob over one part is streamed: the writer holds no copy of what
// it has handed on, the upload is a multipart one under tmp/, and
// Commit leaves only blob/<id> behind.
func TestLargeStreams(t *testing.T) {
	t.Parallel()
	s := open(t, func(o *Options) { o.PartSize = MinPartSize })
	ctx := context.Background()
	data := pattern(3*MinPartSize + 777)
	bw, err := s.Create(ctx)
	if err != nil {
		t.Fatal(err)
	}
	w := bw.(*writer)
	for rest := data; len(rest) > 0; {
		n := min(len(rest), 64<<10)
		if _, err := w.Write(rest[:n]); err != nil {
			t.Fatal(err)
		}
		rest = rest[n:]
		if written := len(data) - len(rest); written > MinPartSize && (w.pw == nil || len(w.buf) != 0) {
			t.Fatalf("after %d bytes: still buffering %d bytes in the writer", written, len(w.buf))
		}
	}
	// Before Commit: nothing under blob/, an unfinished upload in tmp/.
	if n := count(t, s, s.prefix+"blob/"); n != 0 {
		t.Fatalf("%d blobs before Commit", n)
	}
	id, size, err := w.Commit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	if id != hex.EncodeToString(sum[:]) || size != int64(len(data)) {
		t.Fatalf("Commit = %s, %d", id, size)
	}
	if n := count(t, s, s.tmpPrefix()); n != 0 {
		t.Fatalf("%d objects left under tmp/", n)
	}
	if n := uploads(t, s); n != 0 {
		t.Fatalf("%d unfinished uploads", n)
	}
	if got := blobtest.Get(t, s, id); !bytes.Equal(got, data) {
		t.Fatal("read back differs")
	}
	// Ranged reads across the read window and the part boundaries.
	r, err := s.Open(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for _, off := range []int64{0, MinPartSize - 3, readWindow - 1, int64(len(data)) - 10, 5, 2*MinPartSize + 1} {
		buf := make([]byte, 4096)
		n, err := r.ReadAt(buf, off)
		want := data[off:min(int(off)+4096, len(data))]
		if !bytes.Equal(buf[:n], want) {
			t.Fatalf("ReadAt(%d): %d bytes differ (%v)", off, n, err)
		}
	}
}

// Abort of a streaming writer leaves no object and no upload.
func TestAbortLarge(t *testing.T) {
	t.Parallel()
	s := open(t, func(o *Options) { o.PartSize = MinPartSize })
	ctx := context.Background()
	w, err := s.Create(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(pattern(2*MinPartSize + 1)); err != nil {
		t.Fatal(err)
	}
	if err := w.Abort(); err != nil {
		t.Fatal(err)
	}
	if n := count(t, s, s.prefix); n != 0 {
		t.Fatalf("%d objects after Abort", n)
	}
	if n := uploads(t, s); n != 0 {
		t.Fatalf("%d unfinished uploads after Abort", n)
	}
	if _, _, err := w.Commit(ctx); err == nil {
		t.Fatal("Commit after Abort succeeded")
	}
}

// The sweep's delete moves the blob to trash/: Open puts it back, and
// PurgeTrash deletes it only when old enough and unreferenced.
func TestSweepTrash(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	now := time.Now()
	s := open(t, func(o *Options) { o.Now = func() time.Time { return now } })
	id := blobtest.Put(t, s, []byte("orphan"))

	if ok, err := s.DeleteIfOlder(ctx, id, time.Hour); err != nil || ok {
		t.Fatalf("young blob: DeleteIfOlder = %v, %v", ok, err)
	}
	now = now.Add(2 * time.Hour)
	if ok, err := s.DeleteIfOlder(ctx, id, time.Hour); err != nil || !ok {
		t.Fatalf("old blob: DeleteIfOlder = %v, %v", ok, err)
	}
	if n := count(t, s, s.prefix+"blob/"); n != 0 {
		t.Fatal("blob still listed after the sweep took it")
	}
	// A message referenced it after all (a delivery on another node
	// reused the content while the sweep ran): Open finds it.
	if got := blobtest.Get(t, s, id); string(got) != "orphan" {
		t.Fatalf("restored %q", got)
	}
	if n := count(t, s, s.prefix+"trash/"); n != 0 {
		t.Fatal("trash copy kept after restore")
	}

	// Taken again; the purge spares it while young, restores it while
	// referenced, and deletes it once neither.
	if ok, err := s.DeleteIfOlder(ctx, id, time.Hour); err != nil || !ok {
		t.Fatalf("DeleteIfOlder = %v, %v", ok, err)
	}
	now = time.Now()
	never := func(context.Context, string) (bool, error) { return false, nil }
	always := func(context.Context, string) (bool, error) { return true, nil }
	if p, r, err := s.PurgeTrash(ctx, time.Hour, never); err != nil || p+r != 0 {
		t.Fatalf("young trash: purged %d restored %d, %v", p, r, err)
	}
	now = now.Add(2 * time.Hour)
	if p, r, err := s.PurgeTrash(ctx, time.Hour, always); err != nil || p != 0 || r != 1 {
		t.Fatalf("referenced trash: purged %d restored %d, %v", p, r, err)
	}
	if got := blobtest.Get(t, s, id); string(got) != "orphan" {
		t.Fatalf("after restore %q", got)
	}
	if ok, err := s.DeleteIfOlder(ctx, id, time.Hour); err != nil || !ok {
		t.Fatalf("DeleteIfOlder = %v, %v", ok, err)
	}
	now = now.Add(2 * time.Hour)
	if p, r, err := s.PurgeTrash(ctx, time.Hour, never); err != nil || p != 1 || r != 0 {
		t.Fatalf("orphan trash: purged %d restored %d, %v", p, r, err)
	}
	if _, err := s.Open(ctx, id); !errors.Is(err, blob.ErrNotFound) {
		t.Fatalf("Open after purge: %v", err)
	}
	if _, err := s.DeleteIfOlder(ctx, id, 0); !errors.Is(err, blob.ErrNotFound) {
		t.Fatalf("DeleteIfOlder of a missing blob: %v", err)
	}
}

// SweepTmp removes a crashed writer's tmp/ object and unfinished
// upload, and never an open writer's.
func TestSweepTmp(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	now := time.Now()
	s := open(t, func(o *Options) {
		o.PartSize = MinPartSize
		o.TmpMaxAge = time.Hour
		o.Now = func() time.Time { return now }
	})
	live, err := s.Create(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := live.Write(pattern(MinPartSize + 10)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.client.PutObject(ctx, s.bucket, s.tmpPrefix()+"crashed", bytes.NewReader([]byte("x")), 1, minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.core.NewMultipartUpload(ctx, s.bucket, s.tmpPrefix()+"crashed-upload", minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	// Young: minAge below TmpMaxAge is raised to it.
	if n, err := s.SweepTmp(ctx, time.Minute); err != nil || n != 0 {
		t.Fatalf("young: SweepTmp = %d, %v", n, err)
	}
	now = now.Add(2 * time.Hour)
	if n, err := s.SweepTmp(ctx, time.Minute); err != nil || n != 2 {
		t.Fatalf("old: SweepTmp = %d, %v", n, err)
	}
	// The open writer still commits.
	if _, err := live.Write([]byte("tail")); err != nil {
		t.Fatal(err)
	}
	id, _, err := live.Commit(ctx)
	if err != nil {
		t.Fatalf("open writer's Commit after the sweep: %v", err)
	}
	if got := blobtest.Get(t, s, id); !bytes.Equal(got, append(pattern(MinPartSize+10), "tail"...)) {
		t.Fatal("read back differs")
	}
}

func count(t *testing.T, s *Store, prefix string) int {
	t.Helper()
	n := 0
	for obj := range s.client.ListObjects(context.Background(), s.bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true}) {
		if obj.Err != nil {
			t.Fatal(obj.Err)
		}
		n++
	}
	return n
}

func uploads(t *testing.T, s *Store) int {
	t.Helper()
	n := 0
	for up := range s.client.ListIncompleteUploads(context.Background(), s.bucket, s.tmpPrefix(), true) {
		if up.Err != nil {
			t.Fatal(up.Err)
		}
		n++
	}
	return n
}

func TestParseURL(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    Options
		wantErr string
	}{
		{in: "s3://mail?endpoint=http://127.0.0.1:9000&region=us-east-1",
			want: Options{Bucket: "mail", Endpoint: "http://127.0.0.1:9000", Region: "us-east-1"}},
		{in: "s3://mail/node/a?endpoint=https://s3.example.org&lookup=path&checksum=crc32c&part_size=16777216",
			want: Options{Bucket: "mail", Prefix: "node/a", Endpoint: "https://s3.example.org", Lookup: "path", Checksum: ChecksumCRC32C, PartSize: 16 << 20}},
		{in: "s3://mail", want: Options{Bucket: "mail"}},
		{in: "file:///srv/blobs", wantErr: "scheme must be s3"},
		{in: "s3://?endpoint=http://h:1", wantErr: "no bucket"},
		{in: "s3://key:hunter2@mail?endpoint=http://h:1", wantErr: "no credentials in the URL"},
		{in: "s3://mail?endpoint=http://h:1&secret=x", wantErr: `unknown URL parameter "secret"`},
		{in: "s3://mail?part_size=1000", wantErr: "part_size must be"},
	} {
		got, err := ParseURL(tc.in)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("ParseURL(%q) err = %v, want %q", tc.in, err, tc.wantErr)
			}
			if err != nil && strings.Contains(err.Error(), "hunter2") {
				t.Errorf("error shows the secret: %v", err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ParseURL(%q) = %+v, %v\nwant %+v", tc.in, got, err, tc.want)
		}
	}
}

func TestOpenRefusesBadOptions(t *testing.T) {
	ctx := context.Background()
	for _, o := range []Options{
		{},
		{Bucket: "b", Checksum: "sha1"},
		{Bucket: "b", PartSize: 1 << 20},
		{Bucket: "b", Endpoint: "ftp://h"},
		{Bucket: "b", Endpoint: "http://h/path"},
		{Bucket: "b", Lookup: "virtual"},
	} {
		if _, err := Open(ctx, o); err == nil {
			t.Errorf("Open(%+v) succeeded", o)
		}
	}
}
