package interop

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"mime/quotedprintable"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
)

// corpusMsg is one generated message in its IMAP form: CRLF line
// endings, no bare CR or LF and no NUL, so that the Maildir form (LF) and
// the IMAP form convert into each other without loss.
type corpusMsg struct {
	Folder string
	Kind   string
	Data   []byte
	Flags  []imap.Flag
}

// corpusFolders are the folders of the generated account and how many
// messages each gets. Nested folders exist on purpose; "Lists" itself
// is a real folder with messages while "Projects" is only a parent.
var corpusFolders = []struct {
	Name string
	N    int
}{
	{"INBOX", 60},
	{"Sent", 15},
	{"Archive", 10},
	{"Archive/2024", 20},
	{"Archive/2024/Q1", 15},
	{"Lists", 5},
	{"Lists/golang", 30},
	{"Lists/golang/nuts", 15},
	{"Projects/barid/Design", 10},
	{"Empty/Nested", 0},
}

// genCorpus makes a deterministic varied corpus: tiny messages, plain
// text, 8-bit UTF-8 bodies and raw UTF-8 headers (RFC 6532), RFC 2047
// encoded words, folded headers, long lines, multipart/alternative,
// multipart/mixed with base64 attachments, message/rfc822 nesting,
// "From " lines and lone dots in bodies, a message without a final
// newline, and two large messages of a few MB. tag makes message ids
// unique between corpora generated for the same account.
func genCorpus(seed uint64, tag string) []corpusMsg {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	var out []corpusMsg
	i := 0
	for _, f := range corpusFolders {
		for j := range f.N {
			kind := kinds[i%len(kinds)]
			// The two large messages land in INBOX and Lists/golang.
			if (f.Name == "INBOX" && j == 7) || (f.Name == "Lists/golang" && j == 3) {
				kind = "large"
			}
			out = append(out, corpusMsg{
				Folder: f.Name,
				Kind:   kind,
				Data:   genMessage(r, kind, i, tag),
				Flags:  randFlags(r),
			})
			i++
		}
	}
	return out
}

var kinds = []string{"plain", "tiny", "utf8", "alternative", "attachment", "plain", "nested", "fromlines", "longline", "utf8header", "attachment", "nofinalnewline", "encoded", "headeronly"}

func randFlags(r *rand.Rand) []imap.Flag {
	var fl []imap.Flag
	if r.IntN(3) > 0 {
		fl = append(fl, imap.FlagSeen)
	}
	if r.IntN(6) == 0 {
		fl = append(fl, imap.FlagFlagged)
	}
	if r.IntN(8) == 0 {
		fl = append(fl, imap.FlagAnswered)
	}
	if r.IntN(20) == 0 {
		fl = append(fl, imap.FlagDraft)
	}
	return fl
}

var names = []string{"Alice Example", "Bob", "Zoë Ångström", "李小龙", "Ørjan Østergaard", "Renée", "Mallory"}

func addr(r *rand.Rand) string {
	n := names[r.IntN(len(names))]
	local := strings.ToLower(strings.Fields(n)[0])
	if !isASCII(local) {
		local = fmt.Sprintf("u%d", r.IntN(1000))
	}
	if isASCII(n) {
		return fmt.Sprintf("%s <%s@example.org>", n, local)
	}
	return fmt.Sprintf("=?UTF-8?B?%s?= <%s@example.org>", base64.StdEncoding.EncodeToString([]byte(n)), local)
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

func words(r *rand.Rand, n int) string {
	ws := []string{"lorem", "ipsum", "dolor", "sit", "amet", "mail", "server", "sync", "flag", "folder", "quota", "barid", "needle", "report", "meeting", "budget"}
	var b strings.Builder
	for j := range n {
		if j > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(ws[r.IntN(len(ws))])
	}
	return b.String()
}

// para makes text wrapped at 72 columns, CRLF-terminated.
func para(r *rand.Rand, lines int) string {
	var b strings.Builder
	for range lines {
		b.WriteString(words(r, 8+r.IntN(4)))
		b.WriteString("\r\n")
	}
	return b.String()
}

func b64(data []byte) string {
	s := base64.StdEncoding.EncodeToString(data)
	var b strings.Builder
	for len(s) > 76 {
		b.WriteString(s[:76])
		b.WriteString("\r\n")
		s = s[76:]
	}
	b.WriteString(s)
	b.WriteString("\r\n")
	return b.String()
}

func qp(s string) string {
	var buf bytes.Buffer
	w := quotedprintable.NewWriter(&buf)
	w.Write([]byte(s))
	w.Close()
	// quotedprintable writes CRLF line breaks already.
	return buf.String()
}

func randBytes(r *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := 0; i+8 <= n; i += 8 {
		v := r.Uint64()
		for k := range 8 {
			b[i+k] = byte(v >> (8 * k))
		}
	}
	for i := n - n%8; i < n; i++ {
		b[i] = byte(r.Uint32())
	}
	return b
}

func genMessage(r *rand.Rand, kind string, i int, tag string) []byte {
	date := time.Date(2024, 1, 1, 8, 0, 0, 0, time.UTC).Add(time.Duration(i) * 7 * time.Hour).Add(time.Duration(r.IntN(3600)) * time.Second)
	id := fmt.Sprintf("<%s.%d.%d@interop.barid.test>", tag, i, r.IntN(1e6))
	subject := fmt.Sprintf("[%s %d] %s", kind, i, words(r, 3))
	common := func(b *strings.Builder, subj string) {
		fmt.Fprintf(b, "From: %s\r\n", addr(r))
		fmt.Fprintf(b, "To: %s, %s\r\n", addr(r), addr(r))
		fmt.Fprintf(b, "Subject: %s\r\n", subj)
		fmt.Fprintf(b, "Date: %s\r\n", date.Format(time.RFC1123Z))
		fmt.Fprintf(b, "Message-ID: %s\r\n", id)
	}
	var b strings.Builder
	switch kind {
	case "tiny":
		fmt.Fprintf(&b, "Message-ID: %s\r\nSubject: t%d\r\n\r\nx\r\n", id, i)
	case "headeronly":
		// No body at all: the header ends at the end of the message.
		fmt.Fprintf(&b, "Message-ID: %s\r\nSubject: header only %d\r\n", id, i)
	case "nofinalnewline":
		common(&b, subject)
		b.WriteString("\r\n")
		b.WriteString(para(r, 2))
		b.WriteString("the last line has no line break")
	case "plain":
		common(&b, subject)
		b.WriteString("X-Mailer: interop generator\r\n")
		b.WriteString("Received: from a.example.org (a.example.org [192.0.2.1])\r\n\tby b.example.org with ESMTP id 1234;\r\n\t" + date.Format(time.RFC1123Z) + "\r\n")
		b.WriteString("\r\n")
		b.WriteString(para(r, 3+r.IntN(40)))
	case "utf8":
		common(&b, "=?UTF-8?Q?Gr=C3=BC=C3=9Fe_aus_M=C3=BCnchen?= "+subject)
		b.WriteString("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n")
		b.WriteString("Grüße, Zoë! Ça va? Ωμέγα, 日本語のテキスト, emoji 📬✉️.\r\n")
		b.WriteString(para(r, 5))
	case "utf8header":
		// RFC 6532: raw UTF-8 in header fields.
		fmt.Fprintf(&b, "From: Zoë Ångström <zoe@example.org>\r\nTo: 李小龙 <li@example.org>\r\nSubject: Résumé für Jürgen — %d\r\nDate: %s\r\nMessage-ID: %s\r\n", i, date.Format(time.RFC1123Z), id)
		b.WriteString("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\nKörper mit Umlauten: äöü ÄÖÜ ß\r\n")
	case "encoded":
		common(&b, "=?ISO-8859-1?Q?Caf=E9?= =?UTF-8?B?4piV?= "+subject)
		b.WriteString("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n")
		b.WriteString(qp("Café ☕ and a long line " + strings.Repeat("wrapped by soft breaks ", 10) + "\r\n"))
	case "longline":
		common(&b, subject)
		b.WriteString("X-Long-Header: " + strings.Repeat("h", 900) + "\r\n")
		b.WriteString("Folded: first part\r\n second part\r\n\tthird part\r\n\r\n")
		b.WriteString(strings.Repeat("0123456789", 500) + "\r\n")
	case "fromlines":
		common(&b, subject)
		b.WriteString("\r\nFrom here on the body has mbox traps:\r\n")
		b.WriteString("From the start of a line\r\n>From an escaped line\r\n>>From twice\r\n.\r\n..\r\n.leading dot\r\n\r\n\r\nFrom \r\n")
	case "alternative":
		common(&b, subject)
		b.WriteString("MIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=\"alt-" + fmt.Sprint(i) + "\"\r\n\r\n")
		fmt.Fprintf(&b, "--alt-%d\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n%s", i, para(r, 4))
		fmt.Fprintf(&b, "--alt-%d\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<html><body><p>%s</p><p>Grüße</p></body></html>\r\n", i, words(r, 20))
		fmt.Fprintf(&b, "--alt-%d--\r\n", i)
	case "attachment", "large":
		n := 1 + r.IntN(60000)
		if kind == "large" {
			n = 2<<20 + r.IntN(1<<20) // 2–3 MB of binary, ~2.7–4 MB encoded
		}
		common(&b, subject)
		b.WriteString("MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"=_mixed_" + fmt.Sprint(i) + "\"\r\n\r\nThis is a multi-part message in MIME format.\r\n")
		fmt.Fprintf(&b, "--=_mixed_%d\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n%s", i, qp("See the attachment, naïve café.\r\n"))
		fmt.Fprintf(&b, "--=_mixed_%d\r\nContent-Type: application/octet-stream; name=\"data-%d.bin\"\r\nContent-Disposition: attachment; filename*=UTF-8''d%%C3%%A4ta-%d.bin\r\nContent-Transfer-Encoding: base64\r\n\r\n", i, i, i)
		b.WriteString(b64(randBytes(r, n)))
		if r.IntN(2) == 0 {
			fmt.Fprintf(&b, "--=_mixed_%d\r\nContent-Type: image/png; name=\"p.png\"\r\nContent-Transfer-Encoding: base64\r\n\r\n%s", i, b64(randBytes(r, 300)))
		}
		fmt.Fprintf(&b, "--=_mixed_%d--\r\nepilogue\r\n", i)
	case "nested":
		common(&b, "Fwd: "+subject)
		b.WriteString("MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"outer\"\r\n\r\n")
		b.WriteString("--outer\r\nContent-Type: text/plain\r\n\r\nForwarded message below.\r\n")
		b.WriteString("--outer\r\nContent-Type: message/rfc822\r\n\r\n")
		fmt.Fprintf(&b, "From: %s\r\nSubject: inner %d\r\nMIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=\"inner\"\r\n\r\n", addr(r), i)
		fmt.Fprintf(&b, "--inner\r\nContent-Type: text/plain\r\n\r\n%s--inner\r\nContent-Type: text/html\r\n\r\n<b>%s</b>\r\n--inner--\r\n", para(r, 2), words(r, 5))
		b.WriteString("--outer--\r\n")
	default:
		panic("unknown kind " + kind)
	}
	return []byte(b.String())
}

// toLF converts the IMAP form (CRLF) into the Unix Maildir/mbox form.
func toLF(b []byte) []byte { return bytes.ReplaceAll(b, []byte("\r\n"), []byte("\n")) }

// toCRLF converts LF line endings into CRLF (the inverse of toLF for
// corpus messages, which have no bare CR or LF).
func toCRLF(b []byte) []byte {
	return bytes.ReplaceAll(bytes.ReplaceAll(b, []byte("\r\n"), []byte("\n")), []byte("\n"), []byte("\r\n"))
}
