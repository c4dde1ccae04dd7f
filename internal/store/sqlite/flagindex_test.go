package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"reflect"
	"sync"
	"testing"
	"time"
	"unsafe"

	"modernc.org/libc"
	lib "modernc.org/sqlite/lib"

	"barid/internal/store"
)

// The flag index equals the database after concurrent appends, flag
// changes, expunges and copies, while readers keep loading it and it is
// dropped and reloaded under them.
func TestFlagIndexConcurrent(t *testing.T) {
	ctx := context.Background()
	s, inbox, _ := openInbox(t, "", Options{FlagIndexMin: 1}, nil)
	other, _, err := s.CreateMailbox(ctx, inbox.AccountID, "Other", "")
	if err != nil {
		t.Fatal(err)
	}
	boxes := []int64{inbox.ID, other.ID}
	msg := func(i int) store.NewMessage {
		return store.NewMessage{BlobID: fmt.Sprintf("%064x", i), Size: int64(100 + i)}
	}
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for w := range 6 {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(w), 9))
			for i := range 300 {
				mb := boxes[r.IntN(2)]
				_, uids, err := s.MessageUIDs(ctx, mb)
				if err != nil {
					errs <- err
					return
				}
				switch op := r.IntN(10); {
				case op < 3 || len(uids) == 0:
					_, _, err = s.AppendMessages(ctx, mb, []store.NewMessage{msg(w*1000 + i)})
				case op < 7:
					pick := uids[r.IntN(len(uids)):]
					pick = pick[:min(len(pick), 1+r.IntN(20))]
					f := store.Flags{System: store.SysFlags(1 << r.IntN(5))}
					if r.IntN(3) == 0 {
						f.Keywords = []string{fmt.Sprintf("$K%d", r.IntN(3))}
					}
					_, _, _, err = s.StoreFlags(ctx, mb, pick, store.FlagOp(r.IntN(3)), f, 0)
				case op < 8:
					_, _, err = s.Expunge(ctx, mb, uids[r.IntN(len(uids)):][:1])
				case op < 9:
					from := r.IntN(len(uids))
					_, _, err = s.CopyMessages(ctx, mb, uids[from:min(len(uids), from+1+r.IntN(4))], boxes[r.IntN(2)])
				default:
					_, _, err = s.MoveMessages(ctx, mb, uids[:1], boxes[r.IntN(2)])
				}
				if err != nil {
					errs <- err
					return
				}
				if r.IntN(20) == 0 {
					s.index.mu.Lock()
					s.index.drop(mb)
					s.index.mu.Unlock()
				}
			}
		})
	}
	for range 2 {
		wg.Go(func() {
			for range 400 {
				for _, mb := range boxes {
					// Reload constantly so loads race with commits.
					s.index.mu.Lock()
					s.index.drop(mb)
					s.index.mu.Unlock()
					_, uids, err := s.MessageUIDs(ctx, mb)
					if err == nil && len(uids) > 0 {
						err = s.FetchMessages(ctx, mb, uids, store.FieldFlags, func(*store.Message) error { return nil })
					}
					if err != nil {
						errs <- err
						return
					}
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for _, mb := range boxes { // make sure both are loaded and current
		if _, err := s.box(ctx, mb); err != nil {
			t.Fatal(err)
		}
	}
	n, err := s.VerifyFlagIndex(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		t.Fatal("no mailbox was indexed")
	}
}

// Changes committed while a mailbox loads are replayed onto the loaded
// copy, all of them: one command's changes share a modseq, so each one
// is compared with the snapshot's modseq, not with the copy's as it grows.
func TestFlagIndexReplaysCommitsDuringLoad(t *testing.T) {
	ctx := context.Background()
	msgs := tinyMessages(0, 10)
	s, mb, uids := openInbox(t, "", Options{FlagIndexMin: 1}, msgs)
	s.index.testAfterSnapshot = func() {
		s.index.testAfterSnapshot = nil
		// One command, one modseq, five changes; then an append.
		if _, _, _, err := s.StoreFlags(ctx, mb.ID, uids[2:7], store.FlagsAdd, store.Flags{System: store.FlagFlagged, Keywords: []string{"$Work"}}, 0); err != nil {
			t.Error(err)
		}
		if _, _, err := s.AppendMessages(ctx, mb.ID, msgs[:2]); err != nil {
			t.Error(err)
		}
	}
	if b, err := s.box(ctx, mb.ID); err != nil || b != nil {
		// The load is installed, but this call is answered from SQLite:
		// the mailbox changed while it loaded.
		t.Fatalf("box during a racing load = %v, %v", b, err)
	}
	b, err := s.box(ctx, mb.ID)
	if err != nil || b == nil {
		t.Fatalf("box after the load = %v, %v", b, err)
	}
	n, err := s.VerifyFlagIndex(ctx)
	if err != nil || n != 1 {
		t.Fatalf("verify: %d, %v", n, err)
	}
	flagged, err := s.SearchCriteria(ctx, mb.ID, &store.Criteria{Op: store.CritSysSet, Sys: store.FlagFlagged})
	if err != nil || len(flagged) != 5 {
		t.Fatalf("FLAGGED from the index: %v, %v", flagged, err)
	}
}

// A write from another process (here a second Store on the same file)
// never reaches this process's index; an in-process write that follows
// brings the index's modseq level with the database's again. The modseq
// gap gives it away: the index drops the mailbox rather than serve the
// other process's change as missing.
func TestFlagIndexOtherProcessWrite(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "barid.db")
	s, mb, uids := openInbox(t, path, Options{FlagIndexMin: 1}, tinyMessages(0, 4))
	other, err := Open(ctx, path, Options{FlagIndexEntries: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	flagsOf := func(u store.UID) store.SysFlags {
		t.Helper()
		var f store.SysFlags
		if err := s.FetchMessages(ctx, mb.ID, []store.UID{u}, store.FieldFlags, func(m *store.Message) error {
			f = m.Flags.System
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		return f
	}
	flagsOf(uids[0]) // loads the index
	if b, _ := s.box(ctx, mb.ID); b == nil {
		t.Fatal("mailbox not indexed")
	}
	if _, _, _, err := other.StoreFlags(ctx, mb.ID, uids[:1], store.FlagsAdd, store.Flags{System: store.FlagFlagged}, 0); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := s.StoreFlags(ctx, mb.ID, uids[1:2], store.FlagsAdd, store.Flags{System: store.FlagSeen}, 0); err != nil {
		t.Fatal(err)
	}
	if got := flagsOf(uids[0]); got != store.FlagFlagged {
		t.Errorf("UID %d flags %v after the other process flagged it", uids[0], got)
	}
	if got := flagsOf(uids[1]); got != store.FlagSeen {
		t.Errorf("UID %d flags %v", uids[1], got)
	}
	flagged, err := s.SearchCriteria(ctx, mb.ID, &store.Criteria{Op: store.CritSysSet, Sys: store.FlagFlagged})
	if err != nil || len(flagged) != 1 || flagged[0] != uids[0] {
		t.Errorf("FLAGGED = %v, %v", flagged, err)
	}
	if _, err := s.VerifyFlagIndex(ctx); err != nil {
		t.Error(err)
	}
}

// WarmFlags loads a mailbox in the background; a reader arriving during
// the load waits for it and is then served from the index instead of
// scanning SQLite alongside.
func TestFlagIndexWarmAndWait(t *testing.T) {
	ctx := context.Background()
	s, mb, _ := openInbox(t, "", Options{FlagIndexMin: 1}, tinyMessages(0, 20))
	release := make(chan struct{})
	inLoad := make(chan struct{})
	s.index.testAfterSnapshot = func() {
		close(inLoad)
		<-release
	}
	s.WarmFlags(mb.ID)
	<-inLoad // the warm-up is loading
	got := make(chan *boxFlags, 1)
	go func() {
		b, err := s.box(ctx, mb.ID)
		if err != nil {
			t.Error(err)
		}
		got <- b
	}()
	select {
	case <-got:
		t.Fatal("a reader did not wait for the load in progress")
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	if b := <-got; b == nil || len(b.uids) != 20 {
		t.Fatalf("after the load: %v", b)
	}
	s.index.testAfterSnapshot = nil
	if n, err := s.VerifyFlagIndex(ctx); err != nil || n != 1 {
		t.Fatalf("verify: %d, %v", n, err)
	}
}

// tinyMessages returns n minimal messages with distinct blob IDs from
// first on.
func tinyMessages(first, n int) []store.NewMessage {
	msgs := make([]store.NewMessage, n)
	for i := range msgs {
		msgs[i] = store.NewMessage{BlobID: fmt.Sprintf("%064x", first+i), Size: 10}
	}
	return msgs
}

// openInbox opens a store on path (a new file if empty), closed when the
// test ends, and returns it with a new account's INBOX holding msgs.
func openInbox(t testing.TB, path string, opts Options, msgs []store.NewMessage) (*Store, *store.Mailbox, []store.UID) {
	t.Helper()
	ctx := context.Background()
	if path == "" {
		path = filepath.Join(t.TempDir(), "barid.db")
	}
	s, err := Open(ctx, path, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	acct, err := s.CreateAccount(ctx, "test", nil)
	if err != nil {
		t.Fatal(err)
	}
	mb, err := s.Mailbox(ctx, acct.ID, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	var uids []store.UID
	if len(msgs) > 0 {
		if uids, _, err = s.AppendMessages(ctx, mb.ID, msgs); err != nil {
			t.Fatal(err)
		}
	}
	return s, mb, uids
}

// Past storage.flag_index_entries the least recently used mailboxes
// leave the index, an eighth of the cap at a time, and what stays is
// still exact.
func TestFlagIndexEvictsLeastRecentlyUsed(t *testing.T) {
	ctx := context.Background()
	// Cap 80 entries: four mailboxes of 20 fill it exactly.
	s, inbox, _ := openInbox(t, "", Options{FlagIndexMin: 1, FlagIndexEntries: 80}, tinyMessages(0, 20))
	boxes := []int64{inbox.ID}
	for i := range 4 {
		mb, _, err := s.CreateMailbox(ctx, inbox.AccountID, fmt.Sprintf("Box%d", i), "")
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.AppendMessages(ctx, mb.ID, tinyMessages(100*(i+1), 20)); err != nil {
			t.Fatal(err)
		}
		boxes = append(boxes, mb.ID)
	}
	use := func(id int64) {
		t.Helper()
		if b, err := s.box(ctx, id); err != nil || b == nil {
			t.Fatalf("box %d: index %v, err %v", id, b, err)
		}
	}
	indexed := func() map[int64]bool {
		s.index.mu.Lock()
		defer s.index.mu.Unlock()
		m := map[int64]bool{}
		for id := range s.index.boxes {
			m[id] = true
		}
		return m
	}
	for _, id := range boxes[:4] {
		use(id)
	}
	use(boxes[0]) // boxes[1] is now the least recently used
	use(boxes[4]) // 100 > 80: evict down to 80-20-10 = 50 before adding
	got := indexed()
	// Freeing to 50 of the 80 takes the two least recently used.
	want := map[int64]bool{boxes[0]: true, boxes[3]: true, boxes[4]: true}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("indexed mailboxes %v, want %v (ids %v)", got, want, boxes)
	}
	if s.index.entries != 60 {
		t.Fatalf("entries %d, want 60", s.index.entries)
	}
	if n, err := s.VerifyFlagIndex(ctx); err != nil || n != 3 {
		t.Fatalf("VerifyFlagIndex: %d mailboxes checked, err %v", n, err)
	}
}

// Every connection of the store, the writer's and each reader's, runs
// with the query planner stability guarantee (qpsg.go), so no cached
// statement is compiled again because a new value was bound.
func TestQPSGEnabled(t *testing.T) {
	s, _, _ := openInbox(t, "", Options{}, nil)
	check := func(name string, c *sql.Conn) {
		t.Helper()
		err := c.Raw(func(dc any) error {
			v := reflect.ValueOf(dc).Elem()
			tls := (*libc.TLS)(unsafe.Pointer(v.FieldByName("tls").Pointer()))
			on, err := dbConfig(tls, uintptr(v.FieldByName("db").Uint()), lib.SQLITE_DBCONFIG_ENABLE_QPSG, -1)
			if err == nil && !on {
				err = fmt.Errorf("QPSG is off")
			}
			return err
		})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	check("writer", s.wconn)
	for _, pool := range []chan *rconn{s.rpool, s.bpool} {
		n := len(pool) // all idle: nothing else runs
		if n == 0 {
			t.Fatal("an empty reader pool")
		}
		for range n {
			c := <-pool
			check("reader", c.conn)
			defer func() { pool <- c }()
		}
	}
	// A connection of the plain "sqlite" driver does not have it: the
	// check above can fail.
	other, err := sql.Open("sqlite", "file:"+s.path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	oc, err := other.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer oc.Close()
	err = oc.Raw(func(dc any) error {
		v := reflect.ValueOf(dc).Elem()
		tls := (*libc.TLS)(unsafe.Pointer(v.FieldByName("tls").Pointer()))
		on, err := dbConfig(tls, uintptr(v.FieldByName("db").Uint()), lib.SQLITE_DBCONFIG_ENABLE_QPSG, -1)
		if err == nil && on {
			err = fmt.Errorf("QPSG on without the hook")
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}
