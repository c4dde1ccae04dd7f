package msgdata

import (
	"strings"
	"testing"
	"unicode/utf8"

	"barid/internal/mail/mime"
)

func previewOf(t testing.TB, raw string) string {
	t.Helper()
	root, err := mime.Parse(strings.NewReader(raw), mime.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	pv, err := Preview(root, strings.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	return pv
}

// RFC 8970 §3.1: up to 256 characters of the message's text.
func TestPreview(t *testing.T) {
	long := strings.Repeat("é", 300)
	for _, tc := range []struct{ name, raw, want string }{
		{"plain", "Subject: s\r\n\r\nHello\r\n  world\r\n", "Hello world"},
		{"no body", "Subject: s\r\n\r\n", ""},
		{"quoted lines dropped", "\r\nOn Monday you wrote:\r\n> old\r\n > older\r\nnew\r\n", "On Monday you wrote: new"},
		{"qp latin1", "Content-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nK=F6ln=\r\n ok\r\n", "Köln ok"},
		{"base64", "MIME-Version: 1.0\r\nContent-Transfer-Encoding: base64\r\n\r\naGVsbG8gdGhlcmU=\r\n", "hello there"},
		{"256 characters", "Content-Type: text/plain; charset=utf-8\r\n\r\n" + long + "\r\n", strings.Repeat("é", 256)},
		{"plain preferred", "Content-Type: multipart/alternative; boundary=x\r\n\r\n--x\r\nContent-Type: text/html\r\n\r\n<b>html</b>\r\n--x\r\nContent-Type: text/plain\r\n\r\nplain\r\n--x--\r\n", "plain"},
		{"html reduced", "Content-Type: text/html\r\n\r\n<html><head><style>x{}</style><title>t</title></head><body>A&lt;B<script>evil()</script><p>C&nbsp;D</p><!-- c --></body></html>", "A<B C D"},
		{"attachment skipped", "Content-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\nContent-Type: text/plain\r\nContent-Disposition: attachment\r\n\r\nfile\r\n--x\r\nContent-Type: text/plain\r\n\r\nbody\r\n--x--\r\n", "body"},
		{"embedded message not read", "Content-Type: message/rfc822\r\n\r\nSubject: in\r\n\r\ninner\r\n", ""},
		{"unclosed html", "Content-Type: text/html\r\n\r\nabc<p", "abc"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := previewOf(t, tc.raw); got != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func FuzzPreview(f *testing.F) {
	f.Add("Subject: s\r\n\r\nHello\r\n")
	f.Add("Content-Type: text/html\r\n\r\n<p>x</p><script>a</script><!--")
	f.Add("Content-Type: multipart/alternative; boundary=x\r\n\r\n--x\r\nContent-Type: text/html\r\n\r\n<b>h\r\n--x--\r\n")
	f.Add("Content-Transfer-Encoding: base64\r\n\r\n!!!!\r\n")
	f.Fuzz(func(t *testing.T, raw string) {
		pv := previewOf(t, raw)
		if n := utf8.RuneCountInString(pv); n > PreviewMaxChars {
			t.Fatalf("preview of %d characters", n)
		}
		if !utf8.ValidString(pv) {
			t.Fatalf("invalid UTF-8 %q", pv)
		}
		if pv != strings.TrimSpace(pv) || strings.Contains(pv, "  ") {
			t.Fatalf("white space not collapsed: %q", pv)
		}
	})
}
