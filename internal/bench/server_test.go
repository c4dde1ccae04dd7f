package bench

import (
	"bytes"
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"barid/internal/testkit"
)

// The bench's IMAP client against a real barid (testkit.Start), beside
// the scripted peers of conn_test.go: login, SELECT bookkeeping, APPEND
// with a small and a large literal, pipelined FETCHes whose literals are
// read whole, an EXISTS pushed during IDLE by another connection, NO for
// a missing mailbox, LOGOUT.
func TestConnAgainstBarid(t *testing.T) {
	s := testkit.Start(t, testkit.WithoutTLSListener())
	s.AddUser("bench1", "pw")
	ctx := context.Background()
	c, err := Dial(ctx, DialOptions{Addr: s.Addr, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login("bench1", "pw"); err != nil {
		t.Fatal(err)
	}
	if ok, err := c.HasCap("IMAP4rev1"); err != nil || !ok {
		t.Fatalf("HasCap(IMAP4rev1) = %v, %v", ok, err)
	}
	if err := c.Select("INBOX"); err != nil || c.Exists() != 0 || !c.Selected() {
		t.Fatalf("SELECT: %v, exists %d, selected %v", err, c.Exists(), c.Selected())
	}
	small := []byte(testkit.Message("small"))
	large := []byte("Subject: large\r\n\r\n" + strings.Repeat("0123456789abcdef\r\n", 1000))
	for _, m := range [][]byte{small, large} {
		tag := c.Begin()
		c.WriteString("APPEND INBOX ")
		if err := c.Literal(m); err != nil {
			t.Fatal(err)
		}
		if err := c.End(); err != nil {
			t.Fatal(err)
		}
		res, err := c.Wait(tag, nil)
		if err != nil || res.Err() != nil {
			t.Fatalf("APPEND of %d bytes: %v %v", len(m), err, res.Err())
		}
	}
	if err := c.Exec(nil, "NOOP"); err != nil || c.Exists() != 2 {
		t.Fatalf("NOOP after two APPENDs: %v, exists %d", err, c.Exists())
	}
	// Two FETCHes in flight at once; each body arrives whole.
	var bodies [][]byte
	h := func(r *Resp) error {
		if r.Is("FETCH") {
			bodies = append(bodies, bytes.Clone(r.Raw))
		}
		return nil
	}
	t1, err := c.Send("FETCH 1 (BODY.PEEK[])")
	if err != nil {
		t.Fatal(err)
	}
	t2, err := c.Send("FETCH 2 (BODY.PEEK[])")
	if err != nil {
		t.Fatal(err)
	}
	for _, tag := range []string{t2, t1} {
		res, err := c.Wait(tag, h)
		if err != nil || res.Err() != nil {
			t.Fatalf("FETCH %s: %v %v", tag, err, res.Err())
		}
	}
	if len(bodies) != 2 || !bytes.Contains(bodies[0], small) || !bytes.Contains(bodies[1], large) {
		t.Fatalf("fetched %d responses, want the two messages whole", len(bodies))
	}
	// IDLE sees a delivery made on another connection.
	tag, err := c.IdleStart()
	if err != nil {
		t.Fatal(err)
	}
	other := s.Dial()
	other.Login("bench1", "pw")
	other.ExpectOK("a", "APPEND INBOX {"+strconv.Itoa(len(small))+"+}\r\n"+string(small))
	for c.Exists() != 3 {
		if err := c.IdleRead(nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.IdleDone(tag, nil); err != nil {
		t.Fatal(err)
	}
	var se *StatusError
	if err := c.Exec(nil, "STATUS Nowhere (MESSAGES)"); !errors.As(err, &se) || se.Status != "NO" {
		t.Fatalf("STATUS of a missing mailbox: %v, want NO", err)
	}
	if err := c.Logout(); err != nil {
		t.Fatal(err)
	}
}
