package imex

import (
	"context"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"barid/internal/blob/fs"
	"barid/internal/deliver"
	"barid/internal/notify"
	"barid/internal/store"
	"barid/internal/store/postgres"
	"barid/internal/store/postgres/pgtest"
	"barid/internal/store/sqlite"
)

// TestStoreCopyPrivateSeen: `barid store copy` carries each user's
// private \Seen on a shared folder (docs/sharing.md) with its modseqs,
// to SQLite and (with BARID_TEST_POSTGRES) to PostgreSQL: bob's and
// carol's rows on alice's Team arrive mapped to the target's accounts,
// the row of an expunged message does not, HIGHESTMODSEQ is the
// source's, a rerun changes nothing, and a copy of alice and bob only
// leaves carol's rows out.
func TestStoreCopyPrivateSeen(t *testing.T) {
	targets := map[string]func(t *testing.T) store.Store{
		"sqlite": func(t *testing.T) store.Store {
			s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "dst.db"), sqlite.Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		},
		"postgres": func(t *testing.T) store.Store {
			s, err := postgres.Open(context.Background(), pgtest.Database(t), postgres.Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		},
	}
	for name, open := range targets {
		t.Run(name, func(t *testing.T) { testStoreCopyPrivateSeen(t, open) })
	}
}

func testStoreCopyPrivateSeen(t *testing.T, openDst func(t *testing.T) store.Store) {
	ctx := context.Background()
	dir := t.TempDir()
	src, err := sqlite.Open(ctx, filepath.Join(dir, "barid.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	srcBlobs, err := fs.Open(filepath.Join(dir, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	d := &deliver.Deliverer{Store: src, Blobs: srcBlobs, Bus: notify.New(), InlineMax: 4096}
	noErr := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	var accts [3]*store.Account
	for i, n := range []string{"alice", "bob", "carol"} {
		accts[i], err = src.CreateAccount(ctx, n, []byte("secret-"+n))
		noErr(err)
	}
	alice, bob, carol := accts[0], accts[1], accts[2]
	team, _, err := src.CreateMailbox(ctx, alice.ID, "Team", "")
	noErr(err)
	for i := range 5 {
		_, err := d.Deliver(ctx, team.ID, strings.NewReader("Subject: m\r\n\r\nbody\r\n"), 0, store.Flags{}, time.Unix(1700000000+int64(i), 0))
		noErr(err)
	}
	noErr(src.SetACL(ctx, team.ID, "anyone", "lrs"))
	for _, step := range []struct {
		who  int64
		uids []store.UID
		seen bool
	}{{bob.ID, []store.UID{1, 2, 3}, true}, {carol.ID, []store.UID{5}, true}, {bob.ID, []store.UID{2}, false}, {carol.ID, []store.UID{1}, true}} {
		_, err := src.SetPrivateSeen(ctx, team.ID, step.who, step.uids, step.seen)
		noErr(err)
	}
	_, _, err = src.Expunge(ctx, team.ID, []store.UID{3})
	noErr(err)

	dst := openDst(t)
	copier := &StoreCopier{Src: src, SrcBlobs: srcBlobs, SrcInline: src, Dst: dst, DstFiles: srcBlobs, DstInlineMax: 4096}
	st, err := copier.Run(ctx, nil)
	noErr(err)
	if n := st.Extras["private \\Seen rows"]; n != 4 {
		t.Errorf("copied %d private \\Seen rows, want 4 (bob 1, 2; carol 1, 5): %+v", n, st.Extras)
	}
	dAlice, err := dst.Account(ctx, "alice")
	noErr(err)
	dTeam, err := dst.Mailbox(ctx, dAlice.ID, "Team")
	noErr(err)
	srcTeam, err := src.MailboxByID(ctx, team.ID)
	noErr(err)
	if dTeam.HighestModSeq != srcTeam.HighestModSeq {
		t.Errorf("HIGHESTMODSEQ %d, source %d", dTeam.HighestModSeq, srcTeam.HighestModSeq)
	}
	compare := func(what string) {
		t.Helper()
		for _, u := range []*store.Account{bob, carol} {
			du, err := dst.Account(ctx, u.Name)
			noErr(err)
			got, err := dst.(store.PrivateSeenStore).PrivateSeen(ctx, dTeam.ID, du.ID)
			noErr(err)
			exp, err := src.PrivateSeen(ctx, team.ID, u.ID)
			noErr(err)
			if len(exp) != 2 || !reflect.DeepEqual(got, exp) {
				t.Errorf("%s: %s's rows on the target %+v, source %+v", what, u.Name, got, exp)
			}
		}
	}
	compare("first run")
	st, err = copier.Run(ctx, nil)
	noErr(err)
	if st.Messages != 0 || st.MailboxesSkipped == 0 {
		t.Errorf("rerun copied again: %+v", st)
	}
	compare("rerun")

	// alice and bob only, to a fresh target: carol's rows stay behind.
	dst2 := openDst(t)
	copier.Dst = dst2
	dst = dst2
	st, err = copier.Run(ctx, []string{"alice", "bob"})
	noErr(err)
	if n := st.Extras["private \\Seen rows"]; n != 2 {
		t.Errorf("alice and bob only: %d rows, want bob's 2", n)
	}
	if _, err := dst.Account(ctx, "carol"); err == nil {
		t.Fatal("carol was copied")
	}
	dAlice, err = dst.Account(ctx, "alice")
	noErr(err)
	dTeam, err = dst.Mailbox(ctx, dAlice.ID, "Team")
	noErr(err)
	all, err := dst.(store.PrivateSeenCopier).AllPrivateSeen(ctx, dTeam.ID)
	noErr(err)
	if len(all) != 2 {
		t.Errorf("target rows %+v, want bob's two", all)
	}
}
