package bench

import (
	"bufio"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"barid/internal/testkit"
)

func dialTest(t *testing.T, addr string) *Conn {
	t.Helper()
	c, err := Dial(context.Background(), DialOptions{Addr: addr, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestGreetingCapabilities(t *testing.T) {
	addr := testkit.FakeServer(t, "* OK [CAPABILITY IMAP4rev1 LITERAL+ MULTIAPPEND] ready\r\n", func(r *bufio.Reader, w io.Writer) {
		testkit.ReadCommand(r) // nothing else is expected: a round trip would hang the test until the deadline
	})
	c := dialTest(t, addr)
	for _, cp := range []string{"IMAP4rev1", "literal+", "MULTIAPPEND"} {
		if ok, err := c.HasCap(cp); !ok || err != nil {
			t.Errorf("HasCap(%s) = %v, %v", cp, ok, err)
		}
	}
	if ok, _ := c.HasCap("SORT"); ok {
		t.Error("SORT reported but not advertised")
	}
}

func TestGreetingBye(t *testing.T) {
	addr := testkit.FakeServer(t, "* BYE too busy\r\n", func(r *bufio.Reader, w io.Writer) {})
	_, err := Dial(context.Background(), DialOptions{Addr: addr, Timeout: time.Second})
	var se *StatusError
	if !errors.As(err, &se) || se.Status != "BYE" {
		t.Fatalf("err = %v, want a BYE status error", err)
	}
}

// TestBookkeeping checks the EXISTS/EXPUNGE rules of RFC 9051 §7.4.1 and
// §7.5.1 after SELECT reports 3 messages.
func TestBookkeeping(t *testing.T) {
	tests := []struct {
		name   string
		lines  string // untagged responses sent during NOOP
		exists uint32
		err    string
	}{
		{"nothing", "", 3, ""},
		{"expunge then exists", "* 2 EXPUNGE\r\n* 2 EXISTS\r\n", 2, ""},
		{"new mail", "* 5 EXISTS\r\n* 1 RECENT\r\n", 5, ""},
		{"expunge past the end", "* 3 EXPUNGE\r\n* 3 EXPUNGE\r\n", 2, "EXPUNGE 3 outside 1:2"},
		{"expunge all three", "* 3 EXPUNGE\r\n* 2 EXPUNGE\r\n* 1 EXPUNGE\r\n", 0, ""},
		{"shrinking EXISTS", "* 2 EXISTS\r\n", 2, "without EXPUNGE"},
		{"fetch beyond view", "* 4 FETCH (FLAGS (\\Seen))\r\n", 3, "FETCH 4 outside"},
		{"expunge zero", "* 0 EXPUNGE\r\n", 3, "outside"},
		{"vanished", "* VANISHED 1:2\r\n", 3, "QRESYNC"},
		{"unexpected bye", "* BYE shutting down\r\n", 3, "unexpected BYE"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			addr := testkit.FakeServer(t, "* OK hi\r\n", func(r *bufio.Reader, w io.Writer) {
				tag, _ := testkit.ReadCommand(r)
				io.WriteString(w, "* 3 EXISTS\r\n* FLAGS (\\Seen \\Deleted)\r\n* OK [UIDVALIDITY 1] x\r\n"+tag+" OK [READ-WRITE] done\r\n")
				tag, _ = testkit.ReadCommand(r)
				io.WriteString(w, tc.lines+tag+" OK NOOP done\r\n")
				testkit.ReadCommand(r)
			})
			c := dialTest(t, addr)
			if err := c.Select("INBOX"); err != nil {
				t.Fatal(err)
			}
			err := c.Exec(nil, "NOOP")
			if tc.err == "" && err != nil {
				t.Fatal(err)
			}
			if tc.err != "" {
				var pe *ProtocolError
				if err == nil || !strings.Contains(err.Error(), tc.err) || !errors.As(err, &pe) || !pe.InSync {
					t.Fatalf("err = %#v, want an in-sync protocol error containing %q", err, tc.err)
				}
			}
			if c.Exists() != tc.exists {
				t.Fatalf("exists = %d, want %d", c.Exists(), tc.exists)
			}
		})
	}
}

func TestSelectWithoutExists(t *testing.T) {
	addr := testkit.FakeServer(t, "* OK hi\r\n", func(r *bufio.Reader, w io.Writer) {
		tag, _ := testkit.ReadCommand(r)
		io.WriteString(w, tag+" OK done\r\n")
		testkit.ReadCommand(r)
	})
	c := dialTest(t, addr)
	if err := c.Select("INBOX"); err == nil || !strings.Contains(err.Error(), "without EXISTS") {
		t.Fatalf("err = %v", err)
	}
}

func TestPipelinedOutOfOrder(t *testing.T) {
	addr := testkit.FakeServer(t, "* OK hi\r\n", func(r *bufio.Reader, w io.Writer) {
		var tags []string
		for i := 0; i < 3; i++ {
			tag, _ := testkit.ReadCommand(r)
			tags = append(tags, tag)
		}
		io.WriteString(w, tags[2]+" OK third\r\n"+tags[0]+" NO first refused\r\n"+tags[1]+" BAD second\r\n")
		testkit.ReadCommand(r)
	})
	c := dialTest(t, addr)
	var tags []string
	for _, cmd := range []string{"NOOP", "NOOP", "NOOP"} {
		tag, err := c.Send(cmd)
		if err != nil {
			t.Fatal(err)
		}
		tags = append(tags, tag)
	}
	want := []string{"NO", "BAD", "OK"}
	for i, tag := range tags {
		res, err := c.Wait(tag, nil)
		if err != nil || res.Status != want[i] {
			t.Errorf("Wait(%s) = %v, %v; want %s", tag, res, err, want[i])
		}
	}
}

func TestLiteralForms(t *testing.T) {
	for _, tc := range []struct {
		caps, want string
		size       int
	}{
		{"IMAP4rev1 LITERAL+", "{5+}", 5},
		{"IMAP4rev1", "{5}", 5},
		{"IMAP4rev1 LITERAL-", "{5+}", 5},      // RFC 7888 §4: up to 4096 bytes
		{"IMAP4rev1 LITERAL-", "{5000}", 5000}, // beyond LITERAL-'s limit
		{"IMAP4rev1 IMAP4rev2", "{5+}", 5},     // RFC 9051 §4.3: LITERAL- is part of rev2
		{"IMAP4rev1 LITERAL+ LITERAL-", "{5000+}", 5000},
	} {
		t.Run(tc.caps+"/"+tc.want, func(t *testing.T) {
			got := make(chan string, 1)
			body := strings.Repeat("x", tc.size)
			addr := testkit.FakeServer(t, "* OK [CAPABILITY "+tc.caps+"] hi\r\n", func(r *bufio.Reader, w io.Writer) {
				tag, rest := testkit.ReadCommand(r)
				if !strings.HasSuffix(rest, "+}") {
					io.WriteString(w, "+ go ahead\r\n")
				}
				buf := make([]byte, tc.size+2)
				io.ReadFull(r, buf)
				got <- rest + "|" + string(buf)
				io.WriteString(w, "* 1 EXISTS\r\n"+tag+" OK [APPENDUID 1 1] done\r\n")
				testkit.ReadCommand(r)
			})
			c := dialTest(t, addr)
			tag := c.Begin()
			c.WriteString("APPEND INBOX ")
			if err := c.Literal([]byte(body)); err != nil {
				t.Fatal(err)
			}
			if err := c.End(); err != nil {
				t.Fatal(err)
			}
			res, err := c.Wait(tag, nil)
			if err != nil || res.Status != "OK" {
				t.Fatalf("APPEND: %v %v", res, err)
			}
			if g := <-got; g != "APPEND INBOX "+tc.want+"|"+body+"\r\n" {
				t.Fatalf("server got %.60q", g)
			}
		})
	}
}

func TestLiteralRefused(t *testing.T) {
	addr := testkit.FakeServer(t, "* OK hi\r\n", func(r *bufio.Reader, w io.Writer) {
		tag, _ := testkit.ReadCommand(r)
		io.WriteString(w, tag+" NO [TOOBIG] too big\r\n")
		testkit.ReadCommand(r)
	})
	c := dialTest(t, addr)
	c.Begin()
	c.WriteString("APPEND INBOX ")
	err := c.Literal([]byte("hello"))
	var se *StatusError
	if !errors.As(err, &se) || se.Status != "NO" {
		t.Fatalf("err = %v", err)
	}
}

func TestFetchLiteralRead(t *testing.T) {
	addr := testkit.FakeServer(t, "* OK hi\r\n", func(r *bufio.Reader, w io.Writer) {
		tag, _ := testkit.ReadCommand(r)
		io.WriteString(w, "* 1 EXISTS\r\n"+tag+" OK\r\n")
		tag, _ = testkit.ReadCommand(r)
		// A literal that itself ends in something looking like a literal header.
		io.WriteString(w, "* 1 FETCH (RFC822.SIZE 9 BODY[] {9}\r\nab{3}\r\ncd UID 7)\r\n"+tag+" OK\r\n")
		testkit.ReadCommand(r)
	})
	c := dialTest(t, addr)
	if err := c.Select("INBOX"); err != nil {
		t.Fatal(err)
	}
	var body, uid string
	err := c.Exec(func(r *Resp) error {
		return fetchItems(r.Rest, func(name []byte, v Value) error {
			switch string(name) {
			case "BODY[]":
				body = string(v.Raw)
			case "UID":
				uid = string(v.Raw)
			}
			return nil
		})
	}, "FETCH 1 (RFC822.SIZE BODY.PEEK[] UID)")
	if err != nil {
		t.Fatal(err)
	}
	if body != "ab{3}\r\ncd" || uid != "7" {
		t.Fatalf("body %q uid %q", body, uid)
	}
}

func TestReadErrors(t *testing.T) {
	tests := []struct{ name, send, err string }{
		{"bare LF", "* OK x\n", "CRLF"},
		{"eof in literal", "* 1 FETCH (BODY[] {10}\r\nabc", "inside a 10-byte literal"},
		{"eof in line", "* OK x", "inside a response"},
		{"bad literal length", "* 1 FETCH (BODY[] {99999999999}\r\n", "literal length"},
		{"garbage", "garbage\r\n", "malformed response"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			addr := testkit.FakeServer(t, "* OK hi\r\n", func(r *bufio.Reader, w io.Writer) {
				testkit.ReadCommand(r)
				io.WriteString(w, tc.send)
			})
			c := dialTest(t, addr)
			err := c.Exec(nil, "NOOP")
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("err = %v, want %q", err, tc.err)
			}
		})
	}
}

func TestMaxRespSz(t *testing.T) {
	addr := testkit.FakeServer(t, "* OK hi\r\n", func(r *bufio.Reader, w io.Writer) {
		testkit.ReadCommand(r)
		io.WriteString(w, "* 1 FETCH (BODY[] {100000}\r\n")
	})
	c, err := Dial(context.Background(), DialOptions{Addr: addr, Timeout: 5 * time.Second, MaxRespSz: 4096})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Exec(nil, "NOOP"); err == nil || !strings.Contains(err.Error(), "MaxRespSz") {
		t.Fatalf("err = %v, want the MaxRespSz limit named", err)
	}
}

func TestLogoutAndIdle(t *testing.T) {
	addr := testkit.FakeServer(t, "* OK hi\r\n", func(r *bufio.Reader, w io.Writer) {
		tag, _ := testkit.ReadCommand(r)
		io.WriteString(w, "* 2 EXISTS\r\n* FLAGS (\\Seen)\r\n"+tag+" OK\r\n")
		tag, _ = testkit.ReadCommand(r) // IDLE
		io.WriteString(w, "+ idling\r\n* 3 EXISTS\r\n")
		testkit.ReadCommand(r) // DONE
		io.WriteString(w, tag+" OK IDLE done\r\n")
		tag, _ = testkit.ReadCommand(r)
		io.WriteString(w, "* BYE bye\r\n"+tag+" OK\r\n")
	})
	c := dialTest(t, addr)
	if err := c.Select("INBOX"); err != nil {
		t.Fatal(err)
	}
	tag, err := c.IdleStart()
	if err != nil {
		t.Fatal(err)
	}
	var n uint32
	if err := c.IdleRead(func(r *Resp) error { n = r.Num; return nil }); err != nil || n != 3 || c.Exists() != 3 {
		t.Fatalf("IdleRead: %v, num %d exists %d", err, n, c.Exists())
	}
	if err := c.IdleDone(tag, nil); err != nil {
		t.Fatal(err)
	}
	if err := c.Logout(); err != nil {
		t.Fatal(err)
	}
}

func TestCheckAnnounced(t *testing.T) {
	c := &Conn{flags: []string{`\Seen`, `\Flagged`, `$Label1`}}
	if err := c.CheckAnnounced([]byte(`(\Seen \Recent $label1)`)); err != nil {
		t.Fatal(err)
	}
	if err := c.CheckAnnounced([]byte(`(\Seen $label2)`)); err == nil || !strings.Contains(err.Error(), "$label2") {
		t.Fatalf("err = %v", err)
	}
}

func TestTrailingLiteral(t *testing.T) {
	tests := []struct {
		in  string
		n   int
		ok  bool
		err bool
	}{
		{"* 1 FETCH (BODY[] {12}", 12, true, false},
		{"* 1 FETCH (BINARY[] ~{0}", 0, true, false},
		{"* 1 FETCH (BODY[] {12+}", 12, true, false},
		{"* OK done", 0, false, false},
		{"* OK {}", 0, false, false},
		{"* OK x}", 0, false, false},
		{"}", 0, false, false},
		{"* 1 FETCH (BODY[] {123456789012}", 0, false, true},
	}
	for _, tc := range tests {
		n, ok, err := trailingLiteral([]byte(tc.in))
		if n != tc.n || ok != tc.ok || (err != nil) != tc.err {
			t.Errorf("%q: %d %v %v", tc.in, n, ok, err)
		}
	}
}

func TestParseResp(t *testing.T) {
	tests := []struct {
		in        string
		kind      RespKind
		tag, word string
		num       uint32
		rest      string
	}{
		{"* 172 EXISTS\r\n", RespUntagged, "", "EXISTS", 172, ""},
		{"* OK [UNSEEN 12] Message 12 is first unseen\r\n", RespUntagged, "", "OK", 0, "[UNSEEN 12] Message 12 is first unseen"},
		{"A142 OK [READ-WRITE] SELECT completed\r\n", RespTagged, "A142", "OK", 0, "[READ-WRITE] SELECT completed"},
		{"+ Ready for additional command text\r\n", RespContinue, "", "", 0, ""},
		{"+\r\n", RespContinue, "", "", 0, ""},
		{"* SEARCH 2 84 882\r\n", RespUntagged, "", "SEARCH", 0, "2 84 882"},
		{"* SEARCH\r\n", RespUntagged, "", "SEARCH", 0, ""},
	}
	for _, tc := range tests {
		var r Resp
		if err := parseResp(&r, []byte(tc.in)); err != nil {
			t.Errorf("%q: %v", tc.in, err)
			continue
		}
		if r.Kind != tc.kind || string(r.Tag) != tc.tag || string(r.Word) != tc.word || r.Num != tc.num || string(r.Rest) != tc.rest {
			t.Errorf("%q: got kind %d tag %q word %q num %d rest %q", tc.in, r.Kind, r.Tag, r.Word, r.Num, r.Rest)
		}
	}
	var r Resp
	for _, bad := range []string{"*  EXISTS\r\n", "* 99999999999 EXISTS\r\n", "+x\r\n", "nospace\r\n"} {
		if err := parseResp(&r, []byte(bad)); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

func TestQuote(t *testing.T) {
	for in, want := range map[string]string{`INBOX`: `"INBOX"`, `a"b`: `"a\"b"`, `a\b`: `"a\\b"`, ``: `""`} {
		if got := Quote(in); got != want {
			t.Errorf("Quote(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestImapDate(t *testing.T) {
	d := time.Date(1996, 7, 7, 2, 44, 25, 0, time.FixedZone("", -7*3600))
	if got := imapDate(d); got != `" 7-Jul-1996 02:44:25 -0700"` {
		t.Fatalf("imapDate = %s", got)
	}
}

// TestReadAhead checks that an answer read ahead (Conn.ReadAhead) is
// still parsed and checked in full, literals included, that the time
// it notes is before the parse, and that the connection's own reader is
// back for the next command, which the server has not yet answered
// when the first answer is read.
func TestReadAhead(t *testing.T) {
	addr := testkit.FakeServer(t, "* OK hi\r\n", func(r *bufio.Reader, w io.Writer) {
		tag, _ := testkit.ReadCommand(r)
		io.WriteString(w, "* 3 EXISTS\r\n"+tag+" OK [READ-WRITE] done\r\n")
		tag, _ = testkit.ReadCommand(r)
		io.WriteString(w, "* 1 FETCH (UID 1 BODY[] {5}\r\nab\r\nc)\r\n* 2 FETCH (UID 2 BODY[] {0}\r\n)\r\n"+
			"* 3 FETCH (UID 3 BODY[] {7}\r\nA9 OK x)\r\n"+tag+" OK fetched\r\n")
		tag, _ = testkit.ReadCommand(r)
		time.Sleep(20 * time.Millisecond)
		io.WriteString(w, "* 4 FETCH (FLAGS ())\r\n"+tag+" OK noop\r\n")
		testkit.ReadCommand(r)
	})
	c := dialTest(t, addr)
	c.SetReadAhead(true)
	if err := c.Select("INBOX"); err != nil {
		t.Fatal(err)
	}
	var bodies []string
	t0 := time.Now()
	err := c.Exec(func(r *Resp) error {
		if r.Is("FETCH") {
			return fetchItems(r.Rest, func(name []byte, v Value) error {
				if asciiEqualFold(name, "BODY[]") {
					bodies = append(bodies, string(v.Raw))
				}
				return nil
			})
		}
		return nil
	}, "FETCH 1:3 BODY[]")
	parsed := time.Now()
	if err != nil {
		t.Fatal(err)
	}
	if len(bodies) != 3 || !strings.Contains(bodies[0], "ab\r\nc") || !strings.Contains(bodies[2], "A9 OK x") {
		t.Fatalf("bodies %q", bodies)
	}
	if a := c.AnsweredAt(); a.Before(t0) || a.After(parsed) {
		t.Errorf("answered at %v, not between the command %v and the end of its parse %v", a, t0, parsed)
	}
	// The NOOP's answer comes later, from the socket: the bookkeeping
	// still sees its FETCH beyond the view.
	if err := c.Exec(nil, "NOOP"); err == nil || !strings.Contains(err.Error(), "FETCH 4 outside") {
		t.Fatalf("NOOP: %v, want the FETCH beyond the view reported", err)
	}
}
