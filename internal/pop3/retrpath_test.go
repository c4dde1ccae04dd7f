package pop3_test

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	"barid/internal/config"
	"barid/internal/testkit"
)

// wantRETR is RFC 1939 §3's form of a stored message, written here
// line by line, apart from the server's one-pass code (body.go): every
// line ends in CRLF (a bare LF gets its CR; of the CRs before an LF,
// two at most belong to the line end, as internal/mail/mime counts the
// size), a line starting with "." gets another, and a last line
// without a line end gets one. size is LIST's (IMAP's RFC822.SIZE):
// without the stuffing, and without that added line end. top < 0 is RETR; otherwise TOP's header,
// blank line and top body lines.
func wantRETR(msg string, top int) (body string, size int) {
	var b strings.Builder
	inBody := false
	for l := range strings.Lines(msg) {
		if top >= 0 && inBody {
			if top == 0 {
				break
			}
			top--
		}
		content, ended := strings.CutSuffix(l, "\n")
		if ended {
			for k := 0; k < 2 && strings.HasSuffix(content, "\r"); k++ {
				content = content[:len(content)-1]
			}
		}
		if content == "" {
			inBody = true
		}
		size += len(content)
		if ended {
			size += 2 // the CRLF added to a last line is not counted
		}
		if strings.HasPrefix(content, ".") {
			b.WriteString(".")
		}
		b.WriteString(content + "\r\n")
	}
	return b.String(), size
}

// TestRetrEveryPath sends messages from each place their bytes can
// come from, in one pipelined batch: read ahead from the inline store,
// from a blob file (one the read-ahead found not inline, opened in the
// file store directly, and one too large to read ahead, opened through
// the inline store first), with line ends that are
// not CRLF, lines that need stuffing and a last line without a line
// end; RETR and TOP must give exactly the RFC 1939 bytes and LIST the
// size before stuffing.
func TestRetrEveryPath(t *testing.T) {
	inline := testkit.Option(func(c *config.Config) { c.Storage.InlineMaxBytes = 400 })
	f := start(t, inline)
	body := func(n int, line string) string { return strings.Repeat(line, n) }
	msgs := []string{
		"Subject: small\r\n\r\nhello\r\n",
		"Subject: dots\r\n\r\n.leading dot\r\n..two\r\n.\r\nbare LF\nend",
		"Subject: file\r\n\r\n" + body(200, "a clean line of text\r\n"),
		"Subject: file dots\r\n\r\n" + body(100, ".dot line\r\nplain\nCR CR LF\r\r\n"),
		"Subject: big\r\n\r\n" + body(9000, "0123456789 abcdefghij\r\n") + ".last",
		"Subject: small again\r\n\r\n.x\r\n",
	}
	for _, m := range msgs {
		f.add(m)
	}
	c := f.pop()
	var cmds strings.Builder
	for i := range msgs {
		fmt.Fprintf(&cmds, "LIST %d\r\nRETR %d\r\nTOP %d 2\r\n", i+1, i+1, i+1)
	}
	c.Send(cmds.String()) // RFC 2449 §6.6: one write, answered in order
	for i, m := range msgs {
		want, size := wantRETR(m, -1)
		if got := c.Line(); got != fmt.Sprintf("+OK %d %d", i+1, size) {
			t.Errorf("LIST %d = %q, want size %d", i+1, got, size)
		}
		if got := c.Line(); got != "+OK "+strconv.Itoa(size)+" octets" {
			t.Errorf("RETR %d = %q, want %d octets", i+1, got, size)
		}
		if got := c.ReadMulti(); got != want {
			t.Errorf("RETR %d: %d bytes differ from the %d wanted; first 200: %q", i+1, len(got), len(want), got[:min(len(got), 200)])
		}
		wantTop, _ := wantRETR(m, 2)
		if got := c.Line(); got != "+OK" {
			t.Errorf("TOP %d = %q", i+1, got)
		}
		if got := c.ReadMulti(); got != wantTop {
			t.Errorf("TOP %d 2 = %q, want %q", i+1, got, wantTop)
		}
	}
	c.OK("QUIT")
}
