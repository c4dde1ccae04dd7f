package msgdata

import (
	"bytes"
	"strings"
	"testing"

	"barid/internal/mail/mime"
)

// TEXT matches attachment file names decoded from RFC 2231 §4 extended
// values and RFC 2047 words (beyond Dovecot, docs/search.md); BODY does
// not; Text holds everything TEXT and BODY match.
func TestTextFileNames(t *testing.T) {
	msg := strings.ReplaceAll(`From: a@example.org
Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=
Content-Type: multipart/mixed; boundary="b"

--b
Content-Type: text/plain; charset=iso-8859-7
Content-Transfer-Encoding: quoted-printable

=D3=CF=D6=CF=D3 text
--b
Content-Type: application/pdf
Content-Disposition: attachment; filename*=utf-8''%D0%9E%D1%82%D1%87%D1%91%D1%82.pdf

AAAA
--b
Content-Type: application/pdf; name="=?utf-8?b?5Lya6K6u57qq6KaB?=.pdf"

AAAA
--b--
`, "\n", "\r\n")
	raw := []byte(msg)
	root, err := mime.Parse(bytes.NewReader(raw), mime.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	hdr := raw[:root.HeaderSize]
	blob := bytes.NewReader(raw)
	tests := []struct {
		needle     string
		text, body bool
	}{
		{"ОТЧЁТ.PDF", true, false},  // RFC 2231, Cyrillic, folded
		{"отчет", false, false},     // ё is not е under i;unicode-casemap
		{"议纪", true, false},         // RFC 2047 in a name parameter
		{"σοφος", true, true},       // ISO-8859-7 QP body, final sigma folded
		{"grüße", true, false},      // decoded subject
		{"=?utf-8?q?", true, false}, // raw header
	}
	txt, err := Text(root, hdr, blob)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		gotText, err := MatchText(root, hdr, blob, tt.needle)
		if err != nil || gotText != tt.text {
			t.Errorf("TEXT %q = %v, %v; want %v", tt.needle, gotText, err, tt.text)
		}
		gotBody, err := MatchBody(root, blob, tt.needle)
		if err != nil || gotBody != tt.body {
			t.Errorf("BODY %q = %v, %v; want %v", tt.needle, gotBody, err, tt.body)
		}
		if inText := strings.Contains(txt, Fold(tt.needle)); tt.text && !inText {
			t.Errorf("Text() lacks %q, which TEXT matches:\n%s", tt.needle, txt)
		}
	}
}
