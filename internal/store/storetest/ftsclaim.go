package storetest

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"barid/internal/store"
)

// testTextClaim: ClaimTextPending hands each pending content to one
// owner at a time. Another owner's live claim hides a content from a
// claim (never from TextPending or a search); the owner's own claims
// come back; a lapsed claim is taken over; IndexText ends a claim with
// its entry; the account filter holds. Then claimers racing on the
// same list from several goroutines (on PostgreSQL, several pool
// connections: as two nodes would) get disjoint sets that cover it.
func testTextClaim(t *testing.T, open func(t *testing.T) store.Store) {
	s := openClosed(t, open)
	ti, ok := s.(store.TextIndexer)
	if !ok {
		t.Skip("store has no text index")
	}
	ctx := context.Background()
	a, in := setup(t, s)
	msgs := []store.NewMessage{msg(1), msg(2), msg(3), msg(4), msg(5)}
	_, _, err := s.AppendMessages(ctx, in.ID, msgs)
	noErr(t, err)
	now := time.UnixMilli(time.Now().UnixMilli())
	const lease = time.Minute
	claim := func(owner string, at time.Time, account int64, limit int) []string {
		t.Helper()
		ps, err := ti.ClaimTextPending(ctx, owner, at, lease, account, limit)
		noErr(t, err)
		var ids []string
		for _, p := range ps {
			if p.MailboxID != in.ID && account == 0 {
				t.Fatalf("claim %+v: not in INBOX", p)
			}
			ids = append(ids, p.BlobID)
		}
		slices.Sort(ids)
		return ids
	}
	all := make([]string, len(msgs))
	for i, m := range msgs {
		all[i] = m.BlobID
	}
	slices.Sort(all)

	a1 := claim("A", now, 0, 2)
	if len(a1) != 2 {
		t.Fatalf("A claimed %v, want 2 contents", a1)
	}
	b1 := claim("B", now, 0, 10)
	if len(b1) != 3 || slices.ContainsFunc(b1, func(id string) bool { return slices.Contains(a1, id) }) {
		t.Fatalf("B claimed %v beside A's %v, want the other 3", b1, a1)
	}
	if got := claim("C", now.Add(lease/2), 0, 10); len(got) != 0 {
		t.Fatalf("C claimed %v while A and B hold every content", got)
	}
	// The owner's own claims come back (what its batch left over).
	if got := claim("A", now.Add(time.Second), 0, 10); !slices.Equal(got, a1) {
		t.Fatalf("A claimed again %v, want its own %v", got, a1)
	}
	// Claims hide nothing from TextPending or a search.
	pend, err := ti.TextPending(ctx, 0, 100)
	noErr(t, err)
	if len(pend) != len(msgs) {
		t.Fatalf("TextPending with every content claimed: %+v", pend)
	}
	cands, err := ti.TextCandidates(ctx, in.ID, []string{"anything"})
	noErr(t, err)
	if len(cands) != len(msgs) {
		t.Fatalf("candidates with every content claimed: %v, want all %d", cands, len(msgs))
	}
	// B dies: once its lease lapses (after A's renewed one, which
	// lasts a second longer), C takes B's contents and not A's.
	if got := claim("C", now.Add(lease), 0, 10); !slices.Equal(got, b1) {
		t.Fatalf("C after B's lease: %v, want B's %v", got, b1)
	}
	// IndexText ends A's claims with their entries.
	var docs []store.TextDoc
	for _, id := range a1 {
		docs = append(docs, store.TextDoc{BlobID: id, Body: "indexed " + id[60:] + "\n"})
	}
	noErr(t, ti.IndexText(ctx, docs))
	if got := claim("D", now.Add(3*lease), 0, 10); !slices.Equal(got, b1) {
		t.Fatalf("D after every lease: %v, want the unindexed %v", got, b1)
	}
	// The account filter: another account's content is not claimed
	// for this one, and vice versa.
	o := must[*store.Account](t)(s.CreateAccount(ctx, "claims@example.org", nil))
	obox := inbox(t, s, o.ID)
	_, _, err = s.AppendMessages(ctx, obox.ID, []store.NewMessage{msg(9)})
	noErr(t, err)
	if got := claim("E", now.Add(5*lease), a.ID, 10); !slices.Equal(got, b1) {
		t.Fatalf("E for account %d: %v, want %v", a.ID, got, b1)
	}
	ps, err := ti.ClaimTextPending(ctx, "F", now.Add(5*lease), lease, o.ID, 10)
	noErr(t, err)
	if len(ps) != 1 || ps[0].MailboxID != obox.ID || ps[0].BlobID != msg(9).BlobID {
		t.Fatalf("F for account %d: %+v", o.ID, ps)
	}

	// Racing claimers: 40 new contents, 4 owners claiming 3 at a time
	// until nothing is left; every content claimed exactly once.
	race := mkbox(t, s, a.ID, "Race")
	var fresh []store.NewMessage
	for i := range 40 {
		m := msg(100 + i)
		m.BlobID = fmt.Sprintf("race%060d", i)
		fresh = append(fresh, m)
	}
	_, _, err = s.AppendMessages(ctx, race.ID, fresh)
	noErr(t, err)
	at := now.Add(time.Hour) // every earlier claim has lapsed: those go too
	var mu sync.Mutex
	got := map[string]string{}
	var wg sync.WaitGroup
	errc := make(chan error, 4)
	for w := range 4 {
		owner := fmt.Sprintf("racer%d", w)
		wg.Go(func() {
			for {
				ps, err := ti.ClaimTextPending(ctx, owner, at, lease, 0, 3)
				if err != nil {
					errc <- err
					return
				}
				mu.Lock()
				fresh := 0
				for _, p := range ps {
					if prev, dup := got[p.BlobID]; dup && prev != owner {
						mu.Unlock()
						errc <- fmt.Errorf("%s claimed by %s and %s", p.BlobID, prev, owner)
						return
					} else if !dup {
						fresh++
					}
					got[p.BlobID] = owner
				}
				mu.Unlock()
				if fresh == 0 {
					return // only its own claims left, or nothing
				}
				// Index what was claimed, as an indexer would, so that
				// the next claim moves on.
				var docs []store.TextDoc
				for _, p := range ps {
					docs = append(docs, store.TextDoc{BlobID: p.BlobID, Body: "raced\n"})
				}
				if err := ti.IndexText(ctx, docs); err != nil {
					errc <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Fatal(err)
	}
	for _, m := range fresh {
		if got[m.BlobID] == "" {
			t.Fatalf("%s never claimed (claimed: %d)", m.BlobID, len(got))
		}
	}
	st, err := ti.TextIndexStatus(ctx)
	noErr(t, err)
	if st.Pending != 0 {
		t.Fatalf("status after the race %+v, want nothing pending", st)
	}
}
