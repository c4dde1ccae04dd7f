package searchtext

import (
	"strings"
	"testing"
	"unicode/utf8"

	"barid/internal/mail/casemap"
)

// The written forms, checked against Dovecot 2.3.19 by searching for
// substrings of them (see the transcript search_addresses.txt).
func TestAddresses(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"user-from@domain.org", "<user-from@domain.org>"},
		{"<user-from (comment)@ (comment) domain.org>", "<user-from@domain.org>"},
		{"user-from@domain.org (RealFrom)", "realfrom <user-from@domain.org>"},
		{`"Real, Name" <user@Example.org>`, `"real, name" <user@example.org>`},
		{"Real Name <x@y.z>", `"real name" <x@y.z>`},
		{`"Quoted" <q@b.c>`, "quoted <q@b.c>"},
		{`"a\"b" <ab@x.y>`, `"a\"b" <ab@x.y>`},
		{"=?utf-8?q?a=2C_b?= <enc@x.y>", "a, b <enc@x.y>"},
		{"<@route:rt@x.y>", "<@route:rt@x.y>"},
		{"one@x.y, Two <two@x.y>, <three@x.y>", "<one@x.y>, two <two@x.y>, <three@x.y>"},
		{"group: a@b.c, d@e.f;, x@y.z", "group: <a@b.c>, <d@e.f>;, <x@y.z>"},
		{"undisclosed-recipients:;", "undisclosed-recipients:;"},
		{"Undisclosed recipients:;", `"undisclosed recipients":;`},
		{"<>", "<missing_mailbox@missing_domain>"},
		{"Dot.Name <d@y.z>", `"dot.name" <d@y.z>`},
		{"=?utf-8?b?2YXYrdmF2K8=?= <m@example.sa>", "محمد <m@example.sa>"},
	} {
		if got := Addresses([]string{tc.in}); got != tc.want {
			t.Errorf("%q:\n got  %q\n want %q", tc.in, got, tc.want)
		}
	}
	if got := Addresses([]string{"a@b.c", "d@e.f"}); got != "<a@b.c>, <d@e.f>" {
		t.Errorf("two fields: %q", got)
	}
}

func TestFromHeader(t *testing.T) {
	f := FromHeader([]byte("Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe?= AUS\r\nFrom: A <a@b.c>\r\nDate: Thu, 15 Feb 2007 01:02:03 +0200\r\n\r\n"))
	if f.Subject != "gru\u0308ße aus" || f.From != "a <a@b.c>" || f.SentDate.IsZero() {
		t.Errorf("%+v", f)
	}
	// NFD and NFC text fold alike
	if Subject("Cafe\u0301") != Subject("CAFÉ") || !strings.Contains(Subject("Un CAFÉ"), Subject("café")) {
		t.Error("NFD/NFC")
	}
}

// Any header value gives valid UTF-8 already in folded form.
func FuzzAddresses(f *testing.F) {
	for _, s := range []string{"<>", "a@b.c (x)", "g: a@b, <c@d>;, =?utf-8?q?=C3=BC?= <u@v>", `"\"" <@r:x@y>`, "\xff\xfe <a@b>"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := Addresses([]string{s})
		if !utf8.ValidString(got) {
			t.Fatalf("invalid UTF-8 %q", got)
		}
		if casemap.Fold(got) != got {
			t.Fatalf("not folded: %q", got)
		}
	})
}
