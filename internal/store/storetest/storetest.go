// Package storetest is the conformance suite every store.Store backend
// runs: accounts, mailboxes, UID/UIDVALIDITY/modseq invariants
// (RFC 9051 §2.3.1.1, RFC 7162 §3.1), flags, copy/move (RFC 4315,
// RFC 6851), STATUS counters and concurrency.
//
// Usage from a backend's test:
//
//	func TestConformance(t *testing.T) { storetest.Run(t, openFn) }
//
// open is called with the *testing.T of a subtest and must return a store
// for that subtest. Calling open again with the same *testing.T after
// Close must reopen the same data (persistence tests rely on it); each
// distinct *testing.T must get an empty store. The suite closes every
// store it opens.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"barid/internal/store"
)

// Run runs the whole suite.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, open func(t *testing.T) store.Store)
	}{
		{"Accounts", testAccounts},
		{"MailboxCRUD", testMailboxCRUD},
		{"RenameInferiors", testRenameInferiors},
		{"Subscriptions", testSubscriptions},
		{"UIDValidityFresh", testUIDValidityFresh},
		{"PersistAcrossReopen", testPersist},
		{"UIDNeverReused", testUIDNeverReused},
		{"AppendFetch", testAppendFetch},
		{"FetchSparse", testFetchSparse},
		{"ModSeqMonotonic", testModSeqMonotonic},
		{"StoreFlags", testStoreFlags},
		{"StoreFlagsModel", testStoreFlagsModel},
		{"KeywordsCaseInsensitive", testKeywordsCase},
		{"KeywordsKnown", testKeywordsKnown},
		{"CondStore", testCondStore},
		{"Expunge", testExpunge},
		{"CopyMove", testCopyMove},
		{"MoveSameMailbox", testMoveSame},
		{"Status", testStatus},
		{"ClaimRecent", testClaimRecent},
		{"NewUIDs", testNewUIDs},
		{"BlobRefs", testBlobRefs},
		{"Quota", testQuota},
		{"DeleteAccount", testDeleteAccount},
		{"Concurrent", testConcurrent},
		{"URLAuthKeys", testURLAuthKeys},
		{"ACL", testACL},
		{"PrivateSeen", testPrivateSeen},
		{"ObjectIDs", testObjectIDs},
		{"Threads", testThreads},
		{"Replace", testReplace},
		{"ExpungedFlags", testExpungedFlags},
		{"QuotaUsage", testQuotaUsage},
		{"QuotaLimits", testQuotaLimits},
		{"QuotaConcurrent", testQuotaConcurrent},
		{"Metadata", testMetadata},
		{"Aliases", testAliases},
		{"AppPasswords", testAppPasswords},
		{"SieveScripts", testSieveScripts},
		{"SieveVacation", testSieveVacation},
		{"SieveOutgoing", testSieveOutgoing},
		{"SieveOutgoingLease", testSieveOutgoingLease},
		{"SieveScriptDigest", testSieveScriptDigest},
		{"AppendMulti", testAppendMulti},
		{"TextIndex", testTextIndex},
		{"TextInsideWords", testTextInsideWords},
		{"TextClaim", testTextClaim},
		{"ImportUIDs", testImportUIDs},
		{"ImportUIDValidity", testImportUIDValidity},
		{"SetModSeqs", testSetModSeqs},
		{"AppPasswordHashes", testAppPasswordHashes},
		{"DeletedSize", testDeletedSize},
		{"PrivateSeenCopy", testPrivateSeenCopy},
		{"QuotaEnforced", testQuotaEnforced},
		{"SelectSnapshot", testSelectSnapshot},
		{"Flush", testFlush},
		{"FetchInline", testFetchInline},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, open)
		})
	}
}

func openClosed(t *testing.T, open func(t *testing.T) store.Store) store.Store {
	t.Helper()
	s := open(t)
	t.Cleanup(func() { s.Close() })
	return s
}

func must[T any](t *testing.T) func(v T, err error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func noErr(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func wantErr(t *testing.T, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("err = %v, want %v", err, want)
	}
}

// setup creates an account "user" and returns it with its INBOX.
func setup(t *testing.T, s store.Store) (*store.Account, *store.Mailbox) {
	t.Helper()
	ctx := context.Background()
	a := must[*store.Account](t)(s.CreateAccount(ctx, "User@Example.org", []byte("secret")))
	mb := inbox(t, s, a.ID)
	return a, mb
}

// inbox returns the account's INBOX, creating it if the backend does not
// create one with the account.
func inbox(t *testing.T, s store.Store, accountID int64) *store.Mailbox {
	t.Helper()
	ctx := context.Background()
	mb, err := s.Mailbox(ctx, accountID, "INBOX")
	if errors.Is(err, store.ErrNoMailbox) {
		mb, _, err = s.CreateMailbox(ctx, accountID, "INBOX", "")
	}
	noErr(t, err)
	return mb
}

func mkbox(t *testing.T, s store.Store, accountID int64, name string) *store.Mailbox {
	t.Helper()
	mb, _, err := s.CreateMailbox(context.Background(), accountID, name, "")
	noErr(t, err)
	return mb
}

// msg returns a NewMessage with recognisable metadata.
func msg(i int, flags ...string) store.NewMessage {
	d := time.Date(2024, 3, 1, 12, 0, i%60, 0, time.UTC)
	return store.NewMessage{
		Flags:        store.FlagsFromNames(flags),
		BlobID:       fmt.Sprintf("%064x", i),
		Size:         int64(100 + i),
		InternalDate: d,
		Header:       []byte(fmt.Sprintf("Subject: m%d\r\n\r\n", i)),
		Structure:    []byte{1, 2, byte(i)},
		Envelope:     []byte(fmt.Sprintf(`("date" "m%d")`, i)),
		Subject:      fmt.Sprintf("m%d", i),
		From:         "alice@example.org",
		To:           "bob@example.org",
		Cc:           "",
		Bcc:          "",
		SentDate:     d.Add(-time.Hour),
	}
}

func appendN(t *testing.T, s store.Store, mailboxID int64, n int, flags ...string) []store.UID {
	t.Helper()
	msgs := make([]store.NewMessage, n)
	for i := range msgs {
		msgs[i] = msg(i, flags...)
	}
	uids, _, err := s.AppendMessages(context.Background(), mailboxID, msgs)
	noErr(t, err)
	return uids
}

func uidsOf(t *testing.T, s store.Store, mailboxID int64) []store.UID {
	t.Helper()
	_, u, err := s.MessageUIDs(context.Background(), mailboxID)
	noErr(t, err)
	return u
}

func flagsOf(t *testing.T, s store.Store, mailboxID int64, uid store.UID) (store.Flags, store.ModSeq) {
	t.Helper()
	var f store.Flags
	var ms store.ModSeq
	found := false
	noErr(t, s.FetchMessages(context.Background(), mailboxID, []store.UID{uid}, store.FieldFlags, func(m *store.Message) error {
		f, ms, found = m.Flags, m.ModSeq, true
		return nil
	}))
	if !found {
		t.Fatalf("uid %d not found", uid)
	}
	return f, ms
}

func mailboxByID(t *testing.T, s store.Store, id int64) *store.Mailbox {
	t.Helper()
	mb, err := s.MailboxByID(context.Background(), id)
	noErr(t, err)
	return mb
}

func testAccounts(t *testing.T, open func(t *testing.T) store.Store) {
	s := openClosed(t, open)
	ctx := context.Background()
	a, err := s.CreateAccount(ctx, " Alice@Example.ORG ", []byte{1, 2})
	noErr(t, err)
	if a.Name != "alice@example.org" || a.ID == 0 || a.Created.IsZero() {
		t.Fatalf("account = %+v", a)
	}
	_, err = s.CreateAccount(ctx, "ALICE@example.org", nil)
	wantErr(t, err, store.ErrAccountExists)

	for _, name := range []string{"alice@example.org", "Alice@Example.Org", "ALICE@EXAMPLE.ORG"} {
		got, err := s.Account(ctx, name)
		noErr(t, err)
		if got.ID != a.ID || string(got.Secret) != "\x01\x02" {
			t.Fatalf("Account(%q) = %+v", name, got)
		}
	}
	_, err = s.Account(ctx, "nobody")
	wantErr(t, err, store.ErrNoAccount)
	_, err = s.AccountByID(ctx, a.ID+1000)
	wantErr(t, err, store.ErrNoAccount)

	noErr(t, s.SetAccountSecret(ctx, a.ID, []byte("new")))
	got := must[*store.Account](t)(s.AccountByID(ctx, a.ID))
	if string(got.Secret) != "new" || got.Name != a.Name {
		t.Fatalf("after SetAccountSecret: %+v", got)
	}
	wantErr(t, s.SetAccountSecret(ctx, a.ID+1000, nil), store.ErrNoAccount)

	// ReplaceAccountSecret swaps only from the value it is given.
	if ok, err := s.ReplaceAccountSecret(ctx, a.ID, []byte("stale"), []byte("rehashed")); err != nil || ok {
		t.Fatalf("ReplaceAccountSecret from a stale secret: ok=%v err=%v", ok, err)
	}
	if got := must[*store.Account](t)(s.AccountByID(ctx, a.ID)); string(got.Secret) != "new" {
		t.Fatalf("a stale ReplaceAccountSecret changed the secret to %q", got.Secret)
	}
	if ok, err := s.ReplaceAccountSecret(ctx, a.ID, []byte("new"), []byte("rehashed")); err != nil || !ok {
		t.Fatalf("ReplaceAccountSecret: ok=%v err=%v", ok, err)
	}
	if got := must[*store.Account](t)(s.AccountByID(ctx, a.ID)); string(got.Secret) != "rehashed" {
		t.Fatalf("after ReplaceAccountSecret: %q", got.Secret)
	}
	_, err = s.ReplaceAccountSecret(ctx, a.ID+1000, nil, []byte("x"))
	wantErr(t, err, store.ErrNoAccount)
	noErr(t, s.SetAccountSecret(ctx, a.ID, []byte("new")))

	must[*store.Account](t)(s.CreateAccount(ctx, "bob", nil))
	list := must[[]store.Account](t)(s.Accounts(ctx))
	var names []string
	for _, a := range list {
		names = append(names, a.Name)
	}
	if !slices.Equal(names, []string{"alice@example.org", "bob"}) {
		t.Fatalf("Accounts = %v", names)
	}
}

func testMailboxCRUD(t *testing.T, open func(t *testing.T) store.Store) {
	s := openClosed(t, open)
	ctx := context.Background()
	a, in := setup(t, s)
	if in.Name != "INBOX" || in.UIDNext != 1 || in.UIDValidity == 0 {
		t.Fatalf("INBOX = %+v", in)
	}
	// INBOX is case-insensitive (RFC 9051 §5.1), other names are not.
	for _, n := range []string{"inbox", "InBoX"} {
		mb, err := s.Mailbox(ctx, a.ID, n)
		noErr(t, err)
		if mb.ID != in.ID || mb.Name != "INBOX" {
			t.Fatalf("Mailbox(%q) = %+v", n, mb)
		}
	}
	_, _, err := s.CreateMailbox(ctx, a.ID, "inbox", "")
	wantErr(t, err, store.ErrMailboxExists)

	sent, ch, err := s.CreateMailbox(ctx, a.ID, "Sent", `\Sent`)
	noErr(t, err)
	if sent.SpecialUse != `\Sent` || sent.AccountID != a.ID || sent.HighestModSeq == 0 {
		t.Fatalf("Sent = %+v", sent)
	}
	if len(ch) != 1 || ch[0].Kind != store.ChangeMailboxCreated || ch[0].AccountID != a.ID ||
		ch[0].MailboxID != sent.ID || ch[0].Name != "Sent" || ch[0].UIDValidity != sent.UIDValidity {
		t.Fatalf("changes = %+v", ch)
	}
	_, _, err = s.CreateMailbox(ctx, a.ID, "Sent", "")
	wantErr(t, err, store.ErrMailboxExists)
	lower := mkbox(t, s, a.ID, "sent") // case-sensitive: a different mailbox
	if lower.ID == sent.ID {
		t.Fatal("sent and Sent are the same mailbox")
	}
	_, err = s.Mailbox(ctx, a.ID, "SENT")
	wantErr(t, err, store.ErrNoMailbox)

	got := must[*store.Mailbox](t)(s.MailboxByID(ctx, sent.ID))
	if got.Name != "Sent" || got.UIDValidity != sent.UIDValidity {
		t.Fatalf("MailboxByID = %+v", got)
	}
	list := must[[]store.Mailbox](t)(s.Mailboxes(ctx, a.ID))
	var names []string
	for _, m := range list {
		names = append(names, m.Name)
	}
	if !slices.Equal(names, []string{"INBOX", "Sent", "sent"}) {
		t.Fatalf("Mailboxes = %v", names)
	}

	_, err = s.DeleteMailbox(ctx, a.ID, "INBOX")
	wantErr(t, err, store.ErrCannot)
	_, err = s.DeleteMailbox(ctx, a.ID, "inbox")
	wantErr(t, err, store.ErrCannot)
	_, err = s.DeleteMailbox(ctx, a.ID, "nope")
	wantErr(t, err, store.ErrNoMailbox)

	// Deleting a parent leaves its inferiors (RFC 9051 §6.3.5).
	mkbox(t, s, a.ID, "Sent/2024")
	appendN(t, s, sent.ID, 3)
	ch, err = s.DeleteMailbox(ctx, a.ID, "Sent")
	noErr(t, err)
	if len(ch) != 1 || ch[0].Kind != store.ChangeMailboxDeleted || ch[0].MailboxID != sent.ID || ch[0].AccountID != a.ID {
		t.Fatalf("delete changes = %+v", ch)
	}
	_, err = s.Mailbox(ctx, a.ID, "Sent")
	wantErr(t, err, store.ErrNoMailbox)
	_, err = s.MailboxByID(ctx, sent.ID)
	wantErr(t, err, store.ErrNoMailbox)
	must[*store.Mailbox](t)(s.Mailbox(ctx, a.ID, "Sent/2024"))
	_, err = s.MailboxStatus(ctx, sent.ID)
	wantErr(t, err, store.ErrNoMailbox)

	_, _, err = s.AppendMessages(ctx, sent.ID, []store.NewMessage{msg(1)})
	wantErr(t, err, store.ErrNoMailbox)
}

func testRenameInferiors(t *testing.T, open func(t *testing.T) store.Store) {
	s := openClosed(t, open)
	ctx := context.Background()
	a, _ := setup(t, s)
	parent := mkbox(t, s, a.ID, "a")
	child := mkbox(t, s, a.ID, "a/b")
	grand := mkbox(t, s, a.ID, "a/b/c")
	other := mkbox(t, s, a.ID, "ab") // not an inferior of "a"
	appendN(t, s, child.ID, 2)

	ch, err := s.RenameMailbox(ctx, a.ID, "a", "x")
	noErr(t, err)
	want := map[string]string{"a": "x", "a/b": "x/b", "a/b/c": "x/b/c"}
	if len(ch) != 3 {
		t.Fatalf("rename changes = %+v", ch)
	}
	for _, c := range ch {
		if c.Kind != store.ChangeMailboxRenamed || c.AccountID != a.ID || want[c.OldName] != c.Name || c.UIDValidity == 0 {
			t.Fatalf("rename change = %+v", c)
		}
	}
	for _, tc := range []struct {
		name string
		was  *store.Mailbox
	}{{"x", parent}, {"x/b", child}, {"x/b/c", grand}, {"ab", other}} {
		mb, err := s.Mailbox(ctx, a.ID, tc.name)
		noErr(t, err)
		// A renamed mailbox is the same mailbox: id, UIDVALIDITY and
		// messages stay (RFC 9051 §6.3.6).
		if mb.ID != tc.was.ID || mb.UIDValidity != tc.was.UIDValidity {
			t.Fatalf("%s = %+v, was %+v", tc.name, mb, tc.was)
		}
	}
	if got := uidsOf(t, s, child.ID); len(got) != 2 {
		t.Fatalf("renamed child has %v", got)
	}
	for _, n := range []string{"a", "a/b", "a/b/c"} {
		_, err := s.Mailbox(ctx, a.ID, n)
		wantErr(t, err, store.ErrNoMailbox)
	}
	// A new mailbox under the old name gets a new UIDVALIDITY.
	again := mkbox(t, s, a.ID, "a/b")
	if again.UIDValidity <= child.UIDValidity || again.ID == child.ID {
		t.Fatalf("recreated a/b = %+v, old %+v", again, child)
	}

	_, err = s.RenameMailbox(ctx, a.ID, "x", "ab")
	wantErr(t, err, store.ErrMailboxExists)
	mkbox(t, s, a.ID, "y")
	mkbox(t, s, a.ID, "y/b")
	_, err = s.RenameMailbox(ctx, a.ID, "x", "y") // y exists
	wantErr(t, err, store.ErrMailboxExists)
	_, err = s.RenameMailbox(ctx, a.ID, "nope", "z")
	wantErr(t, err, store.ErrNoMailbox)
	_, err = s.RenameMailbox(ctx, a.ID, "INBOX", "z")
	wantErr(t, err, store.ErrCannot)
	_, err = s.RenameMailbox(ctx, a.ID, "ab", "inbox")
	wantErr(t, err, store.ErrMailboxExists)

	// Renaming into one's own subtree.
	_, err = s.RenameMailbox(ctx, a.ID, "x", "x/b/new")
	noErr(t, err)
	for _, n := range []string{"x/b/new", "x/b/new/b", "x/b/new/b/c"} {
		must[*store.Mailbox](t)(s.Mailbox(ctx, a.ID, n))
	}
}

func testSubscriptions(t *testing.T, open func(t *testing.T) store.Store) {
	s := openClosed(t, open)
	ctx := context.Background()
	a, in := setup(t, s)
	ch, err := s.SetSubscribed(ctx, a.ID, "inbox", true)
	noErr(t, err)
	if len(ch) != 1 || ch[0].Kind != store.ChangeSubscribed || ch[0].Name != "INBOX" || ch[0].MailboxID != in.ID {
		t.Fatalf("subscribe changes = %+v", ch)
	}
	// Subscriptions may name mailboxes that do not exist (RFC 9051 §6.3.7).
	_, err = s.SetSubscribed(ctx, a.ID, "Later", true)
	noErr(t, err)
	got := must[[]string](t)(s.Subscriptions(ctx, a.ID))
	if !slices.Equal(got, []string{"INBOX", "Later"}) {
		t.Fatalf("Subscriptions = %v", got)
	}
	if mb := must[*store.Mailbox](t)(s.Mailbox(ctx, a.ID, "INBOX")); !mb.Subscribed {
		t.Fatal("INBOX not Subscribed")
	}
	later := mkbox(t, s, a.ID, "Later")
	if !later.Subscribed {
		t.Fatal("Later not Subscribed after create")
	}
	ch, err = s.SetSubscribed(ctx, a.ID, "INBOX", false)
	noErr(t, err)
	if len(ch) != 1 || ch[0].Kind != store.ChangeUnsubscribed {
		t.Fatalf("unsubscribe changes = %+v", ch)
	}
	got = must[[]string](t)(s.Subscriptions(ctx, a.ID))
	if !slices.Equal(got, []string{"Later"}) {
		t.Fatalf("Subscriptions = %v", got)
	}
}

func testUIDValidityFresh(t *testing.T, open func(t *testing.T) store.Store) {
	s := openClosed(t, open)
	ctx := context.Background()
	a, _ := setup(t, s)
	var last uint32
	for i := range 5 {
		mb := mkbox(t, s, a.ID, "Trash")
		if mb.UIDValidity <= last {
			t.Fatalf("round %d: UIDVALIDITY %d not above %d", i, mb.UIDValidity, last)
		}
		last = mb.UIDValidity
		_, err := s.DeleteMailbox(ctx, a.ID, "Trash")
		noErr(t, err)
	}
}

func testPersist(t *testing.T, open func(t *testing.T) store.Store) {
	ctx := context.Background()
	s := open(t)
	a, in := setup(t, s)
	uids := appendN(t, s, in.ID, 3)
	_, _, err := s.Expunge(ctx, in.ID, uids[2:])
	noErr(t, err)
	before := mailboxByID(t, s, in.ID)
	noErr(t, s.Close())
	noErr(t, s.Close()) // idempotent

	s = openClosed(t, open)
	after := mailboxByID(t, s, in.ID)
	if *after != *before {
		t.Fatalf("after reopen %+v, before %+v", after, before)
	}
	if after.UIDNext != 4 {
		t.Fatalf("UIDNext = %d, want 4", after.UIDNext)
	}
	got := must[*store.Account](t)(s.Account(ctx, "user@example.org"))
	if got.ID != a.ID {
		t.Fatalf("account after reopen = %+v", got)
	}
	// The UID of the expunged message is not given again after restart.
	u := appendN(t, s, in.ID, 1)
	if u[0] != 4 {
		t.Fatalf("UID after reopen = %d, want 4", u[0])
	}
	// Nor a UIDVALIDITY.
	mb := mkbox(t, s, a.ID, "New")
	if mb.UIDValidity <= after.UIDValidity {
		t.Fatalf("UIDVALIDITY after reopen %d <= %d", mb.UIDValidity, after.UIDValidity)
	}
}

func testUIDNeverReused(t *testing.T, open func(t *testing.T) store.Store) {
	s := openClosed(t, open)
	ctx := context.Background()
	_, in := setup(t, s)
	u1 := appendN(t, s, in.ID, 3)
	if !slices.Equal(u1, []store.UID{1, 2, 3}) {
		t.Fatalf("first UIDs = %v", u1)
	}
	_, _, err := s.Expunge(ctx, in.ID, []store.UID{2, 3})
	noErr(t, err)
	u2 := appendN(t, s, in.ID, 2)
	if !slices.Equal(u2, []store.UID{4, 5}) {
		t.Fatalf("UIDs after expunge = %v", u2)
	}
	if got := uidsOf(t, s, in.ID); !slices.Equal(got, []store.UID{1, 4, 5}) {
		t.Fatalf("MessageUIDs = %v", got)
	}
	mb, _, err := s.MessageUIDs(ctx, in.ID)
	noErr(t, err)
	if mb.UIDNext != 6 {
		t.Fatalf("UIDNext = %d", mb.UIDNext)
	}
}

func testAppendFetch(t *testing.T, open func(t *testing.T) store.Store) {
	s := openClosed(t, open)
	ctx := context.Background()
	a, in := setup(t, s)
	nm := msg(7, `\Seen`, "$Forwarded", `\Recent`, "$forwarded", "Work")
	before := mailboxByID(t, s, in.ID)
	uids, ch, err := s.AppendMessages(ctx, in.ID, []store.NewMessage{nm, msg(8)})
	noErr(t, err)
	if !slices.Equal(uids, []store.UID{1, 2}) {
		t.Fatalf("uids = %v", uids)
	}
	wantFlags := store.Flags{System: store.FlagSeen, Keywords: []string{"$Forwarded", "Work"}}
	if len(ch) != 2 || ch[0].Kind != store.ChangeAdded || ch[0].AccountID != a.ID || ch[0].MailboxID != in.ID ||
		ch[0].UID != 1 || ch[0].ModSeq <= before.HighestModSeq || !ch[0].Flags.Equal(wantFlags) || ch[1].UID != 2 {
		t.Fatalf("changes = %+v", ch)
	}
	after := mailboxByID(t, s, in.ID)
	if after.HighestModSeq != ch[1].ModSeq || after.UIDNext != 3 {
		t.Fatalf("mailbox after append = %+v", after)
	}

	var got []*store.Message
	noErr(t, s.FetchMessages(ctx, in.ID, []store.UID{1, 2, 3}, store.FieldAll, func(m *store.Message) error {
		got = append(got, m)
		return nil
	}))
	if len(got) != 2 {
		t.Fatalf("fetched %d messages", len(got))
	}
	m := got[0]
	if m.UID != 1 || m.MailboxID != in.ID || m.BlobID != nm.BlobID || m.Size != nm.Size ||
		!m.InternalDate.Equal(nm.InternalDate) || m.SaveDate.IsZero() || !m.Flags.Equal(wantFlags) ||
		string(m.Header) != string(nm.Header) || string(m.Structure) != string(nm.Structure) ||
		string(m.Envelope) != string(nm.Envelope) || m.Subject != nm.Subject || m.From != nm.From ||
		m.To != nm.To || m.Cc != "" || !m.SentDate.Equal(nm.SentDate) || m.ModSeq != ch[0].ModSeq {
		t.Fatalf("fetched %+v\nwant %+v", m, nm)
	}
	if !slices.Equal(m.Flags.Keywords, wantFlags.Keywords) {
		t.Fatalf("keywords = %q", m.Flags.Keywords)
	}

	// Only requested fields are filled.
	for _, tc := range []struct {
		fields store.Fields
		check  func(m *store.Message) bool
	}{
		{store.FieldFlags, func(m *store.Message) bool {
			return m.ModSeq != 0 && m.Flags.System == store.FlagSeen && m.BlobID == "" && m.Header == nil && m.Subject == ""
		}},
		{store.FieldBasics, func(m *store.Message) bool {
			return m.ModSeq == 0 && m.BlobID != "" && m.Size == nm.Size && m.Header == nil && m.Envelope == nil
		}},
		{store.FieldSize, func(m *store.Message) bool {
			return m.Size == nm.Size && m.ModSeq == 0 && m.BlobID == "" && m.Header == nil && m.Envelope == nil
		}},
		{store.FieldHeader, func(m *store.Message) bool { return m.Header != nil && m.Structure == nil && m.BlobID == "" }},
		{store.FieldStructure, func(m *store.Message) bool { return m.Structure != nil && m.Header == nil }},
		{store.FieldEnvelope, func(m *store.Message) bool { return m.Envelope != nil && m.Header == nil }},
		{store.FieldSearch, func(m *store.Message) bool {
			return m.Subject == "m7" && !m.SentDate.IsZero() && m.Header == nil && m.BlobID == ""
		}},
	} {
		n := 0
		noErr(t, s.FetchMessages(ctx, in.ID, []store.UID{1}, tc.fields, func(m *store.Message) error {
			n++
			if m.UID != 1 || m.MailboxID != in.ID || !tc.check(m) {
				t.Errorf("fields %b: %+v", tc.fields, m)
			}
			return nil
		}))
		if n != 1 {
			t.Errorf("fields %b: %d calls", tc.fields, n)
		}
	}
	// Empty append is a no-op.
	u, ch, err := s.AppendMessages(ctx, in.ID, nil)
	if err != nil || len(u) != 0 || len(ch) != 0 {
		t.Fatalf("empty append = %v %v %v", u, ch, err)
	}
	// fn's error stops the iteration and is returned.
	stop := errors.New("stop")
	n := 0
	err = s.FetchMessages(ctx, in.ID, []store.UID{1, 2}, store.FieldFlags, func(*store.Message) error { n++; return stop })
	if !errors.Is(err, stop) || n != 1 {
		t.Fatalf("fetch with error = %v after %d", err, n)
	}
}

func testFetchSparse(t *testing.T, open func(t *testing.T) store.Store) {
	s := openClosed(t, open)
	ctx := context.Background()
	_, in := setup(t, s)
	appendN(t, s, in.ID, 500)
	var del []store.UID
	for u := store.UID(1); u <= 500; u++ {
		if u%7 == 0 {
			del = append(del, u)
		}
	}
	_, _, err := s.Expunge(ctx, in.ID, del)
	noErr(t, err)
	for _, want := range [][]store.UID{
		{1},
		{1, 500},
		{1, 2, 3, 7, 8, 499, 500, 501, 100000},
		{6, 7, 8, 14, 200, 300, 301},
	} {
		var got []store.UID
		noErr(t, s.FetchMessages(ctx, in.ID, want, store.FieldFlags, func(m *store.Message) error {
			got = append(got, m.UID)
			return nil
		}))
		var exp []store.UID
		for _, u := range want {
			if u <= 500 && u%7 != 0 {
				exp = append(exp, u)
			}
		}
		if !slices.Equal(got, exp) {
			t.Errorf("fetch %v = %v, want %v", want, got, exp)
		}
	}
}

func testModSeqMonotonic(t *testing.T, open func(t *testing.T) store.Store) {
	s := openClosed(t, open)
	ctx := context.Background()
	a, in := setup(t, s)
	other := mkbox(t, s, a.ID, "Other")
	last := mailboxByID(t, s, in.ID).HighestModSeq
	step := func(what string, ch []store.Change, err error) {
		t.Helper()
		noErr(t, err)
		hms := mailboxByID(t, s, in.ID).HighestModSeq
		if hms <= last {
			t.Fatalf("%s: HIGHESTMODSEQ %d not above %d", what, hms, last)
		}
		for _, c := range ch {
			if c.MailboxID == in.ID && (c.ModSeq <= last || c.ModSeq > hms) {
				t.Fatalf("%s: change modseq %d outside (%d, %d]", what, c.ModSeq, last, hms)
			}
		}
		last = hms
	}
	_, ch, err := s.AppendMessages(ctx, in.ID, []store.NewMessage{msg(1), msg(2), msg(3)})
	step("append", ch, err)
	_, _, ch, err = s.StoreFlags(ctx, in.ID, []store.UID{1, 2}, store.FlagsAdd, store.FlagsFromNames([]string{`\Seen`}), 0)
	step("store", ch, err)
	_, ch, err = s.Expunge(ctx, in.ID, []store.UID{1})
	step("expunge", ch, err)
	_, ch, err = s.CopyMessages(ctx, other.ID, nil, in.ID)
	noErr(t, err)
	if len(ch) != 0 || mailboxByID(t, s, in.ID).HighestModSeq != last {
		t.Fatal("empty copy changed the mailbox")
	}
	appendN(t, s, other.ID, 1)
	_, ch, err = s.CopyMessages(ctx, other.ID, []store.UID{1}, in.ID)
	step("copy into", ch, err)
	_, ch, err = s.MoveMessages(ctx, in.ID, []store.UID{2}, other.ID)
	step("move out", ch, err)
	_, ch, err = s.MoveMessages(ctx, other.ID, []store.UID{1}, in.ID)
	step("move in", ch, err)
	// A no-op STORE does not bump the modseq.
	_, _, ch, err = s.StoreFlags(ctx, in.ID, []store.UID{3}, store.FlagsRemove, store.FlagsFromNames([]string{`\Seen`}), 0)
	noErr(t, err)
	if len(ch) != 0 || mailboxByID(t, s, in.ID).HighestModSeq != last {
		t.Fatalf("no-op store changed modseq: %+v", ch)
	}
	// The modseq survives ClaimRecent untouched and stays after reopen.
	_, err = s.ClaimRecent(ctx, in.ID, math.MaxUint32)
	noErr(t, err)
	if mailboxByID(t, s, in.ID).HighestModSeq != last {
		t.Fatal("ClaimRecent changed HIGHESTMODSEQ")
	}
}

func testStoreFlags(t *testing.T, open func(t *testing.T) store.Store) {
	s := openClosed(t, open)
	ctx := context.Background()
	a, in := setup(t, s)
	appendN(t, s, in.ID, 3)
	fl := func(n ...string) store.Flags { return store.FlagsFromNames(n) }
	steps := []struct {
		op      store.FlagOp
		uids    []store.UID
		arg     store.Flags
		want    map[store.UID]store.Flags
		changed int
	}{
		{store.FlagsAdd, []store.UID{1, 2}, fl(`\Seen`, "$Label1"), map[store.UID]store.Flags{
			1: fl(`\Seen`, "$Label1"), 2: fl(`\Seen`, "$Label1"), 3: {}}, 2},
		{store.FlagsAdd, []store.UID{1, 2, 3}, fl(`\Flagged`), map[store.UID]store.Flags{
			1: fl(`\Seen`, `\Flagged`, "$Label1"), 2: fl(`\Seen`, `\Flagged`, "$Label1"), 3: fl(`\Flagged`)}, 3},
		{store.FlagsRemove, []store.UID{1, 3}, fl(`\Seen`, "$label1"), map[store.UID]store.Flags{
			1: fl(`\Flagged`), 2: fl(`\Seen`, `\Flagged`, "$Label1"), 3: fl(`\Flagged`)}, 1},
		{store.FlagsReplace, []store.UID{2, 3}, fl(`\Deleted`, "b", "a"), map[store.UID]store.Flags{
			1: fl(`\Flagged`), 2: fl(`\Deleted`, "a", "b"), 3: fl(`\Deleted`, "a", "b")}, 2},
		{store.FlagsReplace, []store.UID{2, 3, 99}, fl(`\Deleted`, "A", "B"), map[store.UID]store.Flags{
			1: fl(`\Flagged`), 2: fl(`\Deleted`, "a", "b"), 3: fl(`\Deleted`, "a", "b")}, 0},
		{store.FlagsReplace, []store.UID{1}, store.Flags{}, map[store.UID]store.Flags{
			1: {}, 2: fl(`\Deleted`, "a", "b"), 3: fl(`\Deleted`, "a", "b")}, 1},
	}
	for i, st := range steps {
		before := mailboxByID(t, s, in.ID).HighestModSeq
		res, failed, ch, err := s.StoreFlags(ctx, in.ID, st.uids, st.op, st.arg, 0)
		noErr(t, err)
		if len(failed) != 0 || len(ch) != st.changed {
			t.Fatalf("step %d: failed %v, changes %+v", i, failed, ch)
		}
		existing := 0
		for _, u := range st.uids {
			if _, ok := st.want[u]; ok {
				existing++
			}
		}
		if len(res) != existing {
			t.Fatalf("step %d: results %+v", i, res)
		}
		for _, r := range res {
			if !r.Flags.Equal(st.want[r.UID]) {
				t.Fatalf("step %d: result uid %d flags %v want %v", i, r.UID, r.Flags, st.want[r.UID])
			}
		}
		for _, c := range ch {
			if c.Kind != store.ChangeFlags || c.AccountID != a.ID || c.MailboxID != in.ID || c.ModSeq != before+1 || !c.Flags.Equal(st.want[c.UID]) {
				t.Fatalf("step %d: change %+v", i, c)
			}
		}
		for u, w := range st.want {
			if f, _ := flagsOf(t, s, in.ID, u); !f.Equal(w) {
				t.Fatalf("step %d: uid %d has %v want %v", i, u, f, w)
			}
		}
	}
	st := must[*store.Status](t)(s.MailboxStatus(ctx, in.ID))
	if st.Unseen != 3 || st.Deleted != 2 {
		t.Fatalf("status = %+v", st)
	}
}

// testStoreFlagsModel runs STOREs over many messages with mixed flags
// (large sets, holes, CONDSTORE) and compares every message, the changes
// and the STATUS counters with a model computed by FlagOp.Apply.
func testStoreFlagsModel(t *testing.T, open func(t *testing.T) store.Store) {
	s := openClosed(t, open)
	ctx := context.Background()
	_, in := setup(t, s)
	const n = 120
	msgs := make([]store.NewMessage, n)
	model := map[store.UID]store.Flags{}
	modseqs := map[store.UID]store.ModSeq{}
	for i := range msgs {
		var names []string
		if i%2 == 0 {
			names = append(names, `\Seen`)
		}
		if i%3 == 0 {
			names = append(names, `\Deleted`, "$Label1")
		}
		msgs[i] = msg(i, names...)
	}
	uids, ch, err := s.AppendMessages(ctx, in.ID, msgs)
	noErr(t, err)
	for i, u := range uids {
		model[u] = ch[i].Flags
		modseqs[u] = ch[i].ModSeq
	}
	// Holes: expunge every 7th message.
	var holes []store.UID
	for _, u := range uids {
		if u%7 == 0 {
			holes = append(holes, u)
		}
	}
	_, _, err = s.Expunge(ctx, in.ID, holes)
	noErr(t, err)
	for _, u := range holes {
		delete(model, u)
	}
	all := make([]store.UID, 0, n+5)
	for u := store.UID(1); u <= n+5; u++ { // includes holes and UIDs past the end
		all = append(all, u)
	}
	fl := func(names ...string) store.Flags { return store.FlagsFromNames(names) }
	steps := []struct {
		op    store.FlagOp
		arg   store.Flags
		uids  []store.UID
		since bool
	}{
		{store.FlagsAdd, fl(`\Seen`), all, false},
		{store.FlagsRemove, fl(`\Deleted`, `\Seen`), all[10:90], false},
		{store.FlagsAdd, fl(`\Flagged`, "$Work"), all, false},
		{store.FlagsReplace, fl(`\Answered`, "$b", "$A"), all[20:], false},
		{store.FlagsRemove, fl("$a", "$label1"), all, false},
		{store.FlagsReplace, fl(`\Draft`), all[:60], true},
		{store.FlagsAdd, fl(`\Deleted`), all, true},
	}
	for i, st := range steps {
		before := mailboxByID(t, s, in.ID).HighestModSeq
		var since store.ModSeq
		if st.since {
			since = before - 1 // only messages untouched by the previous step
		}
		res, failed, ch, err := s.StoreFlags(ctx, in.ID, st.uids, st.op, st.arg, since)
		noErr(t, err)
		wantChanged := map[store.UID]store.Flags{}
		var wantFailed []store.UID
		existing := 0
		for _, u := range st.uids {
			cur, ok := model[u]
			if !ok {
				continue
			}
			if since > 0 && modseqs[u] > since {
				wantFailed = append(wantFailed, u)
				continue
			}
			existing++
			nf := st.op.Apply(cur, st.arg)
			if !nf.Equal(cur) {
				wantChanged[u] = nf
				model[u] = nf
				modseqs[u] = before + 1
			}
		}
		if !slices.Equal(failed, wantFailed) {
			t.Fatalf("step %d: failed %v, want %v", i, failed, wantFailed)
		}
		if len(res) != existing || len(ch) != len(wantChanged) {
			t.Fatalf("step %d: %d results (want %d), %d changes (want %d)", i, len(res), existing, len(ch), len(wantChanged))
		}
		for _, c := range ch {
			if w, ok := wantChanged[c.UID]; !ok || !c.Flags.Equal(w) || c.ModSeq != before+1 {
				t.Fatalf("step %d: change %+v, want %v", i, c, w)
			}
		}
		seen := 0
		noErr(t, s.FetchMessages(ctx, in.ID, all, store.FieldFlags, func(m *store.Message) error {
			seen++
			if !m.Flags.Equal(model[m.UID]) || m.ModSeq != modseqs[m.UID] {
				t.Errorf("step %d: uid %d flags %v modseq %d, want %v %d", i, m.UID, m.Flags, m.ModSeq, model[m.UID], modseqs[m.UID])
			}
			return nil
		}))
		if seen != len(model) {
			t.Fatalf("step %d: fetched %d of %d", i, seen, len(model))
		}
		var unseen, deleted uint32
		for _, f := range model {
			if !f.Has(`\Seen`) {
				unseen++
			}
			if f.Has(`\Deleted`) {
				deleted++
			}
		}
		stat := must[*store.Status](t)(s.MailboxStatus(ctx, in.ID))
		if stat.Unseen != unseen || stat.Deleted != deleted || int(stat.Messages) != len(model) {
			t.Fatalf("step %d: status %+v, want unseen %d deleted %d", i, stat, unseen, deleted)
		}
	}
}

func testKeywordsCase(t *testing.T, open func(t *testing.T) store.Store) {
	s := openClosed(t, open)
	ctx := context.Background()
	_, in := setup(t, s)
	uids, _, err := s.AppendMessages(ctx, in.ID, []store.NewMessage{msg(1, "$Junk")})
	noErr(t, err)
	// Adding a keyword that differs only in case changes nothing
	// (RFC 9051 §2.3.2: flags are case-insensitive).
	_, _, ch, err := s.StoreFlags(ctx, in.ID, uids, store.FlagsAdd, store.FlagsFromNames([]string{"$JUNK"}), 0)
	noErr(t, err)
	if len(ch) != 0 {
		t.Fatalf("case-only add changed: %+v", ch)
	}
	f, _ := flagsOf(t, s, in.ID, uids[0])
	if !slices.Equal(f.Keywords, []string{"$Junk"}) || !f.Has("$junk") {
		t.Fatalf("keywords = %q", f.Keywords)
	}
	_, _, ch, err = s.StoreFlags(ctx, in.ID, uids, store.FlagsRemove, store.FlagsFromNames([]string{"$jUNK"}), 0)
	noErr(t, err)
	f, _ = flagsOf(t, s, in.ID, uids[0])
	if len(ch) != 1 || len(f.Keywords) != 0 {
		t.Fatalf("after remove: %q, %+v", f.Keywords, ch)
	}
}

func testCondStore(t *testing.T, open func(t *testing.T) store.Store) {
	s := openClosed(t, open)
	ctx := context.Background()
	_, in := setup(t, s)
	appendN(t, s, in.ID, 3)
	_, ms1 := flagsOf(t, s, in.ID, 1)
	// Change message 2 so its modseq moves past ms1.
	_, _, _, err := s.StoreFlags(ctx, in.ID, []store.UID{2}, store.FlagsAdd, store.FlagsFromNames([]string{`\Flagged`}), 0)
	noErr(t, err)
	_, ms2 := flagsOf(t, s, in.ID, 2)
	if ms2 <= ms1 {
		t.Fatalf("modseq %d not above %d", ms2, ms1)
	}
	// RFC 7162 §3.1.3: UNCHANGEDSINCE ms1 stores 1 and 3, fails 2.
	res, failed, ch, err := s.StoreFlags(ctx, in.ID, []store.UID{1, 2, 3}, store.FlagsAdd, store.FlagsFromNames([]string{`\Seen`}), ms1)
	noErr(t, err)
	if !slices.Equal(failed, []store.UID{2}) || len(res) != 2 || len(ch) != 2 {
		t.Fatalf("res %+v failed %v ch %+v", res, failed, ch)
	}
	if f, _ := flagsOf(t, s, in.ID, 2); f.Has(`\Seen`) {
		t.Fatal("failed message was changed")
	}
	// Now all three have modseq > ms1: everything fails.
	_, failed, ch, err = s.StoreFlags(ctx, in.ID, []store.UID{1, 2, 3}, store.FlagsRemove, store.FlagsFromNames([]string{`\Seen`}), ms1)
	noErr(t, err)
	if !slices.Equal(failed, []store.UID{1, 2, 3}) || len(ch) != 0 {
		t.Fatalf("failed %v ch %+v", failed, ch)
	}
	// UNCHANGEDSINCE equal to the current modseq succeeds.
	_, cur := flagsOf(t, s, in.ID, 3)
	_, failed, ch, err = s.StoreFlags(ctx, in.ID, []store.UID{3}, store.FlagsRemove, store.FlagsFromNames([]string{`\Seen`}), cur)
	noErr(t, err)
	if len(failed) != 0 || len(ch) != 1 || ch[0].ModSeq <= cur {
		t.Fatalf("failed %v ch %+v", failed, ch)
	}
}

func testExpunge(t *testing.T, open func(t *testing.T) store.Store) {
	s := openClosed(t, open)
	ctx := context.Background()
	a, in := setup(t, s)
	appendN(t, s, in.ID, 5)
	_, _, _, err := s.StoreFlags(ctx, in.ID, []store.UID{2, 4}, store.FlagsAdd, store.FlagsFromNames([]string{`\Deleted`}), 0)
	noErr(t, err)
	before := mailboxByID(t, s, in.ID).HighestModSeq
	gone, ch, err := s.Expunge(ctx, in.ID, nil)
	noErr(t, err)
	if !slices.Equal(gone, []store.UID{2, 4}) || len(ch) != 2 {
		t.Fatalf("expunged %v, %+v", gone, ch)
	}
	for i, c := range ch {
		if c.Kind != store.ChangeExpunged || c.UID != gone[i] || c.AccountID != a.ID || c.MailboxID != in.ID || c.ModSeq != before+1 {
			t.Fatalf("change %+v", c)
		}
	}
	if got := uidsOf(t, s, in.ID); !slices.Equal(got, []store.UID{1, 3, 5}) {
		t.Fatalf("left %v", got)
	}
	// Explicit UIDs are removed whatever their flags; missing ones ignored.
	gone, _, err = s.Expunge(ctx, in.ID, []store.UID{3, 4, 9})
	noErr(t, err)
	if !slices.Equal(gone, []store.UID{3}) {
		t.Fatalf("expunged %v", gone)
	}
	// Nothing to expunge: no change, no modseq.
	hms := mailboxByID(t, s, in.ID).HighestModSeq
	gone, ch, err = s.Expunge(ctx, in.ID, nil)
	noErr(t, err)
	if len(gone) != 0 || len(ch) != 0 || mailboxByID(t, s, in.ID).HighestModSeq != hms {
		t.Fatalf("empty expunge: %v %+v", gone, ch)
	}
	_, _, err = s.Expunge(ctx, in.ID+1000, nil)
	wantErr(t, err, store.ErrNoMailbox)
}

func testCopyMove(t *testing.T, open func(t *testing.T) store.Store) {
	s := openClosed(t, open)
	ctx := context.Background()
	a, in := setup(t, s)
	dst := mkbox(t, s, a.ID, "Archive")
	appendN(t, s, dst.ID, 2) // dst UIDs start at 3
	msgs := []store.NewMessage{msg(1, `\Seen`), msg(2, "$Work"), msg(3, `\Deleted`)}
	_, _, err := s.AppendMessages(ctx, in.ID, msgs)
	noErr(t, err)

	res, ch, err := s.CopyMessages(ctx, in.ID, []store.UID{1, 3, 4}, dst.ID)
	noErr(t, err)
	if res.UIDValidity != dst.UIDValidity || !slices.Equal(res.SrcUIDs, []store.UID{1, 3}) || !slices.Equal(res.DstUIDs, []store.UID{3, 4}) {
		t.Fatalf("copy result %+v", res)
	}
	if len(ch) != 2 || ch[0].Kind != store.ChangeAdded || ch[0].MailboxID != dst.ID || ch[0].UID != 3 ||
		ch[0].AccountID != a.ID || !ch[0].Flags.Has(`\Seen`) || !ch[1].Flags.Has(`\Deleted`) {
		t.Fatalf("copy changes %+v", ch)
	}
	// A copy shares the blob and keeps flags and internal date
	// (RFC 9051 §6.4.7).
	var src, cp *store.Message
	noErr(t, s.FetchMessages(ctx, in.ID, []store.UID{1}, store.FieldAll, func(m *store.Message) error { c := *m; src = &c; return nil }))
	noErr(t, s.FetchMessages(ctx, dst.ID, []store.UID{3}, store.FieldAll, func(m *store.Message) error { c := *m; cp = &c; return nil }))
	if cp.BlobID != src.BlobID || !cp.InternalDate.Equal(src.InternalDate) || !cp.Flags.Equal(src.Flags) ||
		string(cp.Envelope) != string(src.Envelope) || cp.Size != src.Size || cp.Subject != src.Subject {
		t.Fatalf("copy %+v of %+v", cp, src)
	}
	if got := uidsOf(t, s, in.ID); len(got) != 3 {
		t.Fatalf("copy removed source messages: %v", got)
	}

	res, ch, err = s.MoveMessages(ctx, in.ID, []store.UID{2, 3}, dst.ID)
	noErr(t, err)
	if !slices.Equal(res.SrcUIDs, []store.UID{2, 3}) || !slices.Equal(res.DstUIDs, []store.UID{5, 6}) {
		t.Fatalf("move result %+v", res)
	}
	var kinds []string
	for _, c := range ch {
		kinds = append(kinds, fmt.Sprintf("%d:%d:%d", c.Kind, c.MailboxID, c.UID))
	}
	want := []string{
		fmt.Sprintf("%d:%d:5", store.ChangeAdded, dst.ID), fmt.Sprintf("%d:%d:6", store.ChangeAdded, dst.ID),
		fmt.Sprintf("%d:%d:2", store.ChangeExpunged, in.ID), fmt.Sprintf("%d:%d:3", store.ChangeExpunged, in.ID),
	}
	if !slices.Equal(kinds, want) {
		t.Fatalf("move changes %v, want %v", kinds, want)
	}
	if got := uidsOf(t, s, in.ID); !slices.Equal(got, []store.UID{1}) {
		t.Fatalf("source after move %v", got)
	}
	if got := uidsOf(t, s, dst.ID); !slices.Equal(got, []store.UID{1, 2, 3, 4, 5, 6}) {
		t.Fatalf("dst after move %v", got)
	}
	f, _ := flagsOf(t, s, dst.ID, 5)
	if !f.Has("$work") {
		t.Fatalf("moved flags %v", f)
	}
	// Nothing matched: empty result, no changes.
	res, ch, err = s.MoveMessages(ctx, in.ID, []store.UID{40}, dst.ID)
	noErr(t, err)
	if len(res.DstUIDs) != 0 || len(ch) != 0 {
		t.Fatalf("empty move %+v %+v", res, ch)
	}
	_, _, err = s.CopyMessages(ctx, in.ID, []store.UID{1}, dst.ID+1000)
	wantErr(t, err, store.ErrNoMailbox)
	for _, id := range []int64{in.ID, dst.ID} {
		st := must[*store.Status](t)(s.MailboxStatus(ctx, id))
		n := len(uidsOf(t, s, id))
		if int(st.Messages) != n {
			t.Fatalf("mailbox %d: status %+v, %d uids", id, st, n)
		}
	}
}

func testMoveSame(t *testing.T, open func(t *testing.T) store.Store) {
	s := openClosed(t, open)
	ctx := context.Background()
	_, in := setup(t, s)
	appendN(t, s, in.ID, 2)
	res, ch, err := s.MoveMessages(ctx, in.ID, []store.UID{1}, in.ID)
	noErr(t, err)
	if !slices.Equal(res.DstUIDs, []store.UID{3}) || len(ch) != 2 || ch[1].ModSeq <= ch[0].ModSeq {
		t.Fatalf("move into self %+v %+v", res, ch)
	}
	if got := uidsOf(t, s, in.ID); !slices.Equal(got, []store.UID{2, 3}) {
		t.Fatalf("uids %v", got)
	}
	if mb := mailboxByID(t, s, in.ID); mb.HighestModSeq != ch[1].ModSeq || mb.UIDNext != 4 {
		t.Fatalf("mailbox %+v", mb)
	}
}

func testStatus(t *testing.T, open func(t *testing.T) store.Store) {
	s := openClosed(t, open)
	ctx := context.Background()
	a, in := setup(t, s)
	other := mkbox(t, s, a.ID, "Other")
	check := func(what string, id int64, messages, unseen, deleted, recent uint32) {
		t.Helper()
		st, err := s.MailboxStatus(ctx, id)
		noErr(t, err)
		var size int64
		var n, un, del uint32
		uids := uidsOf(t, s, id)
		noErr(t, s.FetchMessages(ctx, id, uids, store.FieldFlags|store.FieldBasics, func(m *store.Message) error {
			n++
			size += m.Size
			if !m.Flags.Has(`\Seen`) {
				un++
			}
			if m.Flags.Has(`\Deleted`) {
				del++
			}
			return nil
		}))
		if st.Messages != messages || st.Unseen != unseen || st.Deleted != deleted || st.Recent != recent ||
			st.Messages != n || st.Unseen != un || st.Deleted != del || st.Size != size || st.Mailbox.ID != id {
			t.Fatalf("%s: status %+v, want %d/%d/%d/%d (counted %d/%d/%d size %d)", what, st,
				messages, unseen, deleted, recent, n, un, del, size)
		}
	}
	check("empty", in.ID, 0, 0, 0, 0)
	_, _, err := s.AppendMessages(ctx, in.ID, []store.NewMessage{msg(1), msg(2, `\Seen`), msg(3, `\Deleted`), msg(4, `\Seen`, `\Deleted`)})
	noErr(t, err)
	check("append", in.ID, 4, 2, 2, 4)
	_, _, _, err = s.StoreFlags(ctx, in.ID, []store.UID{1}, store.FlagsReplace, store.FlagsFromNames([]string{`\Seen`, `\Deleted`}), 0)
	noErr(t, err)
	check("store", in.ID, 4, 1, 3, 4)
	_, err = s.ClaimRecent(ctx, in.ID, math.MaxUint32)
	noErr(t, err)
	check("claim", in.ID, 4, 1, 3, 0)
	_, _, err = s.CopyMessages(ctx, in.ID, []store.UID{1, 3}, other.ID)
	noErr(t, err)
	check("copy dst", other.ID, 2, 1, 2, 2)
	_, _, err = s.Expunge(ctx, in.ID, nil)
	noErr(t, err)
	check("expunge", in.ID, 1, 0, 0, 0)
	_, _, err = s.MoveMessages(ctx, other.ID, []store.UID{1, 2}, in.ID)
	noErr(t, err)
	check("move src", other.ID, 0, 0, 0, 0)
	check("move dst", in.ID, 3, 1, 2, 2)
}

func testClaimRecent(t *testing.T, open func(t *testing.T) store.Store) {
	s := openClosed(t, open)
	ctx := context.Background()
	_, in := setup(t, s)
	first := must[store.UID](t)(s.ClaimRecent(ctx, in.ID, math.MaxUint32))
	if first != 1 {
		t.Fatalf("first claim on empty = %d", first)
	}
	appendN(t, s, in.ID, 3)
	// The first session to claim gets UIDs 1..3 as \Recent.
	if got := must[store.UID](t)(s.ClaimRecent(ctx, in.ID, math.MaxUint32)); got != 1 {
		t.Fatalf("claim = %d, want 1", got)
	}
	// A second session sees none.
	if got := must[store.UID](t)(s.ClaimRecent(ctx, in.ID, math.MaxUint32)); got != 4 {
		t.Fatalf("second claim = %d, want 4", got)
	}
	if mb := mailboxByID(t, s, in.ID); mb.FirstRecent != 4 {
		t.Fatalf("FirstRecent = %d", mb.FirstRecent)
	}
	appendN(t, s, in.ID, 2)
	if got := must[store.UID](t)(s.ClaimRecent(ctx, in.ID, math.MaxUint32)); got != 4 {
		t.Fatalf("third claim = %d, want 4", got)
	}
	// A claim bounded by the caller's view leaves later UIDs to the next
	// session: with 7 and 8 new, a session that listed only 7 claims 7
	// alone, and 8 stays claimable.
	appendN(t, s, in.ID, 1) // UID 6
	if got := must[store.UID](t)(s.ClaimRecent(ctx, in.ID, 6)); got != 6 {
		t.Fatalf("claim to 6 = %d, want 6", got)
	}
	appendN(t, s, in.ID, 2) // UIDs 7, 8
	if got := must[store.UID](t)(s.ClaimRecent(ctx, in.ID, 7)); got != 7 {
		t.Fatalf("claim to 7 = %d, want 7", got)
	}
	if mb := mailboxByID(t, s, in.ID); mb.FirstRecent != 8 {
		t.Fatalf("FirstRecent after a claim to 7 = %d, want 8", mb.FirstRecent)
	}
	// A bound below FirstRecent claims nothing and changes nothing.
	if got := must[store.UID](t)(s.ClaimRecent(ctx, in.ID, 3)); got != 8 {
		t.Fatalf("claim to 3 = %d, want 8", got)
	}
	if got := must[store.UID](t)(s.ClaimRecent(ctx, in.ID, math.MaxUint32)); got != 8 {
		t.Fatalf("claim of the rest = %d, want 8", got)
	}
	if mb := mailboxByID(t, s, in.ID); mb.FirstRecent != 9 {
		t.Fatalf("FirstRecent = %d, want 9", mb.FirstRecent)
	}
	_, err := s.ClaimRecent(ctx, in.ID+1000, math.MaxUint32)
	wantErr(t, err, store.ErrNoMailbox)
}

func testBlobRefs(t *testing.T, open func(t *testing.T) store.Store) {
	s := openClosed(t, open)
	ctx := context.Background()
	a, in := setup(t, s)
	other := mkbox(t, s, a.ID, "Other")
	appendN(t, s, in.ID, 3) // blobs ..0, ..1, ..2
	_, _, err := s.CopyMessages(ctx, in.ID, []store.UID{1, 2}, other.ID)
	noErr(t, err)
	var refs []string
	noErr(t, s.BlobRefs(ctx, func(id string) error { refs = append(refs, id); return nil }))
	slices.Sort(refs)
	want := []string{msg(0).BlobID, msg(1).BlobID, msg(2).BlobID}
	if !slices.Equal(refs, want) {
		t.Fatalf("BlobRefs = %v", refs)
	}
	// Still referenced by the copy after the original is expunged.
	_, _, err = s.Expunge(ctx, in.ID, []store.UID{1, 3})
	noErr(t, err)
	for _, tc := range []struct {
		id   string
		want bool
	}{{msg(0).BlobID, true}, {msg(1).BlobID, true}, {msg(2).BlobID, false}, {"nope", false}} {
		if got := must[bool](t)(s.BlobReferenced(ctx, tc.id)); got != tc.want {
			t.Errorf("BlobReferenced(%s) = %v", tc.id, got)
		}
	}
	stop := errors.New("stop")
	if err := s.BlobRefs(ctx, func(string) error { return stop }); !errors.Is(err, stop) {
		t.Fatalf("BlobRefs error = %v", err)
	}
}

// quotaSetter is implemented by backends that can set quotas.
type quotaSetter interface {
	SetQuota(ctx context.Context, accountID int64, quotaBytes int64) error
}

func testQuota(t *testing.T, open func(t *testing.T) store.Store) {
	s := openClosed(t, open)
	qs, ok := s.(quotaSetter)
	if !ok {
		t.Skip("backend has no SetQuota")
	}
	ctx := context.Background()
	a, in := setup(t, s)
	noErr(t, qs.SetQuota(ctx, a.ID, 250))
	if got := must[*store.Account](t)(s.AccountByID(ctx, a.ID)); got.QuotaBytes != 250 {
		t.Fatalf("QuotaBytes = %d", got.QuotaBytes)
	}
	appendN(t, s, in.ID, 1)                                                       // 100 bytes
	_, _, err := s.AppendMessages(ctx, in.ID, []store.NewMessage{msg(1), msg(2)}) // 101+102
	wantErr(t, err, store.ErrOverQuota)
	if !strings.Contains(err.Error(), "quota") {
		t.Fatalf("error does not name the limit: %v", err)
	}
	_, _, err = s.CopyMessages(ctx, in.ID, []store.UID{1}, in.ID)
	noErr(t, err)
	_, _, err = s.CopyMessages(ctx, in.ID, []store.UID{1}, in.ID)
	wantErr(t, err, store.ErrOverQuota)
	// Moving within the account does not need more space... but it is a
	// copy plus expunge in one transaction; the over-quota check may
	// refuse it. Expunging frees space.
	_, _, err = s.Expunge(ctx, in.ID, []store.UID{1})
	noErr(t, err)
	appendN(t, s, in.ID, 1)
}

func testDeleteAccount(t *testing.T, open func(t *testing.T) store.Store) {
	s := openClosed(t, open)
	ctx := context.Background()
	a, in := setup(t, s)
	b := must[*store.Account](t)(s.CreateAccount(ctx, "other", nil))
	binbox := inbox(t, s, b.ID)
	appendN(t, s, in.ID, 2)
	appendN(t, s, binbox.ID, 1)
	_, err := s.SetSubscribed(ctx, a.ID, "INBOX", true)
	noErr(t, err)
	noErr(t, s.DeleteAccount(ctx, a.ID))
	wantErr(t, s.DeleteAccount(ctx, a.ID), store.ErrNoAccount)
	_, err = s.Account(ctx, "user@example.org")
	wantErr(t, err, store.ErrNoAccount)
	_, err = s.MailboxByID(ctx, in.ID)
	wantErr(t, err, store.ErrNoMailbox)
	if mbs := must[[]store.Mailbox](t)(s.Mailboxes(ctx, a.ID)); len(mbs) != 0 {
		t.Fatalf("mailboxes left: %+v", mbs)
	}
	if subs := must[[]string](t)(s.Subscriptions(ctx, a.ID)); len(subs) != 0 {
		t.Fatalf("subscriptions left: %v", subs)
	}
	if ok := must[bool](t)(s.BlobReferenced(ctx, msg(1).BlobID)); ok {
		t.Fatal("deleted account's blob still referenced")
	}
	if got := uidsOf(t, s, binbox.ID); len(got) != 1 {
		t.Fatalf("other account lost messages: %v", got)
	}
	// The name can be used again, and gets new mailboxes.
	a2 := must[*store.Account](t)(s.CreateAccount(ctx, "user@example.org", nil))
	in2 := inbox(t, s, a2.ID)
	if in2.UIDValidity <= in.UIDValidity {
		t.Fatalf("new INBOX UIDVALIDITY %d <= %d", in2.UIDValidity, in.UIDValidity)
	}
}

// testConcurrent runs writers and readers at once: nothing may fail (a
// backend must hide lock contention such as SQLITE_BUSY), and the
// invariants must hold afterwards.
func testConcurrent(t *testing.T, open func(t *testing.T) store.Store) {
	s := openClosed(t, open)
	ctx := context.Background()
	a, in := setup(t, s)
	const writers, perWriter, readers = 8, 25, 4
	var wg sync.WaitGroup
	errc := make(chan error, writers+readers)
	var mu sync.Mutex
	var all []store.UID
	done := make(chan struct{})
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mb, _, err := s.CreateMailbox(ctx, a.ID, fmt.Sprintf("w%d", w), "")
			if err != nil {
				errc <- err
				return
			}
			for i := range perWriter {
				uids, _, err := s.AppendMessages(ctx, in.ID, []store.NewMessage{msg(w*1000 + i)})
				if err != nil {
					errc <- fmt.Errorf("writer %d append: %w", w, err)
					return
				}
				mu.Lock()
				all = append(all, uids...)
				mu.Unlock()
				if _, _, _, err := s.StoreFlags(ctx, in.ID, uids, store.FlagsAdd, store.FlagsFromNames([]string{`\Seen`, fmt.Sprintf("k%d", w)}), 0); err != nil {
					errc <- fmt.Errorf("writer %d store: %w", w, err)
					return
				}
				if i%5 == 0 {
					if _, _, err := s.MoveMessages(ctx, in.ID, uids, mb.ID); err != nil {
						errc <- fmt.Errorf("writer %d move: %w", w, err)
						return
					}
				}
			}
		}()
	}
	var rwg sync.WaitGroup
	for r := range readers {
		rwg.Add(1)
		go func() {
			defer rwg.Done()
			for {
				select {
				case <-done:
					return
				default:
				}
				mb, uids, err := s.MessageUIDs(ctx, in.ID)
				if err != nil {
					errc <- fmt.Errorf("reader %d: %w", r, err)
					return
				}
				if len(uids) > 0 && uids[len(uids)-1] >= mb.UIDNext {
					errc <- fmt.Errorf("reader %d: uid %d >= uidnext %d", r, uids[len(uids)-1], mb.UIDNext)
					return
				}
				prev := store.UID(0)
				if err := s.FetchMessages(ctx, in.ID, uids, store.FieldFlags, func(m *store.Message) error {
					if m.UID <= prev || m.ModSeq == 0 {
						return fmt.Errorf("bad order/modseq %d after %d", m.UID, prev)
					}
					prev = m.UID
					return nil
				}); err != nil {
					errc <- fmt.Errorf("reader %d fetch: %w", r, err)
					return
				}
				if _, err := s.MailboxStatus(ctx, in.ID); err != nil {
					errc <- fmt.Errorf("reader %d status: %w", r, err)
					return
				}
				if _, err := s.Mailboxes(ctx, a.ID); err != nil {
					errc <- fmt.Errorf("reader %d list: %w", r, err)
					return
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
	if len(slices.Compact(slices.Clone(all))) != writers*perWriter {
		t.Fatalf("duplicate UIDs handed out: %d unique of %d", len(slices.Compact(slices.Clone(all))), len(all))
	}
	st := must[*store.Status](t)(s.MailboxStatus(ctx, in.ID))
	moved := writers * ((perWriter + 4) / 5)
	if int(st.Messages) != writers*perWriter-moved || st.Unseen != 0 {
		t.Fatalf("status after concurrency: %+v (moved %d)", st, moved)
	}
	if st.Mailbox.UIDNext != store.UID(writers*perWriter+1) {
		t.Fatalf("UIDNext %d", st.Mailbox.UIDNext)
	}
}
