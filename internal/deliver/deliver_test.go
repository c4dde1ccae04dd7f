package deliver

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"barid/internal/blob/fs"
	"barid/internal/blob/tiered"
	"barid/internal/mail/mime"
	"barid/internal/notify"
	"barid/internal/store"
	"barid/internal/store/sqlite"
)

type env struct {
	d     *Deliverer
	st    *sqlite.Store
	files *fs.Store
	inbox int64
}

func newEnv(t *testing.T, inlineMax int64) *env {
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
	acc, err := st.CreateAccount(ctx, "alice", nil)
	if err != nil {
		t.Fatal(err)
	}
	mb, err := st.Mailbox(ctx, acc.ID, "INBOX")
	if errors.Is(err, store.ErrNoMailbox) {
		mb, _, err = st.CreateMailbox(ctx, acc.ID, "INBOX", "")
	}
	if err != nil {
		t.Fatal(err)
	}
	d := &Deliverer{Store: st, Blobs: tiered.New(st, files), Bus: notify.New(),
		Limits: mime.DefaultLimits(), InlineMax: inlineMax}
	return &env{d: d, st: st, files: files, inbox: mb.ID}
}

// message returns an RFC 5322 message (RFC 5322 §A.1.1's example
// header) of exactly n bytes (n >= 200).
func message(n int) []byte {
	h := "From: John Doe <jdoe@machine.example>\r\nTo: Mary Smith <mary@example.net>\r\n" +
		"Subject: Saying Hello\r\nDate: Fri, 21 Nov 1997 09:55:06 -0600\r\n" +
		"Message-ID: <1234@local.machine.example>\r\n\r\n"
	var b strings.Builder
	b.WriteString(h)
	for b.Len() < n {
		line := "This is a message just to say hello. So, \"Hello\".\r\n"
		b.WriteString(line[:min(len(line), n-b.Len())])
	}
	return []byte(b.String())
}

func fileCount(t *testing.T, files *fs.Store) int {
	t.Helper()
	n := 0
	if err := files.List(context.Background(), func(string, int64) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestInlineThreshold: messages up to InlineMax go inline (no file), one
// byte more goes to a file; both read back byte-identical through the
// tiered store under the SHA-256 ID; the limit on the message size
// applies either way.
func TestInlineThreshold(t *testing.T) {
	const limit = 4096
	tests := []struct {
		name       string
		inlineMax  int64
		size       int
		maxSize    int64
		wantInline bool
		wantErr    error
	}{
		{"well under", limit, 300, 0, true, nil},
		{"at the threshold", limit, limit, 0, true, nil},
		{"one over", limit, limit + 1, 0, false, nil},
		{"large", limit, 5*limit + 7, 0, false, nil},
		{"disabled", 0, 300, 0, false, nil},
		{"literal limit under the threshold", limit, 1000, 999, false, ErrTooBig},
		{"literal limit exactly", limit, 1000, 1000, true, nil},
		{"literal limit over the threshold", limit, 3 * limit, 2 * limit, false, ErrTooBig},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			e := newEnv(t, tc.inlineMax)
			msg := message(tc.size)
			// Odd read sizes exercise readUpTo's growth.
			p, err := e.d.Prepare(ctx, iotest.HalfReader(bytes.NewReader(msg)), tc.maxSize, store.Flags{}, time.Time{})
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("Prepare: %v, want %v", err, tc.wantErr)
			}
			if err != nil {
				if n := fileCount(t, e.files); n != 0 {
					t.Errorf("%d files left by a refused message", n)
				}
				return
			}
			sum := sha256.Sum256(msg)
			if p.BlobID != hex.EncodeToString(sum[:]) {
				t.Errorf("BlobID %s is not the SHA-256 of the message", p.BlobID)
			}
			if got := p.Inline != nil; got != tc.wantInline {
				t.Fatalf("inline = %v, want %v", got, tc.wantInline)
			}
			if tc.wantInline && !bytes.Equal(p.Inline, msg) {
				t.Fatal("Inline bytes differ from the message")
			}
			if p.Subject != "saying hello" || p.Size != int64(len(msg)) {
				t.Errorf("analysis: subject %q size %d", p.Subject, p.Size)
			}
			wantFiles := 1
			if tc.wantInline {
				wantFiles = 0
			}
			if n := fileCount(t, e.files); n != wantFiles {
				t.Errorf("%d blob files, want %d", n, wantFiles)
			}
			if _, err := e.d.Commit(ctx, e.inbox, []*Prepared{p}); err != nil {
				t.Fatal(err)
			}
			r, err := e.d.Blobs.Open(ctx, p.BlobID)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			got, err := io.ReadAll(io.NewSectionReader(r, 0, r.Size()))
			if err != nil || !bytes.Equal(got, msg) {
				t.Fatalf("read back %d bytes (%v), want the %d delivered", len(got), err, len(msg))
			}
		})
	}
}

// TestReadUpTo: never more than limit+1 bytes buffered, whatever the
// read sizes; an error of the source is returned.
func TestReadUpTo(t *testing.T) {
	for _, limit := range []int64{0, 1, 100, 16 << 10, 65536} {
		for _, n := range []int64{0, 1, limit - 1, limit, limit + 1, 3*limit + 5} {
			if n < 0 {
				continue
			}
			src := bytes.Repeat([]byte("x"), int(n))
			for name, r := range map[string]io.Reader{
				"one byte": iotest.OneByteReader(bytes.NewReader(src)),
				"half":     iotest.HalfReader(bytes.NewReader(src)),
				"data+EOF": iotest.DataErrReader(bytes.NewReader(src)),
			} {
				buf, whole, err := readUpTo(r, limit, 0)
				if err != nil {
					t.Fatalf("limit %d n %d %s: %v", limit, n, name, err)
				}
				if whole != (n <= limit) {
					t.Errorf("limit %d n %d %s: whole=%v", limit, n, name, whole)
				}
				if want := min(n, limit+1); int64(len(buf)) != want || int64(cap(buf)) > limit+1 {
					t.Errorf("limit %d n %d %s: len %d cap %d, want len %d cap <= %d", limit, n, name, len(buf), cap(buf), want, limit+1)
				}
			}
		}
	}
	boom := errors.New("connection reset")
	if _, _, err := readUpTo(iotest.TimeoutReader(iotest.OneByteReader(strings.NewReader("ab"))), 10, 0); err == nil {
		t.Error("a read error was swallowed")
	}
	if _, _, err := readUpTo(io.MultiReader(strings.NewReader("abc"), iotest.ErrReader(boom)), 10, 0); !errors.Is(err, boom) {
		t.Errorf("got %v, want %v", err, boom)
	}
}

// noInline is a store without OpenInline: Prepare must not hand it
// Inline bytes (it would drop them).
type noInline struct{ store.Store }

func TestInlineNeedsStoreSupport(t *testing.T) {
	e := newEnv(t, 1<<20)
	e.d.Store = noInline{e.st}
	p, err := e.d.Prepare(context.Background(), bytes.NewReader(message(500)), 0, store.Flags{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if p.Inline != nil {
		t.Error("Inline bytes handed to a store that cannot keep them")
	}
}

// TestInlineDedupe: the same small message to two mailboxes and twice to
// one shares one ID; all copies read back.
func TestInlineDedupe(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, 65536)
	msg := message(2000)
	var ids []string
	for i := range 3 {
		uid, err := e.d.Deliver(ctx, e.inbox, bytes.NewReader(msg), 0, store.Flags{}, time.Time{})
		if err != nil || uid != store.UID(i+1) {
			t.Fatalf("delivery %d: uid %d, %v", i, uid, err)
		}
	}
	err := e.st.FetchMessages(ctx, e.inbox, []store.UID{1, 2, 3}, store.FieldBasics, func(m *store.Message) error {
		ids = append(ids, m.BlobID)
		return nil
	})
	if err != nil || len(ids) != 3 || ids[0] != ids[1] || ids[1] != ids[2] {
		t.Fatalf("blob ids %v (%v)", ids, err)
	}
	n := 0
	e.st.InlineIDs(ctx, func(string) error { n++; return nil })
	if n != 1 || fileCount(t, e.files) != 0 {
		t.Errorf("%d inline rows and %d files, want 1 and 0", n, fileCount(t, e.files))
	}
	if _, err := e.d.Blobs.Open(ctx, ids[0]); err != nil {
		t.Fatal(err)
	}
}

// Prepared counts every message received, stored or refused.
func TestPreparedCounted(t *testing.T) {
	e := newEnv(t, 4096)
	ctx := context.Background()
	e.d.Prepare(ctx, bytes.NewReader(message(100)), 0, store.Flags{}, time.Time{})
	e.d.Prepare(ctx, bytes.NewReader(message(100)), 10, store.Flags{}, time.Time{}) // too big
	e.d.PrepareFile(ctx, bytes.NewReader(message(100)), 0, store.Flags{}, time.Time{})
	if n := e.d.Prepared(); n != 3 {
		t.Fatalf("Prepared = %d after three messages", n)
	}
}

// A message past a MIME limit is stored whole, and the log names the
// limit by its config key (docs/style.md §5: every limit's error names it), in
// both the inline and the blob path.
func TestMIMELimitNamedInLog(t *testing.T) {
	for _, inlineMax := range []int64{0, 1 << 16} {
		e := newEnv(t, inlineMax)
		var logs bytes.Buffer
		e.d.Logger = slog.New(slog.NewTextHandler(&logs, nil))
		e.d.Limits = mime.Limits{MaxDepth: 2}
		msg := "Content-Type: multipart/mixed; boundary=a\r\n\r\n--a\r\n" +
			"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\ninner\r\n--b--\r\n--a--\r\n"
		uid, err := e.d.Deliver(context.Background(), e.inbox, strings.NewReader(msg), 0, store.Flags{}, time.Time{})
		if err != nil || uid == 0 {
			t.Fatalf("inline %d: deliver: uid %d, %v", inlineMax, uid, err)
		}
		if !strings.Contains(logs.String(), "limit=mime_depth") {
			t.Errorf("inline %d: log does not name mime_depth: %q", inlineMax, logs.String())
		}
	}
}

// TestBlobPreviewFromPrefix: a message too large to be inline gets the
// same RFC 8970 preview whether its text part lies in the start Prepare
// read into memory (the preview is computed from it) or runs past it
// (the preview reads the blob back), and the same as the inline path's
// computation over the whole message; PrepareFile (no prefix) too.
func TestBlobPreviewFromPrefix(t *testing.T) {
	const limit = 4096
	head := "From: a@example.org\r\nSubject: s\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\n"
	attach := "\r\n--b\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
		strings.Repeat("QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo=\r\n", 400) + "--b--\r\n"
	tests := []struct {
		name string
		text string
	}{
		// The text part ends well inside the first limit+1 bytes.
		{"text in the prefix", "Short note before the attachment.\r\n"},
		// Quoted lines first, so the preview's words lie past the prefix.
		{"text past the prefix", strings.Repeat("> quoted line of an earlier message\r\n", 150) + "The answer comes last.\r\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			e := newEnv(t, limit)
			msg := []byte(head + tc.text + attach)
			if len(msg) <= limit {
				t.Fatalf("message of %d bytes is not over the inline limit", len(msg))
			}
			want := e.d.InlineMax
			e.d.InlineMax = int64(len(msg)) // the inline path, over the whole message
			ref, err := e.d.Prepare(ctx, bytes.NewReader(msg), 0, store.Flags{}, time.Time{})
			e.d.InlineMax = want
			if err != nil || ref.Inline == nil || !ref.HasPreview || ref.Preview == "" {
				t.Fatalf("reference: %v inline %v preview %q", err, ref != nil && ref.Inline != nil, ref.Preview)
			}
			p, err := e.d.Prepare(ctx, iotest.HalfReader(bytes.NewReader(msg)), 0, store.Flags{}, time.Time{})
			if err != nil || p.Inline != nil {
				t.Fatalf("Prepare: %v (inline %v)", err, p != nil && p.Inline != nil)
			}
			if !p.HasPreview || p.Preview != ref.Preview {
				t.Errorf("preview %q (%v), want %q", p.Preview, p.HasPreview, ref.Preview)
			}
			f, err := e.d.PrepareFile(ctx, bytes.NewReader(msg), 0, store.Flags{}, time.Time{})
			if err != nil || !f.HasPreview || f.Preview != ref.Preview {
				t.Errorf("PrepareFile: %v preview %q, want %q", err, f.Preview, ref.Preview)
			}
		})
	}
}
