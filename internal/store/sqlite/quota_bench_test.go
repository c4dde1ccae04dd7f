package sqlite

import (
	"context"
	"slices"
	"testing"
	"time"

	"barid/internal/store"
)

// BenchmarkAppendQuota measures what quota accounting and enforcement
// cost an APPEND: two stores, one with quotas on (the triggers charge
// every append, checkQuota reads the row and compares it with a limit)
// and one with them off (triggers dropped, no check), take turns, so a
// shared machine's load hits both alike. "single" is one durable
// one-message transaction (what an IMAP APPEND waits for, WAL fsync
// included); "batch100" appends 100 messages per transaction, where the
// fsync is shared and the CPU cost shows. It reports the median time of
// one append on each side and their ratio.
func BenchmarkAppendQuota(b *testing.B) {
	for _, tc := range []struct {
		name string
		n    int
	}{{"single", 1}, {"batch100", 100}} {
		b.Run(tc.name, func(b *testing.B) {
			ctx := context.Background()
			on, onBox := emptyStore(b)
			mb, err := on.MailboxByID(ctx, onBox)
			if err != nil {
				b.Fatal(err)
			}
			if err := on.SetQuotaLimits(ctx, mb.AccountID, store.QuotaLimits{Storage: 1 << 50, Messages: 1 << 40}); err != nil {
				b.Fatal(err)
			}
			off, offBox := emptyStore(b)
			if err := off.write(ctx, func(t *wtx) error {
				_, err := t.exec(`DROP TRIGGER quotas_charge; DROP TRIGGER quotas_release`)
				return err
			}); err != nil {
				b.Fatal(err)
			}
			off.SetQuotaEnforced(false)
			var onT, offT []time.Duration
			i := 0
			appendOne := func(s *Store, box int64, times *[]time.Duration) {
				msgs := make([]store.NewMessage, tc.n)
				for j := range msgs {
					i++
					msgs[j] = benchMsg(i)
				}
				t0 := time.Now()
				if _, _, err := s.AppendMessages(ctx, box, msgs); err != nil {
					b.Fatal(err)
				}
				*times = append(*times, time.Since(t0)/time.Duration(tc.n))
			}
			for range 20 { // warm up both
				appendOne(on, onBox, &onT)
				appendOne(off, offBox, &offT)
			}
			onT, offT = nil, nil
			b.ResetTimer()
			for k := 0; k < b.N; k++ {
				if k%2 == 0 {
					appendOne(off, offBox, &offT)
					appendOne(on, onBox, &onT)
				} else {
					appendOne(on, onBox, &onT)
					appendOne(off, offBox, &offT)
				}
			}
			b.StopTimer()
			med := func(d []time.Duration) float64 {
				slices.Sort(d)
				return float64(d[len(d)/2].Nanoseconds()) / 1000
			}
			mOn, mOff := med(onT), med(offT)
			b.ReportMetric(mOff, "off-µs/msg")
			b.ReportMetric(mOn, "on-µs/msg")
			b.ReportMetric(mOn/mOff, "on/off")
			// The quota-on store's usage is right: nothing was lost.
			q, err := on.Quota(ctx, mb.AccountID)
			if err != nil || q.Usage.Messages != int64((20+b.N)*tc.n) {
				b.Fatalf("usage %+v, %v; want %d messages", q, err, (20+b.N)*tc.n)
			}
			// ... and the quota-off store really charged nothing.
			offMB, _ := off.MailboxByID(ctx, offBox)
			if q, err := off.Quota(ctx, offMB.AccountID); err != nil || q.Usage.Messages != 0 {
				b.Fatalf("quota-off store charged %+v, %v", q, err)
			}
		})
	}
}
