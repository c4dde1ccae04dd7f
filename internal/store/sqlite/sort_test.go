package sqlite

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"barid/internal/store"
)

// SortUIDs against a reference sort: by the key (seconds of the date,
// DATE falling back to the internal date), ties in ascending UID order
// whatever the direction (RFC 5256 §3), with many ties and dates before
// 1970.
func TestSortUIDsTies(t *testing.T) {
	ctx := context.Background()
	r := rand.New(rand.NewPCG(5, 6))
	base := time.Date(1969, 12, 31, 23, 59, 0, 0, time.UTC)
	var msgs []store.NewMessage
	for i := range 300 {
		m := store.NewMessage{BlobID: fmt.Sprintf("%064x", i), Size: int64(r.IntN(5)),
			InternalDate: base.Add(time.Duration(r.IntN(6)) * time.Minute)}
		if r.IntN(4) > 0 {
			m.SentDate = base.Add(time.Duration(r.IntN(6)-2) * time.Minute).In(time.FixedZone("", 3600*(r.IntN(5)-2)))
		}
		msgs = append(msgs, m)
	}
	s, mb, uids := openInbox(t, "", Options{}, msgs)
	key := map[string]func(i int) int64{
		"ARRIVAL": func(i int) int64 { return msgs[i].InternalDate.Unix() },
		"DATE": func(i int) int64 {
			if msgs[i].SentDate.IsZero() {
				return msgs[i].InternalDate.Unix()
			}
			return msgs[i].SentDate.Unix()
		},
		"SIZE": func(i int) int64 { return msgs[i].Size },
	}
	for by, k := range key {
		for _, rev := range []bool{false, true} {
			idx := make([]int, len(msgs))
			for i := range idx {
				idx[i] = i
			}
			slices.SortStableFunc(idx, func(a, b int) int {
				ka, kb := k(a), k(b)
				if rev {
					ka, kb = kb, ka
				}
				switch {
				case ka < kb:
					return -1
				case ka > kb:
					return 1
				}
				return 0
			})
			want := make([]store.UID, len(idx))
			for i, j := range idx {
				want[i] = uids[j]
			}
			got, err := s.SortUIDs(ctx, mb.ID, by, rev)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, want) {
				t.Errorf("SORT %s reverse=%v:\n got  %v\n want %v", by, rev, got[:20], want[:20])
			}
		}
	}
}
