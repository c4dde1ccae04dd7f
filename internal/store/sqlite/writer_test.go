package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"barid/internal/store"
)

func openTest(t *testing.T) (*Store, int64, int64) {
	t.Helper()
	s, mb, _ := openInbox(t, "", Options{}, nil)
	return s, mb.AccountID, mb.ID
}

// TestGroupCommit holds the writer busy while requests queue, then checks
// that they ran in one transaction, that a failing request was rolled
// back alone, and that every caller got its own result.
func TestGroupCommit(t *testing.T) {
	s, acct, mb := openTest(t)
	ctx := context.Background()
	release := make(chan struct{})
	started := make(chan struct{})
	go s.write(ctx, func(*wtx) error { close(started); <-release; return nil }) //nolint:errcheck
	<-started
	before := s.Stats()

	const n = 10
	var wg sync.WaitGroup
	uids := make([][]store.UID, n)
	errs := make([]error, n+1)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			uids[i], _, errs[i] = s.AppendMessages(ctx, mb, []store.NewMessage{{BlobID: fmt.Sprint(i), Size: 1}})
		}()
	}
	boom := errors.New("boom")
	wg.Add(1)
	go func() {
		defer wg.Done()
		errs[n] = s.write(ctx, func(t *wtx) error {
			if _, err := t.exec(`INSERT INTO meta (key, value) VALUES ('junk', 1)`); err != nil {
				return err
			}
			return boom
		})
	}()
	time.Sleep(300 * time.Millisecond) // let them all queue
	close(release)
	wg.Wait()

	for i, err := range errs[:n] {
		if err != nil {
			t.Fatalf("append %d: %v", i, err)
		}
	}
	if !errors.Is(errs[n], boom) {
		t.Fatalf("failing request: %v", errs[n])
	}
	seen := map[store.UID]bool{}
	for _, u := range uids {
		if len(u) != 1 || seen[u[0]] {
			t.Fatalf("uids %v", uids)
		}
		seen[u[0]] = true
	}
	st := s.Stats()
	if got := st.Requests - before.Requests; got != n+1 {
		t.Fatalf("requests %d", got)
	}
	if got := st.Batches - before.Batches; got > 3 {
		t.Errorf("%d queued requests took %d transactions", n+1, got)
	}
	var junk int
	err := s.read(ctx, func(r *reader) error {
		return r.queryRow(`SELECT count(*) FROM meta WHERE key = 'junk'`).Scan(&junk)
	})
	if err != nil || junk != 0 {
		t.Fatalf("failed request left %d rows (%v)", junk, err)
	}
	status, _ := s.MailboxStatus(ctx, mb)
	if status.Messages != n || status.Mailbox.UIDNext != n+1 {
		t.Fatalf("status %+v", status)
	}
	_ = acct
}

// TestBusyFromOtherProcess holds the database write lock from another
// connection (as the admin CLI would) and checks that writes wait for it
// instead of failing with SQLITE_BUSY, while reads go on.
func TestBusyFromOtherProcess(t *testing.T) {
	s, _, mb := openTest(t)
	ctx := context.Background()
	other, err := sql.Open("sqlite", "file:"+s.path+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	conn, err := other.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, _, err := s.AppendMessages(ctx, mb, []store.NewMessage{{BlobID: "x", Size: 1}})
		done <- err
	}()
	select {
	case err := <-done:
		t.Fatalf("append finished while another connection held the lock: %v", err)
	case <-time.After(300 * time.Millisecond):
	}
	// Reads are not blocked by the other writer.
	if _, err := s.MailboxStatus(ctx, mb); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(ctx, "COMMIT"); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("append after lock release: %v", err)
	}
}

func TestCancelledContext(t *testing.T) {
	s, acct, _ := openTest(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := s.CreateMailbox(ctx, acct, "X", ""); !errors.Is(err, context.Canceled) {
		t.Fatalf("write with cancelled ctx: %v", err)
	}
	if _, err := s.Mailboxes(ctx, acct); !errors.Is(err, context.Canceled) {
		t.Fatalf("read with cancelled ctx: %v", err)
	}
	if _, err := s.Mailbox(context.Background(), acct, "X"); !errors.Is(err, store.ErrNoMailbox) {
		t.Fatalf("cancelled create happened: %v", err)
	}
}

func TestExpungedSince(t *testing.T) {
	s, _, mb := openTest(t)
	ctx := context.Background()
	msgs := make([]store.NewMessage, 6)
	for i := range msgs {
		msgs[i] = store.NewMessage{BlobID: fmt.Sprint(i), Size: 1}
	}
	if _, _, err := s.AppendMessages(ctx, mb, msgs); err != nil {
		t.Fatal(err)
	}
	_, ch1, err := s.Expunge(ctx, mb, []store.UID{2, 4})
	if err != nil {
		t.Fatal(err)
	}
	_, ch2, err := s.Expunge(ctx, mb, []store.UID{5})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		since store.ModSeq
		want  []store.UID
	}{
		{0, []store.UID{2, 4, 5}},
		{ch1[0].ModSeq - 1, []store.UID{2, 4, 5}},
		{ch1[0].ModSeq, []store.UID{5}},
		{ch2[0].ModSeq, nil},
	} {
		got, err := s.ExpungedSince(ctx, mb, tc.since)
		if err != nil || fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("ExpungedSince(%d) = %v, %v; want %v", tc.since, got, err, tc.want)
		}
	}
}

// TestOnCommitOrder: with Options.OnCommit the changes of concurrent
// writers come out in commit order (UIDs and modseqs ascending per
// mailbox), each before its caller returns, and failed requests emit
// nothing.
func TestOnCommitOrder(t *testing.T) {
	for _, syncer := range []bool{false, true} {
		t.Run(fmt.Sprintf("WALSyncer=%v", syncer), func(t *testing.T) { onCommitOrder(t, syncer) })
	}
}

func onCommitOrder(t *testing.T, syncer bool) {
	ctx := context.Background()
	var mu sync.Mutex
	var got []store.Change
	s, err := Open(ctx, filepath.Join(t.TempDir(), "o.db"), Options{WALSyncer: syncer, OnCommit: func(ch []store.Change) {
		mu.Lock()
		got = append(got, ch...)
		mu.Unlock()
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	a, _ := s.CreateAccount(ctx, "u", nil)
	in, _ := s.Mailbox(ctx, a.ID, "INBOX")
	published := func(uid store.UID) bool {
		mu.Lock()
		defer mu.Unlock()
		for _, c := range got {
			if c.Kind == store.ChangeAdded && c.MailboxID == in.ID && c.UID == uid {
				return true
			}
		}
		return false
	}
	const writers, each = 8, 20
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				uids, ch, err := s.AppendMessages(ctx, in.ID, []store.NewMessage{{BlobID: fmt.Sprint(w, i), Size: 1}})
				if err != nil {
					t.Error(err)
					return
				}
				if !published(uids[0]) {
					t.Errorf("UID %d returned before OnCommit saw it", uids[0])
				}
				if _, _, _, err := s.StoreFlags(ctx, in.ID, uids, store.FlagsAdd, store.Flags{System: store.FlagSeen}, 0); err != nil {
					t.Error(err)
				}
				_ = ch
			}
		})
	}
	wg.Wait()
	if _, _, err := s.CreateMailbox(ctx, a.ID, "INBOX", ""); !errors.Is(err, store.ErrMailboxExists) {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	var lastUID store.UID
	var lastMod store.ModSeq
	added := 0
	for _, c := range got {
		if c.Kind == store.ChangeMailboxCreated {
			t.Fatalf("failed CreateMailbox emitted %+v", c)
		}
		if c.ModSeq < lastMod {
			t.Fatalf("modseq went back: %d after %d", c.ModSeq, lastMod)
		}
		lastMod = c.ModSeq
		if c.Kind == store.ChangeAdded {
			if c.UID <= lastUID {
				t.Fatalf("UID %d emitted after %d", c.UID, lastUID)
			}
			lastUID = c.UID
			added++
		}
	}
	if added != writers*each {
		t.Fatalf("%d added changes emitted", added)
	}
}

func TestUnsortedUIDsTolerated(t *testing.T) {
	s, _, mb := openTest(t)
	ctx := context.Background()
	msgs := make([]store.NewMessage, 5)
	for i := range msgs {
		msgs[i] = store.NewMessage{BlobID: fmt.Sprint(i), Size: 1}
	}
	if _, _, err := s.AppendMessages(ctx, mb, msgs); err != nil {
		t.Fatal(err)
	}
	var got []store.UID
	for _, f := range []store.Fields{store.FieldFlags, store.FieldBasics} {
		got = got[:0]
		if err := s.FetchMessages(ctx, mb, []store.UID{4, 2, 2, 9, 1}, f, func(m *store.Message) error {
			got = append(got, m.UID)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(got) != "[1 2 4]" {
			t.Fatalf("fields %b: fetched %v", f, got)
		}
	}
	res, _, _, err := s.StoreFlags(ctx, mb, []store.UID{5, 3}, store.FlagsAdd, store.Flags{System: store.FlagDeleted}, 0)
	if err != nil || len(res) != 2 || res[0].UID != 3 {
		t.Fatalf("store %v %v", res, err)
	}
	gone, _, err := s.Expunge(ctx, mb, []store.UID{5, 3, 3})
	if err != nil || fmt.Sprint(gone) != "[3 5]" {
		t.Fatalf("expunge %v %v", gone, err)
	}
}
