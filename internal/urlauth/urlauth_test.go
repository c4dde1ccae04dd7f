package urlauth

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"barid/internal/blob/fs"
	"barid/internal/blob/tiered"
	"barid/internal/deliver"
	"barid/internal/imap/imapurl"
	"barid/internal/mail/mime"
	"barid/internal/notify"
	"barid/internal/store"
	"barid/internal/store/sqlite"
)

const testMsg = "From: a@example.org\r\n" +
	"Subject: test\r\n" +
	"MIME-Version: 1.0\r\n" +
	"Content-Type: multipart/mixed; boundary=xx\r\n" +
	"\r\n" +
	"--xx\r\n" +
	"Content-Type: text/plain\r\n" +
	"\r\n" +
	"Sample attachment text here\r\n" +
	"--xx\r\n" +
	"Content-Type: application/octet-stream\r\n" +
	"Content-Transfer-Encoding: base64\r\n" +
	"\r\n" +
	"aGVsbG8gd29ybGQ=\r\n" +
	"--xx--\r\n"

type env struct {
	s     *Service
	st    *sqlite.Store
	alice *store.Account
	bob   *store.Account
	inbox *store.Mailbox
	uid   store.UID
	now   time.Time
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	st, err := sqlite.Open(ctx, filepath.Join(dir, "barid.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	files, err := fs.Open(filepath.Join(dir, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	blobs := tiered.New(st, files)
	e := &env{st: st, now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	e.alice, err = st.CreateAccount(ctx, "alice", nil)
	if err != nil {
		t.Fatal(err)
	}
	e.bob, err = st.CreateAccount(ctx, "bob", nil)
	if err != nil {
		t.Fatal(err)
	}
	e.inbox, err = st.Mailbox(ctx, e.alice.ID, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	d := &deliver.Deliverer{Store: st, Blobs: blobs, Bus: notify.New(), Limits: mime.DefaultLimits(), InlineMax: 65536}
	e.uid, err = d.Deliver(ctx, e.inbox.ID, strings.NewReader(testMsg), 0, store.Flags{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	e.s = &Service{Store: st, Blobs: blobs, Now: func() time.Time { return e.now }}
	return e
}

func (e *env) gen(t *testing.T, rump string) string {
	t.Helper()
	u, err := e.s.Generate(context.Background(), e.alice, rump, "INTERNAL")
	if err != nil {
		t.Fatalf("Generate(%q): %v", rump, err)
	}
	return u
}

func readFn(t *testing.T) func(p *Part, err error) string {
	return func(p *Part, err error) string {
		t.Helper()
		return read(t, p, err)
	}
}

func read(t *testing.T, p *Part, err error) string {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	b, err := io.ReadAll(p.Body)
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(b)) != p.Size {
		t.Fatalf("read %d bytes, Size %d", len(b), p.Size)
	}
	return string(b)
}

func wantKind(t *testing.T, err, kind error) {
	t.Helper()
	if !errors.Is(err, kind) {
		t.Fatalf("got %v, want %v", err, kind)
	}
}

// The token is Dovecot's INTERNAL form: ":internal:" and the hex of
// 0x01 || HMAC-SHA1(mailbox key, rump URL), under the key the store keeps.
func TestTokenForm(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	rump := "imap://alice@example.org/INBOX/;uid=1/;section=1;urlauth=submit+bob"
	full := e.gen(t, rump)
	prefix := rump + ":internal:"
	if !strings.HasPrefix(full, prefix) {
		t.Fatalf("GENURLAUTH = %q", full)
	}
	got, err := hex.DecodeString(full[len(prefix):])
	if err != nil || len(got) != 21 || got[0] != 0x01 {
		t.Fatalf("token %q: %v", full[len(prefix):], err)
	}
	key, err := e.st.URLAuthKey(ctx, e.inbox.ID, nil)
	if err != nil || len(key) != 32 {
		t.Fatalf("key %x: %v", key, err)
	}
	m := hmac.New(sha1.New, key)
	m.Write([]byte(rump))
	if !hmac.Equal(got[1:], m.Sum(nil)) {
		t.Fatal("token is not HMAC-SHA1(key, rump)")
	}
	// Same rump, same key: same URL; the key is made once per mailbox.
	if again := e.gen(t, rump); again != full {
		t.Fatalf("second GENURLAUTH differs: %q", again)
	}
}

// RFC 4467 §2's flow: joe (here alice) authorizes submit+fred (bob) to
// fetch section 1.2 (here 1), and the submission server fetches it.
func TestGenerateFetchAccess(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	body := "Sample attachment text here"
	for _, tc := range []struct {
		access string
		ok     []Identity
		denied []Identity
	}{
		{"submit+bob", []Identity{{User: "bob", Application: "submit"}, {User: "BOB", Application: "submit"}},
			[]Identity{{User: "bob"}, {User: "alice", Application: "submit"}, {}}},
		{"user+bob", []Identity{{User: "bob"}}, []Identity{{User: "bob", Application: "submit"}, {User: "alice"}, {}}},
		{"authuser", []Identity{{User: "bob"}, {User: "alice"}}, []Identity{{}}},
		{"anonymous", []Identity{{}, {User: "bob"}}, nil},
	} {
		url := e.gen(t, "imap://alice@example.org/INBOX/;uid=1/;section=1;urlauth="+tc.access)
		for _, id := range tc.ok {
			if got := readFn(t)(e.s.Fetch(ctx, url, id, WantBody)); got != body {
				t.Errorf("%s as %+v: %q", tc.access, id, got)
			}
		}
		for _, id := range tc.denied {
			_, err := e.s.Fetch(ctx, url, id, WantBody)
			if !errors.Is(err, ErrDenied) {
				t.Errorf("%s as %+v: %v, want denied", tc.access, id, err)
			}
		}
	}
}

func TestFetchRejectsTampering(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	url := e.gen(t, "imap://alice@example.org/INBOX/;uid=1/;section=1;urlauth=anonymous")
	flip := url[:len(url)-1] + string("0123456789abcdef"[(strings.IndexByte("0123456789abcdef", url[len(url)-1])+1)%16])
	for _, bad := range []string{
		flip,
		strings.Replace(url, ";section=1;", ";section=2;", 1),
		strings.Replace(url, "INBOX", "Sent", 1),
		strings.Replace(url, "alice@", "bob@", 1),
		strings.Replace(url, "alice@", "nobody@", 1),
		strings.Replace(url, ":internal:", ":internal:00", 1),
	} {
		_, err := e.s.Fetch(ctx, bad, Identity{}, WantBody)
		wantKind(t, err, ErrDenied)
	}
	_, err := e.s.Fetch(ctx, strings.Replace(url, ":internal:", ":other:", 1), Identity{}, WantBody)
	wantKind(t, err, ErrUnsupported)
	_, err = e.s.Fetch(ctx, "imap://alice@example.org/INBOX/;uid=1;urlauth=anonymous", Identity{}, WantBody)
	wantKind(t, err, ErrSyntax)
}

// RFC 4467 §3.1: RESETKEY makes every URL signed with the old key fail;
// RFC 4467 §3.3: a URL for an expunged message fails.
func TestResetKeyAndExpunge(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	rump := "imap://alice@example.org/INBOX/;uid=1;urlauth=anonymous"
	url := e.gen(t, rump)
	if got := readFn(t)(e.s.Fetch(ctx, url, Identity{}, WantBody)); got != testMsg {
		t.Fatalf("whole message: %q", got)
	}
	if err := e.s.ResetKeys(ctx, e.alice, "INBOX"); err != nil {
		t.Fatal(err)
	}
	_, err := e.s.Fetch(ctx, url, Identity{}, WantBody)
	wantKind(t, err, ErrDenied)
	url2 := e.gen(t, rump)
	if url2 == url {
		t.Fatal("RESETKEY did not change the key")
	}
	readFn(t)(e.s.Fetch(ctx, url2, Identity{}, WantBody))
	if err := e.s.ResetKeys(ctx, e.alice, ""); err != nil {
		t.Fatal(err)
	}
	_, err = e.s.Fetch(ctx, url2, Identity{}, WantBody)
	wantKind(t, err, ErrDenied)

	url3 := e.gen(t, rump)
	if _, _, err := e.st.Expunge(ctx, e.inbox.ID, []store.UID{e.uid}); err != nil {
		t.Fatal(err)
	}
	_, err = e.s.Fetch(ctx, url3, Identity{}, WantBody)
	wantKind(t, err, ErrNotFound)
	_, err = e.s.Generate(ctx, e.alice, rump, "INTERNAL")
	wantKind(t, err, ErrNotFound)
}

func TestExpire(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	_, err := e.s.Generate(ctx, e.alice, "imap://alice@h/INBOX/;uid=1;expire=2026-01-01T00:00:00Z;urlauth=anonymous", "INTERNAL")
	wantKind(t, err, ErrExpired)
	url := e.gen(t, "imap://alice@h/INBOX/;uid=1;expire=2026-01-02T03:05:00Z;urlauth=anonymous")
	readFn(t)(e.s.Fetch(ctx, url, Identity{}, WantBody))
	e.now = e.now.Add(time.Minute)
	_, err = e.s.Fetch(ctx, url, Identity{}, WantBody)
	wantKind(t, err, ErrExpired)
}

func TestGenerateRefuses(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	for _, tc := range []struct {
		rump, mech string
		kind       error
	}{
		{"imap://alice@h/INBOX/;uid=1;urlauth=anonymous", "OTHER", ErrUnsupported},
		{"imap://bob@h/INBOX/;uid=1;urlauth=anonymous", "INTERNAL", ErrDenied},
		{"imap://h/INBOX/;uid=1;urlauth=anonymous", "INTERNAL", ErrSyntax},
		{"imap://alice@h/INBOX/;uid=1", "INTERNAL", ErrSyntax},
		{"imap://alice@h/INBOX;urlauth=anonymous", "INTERNAL", ErrSyntax},
		{"imap://alice@h/INBOX/;uid=1;urlauth=anonymous:internal:91354a473744909de610943775f92038", "INTERNAL", ErrSyntax},
		{"imap://alice@h/INBOX/;uid=9;urlauth=anonymous", "INTERNAL", ErrNotFound},
		{"imap://alice@h/Nope/;uid=1;urlauth=anonymous", "INTERNAL", ErrNotFound},
		{"imap://alice@h/INBOX;UIDVALIDITY=1/;uid=1;urlauth=anonymous", "INTERNAL", ErrNotFound},
		{"imap://alice@h/INBOX/;uid=1/;section=7;urlauth=anonymous", "INTERNAL", ErrNotFound},
		{"imap://alice@h/INBOX/;uid=1/;section=FOO;urlauth=anonymous", "INTERNAL", ErrSyntax},
	} {
		_, err := e.s.Generate(ctx, e.alice, tc.rump, tc.mech)
		if !errors.Is(err, tc.kind) {
			t.Errorf("Generate(%q, %s) = %v, want %v", tc.rump, tc.mech, err, tc.kind)
		}
	}
	e.s.Hosts = []string{"mail.example.org"}
	_, err := e.s.Generate(ctx, e.alice, "imap://alice@other.example/INBOX/;uid=1;urlauth=anonymous", "INTERNAL")
	wantKind(t, err, ErrSyntax)
	e.gen(t, "imap://alice@MAIL.example.org/INBOX/;uid=1;urlauth=anonymous")
}

// RFC 5524: BINARY decodes the part, BODYPARTSTRUCTURE describes it;
// RFC 5550: ;PARTIAL= cuts the result.
func TestBinaryStructurePartial(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	url := e.gen(t, "imap://alice@h/INBOX/;uid=1/;section=2;urlauth=anonymous")
	if got := readFn(t)(e.s.Fetch(ctx, url, Identity{}, WantBinary)); got != "hello world" {
		t.Fatalf("BINARY: %q", got)
	}
	if got := readFn(t)(e.s.Fetch(ctx, url, Identity{}, WantBody)); got != "aGVsbG8gd29ybGQ=" {
		t.Fatalf("BODY: %q", got)
	}
	p, err := e.s.Fetch(ctx, url, Identity{}, WantStructure)
	if err != nil {
		t.Fatal(err)
	}
	if want := `("application" "octet-stream" NIL NIL NIL "base64" 16 NIL NIL NIL NIL)`; string(p.Structure) != want || p.Body != nil {
		t.Fatalf("BODYPARTSTRUCTURE %s", p.Structure)
	}
	url = e.gen(t, "imap://alice@h/INBOX/;uid=1/;section=1/;partial=7.10;urlauth=anonymous")
	if got := readFn(t)(e.s.Fetch(ctx, url, Identity{}, WantBody)); got != "attachment" {
		t.Fatalf("partial: %q", got)
	}
	url = e.gen(t, "imap://alice@h/INBOX/;uid=1/;section=1/;partial=7;urlauth=anonymous")
	if got := readFn(t)(e.s.Fetch(ctx, url, Identity{}, WantBody)); got != "attachment text here" {
		t.Fatalf("partial to the end: %q", got)
	}
	url = e.gen(t, "imap://alice@h/INBOX/;uid=1/;section=HEADER;urlauth=anonymous")
	_, err = e.s.Fetch(ctx, url, Identity{}, WantBinary)
	wantKind(t, err, ErrSyntax)
}

// CATENATE's plain URLs: the owner only.
func TestOpen(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	open := func(acct *store.Account, raw string) (*Part, error) {
		u, err := imapurl.Resolve("imap://"+acct.Name+"@h/INBOX/", raw)
		if err != nil {
			t.Fatal(err)
		}
		return e.s.Open(ctx, acct, u, raw, WantBody)
	}
	hdr := "From: a@example.org\r\nSubject: test\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=xx\r\n\r\n"
	if got := readFn(t)(open(e.alice, "/INBOX/;uid=1/;section=HEADER")); got != hdr {
		t.Fatalf("HEADER: %q", got)
	}
	if got := readFn(t)(open(e.alice, ";uid=1/;section=1")); got != "Sample attachment text here" {
		t.Fatalf("relative: %q", got)
	}
	_, err := open(e.bob, "imap://alice@h/INBOX/;uid=1")
	wantKind(t, err, ErrDenied)
	_, err = open(e.bob, "/INBOX/;uid=1")
	wantKind(t, err, ErrNotFound) // bob's INBOX is empty
	_, err = open(e.alice, "/INBOX")
	wantKind(t, err, ErrSyntax)
	url := e.gen(t, "imap://alice@h/INBOX/;uid=1/;section=1;urlauth=user+bob")
	u, _ := imapurl.Parse(url)
	if got := readFn(t)(e.s.Open(ctx, e.bob, u, url, WantBody)); got != "Sample attachment text here" {
		t.Fatalf("URLAUTH in CATENATE: %q", got)
	}
}
