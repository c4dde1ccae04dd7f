package msgdata

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"barid/internal/imap"
	"barid/internal/mail/mime"
)

func crlf(s string) string { return strings.ReplaceAll(s, "\n", "\r\n") }

func analyze(t testing.TB, msg string) *Analysis {
	t.Helper()
	a, err := Analyze(strings.NewReader(msg), mime.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// TestEnvelopeRFC3501 uses the FETCH example of RFC 3501 §7.4.2.
func TestEnvelopeRFC3501(t *testing.T) {
	msg := crlf(`Date: Wed, 17 Jul 1996 02:23:25 -0700 (PDT)
From: Terry Gray <gray@cac.washington.edu>
Subject: IMAP4rev1 WG mtg summary and minutes
To: imap@cac.washington.edu
cc: minutes@CNRI.Reston.VA.US, John Klensin <KLENSIN@MIT.EDU>
Message-Id: <B27397-0100000@cac.washington.edu>
MIME-Version: 1.0
Content-Type: TEXT/PLAIN; CHARSET=US-ASCII

Hello
`)
	a := analyze(t, msg)
	want := `("Wed, 17 Jul 1996 02:23:25 -0700 (PDT)" "IMAP4rev1 WG mtg summary and minutes" ` +
		`(("Terry Gray" NIL "gray" "cac.washington.edu")) (("Terry Gray" NIL "gray" "cac.washington.edu")) ` +
		`(("Terry Gray" NIL "gray" "cac.washington.edu")) ((NIL NIL "imap" "cac.washington.edu")) ` +
		`((NIL NIL "minutes" "CNRI.Reston.VA.US")("John Klensin" NIL "KLENSIN" "MIT.EDU")) NIL NIL ` +
		`"<B27397-0100000@cac.washington.edu>")`
	if string(a.Envelope) != want {
		t.Errorf("ENVELOPE\n got  %s\n want %s", a.Envelope, want)
	}
	// The RFC shows ("TEXT" "PLAIN" ("CHARSET" "US-ASCII") ...); like
	// Dovecot, barid writes a plain 7-bit text part with its defaults.
	body, _ := BodyStructure(a.Structure, false)
	if string(body) != `("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 7 1)` {
		t.Errorf("BODY %s", body)
	}
	if a.Subject != "imap4rev1 wg mtg summary and minutes" || !strings.Contains(a.Cc, "klensin@mit.edu") {
		t.Errorf("search fields: %q %q", a.Subject, a.Cc)
	}
	if a.SentDate.IsZero() || a.Size != int64(len(msg)) || !bytes.HasSuffix(a.Header, []byte("US-ASCII\r\n\r\n")) {
		t.Errorf("date %v size %d header %q", a.SentDate, a.Size, a.Header)
	}
}

// RFC 3501 §7.4.2 / RFC 9051 §7.5.2: Sender and Reply-To that are absent,
// or present but empty, are the From member of the envelope.
func TestEnvelopeSenderDefaults(t *testing.T) {
	from := `(("Real Name" NIL "user" "domain"))`
	for _, tc := range []struct{ hdr, sender, replyTo string }{
		{"", from, from},
		{"Sender: \nReply-To: \n", from, from},
		{"Sender:\nReply-To:   \n", from, from},
		{"Sender: s@x.org\nReply-To:\n", `((NIL NIL "s" "x.org"))`, from},
		{"Reply-To: r@y.org\n", from, `((NIL NIL "r" "y.org"))`},
	} {
		hdr := strings.ReplaceAll(tc.hdr, `\n`, "\n")
		a := analyze(t, crlf("From: user@domain (Real Name)\n"+hdr+"\nbody\n"))
		want := "(NIL NIL " + from + " " + tc.sender + " " + tc.replyTo + " NIL NIL NIL NIL NIL)"
		if string(a.Envelope) != want {
			t.Errorf("%q:\n got  %s\n want %s", tc.hdr, a.Envelope, want)
		}
	}
}

func TestQuote(t *testing.T) {
	tests := []struct {
		in, nstring, humans string
	}{
		{"plain", `"plain"`, `"plain"`},
		{`a "quoted" \ word`, `"a \"quoted\" \\ word"`, "{17}\r\na \"quoted\" \\ word"},
		{`"""""`, "{5}\r\n\"\"\"\"\"", "{5}\r\n\"\"\"\"\""},
		{"8-bit é", "{8}\r\n8-bit é", "{8}\r\n8-bit é"},
		{"line\r\nbreak", "{11}\r\nline\r\nbreak", "{10}\r\nline break"},
		{"  spaced\t out  ", `"  spaced` + "\t" + ` out  "`, "{10}\r\nspaced out"},
		{"", `""`, `""`},
	}
	for _, tt := range tests {
		if got := string(appendNString(nil, tt.in)); got != tt.nstring {
			t.Errorf("nstring(%q) = %q, want %q", tt.in, got, tt.nstring)
		}
		if got := string(appendStringForHumans(nil, tt.in)); got != tt.humans {
			t.Errorf("humans(%q) = %q, want %q", tt.in, got, tt.humans)
		}
	}
}

// sectionMsg follows the part numbering example of RFC 3501 §6.4.5.
var sectionMsg = crlf(`From: a@example.com
Subject: sections
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary=top

--top
Content-Type: text/plain

part 1
--top
Content-Type: message/rfc822

From: b@example.com
Subject: inner
Content-Type: multipart/alternative; boundary=in

--in
Content-Type: text/plain

2.1 text
--in
Content-Type: text/html
Content-Transfer-Encoding: base64

PGI+Mi4yPC9iPg==
--in--
--top--
`)

func TestSection(t *testing.T) {
	a := analyze(t, sectionMsg)
	blob := strings.NewReader(sectionMsg)
	tests := []struct {
		sec  imap.Section
		want string
	}{
		{imap.Section{}, sectionMsg},
		{imap.Section{Specifier: imap.SectionHeader}, sectionMsg[:strings.Index(sectionMsg, "\r\n\r\n")+4]},
		{imap.Section{Specifier: imap.SectionHeaderFields, Fields: []string{"subject", "X-None"}}, "Subject: sections\r\n\r\n"},
		{imap.Section{Specifier: imap.SectionHeaderFieldsNot, Fields: []string{"From", "Subject", "MIME-Version"}},
			"Content-Type: multipart/mixed; boundary=top\r\n\r\n"},
		{imap.Section{Part: []int{1}}, "part 1"},
		{imap.Section{Part: []int{1}, Specifier: imap.SectionMIME}, "Content-Type: text/plain\r\n\r\n"},
		{imap.Section{Part: []int{2, 1}}, "2.1 text"},
		{imap.Section{Part: []int{2, 2}}, "PGI+Mi4yPC9iPg=="},
		{imap.Section{Part: []int{2}, Specifier: imap.SectionHeaderFields, Fields: []string{"SUBJECT"}}, "Subject: inner\r\n\r\n"},
		{imap.Section{Part: []int{2}, Specifier: imap.SectionHeader},
			"From: b@example.com\r\nSubject: inner\r\nContent-Type: multipart/alternative; boundary=in\r\n\r\n"},
		{imap.Section{Part: []int{1}, Specifier: imap.SectionHeader}, ""}, // not a message/rfc822 part
		{imap.Section{Part: []int{3}}, ""},                                // no such part
		{imap.Section{Part: []int{1}, Partial: true, Offset: 2, Count: 3}, "rt "},
		{imap.Section{Partial: true, Offset: 100000, Count: 3}, ""},
	}
	for _, tt := range tests {
		r, n, err := Section(a.Root, a.Header, blob, tt.sec)
		if err != nil {
			t.Fatalf("%+v: %v", tt.sec, err)
		}
		r, n, err = Partial(r, n, tt.sec)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(r)
		if string(got) != tt.want || n != int64(len(got)) {
			t.Errorf("%+v: got %q (size %d), want %q", tt.sec, got, n, tt.want)
		}
	}
	// the top-level header is served without the blob
	if NeedsBlob(a.Root, imap.Section{Specifier: imap.SectionHeader}) || !NeedsBlob(a.Root, imap.Section{Part: []int{1}}) {
		t.Error("NeedsBlob")
	}
	if _, _, err := Section(a.Root, a.Header, nil, imap.Section{Specifier: imap.SectionHeaderFields, Fields: []string{"From"}}); err != nil {
		t.Errorf("header fields without blob: %v", err)
	}
}

func TestSectionLF(t *testing.T) {
	msg := "Subject: lf\n\nline 1\nline 2\n"
	a := analyze(t, msg)
	r, n, err := Section(a.Root, a.Header, strings.NewReader(msg), imap.Section{})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(r)
	if want := crlf(msg); string(got) != want || n != int64(len(want)) || a.Size != n {
		t.Errorf("got %q size %d (RFC822.SIZE %d), want %q", got, n, a.Size, want)
	}
}

func TestBinary(t *testing.T) {
	a := analyze(t, sectionMsg)
	blob := strings.NewReader(sectionMsg)
	r, n, err := Binary(a.Root, blob, []int{2, 2})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(r)
	if string(got) != "<b>2.2</b>" || n != 10 {
		t.Errorf("BINARY[2.2] = %q (%d)", got, n)
	}
	if sz, err := BinarySize(a.Root, blob, []int{2, 2}); err != nil || sz != 10 {
		t.Errorf("BINARY.SIZE[2.2] = %d, %v", sz, err)
	}
	// a multipart: the encoded part inside is decoded and its header
	// says binary
	r, n, _ = Binary(a.Root, blob, []int{2})
	got, _ = io.ReadAll(r)
	if !bytes.Contains(got, []byte("Content-Transfer-Encoding: binary\r\n\r\n<b>2.2</b>")) || int64(len(got)) != n {
		t.Errorf("BINARY[2] = %q", got)
	}
	if sz, _ := BinarySize(a.Root, blob, []int{2}); sz != n {
		t.Errorf("BINARY.SIZE[2] = %d, stream %d", sz, n)
	}

	unknown := crlf("Content-Type: text/plain\nContent-Transfer-Encoding: x-uuencode\n\nbegin\n")
	u := analyze(t, unknown)
	if _, _, err := Binary(u.Root, strings.NewReader(unknown), []int{1}); !errors.Is(err, ErrUnknownCTE) {
		t.Errorf("unknown CTE: %v", err)
	}
	bad := crlf("Content-Transfer-Encoding: base64\n\nQUJD*\n")
	b := analyze(t, bad)
	if _, err := BinarySize(b.Root, strings.NewReader(bad), nil); !errors.Is(err, ErrBadEncoding) || errors.Is(err, ErrTruncatedEncoding) {
		t.Errorf("bad base64: %v", err)
	}
	short := crlf("Content-Transfer-Encoding: base64\n\nQUJ\n")
	s := analyze(t, short)
	if _, _, err := Binary(s.Root, strings.NewReader(short), []int{1}); !errors.Is(err, ErrTruncatedEncoding) || !errors.Is(err, ErrBadEncoding) {
		t.Errorf("truncated base64: %v", err)
	}
	if sz, err := BinarySize(a.Root, blob, []int{9}); err != nil || sz != 0 {
		t.Errorf("no such part: %d %v", sz, err)
	}
}

func TestMatch(t *testing.T) {
	msg := crlf(`From: =?ISO-8859-1?Q?Andr=E9?= <andre@example.com>
Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe?= aus Berlin
X-Flag:
Content-Type: multipart/mixed; boundary=b

--b
Content-Type: text/plain; charset=iso-8859-1
Content-Transfer-Encoding: quoted-printable

Caf=E9 cr=E8me
--b
Content-Type: text/html; charset=utf-8
Content-Transfer-Encoding: base64

PHA+U8OcU1NJR0tFSVQ8L3A+
--b
Content-Type: application/octet-stream

hidden binary text
--b--
`)
	a := analyze(t, msg)
	blob := strings.NewReader(msg)
	hdr := []struct {
		field, needle string
		want          bool
	}{
		{"subject", "GRÜSSE", false}, // no folding of ß to ss in i;unicode-casemap simple case
		{"subject", "grüße", true},
		{"SUBJECT", "BERLIN", true},
		{"from", "andré", true},
		{"x-flag", "", true},
		{"x-missing", "", false},
	}
	for _, tt := range hdr {
		if got := MatchHeaderField(a.Header, tt.field, tt.needle); got != tt.want {
			t.Errorf("HEADER %s %q = %v", tt.field, tt.needle, got)
		}
	}
	body := []struct {
		needle string
		want   bool
	}{
		{"CAFÉ CRÈME", true},
		{"süssigkeit", true}, // base64 UTF-8 html (SÜSSIGKEIT)
		{"hidden binary", false},
		{"berlin", false}, // header only
	}
	for _, tt := range body {
		got, err := MatchBody(a.Root, blob, tt.needle)
		if err != nil || got != tt.want {
			t.Errorf("BODY %q = %v, %v", tt.needle, got, err)
		}
	}
	if ok, _ := MatchText(a.Root, a.Header, blob, "berlin"); !ok {
		t.Error("TEXT should search the header")
	}
	if ok, _ := MatchText(a.Root, a.Header, blob, "crème"); !ok {
		t.Error("TEXT should search the body")
	}
}

// SEARCH BODY on single-part messages: the ASCII fast path (ASCII text in
// an ASCII-compatible charset) must agree with the Unicode path, which
// handles everything else.
func TestMatchBodyCharsets(t *testing.T) {
	tests := []struct {
		charset, cte, body, needle string
		want                       bool
	}{
		{"us-ascii", "7bit", "Hello Wide World", "o w", true},
		{"us-ascii", "7bit", "Hello Wide World", "WIDE WORLD", true},
		{"", "7bit", "Hello Wide World", "wide  world", false},
		{"utf-8", "7bit", "plain ascii text", "ä", false},              // non-ASCII needle in ASCII text
		{"utf-8", "8bit", "Stra\u00dfe KELVIN", "straße kelvin", true}, // non-ASCII text: Unicode path
		{"utf-8", "8bit", "\u212a", "k", true},                         // KELVIN SIGN lower-cases to k
		{"iso-8859-1", "quoted-printable", "Caf=E9 au LAIT", "café au lait", true},
		{"iso-8859-1", "quoted-printable", "just ASCII=20HERE", "ascii here", true},
		{"utf-16le", "base64", "aABpAA==", "hi", true},
		{"windows-1252", "7bit", "MiXeD CaSe", "mixed case", true},
	}
	for _, tt := range tests {
		body := strings.ReplaceAll(strings.ReplaceAll(tt.body, "\\u00df", "ß"), "\\u212a", "\u212a")
		ct := "text/plain"
		if tt.charset != "" {
			ct += "; charset=" + tt.charset
		}
		msg := crlf("Subject: t\nContent-Type: " + ct + "\nContent-Transfer-Encoding: " + tt.cte + "\n\n" + body + "\n")
		a := analyze(t, msg)
		got, err := MatchBody(a.Root, strings.NewReader(msg), tt.needle)
		if err != nil || got != tt.want {
			t.Errorf("%s %s %q BODY %q = %v, %v; want %v", tt.charset, tt.cte, tt.body, tt.needle, got, err, tt.want)
		}
	}
}

// BenchmarkBodyStructure renders BODYSTRUCTURE from the stored form, as
// every FETCH BODYSTRUCTURE does.
func BenchmarkBodyStructure(b *testing.B) {
	a := analyze(b, sectionMsg)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := BodyStructure(a.Structure, true); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBodyStructureFromTree renders it from the tree alone, as for
// messages stored before the rendered text was kept (or by another
// renderer version).
func BenchmarkBodyStructureFromTree(b *testing.B) {
	a := analyze(b, sectionMsg)
	tree := a.Root.Marshal()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := BodyStructure(tree, true); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAnalyze(b *testing.B) {
	b.SetBytes(int64(len(sectionMsg)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Analyze(strings.NewReader(sectionMsg), mime.Limits{}); err != nil {
			b.Fatal(err)
		}
	}
}
