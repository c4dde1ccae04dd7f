// Package blobtest is the conformance suite every blob.Store backend
// runs: round trips, content addressing and deduplication, ranged reads,
// delete, list and ID validation.
//
// open is called with the *testing.T of each subtest and must return an
// empty store for it.
package blobtest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"testing"

	"barid/internal/blob"
)

// Run runs the whole suite.
func Run(t *testing.T, open func(t *testing.T) blob.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s blob.Store)
	}{
		{"RoundTrip", testRoundTrip},
		{"Empty", testEmpty},
		{"Dedup", testDedup},
		{"RangeReads", testRangeReads},
		{"Abort", testAbort},
		{"Delete", testDelete},
		{"List", testList},
		{"InvalidIDs", testInvalidIDs},
		{"CancelledCommit", testCancelledCommit},
		{"Concurrent", testConcurrent},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, open(t))
		})
	}
}

// Put stores data in s and returns its ID.
func Put(t *testing.T, s blob.Store, data []byte) string {
	t.Helper()
	ctx := context.Background()
	w, err := s.Create(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Write in uneven chunks to exercise buffering.
	for rest := data; len(rest) > 0; {
		n := min(len(rest), 1+len(rest)/3)
		if _, err := w.Write(rest[:n]); err != nil {
			t.Fatal(err)
		}
		rest = rest[n:]
	}
	id, size, err := w.Commit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	if id != hex.EncodeToString(sum[:]) {
		t.Fatalf("id %s is not the SHA-256 of the content", id)
	}
	if size != int64(len(data)) {
		t.Fatalf("size %d, want %d", size, len(data))
	}
	if err := w.Abort(); err != nil {
		t.Fatalf("Abort after Commit: %v", err)
	}
	return id
}

// Get reads a whole blob.
func Get(t *testing.T, s blob.Store, id string) []byte {
	t.Helper()
	r, err := s.Open(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	buf := make([]byte, r.Size())
	if _, err := r.ReadAt(buf, 0); err != nil && !(errors.Is(err, io.EOF) && len(buf) == 0) {
		t.Fatal(err)
	}
	return buf
}

func testRoundTrip(t *testing.T, s blob.Store) {
	for _, size := range []int{1, 100, 64 << 10, 64<<10 + 1, 300 << 10} {
		data := make([]byte, size)
		for i := range data {
			data[i] = byte(i*7 + size)
		}
		id := Put(t, s, data)
		if got := Get(t, s, id); !bytes.Equal(got, data) {
			t.Fatalf("size %d: read back differs", size)
		}
	}
}

func testEmpty(t *testing.T, s blob.Store) {
	id := Put(t, s, nil)
	if id != "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" {
		t.Fatalf("empty blob id %s", id)
	}
	r, err := s.Open(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if r.Size() != 0 {
		t.Fatalf("size %d", r.Size())
	}
}

func testDedup(t *testing.T, s blob.Store) {
	data := []byte("From: a@example.org\r\n\r\nhello\r\n")
	a := Put(t, s, data)
	b := Put(t, s, data)
	if a != b {
		t.Fatalf("same content, ids %s and %s", a, b)
	}
	n := 0
	if err := s.List(context.Background(), func(id string, _ int64) error {
		if id == a {
			n++
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Fatalf("listed %d copies", n)
	}
	// One Delete removes the single copy.
	if err := s.Delete(context.Background(), a); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Open(context.Background(), a); !errors.Is(err, blob.ErrNotFound) {
		t.Fatalf("Open after Delete: %v", err)
	}
}

func testRangeReads(t *testing.T, s blob.Store) {
	data := []byte("0123456789abcdefghijklmnopqrstuvwxyz")
	id := Put(t, s, data)
	r, err := s.Open(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if r.Size() != int64(len(data)) {
		t.Fatalf("Size %d", r.Size())
	}
	for _, tc := range []struct {
		off, n int
		want   string
		eof    bool
	}{
		{0, 10, "0123456789", false},
		{10, 5, "abcde", false},
		{30, 6, "uvwxyz", false},
		{30, 10, "uvwxyz", true},
		{36, 1, "", true},
		{100, 1, "", true},
	} {
		buf := make([]byte, tc.n)
		n, err := r.ReadAt(buf, int64(tc.off))
		if got := string(buf[:n]); got != tc.want {
			t.Errorf("ReadAt(%d, %d) = %q, want %q", tc.off, tc.n, got, tc.want)
		}
		if tc.eof != (err != nil) || (err != nil && !errors.Is(err, io.EOF)) {
			t.Errorf("ReadAt(%d, %d) err = %v, want EOF %v", tc.off, tc.n, err, tc.eof)
		}
	}
	// io.SectionReader works on it: BODY[1]<5.3> style partial reads.
	sr := io.NewSectionReader(r, 5, 3)
	got, err := io.ReadAll(sr)
	if err != nil || string(got) != "567" {
		t.Fatalf("section = %q, %v", got, err)
	}
}

func testAbort(t *testing.T, s blob.Store) {
	ctx := context.Background()
	w, err := s.Create(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte("never stored")); err != nil {
		t.Fatal(err)
	}
	if err := w.Abort(); err != nil {
		t.Fatal(err)
	}
	if err := w.Abort(); err != nil {
		t.Fatalf("second Abort: %v", err)
	}
	if _, _, err := w.Commit(ctx); err == nil {
		t.Fatal("Commit after Abort succeeded")
	}
	sum := sha256.Sum256([]byte("never stored"))
	if _, err := s.Open(ctx, hex.EncodeToString(sum[:])); !errors.Is(err, blob.ErrNotFound) {
		t.Fatalf("aborted blob visible: %v", err)
	}
	var ids []string
	if err := s.List(ctx, func(id string, _ int64) error { ids = append(ids, id); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(ids) != 0 {
		t.Fatalf("List after abort: %v", ids)
	}
}

func testDelete(t *testing.T, s blob.Store) {
	ctx := context.Background()
	id := Put(t, s, []byte("bye"))
	keep := Put(t, s, []byte("stay"))
	if err := s.Delete(ctx, id); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, id); !errors.Is(err, blob.ErrNotFound) {
		t.Fatalf("second Delete: %v", err)
	}
	if _, err := s.Open(ctx, id); !errors.Is(err, blob.ErrNotFound) {
		t.Fatalf("Open deleted: %v", err)
	}
	if got := Get(t, s, keep); string(got) != "stay" {
		t.Fatalf("other blob = %q", got)
	}
	// Stored again after delete: readable again.
	if Put(t, s, []byte("bye")) != id {
		t.Fatal("id changed")
	}
	if got := Get(t, s, id); string(got) != "bye" {
		t.Fatalf("re-put = %q", got)
	}
}

func testList(t *testing.T, s blob.Store) {
	ctx := context.Background()
	var want []string
	for i := range 20 {
		want = append(want, Put(t, s, []byte(fmt.Sprintf("blob %d", i))))
	}
	slices.Sort(want)
	var got []string
	if err := s.List(ctx, func(id string, age int64) error {
		if age < 0 || age > 60 {
			t.Errorf("blob %s age %d", id, age)
		}
		got = append(got, id)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Fatalf("List = %v\nwant %v", got, want)
	}
	stop := errors.New("stop")
	n := 0
	if err := s.List(ctx, func(string, int64) error { n++; return stop }); !errors.Is(err, stop) || n != 1 {
		t.Fatalf("List stop: %v after %d", err, n)
	}
}

func testInvalidIDs(t *testing.T, s blob.Store) {
	ctx := context.Background()
	good := Put(t, s, []byte("x"))
	for _, id := range []string{
		"",
		"../../etc/passwd",
		"/etc/passwd",
		strings.ToUpper(good),
		good[:63],
		good + "0",
		"../" + good[3:],
		"tmp",
		good[:62] + "/.",
		strings.Repeat("g", 64),
		strings.Repeat(".", 64),
	} {
		if r, err := s.Open(ctx, id); err == nil {
			r.Close()
			t.Errorf("Open(%q) succeeded", id)
		}
		if err := s.Delete(ctx, id); err == nil {
			t.Errorf("Delete(%q) succeeded", id)
		}
	}
	if got := Get(t, s, good); string(got) != "x" {
		t.Fatal("valid blob damaged")
	}
}

func testConcurrent(t *testing.T, s blob.Store) {
	const workers, each = 8, 10
	var wg sync.WaitGroup
	errc := make(chan error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx := context.Background()
			for i := range each {
				// Half the content is shared by all workers: dedup races.
				data := []byte(fmt.Sprintf("shared %d", i))
				if i%2 == 1 {
					data = []byte(fmt.Sprintf("own %d %d", w, i))
				}
				bw, err := s.Create(ctx)
				if err != nil {
					errc <- err
					return
				}
				if _, err := bw.Write(data); err != nil {
					errc <- err
					return
				}
				id, _, err := bw.Commit(ctx)
				if err != nil {
					errc <- err
					return
				}
				r, err := s.Open(ctx, id)
				if err != nil {
					errc <- err
					return
				}
				buf := make([]byte, r.Size())
				_, err = r.ReadAt(buf, 0)
				r.Close()
				if err != nil || !bytes.Equal(buf, data) {
					errc <- fmt.Errorf("read back %q: %v", buf, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Error(err)
	}
	n := 0
	if err := s.List(context.Background(), func(string, int64) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	if want := each/2 + workers*each/2; n != want {
		t.Fatalf("List found %d blobs, want %d", n, want)
	}
}

// testCancelledCommit: a Commit whose context has ended stores nothing.
func testCancelledCommit(t *testing.T, s blob.Store) {
	ctx, cancel := context.WithCancel(context.Background())
	w, err := s.Create(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte("cancelled")); err != nil {
		t.Fatal(err)
	}
	cancel()
	if _, _, err := w.Commit(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Commit after cancel: %v", err)
	}
	w.Abort()
	sum := sha256.Sum256([]byte("cancelled"))
	if _, err := s.Open(context.Background(), hex.EncodeToString(sum[:])); !errors.Is(err, blob.ErrNotFound) {
		t.Fatalf("cancelled blob visible: %v", err)
	}
}
