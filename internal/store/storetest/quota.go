package storetest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"barid/internal/store"
)

// quotas returns the backend's store.Quotas (both backends have it).
func quotas(t *testing.T, s store.Store) store.Quotas {
	t.Helper()
	q, ok := s.(store.Quotas)
	if !ok {
		t.Fatalf("%T does not implement store.Quotas", s)
	}
	return q
}

// recount sums the account's messages through the read API (UIDs and
// RFC822.SIZE of every message of every mailbox): the truth the
// incremental usage must equal.
func recount(t *testing.T, s store.Store, accountID int64) store.QuotaUsage {
	t.Helper()
	ctx := context.Background()
	var u store.QuotaUsage
	for _, mb := range must[[]store.Mailbox](t)(s.Mailboxes(ctx, accountID)) {
		uids := uidsOf(t, s, mb.ID)
		noErr(t, s.FetchMessages(ctx, mb.ID, uids, store.FieldSize, func(m *store.Message) error {
			u.Storage += m.Size
			u.Messages++
			return nil
		}))
	}
	return u
}

func usageOf(t *testing.T, s store.Store, accountID int64) store.QuotaUsage {
	t.Helper()
	return must[*store.Quota](t)(quotas(t, s).Quota(context.Background(), accountID)).Usage
}

// checkUsage compares the kept usage with a recount and with RecalcQuota,
// which must find no drift.
func checkUsage(t *testing.T, s store.Store, accountID int64, want store.QuotaUsage) {
	t.Helper()
	if got := usageOf(t, s, accountID); got != want {
		t.Fatalf("usage = %+v, want %+v", got, want)
	}
	if got := recount(t, s, accountID); got != want {
		t.Fatalf("recount = %+v, want %+v", got, want)
	}
	before, after, err := quotas(t, s).RecalcQuota(context.Background(), accountID)
	noErr(t, err)
	if before != want || after != want {
		t.Fatalf("RecalcQuota = %+v -> %+v, want no drift from %+v", before, after, want)
	}
}

// testQuotaUsage: every write that changes an account's messages keeps
// its usage (RFC 9208 §5.1 STORAGE, §5.2 MESSAGE) in step, with no scan.
func testQuotaUsage(t *testing.T, open func(t *testing.T) store.Store) {
	s := openClosed(t, open)
	ctx := context.Background()
	a, in := setup(t, s)
	b := must[*store.Account](t)(s.CreateAccount(ctx, "other", nil))
	binbox := inbox(t, s, b.ID)
	checkUsage(t, s, a.ID, store.QuotaUsage{})

	appendN(t, s, in.ID, 3) // 100+101+102
	checkUsage(t, s, a.ID, store.QuotaUsage{Storage: 303, Messages: 3})
	box := must[*store.Mailbox](t)(func() (*store.Mailbox, error) {
		mb, _, err := s.CreateMailbox(ctx, a.ID, "Box", "")
		return mb, err
	}())
	_, _, err := s.CopyMessages(ctx, in.ID, []store.UID{1, 2}, box.ID)
	noErr(t, err)
	checkUsage(t, s, a.ID, store.QuotaUsage{Storage: 504, Messages: 5})
	_, _, err = s.MoveMessages(ctx, in.ID, []store.UID{3}, box.ID)
	noErr(t, err)
	checkUsage(t, s, a.ID, store.QuotaUsage{Storage: 504, Messages: 5})
	// A move into another account's mailbox (a shared folder) charges
	// the owner of the destination and frees the source's.
	_, _, err = s.MoveMessages(ctx, in.ID, []store.UID{1}, binbox.ID)
	noErr(t, err)
	checkUsage(t, s, a.ID, store.QuotaUsage{Storage: 404, Messages: 4})
	checkUsage(t, s, b.ID, store.QuotaUsage{Storage: 100, Messages: 1})
	_, _, err = s.Expunge(ctx, in.ID, []store.UID{2})
	noErr(t, err)
	checkUsage(t, s, a.ID, store.QuotaUsage{Storage: 303, Messages: 3})
	// REPLACE: the new message is charged, the old one freed.
	_, _, err = s.ReplaceMessage(ctx, box.ID, 1, box.ID, msg(7))
	noErr(t, err)
	checkUsage(t, s, a.ID, store.QuotaUsage{Storage: 310, Messages: 3})
	// RENAME keeps the usage; DELETE frees the mailbox's messages.
	_, err = s.RenameMailbox(ctx, a.ID, "Box", "Renamed")
	noErr(t, err)
	checkUsage(t, s, a.ID, store.QuotaUsage{Storage: 310, Messages: 3})
	_, err = s.DeleteMailbox(ctx, a.ID, "Renamed")
	noErr(t, err)
	checkUsage(t, s, a.ID, store.QuotaUsage{})
	checkUsage(t, s, b.ID, store.QuotaUsage{Storage: 100, Messages: 1})
	// Flag changes cost nothing.
	_, _, _, err = s.StoreFlags(ctx, binbox.ID, []store.UID{1}, store.FlagsAdd, store.FlagsFromNames([]string{`\Seen`}), 0)
	noErr(t, err)
	checkUsage(t, s, b.ID, store.QuotaUsage{Storage: 100, Messages: 1})
	noErr(t, s.DeleteAccount(ctx, b.ID))
	_, err = quotas(t, s).Quota(ctx, b.ID)
	wantErr(t, err, store.ErrNoAccount)
}

// testQuotaLimits: defaults, overrides and the refusals of each path,
// where a refused write stores nothing.
func testQuotaLimits(t *testing.T, open func(t *testing.T) store.Store) {
	s := openClosed(t, open)
	ctx := context.Background()
	q := quotas(t, s)
	q.SetQuotaDefaults(store.QuotaLimits{Storage: 1000, Messages: 3})
	a, in := setup(t, s)
	got := must[*store.Quota](t)(q.Quota(ctx, a.ID))
	if got.Limits != (store.QuotaLimits{Storage: 1000, Messages: 3}) ||
		got.Override != (store.QuotaLimits{Storage: store.QuotaInherit, Messages: store.QuotaInherit}) {
		t.Fatalf("defaults: %+v", got)
	}
	appendN(t, s, in.ID, 3)
	_, _, err := s.AppendMessages(ctx, in.ID, []store.NewMessage{msg(9)})
	wantErr(t, err, store.ErrOverQuota)
	if !strings.Contains(err.Error(), "MESSAGE limit 3") {
		t.Fatalf("error does not name the limit: %v", err)
	}
	box, _, err := s.CreateMailbox(ctx, a.ID, "Box", "")
	noErr(t, err)
	_, _, err = s.CopyMessages(ctx, in.ID, []store.UID{1}, box.ID)
	wantErr(t, err, store.ErrOverQuota)
	// At the limit, a move within the account still works: it needs
	// nothing more.
	_, _, err = s.MoveMessages(ctx, in.ID, []store.UID{1}, box.ID)
	noErr(t, err)
	checkUsage(t, s, a.ID, store.QuotaUsage{Storage: 303, Messages: 3})
	if u := uidsOf(t, s, box.ID); len(u) != 1 {
		t.Fatalf("Box holds %v", u)
	}

	// A per-account override wins over the default; 0 is unlimited.
	noErr(t, q.SetQuotaLimits(ctx, a.ID, store.QuotaLimits{Storage: 400, Messages: 0}))
	got = must[*store.Quota](t)(q.Quota(ctx, a.ID))
	if got.Limits != (store.QuotaLimits{Storage: 400, Messages: 0}) {
		t.Fatalf("override: %+v", got)
	}
	if acct := must[*store.Account](t)(s.AccountByID(ctx, a.ID)); acct.QuotaBytes != 400 {
		t.Fatalf("Account.QuotaBytes = %d", acct.QuotaBytes)
	}
	// MULTIAPPEND is all or none: 303+96 fits, 303+96+5 does not.
	small := func(i int, size int64) store.NewMessage { m := msg(i); m.Size = size; return m }
	_, _, err = s.AppendMessages(ctx, in.ID, []store.NewMessage{small(20, 96), small(21, 5)})
	wantErr(t, err, store.ErrOverQuota)
	if !strings.Contains(err.Error(), "STORAGE limit 400") {
		t.Fatalf("error does not name the limit: %v", err)
	}
	checkUsage(t, s, a.ID, store.QuotaUsage{Storage: 303, Messages: 3})
	_, _, err = s.AppendMessages(ctx, in.ID, []store.NewMessage{small(20, 97)})
	noErr(t, err)
	checkUsage(t, s, a.ID, store.QuotaUsage{Storage: 400, Messages: 4})
	_, _, err = s.ReplaceMessage(ctx, box.ID, 1, box.ID, small(22, 101))
	wantErr(t, err, store.ErrOverQuota)
	// QuotaKeep leaves one resource alone; QuotaInherit goes back to the
	// default.
	noErr(t, q.SetQuotaLimits(ctx, a.ID, store.QuotaLimits{Storage: store.QuotaInherit, Messages: store.QuotaKeep}))
	got = must[*store.Quota](t)(q.Quota(ctx, a.ID))
	if got.Limits != (store.QuotaLimits{Storage: 1000, Messages: 0}) || got.Override.Messages != 0 {
		t.Fatalf("keep/inherit: %+v", got)
	}
	noErr(t, q.SetQuotaLimits(ctx, a.ID, store.QuotaLimits{Storage: 0, Messages: 0}))
	appendN(t, s, in.ID, 20)
	wantErr(t, q.SetQuotaLimits(ctx, 1<<40, store.QuotaLimits{}), store.ErrNoAccount)
	if err := q.SetQuotaLimits(ctx, a.ID, store.QuotaLimits{Storage: -3}); err == nil {
		t.Fatal("SetQuotaLimits accepted -3")
	}
}

// testQuotaConcurrent: many writers into several mailboxes of one
// account at its limit; the check and the charge share the writer's
// transaction, so exactly the limit is stored and the usage equals a
// recount.
func testQuotaConcurrent(t *testing.T, open func(t *testing.T) store.Store) {
	s := openClosed(t, open)
	ctx := context.Background()
	q := quotas(t, s)
	a, in := setup(t, s)
	const writers, tries, limit = 8, 12, 30
	noErr(t, q.SetQuotaLimits(ctx, a.ID, store.QuotaLimits{Storage: 0, Messages: limit}))
	mbs := []int64{in.ID}
	for i := range 3 {
		mb, _, err := s.CreateMailbox(ctx, a.ID, fmt.Sprintf("c%d", i), "")
		noErr(t, err)
		mbs = append(mbs, mb.ID)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	stored, refused := 0, 0
	errc := make(chan error, writers)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range tries {
				mb := mbs[(w+i)%len(mbs)]
				var err error
				if i%3 == 2 {
					_, _, err = s.CopyMessages(ctx, in.ID, []store.UID{1}, mb)
					if errors.Is(err, store.ErrNoMessage) {
						err = nil
					}
				} else {
					_, _, err = s.AppendMessages(ctx, mb, []store.NewMessage{msg(w*100 + i)})
				}
				mu.Lock()
				switch {
				case err == nil:
					stored++
				case errors.Is(err, store.ErrOverQuota):
					refused++
				default:
					errc <- err
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Fatal(err)
	}
	u := recount(t, s, a.ID)
	if u.Messages != limit {
		t.Fatalf("stored %d messages (%d ok, %d refused), want exactly the limit %d", u.Messages, stored, refused, limit)
	}
	checkUsage(t, s, a.ID, u)
}

// testQuotaEnforced: with limits turned off ([quota] enforce = false)
// nothing is refused for quota and Quota reports no limits, while usage
// is still kept and the stored override survives; turned on again, the
// next write over the limit is refused with no recount.
func testQuotaEnforced(t *testing.T, open func(t *testing.T) store.Store) {
	s := openClosed(t, open)
	ctx := context.Background()
	q := quotas(t, s)
	q.SetQuotaDefaults(store.QuotaLimits{Messages: 2})
	a, in := setup(t, s)
	noErr(t, q.SetQuotaLimits(ctx, a.ID, store.QuotaLimits{Storage: store.QuotaInherit, Messages: 3}))
	q.SetQuotaEnforced(false)
	appendN(t, s, in.ID, 5)
	got := must[*store.Quota](t)(q.Quota(ctx, a.ID))
	if got.Limits != (store.QuotaLimits{}) || got.Override.Messages != 3 || got.Usage.Messages != 5 {
		t.Fatalf("with limits off: %+v", got)
	}
	box := mkbox(t, s, a.ID, "Box")
	_, _, err := s.CopyMessages(ctx, in.ID, []store.UID{1}, box.ID)
	noErr(t, err)
	q.SetQuotaEnforced(true)
	got = must[*store.Quota](t)(q.Quota(ctx, a.ID))
	if got.Limits.Messages != 3 || got.Usage.Messages != 6 {
		t.Fatalf("limits on again: %+v", got)
	}
	_, _, err = s.AppendMessages(ctx, in.ID, []store.NewMessage{msg(9)})
	wantErr(t, err, store.ErrOverQuota)
	checkUsage(t, s, a.ID, store.QuotaUsage{Storage: got.Usage.Storage, Messages: 6})
}
