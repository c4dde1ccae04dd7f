package server

import (
	"context"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"testing"

	"barid/internal/store"
)

// fakeNewUIDs is a mailbox as store.NewUIDsReader and ClaimRecent see
// it; reads wait on gate when it is set.
type fakeNewUIDs struct {
	mu     sync.Mutex
	uids   []store.UID
	first  store.UID
	hms    store.ModSeq
	gate   chan struct{}
	reads  atomic.Int32
	claims atomic.Int32
}

func (f *fakeNewUIDs) UIDsAfterRecent(ctx context.Context, mailboxID int64, after store.UID) (store.NewUIDs, error) {
	f.reads.Add(1)
	if f.gate != nil {
		<-f.gate
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []store.UID
	for _, u := range f.uids {
		if u > after {
			out = append(out, u)
		}
	}
	return store.NewUIDs{UIDs: out, FirstRecent: f.first, HighestModSeq: f.hms}, nil
}

func (f *fakeNewUIDs) ClaimRecent(ctx context.Context, mailboxID int64, upTo store.UID) (store.UID, error) {
	f.claims.Add(1)
	f.mu.Lock()
	defer f.mu.Unlock()
	prev := f.first
	f.first = max(f.first, upTo+1)
	return prev, nil
}

// One read serves every session that a change woke, a read older than
// what a session was told of is never used, and of all the sessions
// that take the same new message exactly one gets it as \Recent, with
// one ClaimRecent.
func TestNewUIDsShared(t *testing.T) {
	ctx := context.Background()
	f := &fakeNewUIDs{uids: []store.UID{1, 2, 3, 4}, first: 4, hms: 10, gate: make(chan struct{})}
	var sh newUIDsShare
	const sessions = 50
	var wg sync.WaitGroup
	var recent atomic.Int32
	got := make([][]store.UID, sessions)
	for i := range sessions {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := sh.get(ctx, f, 7, 2, 10)
			if err != nil {
				t.Error(err)
				return
			}
			got[i] = r.uidsAfter(2)
			first, err := r.claim(ctx, f, got[i][len(got[i])-1])
			if err != nil {
				t.Error(err)
				return
			}
			if first <= 4 {
				recent.Add(1)
			}
		}()
	}
	for f.reads.Load() == 0 {
		// the first session reads; the others find its read in flight
	}
	close(f.gate)
	wg.Wait()
	for i := range got {
		if !slices.Equal(got[i], []store.UID{3, 4}) {
			t.Fatalf("session %d: %v", i, got[i])
		}
	}
	// Followers that came after the read finished use it too; one that
	// found it in flight may have waited and read once more at most.
	if n := f.reads.Load(); n > 2 {
		t.Fatalf("%d reads for %d sessions of one change", n, sessions)
	}
	if n := recent.Load(); n != 1 {
		t.Fatalf("%d sessions got UID 4 as \\Recent, want 1", n)
	}
	if n := f.claims.Load(); n != 1 {
		t.Fatalf("%d ClaimRecent calls, want 1", n)
	}

	reads := f.reads.Load()
	again := func(after store.UID, need store.ModSeq, wantRead bool) *newUIDsRead {
		t.Helper()
		r, err := sh.get(ctx, f, 7, after, need)
		if err != nil {
			t.Fatal(err)
		}
		if n := f.reads.Load(); (n > reads) != wantRead {
			t.Fatalf("after %d need %d: reads %d -> %d, want a read: %v", after, need, reads, n, wantRead)
		}
		reads = f.reads.Load()
		return r
	}
	again(3, 10, false) // a later session of the same change
	f.mu.Lock()
	f.uids, f.hms = append(f.uids, 5), 11
	f.mu.Unlock()
	if r := again(4, 11, true); !slices.Equal(r.uidsAfter(4), []store.UID{5}) {
		t.Fatalf("after a new message: %v", r.uidsAfter(4))
	}
	again(1, 11, true)             // below the kept read's after
	again(4, math.MaxUint64, true) // a change of unknown MODSEQ
	again(4, 11, false)
	again(4, 12, true) // told of something the kept read did not see
	if _, err := sh.get(ctx, f, 7+newUIDsSlots, 4, 0); err != nil || f.reads.Load() != reads+1 {
		t.Fatalf("another mailbox in the same slot used the kept read")
	}
}
