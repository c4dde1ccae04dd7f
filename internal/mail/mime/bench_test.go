package mime

import (
	"bytes"
	"encoding/base64"
	"strings"
	"testing"
)

// benchMessage is a realistic message: multipart/mixed with a
// multipart/alternative text (plain + HTML, quoted-printable) and a 1 MiB
// base64 attachment, about 1.4 MB in all.
func benchMessage() []byte {
	att := make([]byte, 1<<20)
	for i := range att {
		att[i] = byte(i*7 + i>>8)
	}
	enc := base64.StdEncoding.EncodeToString(att)
	var lines strings.Builder
	for i := 0; i < len(enc); i += 76 {
		end := min(i+76, len(enc))
		lines.WriteString(enc[i:end])
		lines.WriteString("\r\n")
	}
	text := strings.Repeat("Hello Bob, this is the quarterly report =E2=80=93 see the attached file.=\r\n", 40)
	msg := crlf(`Return-Path: <alice@example.org>
Received: from mail.example.org (mail.example.org [192.0.2.1])
	by mx.example.net with ESMTPS id 4F2A1B3C
	for <bob@example.net>; Tue, 14 Nov 2023 09:12:33 +0000
From: Alice Example <alice@example.org>
To: Bob <bob@example.net>, "Carol C." <carol@example.net>
Cc: team@example.net
Subject: =?UTF-8?Q?Quarterly_report_=E2=80=93_Q3?=
Date: Tue, 14 Nov 2023 10:12:30 +0100
Message-ID: <20231114101230.GA1234@example.org>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="mixed-boundary-0123456789"

--mixed-boundary-0123456789
Content-Type: multipart/alternative; boundary="alt-boundary-0123456789"

--alt-boundary-0123456789
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: quoted-printable

`) + text + crlf(`
--alt-boundary-0123456789
Content-Type: text/html; charset=utf-8
Content-Transfer-Encoding: quoted-printable

<html><body>`) + text + crlf(`</body></html>
--alt-boundary-0123456789--

--mixed-boundary-0123456789
Content-Type: application/pdf; name="report.pdf"
Content-Disposition: attachment; filename="report.pdf"
Content-Transfer-Encoding: base64

`) + lines.String() + crlf(`--mixed-boundary-0123456789--
`)
	return []byte(msg)
}

func BenchmarkParse(b *testing.B) {
	msg := benchMessage()
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(bytes.NewReader(msg), Limits{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkUnmarshal(b *testing.B) {
	p, _ := Parse(bytes.NewReader(benchMessage()), Limits{})
	data := p.Marshal()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Unmarshal(data); err != nil {
			b.Fatal(err)
		}
	}
}
