package submission

import (
	"strings"
	"testing"
)

// The BURL command lines of RFC 4468 §7's examples, and broken ones.
func TestParseBURL(t *testing.T) {
	tests := []struct {
		arg  string
		url  string
		last bool
		err  string
	}{
		// RFC 4468 §7.
		{arg: "imap://harry@gryffindor.example.com/outbox;uidvalidity=1078863300/;uid=25;urlauth=submit+harry:internal:91354a473744909de610943775f92038 LAST",
			url: "imap://harry@gryffindor.example.com/outbox;uidvalidity=1078863300/;uid=25;urlauth=submit+harry:internal:91354a473744909de610943775f92038", last: true},
		{arg: "imap://harry@gryffindor.example.com/outbox;uidvalidity=1078863300/;uid=25/;section=2.MIME;urlauth=submit+harry:internal:91354a473744909de610943775f92038",
			url: "imap://harry@gryffindor.example.com/outbox;uidvalidity=1078863300/;uid=25/;section=2.MIME;urlauth=submit+harry:internal:91354a473744909de610943775f92038"},
		{arg: "imap://h/INBOX/;uid=1 last", url: "imap://h/INBOX/;uid=1", last: true},
		{arg: "imap://h/INBOX/;uid=1 LAST  ", url: "imap://h/INBOX/;uid=1", last: true},
		{arg: "imap://h/%E2%82%AC/;uid=1", url: "imap://h/%E2%82%AC/;uid=1"},
		{arg: "imap://[::1]:143/INBOX/;uid=1", url: "imap://[::1]:143/INBOX/;uid=1"},
		{arg: "", err: "missing URL"},
		{arg: " LAST", err: "missing URL"},
		{arg: "imap://h/INBOX/;uid=1 FIRST", err: "expected"},
		{arg: "imap://h/INBOX/;uid=1 LAST LAST", err: "expected"},
		{arg: "imap://h/a b LAST", err: "expected"},
		{arg: "imap://h/x#frag", err: "not allowed"},
		{arg: "imap://h/\x00", err: "not allowed"},
		{arg: "imap://h/é", err: "not allowed"},
		{arg: "imap://h/%4", err: "percent"},
		{arg: "imap://h/%zz", err: "percent"},
		{arg: "//h/INBOX", err: "no scheme"},
		{arg: "1map://h/", err: "scheme"},
		{arg: ":x", err: "no scheme"},
		{arg: "imap" + strings.Repeat("/", maxBURLLength), err: "too long"},
	}
	for _, tc := range tests {
		url, last, err := ParseBURL(tc.arg)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParseBURL(%.60q) = %q, %v, %v; want error %q", tc.arg, url, last, err, tc.err)
			}
			continue
		}
		if err != nil || url != tc.url || last != tc.last {
			t.Errorf("ParseBURL(%.60q) = %q, %v, %v; want %q, %v", tc.arg, url, last, err, tc.url, tc.last)
		}
	}
}

// FuzzParseBURL: any argument parses or fails without a panic; what
// parses is a bounded URL of URI characters, and its canonical form
// ("URL" or "URL LAST") parses to the same.
func FuzzParseBURL(f *testing.F) {
	for _, s := range []string{
		"imap://harry@gryffindor.example.com/outbox;uidvalidity=1078863300/;uid=25;urlauth=submit+harry:internal:91354a473744909de610943775f92038 LAST",
		"imap://h/INBOX/;uid=1", "imap://h/INBOX/;uid=1 last", "", " ", "LAST", "x: LAST", "imap://h/%E2%82%AC", "a:%", "imap://h/a b c",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, arg string) {
		url, last, err := ParseBURL(arg)
		if err != nil {
			return
		}
		if url == "" || len(url) > maxBURLLength || strings.ContainsAny(url, " \r\n#") {
			t.Fatalf("ParseBURL(%q) accepted %q", arg, url)
		}
		canon := url
		if last {
			canon += " LAST"
		}
		u2, l2, err := ParseBURL(canon)
		if err != nil || u2 != url || l2 != last {
			t.Fatalf("round trip of %q: %q %v %v", canon, u2, l2, err)
		}
	})
}
