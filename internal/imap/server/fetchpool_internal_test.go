package server

import (
	"runtime"
	"testing"

	"barid/internal/race"
	"barid/internal/store"
)

// TestFlagBufsReused: FETCH 1:* (FLAGS) borrows its record chunks from
// flagBufs rather than allocating 40 bytes a message per command
// (issue #21: the first FETCHes after the heap went back to the OS paid
// for faulting fresh allocations in). 3,000 messages is one chunk of
// 120 KiB; with the pool a command allocates a few hundred bytes.
func TestFlagBufsReused(t *testing.T) {
	if race.Enabled {
		t.Skip("sync.Pool drops a random quarter of its buffers under the race detector; scripts/test runs this without -race")
	}
	uids := make([]store.UID, 3000)
	for i := range uids {
		uids[i] = store.UID(i + 1)
	}
	load := func(chunk []store.UID, buf []flagRec) ([]flagRec, error) {
		for _, u := range chunk {
			buf = append(buf, flagRec{uid: u, size: 100})
		}
		return buf, nil
	}
	write := func(recs []flagRec) error {
		if len(recs) != len(uids) || recs[0].uid != 1 {
			t.Fatalf("wrote %d records", len(recs))
		}
		return nil
	}
	run := func() {
		if _, err := pipelined(uids, fetchChunkFlags, &flagBufs, load, write); err != nil {
			t.Fatal(err)
		}
	}
	run() // fills the pool
	const runs = 20
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range runs {
		run()
	}
	runtime.ReadMemStats(&after)
	if per := (after.TotalAlloc - before.TotalAlloc) / runs; per > 32<<10 {
		// (a fresh chunk is 120 KiB)
		t.Fatalf("%d bytes allocated per FETCH of 3,000 flags, want the chunk reused", per)
	}
}
