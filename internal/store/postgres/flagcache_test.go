package postgres

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"barid/internal/notify"
	"barid/internal/store"
)

// TestFlagCacheCrossNode: node A answers FETCH FLAGS from its flag
// cache, and every answer equals what PostgreSQL holds at that moment,
// right after each of node B's STOREs, EXPUNGEs and APPENDs (no wait
// besides A's barrier) and after A's own. A fetch with nothing changed
// since, or after A's own write, sends no statement on A's pool; one
// after B's write reads only what changed. Without a listener the cache
// is not used.
func TestFlagCacheCrossNode(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	u, a, tr, b, _, mb := tracedNodes(t, "alice", []byte("x"), "X")
	truth := openDB(t, u) // not listening: reads PostgreSQL
	var batch []store.NewMessage
	for i := range 10 {
		batch = append(batch, msg(fmt.Sprint("m", i)))
	}
	if _, _, err := b.AppendMessages(ctx, mb.ID, batch); err != nil {
		t.Fatal(err)
	}
	const fields = store.FieldFlags | store.FieldSize
	fetch := func(s *Store) string {
		t.Helper()
		var out string
		uids := make([]store.UID, 0, 40)
		for u := store.UID(1); u <= 40; u++ {
			uids = append(uids, u)
		}
		if err := s.FetchMessages(ctx, mb.ID, uids, fields, func(m *store.Message) error {
			out += fmt.Sprintf("%d:%d:%v:%d ", m.UID, m.ModSeq, m.Flags.Names(), m.Size)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		return out
	}
	// Without a listener: PostgreSQL each time.
	fetch(a)
	if n, _ := tr.take(); n != 1 {
		t.Fatalf("without a listener, a fetch made %d statements, want 1", n)
	}
	listening := make(chan struct{}, 4)
	startListener(t, a, notify.New(), ListenOptions{Poll: time.Hour, OnListen: func(uint32) { listening <- struct{}{} }})
	<-listening
	check := func(step string, wantStmts int) {
		t.Helper()
		tr.take()
		got, want := fetch(a), fetch(truth)
		if got != want {
			t.Fatalf("%s: node A answered\n%s\nPostgreSQL holds\n%s", step, got, want)
		}
		if n, st := tr.take(); wantStmts >= 0 && n != wantStmts {
			t.Fatalf("%s: node A's fetch made %d statements %q, want %d", step, n, st, wantStmts)
		}
	}
	check("load", 1)
	check("unchanged", 0)
	r := rand.New(rand.NewPCG(1, 2))
	flags := []string{`\Seen`, `\Flagged`, `\Answered`, `$label1`}
	for i := range 40 {
		w, who := b, "B"
		if i%3 == 2 {
			w, who = a, "A"
		}
		var err error
		op := r.IntN(4)
		u := store.UID(1 + r.IntN(10+i/2))
		switch op {
		case 0, 1:
			fo := store.FlagsAdd
			if op == 1 {
				fo = store.FlagsRemove
			}
			_, _, _, err = w.StoreFlags(ctx, mb.ID, []store.UID{u, u + 1}, fo, store.FlagsFromNames([]string{flags[r.IntN(len(flags))]}), 0)
		case 2:
			_, _, err = w.Expunge(ctx, mb.ID, []store.UID{u})
		case 3:
			_, _, err = w.AppendMessages(ctx, mb.ID, []store.NewMessage{msg(fmt.Sprint("n", i))})
		}
		if err != nil {
			t.Fatal(err)
		}
		want := -1 // B's write: a delta read (or none if it changed nothing)
		if who == "A" && op != 3 {
			// A's own STORE or EXPUNGE applied in memory (an APPEND
			// may have a keyword spelling to register first, so its
			// count is not checked).
			want = 0
		}
		check(fmt.Sprintf("step %d: %s op %d on UID %d", i, who, op, u), want)
		check(fmt.Sprintf("step %d: again", i), 0)
	}
}
