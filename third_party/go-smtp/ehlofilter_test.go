// BARID: tests of EHLOFilterSession (see BARID.md).
package smtp_test

import (
	"bufio"
	"io"
	"net"
	"strings"
	"testing"

	"github.com/emersion/go-smtp"
)

// filterSession drops the keywords in drop and rewrites SIZE; it is an
// EHLOSession too, whose keywords come after the filtered list.
type filterSession struct {
	burlSession
	drop map[string]bool
	size string
	seen []string
}

func (s *filterSession) FilterEHLO(caps []string) []string {
	s.seen = append([]string(nil), caps...)
	var out []string
	for _, c := range caps {
		kw, _, _ := strings.Cut(c, " ")
		switch {
		case s.drop[kw]:
		case kw == "SIZE" && s.size != "":
			out = append(out, "SIZE "+s.size)
		default:
			out = append(out, c)
		}
	}
	return out
}

func TestServerEHLOFilter(t *testing.T) {
	sess := &filterSession{drop: map[string]bool{"8BITMIME": true, "SMTPUTF8": true, "DSN": true}, size: "1000"}
	s := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return sess, nil }))
	s.Domain = "localhost"
	s.MaxMessageBytes = 5000
	s.EnableSMTPUTF8, s.EnableDSN = true, true
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go s.Serve(l)
	t.Cleanup(func() { s.Close() })
	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	br := bufio.NewReader(c)
	br.ReadString('\n')
	io.WriteString(c, "EHLO x\r\n")
	r := reply(t, br)
	got := strings.Join(r, "|")
	want := "250-Hello x|250-PIPELINING|250-ENHANCEDSTATUSCODES|250-CHUNKING|250-SIZE 1000|250 BURL imap"
	if got != want {
		t.Fatalf("EHLO:\n got %s\nwant %s", got, want)
	}
	// The filter saw the built-in list, without the session's keywords.
	if seen := strings.Join(sess.seen, "|"); seen != "PIPELINING|8BITMIME|ENHANCEDSTATUSCODES|CHUNKING|SMTPUTF8|DSN|SIZE 5000" {
		t.Errorf("FilterEHLO got %s", seen)
	}
	// HELO is not filtered (it has no keywords).
	io.WriteString(c, "HELO x\r\n")
	if r := reply(t, br); r[0] != "250 2.0.0 Hello x" {
		t.Errorf("HELO: %q", r)
	}
}
