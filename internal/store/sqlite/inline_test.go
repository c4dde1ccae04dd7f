package sqlite

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"barid/internal/store"
)

// inlineEnv is a store with two accounts and a few mailboxes.
type inlineEnv struct {
	t      *testing.T
	ctx    context.Context
	s      *Store
	a, b   int64 // account ids
	inbox  int64 // a's INBOX
	other  int64 // a's "Other"
	binbox int64 // b's INBOX
}

func newInlineEnv(t *testing.T) *inlineEnv {
	t.Helper()
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "barid.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	e := &inlineEnv{t: t, ctx: ctx, s: s}
	mk := func(acct int64, name string) int64 {
		mb, err := s.Mailbox(ctx, acct, name)
		if errors.Is(err, store.ErrNoMailbox) {
			mb, _, err = s.CreateMailbox(ctx, acct, name, "")
		}
		if err != nil {
			t.Fatal(err)
		}
		return mb.ID
	}
	for _, p := range []struct {
		name string
		id   *int64
	}{{"a", &e.a}, {"b", &e.b}} {
		acc, err := s.CreateAccount(ctx, p.name, nil)
		if err != nil {
			t.Fatal(err)
		}
		*p.id = acc.ID
	}
	e.inbox, e.other, e.binbox = mk(e.a, "INBOX"), mk(e.a, "Other"), mk(e.b, "INBOX")
	return e
}

func inlineMsg(body string) store.NewMessage {
	sum := sha256.Sum256([]byte(body))
	return store.NewMessage{BlobID: hex.EncodeToString(sum[:]), Inline: []byte(body), Size: int64(len(body))}
}

func (e *inlineEnv) append(mb int64, nm store.NewMessage) store.UID {
	e.t.Helper()
	uids, _, err := e.s.AppendMessages(e.ctx, mb, []store.NewMessage{nm})
	if err != nil {
		e.t.Fatal(err)
	}
	return uids[0]
}

// has reports whether the blob's bytes are inline, checking them.
func (e *inlineEnv) has(nm store.NewMessage) bool {
	e.t.Helper()
	got, ok, err := e.s.OpenInline(e.ctx, nm.BlobID)
	if err != nil {
		e.t.Fatal(err)
	}
	if ok && !bytes.Equal(got, nm.Inline) {
		e.t.Fatalf("inline bytes of %s: got %q, want %q", nm.BlobID[:8], got, nm.Inline)
	}
	return ok
}

func (e *inlineEnv) count() int {
	e.t.Helper()
	n := 0
	if err := e.s.InlineIDs(e.ctx, func(string) error { n++; return nil }); err != nil {
		e.t.Fatal(err)
	}
	return n
}

// TestInlineLifetime: the inline row lives exactly as long as some
// message names it, through each way a message row goes away.
func TestInlineLifetime(t *testing.T) {
	tests := []struct {
		name string
		// run appends, removes and reports whether the bytes must remain.
		run func(e *inlineEnv, m store.NewMessage) bool
	}{
		{"append", func(e *inlineEnv, m store.NewMessage) bool {
			e.append(e.inbox, m)
			return true
		}},
		{"expunge the only copy", func(e *inlineEnv, m store.NewMessage) bool {
			u := e.append(e.inbox, m)
			if _, _, err := e.s.Expunge(e.ctx, e.inbox, []store.UID{u}); err != nil {
				t.Fatal(err)
			}
			return false
		}},
		{"expunge one of two deliveries", func(e *inlineEnv, m store.NewMessage) bool {
			u := e.append(e.inbox, m)
			e.append(e.binbox, m) // same bytes, other account: one row
			if _, _, err := e.s.Expunge(e.ctx, e.inbox, []store.UID{u}); err != nil {
				t.Fatal(err)
			}
			return true
		}},
		{"copy then expunge source", func(e *inlineEnv, m store.NewMessage) bool {
			u := e.append(e.inbox, m)
			if _, _, err := e.s.CopyMessages(e.ctx, e.inbox, []store.UID{u}, e.other); err != nil {
				t.Fatal(err)
			}
			if _, _, err := e.s.Expunge(e.ctx, e.inbox, []store.UID{u}); err != nil {
				t.Fatal(err)
			}
			return true
		}},
		{"move keeps", func(e *inlineEnv, m store.NewMessage) bool {
			u := e.append(e.inbox, m)
			if _, _, err := e.s.MoveMessages(e.ctx, e.inbox, []store.UID{u}, e.other); err != nil {
				t.Fatal(err)
			}
			return true
		}},
		{"move then expunge destination", func(e *inlineEnv, m store.NewMessage) bool {
			u := e.append(e.inbox, m)
			res, _, err := e.s.MoveMessages(e.ctx, e.inbox, []store.UID{u}, e.other)
			if err != nil {
				t.Fatal(err)
			}
			if _, _, err := e.s.Expunge(e.ctx, e.other, res.DstUIDs); err != nil {
				t.Fatal(err)
			}
			return false
		}},
		{"expunge \\Deleted", func(e *inlineEnv, m store.NewMessage) bool {
			m.Flags.System = store.FlagDeleted
			e.append(e.inbox, m)
			if _, _, err := e.s.Expunge(e.ctx, e.inbox, nil); err != nil {
				t.Fatal(err)
			}
			return false
		}},
		{"delete mailbox", func(e *inlineEnv, m store.NewMessage) bool {
			e.append(e.other, m)
			e.append(e.other, m) // twice in the mailbox being deleted
			if _, err := e.s.DeleteMailbox(e.ctx, e.a, "Other"); err != nil {
				t.Fatal(err)
			}
			return false
		}},
		{"delete mailbox, copy elsewhere", func(e *inlineEnv, m store.NewMessage) bool {
			e.append(e.other, m)
			e.append(e.inbox, m)
			if _, err := e.s.DeleteMailbox(e.ctx, e.a, "Other"); err != nil {
				t.Fatal(err)
			}
			return true
		}},
		{"delete account", func(e *inlineEnv, m store.NewMessage) bool {
			e.append(e.inbox, m)
			e.append(e.other, m)
			if err := e.s.DeleteAccount(e.ctx, e.a); err != nil {
				t.Fatal(err)
			}
			return false
		}},
		{"delete account, other account keeps", func(e *inlineEnv, m store.NewMessage) bool {
			e.append(e.inbox, m)
			e.append(e.binbox, m)
			if err := e.s.DeleteAccount(e.ctx, e.a); err != nil {
				t.Fatal(err)
			}
			return true
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newInlineEnv(t)
			m := inlineMsg("Subject: " + tc.name + "\r\n\r\nbody\r\n")
			// An unrelated inline message that must survive everything.
			keep := inlineMsg("Subject: bystander\r\n\r\n")
			e.append(e.binbox, keep)
			want := tc.run(e, m)
			if got := e.has(m); got != want {
				t.Errorf("inline bytes present = %v, want %v", got, want)
			}
			if !e.has(keep) {
				t.Error("an unrelated message's inline bytes went")
			}
			if n, err := e.s.SweepInline(e.ctx); err != nil || n != 0 {
				t.Errorf("SweepInline after %s removed %d rows (%v), want 0", tc.name, n, err)
			}
		})
	}
}

// TestInlineRollback: a failed append (over quota) leaves no inline row,
// and a blob that is not inline is reported as such.
func TestInlineRollback(t *testing.T) {
	e := newInlineEnv(t)
	if err := e.s.SetQuota(e.ctx, e.a, 10); err != nil {
		t.Fatal(err)
	}
	m := inlineMsg("Subject: too big for the quota\r\n\r\n")
	if _, _, err := e.s.AppendMessages(e.ctx, e.inbox, []store.NewMessage{m}); !errors.Is(err, store.ErrOverQuota) {
		t.Fatalf("append over quota: %v", err)
	}
	if e.has(m) || e.count() != 0 {
		t.Error("inline row left by a failed append")
	}
	fsMsg := store.NewMessage{BlobID: m.BlobID, Size: 1}
	if err := e.s.SetQuota(e.ctx, e.a, 0); err != nil {
		t.Fatal(err)
	}
	e.append(e.inbox, fsMsg) // bytes in blob/fs: no row
	if e.has(m) {
		t.Error("a blob without Inline bytes got an inline row")
	}
	empty := inlineMsg("")
	e.append(e.inbox, empty)
	if got, ok, err := e.s.OpenInline(e.ctx, empty.BlobID); err != nil || !ok || got == nil || len(got) != 0 {
		t.Errorf("empty inline message: %q %v %v", got, ok, err)
	}
}

// TestInlineCeiling: bytes above the hard ceiling are refused with an
// error that names the limit.
func TestInlineCeiling(t *testing.T) {
	e := newInlineEnv(t)
	m := inlineMsg(string(make([]byte, maxInlineBytes+1)))
	_, _, err := e.s.AppendMessages(e.ctx, e.inbox, []store.NewMessage{m})
	if err == nil || !bytes.Contains([]byte(err.Error()), []byte("inline_max_bytes")) {
		t.Fatalf("append above the ceiling: %v", err)
	}
}

// TestSweepInline: rows no message names (left by hand or by a bug) are
// removed at once; referenced ones stay.
func TestSweepInline(t *testing.T) {
	e := newInlineEnv(t)
	ref := inlineMsg("Subject: referenced\r\n\r\n")
	e.append(e.inbox, ref)
	for i := range 3 {
		orphan := inlineMsg(fmt.Sprintf("Subject: orphan %d\r\n\r\n", i))
		if err := e.s.write(e.ctx, func(t *wtx) error { return putInline(t, &orphan) }); err != nil {
			t.Fatal(err)
		}
	}
	if n := e.count(); n != 4 {
		t.Fatalf("%d inline rows before the sweep, want 4", n)
	}
	n, err := e.s.SweepInline(e.ctx)
	if err != nil || n != 3 {
		t.Fatalf("SweepInline removed %d (%v), want 3", n, err)
	}
	if !e.has(ref) || e.count() != 1 {
		t.Error("the sweep removed a referenced row")
	}
}

// TestOpenInlineMany: one query returns the inline bytes of the IDs
// that have them (the empty message included), each once, and nothing
// for an ID that is not inline or whose message was expunged.
func TestOpenInlineMany(t *testing.T) {
	e := newInlineEnv(t)
	a, b, empty, gone := inlineMsg("Subject: a\r\n\r\na\r\n"), inlineMsg("Subject: b\r\n\r\nb\r\n"), inlineMsg(""), inlineMsg("Subject: gone\r\n\r\n")
	e.append(e.inbox, a)
	e.append(e.inbox, b)
	e.append(e.inbox, empty)
	u := e.append(e.inbox, gone)
	if _, _, err := e.s.Expunge(e.ctx, e.inbox, []store.UID{u}); err != nil {
		t.Fatal(err)
	}
	notInline := inlineMsg("Subject: in a file\r\n\r\n").BlobID
	got := map[string][]byte{}
	err := e.s.OpenInlineMany(e.ctx, []string{b.BlobID, notInline, a.BlobID, gone.BlobID, empty.BlobID, a.BlobID}, func(id string, data []byte) error {
		id = strings.Clone(id) // SQLite's memory, valid during fn
		if _, dup := got[id]; dup {
			t.Errorf("%s reported twice", id[:8])
		}
		got[id] = bytes.Clone(data) // SQLite's memory, valid during fn
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]byte{a.BlobID: a.Inline, b.BlobID: b.Inline, empty.BlobID: {}}
	if len(got) != len(want) {
		t.Errorf("got %d blobs, want %d", len(got), len(want))
	}
	for id, w := range want {
		if g, ok := got[id]; !ok || g == nil || !bytes.Equal(g, w) {
			t.Errorf("%s: got %q (present %v), want %q", id[:8], g, ok, w)
		}
	}
	// fn's error stops the read and comes back.
	stop := errors.New("stop")
	if err := e.s.OpenInlineMany(e.ctx, []string{a.BlobID, b.BlobID}, func(string, []byte) error { return stop }); !errors.Is(err, stop) {
		t.Errorf("fn's error: %v", err)
	}
}

// TestOpenInlineManyConcurrent: calls running at once on several
// reader connections each get their own rows (inline_sink.go routes
// rows by slot), also when one call's fn starts another.
func TestOpenInlineManyConcurrent(t *testing.T) {
	e := newInlineEnv(t)
	// Three calls at once, one of which starts a fourth from its fn:
	// at most 4 connections, the readers a store has at least.
	const calls = 3
	var msgs [calls][]store.NewMessage
	for c := range calls {
		for k := range 3 {
			m := inlineMsg(fmt.Sprintf("Subject: call %d message %d\r\n\r\n%s\r\n", c, k, strings.Repeat("x", 5000*k)))
			e.append(e.inbox, m)
			msgs[c] = append(msgs[c], m)
		}
	}
	ids := func(c int) []string {
		var out []string
		for _, m := range msgs[c] {
			out = append(out, m.BlobID)
		}
		return out
	}
	check := func(c int, got map[string][]byte) error {
		if len(got) != len(msgs[c]) {
			return fmt.Errorf("call %d: %d rows, want %d", c, len(got), len(msgs[c]))
		}
		for _, m := range msgs[c] {
			if !bytes.Equal(got[m.BlobID], m.Inline) {
				return fmt.Errorf("call %d: wrong bytes for %.8s", c, m.BlobID)
			}
		}
		return nil
	}
	errs := make(chan error, calls)
	for c := range calls {
		go func() {
			for range 20 {
				got := map[string][]byte{}
				nested := c == 0
				err := e.s.OpenInlineMany(e.ctx, ids(c), func(id string, data []byte) error {
					got[strings.Clone(id)] = bytes.Clone(data)
					if nested {
						// Another call from inside fn: its own slot.
						nested = false
						inner := map[string][]byte{}
						if err := e.s.OpenInlineMany(e.ctx, ids(c+1), func(id string, data []byte) error {
							inner[strings.Clone(id)] = bytes.Clone(data)
							return nil
						}); err != nil {
							return err
						}
						return check(c+1, inner)
					}
					return nil
				})
				if err == nil {
					err = check(c, got)
				}
				if err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for range calls {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

// TestSweepInlineChunks: the sweep examines blobdata a chunk at a time
// (so it never holds the writer for the whole table) and removes every
// unreferenced row, whichever chunk it lies in, and no referenced one.
func TestSweepInlineChunks(t *testing.T) {
	old := sweepInlineChunk
	sweepInlineChunk = 3
	t.Cleanup(func() { sweepInlineChunk = old })
	e := newInlineEnv(t)
	var kept []store.NewMessage
	for i := range 7 {
		m := inlineMsg(fmt.Sprintf("Subject: keep %d\r\n\r\n", i))
		e.append(e.inbox, m)
		kept = append(kept, m)
	}
	const orphans = 8
	if err := e.s.write(e.ctx, func(w *wtx) error {
		for i := range orphans {
			m := inlineMsg(fmt.Sprintf("orphan %d", i))
			if _, err := w.exec(`INSERT INTO blobdata (id, data) VALUES (?, ?)`, m.BlobID, m.Inline); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if n, err := e.s.SweepInline(e.ctx); err != nil || n != orphans {
		t.Fatalf("SweepInline = %d, %v; want the %d orphans", n, err, orphans)
	}
	for _, m := range kept {
		if !e.has(m) {
			t.Errorf("the sweep removed referenced bytes %s", m.BlobID[:8])
		}
	}
	if c := e.count(); c != len(kept) {
		t.Errorf("%d inline rows left, want %d", c, len(kept))
	}
	if n, err := e.s.SweepInline(e.ctx); err != nil || n != 0 {
		t.Errorf("second SweepInline = %d, %v; want 0", n, err)
	}
}
