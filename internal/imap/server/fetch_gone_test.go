package server

import (
	"bufio"
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"barid/internal/auth"
	"barid/internal/blob"
	"barid/internal/store"
)

// goneBlobs is the blob store of a server whose messages are expunged by
// another session (or another node sharing the metadata store) between
// the FETCH reading a message's record and opening its bytes: on the
// first Open of victim it expunges the message (without telling this
// server's bus) and removes its bytes, as the last expunge of a message
// does.
type goneBlobs struct {
	blob.Store
	victim  string
	expunge func()
}

func (b *goneBlobs) Open(ctx context.Context, id string) (blob.Reader, error) {
	if id == b.victim && b.expunge != nil {
		b.expunge()
		b.expunge = nil
	}
	return b.Store.Open(ctx, id)
}

// TestFetchBytesGoneMeanwhile: a message expunged between its record
// and its bytes being read is answered like a message whose record is
// gone, OK [EXPUNGEISSUED] (RFC 5530, RFC 2180 §4.1), not as a server bug; bytes
// missing for a message that still exists remain NO [SERVERBUG].
func TestFetchBytesGoneMeanwhile(t *testing.T) {
	f := newStoreFixture(t, "al")
	ctx := context.Background()
	var uids []store.UID
	for _, m := range []string{"Subject: one\r\n\r\nbody one\r\n", "Subject: two\r\n\r\nbody two\r\n"} {
		u, err := f.deliv.Deliver(ctx, f.inbox.ID, strings.NewReader(m), 0, store.Flags{}, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		uids = append(uids, u)
	}
	blobOf := func(u store.UID) string {
		var id string
		if err := f.st.FetchMessages(ctx, f.inbox.ID, []store.UID{u}, store.FieldBasics, func(m *store.Message) error {
			id = m.BlobID
			return nil
		}); err != nil || id == "" {
			t.Fatalf("blob of %d: %v", u, err)
		}
		return id
	}
	b1, b2 := blobOf(uids[0]), blobOf(uids[1])
	gb := &goneBlobs{Store: f.bs, victim: b1, expunge: func() {
		if _, _, err := f.st.Expunge(ctx, f.inbox.ID, uids[:1]); err != nil {
			t.Error(err)
		}
		if err := f.bs.Delete(ctx, b1); err != nil {
			t.Error(err)
		}
	}}
	cfg := Config{Store: f.st, Blobs: gb, Bus: f.bus, Limits: fixtureLimits,
		Auth: auth.New(auth.StoreAccounts{Store: f.st}, auth.Config{}, nil)}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := New(cfg)
	go srv.Serve(ln, false)
	t.Cleanup(func() { srv.Shutdown(context.Background()) })

	nc, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(nc)
	br.ReadString('\n')
	until := func(tag string) []string {
		var lines []string
		for {
			l, err := br.ReadString('\n')
			if err != nil {
				t.Fatalf("read: %v after %q", err, lines)
			}
			lines = append(lines, strings.TrimRight(l, "\r\n"))
			if strings.HasPrefix(l, tag+" ") {
				return lines
			}
		}
	}
	nc.Write([]byte("a LOGIN al pw\r\nb SELECT INBOX\r\n"))
	until("a")
	until("b")

	nc.Write([]byte("c FETCH 1 BODY[]\r\n"))
	got := until("c")
	if last := got[len(got)-1]; last != "c OK [EXPUNGEISSUED] Some messages were already expunged." {
		t.Fatalf("FETCH of a message expunged meanwhile: %q", got)
	}
	for _, l := range got {
		if strings.HasPrefix(l, "* 1 FETCH") {
			t.Fatalf("FETCH response for the expunged message: %q", got)
		}
	}

	// Bytes missing for a message that still exists: a real fault.
	if err := f.bs.Delete(ctx, b2); err != nil {
		t.Fatal(err)
	}
	nc.Write([]byte("d FETCH 2 BODY[]\r\n"))
	got = until("d")
	if last := got[len(got)-1]; !strings.HasPrefix(last, "d NO [SERVERBUG]") {
		t.Fatalf("FETCH with bytes missing: %q", got)
	}
}
