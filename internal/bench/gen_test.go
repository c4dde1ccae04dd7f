package bench

import (
	"bytes"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"strings"
	"testing"
)

func TestGeneratorDeterministic(t *testing.T) {
	a, b := NewGenerator(7), NewGenerator(7)
	for _, i := range []int{0, 1, 17, 999, 12345} {
		ma, mb := a.Message(i), b.Message(i)
		if !bytes.Equal(ma.Body, mb.Body) || !ma.Date.Equal(mb.Date) || strings.Join(ma.Flags, " ") != strings.Join(mb.Flags, " ") {
			t.Fatalf("message %d differs between two generators with the same seed", i)
		}
	}
	// Order independence: generating 5 first gives the same message 5.
	c := NewGenerator(7)
	m5 := c.Message(5)
	for i := 0; i < 5; i++ {
		c.Message(i)
	}
	if !bytes.Equal(m5.Body, c.Message(5).Body) {
		t.Fatal("message 5 depends on generation order")
	}
	if bytes.Equal(NewGenerator(8).Message(3).Body, a.Message(3).Body) {
		t.Fatal("different seeds give the same message")
	}
}

// walk checks a MIME entity and its children parse (RFC 2045, RFC 2046).
func walk(t *testing.T, i int, h mail.Header, body io.Reader, depth int) {
	ct := h.Get("Content-Type")
	if ct == "" {
		ct = "text/plain"
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil {
		t.Fatalf("message %d: Content-Type %q: %v", i, ct, err)
	}
	switch {
	case strings.HasPrefix(mt, "multipart/"):
		mr := multipart.NewReader(body, params["boundary"])
		parts := 0
		for {
			p, err := mr.NextRawPart()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("message %d: %s part %d: %v", i, mt, parts, err)
			}
			parts++
			walk(t, i, mail.Header(p.Header), p, depth+1)
		}
		if parts < 2 {
			t.Fatalf("message %d: %s with %d parts", i, mt, parts)
		}
	case mt == "message/rfc822":
		inner, err := mail.ReadMessage(body)
		if err != nil {
			t.Fatalf("message %d: inner message: %v", i, err)
		}
		walk(t, i, inner.Header, inner.Body, depth+1)
	}
}

func TestGeneratedMessagesParse(t *testing.T) {
	g := NewGenerator(1)
	var needles, subjects, alice, replies, multi, attach, total int
	flags := map[string]int{}
	const n = 1500
	for i := 0; i < n; i++ {
		m := g.Message(i)
		total += len(m.Body)
		if bytes.Contains(bytes.ReplaceAll(m.Body, []byte("\r\n"), nil), []byte("\n")) {
			t.Fatalf("message %d has a bare LF", i)
		}
		msg, err := mail.ReadMessage(bytes.NewReader(m.Body))
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		for _, h := range []string{"Date", "From", "To", "Subject", "Message-ID"} {
			if msg.Header.Get(h) == "" {
				t.Fatalf("message %d lacks %s", i, h)
			}
		}
		if _, err := msg.Header.Date(); err != nil {
			t.Fatalf("message %d: Date: %v", i, err)
		}
		walk(t, i, msg.Header, msg.Body, 0)
		if bytes.Contains(m.Body, []byte(NeedleWord)) {
			needles++
		}
		subj, _ := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
		if strings.Contains(subj, SubjectWord) {
			subjects++
		}
		if strings.Contains(msg.Header.Get("From"), NeedleSender+"@") {
			alice++
		}
		if msg.Header.Get("In-Reply-To") != "" {
			replies++
		}
		if strings.HasPrefix(msg.Header.Get("Content-Type"), "multipart/") {
			multi++
		}
		if bytes.Contains(m.Body, []byte("Content-Disposition: attachment")) {
			attach++
		}
		for _, f := range m.Flags {
			flags[f]++
		}
	}
	// Planted rates, loosely: the exact counts are whatever the seed gives,
	// but each feature must be present and not everywhere.
	for name, got := range map[string]int{"needle": needles, "subject": subjects, "sender": alice,
		"reply": replies, "multipart": multi, "attachment": attach, `\Seen`: flags[`\Seen`],
		`\Flagged`: flags[`\Flagged`], "$Forwarded": flags["$Forwarded"]} {
		if got == 0 || got == n {
			t.Errorf("%s appears in %d of %d messages", name, got, n)
		}
	}
	if avg := total / n; avg < 2000 || avg > 60000 {
		t.Errorf("average size %d bytes", avg)
	}
	t.Logf("%d messages, avg %d bytes: needle %d, subject %d, sender %d, replies %d, multipart %d, attachments %d, flags %v",
		n, total/n, needles, subjects, alice, replies, multi, attach, flags)
}

func TestSized(t *testing.T) {
	g := NewGenerator(3)
	for _, size := range []int{100, 4096, 65536} {
		m := g.Sized(1, size)
		if len(m) < size || len(m) > size+200 {
			t.Errorf("Sized(%d) = %d bytes", size, len(m))
		}
		if _, err := mail.ReadMessage(bytes.NewReader(m)); err != nil {
			t.Errorf("Sized(%d): %v", size, err)
		}
	}
}

func BenchmarkGeneratorMessage(b *testing.B) {
	g := NewGenerator(1)
	n := 0
	for i := 0; b.Loop(); i++ {
		n += len(g.Message(i).Body)
	}
	b.SetBytes(int64(n / max(b.N, 1)))
}
