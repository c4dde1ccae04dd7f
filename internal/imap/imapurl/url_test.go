package imapurl

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"barid/internal/imap"
)

// Examples of RFC 5092 §10 (and §7.1), RFC 4467 §2 and §3, RFC 4469 §6
// and RFC 5550 §4, as written there.
func TestParseRFCExamples(t *testing.T) {
	tok := []byte{0x91, 0x35, 0x4a, 0x47, 0x37, 0x44, 0x90, 0x9d, 0xe6, 0x10, 0x94, 0x37, 0x75, 0xf9, 0x20, 0x38}
	tests := []struct {
		in   string
		want URL
	}{
		// RFC 5092 §10.
		{"imap://minbari.example.org/gray-council;UIDVALIDITY=385759045/;UID=20/;PARTIAL=0.1024",
			URL{Host: "minbari.example.org", HasCommand: true, Mailbox: "gray-council", UIDValidity: 385759045, UID: 20, Partial: &Partial{0, 1024}}},
		{"imap://psicorp.example.org/~peter/%E6%97%A5%E6%9C%AC%E8%AA%9E/%E5%8F%B0%E5%8C%97",
			URL{Host: "psicorp.example.org", HasCommand: true, Mailbox: "~peter/日本語/台北"}},
		{"imap://;AUTH=GSSAPI@minbari.example.org/gray-council/;uid=20/;section=1.2",
			URL{Auth: "GSSAPI", Host: "minbari.example.org", HasCommand: true, Mailbox: "gray-council", UID: 20, Section: "1.2"}},
		{"imap://;AUTH=*@minbari.example.org/gray%20council?SUBJECT%20shadows",
			URL{Auth: "*", Host: "minbari.example.org", HasCommand: true, Mailbox: "gray council", HasSearch: true, Search: "SUBJECT shadows"}},
		{"imap://john;AUTH=*@minbari.example.org/babylon5/personel?charset%20UTF-8%20SUBJECT%20%7B14+%7D%0D%0A%D0%98%D0%B2%D0%B0%D0%BD%D0%BE%D0%B2%D0%B0",
			URL{User: "john", Auth: "*", Host: "minbari.example.org", HasCommand: true, Mailbox: "babylon5/personel", HasSearch: true,
				Search: "charset UTF-8 SUBJECT {14+}\r\nИванова"}},
		{"imap://michael@minbari.example.org/users.*",
			URL{User: "michael", Host: "minbari.example.org", HasCommand: true, Mailbox: "users.*"}},
		{"imap://psicorp.example.org/~peter/%E6%97%A5%E6%9C%AC%E8%AA%9E/%E5%8F%B0%E5%8C%97",
			URL{Host: "psicorp.example.org", HasCommand: true, Mailbox: "~peter/日本語/台北"}},
		{"imap://minbari.example.org",
			URL{Host: "minbari.example.org"}},
		{"imap://minbari.example.org:1143/",
			URL{Host: "minbari.example.org", Port: 1143}},
		// RFC 4467 §2 (the token of the example).
		{"imap://joe@example.com/INBOX/;uid=20/;section=1.2;urlauth=submit+fred:internal:91354a473744909de610943775f92038",
			URL{User: "joe", Host: "example.com", HasCommand: true, Mailbox: "INBOX", UID: 20, Section: "1.2",
				Access: "submit+fred", Mechanism: "INTERNAL", Token: tok,
				Rump: "imap://joe@example.com/INBOX/;uid=20/;section=1.2;urlauth=submit+fred"}},
		{"imap://joe@example.com/INBOX/;uid=20/;section=1.2;urlauth=submit+fred",
			URL{User: "joe", Host: "example.com", HasCommand: true, Mailbox: "INBOX", UID: 20, Section: "1.2",
				Access: "submit+fred", Rump: "imap://joe@example.com/INBOX/;uid=20/;section=1.2;urlauth=submit+fred"}},
		// RFC 4467 §6 ";EXPIRE=" (RFC 3339 date-time).
		{"imap://joe@example.com/INBOX/;uid=20;expire=2006-05-30T12:00:00Z;urlauth=anonymous",
			URL{User: "joe", Host: "example.com", HasCommand: true, Mailbox: "INBOX", UID: 20,
				Expire: time.Date(2006, 5, 30, 12, 0, 0, 0, time.UTC), Access: "anonymous",
				Rump: "imap://joe@example.com/INBOX/;uid=20;expire=2006-05-30T12:00:00Z;urlauth=anonymous"}},
		// RFC 5550 §4: ;PARTIAL= with a URLAUTH.
		{"imap://joe@example.com/INBOX/;uid=20/;section=1.2/;partial=0.1024;urlauth=authuser",
			URL{User: "joe", Host: "example.com", HasCommand: true, Mailbox: "INBOX", UID: 20, Section: "1.2", Partial: &Partial{0, 1024},
				Access: "authuser", Rump: "imap://joe@example.com/INBOX/;uid=20/;section=1.2/;partial=0.1024;urlauth=authuser"}},
		{"imap://[::1]:143/INBOX/;UID=1/;SECTION=HEADER.FIELDS%20(From%20To)",
			URL{Host: "[::1]", Port: 143, HasCommand: true, Mailbox: "INBOX", UID: 1, Section: "HEADER.FIELDS (From To)"}},
	}
	for _, tc := range tests {
		got, err := Parse(tc.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", tc.in, err)
			continue
		}
		if !reflect.DeepEqual(*got, tc.want) {
			t.Errorf("Parse(%q)\n got %+v\nwant %+v", tc.in, *got, tc.want)
		}
	}
}

func TestParseRejects(t *testing.T) {
	for _, in := range []string{
		"",
		"http://example.com/INBOX",
		"imap://",
		"imap://@host/INBOX",
		"imap://host:99999/",
		"imap://host:1x/",
		"imap://host/INBOX/;UID=0",
		"imap://host/INBOX/;UID=01",
		"imap://host/INBOX/;UID=4294967296",
		"imap://host/INBOX/;UID=",
		"imap://host/INBOX;UIDVALIDITY=0/;UID=1",
		"imap://host/INBOX/;UID=1/;SECTION=",
		"imap://host/INBOX/;UID=1/;PARTIAL=",
		"imap://host/INBOX/;UID=1/;PARTIAL=1.0",
		"imap://host/INBOX/;UID=1/;PARTIAL=1.",
		"imap://host/INBOX/;UID=1;URLAUTH=",
		"imap://host/INBOX/;UID=1;URLAUTH=fred",
		"imap://host/INBOX/;UID=1;URLAUTH=submit+",
		"imap://host/INBOX/;UID=1;URLAUTH=other+fred",
		"imap://host/INBOX/;UID=1;URLAUTH=anonymous:internal:1234",
		"imap://host/INBOX/;UID=1;URLAUTH=anonymous:internal:91354a473744909de610943775f9203",
		"imap://host/INBOX/;UID=1;URLAUTH=anonymous:internal:91354a473744909de610943775f9203g",
		"imap://host/INBOX/;UID=1;URLAUTH=anonymous::91354a473744909de610943775f92038",
		"imap://host/INBOX/;UID=1;EXPIRE=yesterday;URLAUTH=anonymous",
		"imap://host/INBOX/;UID=1;EXPIRE=2006-05-30T12:00:00Z",
		"imap://host/INBOX/;UID=1;junk",
		"imap://host/IN BOX",
		"imap://host/IN%ZZBOX",
		"imap://host/%FF%FE",
		"imap://host/;UID=1",
		"imap://host/INBOX?",
		"imap://[::1/INBOX",
		"imap://host/INBOX/;UID=1/;SECTION=1.2;URLAUTH=submit+a b",
	} {
		if u, err := Parse(in); err == nil {
			t.Errorf("Parse(%q) = %+v, want an error", in, u)
		}
	}
	if _, err := Parse(";UID=20"); !errors.Is(err, ErrRelative) {
		t.Errorf("Parse(relative) = %v, want ErrRelative", err)
	}
	if _, err := Parse("imap://h/" + strings.Repeat("a", MaxLength)); err == nil {
		t.Error("Parse accepted a URL over MaxLength")
	}
}

// RFC 5092 §7.1 / RFC 3986 §5.2 merges, and the forms RFC 4469 §6's
// CATENATE examples use.
func TestResolve(t *testing.T) {
	tests := []struct{ base, ref, want string }{
		{"imap://joe@h/INBOX/", ";UID=5", "imap://joe@h/INBOX/;UID=5"},
		{"imap://joe@h/INBOX/;UID=5", ";UID=6/;SECTION=1", "imap://joe@h/INBOX/;UID=6/;SECTION=1"},
		{"imap://joe@h/INBOX/;UID=5/;SECTION=1", ";SECTION=2", "imap://joe@h/INBOX/;UID=5/;SECTION=2"},
		{"imap://joe@h/INBOX/;UID=5/;SECTION=1", ";PARTIAL=0.10", "imap://joe@h/INBOX/;UID=5/;PARTIAL=0.10"},
		{"imap://joe@h/INBOX/", "/Drafts;UIDVALIDITY=385759045/;UID=20/;section=HEADER", "imap://joe@h/Drafts;UIDVALIDITY=385759045/;UID=20/;section=HEADER"},
		{"imap://joe@h/", "Drafts/;UID=20", "imap://joe@h/Drafts/;UID=20"},
		{"imap://joe@h", "Drafts/;UID=20", "imap://joe@h/Drafts/;UID=20"},
		{"imap://joe@h/a/b/", "c/;UID=1", "imap://joe@h/a/b/c/;UID=1"},
		{"imap://joe@h/INBOX/", "//other/INBOX/;UID=1", "imap://other/INBOX/;UID=1"},
		{"imap://joe@h/INBOX/", "imap://x/INBOX/;UID=2", "imap://x/INBOX/;UID=2"},
	}
	for _, tc := range tests {
		got, err := Resolve(tc.base, tc.ref)
		if err != nil {
			t.Errorf("Resolve(%q, %q): %v", tc.base, tc.ref, err)
			continue
		}
		want, err := Parse(tc.want)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("Resolve(%q, %q)\n got %+v\nwant %+v", tc.base, tc.ref, *got, *want)
		}
	}
	if _, err := Resolve("INBOX", ";UID=1"); err == nil {
		t.Error("Resolve with a relative base succeeded")
	}
}

func TestAccessApp(t *testing.T) {
	for _, tc := range []struct{ access, app, user string }{
		{"submit+fred", "submit", "fred"},
		{"user+joe@example.com", "user", "joe@example.com"},
		{"authuser", "authuser", ""},
		{"anonymous", "anonymous", ""},
	} {
		u := URL{Access: tc.access}
		if app, user := u.AccessApp(); app != tc.app || user != tc.user {
			t.Errorf("%q: got %q %q", tc.access, app, user)
		}
	}
	u, err := Parse("imap://h/INBOX/;UID=1;URLAUTH=user+joe%40example.com")
	if err != nil || u.Access != "user+joe@example.com" {
		t.Fatalf("decoded access: %+v %v", u, err)
	}
}

func TestParseSection(t *testing.T) {
	tests := []struct {
		in   string
		want imap.Section
	}{
		{"1.2", imap.Section{Part: []int{1, 2}}},
		{"HEADER", imap.Section{Specifier: imap.SectionHeader}},
		{"header", imap.Section{Specifier: imap.SectionHeader}},
		{"TEXT", imap.Section{Specifier: imap.SectionText}},
		{"1.MIME", imap.Section{Part: []int{1}, Specifier: imap.SectionMIME}},
		{"2.HEADER", imap.Section{Part: []int{2}, Specifier: imap.SectionHeader}},
		{"HEADER.FIELDS (From To)", imap.Section{Specifier: imap.SectionHeaderFields, Fields: []string{"From", "To"}}},
		{"1.HEADER.FIELDS.NOT (X)", imap.Section{Part: []int{1}, Specifier: imap.SectionHeaderFieldsNot, Fields: []string{"X"}}},
	}
	for _, tc := range tests {
		got, err := ParseSection(tc.in)
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ParseSection(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
	for _, in := range []string{"MIME", "0", "1.", "1..2", "01", "FOO", "HEADER.FIELDS", "HEADER.FIELDS ()", "HEADER (A)", "HEADER.FIELDS (A:)", "1.2.3x"} {
		if s, err := ParseSection(in); err == nil {
			t.Errorf("ParseSection(%q) = %+v, want an error", in, s)
		}
	}
}

// FuzzParse: Parse and Resolve never panic, a URLAUTH URL's Rump is a
// prefix of its text, and a parsed section parses.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"imap://joe@example.com/INBOX/;uid=20/;section=1.2;urlauth=submit+fred:internal:91354a473744909de610943775f92038",
		"imap://minbari.example.org/gray-council;UIDVALIDITY=385759045/;UID=20/;PARTIAL=0.1024",
		"imap://;AUTH=*@minbari.example.org/gray%20council?SUBJECT%20shadows",
		"imap://joe@example.com/INBOX/;uid=20;expire=2006-05-30T12:00:00Z;urlauth=anonymous",
		"/INBOX/;UID=1/;SECTION=HEADER.FIELDS%20(From)",
		";UID=5/;SECTION=1.MIME",
		"//h:143/INBOX",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		u, err := Parse(s)
		if err == nil {
			if u.Access != "" && !strings.HasPrefix(s, u.Rump) {
				t.Fatalf("rump %q is not a prefix of %q", u.Rump, s)
			}
			if u.Token != nil && (u.Mechanism == "" || len(u.Token) < 16) {
				t.Fatalf("token %x with mechanism %q", u.Token, u.Mechanism)
			}
			if u.Section != "" {
				ParseSection(u.Section) //nolint:errcheck // must not panic
			}
		}
		if r, err := Resolve("imap://joe@h/INBOX/", s); err == nil && r.Host == "" {
			t.Fatalf("resolved %q without a host", s)
		}
	})
}

func TestBaseURL(t *testing.T) {
	for _, tc := range []struct{ user, host, mailbox, ref string }{
		{"joe@example.com", "mail.example.com", "INBOX", ";UID=3"},
		{"joe", "h", "Lists/Gray Council", ";UID=3"},
		{"joe", "h", "日本語;x?y", ";UID=3"},
		{"joe", "h", "", "/INBOX/;UID=3"},
	} {
		base := BaseURL(tc.user, tc.host, tc.mailbox)
		u, err := Resolve(base, tc.ref)
		if err != nil {
			t.Fatalf("%q: %v", base, err)
		}
		want := tc.mailbox
		if want == "" {
			want = "INBOX"
		}
		if u.User != tc.user || u.Host != tc.host || u.Mailbox != want || u.UID != 3 {
			t.Errorf("%q + %q = %+v", base, tc.ref, *u)
		}
	}
}
