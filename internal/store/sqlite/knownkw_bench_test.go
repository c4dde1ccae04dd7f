package sqlite

import (
	"context"
	"testing"

	"barid/internal/store"
)

// BenchmarkAppendKeyword is one delivery with a keyword the mailbox
// already has (a Sieve script's addflag "$Bench" on every message): its
// spelling is known without a lookup in the writer's transaction.
func BenchmarkAppendKeyword(b *testing.B) {
	s, mb := emptyStore(b)
	ctx := context.Background()
	flags := store.FlagsFromNames([]string{"$Bench"})
	b.ResetTimer()
	cpu := cpuNow()
	for i := 0; i < b.N; i++ {
		m := benchMsg(i)
		m.Flags = flags
		if _, _, err := s.AppendMessages(ctx, mb, []store.NewMessage{m}); err != nil {
			b.Fatal(err)
		}
	}
	reportCPU(b, cpu, 1, "op")
}

// BenchmarkAppendKeywordParallel is BenchmarkAppendKeyword from 8
// goroutines: group commit puts several in one transaction.
func BenchmarkAppendKeywordParallel(b *testing.B) {
	s, mb := emptyStore(b)
	ctx := context.Background()
	flags := store.FlagsFromNames([]string{"$Bench"})
	b.SetParallelism(8)
	b.ResetTimer()
	cpu := cpuNow()
	defer reportCPU(b, cpu, 1, "op")
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			i++
			m := benchMsg(i)
			m.Flags = flags
			if _, _, err := s.AppendMessages(ctx, mb, []store.NewMessage{m}); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
