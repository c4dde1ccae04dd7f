package wire

import (
	"bufio"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"barid/internal/imap"
)

func newDec(s string, opts Options) *Decoder {
	return NewDecoder(bufio.NewReader(strings.NewReader(s)), opts)
}

// Command lines from the examples of RFC 9051, RFC 3501 and extensions.
func TestDecodeRFCExamples(t *testing.T) {
	tests := []struct{ in, want string }{
		{"a001 LOGIN SMITH SESAME\r\n", "tag:a001|LOGIN|SMITH|SESAME"},                                                                           // RFC 9051 §6.2.3
		{"A001 CAPABILITY\r\n", "tag:A001|CAPABILITY"},                                                                                           // §6.1.1
		{"A142 SELECT INBOX\r\n", "tag:A142|SELECT|INBOX"},                                                                                       // §6.3.2
		{"A932 EXAMINE blurdybloop\r\n", "tag:A932|EXAMINE|blurdybloop"},                                                                         // §6.3.3
		{"A003 CREATE owatagusiam/\r\n", "tag:A003|CREATE|owatagusiam/"},                                                                         // §6.3.4
		{"A683 RENAME blurdybloop sarasoop\r\n", "tag:A683|RENAME|blurdybloop|sarasoop"},                                                         // §6.3.6
		{"A002 SUBSCRIBE #news.comp.mail.mime\r\n", "tag:A002|SUBSCRIBE|#news.comp.mail.mime"},                                                   // §6.3.7
		{"A101 LIST \"\" \"\"\r\n", `tag:A101|LIST|str:""|str:""`},                                                                               // §6.3.9
		{"A202 LIST ~/Mail/ %\r\n", "tag:A202|LIST|~/Mail/|word:%"},                                                                              // §6.3.9
		{"A042 STATUS blurdybloop (UIDNEXT MESSAGES)\r\n", "tag:A042|STATUS|blurdybloop|(|UIDNEXT|MESSAGES|)"},                                   // §6.3.11
		{"A654 FETCH 2:4 (FLAGS BODY[HEADER.FIELDS (DATE FROM)])\r\n", "tag:A654|FETCH|word:2:4|(|FLAGS|BODY|[|HEADER.FIELDS|(|DATE|FROM|)|]|)"}, // §6.4.5
		{"a003 fetch 12 full\r\n", "tag:a003|fetch|word:12|full"},                                                                                // RFC 3501 §6.4.5
		{"A999 UID FETCH 4827313:4828442 FLAGS\r\n", "tag:A999|UID|FETCH|word:4827313:4828442|FLAGS"},                                            // §6.4.9
		{"A003 STORE 2:4 +FLAGS (\\Deleted)\r\n", `tag:A003|STORE|word:2:4|+FLAGS|(|flag:\Deleted|)`},                                            // §6.4.6
		{"A003 COPY 2:4 MEETING\r\n", "tag:A003|COPY|word:2:4|MEETING"},                                                                          // §6.4.7
		{"a UID MOVE 42:69 foo\r\n", "tag:a|UID|MOVE|word:42:69|foo"},                                                                            // RFC 6851 §4.1
		{"A282 SEARCH RETURN (MIN COUNT) FLAGGED SINCE 1-Feb-1994 NOT FROM \"Smith\"\r\n",
			`tag:A282|SEARCH|RETURN|(|MIN|COUNT|)|FLAGGED|SINCE|word:1-Feb-1994|NOT|FROM|str:"Smith"`}, // §6.4.4
		{"A284 SEARCH CHARSET UTF-8 TEXT {12+}\r\nжелезн\r\n", `tag:A284|SEARCH|CHARSET|UTF-8|TEXT|str:"железн"`}, // §6.4.4, RFC 7888
		{"a FETCH 1 BODY.PEEK[1.2.MIME]<0.100>\r\n", "tag:a|FETCH|word:1|BODY.PEEK|[|1.2.MIME|]|<0.100>"},
		{"a FETCH 1 BINARY[1]<10>\r\n", "tag:a|FETCH|word:1|BINARY|[|1|]|<10>"}, // RFC 3516
		{"a FETCH * BODY[]\r\n", "tag:a|FETCH|word:*|BODY|[|]"},
		{"a UID FETCH 1:* (FLAGS) (CHANGEDSINCE 12345 VANISHED)\r\n", "tag:a|UID|FETCH|word:1:*|(|FLAGS|)|(|CHANGEDSINCE|word:12345|VANISHED|)"}, // RFC 7162 §3.2.6
		{"A02 SELECT INBOX (QRESYNC (67890007 20050715194045000 41,43:211,214:541))\r\n",
			"tag:A02|SELECT|INBOX|(|QRESYNC|(|word:67890007|word:20050715194045000|word:41,43:211,214:541|)|)"}, // RFC 7162 §3.2.5
		{"a FETCH $ (FLAGS)\r\n", "tag:a|FETCH|$|(|FLAGS|)"}, // RFC 5182
		{"a ENABLE UTF8=ACCEPT\r\n", "tag:a|ENABLE|UTF8=ACCEPT"},
		{"a ID (\"name\" \"sodr\" \"version\" NIL)\r\n", `tag:a|ID|(|str:"name"|str:"sodr"|str:"version"|NIL|)`}, // RFC 2971
		{"A003 APPEND saved-messages (\\Seen) \"17-Jul-1996 02:44:25 -0700\" ~{5}\r\nhello\r\n",
			`tag:A003|APPEND|saved-messages|(|flag:\Seen|)|str:"17-Jul-1996 02:44:25 -0700"|lit:5:true:3`},
		{"a LIST \"\" * RETURN (SPECIAL-USE STATUS (MESSAGES))\r\n", `tag:a|LIST|str:""|word:*|RETURN|(|SPECIAL-USE|STATUS|(|MESSAGES|)|)`}, // RFC 5819
		{"a LOGIN \"fred \\\"x\\\\\" {3}\r\nabc\r\n", `tag:a|LOGIN|str:"fred \"x\\"|str:"abc"`},
		{"a NOOP\n", "tag:a|NOOP"}, // QUIRK: bare LF
		{"a STORE 1 FLAGS ()\r\n", "tag:a|STORE|word:1|FLAGS|(|)"},
		{"a STORE 1 +FLAGS.SILENT (\\* $Junk)\r\n", `tag:a|STORE|word:1|+FLAGS.SILENT|(|flag:\*|$Junk|)`},
	}
	for _, tt := range tests {
		got := parseAll(tt.in, Options{})
		if len(got) != 1 || got[0] != tt.want {
			t.Errorf("%q:\n got %q\nwant %q", tt.in, got, tt.want)
			continue
		}
		// decode -> encode -> decode gives the same tokens.
		enc, ok := reencode(strings.Split(got[0], "|"))
		if !ok {
			continue
		}
		if again := parseAll(enc, Options{}); len(again) != 1 || again[0] != got[0] {
			t.Errorf("round trip of %q via %q: %q", tt.in, enc, again)
		}
	}
}

func TestDecodeErrors(t *testing.T) {
	tests := []struct{ in, want string }{
		{"a  NOOP\r\n", `syntax error: expected command name, got SP`},
		{"+ NOOP\r\n", `syntax error: expected tag, got "+"`},
		{"a\r\n", `syntax error: expected SP after tag, got end of line`},
		{"a LOGIN \"abc\r\n", `syntax error: unterminated quoted string`},
		{"a LOGIN \"a\\bc\"\r\n", `syntax error: invalid escape in quoted string (only \" and \\ are allowed)`},
		{"a LOGIN \"a\x00\"\r\n", `syntax error: NUL in quoted string`},
		{"a LOGIN {3}\r\na\x00c\r\n", `syntax error: NUL in literal`},
		{"a LOGIN {3x}\r\n", `syntax error: expected "}", got "x"`},
		{"a LOGIN {}\r\n", `syntax error: expected literal size, got "}"`},
		{"a LOGIN {99999999999999999999}\r\n", `syntax error: number out of range`},
		{"a LOGIN {3}x\r\n", `syntax error: expected end of line after literal header, got "x"`},
		{"a STORE 1 FLAGS (\\)\r\n", `syntax error: expected flag name after "\", got ")"`},
		{"a STORE 1 FLAGS (a b\r\n", `syntax error: expected SP or ")" in list, got end of line`},
		{"a FETCH 1 BODY[]<x>\r\n", `syntax error: expected number, got "x"`},
		{"a FETCH 1 BODY[]<4294967296>\r\n", `syntax error: number out of range`},
		{"a NOOP\r", `unexpected EOF`},
		{"a NOOP\rx\r\n", `syntax error: expected end of line, got CR not followed by LF`},
		{"a NOOP\tx\r\n", `syntax error: expected end of line, got byte 0x9`},
		{"a NOOP  x\r\n", `syntax error: expected mailbox pattern, got SP`},
		{"a ID (a", `unexpected EOF`},
	}
	for _, tt := range tests {
		got := parseAll(tt.in, Options{})
		if len(got) == 0 || got[0] != "ERR: "+tt.want {
			t.Errorf("%q:\n got %q\nwant %q", tt.in, got, "ERR: "+tt.want)
		}
	}
}

func TestErrorsAs(t *testing.T) {
	d := newDec("a b c\r\n", Options{})
	var s string
	d.Atom(&s)
	d.ExpectCRLF()
	var se *SyntaxError
	if !errors.As(d.Err(), &se) || !IsSyntax(d.Err()) || IsLimit(d.Err()) {
		t.Fatalf("Err() = %#v, want *SyntaxError", d.Err())
	}
	d = newDec(strings.Repeat("a", 100)+"\r\n", Options{MaxLineLength: 10})
	d.Atom(&s)
	var le *LimitError
	if !errors.As(d.Err(), &le) || le.Limit != "line_length" || le.Max != 10 || !IsLimit(d.Err()) {
		t.Fatalf("Err() = %#v", d.Err())
	}
	if got := le.Error(); got != "line_length limit exceeded (max 10 bytes)" {
		t.Errorf("Error() = %q", got)
	}
	if got := (&LimitError{Limit: LimitNestingDepth, Max: 3}).Error(); got != "nesting_depth limit exceeded (max 3)" {
		t.Errorf("Error() = %q", got)
	}
}

func TestOptionalMethodsDoNotConsume(t *testing.T) {
	d := newDec(")rest", Options{})
	var s string
	var n uint32
	var n64 int64
	var isNil bool
	var set imap.SeqSet
	var uids imap.UIDSet
	var tm time.Time
	checks := []struct {
		name string
		ok   bool
	}{
		{"Atom", d.Atom(&s)}, {"Tag", d.Tag(&s)}, {"Name", d.Name(&s)}, {"Number", d.Number(&n)},
		{"Number64", d.Number64(&n64)}, {"Quoted", d.Quoted(&s)}, {"String", d.String(&s)},
		{"AString", d.AString(&s)}, {"NString", d.NString(&s, &isNil)}, {"ListMailbox", d.ListMailbox(&s)},
		{"Flag", d.Flag(&s)}, {"SeqSet", d.SeqSet(&set)}, {"UIDSet", d.UIDSet(&uids)},
		{"DateTime", d.DateTime(&tm)}, {"Date", d.Date(&tm)}, {"SP", d.SP()}, {"CRLF", d.CRLF()},
		{"SearchRes", d.SearchRes()}, {"List", d.List(func() bool { return true })}, {"Special", d.Special('(')},
	}
	for _, c := range checks {
		if c.ok {
			t.Errorf("%s matched %q", c.name, ")rest")
		}
	}
	if d.Err() != nil {
		t.Fatalf("Err() = %v", d.Err())
	}
	if !d.Special(')') || !d.Atom(&s) || s != "rest" {
		t.Errorf("input was consumed: %q %v", s, d.Err())
	}
}

func TestDecodeTokens(t *testing.T) {
	d := newDec(`tag1 "quo\"ted" {5}`+"\r\nlit\"x NIL nil \"\" abc] list%*]x \\Seen \\* kw 4294967295 9223372036854775807 "+
		`1,2:*,5:3 1:2 "17-Jul-1996 02:44:25 -0700" 1-Feb-1994 "2-Feb-1994" `+"\r\n", Options{})
	var s, q, lit, nstr, a1, lm, f1, f2, f3 string
	var isNil, isNil2, isNil3 bool
	var n uint32
	var n64 int64
	var set imap.SeqSet
	var uids imap.UIDSet
	var dt, dd, dq time.Time
	ok := d.Tag(&s) && d.SP() && d.Quoted(&q) && d.SP() && d.String(&lit) && d.SP() &&
		d.NString(&nstr, &isNil) && d.SP() && d.NString(&nstr, &isNil2) && d.SP() && d.NString(&nstr, &isNil3) && d.SP() &&
		d.AString(&a1) && d.SP() && d.ListMailbox(&lm) && d.SP() && d.Flag(&f1) && d.SP() &&
		d.Flag(&f2) && d.SP() && d.Flag(&f3) && d.SP() && d.Number(&n) && d.SP() && d.Number64(&n64) && d.SP() &&
		d.SeqSet(&set) && d.SP() && d.UIDSet(&uids) && d.SP() && d.DateTime(&dt) && d.SP() && d.Date(&dd) && d.SP() &&
		d.Date(&dq) && d.SP() && d.CRLF()
	if !ok {
		t.Fatalf("decode failed: %v", d.Err())
	}
	want := []string{"tag1", `quo"ted`, `lit"x`, "", "abc]", "list%*]x", `\Seen`, `\*`, "kw"}
	got := []string{s, q, lit, nstr, a1, lm, f1, f2, f3}
	if !slices.Equal(got, want) || !isNil || !isNil2 || isNil3 {
		t.Errorf("got %q nils %v %v %v", got, isNil, isNil2, isNil3)
	}
	if n != 4294967295 || n64 != 9223372036854775807 {
		t.Errorf("numbers %d %d", n, n64)
	}
	if set.String() != "1,2:*,3:5" || uids.String() != "1:2" {
		t.Errorf("sets %v %v", set, uids)
	}
	if dt.Format(time.RFC3339) != "1996-07-17T02:44:25-07:00" || dd.Format("2006-01-02") != "1994-02-01" || dq.Day() != 2 {
		t.Errorf("dates %v %v %v", dt, dd, dq)
	}
}

func TestSearchRes(t *testing.T) {
	var set imap.SeqSet
	var res bool
	d := newDec("$ 1:3 $", Options{})
	if !d.ExpectSeqSetOrRes(&set, &res) || !res || set != nil {
		t.Fatalf("$: %v %v %v", res, set, d.Err())
	}
	if !d.SP() || !d.ExpectSeqSetOrRes(&set, &res) || res || set.String() != "1:3" {
		t.Fatalf("1:3: %v %v %v", res, set, d.Err())
	}
	d.SP()
	if d.ExpectSeqSet(&set) {
		t.Fatal("ExpectSeqSet accepted $")
	}
	if got := d.Err().Error(); got != `syntax error: "$" (SEARCHRES) is not allowed here` {
		t.Errorf("err = %q", got)
	}
}

func TestInvalidSetsAndDates(t *testing.T) {
	for _, in := range []string{"0", "1:0", "01", "1,,2", "4294967296"} {
		var set imap.SeqSet
		d := newDec(in+" ", Options{})
		if d.SeqSet(&set) || !IsSyntax(d.Err()) {
			t.Errorf("SeqSet(%q) = %v, %v", in, set, d.Err())
		}
	}
	for _, in := range []string{`"32-Jan-2020 00:00:00 +0000"`, `"1-Jan-2020"`} {
		var tm time.Time
		d := newDec(in, Options{})
		if d.DateTime(&tm) || !IsSyntax(d.Err()) {
			t.Errorf("DateTime(%q) = %v, %v", in, tm, d.Err())
		}
	}
	for _, in := range []string{`31-Apr-2020`, `"1-Jan-20"`, "1-Jan-2020x("} {
		var tm time.Time
		d := newDec(in, Options{})
		if d.Date(&tm) || !IsSyntax(d.Err()) {
			t.Errorf("Date(%q) = %v, %v", in, tm, d.Err())
		}
	}
}

func TestEOF(t *testing.T) {
	var s string
	d := newDec("", Options{})
	d.ResetLine()
	if d.Tag(&s) || d.Err() != io.EOF {
		t.Errorf("empty input: %v", d.Err())
	}
	d = newDec("a NOOP", Options{})
	d.ResetLine()
	if !d.Tag(&s) || !d.SP() || !d.Atom(&s) || d.CRLF() || d.Err() != io.ErrUnexpectedEOF {
		t.Errorf("truncated: %v", d.Err())
	}
	if err := d.DiscardLine(); err != io.ErrUnexpectedEOF {
		t.Errorf("DiscardLine after EOF = %v", err)
	}
}

func TestLine(t *testing.T) {
	d := newDec("dGVzdAB0ZXN0AHRlc3Q=\r\n\r\n*\r\n", Options{})
	var s string
	if !d.Line(&s) || s != "dGVzdAB0ZXN0AHRlc3Q=" || !d.CRLF() {
		t.Fatalf("Line = %q %v", s, d.Err())
	}
	if !d.Line(&s) || s != "" || !d.CRLF() || !d.Line(&s) || s != "*" {
		t.Fatalf("Line = %q %v", s, d.Err())
	}
}
