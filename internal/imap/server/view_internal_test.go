package server

import (
	"math/rand/v2"
	"slices"
	"testing"

	"barid/internal/store"
)

// seqOf answers like a plain binary search whatever order the UIDs are
// asked in (its galloping hint is only a shortcut).
func TestSeqOfMatchesBinarySearch(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var uids []store.UID
	for u := store.UID(1); len(uids) < 5000; u += store.UID(1 + r.IntN(5)) {
		uids = append(uids, u)
	}
	v := &view{uids: uids}
	last := uids[len(uids)-1]
	check := func(u store.UID) {
		t.Helper()
		want := uint32(0)
		if i, ok := slices.BinarySearch(uids, u); ok {
			want = uint32(i + 1)
		}
		if got := v.seqOf(u); got != want {
			t.Fatalf("seqOf(%d) = %d, want %d (hint %d)", u, got, want, v.seqHint)
		}
	}
	for u := store.UID(0); u <= last+2; u++ { // ascending, every UID
		check(u)
	}
	for u := store.UID(0); u <= last+2; u += store.UID(1 + r.IntN(300)) { // ascending with gaps
		check(u)
	}
	for range 20000 { // random order
		check(store.UID(r.IntN(int(last) + 3)))
	}
	v.uids, uids = nil, nil
	check(1)
}
