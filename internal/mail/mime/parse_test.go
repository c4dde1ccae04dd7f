package mime

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func crlf(s string) string { return strings.ReplaceAll(s, "\n", "\r\n") }

func mustParse(t testing.TB, msg string, lim Limits) *Part {
	t.Helper()
	p, err := Parse(strings.NewReader(msg), lim)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// rfc2046 is the example of RFC 2046 §5.1.1.
var rfc2046 = crlf(`From: Nathaniel Borenstein <nsb@bellcore.com>
To: Ned Freed <ned@innosoft.com>
Date: Sun, 21 Mar 1993 23:56:48 -0800 (PST)
Subject: Sample message
MIME-Version: 1.0
Content-type: multipart/mixed; boundary="simple boundary"

This is the preamble.  It is to be ignored, though it
is a handy place for composition agents to include an
explanatory note to non-MIME conformant readers.

--simple boundary

This is implicitly typed plain US-ASCII text.
It does NOT end with a linebreak.
--simple boundary
Content-type: text/plain; charset=us-ascii

This is explicitly typed plain US-ASCII text.
It DOES end with a linebreak.

--simple boundary--

This is the epilogue.  It is also to be ignored.
`)

func TestParseRFC2046Example(t *testing.T) {
	p := mustParse(t, rfc2046, Limits{})
	if !p.IsMultipart() || len(p.Children) != 2 {
		t.Fatalf("want multipart with 2 parts, got flags %b, %d children", p.Flags, len(p.Children))
	}
	if p.Type != "multipart" || p.Subtype != "mixed" || p.RawType != "" {
		t.Errorf("type %q/%q raw %q", p.Type, p.Subtype, p.RawType)
	}
	body := func(q *Part) string { return rfc2046[q.BodyStart():q.BodyEnd()] }
	hdr := func(q *Part) string { return rfc2046[q.Offset:q.HeaderEnd()] }
	one, two := p.Children[0], p.Children[1]
	// The first part has an empty header (just the blank line) and a body
	// without the line end before the next boundary (RFC 2046 §5.1.1:
	// the CRLF preceding the boundary belongs to the boundary).
	if got := hdr(one); got != "\r\n" {
		t.Errorf("part 1 header %q", got)
	}
	if got, want := body(one), "This is implicitly typed plain US-ASCII text.\r\nIt does NOT end with a linebreak."; got != want {
		t.Errorf("part 1 body %q", got)
	}
	if one.BodyLines != 1 || one.Type != "" || one.Flags&FlagText == 0 {
		t.Errorf("part 1: lines %d type %q flags %b", one.BodyLines, one.Type, one.Flags)
	}
	if got, want := body(two), "This is explicitly typed plain US-ASCII text.\r\nIt DOES end with a linebreak.\r\n"; got != want {
		t.Errorf("part 2 body %q", got)
	}
	if got := hdr(two); got != "Content-type: text/plain; charset=us-ascii\r\n\r\n" {
		t.Errorf("part 2 header %q", got)
	}
	if two.Params[0] != (Param{"charset", "us-ascii"}) {
		t.Errorf("params %v", two.Params)
	}
	if p.BodyEnd() != int64(len(rfc2046)) {
		t.Errorf("root ends at %d, message is %d bytes", p.BodyEnd(), len(rfc2046))
	}
	if p.Env == nil || p.Env.Subject != "Sample message" || len(p.Env.From) != 1 {
		t.Errorf("envelope %+v", p.Env)
	}
}

// TestParseBroken: broken mail gives a structure, never an error
// (Dovecot's rules for each case; the golden corpus checks them against
// Dovecot in detail).
func TestParseBroken(t *testing.T) {
	tests := []struct {
		name, msg string
		check     func(*Part) string
	}{
		{"empty", "", func(p *Part) string {
			if p.HeaderSize != 0 || p.BodySize != 0 || p.Flags&FlagText == 0 {
				return "not an empty text part"
			}
			return ""
		}},
		{"no blank line", crlf("Subject: x\nbody without separator\n"), func(p *Part) string {
			if p.BodySize != 0 || p.HeaderLines != 2 {
				return "header should take everything"
			}
			return ""
		}},
		{"LF only", "Subject: x\n\nline\n", func(p *Part) string {
			if p.HeaderSize != 12 || p.HeaderVSize != 14 || p.BodyVSize != 6 || p.Flags&FlagBareLF == 0 {
				return "virtual sizes must count CRLF"
			}
			return ""
		}},
		{"boundary never appears", crlf("Content-Type: multipart/mixed; boundary=x\n\n--y\nbody\n"), func(p *Part) string {
			if !p.IsMultipart() || len(p.Children) != 0 {
				return "want a multipart without parts"
			}
			return ""
		}},
		{"no boundary parameter", crlf("Content-Type: multipart/mixed\n\n--y\n\nbody\n"), func(p *Part) string {
			if !p.IsMultipart() || len(p.Children) != 0 {
				return "want a multipart without parts"
			}
			return ""
		}},
		{"no end boundary", crlf("Content-Type: multipart/mixed; boundary=x\n\n--x\n\none\n--x\n\ntwo\n"), func(p *Part) string {
			if len(p.Children) != 2 || p.Children[1].BodyEnd() != p.BodyEnd() {
				return "last part should run to the end"
			}
			return ""
		}},
		{"transport padding", crlf("Content-Type: multipart/mixed; boundary=x\n\n--x  \t\n\none\n--x--  \n"), func(p *Part) string {
			if len(p.Children) != 1 {
				return "padding after the boundary must be ignored"
			}
			return ""
		}},
		{"content-type without mime-version is mime", crlf("Content-Type: text/html\n\nx"), func(p *Part) string {
			if p.Type != "text" || p.Subtype != "html" {
				return "Content-Type alone counts (as in Dovecot)"
			}
			return ""
		}},
		{"non-mime drops content fields", crlf("Content-Transfer-Encoding: base64\n\nQUJD\n"), func(p *Part) string {
			if p.Has&HasEncoding != 0 || p.Flags&FlagBinBase64 == 0 {
				return "CTE ignored for BODYSTRUCTURE but used by BINARY"
			}
			return ""
		}},
		{"digest default", crlf("Content-Type: multipart/digest; boundary=d\n\n--d\n\nSubject: in\n\nx\n--d--\n"), func(p *Part) string {
			if len(p.Children) != 1 || !p.Children[0].IsMessage() || p.Children[0].Children[0].Env.Subject != "in" {
				return "digest parts default to message/rfc822"
			}
			return ""
		}},
		{"garbage", "\x00\xff--\r\n\r\n--\n:::\r\r\n", func(p *Part) string { return "" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := mustParse(t, tt.msg, Limits{})
			if msg := tt.check(p); msg != "" {
				t.Error(msg)
			}
			checkTree(t, p, int64(len(tt.msg)))
		})
	}
}

// checkTree verifies the invariants of a parsed tree: parts are inside
// their parents, siblings do not overlap, the root covers the message.
func checkTree(t testing.TB, root *Part, size int64) {
	t.Helper()
	if root.Offset != 0 || root.BodyEnd() != size {
		t.Fatalf("root covers [%d,%d), message has %d bytes", root.Offset, root.BodyEnd(), size)
	}
	var walk func(p *Part)
	walk = func(p *Part) {
		if p.HeaderSize < 0 || p.BodySize < 0 || p.HeaderLines < 0 || p.BodyLines < 0 {
			t.Fatalf("negative size in %+v", p)
		}
		prev := p.BodyStart()
		for _, c := range p.Children {
			if c.Offset < prev || c.BodyEnd() > p.BodyEnd() {
				t.Fatalf("child [%d,%d) outside parent body [%d,%d) or overlapping (prev end %d)",
					c.Offset, c.BodyEnd(), p.BodyStart(), p.BodyEnd(), prev)
			}
			prev = c.BodyEnd()
			walk(c)
		}
	}
	walk(root)
}

// TestFind uses the part numbering example of RFC 3501 §6.4.5.
func TestFind(t *testing.T) {
	msg := crlf(`Subject: RFC 3501 6.4.5
MIME-Version: 1.0
Content-Type: MULTIPART/MIXED; boundary=top

--top
Content-Type: TEXT/PLAIN

part 1
--top
Content-Type: APPLICATION/OCTET-STREAM

part 2
--top
Content-Type: MESSAGE/RFC822

Subject: part 3 message

part 3 body (3.1 is this text)
--top
Content-Type: MULTIPART/MIXED; boundary=four

--four
Content-Type: IMAGE/GIF

part 4.1
--four
Content-Type: MESSAGE/RFC822

Subject: 4.2
Content-Type: MULTIPART/MIXED; boundary=inner

--inner
Content-Type: TEXT/PLAIN

4.2.1
--inner
Content-Type: MULTIPART/ALTERNATIVE; boundary=alt

--alt
Content-Type: TEXT/PLAIN

4.2.2.1
--alt
Content-Type: TEXT/RICHTEXT

4.2.2.2
--alt--
--inner--
--four--
--top--
`)
	root := mustParse(t, msg, Limits{})
	tests := []struct {
		path []int
		want string // type/subtype, "" = not found
	}{
		{nil, "multipart/mixed"},
		{[]int{1}, "text/plain"},
		{[]int{2}, "application/octet-stream"},
		{[]int{3}, "message/rfc822"},
		{[]int{3, 1}, "text/plain"}, // the embedded message's body
		{[]int{4}, "multipart/mixed"},
		{[]int{4, 1}, "image/gif"},
		{[]int{4, 2}, "message/rfc822"},
		{[]int{4, 2, 1}, "text/plain"},
		{[]int{4, 2, 2}, "multipart/alternative"},
		{[]int{4, 2, 2, 1}, "text/plain"},
		{[]int{4, 2, 2, 2}, "text/richtext"},
		{[]int{5}, ""},
		{[]int{1, 1}, "text/plain"}, // Dovecot: 1 below a leaf is the leaf
		{[]int{3, 2}, ""},
		{[]int{0}, ""},
	}
	for _, tt := range tests {
		p, ok := root.Find(tt.path)
		got := ""
		if ok {
			typ, sub := p.MediaType()
			got = typ + "/" + sub
		}
		if got != tt.want {
			t.Errorf("Find(%v) = %q, want %q", tt.path, got, tt.want)
		}
	}
	// a non-multipart message: part 1 is the body itself
	single := mustParse(t, crlf("Subject: x\n\nbody\n"), Limits{})
	if p, ok := single.Find([]int{1}); !ok || p != single {
		t.Error("part 1 of a single-part message must be the message body")
	}
}

func TestLimits(t *testing.T) {
	deep := "Content-Type: text/plain\r\n\r\nleaf\r\n"
	for i := 5; i > 0; i-- {
		b := "b" + string(rune('0'+i))
		deep = "Content-Type: multipart/mixed; boundary=" + b + "\r\n\r\n--" + b + "\r\n" + deep + "--" + b + "--\r\n"
	}
	p := mustParse(t, deep, Limits{MaxDepth: 3})
	reached := func(msg string, lim Limits) string {
		t.Helper()
		_, hit, err := ParseReport(strings.NewReader(msg), lim)
		if err != nil {
			t.Fatal(err)
		}
		return hit
	}
	if h := reached(deep, Limits{MaxDepth: 3}); h != "mime_depth" {
		t.Errorf("MaxDepth 3: limit reached %q, want mime_depth", h)
	}
	if h := reached(deep, Limits{}); h != "" {
		t.Errorf("default limits: limit reached %q", h)
	}
	depth := 0
	for q := p; len(q.Children) > 0; q = q.Children[0] {
		depth++
		if len(q.Children[0].Children) == 0 && q.Children[0].Flags&FlagLimit == 0 {
			t.Errorf("innermost part at depth %d should carry FlagLimit", depth)
		}
	}
	if depth != 2 {
		t.Errorf("MaxDepth 3: %d levels of children, want 2", depth)
	}
	checkTree(t, p, int64(len(deep)))

	many := "Content-Type: multipart/mixed; boundary=m\r\n\r\n" +
		strings.Repeat("--m\r\n\r\npart\r\n", 10) + "--m--\r\nepilogue\r\n"
	p = mustParse(t, many, Limits{MaxParts: 4})
	if h := reached(many, Limits{MaxParts: 4}); h != "mime_parts" {
		t.Errorf("MaxParts 4: limit reached %q, want mime_parts", h)
	}
	if len(p.Children) != 3 {
		t.Fatalf("MaxParts 4: %d children, want 3 (root counts)", len(p.Children))
	}
	// past the limit the rest of the message is one part
	if last := p.Children[2]; last.BodyEnd() != int64(len(many)) {
		t.Errorf("last part should take the rest of the message")
	}
	checkTree(t, p, int64(len(many)))

	// header_size: fields that begin past MaxHeaderBytes of a header
	// block are not examined, so a Content-Type there is not seen; the
	// part's boundaries are still found. Under the limit it is seen.
	late := "X-Filler: " + strings.Repeat("x", 100) + "\r\n" +
		"Content-Type: multipart/mixed; boundary=z\r\n\r\n--z\r\n\r\nin\r\n--z--\r\n"
	p = mustParse(t, late, Limits{MaxHeaderBytes: 64})
	if h := reached(late, Limits{MaxHeaderBytes: 64}); h != "header_size" {
		t.Errorf("MaxHeaderBytes 64: limit reached %q, want header_size", h)
	}
	if h := reached(late, Limits{MaxHeaderBytes: 1024}); h != "" {
		t.Errorf("MaxHeaderBytes 1024: limit reached %q", h)
	}
	if len(p.Children) != 0 || p.Type == "multipart" {
		t.Errorf("MaxHeaderBytes 64: Content-Type past the limit was used (%s/%s, %d children)", p.Type, p.Subtype, len(p.Children))
	}
	checkTree(t, p, int64(len(late)))
	p = mustParse(t, late, Limits{MaxHeaderBytes: 1024})
	if len(p.Children) != 1 {
		t.Errorf("MaxHeaderBytes 1024: %d children, want 1", len(p.Children))
	}
	checkTree(t, p, int64(len(late)))
}

// TestParams uses the examples of RFC 2231 §3 and §4 and RFC 2045 §5.1.
// Like Dovecot, charset/language-encoded values stay encoded under the
// name "name*"; DecodeParam decodes them.
func TestParams(t *testing.T) {
	tests := []struct {
		in   string
		want []Param
	}{
		{`text/plain; charset=us-ascii (Plain text)`, []Param{{"charset", "us-ascii"}}},
		{`text/plain; charset="us-ascii"`, []Param{{"charset", "us-ascii"}}},
		{"message/external-body; access-type=URL;\r\n URL*0=\"ftp://\";\r\n URL*1=\"cs.utk.edu/pub/moore/bulk-mailer/bulk-mailer.tar\"",
			[]Param{{"access-type", "URL"}, {"URL", "ftp://cs.utk.edu/pub/moore/bulk-mailer/bulk-mailer.tar"}}},
		{`application/x-stuff; title*=us-ascii'en-us'This%20is%20%2A%2A%2Afun%2A%2A%2A`,
			[]Param{{"title*", "us-ascii'en-us'This%20is%20%2A%2A%2Afun%2A%2A%2A"}}},
		{"application/x-stuff;\r\n title*0*=us-ascii'en'This%20is%20even%20more%20;\r\n title*1*=%2A%2A%2Afun%2A%2A%2A%20;\r\n title*2=\"isn't it!\"",
			[]Param{{"title*", "us-ascii'en'This%20is%20even%20more%20%2A%2A%2Afun%2A%2A%2A%20isn't it!"}}},
		{`a/b; name*1=second; name*0=first`, []Param{{"name", "firstsecond"}}},
		{`a/b; name*0=first; name*2=gap`, []Param{{"name*0", "first"}, {"name*2", "gap"}}},
		// Dovecot skips to the end once a parameter is broken
		{`a/b; junk; ok=1`, nil},
	}
	for _, tt := range tests {
		_, rest, ok := parseContentType([]byte(tt.in))
		if !ok {
			t.Errorf("%q: type not parsed", tt.in)
			continue
		}
		if got := parseParams(rest); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%q:\n got  %q\n want %q", tt.in, got, tt.want)
		}
	}
	if v, ok := DecodeParam([]Param{{"title*", "us-ascii'en-us'This%20is%20%2A%2A%2Afun%2A%2A%2A"}}, "title"); !ok || v != "This is ***fun***" {
		t.Errorf("DecodeParam = %q, %v", v, ok)
	}
	if v, ok := DecodeParam([]Param{{"Name", "plain"}}, "name"); !ok || v != "plain" {
		t.Errorf("DecodeParam plain = %q, %v", v, ok)
	}
}

func TestDecodedSize(t *testing.T) {
	tests := []struct {
		cte, body string
		want      int64
		bad       bool
	}{
		{"base64", "SGVsbG8gd29y\r\nbGQ=\r\n", 11, false},
		{"base64", "QQ==", 1, false},
		{"base64", "QUI=", 2, false},
		{"base64", "QU JD\tREVG", 6, false},
		{"base64", "SGVsbG8", 5, true},           // truncated
		{"base64", "SGVs*bG8=", 5, true},         // invalid character
		{"base64", "SGVsbG8=SGVsbG8=", 10, true}, // data after padding
		{"quoted-printable", "a=3Db=\r\nc  \r\n", 6, false},
		{"quoted-printable", "line\n", 6, false}, // LF decodes to CRLF
		{"quoted-printable", "bad =ZZ\r\n", 9, true},
		{"quoted-printable", "ends with =", 11, true},
		{"7bit", "abc\ndef", 8, false},
		{"x-uuencode", "whatever", 8, false},
	}
	for _, tt := range tests {
		msg := "Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: " + tt.cte + "\r\n\r\n" + tt.body
		p := mustParse(t, msg, Limits{})
		if p.DecodedSize != tt.want || (p.Flags&FlagBadEncoding != 0) != tt.bad {
			t.Errorf("%s %q: decoded size %d bad %v, want %d %v", tt.cte, tt.body, p.DecodedSize,
				p.Flags&FlagBadEncoding != 0, tt.want, tt.bad)
		}
		// the decoder agrees with the size
		r, ok := NewPartDecoder(strings.NewReader(tt.body), p)
		if !ok {
			if p.Flags&FlagUnknownCTE == 0 {
				t.Errorf("%s: no decoder", tt.cte)
			}
			continue
		}
		out, _ := io.ReadAll(r)
		if int64(len(out)) != p.DecodedSize && encodingKind(tt.cte) != encIdentity {
			t.Errorf("%s %q: decoder gave %d bytes, size says %d", tt.cte, tt.body, len(out), p.DecodedSize)
		}
	}
}

func TestMarshalRoundTrip(t *testing.T) {
	files, _ := filepath.Glob("../../../testdata/mime/*.eml")
	files = append(files, "") // plus the RFC example
	for _, f := range files {
		raw := []byte(rfc2046)
		if f != "" {
			var err error
			if raw, err = os.ReadFile(f); err != nil {
				t.Fatal(err)
			}
		}
		p := mustParse(t, string(raw), Limits{})
		checkTree(t, p, int64(len(raw)))
		b := p.Marshal()
		q, err := Unmarshal(b)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if !reflect.DeepEqual(p, q) {
			t.Errorf("%s: round trip differs", f)
		}
		// every truncation is rejected cleanly
		for i := 0; i < len(b); i += 1 + len(b)/50 {
			if _, err := Unmarshal(b[:i]); err == nil {
				t.Errorf("%s: Unmarshal of %d/%d bytes succeeded", f, i, len(b))
			}
		}
		// format 3: the same tree behind annexes
		a := p.MarshalAnnex([]byte("first"), nil, []byte(f))
		q, err = Unmarshal(a)
		if err != nil || !reflect.DeepEqual(p, q) {
			t.Errorf("%s: annexed round trip differs (%v)", f, err)
		}
		for i, want := range []string{"first", "", f} {
			if got, ok := Annex(a, i); !ok || string(got) != want {
				t.Errorf("%s: Annex(%d) = %q, %v; want %q", f, i, got, ok, want)
			}
		}
		if _, ok := Annex(a, 3); ok {
			t.Errorf("%s: Annex past the end found", f)
		}
		if _, ok := Annex(b, 0); ok {
			t.Errorf("%s: format 2 has an annex", f)
		}
		for i := 0; i < len(a); i += 1 + len(a)/50 {
			if _, err := Unmarshal(a[:i]); err == nil {
				t.Errorf("%s: Unmarshal of %d/%d annexed bytes succeeded", f, i, len(a))
			}
		}
	}
}

type errReader struct{ n int }

func (e *errReader) Read(p []byte) (int, error) {
	if e.n <= 0 {
		return 0, errors.New("disk on fire")
	}
	e.n--
	return copy(p, "Subject: x\r\n"), nil
}

func TestParseReadError(t *testing.T) {
	if _, err := Parse(&errReader{n: 3}, Limits{}); err == nil || !strings.Contains(err.Error(), "disk on fire") {
		t.Errorf("read error not returned: %v", err)
	}
}

// TestLongLines: lines longer than the read buffer keep offsets exact.
func TestLongLines(t *testing.T) {
	long := strings.Repeat("x", 3*readBufSize+7)
	msg := crlf("X-Long: "+long+"\nContent-Type: multipart/mixed; boundary=b\n\n--b\n\n") + long + crlf("\n--b--\n")
	p := mustParse(t, msg, Limits{})
	if len(p.Children) != 1 || p.Children[0].BodySize != int64(len(long)) {
		t.Fatalf("long body: %d children", len(p.Children))
	}
	checkTree(t, p, int64(len(msg)))
	if !bytes.HasPrefix([]byte(msg[p.Children[0].BodyStart():]), []byte("xxx")) {
		t.Error("body offset wrong")
	}
}
