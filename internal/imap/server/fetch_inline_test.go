package server

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"barid/internal/blob"
	"barid/internal/blob/tiered"
	"barid/internal/store"
)

// countingBlobs counts the blobs a server opens.
type countingBlobs struct {
	blob.Store
	opens atomic.Int64
}

func (b *countingBlobs) Open(ctx context.Context, id string) (blob.Reader, error) {
	b.opens.Add(1)
	return b.Store.Open(ctx, id)
}

// TestFetchInlineBytes: a FETCH of up to inlineFetchMax messages that
// needs their bytes reads those the store keeps inline with the records
// (store.FieldInline: one query on PostgreSQL instead of one more per
// message) and opens only the others; the answer is the same bytes. A
// header-only FETCH opens nothing, and a FETCH of more messages opens
// each as before.
func TestFetchInlineBytes(t *testing.T) {
	ctx := context.Background()
	f := newStoreFixture(t, "al")
	tb := tiered.New(f.st, f.bs)
	f.deliv.Blobs, f.deliv.InlineMax = tb, 700
	small := "Subject: small\r\n\r\nkept inline\r\n"
	big := "Subject: big\r\n\r\n" + strings.Repeat("a line of the big message\r\n", 40)
	msgs := []string{small, big}
	for i := range inlineFetchMax {
		msgs = append(msgs, fmt.Sprintf("Subject: n%d\r\n\r\nsmall %d\r\n", i, i))
	}
	for _, m := range msgs {
		if _, err := f.deliv.Deliver(ctx, f.inbox.ID, strings.NewReader(m), 0, store.Flags{}, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	cb := &countingBlobs{Store: tb}
	addr := f.serve(t, Config{Blobs: cb}, nil)
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(nc)
	br.ReadString('\n')
	run := func(tag, cmd string) string {
		fmt.Fprintf(nc, "%s %s\r\n", tag, cmd)
		var b strings.Builder
		for {
			l, err := br.ReadString('\n')
			if err != nil {
				t.Fatalf("read: %v after %q", err, b.String())
			}
			b.WriteString(l)
			if strings.HasPrefix(l, tag+" ") {
				if !strings.HasPrefix(l, tag+" OK") {
					t.Fatalf("%s: %q", cmd, b.String())
				}
				return b.String()
			}
		}
	}
	run("a", "LOGIN al pw")
	run("b", "SELECT INBOX")

	before := cb.opens.Load()
	got := run("c", "FETCH 1:2 (BODY.PEEK[] BODY.PEEK[TEXT])")
	for _, want := range []string{
		fmt.Sprintf("* 1 FETCH (BODY[] {%d}\r\n%s BODY[TEXT] {13}\r\nkept inline\r\n)", len(small), small),
		fmt.Sprintf("* 2 FETCH (BODY[] {%d}\r\n%s", len(big), big),
	} {
		if !strings.Contains(got, want) {
			t.Fatalf("FETCH 1:2 answered %q, want it to contain %q", got, want)
		}
	}
	if n := cb.opens.Load() - before; n != 1 {
		t.Errorf("FETCH 1:2 of an inline and a blob message opened %d blobs, want 1 (the big one)", n)
	}

	before = cb.opens.Load()
	run("d", "FETCH 1:2 (BODY.PEEK[HEADER])")
	if n := cb.opens.Load() - before; n != 0 {
		t.Errorf("a header FETCH opened %d blobs, want 0", n)
	}

	// More messages than inlineFetchMax: each inline one is opened.
	before = cb.opens.Load()
	got = run("e", fmt.Sprintf("FETCH 1:%d (BODY.PEEK[])", len(msgs)))
	if n := strings.Count(got, " FETCH (BODY[] {"); n != len(msgs) {
		t.Fatalf("FETCH 1:%d: %d bodies", len(msgs), n)
	}
	if n := cb.opens.Load() - before; n != int64(len(msgs)) {
		t.Errorf("FETCH of %d messages opened %d blobs, want each (%d)", len(msgs), n, len(msgs))
	}
}
