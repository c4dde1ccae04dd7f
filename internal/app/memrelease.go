package app

import (
	"runtime/debug"
	"runtime/metrics"
)

// releaseFloor is the heap slack (memory the heap holds from the OS
// beyond what was live at the last collection) that the server keeps
// after a burst rather than return at once.
//
// Returning all of it (debug.FreeOSMemory after every login) made the
// next commands pay for faulting it back in: a FETCH 1:* (FLAGS) of
// 3,000 messages allocates about 0.3 MB, and on a heap just returned
// every such allocation lands on fresh pages until the next collection
// recycles some, so a new connection's first FETCHes took 2-4× the
// later ones (issue #21, docs/benchmarks.md, Session 13). A steady
// server's slack is about its live heap (GOGC=100); the runtime's own
// scavenger trims what lies beyond its heap goal in the background.
// What this release is for are the large bursts: argon2id's 19 MiB per
// password check, a thousand logins in a row, a large import, which
// leave hundreds of MB the scavenger returns slowly. 32 MiB is 3.3 KiB
// a connection at 10,000 idle connections and 0.3 KiB at 100,000.
const releaseFloor = 32 << 20

// memRelease hands a burst's freed heap back to the OS once the burst
// is over (no login and no message received for a full tick), when the
// heap's slack is above releaseFloor. tick is called once a second.
type memRelease struct {
	floor      uint64
	slack      func() uint64 // heapSlack, or a test's
	release    func()        // debug.FreeOSMemory, or a test's
	last       int64         // activity count at the previous tick
	releasedAt int64         // activity count when last settled
}

func newMemRelease() *memRelease {
	return &memRelease{floor: releaseFloor, slack: heapSlack, release: debug.FreeOSMemory}
}

// tick takes the activity count (logins plus messages received) and
// reports whether it released memory.
func (m *memRelease) tick(activity int64) bool {
	quiet := activity == m.last
	m.last = activity
	if !quiet || activity == m.releasedAt {
		return false
	}
	// Settled for this count either way: a quiet server that keeps
	// less than the floor is left alone until the next activity.
	m.releasedAt = activity
	if m.slack() <= m.floor {
		return false
	}
	m.release()
	return true
}

var heapSlackSamples = []string{
	"/memory/classes/heap/objects:bytes", // live and not yet swept garbage
	"/memory/classes/heap/unused:bytes",  // free space inside spans in use
	"/memory/classes/heap/free:bytes",    // free spans not returned to the OS
	"/gc/heap/live:bytes",                // marked live by the last GC
}

// heapSlack is the heap memory held from the OS beyond the live heap of
// the last collection: garbage since then plus free and unused space.
// runtime/metrics reads it without stopping the world.
func heapSlack() uint64 {
	s := make([]metrics.Sample, len(heapSlackSamples))
	for i, name := range heapSlackSamples {
		s[i].Name = name
	}
	metrics.Read(s)
	var v [4]uint64
	for i := range s {
		if s[i].Value.Kind() == metrics.KindUint64 {
			v[i] = s[i].Value.Uint64()
		}
	}
	held, live := v[0]+v[1]+v[2], v[3]
	if held <= live {
		return 0
	}
	return held - live
}
