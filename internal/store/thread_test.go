package store

import (
	"slices"
	"testing"
)

// AssignThreads by the rules of thread.go, with the index writes each
// step makes.
func TestAssignThreads(t *testing.T) {
	nm := func(id string, refs ...string) NewMessage { return NewMessage{MessageID: id, References: refs} }
	k := ThreadKey
	for _, tc := range []struct {
		name   string
		known  map[int64]ThreadEntry
		msgs   []NewMessage
		want   []int64
		writes []ThreadWrite
		eids   []int64
	}{
		{name: "new thread is the EMAILID, own id owned, refs not",
			msgs: []NewMessage{nm("a", "p", "root")}, eids: []int64{7}, want: []int64{7},
			writes: []ThreadWrite{{k("a"), 7, true}, {k("p"), 7, false}, {k("root"), 7, false}}},
		{name: "nearest ancestor first",
			known: map[int64]ThreadEntry{k("p"): {1, true}, k("root"): {2, true}},
			msgs:  []NewMessage{nm("a", "p", "root")}, eids: []int64{7}, want: []int64{1},
			writes: []ThreadWrite{{k("a"), 1, true}}},
		{name: "reply before parent: own id found",
			known: map[int64]ThreadEntry{k("p"): {3, false}},
			msgs:  []NewMessage{nm("p")}, eids: []int64{7}, want: []int64{3},
			writes: []ThreadWrite{{k("p"), 3, true}}},
		{name: "ancestor wins over own id",
			known: map[int64]ThreadEntry{k("p"): {3, false}, k("root"): {4, true}},
			msgs:  []NewMessage{nm("p", "root")}, eids: []int64{7}, want: []int64{4},
			writes: []ThreadWrite{{k("p"), 4, true}}},
		{name: "the same Message-ID again joins its thread",
			known: map[int64]ThreadEntry{k("a"): {5, true}},
			msgs:  []NewMessage{nm("a", "q")}, eids: []int64{7}, want: []int64{5},
			writes: []ThreadWrite{{k("q"), 5, false}}},
		{name: "an owned id is never taken over",
			known: map[int64]ThreadEntry{k("a"): {5, true}, k("p"): {1, true}},
			msgs:  []NewMessage{nm("a", "p")}, eids: []int64{7}, want: []int64{1}},
		{name: "given THREADID kept",
			known: map[int64]ThreadEntry{k("p"): {1, true}},
			msgs:  []NewMessage{{MessageID: "g", References: []string{"p"}, ThreadID: 99}}, eids: []int64{7}, want: []int64{99},
			writes: []ThreadWrite{{k("g"), 99, true}}},
		{name: "batch: a later message sees an earlier one",
			msgs: []NewMessage{nm("p"), nm("r", "p"), nm("")}, eids: []int64{7, 8, 9}, want: []int64{7, 7, 9},
			writes: []ThreadWrite{{k("p"), 7, true}, {k("r"), 7, true}}},
	} {
		known := tc.known
		if known == nil {
			known = map[int64]ThreadEntry{}
		}
		got, writes := AssignThreads(tc.msgs, tc.eids, known)
		if !slices.Equal(got, tc.want) || !slices.Equal(writes, tc.writes) {
			t.Errorf("%s: threads %v writes %v, want %v %v", tc.name, got, writes, tc.want, tc.writes)
		}
	}
	if keys := ThreadLookupKeys([]NewMessage{nm("a", "p"), nm("p", "a"), nm("")}); len(keys) != 2 {
		t.Errorf("ThreadLookupKeys: %d keys, want 2 (deduplicated, none for no ids)", len(keys))
	}
}
