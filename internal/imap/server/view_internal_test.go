package server

import (
	"bufio"
	"bytes"
	"math/rand/v2"
	"slices"
	"testing"

	"barid/internal/imap/wire"
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

// shortLine writes exactly what the general FETCH path writes for every
// combination of UID, FLAGS, MODSEQ and RFC822.SIZE, in rev1 (with
// \Recent) and rev2.
func TestShortFetchLine(t *testing.T) {
	kinds := []fetchKind{fUID, fFlags, fModSeq, fSize}
	msgs := []store.Message{
		{UID: 7, ModSeq: 12, Size: 1234},
		{UID: 9, ModSeq: 1 << 40, Size: 0, Flags: store.Flags{System: store.FlagSeen | store.FlagDraft | store.FlagAnswered, Keywords: []string{"$Work", "Later"}}},
		{UID: 11, ModSeq: 3, Size: 99, Flags: store.Flags{Keywords: []string{"$Junk"}}},
	}
	for mask := 1; mask < 1<<len(kinds); mask++ {
		for _, order := range [][]int{{0, 1, 2, 3}, {3, 2, 1, 0}} {
			var items []fetchItem
			for _, k := range order {
				if mask&(1<<k) != 0 {
					items = append(items, fetchItem{kind: kinds[k]})
				}
			}
			for _, rev2 := range []bool{false, true} {
				render := func(short bool) string {
					var out bytes.Buffer
					c := &Conn{rev2: rev2}
					c.bw = bufio.NewWriter(&out)
					c.enc = wire.NewEncoder(c.bw)
					c.sel = &view{uids: []store.UID{3, 7, 9, 11}, recent: []store.UID{9, 11},
						keywords: map[string]string{"$work": "$Work", "later": "Later", "$junk": "$Junk"}}
					req := &fetchReq{items: items, fields: store.FieldFlags | store.FieldSize, short: short}
					for i := range msgs {
						if err := c.writeFetchResponse(&msgs[i], req, false); err != nil {
							t.Fatal(err)
						}
					}
					c.bw.Flush()
					return out.String()
				}
				if got, want := render(true), render(false); got != want {
					t.Errorf("items %v rev2 %v:\n short   %q\n general %q", items, rev2, got, want)
				}
			}
		}
	}
}

// uidTable answers like a binary search, dense or sparse.
func TestUIDTable(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 3))
	for _, gap := range []int{1, 3, 50} {
		for _, n := range []int{0, 10, 100, 3000} {
			var uids []store.UID
			u := store.UID(1 + r.IntN(100))
			for range n {
				uids = append(uids, u)
				u += store.UID(1 + r.IntN(gap))
			}
			tab := newUIDTable(uids)
			for q := store.UID(0); q < u+5; q++ {
				want := uint32(0)
				if i, ok := slices.BinarySearch(uids, q); ok {
					want = uint32(i + 1)
				}
				if got := tab.find(q); got != want {
					t.Fatalf("gap %d n %d: find(%d) = %d, want %d (dense %v)", gap, n, q, got, want, tab.pos != nil)
				}
			}
		}
	}
}

// isRecent answers like a binary search over the recent list in any
// order of questions.
func TestIsRecentGallop(t *testing.T) {
	r := rand.New(rand.NewPCG(8, 8))
	var recent []store.UID
	for u := store.UID(1); u < 3000; u += store.UID(1 + r.IntN(4)) {
		recent = append(recent, u)
	}
	v := &view{recent: recent}
	ask := func(u store.UID) {
		t.Helper()
		_, want := slices.BinarySearch(recent, u)
		if got := v.isRecent(u); got != want {
			t.Fatalf("isRecent(%d) = %v, want %v", u, got, want)
		}
	}
	for u := store.UID(0); u < 3005; u++ {
		ask(u)
	}
	for range 5000 {
		ask(store.UID(r.IntN(3005)))
	}
}
