package app

import (
	"runtime"
	"runtime/debug"
	"testing"
)

// TestMemReleaseFloor: a quiet server gives its heap back only when the
// slack is above the floor, and once per burst (issue #21: returning a
// few MB after every login made the next FETCHes fault them back in).
func TestMemReleaseFloor(t *testing.T) {
	var slack uint64
	released := 0
	m := &memRelease{floor: 32 << 20, slack: func() uint64 { return slack }, release: func() { released++ }}
	steps := []struct {
		activity int64
		slack    uint64
		want     bool
	}{
		{0, 100 << 20, false}, // start: nothing happened yet
		{1, 100 << 20, false}, // a login: busy
		{1, 10 << 20, false},  // quiet, but only 10 MiB of slack: kept
		{1, 100 << 20, false}, // still the same burst: settled already
		{2, 100 << 20, false}, // another login
		{5, 100 << 20, false}, // a burst of logins
		{5, 100 << 20, true},  // quiet with 100 MiB of slack: released
		{5, 100 << 20, false}, // once
		{6, 40 << 20, false},
		{6, 40 << 20, true}, // just above the floor
		{7, 32 << 20, false},
		{7, 32 << 20, false}, // at the floor: kept
	}
	for i, s := range steps {
		slack = s.slack
		if got := m.tick(s.activity); got != s.want {
			t.Fatalf("step %d (activity %d, slack %d MiB): released %v, want %v", i, s.activity, s.slack>>20, got, s.want)
		}
	}
	if released != 2 {
		t.Fatalf("released %d times, want 2", released)
	}
}

// TestHeapSlack: garbage made since the last collection counts as
// slack (it is what a burst of argon2id hashes leaves).
func TestHeapSlack(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(-1)) // no collection meanwhile
	runtime.GC()
	before := heapSlack()
	for range 64 {
		sink = make([]byte, 1<<20)
	}
	sink = nil
	if after := heapSlack(); after < before+60<<20 {
		t.Fatalf("heapSlack %d MiB before 64 MiB of garbage, %d MiB after", before>>20, after>>20)
	}
}

var sink []byte // keeps TestHeapSlack's allocations on the heap
