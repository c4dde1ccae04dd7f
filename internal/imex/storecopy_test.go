package imex

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
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

// failingStore fails AppendMessagesAt after ok calls: an interrupted copy.
type failingStore struct {
	store.Store
	ok int
}

var errInterrupted = errors.New("interrupted")

func (f *failingStore) AppendMessagesAt(ctx context.Context, id int64, uids []store.UID, msgs []store.NewMessage, next store.UID) ([]store.Change, error) {
	if len(msgs) > 0 {
		if f.ok == 0 {
			return nil, errInterrupted
		}
		f.ok--
	}
	return f.Store.AppendMessagesAt(ctx, id, uids, msgs, next)
}

func (f *failingStore) SetModSeqs(ctx context.Context, id int64, uids []store.UID, ms []store.ModSeq, h store.ModSeq) error {
	return f.Store.(store.ModSeqSetter).SetModSeqs(ctx, id, uids, ms, h)
}

type msgState struct {
	uid    store.UID
	modseq store.ModSeq
	flags  string
	date   int64
	size   int64
	blob   string
	// RFC 8474 EMAILID and THREADID, carried by the copy.
	emailID, threadID int64
}

func boxState(t *testing.T, s store.Store, acct int64, name string) (*store.Mailbox, []msgState) {
	t.Helper()
	ctx := context.Background()
	mb, err := s.Mailbox(ctx, acct, name)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	mb2, uids, err := s.MessageUIDs(ctx, mb.ID)
	if err != nil {
		t.Fatal(err)
	}
	var out []msgState
	err = s.FetchMessages(ctx, mb.ID, uids, store.FieldFlags|store.FieldBasics, func(m *store.Message) error {
		out = append(out, msgState{m.UID, m.ModSeq, strings.ToLower(strings.Join(m.Flags.Names(), " ")), m.InternalDate.Unix(), m.Size, m.BlobID,
			m.EmailID, m.ThreadID})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return mb2, out
}

// TestStoreCopyResume: a copy interrupted half way through a mailbox
// continues from the target's UIDNEXT; flags changed and messages
// expunged in the source in between are brought in line; a third run
// changes nothing; quota overrides, METADATA, ACLs, groups, aliases and
// Sieve scripts arrive; a target account with another password hash is
// refused.
func TestStoreCopyResume(t *testing.T) {
	ctx := context.Background()
	dstURL := pgtest.Database(t)
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
	dst, err := postgres.Open(ctx, dstURL, postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	dstBlobs, err := fs.Open(filepath.Join(t.TempDir(), "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	d := &deliver.Deliverer{Store: src, Blobs: srcBlobs, Bus: notify.New(), InlineMax: 4096}

	alice, err := src.CreateAccount(ctx, "alice", []byte("secret-a"))
	if err != nil {
		t.Fatal(err)
	}
	inbox, err := src.Mailbox(ctx, alice.ID, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	lists, _, err := src.CreateMailbox(ctx, alice.ID, "Lists", `\Archive`)
	if err != nil {
		t.Fatal(err)
	}
	date := time.Date(2023, 5, 6, 7, 8, 9, 0, time.UTC)
	for i := range 30 {
		// Threads of five: each message refers to the first of its five.
		root := fmt.Sprintf("m%d@x", i-i%5)
		if i == 28 {
			// A parent filed in Lists before its reply in INBOX: the
			// copy takes INBOX first, where the reply would start a
			// thread of its own if its THREADID were not carried.
			if _, err := d.Deliver(ctx, lists.ID, strings.NewReader("Message-ID: <lp@x>\r\nSubject: lp\r\n\r\nlp\r\n"), 0, store.Flags{}, date); err != nil {
				t.Fatal(err)
			}
			root = "lp@x"
		}
		body := fmt.Sprintf("Message-ID: <m%d@x>\r\nReferences: <%s>\r\nSubject: %d\r\n\r\n%s\r\n",
			i, root, i, strings.Repeat("x", (i%3)*3000)) // some over InlineMax
		fl := store.FlagsFromNames(map[int][]string{0: {`\Seen`}, 1: {"$Label1", `\Flagged`}, 2: nil}[i%3])
		if _, err := d.Deliver(ctx, inbox.ID, strings.NewReader(body), 0, fl, date.Add(time.Duration(i)*time.Minute)); err != nil {
			t.Fatal(err)
		}
		if i%3 == 0 {
			if _, err := d.Deliver(ctx, lists.ID, strings.NewReader(body), 0, store.Flags{}, date); err != nil {
				t.Fatal(err)
			}
		}
	}
	// Expunged gaps and flag changes (MODSEQs spread out).
	if _, _, err := src.Expunge(ctx, inbox.ID, []store.UID{4, 5, 17}); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := src.StoreFlags(ctx, inbox.ID, []store.UID{3, 20}, store.FlagsAdd, store.FlagsFromNames([]string{"Work"}), 0); err != nil {
		t.Fatal(err)
	}
	// Account data beside the mail.
	noErr := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	noErr(src.SetQuotaLimits(ctx, alice.ID, store.QuotaLimits{Storage: 1 << 30, Messages: store.QuotaInherit}))
	noErr(src.SetMetadata(ctx, alice.ID, 0, []store.MetadataEntry{{Name: "/private/comment", Value: []byte("mine")}}, store.MetadataLimits{}))
	noErr(src.SetMetadata(ctx, alice.ID, lists.ID, []store.MetadataEntry{{Name: "/shared/comment", Value: []byte("lists")}}, store.MetadataLimits{}))
	noErr(src.SetACL(ctx, lists.ID, "$staff", "lr"))
	if _, err := src.SetGroupMember(ctx, "staff", "alice", true); err != nil {
		t.Fatal(err)
	}
	noErr(src.AddAlias(ctx, "info@example.org", alice.ID))
	noErr(src.PutSieveScript(ctx, alice.ID, "main", []byte("keep;\r\n"), 0))
	noErr(src.SetActiveSieveScript(ctx, alice.ID, "main"))
	noErr(src.AddAppPassword(ctx, alice.ID, "phone", []byte("hash-of-phone"), []string{"imap"}))

	copier := func(s store.Store) *StoreCopier {
		return &StoreCopier{Src: src, SrcBlobs: srcBlobs, SrcInline: src, Dst: s, DstFiles: dstBlobs, DstInlineMax: 4096, BatchMessages: 4}
	}
	// Interrupted after two batches of INBOX.
	if _, err := copier(&failingStore{Store: dst, ok: 2}).Run(ctx, nil); !errors.Is(err, errInterrupted) {
		t.Fatalf("interrupted run: %v", err)
	}
	dacct, err := dst.Account(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	half, msgs := boxState(t, dst, dacct.ID, "INBOX")
	if len(msgs) != 8 || half.UIDNext != msgs[7].uid+1 {
		t.Fatalf("after the interruption: %d messages, UIDNEXT %d", len(msgs), half.UIDNext)
	}
	// The source moves on: a copied message changes flags, another is
	// expunged, a new one arrives.
	if _, _, _, err := src.StoreFlags(ctx, inbox.ID, []store.UID{1}, store.FlagsAdd, store.FlagsFromNames([]string{`\Answered`}), 0); err != nil {
		t.Fatal(err)
	}
	if _, _, err := src.Expunge(ctx, inbox.ID, []store.UID{2}); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Deliver(ctx, inbox.ID, strings.NewReader("Subject: late\r\n\r\nlate\r\n"), 0, store.Flags{}, date); err != nil {
		t.Fatal(err)
	}

	st, err := copier(dst).Run(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if st.Expunged != 1 || st.FlagsFixed < 1 || st.Messages == 0 {
		t.Fatalf("resumed run: %+v", st)
	}
	for _, name := range []string{"INBOX", "Lists"} {
		smb, sm := boxState(t, src, alice.ID, name)
		dmb, dm := boxState(t, dst, dacct.ID, name)
		if !slices.Equal(sm, dm) {
			t.Errorf("%s: target\n%v\nsource\n%v", name, dm, sm)
		}
		joined := 0 // messages in a thread another message started
		for _, m := range sm {
			if m.threadID == 0 {
				t.Errorf("%s: source uid %d has no THREADID", name, m.uid)
			}
			if m.threadID != m.emailID {
				joined++
			}
		}
		if joined == 0 {
			t.Errorf("%s: no message joined another's thread; the THREADID check proves nothing", name)
		}
		t.Logf("%s: HIGHESTMODSEQ target %d source %d", name, dmb.HighestModSeq, smb.HighestModSeq)
		if dmb.UIDValidity != smb.UIDValidity || dmb.UIDNext != smb.UIDNext || dmb.HighestModSeq < smb.HighestModSeq || dmb.SpecialUse != smb.SpecialUse {
			t.Errorf("%s: target %+v, source %+v", name, dmb, smb)
		}
	}
	// Tombstones: QRESYNC's VANISHED (EARLIER) as in the source.
	for _, since := range []store.ModSeq{0, 30, 34} {
		sinb, _ := src.Mailbox(ctx, alice.ID, "INBOX")
		dinb, _ := dst.Mailbox(ctx, dacct.ID, "INBOX")
		se, err1 := src.ExpungedSince(ctx, sinb.ID, since)
		de, err2 := dst.ExpungedSince(ctx, dinb.ID, since)
		if err1 != nil || err2 != nil || !slices.Equal(se, de) || since == 0 && len(se) != 4 {
			t.Errorf("expunged since %d: target %v, source %v (%v %v)", since, de, se, err1, err2)
		}
	}
	// Bytes: inline and file blobs both readable on the target.
	_, dm := boxState(t, dst, dacct.ID, "INBOX")
	var inline, files int
	for _, m := range dm {
		if b, ok, err := dst.OpenInline(ctx, m.blob); err == nil && ok && int64(len(b)) == m.size {
			inline++
			continue
		}
		r, err := dstBlobs.Open(ctx, m.blob)
		if err != nil {
			t.Fatalf("UID %d: blob %s: %v", m.uid, m.blob, err)
		}
		if r.Size() != m.size {
			t.Errorf("UID %d: blob of %d bytes, RFC822.SIZE %d", m.uid, r.Size(), m.size)
		}
		r.Close()
		files++
	}
	if inline == 0 || files == 0 {
		t.Errorf("inline %d, files %d: want both", inline, files)
	}

	// Again: nothing copied, nothing changed.
	_, before := boxState(t, dst, dacct.ID, "INBOX")
	st, err = copier(dst).Run(ctx, nil)
	if err != nil || st.Messages != 0 || st.FlagsFixed != 0 || st.Expunged != 0 || st.Accounts != 0 || st.MailboxesSkipped != 2 {
		t.Fatalf("third run: %+v, %v", st, err)
	}
	if _, after := boxState(t, dst, dacct.ID, "INBOX"); !slices.Equal(before, after) {
		t.Fatalf("third run changed INBOX")
	}

	// Account data.
	if q, err := dst.Quota(ctx, dacct.ID); err != nil || q.Override.Storage != 1<<30 || q.Override.Messages != store.QuotaInherit {
		t.Errorf("quota override %+v, %v", q, err)
	}
	dlists, _ := dst.Mailbox(ctx, dacct.ID, "Lists")
	if es, err := dst.MetadataEntries(ctx, dacct.ID, 0); err != nil || len(es) != 1 || string(es[0].Value) != "mine" {
		t.Errorf("server METADATA %v, %v", es, err)
	}
	if es, err := dst.MetadataEntries(ctx, dacct.ID, dlists.ID); err != nil || len(es) != 1 || string(es[0].Value) != "lists" {
		t.Errorf("Lists METADATA %v, %v", es, err)
	}
	if es, err := dst.ACL(ctx, dlists.ID); err != nil || !slices.Contains(es, store.ACLEntry{Identifier: "$staff", Rights: "lr"}) {
		t.Errorf("ACL %v, %v", es, err)
	}
	if gm, err := dst.GroupMembers(ctx); err != nil || !slices.Contains(gm, store.GroupMember{Group: "staff", Account: "alice"}) {
		t.Errorf("groups %v, %v", gm, err)
	}
	if id, err := dst.AliasTarget(ctx, "info@example.org"); err != nil || id != dacct.ID {
		t.Errorf("alias -> %d, %v", id, err)
	}
	if sc, err := dst.ActiveSieveScript(ctx, dacct.ID); err != nil || sc == nil || sc.Name != "main" || !bytes.Equal(sc.Script, []byte("keep;\r\n")) {
		t.Errorf("active Sieve script %+v, %v", sc, err)
	}

	if ap, err := dst.AppPasswordByHash(ctx, []byte("hash-of-phone")); err != nil || ap.AccountID != dacct.ID || ap.Label != "phone" || !slices.Equal(ap.Protocols, []string{"imap"}) {
		t.Errorf("app password %+v, %v", ap, err)
	}

	// Another account of the same name on the target: refused.
	if _, err := src.CreateAccount(ctx, "carol", []byte("secret-c")); err != nil {
		t.Fatal(err)
	}
	if _, err := dst.CreateAccount(ctx, "carol", []byte("other")); err != nil {
		t.Fatal(err)
	}
	if _, err := copier(dst).Run(ctx, []string{"carol"}); !errors.Is(err, ErrCopyConflict) {
		t.Fatalf("conflicting account: %v", err)
	}
}
