package filter_test

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"barid/internal/filter"
	"barid/internal/store"
	"barid/internal/store/postgres"
	"barid/internal/store/postgres/pgtest"
	"barid/internal/store/sqlite"
	"barid/internal/testkit"
)

// TestOutboxTwoNodesSendOnce: two outboxes (two nodes: on PostgreSQL
// each with its own connection pool to one database) send from one
// spool at the same time; each queued message reaches the smarthost
// once, because only the node that claimed it sends it.
func TestOutboxTwoNodesSendOnce(t *testing.T) {
	ctx := context.Background()
	backends := map[string]func(t *testing.T) [2]store.SieveScripts{
		"sqlite": func(t *testing.T) [2]store.SieveScripts {
			st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "meta.db"), sqlite.Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			return [2]store.SieveScripts{st, st}
		},
		"postgres": func(t *testing.T) [2]store.SieveScripts {
			url := pgtest.Database(t)
			var out [2]store.SieveScripts
			for i := range out {
				st, err := postgres.Open(ctx, url, postgres.Options{})
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { st.Close() })
				out[i] = st
			}
			return out
		},
	}
	for name, open := range backends {
		t.Run(name, func(t *testing.T) {
			stores := open(t)
			sink := testkit.StartSink(t, nil)
			const msgs = 6
			for i := range msgs {
				if _, err := stores[0].QueueOutgoing(ctx, &store.OutgoingMail{Kind: "redirect", From: "a@example.net",
					To: []string{"b@example.com"}, Data: []byte("Subject: " + string(rune('a'+i)) + "\r\n\r\nx\r\n"), NextTry: time.Now()}); err != nil {
					t.Fatal(err)
				}
			}
			var wg sync.WaitGroup
			sent := make([]int, 2)
			for n := range 2 {
				ob := filter.NewOutbox(filter.Outbox{Store: stores[n], Addr: sink.Addr, Hostname: "node"})
				wg.Add(1)
				go func() {
					defer wg.Done()
					sent[n] = ob.RunOnce(ctx)
				}()
			}
			wg.Wait()
			if sent[0]+sent[1] != msgs {
				t.Fatalf("sent %d+%d, want %d in all", sent[0], sent[1], msgs)
			}
			got := sink.Messages()
			seen := map[string]bool{}
			for _, m := range got {
				k := string(m.Data)
				if seen[k] {
					t.Fatalf("sent twice: %q", k)
				}
				seen[k] = true
			}
			if len(got) != msgs {
				t.Fatalf("sink got %d messages, want %d", len(got), msgs)
			}
			if due, err := stores[1].DueOutgoing(ctx, time.Now().Add(time.Hour), 10); err != nil || len(due) != 0 {
				t.Fatalf("spool after sending: %v %+v", err, due)
			}
		})
	}
}
