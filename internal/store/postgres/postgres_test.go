package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"barid/internal/store"
	"barid/internal/store/postgres/pgtest"
	"barid/internal/store/storetest"
)

// opener returns an open function for storetest: each *testing.T gets
// its own database (pgtest), and opening again with the same T reopens
// it.
func opener() func(t *testing.T) store.Store {
	var mu sync.Mutex
	dbs := map[*testing.T]string{}
	return func(t *testing.T) store.Store {
		mu.Lock()
		u, ok := dbs[t]
		mu.Unlock()
		if !ok {
			u = pgtest.Database(t)
			mu.Lock()
			dbs[t] = u
			mu.Unlock()
		}
		s, err := Open(context.Background(), u, Options{})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
}

func TestConformance(t *testing.T) {
	storetest.Run(t, opener())
}

func openDB(t *testing.T, u string) *Store {
	t.Helper()
	s, err := Open(context.Background(), u, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestMigrateRace starts several nodes on one empty database at once:
// pg_advisory_xact_lock lets one create the schema while the others
// wait and then find it done. Without the lock, concurrent CREATE TABLEs
// fail on duplicate catalog rows.
func TestMigrateRace(t *testing.T) {
	u := pgtest.Database(t)
	const nodes = 6
	var wg sync.WaitGroup
	errs := make([]error, nodes)
	stores := make([]*Store, nodes)
	for i := range nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			stores[i], errs[i] = Open(context.Background(), u, Options{})
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("node %d: %v", i, err)
			continue
		}
		stores[i].Close()
	}
	s := openDB(t, u)
	var v int
	if err := s.pool.QueryRow(context.Background(), `SELECT version FROM barid_schema`).Scan(&v); err != nil {
		t.Fatal(err)
	}
	var rows int
	if err := s.pool.QueryRow(context.Background(), `SELECT count(*) FROM barid_schema`).Scan(&rows); err != nil {
		t.Fatal(err)
	}
	if v != len(migrations) || rows != 1 {
		t.Fatalf("schema version %d in %d rows, want %d in 1", v, rows, len(migrations))
	}
}

// TestNewerSchemaRefused: a binary must not run on a schema a newer
// binary migrated.
func TestNewerSchemaRefused(t *testing.T) {
	u := pgtest.Database(t)
	s := openDB(t, u)
	if _, err := s.pool.Exec(context.Background(), `UPDATE barid_schema SET version = $1`, len(migrations)+1); err != nil {
		t.Fatal(err)
	}
	_, err := Open(context.Background(), u, Options{})
	if err == nil {
		t.Fatal("Open accepted a newer schema")
	}
	if want := fmt.Sprintf("version %d is newer", len(migrations)+1); !strings.Contains(err.Error(), want) {
		t.Fatalf("error %q does not say %q", err, want)
	}
}

// TestTwoNodesAppend is the scale-out invariant: two Store instances
// (two nodes, each with its own pool) and several goroutines on each
// append to one mailbox at once, while readers on both nodes watch it.
// Every UID must be handed out once, each writer's UIDs must grow, and
// visibility must follow commit order: whenever a reader sees UID u, it
// sees every UID below u (no append fails here, so the visible set is
// always exactly 1..n), and the modseqs grow with the UIDs. A UID
// allocated before commit (a sequence, or UIDNEXT read outside the
// row lock) shows up here as a gap a later read fills, or as a
// duplicate.
func TestTwoNodesAppend(t *testing.T) {
	u := pgtest.Database(t)
	nodes := []*Store{openDB(t, u), openDB(t, u)}
	ctx := context.Background()
	a, err := nodes[0].CreateAccount(ctx, "user", nil)
	if err != nil {
		t.Fatal(err)
	}
	in, err := nodes[1].Mailbox(ctx, a.ID, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	const writersPerNode, perWriter = 4, 30
	var wg sync.WaitGroup
	var mu sync.Mutex
	var all []store.UID
	errc := make(chan error, 64)
	for n, s := range nodes {
		for w := range writersPerNode {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var last store.UID
				for i := range perWriter {
					batch := 1 + (i % 3) // single and multi-message appends
					msgs := make([]store.NewMessage, batch)
					for j := range msgs {
						msgs[j] = store.NewMessage{BlobID: fmt.Sprintf("n%dw%di%dj%d", n, w, i, j), Size: 10,
							InternalDate: time.Unix(1700000000, 0)}
					}
					uids, ch, err := s.AppendMessages(ctx, in.ID, msgs)
					if err != nil {
						errc <- fmt.Errorf("node %d writer %d: %w", n, w, err)
						return
					}
					for j, u := range uids {
						if u <= last || (j > 0 && u != uids[j-1]+1) {
							errc <- fmt.Errorf("node %d writer %d: UIDs %v after %d", n, w, uids, last)
							return
						}
						if ch[j].ModSeq != ch[0].ModSeq {
							errc <- fmt.Errorf("one append, two modseqs: %+v", ch)
							return
						}
						last = u
					}
					mu.Lock()
					all = append(all, uids...)
					mu.Unlock()
				}
			}()
		}
	}
	done := make(chan struct{})
	var rwg sync.WaitGroup
	for n, s := range nodes {
		rwg.Add(1)
		go func() {
			defer rwg.Done()
			var seen store.UID
			var lastModSeq store.ModSeq
			for {
				select {
				case <-done:
					return
				default:
				}
				mb, uids, err := s.MessageUIDs(ctx, in.ID)
				if err != nil {
					errc <- err
					return
				}
				for i, u := range uids {
					if u != store.UID(i+1) {
						errc <- fmt.Errorf("reader on node %d: UID %d visible at position %d: a smaller UID is not yet visible", n, u, i)
						return
					}
				}
				if store.UID(len(uids)) < seen {
					errc <- fmt.Errorf("reader on node %d: %d messages visible after %d", n, len(uids), seen)
					return
				}
				if mb.UIDNext != store.UID(len(uids)+1) {
					errc <- fmt.Errorf("reader on node %d: UIDNEXT %d with %d messages in the same snapshot", n, mb.UIDNext, len(uids))
					return
				}
				if mb.HighestModSeq < lastModSeq {
					errc <- fmt.Errorf("reader on node %d: HIGHESTMODSEQ went back from %d to %d", n, lastModSeq, mb.HighestModSeq)
					return
				}
				lastModSeq = mb.HighestModSeq
				seen = store.UID(len(uids))
				// UIDsAfter, what sessions call on a bus event, must not
				// skip what a later call would return.
				more, err := s.UIDsAfter(ctx, in.ID, seen)
				if err != nil {
					errc <- err
					return
				}
				for i, u := range more {
					if u != seen+store.UID(i+1) {
						errc <- fmt.Errorf("reader on node %d: UIDsAfter(%d) = %v has a gap", n, seen, more)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(done)
	rwg.Wait()
	close(errc)
	for err := range errc {
		t.Error(err)
	}
	if t.Failed() {
		return
	}
	slices.Sort(all)
	for i, u := range all {
		if u != store.UID(i+1) {
			t.Fatalf("UIDs handed out are not 1..%d: position %d has %d", len(all), i, u)
		}
	}
	// Modseqs grow with UIDs (each append got the next one).
	var prevUID store.UID
	var prevMod store.ModSeq
	err = nodes[0].FetchMessages(ctx, in.ID, all, store.FieldFlags, func(m *store.Message) error {
		if m.ModSeq < prevMod || (m.ModSeq == prevMod && m.UID != prevUID+1) {
			return fmt.Errorf("UID %d has modseq %d after UID %d with %d", m.UID, m.ModSeq, prevUID, prevMod)
		}
		prevUID, prevMod = m.UID, m.ModSeq
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	st, err := nodes[1].MailboxStatus(ctx, in.ID)
	if err != nil {
		t.Fatal(err)
	}
	if int(st.Messages) != len(all) || st.Mailbox.HighestModSeq != store.ModSeq(1+writersPerNode*len(nodes)*perWriter) {
		t.Fatalf("status %+v, want %d messages and HIGHESTMODSEQ %d", st, len(all), 1+writersPerNode*len(nodes)*perWriter)
	}
}

// TestTwoNodesFlagsAndExpunge: STORE, EXPUNGE and MOVE from two nodes at
// once keep the counters exact and every modseq unique per mailbox.
func TestTwoNodesFlagsAndExpunge(t *testing.T) {
	u := pgtest.Database(t)
	nodes := []*Store{openDB(t, u), openDB(t, u)}
	ctx := context.Background()
	a, err := nodes[0].CreateAccount(ctx, "user", nil)
	if err != nil {
		t.Fatal(err)
	}
	in, _ := nodes[0].Mailbox(ctx, a.ID, "INBOX")
	other, _, err := nodes[1].CreateMailbox(ctx, a.ID, "Other", "")
	if err != nil {
		t.Fatal(err)
	}
	msgs := make([]store.NewMessage, 200)
	for i := range msgs {
		msgs[i] = store.NewMessage{BlobID: fmt.Sprintf("b%d", i), Size: 10}
	}
	uids, _, err := nodes[0].AppendMessages(ctx, in.ID, msgs)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errc := make(chan error, 16)
	var mu sync.Mutex
	modseqs := map[store.ModSeq]int{}
	record := func(ch []store.Change) {
		mu.Lock()
		defer mu.Unlock()
		seen := map[store.ModSeq]bool{}
		for _, c := range ch {
			if c.MailboxID == in.ID && !seen[c.ModSeq] {
				seen[c.ModSeq] = true
				modseqs[c.ModSeq]++
			}
		}
	}
	for w := range 4 {
		s := nodes[w%2]
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(uids); i += 4 {
				_, _, ch, err := s.StoreFlags(ctx, in.ID, []store.UID{uids[i]}, store.FlagsAdd,
					store.FlagsFromNames([]string{`\Seen`, `\Deleted`, "kw"}), 0)
				if err != nil {
					errc <- err
					return
				}
				record(ch)
				ch = nil
				switch i % 3 {
				case 0:
					_, ch, err = s.Expunge(ctx, in.ID, []store.UID{uids[i]})
				case 1:
					_, ch, err = s.MoveMessages(ctx, in.ID, []store.UID{uids[i]}, other.ID)
				}
				if err != nil {
					errc <- err
					return
				}
				record(ch)
			}
		}()
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Fatal(err)
	}
	for m, n := range modseqs {
		if n > 1 {
			t.Errorf("modseq %d given to %d different writes", m, n)
		}
	}
	st, err := nodes[1].MailboxStatus(ctx, in.ID)
	if err != nil {
		t.Fatal(err)
	}
	left := 0
	for i := range uids {
		if i%3 == 2 {
			left++
		}
	}
	if int(st.Messages) != left || st.Unseen != 0 || int(st.Deleted) != left || st.Size != int64(10*left) {
		t.Fatalf("INBOX status %+v, want %d messages all seen and deleted", st, left)
	}
	if want := store.ModSeq(1 + 1 + len(modseqs)); st.Mailbox.HighestModSeq != want {
		t.Fatalf("HIGHESTMODSEQ %d, want %d (append + %d writes)", st.Mailbox.HighestModSeq, want, len(modseqs))
	}
	gone, err := nodes[0].ExpungedSince(ctx, in.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(gone) != len(uids)-left {
		t.Fatalf("%d tombstones, want %d", len(gone), len(uids)-left)
	}
}

// TestInlineSharedAcrossExpunge: identical inline bytes delivered to two
// mailboxes share one row, which goes with the last message naming it.
func TestInlineSharedAcrossExpunge(t *testing.T) {
	s := openDB(t, pgtest.Database(t))
	ctx := context.Background()
	a, _ := s.CreateAccount(ctx, "user", nil)
	in, _ := s.Mailbox(ctx, a.ID, "INBOX")
	other, _, _ := s.CreateMailbox(ctx, a.ID, "Other", "")
	nm := store.NewMessage{BlobID: "abc", Inline: []byte("hello"), Size: 5}
	u1, _, err := s.AppendMessages(ctx, in.ID, []store.NewMessage{nm})
	if err != nil {
		t.Fatal(err)
	}
	u2, _, err := s.AppendMessages(ctx, other.ID, []store.NewMessage{nm})
	if err != nil {
		t.Fatal(err)
	}
	has := func() bool {
		_, ok, err := s.OpenInline(ctx, "abc")
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	if !has() {
		t.Fatal("inline bytes missing after append")
	}
	if _, _, err := s.Expunge(ctx, in.ID, u1); err != nil {
		t.Fatal(err)
	}
	if !has() {
		t.Fatal("inline bytes dropped while another message names them")
	}
	if _, _, err := s.Expunge(ctx, other.ID, u2); err != nil {
		t.Fatal(err)
	}
	if has() {
		t.Fatal("inline bytes kept after the last message went")
	}
	// Mailbox and account deletion drop them too.
	if _, _, err := s.AppendMessages(ctx, other.ID, []store.NewMessage{nm}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DeleteMailbox(ctx, a.ID, "Other"); err != nil {
		t.Fatal(err)
	}
	if has() {
		t.Fatal("inline bytes kept after DeleteMailbox")
	}
	if _, _, err := s.AppendMessages(ctx, in.ID, []store.NewMessage{nm}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteAccount(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	if has() {
		t.Fatal("inline bytes kept after DeleteAccount")
	}
	if n, err := s.SweepInline(ctx); err != nil || n != 0 {
		t.Fatalf("SweepInline = %d, %v; want nothing to sweep", n, err)
	}
	if _, err := s.pool.Exec(ctx, `INSERT INTO blobdata (id, data) VALUES ('orphan', 'x')`); err != nil {
		t.Fatal(err)
	}
	if n, err := s.SweepInline(ctx); err != nil || n != 1 {
		t.Fatalf("SweepInline = %d, %v; want the orphan", n, err)
	}
}

// TestInlineRace: one node keeps delivering the same inline bytes to one
// mailbox while another expunges the earlier copies from another: the
// bytes must exist whenever a message names them.
func TestInlineRace(t *testing.T) {
	u := pgtest.Database(t)
	n1, n2 := openDB(t, u), openDB(t, u)
	ctx := context.Background()
	a, _ := n1.CreateAccount(ctx, "user", nil)
	in, _ := n1.Mailbox(ctx, a.ID, "INBOX")
	other, _, _ := n1.CreateMailbox(ctx, a.ID, "Other", "")
	nm := store.NewMessage{BlobID: "same", Inline: []byte("same bytes"), Size: 10}
	for range 40 {
		var wg sync.WaitGroup
		var e1, e2 error
		uids, _, err := n2.AppendMessages(ctx, other.ID, []store.NewMessage{nm})
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(2)
		go func() { defer wg.Done(); _, _, e1 = n1.AppendMessages(ctx, in.ID, []store.NewMessage{nm}) }()
		go func() { defer wg.Done(); _, _, e2 = n2.Expunge(ctx, other.ID, uids) }()
		wg.Wait()
		if err := errors.Join(e1, e2); err != nil {
			t.Fatal(err)
		}
		if _, ok, err := n2.OpenInline(ctx, "same"); err != nil || !ok {
			t.Fatalf("inline bytes gone while INBOX names them (ok=%v, err=%v)", ok, err)
		}
		if _, _, err := n1.Expunge(ctx, in.ID, nil); err != nil {
			t.Fatal(err)
		}
		// Make room: expunge INBOX's copies (none \Deleted: nothing goes).
		mb, uids2, err := n1.MessageUIDs(ctx, in.ID)
		if err != nil || mb == nil {
			t.Fatal(err)
		}
		if _, _, err := n1.Expunge(ctx, in.ID, uids2); err != nil {
			t.Fatal(err)
		}
	}
}
