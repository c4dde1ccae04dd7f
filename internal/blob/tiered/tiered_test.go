package tiered

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"path/filepath"
	"testing"
	"time"

	"barid/internal/blob"
	"barid/internal/blob/blobtest"
	"barid/internal/blob/fs"
)

// fakeInline is an Inline source over a map.
type fakeInline struct {
	m   map[string][]byte
	err error
}

func (f *fakeInline) OpenInline(_ context.Context, id string) ([]byte, bool, error) {
	if f.err != nil {
		return nil, false, f.err
	}
	b, ok := f.m[id]
	return b, ok, nil
}

func newStore(t *testing.T, in *fakeInline) *Store {
	t.Helper()
	files, err := fs.Open(filepath.Join(t.TempDir(), "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	return New(in, files)
}

// TestConformance: with nothing inline, the tiered store is the file
// store and passes the whole blob suite.
func TestConformance(t *testing.T) {
	blobtest.Run(t, func(t *testing.T) blob.Store {
		return newStore(t, &fakeInline{m: map[string][]byte{}})
	})
}

func id(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func TestOpenPrefersInline(t *testing.T) {
	ctx := context.Background()
	small := []byte("Subject: small\r\n\r\nkept in the database\r\n")
	in := &fakeInline{m: map[string][]byte{id(small): small, id(nil): {}}}
	s := newStore(t, in)
	large := []byte("Subject: large\r\n\r\nkept in a file\r\n")
	largeID := blobtest.Put(t, s, large)

	tests := []struct {
		name string
		id   string
		want []byte
	}{
		{"inline", id(small), small},
		{"empty inline", id(nil), []byte{}},
		{"file", largeID, large},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := blobtest.Get(t, s, tc.id); string(got) != string(tc.want) {
				t.Errorf("got %q, want %q", got, tc.want)
			}
			r, err := s.Open(ctx, tc.id)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			if r.Size() != int64(len(tc.want)) {
				t.Errorf("Size %d, want %d", r.Size(), len(tc.want))
			}
			if len(tc.want) < 10 {
				return
			}
			// BODY[]<3.5>: a ranged read.
			buf := make([]byte, 5)
			if n, err := r.ReadAt(buf, 3); n != 5 || (err != nil && err != io.EOF) || string(buf) != string(tc.want[3:8]) {
				t.Errorf("ReadAt(3,5) = %d %v %q", n, err, buf)
			}
			// Past the end: io.EOF, as files do.
			if _, err := r.ReadAt(buf, r.Size()); err != io.EOF {
				t.Errorf("ReadAt at the end: %v, want EOF", err)
			}
		})
	}
	if _, err := s.Open(ctx, id([]byte("nowhere"))); !errors.Is(err, blob.ErrNotFound) {
		t.Errorf("unknown id: %v, want ErrNotFound", err)
	}
	in.err = errors.New("database gone")
	if _, err := s.Open(ctx, largeID); err == nil || err.Error() != "database gone" {
		t.Errorf("an inline source error must not be hidden by the file fallback: %v", err)
	}
}

// TestDeleteIfOlder: the sweep's age check reaches blob/fs through the
// tiered store (without it a sweep could delete a blob a delivery has
// just deduplicated against).
func TestDeleteIfOlder(t *testing.T) {
	ctx := context.Background()
	s := newStore(t, &fakeInline{})
	bid := blobtest.Put(t, s, []byte("young"))
	if ok, err := s.DeleteIfOlder(ctx, bid, time.Hour); err != nil || ok {
		t.Fatalf("young blob: deleted=%v %v, want kept", ok, err)
	}
	if ok, err := s.DeleteIfOlder(ctx, bid, 0); err != nil || !ok {
		t.Fatalf("grace 0: deleted=%v %v, want deleted", ok, err)
	}
	if _, err := s.Open(ctx, bid); !errors.Is(err, blob.ErrNotFound) {
		t.Errorf("after delete: %v", err)
	}
}

// TestOpenInlineMany: the batch read goes to a source that has one;
// what is in files only is not reported, a source error comes back, and
// a source without a batch read says so (errors.ErrUnsupported).
func TestOpenInlineMany(t *testing.T) {
	ctx := context.Background()
	a, b := []byte("Subject: a\r\n\r\na\r\n"), []byte("Subject: b\r\n\r\nb\r\n")
	in := &batchInline{fakeInline{m: map[string][]byte{id(a): a, id(b): b}}}
	s := newStore(t, &in.fakeInline)
	if err := s.OpenInlineMany(ctx, []string{id(a)}, func(string, []byte) error { return nil }); !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("source without a batch read: %v", err)
	}
	files, err := fs.Open(filepath.Join(t.TempDir(), "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	s = New(in, files)
	fileID := blobtest.Put(t, s, []byte("Subject: file\r\n\r\nf\r\n"))
	got := map[string]string{}
	err = s.OpenInlineMany(ctx, []string{id(a), fileID, id(b)}, func(id string, data []byte) error {
		got[id] = string(data)
		return nil
	})
	if err != nil || len(got) != 2 || got[id(a)] != string(a) || got[id(b)] != string(b) {
		t.Errorf("got %q, %v; want a and b only", got, err)
	}
	in.err = errors.New("database gone")
	if err := s.OpenInlineMany(ctx, []string{id(a)}, func(string, []byte) error { return nil }); err == nil {
		t.Error("a source error was hidden")
	}
}

// batchInline is fakeInline with a batch read.
type batchInline struct{ fakeInline }

func (f *batchInline) OpenInlineMany(ctx context.Context, ids []string, fn func(id string, data []byte) error) error {
	for _, id := range ids {
		data, ok, err := f.OpenInline(ctx, id)
		if err != nil {
			return err
		}
		if ok {
			if err := fn(id, data); err != nil {
				return err
			}
		}
	}
	return nil
}
