package fts_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"barid/internal/blob"
	"barid/internal/blob/fs"
	"barid/internal/blob/tiered"
	"barid/internal/deliver"
	"barid/internal/fts"
	"barid/internal/mail/mime"
	"barid/internal/notify"
	"barid/internal/store"
	"barid/internal/store/postgres"
	"barid/internal/store/postgres/pgtest"
)

// opens counts how often each blob is opened across nodes: an indexer
// opens a content's bytes once per extraction.
type opens struct {
	mu sync.Mutex
	n  map[string]int
}

func (o *opens) get(id string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.n[id]
}

// countingBlobs is one node's blob store, counting its opens in o.
type countingBlobs struct {
	blob.Store
	o *opens
}

func (c countingBlobs) Open(ctx context.Context, id string) (blob.Reader, error) {
	c.o.mu.Lock()
	c.o.n[id]++
	c.o.mu.Unlock()
	return c.Store.Open(ctx, id)
}

// TestTwoNodesIndexOnce: two nodes on one PostgreSQL database and one
// blob folder index the same backlog at the same time, and every
// content is extracted exactly once (the claims of ClaimTextPending);
// then a node claims a batch and dies before indexing it, and the other
// node picks those contents up once the claim lapses, not before.
func TestTwoNodesIndexOnce(t *testing.T) {
	u := pgtest.Database(t)
	ctx := context.Background()
	files, err := fs.Open(filepath.Join(t.TempDir(), "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	count := &opens{n: map[string]int{}}
	var nodes [2]*postgres.Store
	var ixs [2]*fts.Indexer
	for i := range nodes {
		st, err := postgres.Open(ctx, u, postgres.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		nodes[i] = st
		ixs[i] = fts.New(st, countingBlobs{tiered.New(st, files), count}, nil)
		ixs[i].Batch = 4
	}
	acc, err := nodes[0].CreateAccount(ctx, "alice", nil)
	if err != nil {
		t.Fatal(err)
	}
	mb, err := nodes[0].Mailbox(ctx, acc.ID, "INBOX")
	if errors.Is(err, store.ErrNoMailbox) {
		mb, _, err = nodes[0].CreateMailbox(ctx, acc.ID, "INBOX", "")
	}
	if err != nil {
		t.Fatal(err)
	}
	// Deliveries through both nodes; half large enough for the blob
	// folder, half inline in PostgreSQL.
	send := func(from, to int) []store.UID {
		var uids []store.UID
		for i := from; i < to; i++ {
			st := nodes[i%2]
			d := &deliver.Deliverer{Store: st, Blobs: tiered.New(st, files), Bus: notify.New(), Limits: mime.DefaultLimits()}
			body := strings.Repeat(fmt.Sprintf("line %d of message %d\r\n", i, i), 1+(i%2)*4000)
			msg := fmt.Sprintf("From: a@example.org\r\nSubject: m%d\r\n\r\nneedle%d\r\n%s", i, i, body)
			res, err := d.Deliver(ctx, mb.ID, strings.NewReader(msg), 0, store.Flags{}, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			uids = append(uids, res)
		}
		return uids
	}
	const n = 60
	send(0, n)
	status := func() store.TextIndexStatus {
		st, err := nodes[0].TextIndexStatus(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	if st := status(); st.Pending != n {
		t.Fatalf("pending %d, want %d", st.Pending, n)
	}
	var wg sync.WaitGroup
	done := [2]int{}
	errs := [2]error{}
	for i := range ixs {
		wg.Go(func() { done[i], errs[i] = ixs[i].CatchUp(ctx, 0, nil) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("node %d: %v", i, err)
		}
	}
	if st := status(); st.Pending != 0 || st.Indexed != n || done[0]+done[1] != n {
		t.Fatalf("after both catch-ups: %+v, indexed %d + %d, want %d", st, done[0], done[1], n)
	}
	count.mu.Lock()
	total := 0
	for id, k := range count.n {
		total += k
		if k != 1 {
			t.Errorf("content %s extracted %d times", id, k)
		}
	}
	count.mu.Unlock()
	if total != n {
		t.Fatalf("%d extractions, want %d", total, n)
	}
	t.Logf("node 0 indexed %d, node 1 %d", done[0], done[1])

	// Node 1 claims a batch and dies (never indexes it): node 0 leaves
	// those contents alone while the claim lasts, and indexes them
	// after it lapses. The clock is node 0's Now, moved past the lease.
	send(n, n+6)
	dead, err := nodes[1].ClaimTextPending(ctx, "dead-node", time.Now(), time.Minute, 0, 4)
	if err != nil || len(dead) != 4 {
		t.Fatalf("dead node's claim: %+v, %v", dead, err)
	}
	got, err := ixs[0].CatchUp(ctx, 0, nil)
	if err != nil || got != 2 {
		t.Fatalf("catch-up during the dead node's claim: %d, %v; want the 2 unclaimed", got, err)
	}
	for _, p := range dead {
		if c := count.get(p.BlobID); c != 0 {
			t.Fatalf("claimed content %s extracted %d times during the claim", p.BlobID, c)
		}
	}
	ixs[0].Now = func() time.Time { return time.Now().Add(time.Minute + time.Second) }
	got, err = ixs[0].CatchUp(ctx, 0, nil)
	if err != nil || got != 4 {
		t.Fatalf("catch-up after the claim lapsed: %d, %v; want 4", got, err)
	}
	for _, p := range dead {
		if c := count.get(p.BlobID); c != 1 {
			t.Fatalf("claimed content %s extracted %d times after the lapse, want 1", p.BlobID, c)
		}
	}
	if st := status(); st.Pending != 0 || st.Indexed != n+6 {
		t.Fatalf("at the end: %+v", st)
	}
	// The index answers for the late ones too.
	maybe, sure, err := nodes[0].TextLookup(ctx, mb.ID, fmt.Sprintf("needle%d", n+5), true)
	if err != nil || len(sure) != 1 || len(maybe) != 1 {
		t.Fatalf("lookup of the last message: %v %v %v", maybe, sure, err)
	}
}
