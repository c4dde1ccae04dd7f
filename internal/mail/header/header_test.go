package header

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

// TestParseAddressList uses the examples of RFC 5322 Appendix A.1 and
// A.5, and the tolerant cases Dovecot handles.
func TestParseAddressList(t *testing.T) {
	a := func(name, route, mbox, dom string) Address {
		return Address{Name: name, Route: route, Mailbox: mbox, Domain: dom}
	}
	start := func(name string) Address { return Address{Mailbox: name, GroupStart: true} }
	end := Address{GroupEnd: true}
	tests := []struct {
		in   string
		want []Address
	}{
		// A.1.1
		{`John Doe <jdoe@machine.example>`, []Address{a("John Doe", "", "jdoe", "machine.example")}},
		{`Mary Smith <mary@example.net>`, []Address{a("Mary Smith", "", "mary", "example.net")}},
		// A.1.2
		{`"Joe Q. Public" <john.q.public@example.com>`, []Address{a("Joe Q. Public", "", "john.q.public", "example.com")}},
		{`Mary Smith <mary@x.test>, jdoe@example.org, Who? <one@y.test>`, []Address{
			a("Mary Smith", "", "mary", "x.test"), a("", "", "jdoe", "example.org"), a("Who?", "", "one", "y.test")}},
		{`<boss@nil.test>, "Giant; \"Big\" Box" <sysservices@example.net>`, []Address{
			a("", "", "boss", "nil.test"), a(`Giant; "Big" Box`, "", "sysservices", "example.net")}},
		// A.1.3 groups
		{`A Group:Ed Jones <c@a.test>,joe@where.test,John <jdoe@one.test>;`, []Address{
			start("A Group"), a("Ed Jones", "", "c", "a.test"), a("", "", "joe", "where.test"),
			a("John", "", "jdoe", "one.test"), end}},
		{`Undisclosed recipients:;`, []Address{start("Undisclosed recipients"), end}},
		// A.5 white space and comments
		{"Pete(A nice \\) chap) <pete(his account)@silly.test(his host)>", []Address{a("Pete", "", "pete", "silly.test")}},
		{"(comment) user@example.com (Real Name)", []Address{a("Real Name", "", "user", "example.com")}},
		// obsolete route (RFC 5322 §4.4)
		{`<@relay1.example,@relay2.example:user@example.com>`, []Address{a("", "@relay1.example,@relay2.example", "user", "example.com")}},
		// encoded-words stay as sent
		{`=?utf-8?q?J=C3=B6rg?= <j@example.de>`, []Address{a("=?utf-8?q?J=C3=B6rg?=", "", "j", "example.de")}},
		// tolerant: missing pieces are filled in, as Dovecot does
		{`no-domain`, []Address{{Mailbox: "no-domain", Domain: MissingDomain, Invalid: true}}},
		{`"Just a name"`, []Address{{Name: "Just a name", Mailbox: MissingMailbox, Domain: MissingDomain, Invalid: true}}},
		{`<>`, []Address{{Mailbox: MissingMailbox, Domain: MissingDomain, Invalid: true}}},
		{`.dots..@example.com`, []Address{a("", "", ".dots..", "example.com")}},
		{``, nil},
		{`   `, nil},
	}
	for _, tt := range tests {
		got := ParseAddressList(tt.in)
		for i := range got {
			if tt.want != nil && i < len(tt.want) && !tt.want[i].Invalid {
				got[i].Invalid = false
			}
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParseAddressList(%q)\n got  %+v\n want %+v", tt.in, got, tt.want)
		}
	}
}

// TestDecodeWords uses the examples of RFC 2047 §8.
func TestDecodeWords(t *testing.T) {
	tests := []struct{ in, want string }{
		{"=?ISO-8859-1?Q?Andr=E9?= Pirard", "André Pirard"},
		{"=?US-ASCII?Q?Keith_Moore?=", "Keith Moore"},
		{"=?ISO-8859-1?Q?Olle_J=E4rnefors?=", "Olle Järnefors"},
		{"=?ISO-8859-1?B?SWYgeW91IGNhbiByZWFkIHRoaXMgeW8=?= =?ISO-8859-2?B?dSB1bmRlcnN0YW5kIHRoZSBleGFtcGxlLg==?=",
			"If you can read this you understand the example."},
		{"(=?ISO-8859-1?Q?a?=)", "(a)"},
		{"(=?ISO-8859-1?Q?a?= b)", "(a b)"},
		{"(=?ISO-8859-1?Q?a?= =?ISO-8859-1?Q?b?=)", "(ab)"},
		{"(=?ISO-8859-1?Q?a?=  \r\n    =?ISO-8859-1?Q?b?=)", "(ab)"},
		{"(=?ISO-8859-1?Q?a_b?=)", "(a b)"},
		{"=?KOI8-R?B?68/O09TBztTJzg==?=", "Константин"},
		{"=?unknown-charset?Q?kept?= text", "=?unknown-charset?Q?kept?= text"},
		{"plain \xe9", "plain \uFFFD"},
	}
	for _, tt := range tests {
		if got := DecodeWords(tt.in); got != tt.want {
			t.Errorf("DecodeWords(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestParseDate(t *testing.T) {
	tests := []struct {
		in   string
		want string // RFC 3339, "" = invalid
	}{
		{"Fri, 21 Nov 1997 09:55:06 -0600", "1997-11-21T09:55:06-06:00"},                                            // RFC 5322 A.1.1
		{"Tue, 1 Jul 2003 10:52:37 +0200", "2003-07-01T10:52:37+02:00"},                                             // A.1.2
		{"Thu,\r\n 13\r\n  Feb\r\n    1969\r\n  23:32\r\n  -0330 (Newfoundland Time)", "1969-02-13T23:32:00-03:30"}, // A.5
		{"21 Nov 97 09:55:06 GMT", "1997-11-21T09:55:06Z"},                                                          // A.6.2 obsolete
		{"Wed, 17 Jul 1996 02:23:25 -0700 (PDT)", "1996-07-17T02:23:25-07:00"},
		{"5 Dec 2023 09:05 EST", "2023-12-05T09:05:00-05:00"},
		{"Tue, 05 Dec 2023", "2023-12-05T00:00:00Z"},
		{"garbage date", ""},
		{"", ""},
	}
	for _, tt := range tests {
		got, ok := ParseDate(tt.in)
		s := ""
		if ok {
			s = got.Format(time.RFC3339)
		}
		if s != tt.want {
			t.Errorf("ParseDate(%q) = %q, want %q", tt.in, s, tt.want)
		}
	}
}

// TestBaseSubject: RFC 5256 §2.1 steps, with the subjects of imaptest's
// sort-subject mailbox and further tricky cases; the expected values are
// Dovecot's (imap-base-subject.c) up to case.
func TestBaseSubject(t *testing.T) {
	tests := []struct {
		in, want string
		refwd    bool
	}{
		{"Hello", "Hello", false},
		{"Re: Hello", "Hello", true},
		{"RE: re: Fwd: Hello", "Hello", true},
		{"Re[2]: Hello", "Hello", true},           // subj-refwd with a blob
		{"Re [2]: Hello", "Hello", true},          // *WSP before the blob
		{"Re : Hello", "Hello", true},             // *WSP before ":"
		{"Fw: Hello", "Hello", true},              // "fw" without "d"
		{"Fwd:Hello", "Hello", true},              // no space needed after ":"
		{"[list] Re: Hello", "Hello", true},       // step (3): *subj-blob subj-refwd
		{"[list] Hello", "Hello", false},          // step (4): a blob alone
		{"[a][b] Hello", "Hello", false},          // step (5): repeated
		{"[only a blob]", "[only a blob]", false}, // step (4) needs a non-empty rest
		{"[xyz]", "[xyz]", false},
		{"[a] [b]", "[b]", false},
		{"Hello (fwd)", "Hello", true}, // step (2)
		{"Hello (FWD)  (fwd) ", "Hello", true},
		{"Hello(fwd)", "Hello", true},
		{"[Fwd: Hello]", "Hello", true}, // step (6)
		{"Re: [Fwd: Re: Hello (fwd)]", "Hello", true},
		{"re: [fwd: [fwd: re: [fwd: babylon]]]", "babylon", true},
		{"[fwd: no end", "[fwd: no end", false},
		{"[fwd:]", "", true},
		{"  Hello \t\r\n  world  ", "Hello world", false}, // step (1)
		{"Re:Re:Re:", "", true},
		{"Re: ", "", true},
		{"Ad: Re: Ad: Re: Ad: x", "Ad: Re: Ad: Re: Ad: x", false}, // "Ad:" is not a leader
		{"Reply: x", "Reply: x", false},
		{"[foo] Fwd: [bar] Re: fw: b (fWd)  (fwd)", "b", true},
		{"Re: [FWD: c]", "c", true},
		{"b (a)", "b (a)", false},
		{"Re[: x", "Re[: x", false}, // broken blob: no leader
		{"[a[b] x", "[a[b] x", false},
		{"re: \u017Fx", "\u017Fx", true},
		{"\u017Fe: x", "\u017Fe: x", false}, // U+017F is not "s", nor "r"
		{"", "", false},
		{" ", "", false},
		{"=?utf-8?q?Re=3A_Gr=C3=BC=C3=9Fe?=", "Grüße", true}, // decoded first
		{"=?iso-8859-1?q?_?=", "", false},
		{"=?us-ascii?b?UmU6IGM=?=", "c", true},
		{"Re: =?utf-8?q?b?=", "b", true},
	}
	for _, tt := range tests {
		got, refwd := BaseSubject(tt.in)
		if got != tt.want || refwd != tt.refwd {
			t.Errorf("BaseSubject(%q) = %q, %v; want %q, %v", tt.in, got, refwd, tt.want, tt.refwd)
		}
	}
}

func TestParseFields(t *testing.T) {
	hdr := []byte("Subject: folded\r\n  line\r\nNo colon here\r\nX-Empty:\r\nCC : a@b\r\n\r\nBody: not a header\r\n")
	got := Parse(hdr)
	want := []struct{ name, value string }{
		{"Subject", "folded  line"},
		{"No colon here", ""},
		{"X-Empty", ""},
		{"CC", "a@b"},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d fields: %+v", len(got), got)
	}
	for i, w := range want {
		if got[i].Name != w.name || got[i].Value != w.value {
			t.Errorf("field %d = %q: %q, want %q: %q", i, got[i].Name, got[i].Value, w.name, w.value)
		}
	}
	if v, ok := Get(hdr, "cc"); !ok || v != "a@b" {
		t.Errorf("Get(cc) = %q, %v", v, ok)
	}
	if string(got[0].Raw) != "Subject: folded\r\n  line\r\n" {
		t.Errorf("raw = %q", got[0].Raw)
	}
}

func TestCharset(t *testing.T) {
	for _, cs := range []string{"utf-8", "US-ASCII", "iso-8859-1", "windows-1252", "koi8-r", "shift_jis", "gb2312", "iso-2022-jp", "big5", "euc-kr"} {
		if _, ok := Charset(cs); !ok {
			t.Errorf("charset %q not known", cs)
		}
	}
	if _, ok := Charset("x-no-such"); ok {
		t.Error("unknown charset accepted")
	}
	if got := ToUTF8("iso-8859-1", []byte("caf\xe9")); got != "café" {
		t.Errorf("ToUTF8 = %q", got)
	}
}

// TestMessageIDs: RFC 5322 §3.6.4 msg-ids as THREAD reads them
// (RFC 5256 §3), with Dovecot's tolerance.
func TestMessageIDs(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want []string
	}{
		{"<a@b>", []string{"a@b"}},
		{"<a@b> <c@d>\t<e@f>", []string{"a@b", "c@d", "e@f"}},
		{"<a@b><c@d>", []string{"a@b", "c@d"}},
		{"<no-at> <c@d>", []string{"c@d"}}, // invalid ones are skipped
		{"< a@b . c >", []string{"a@b.c"}}, // white space removed
		{"<\"quoted local\"@example.org>", []string{"quoted local@example.org"}},
		{"<(comment)a@b>", []string{"a@b"}},
		{"<a@[127.0.0.1]> <c@d>", []string{"c@d"}},          // domain literal: not a dot-atom
		{"Message from <x@y> dated today", []string{"x@y"}}, // In-Reply-To prose
		{"<unterminated@x", nil},
		{"", nil},
		{"no ids", nil},
		{"<a<b@c>", []string{"a<b@c"}},
		{"<\"unterminated@x>", nil},
	} {
		got := MessageIDs(tt.in)
		if strings.Join(got, "|") != strings.Join(tt.want, "|") {
			t.Errorf("MessageIDs(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	if got := FirstMessageID("junk <1@x> <2@x>"); got != "1@x" {
		t.Errorf("FirstMessageID = %q", got)
	}
}
