package bench

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"math"
	"math/rand/v2"
	"mime"
	"mime/quotedprintable"
	"strconv"
	"time"
)

// Generator produces deterministic, varied messages (RFC 5322, MIME
// RFC 2045-2049): message i is a pure function of (Seed, i), so two
// servers populated with the same seed hold the same data, and messages can
// be generated in any order or in parallel.
//
// The mix aims at a realistic mailbox: mostly small text messages, some
// multipart/alternative, some attachments (base64, RFC 2231 file names),
// forwarded message/rfc822 parts, RFC 2047 encoded and raw UTF-8
// (RFC 6532) subjects and names, reply threads (In-Reply-To, References)
// and a spread of flags and keywords.
type Generator struct {
	Seed uint64
	// Start is the date of message 0; later messages are about 7 minutes
	// apart.
	Start time.Time
}

// Search targets the generator plants at known rates, so SEARCH in bigbox
// has something to find and both servers must find the same set.
const (
	NeedleWord = "zanzibarite" // in the body of ~1% of messages
	// InnerWord is a generated word that is also part of longer generated
	// words (58,152 messages at 1,000,000): SEARCH finds it inside them.
	InnerWord    = "katisupel"
	SubjectWord  = "Quarterly" // in the subject of ~2% of root messages
	NeedleSender = "alice"     // the sender of ~4% of messages
	// CommonWord is a vocabulary word in the text of ~17% of messages
	// (the full-text index's many-hits case, docs/search.md).
	CommonWord = "regards"
)

// GenMessage is one generated message.
type GenMessage struct {
	Body  []byte    // the message, CRLF line endings
	Flags []string  // IMAP flags to store with it
	Date  time.Time // internal date
}

// NewGenerator returns a generator with the default start date.
func NewGenerator(seed uint64) *Generator {
	return &Generator{Seed: seed, Start: time.Date(2021, 1, 4, 8, 0, 0, 0, time.UTC)}
}

func (g *Generator) rng(i int, stream uint64) *rand.Rand {
	return rand.New(rand.NewPCG(g.Seed^0x9e3779b97f4a7c15*(stream+1), uint64(i)))
}

var (
	firstNames = []string{"Alice", "Bob", "Carol", "Dave", "Erin", "Frank", "Grace", "Heidi", "Ivan", "Judy",
		"Mallory", "Niaj", "Olivia", "Peggy", "Rupert", "Sybil", "Trent", "Victor", "Walter", "Yusuf"}
	lastNames = []string{"Smith", "Jones", "Brown", "Taylor", "Wilson", "Evans", "Thomas", "Roberts",
		"Walker", "Wright", "Hughes", "Green", "Hall", "Wood", "Clarke"}
	utf8Names = []string{"José Müller", "Zoë Ångström", "Дмитрий Иванов", "李小龍", "Søren Kierkegård",
		"Ana Ćosić", "Łukasz Żółw", "Ελένη Παπαδοπούλου", "محمد علي", "Françoise Lefèvre"}
	domains = []string{"example.com", "example.org", "example.net", "mail.example", "corp.example"}
	topics  = []string{"budget", "release", "meeting", "invoice", "roadmap", "outage", "hiring", "offsite",
		"contract", "design review", "security audit", "migration", "newsletter", "travel", "lunch"}
	utf8Subjects = []string{"Résumé of the café meeting", "Über die Größe der Dateien", "Встреча в пятницу",
		"会议纪要", "Ευχαριστώ για όλα", "Crème brûlée recipe ☕", "Čtvrtletní zpráva", "Zażółć gęślą jaźń"}
	attachTypes = []struct{ ctype, ext string }{
		{"application/pdf", "pdf"}, {"image/png", "png"}, {"image/jpeg", "jpg"},
		{"application/octet-stream", "bin"}, {"application/zip", "zip"},
		{"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"},
	}
	zones = []int{0, 60, 120, -300, -480, 330, 540, -180}
)

// vocab is a fixed pseudo-word vocabulary built from syllables.
var vocab = func() []string {
	syl := []string{"ka", "lo", "mi", "ne", "po", "ra", "su", "ti", "va", "ze", "bar", "dor", "fen", "gal",
		"hin", "jor", "kel", "mon", "nir", "pel", "qua", "ros", "tam", "vel", "wex"}
	words := []string{"the", "of", "and", "to", "in", "is", "that", "for", "it", "as", "with", "was",
		"on", "be", "at", "by", "this", "have", "from", "or", "report", "project", "team", "please",
		"review", "attached", "thanks", "regards", "update", "schedule", "data", "server", "mail"}
	r := rand.New(rand.NewPCG(42, 42))
	for len(words) < 3000 {
		n := 2 + r.IntN(3)
		w := ""
		for k := 0; k < n; k++ {
			w += syl[r.IntN(len(syl))]
		}
		words = append(words, w)
	}
	return words
}()

func word(r *rand.Rand) string {
	// Skewed towards frequent words: the minimum of two uniform draws.
	a, b := r.IntN(len(vocab)), r.IntN(len(vocab))
	return vocab[min(a, b)]
}

// logUniform returns an integer in [lo, hi) with a log-uniform spread.
func logUniform(r *rand.Rand, lo, hi int) int {
	l, h := math.Log(float64(lo)), math.Log(float64(hi))
	return int(math.Exp(l + r.Float64()*(h-l)))
}

type person struct{ name, addr string }

func (g *Generator) person(k int) person {
	r := g.rng(k, 7)
	if k%50 == 0 {
		return person{"Alice Archer", NeedleSender + "@example.com"}
	}
	fn, ln := firstNames[r.IntN(len(firstNames))], lastNames[r.IntN(len(lastNames))]
	if fn == "Alice" {
		fn = "Alicia" // keep "alice" a controlled search target
	}
	name := fn + " " + ln
	if r.IntN(8) == 0 {
		name = utf8Names[r.IntN(len(utf8Names))]
	}
	local := fmt.Sprintf("%s.%s%d", lower(fn), lower(ln), k)
	return person{name, local + "@" + domains[r.IntN(len(domains))]}
}

func lower(s string) string { return string(bytes.ToLower([]byte(s))) }

func (p person) header(raw8bit bool) string {
	name := p.name
	if !isASCII(name) && !raw8bit {
		name = mime.BEncoding.Encode("UTF-8", name)
	} else {
		name = `"` + name + `"`
	}
	return name + " <" + p.addr + ">"
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// parent returns the message i replies to, or -1 for a thread root.
func (g *Generator) parent(i int) int {
	if i == 0 {
		return -1
	}
	r := g.rng(i, 3)
	if r.IntN(100) >= 35 {
		return -1
	}
	return i - 1 - r.IntN(min(i, 40))
}

// rootSubject is the subject of the thread root of message i.
func (g *Generator) rootSubject(i int) (subj string, root int) {
	for {
		p := g.parent(i)
		if p < 0 {
			break
		}
		i = p
	}
	r := g.rng(i, 5)
	switch k := r.IntN(100); {
	case k < 2:
		return SubjectWord + " report on " + topics[r.IntN(len(topics))], i
	case k < 12:
		return utf8Subjects[r.IntN(len(utf8Subjects))], i
	default:
		return fmt.Sprintf("%s %s %s", capital(topics[r.IntN(len(topics))]), word(r), word(r)), i
	}
}

func capital(s string) string {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return s
	}
	return string(s[0]-'a'+'A') + s[1:]
}

func msgID(seed uint64, i int) string {
	return fmt.Sprintf("<%d.%d@bench.example>", i, seed)
}

// Message generates message i.
func (g *Generator) Message(i int) GenMessage {
	r := g.rng(i, 1)
	var b bytes.Buffer
	b.Grow(8192)

	date := g.Start.Add(time.Duration(i)*7*time.Minute + time.Duration(r.IntN(360)-180)*time.Second)
	zone := time.FixedZone("", zones[r.IntN(len(zones))]*60)
	raw8 := r.IntN(100) < 3 // RFC 6532 raw UTF-8 headers

	from := g.person(r.IntN(2000))
	if r.IntN(50) == 0 {
		from = g.person(0) // NeedleSender
	}
	hdr := func(k, v string) { b.WriteString(k); b.WriteString(": "); b.WriteString(v); b.WriteString("\r\n") }

	if r.IntN(3) == 0 {
		hdr("Received", "from mx"+strconv.Itoa(r.IntN(9))+".example.net (mx.example.net [192.0.2."+
			strconv.Itoa(1+r.IntN(250))+"]) by mail.example with ESMTPS id "+strconv.FormatUint(r.Uint64(), 36)+
			"; "+date.In(zone).Format(time.RFC1123Z))
	}
	hdr("Date", date.In(zone).Format(time.RFC1123Z))
	hdr("From", from.header(raw8))
	to := ""
	for k, n := 0, 1+r.IntN(3); k < n; k++ {
		if k > 0 {
			to += ",\r\n "
		}
		to += g.person(r.IntN(2000)).header(raw8)
	}
	hdr("To", to)
	if r.IntN(5) == 0 {
		hdr("Cc", g.person(r.IntN(2000)).header(raw8))
	}

	subj, root := g.rootSubject(i)
	p := g.parent(i)
	if p >= 0 {
		if g.rng(i, 9).IntN(6) == 0 {
			subj = "Fwd: " + subj
		} else {
			subj = "Re: " + subj
		}
	}
	switch {
	case isASCII(subj):
	case raw8:
	case r.IntN(3) == 0:
		subj = mime.QEncoding.Encode("UTF-8", subj)
	default:
		subj = mime.BEncoding.Encode("UTF-8", subj)
	}
	if isASCII(subj) && r.IntN(25) == 0 && p < 0 {
		subj = "=?ISO-8859-1?Q?Caf=E9_" + subj[:min(len(subj), 20)] + "?="
		subj = string(bytes.ReplaceAll([]byte(subj), []byte(" "), []byte("_")))
	}
	hdr("Subject", subj)
	hdr("Message-ID", msgID(g.Seed, i))
	if p >= 0 {
		hdr("In-Reply-To", msgID(g.Seed, p))
		refs := msgID(g.Seed, root)
		if root != p {
			refs += "\r\n " + msgID(g.Seed, p)
		}
		hdr("References", refs)
	}
	if r.IntN(4) == 0 {
		hdr("X-Mailer", "bench-generator/1.0")
	}
	hdr("MIME-Version", "1.0")

	needle := r.IntN(100) == 0
	textLen := logUniform(r, 100, 16000)
	switch k := r.IntN(100); {
	case k < 55:
		writeTextPart(&b, r, textLen, needle, raw8)
	case k < 75:
		bd := boundary(r)
		b.WriteString("Content-Type: multipart/alternative; boundary=\"" + bd + "\"\r\n\r\n")
		writeAlternative(&b, r, bd, textLen, needle)
	case k < 90:
		bd := boundary(r)
		b.WriteString("Content-Type: multipart/mixed; boundary=\"" + bd + "\"\r\n\r\n")
		b.WriteString("This is a multi-part message in MIME format.\r\n")
		b.WriteString("--" + bd + "\r\n")
		writeTextPart(&b, r, textLen, needle, false)
		for n := 1 + r.IntN(100)/80; n > 0; n-- {
			b.WriteString("\r\n--" + bd + "\r\n")
			writeAttachment(&b, r)
		}
		b.WriteString("\r\n--" + bd + "--\r\n")
	case k < 96:
		bd, bd2 := boundary(r), boundary(r)
		b.WriteString("Content-Type: multipart/mixed; boundary=\"" + bd + "\"\r\n\r\n")
		b.WriteString("--" + bd + "\r\n")
		b.WriteString("Content-Type: multipart/alternative; boundary=\"" + bd2 + "\"\r\n\r\n")
		writeAlternative(&b, r, bd2, textLen, needle)
		b.WriteString("\r\n--" + bd + "\r\n")
		writeAttachment(&b, r)
		b.WriteString("\r\n--" + bd + "--\r\n")
	default:
		bd := boundary(r)
		b.WriteString("Content-Type: multipart/mixed; boundary=\"" + bd + "\"\r\n\r\n")
		b.WriteString("--" + bd + "\r\n")
		writeTextPart(&b, r, min(textLen, 800), needle, false)
		b.WriteString("\r\n--" + bd + "\r\n")
		b.WriteString("Content-Type: message/rfc822\r\nContent-Disposition: inline\r\n\r\n")
		inner := g.person(r.IntN(2000))
		b.WriteString("Date: " + date.Add(-time.Hour).Format(time.RFC1123Z) + "\r\n")
		b.WriteString("From: " + inner.header(false) + "\r\n")
		b.WriteString("To: " + from.header(false) + "\r\n")
		b.WriteString("Subject: " + capital(topics[r.IntN(len(topics))]) + " (original)\r\n")
		b.WriteString("Message-ID: <inner." + strconv.Itoa(i) + "@bench.example>\r\n")
		b.WriteString("MIME-Version: 1.0\r\n")
		writeTextPart(&b, r, logUniform(r, 100, 4000), false, false)
		b.WriteString("\r\n--" + bd + "--\r\n")
	}

	return GenMessage{Body: b.Bytes(), Flags: genFlags(r, p >= 0), Date: date.Add(time.Duration(5+r.IntN(60)) * time.Second)}
}

func genFlags(r *rand.Rand, reply bool) []string {
	var f []string
	if r.IntN(100) < 70 {
		f = append(f, `\Seen`)
	}
	if r.IntN(100) < 12 || (reply && r.IntN(4) == 0) {
		f = append(f, `\Answered`)
	}
	if r.IntN(100) < 6 {
		f = append(f, `\Flagged`)
	}
	if r.IntN(200) == 0 {
		f = append(f, `\Draft`)
	}
	if r.IntN(100) < 3 {
		f = append(f, "$Forwarded")
	}
	if r.IntN(100) < 2 {
		f = append(f, "$label1")
	}
	return f
}

func boundary(r *rand.Rand) string {
	return "=_bench_" + strconv.FormatUint(r.Uint64(), 36)
}

// paragraphs writes about n bytes of text as lines of at most ~76 octets.
func paragraphs(b *bytes.Buffer, r *rand.Rand, n int, needle, utf8 bool, lineEnd string) {
	start := b.Len()
	col := 0
	placed := !needle
	for b.Len()-start < n {
		w := word(r)
		if !placed && b.Len()-start > n/2 {
			w, placed = NeedleWord, true
		}
		if utf8 && r.IntN(40) == 0 {
			w = "naïve"
		}
		if col+len(w)+1 > 72 {
			b.WriteString(lineEnd)
			col = 0
			if r.IntN(6) == 0 {
				b.WriteString(lineEnd)
			}
		} else if col > 0 {
			b.WriteByte(' ')
			col++
		}
		b.WriteString(w)
		col += len(w)
	}
	if !placed {
		b.WriteString(" " + NeedleWord)
	}
	b.WriteString(lineEnd)
}

func writeTextPart(b *bytes.Buffer, r *rand.Rand, n int, needle, raw8 bool) {
	switch k := r.IntN(10); {
	case k < 6:
		b.WriteString("Content-Type: text/plain; charset=us-ascii\r\nContent-Transfer-Encoding: 7bit\r\n\r\n")
		paragraphs(b, r, n, needle, false, "\r\n")
	case k < 9 || !raw8:
		b.WriteString("Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n")
		var t bytes.Buffer
		paragraphs(&t, r, n, needle, true, "\r\n")
		qp := quotedprintable.NewWriter(b)
		qp.Write(t.Bytes())
		qp.Close()
		b.WriteString("\r\n")
	default:
		b.WriteString("Content-Type: text/plain; charset=utf-8; format=flowed\r\nContent-Transfer-Encoding: 8bit\r\n\r\n")
		paragraphs(b, r, n, needle, true, "\r\n")
	}
}

func writeAlternative(b *bytes.Buffer, r *rand.Rand, bd string, n int, needle bool) {
	b.WriteString("--" + bd + "\r\n")
	b.WriteString("Content-Type: text/plain; charset=us-ascii\r\n\r\n")
	var t bytes.Buffer
	paragraphs(&t, r, n, needle, false, "\r\n")
	b.Write(t.Bytes())
	b.WriteString("\r\n--" + bd + "\r\n")
	b.WriteString("Content-Type: text/html; charset=us-ascii\r\n\r\n")
	b.WriteString("<html><body>\r\n<p>")
	b.Write(bytes.ReplaceAll(t.Bytes(), []byte("\r\n\r\n"), []byte("</p>\r\n<p>")))
	b.WriteString("</p>\r\n</body></html>\r\n")
	b.WriteString("\r\n--" + bd + "--\r\n")
}

func writeAttachment(b *bytes.Buffer, r *rand.Rand) {
	at := attachTypes[r.IntN(len(attachTypes))]
	size := logUniform(r, 1000, 200000)
	name := word(r) + "-" + strconv.Itoa(r.IntN(1000)) + "." + at.ext
	b.WriteString("Content-Type: " + at.ctype + "; name=\"" + name + "\"\r\n")
	if r.IntN(8) == 0 {
		// RFC 2231 encoded file name.
		b.WriteString("Content-Disposition: attachment; filename*=UTF-8''r%C3%A9sum%C3%A9-" + name + "\r\n")
	} else {
		b.WriteString("Content-Disposition: attachment; filename=\"" + name + "\"\r\n")
	}
	b.WriteString("Content-Transfer-Encoding: base64\r\n\r\n")
	raw := make([]byte, size)
	for k := 0; k+8 <= len(raw); k += 8 {
		v := r.Uint64()
		for s := 0; s < 8; s++ {
			raw[k+s] = byte(v >> (8 * s))
		}
	}
	enc := make([]byte, base64.StdEncoding.EncodedLen(len(raw)))
	base64.StdEncoding.Encode(enc, raw)
	for len(enc) > 76 {
		b.Write(enc[:76])
		b.WriteString("\r\n")
		enc = enc[76:]
	}
	b.Write(enc)
	b.WriteString("\r\n")
}

// Sized generates a plain text message of about size bytes (at least the
// headers), for LMTP throughput runs.
func (g *Generator) Sized(i, size int) []byte {
	r := g.rng(i, 11)
	var b bytes.Buffer
	b.Grow(size + 512)
	date := g.Start.Add(time.Duration(i) * time.Second)
	b.WriteString("Date: " + date.Format(time.RFC1123Z) + "\r\n")
	b.WriteString("From: " + g.person(r.IntN(2000)).header(false) + "\r\n")
	b.WriteString("To: " + g.person(r.IntN(2000)).header(false) + "\r\n")
	b.WriteString("Subject: " + capital(topics[r.IntN(len(topics))]) + " " + word(r) + "\r\n")
	b.WriteString("Message-ID: <sized." + strconv.Itoa(i) + "." + strconv.FormatUint(g.Seed, 10) + "@bench.example>\r\n")
	b.WriteString("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n")
	paragraphs(&b, r, max(size-b.Len(), 1), false, false, "\r\n")
	return b.Bytes()
}
