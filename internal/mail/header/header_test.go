package header

import (
	"reflect"
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
		// obsolete forms (RFC 5322 §4.3), each checked against Dovecot
		// 2.3.19 with SEARCH SENTON and SORT (DATE)
		{"15 Feb 07 01:02:03 +0200", "2007-02-15T01:02:03+02:00"},
		{"15 Feb 97 23:02 EST", "1997-02-15T23:02:00-05:00"},
		{"Thu, 15 Feb 2007 23:30:00 PDT", "2007-02-15T23:30:00-07:00"},
		{"Thu (x), 15 (y) Feb (z) 2007 23:30 -0500", "2007-02-15T23:30:00-05:00"},
		{"Thu, 15 Feb 2007 23:30:00 (comment) +0000 (UTC)", "2007-02-15T23:30:00Z"},
		{"Thu, 15 Feb 2007 23:30:00 Z", "2007-02-15T23:30:00Z"},
		{"Thu, 15 Feb 2007 23:30:00 A", "2007-02-15T23:30:00+01:00"}, // RFC 822 sign, as Dovecot
		{"Thu, 15 Feb 2007 10:00 M", "2007-02-15T10:00:00+12:00"},
		{"Thu, 15 Feb 2007 10:00 Y", "2007-02-15T10:00:00-12:00"},
		{"15 Feb 2007 23:30:00", "2007-02-15T23:30:00Z"},
		{"Thu, 15 Feb 2007 10:00:00 CET", "2007-02-15T10:00:00Z"},
		{"Thu, 15 Feb 2007 10:00:00 +02", "2007-02-15T10:00:00Z"},
		{"Thu, 15 Feb 2007 10:00:00 +2400", "2007-02-15T10:00:00+24:00"},
		{"Thu, 15 Feb 2007 10:00:00 +0000 junk", "2007-02-15T10:00:00Z"},
		{"Thu,15 feb 2007 10.00.00 +0000", "2007-02-15T10:00:00Z"},
		{"Thu, 15 Feb 49 10:00:00 +0000", "2049-02-15T10:00:00Z"},
		{"Thu, 15 Feb 70 10:00:00 +0000", "1970-02-15T10:00:00Z"},
		// RFC 5322 §4.3 is explicit where Dovecot differs (2069, refused)
		{"Thu, 15 Feb 69 10:00:00 +0000", "1969-02-15T10:00:00Z"},
		{"Thu, 15 Feb 107 10:00:00 +0000", "2007-02-15T10:00:00Z"},
		// outside the grammar: refused, as by Dovecot
		{"Thursday, 15 February 2007 23:30:00 +0000", ""},
		{"Feb 15 2007 10:00:00 +0000", ""},
		{"15-Feb-2007 10:00:00 +0000", ""},
		{"Thu, 15 Feb 2007 1:2:3 +0000", ""},
		{"Thu, 15 Feb 2007 25:00:00 +0000", ""},
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

// TestBaseSubject uses the rules of RFC 5256 §2.1.
func TestBaseSubject(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Hello", "hello"},
		{"Re: Hello", "hello"},
		{"RE: re: Fwd: Hello", "hello"},
		{"Re[2]: Hello", "hello"},
		{"[list] Re: Hello", "hello"},
		{"Hello (fwd)", "hello"},
		{"[Fwd: Hello]", "hello"},
		{"Re: [Fwd: Re: Hello (fwd)]", "hello"},
		{"  Hello   world  ", "hello world"},
		{"=?utf-8?q?Re=3A_Gr=C3=BC=C3=9Fe?=", "grüße"},
		{"[only a blob]", "[only a blob]"},
	}
	for _, tt := range tests {
		if got := BaseSubject(tt.in); got != tt.want {
			t.Errorf("BaseSubject(%q) = %q, want %q", tt.in, got, tt.want)
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
