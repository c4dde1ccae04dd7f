// BARID: tests of the BURL command and EHLOSession (see BARID.md).
package smtp_test

import (
	"bufio"
	"errors"
	"io"
	"net"
	"strings"
	"testing"

	"github.com/emersion/go-smtp"
)

// burlSession serves URLs from a map; "fail:" URLs fail to resolve.
type burlSession struct {
	urls  map[string]string
	from  string
	to    []string
	data  chan []byte
	fetch int
}

func (s *burlSession) Reset()                                      {}
func (s *burlSession) Logout() error                               { return nil }
func (s *burlSession) Mail(from string, _ *smtp.MailOptions) error { s.from = from; return nil }
func (s *burlSession) Rcpt(to string, _ *smtp.RcptOptions) error   { s.to = append(s.to, to); return nil }
func (s *burlSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.data <- b
	return nil
}
func (s *burlSession) EHLOKeywords() []string { return []string{"BURL imap"} }
func (s *burlSession) ParseBURL(arg string) (string, bool, error) {
	url, marker, _ := strings.Cut(arg, " ")
	if marker != "" && marker != "LAST" {
		return "", false, errors.New("bad BURL")
	}
	return url, marker == "LAST", nil
}
func (s *burlSession) BURL(url string) (io.ReadCloser, int64, error) {
	s.fetch++
	v, ok := s.urls[url]
	if !ok {
		return nil, 0, &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 6}, Message: "IMAP URL resolution failed"}
	}
	return io.NopCloser(strings.NewReader(v)), int64(len(v)), nil
}

func burlServer(t *testing.T, max int64) (*burlSession, net.Conn, *bufio.Reader) {
	sess := &burlSession{urls: map[string]string{"imap://a": "Subject: a\r\n\r\n", "imap://b": "body\r\n"}, data: make(chan []byte, 4)}
	s := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return sess, nil }))
	s.Domain = "localhost"
	s.MaxMessageBytes = max
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
	br := bufio.NewReader(c)
	br.ReadString('\n')
	return sess, c, br
}

func reply(t *testing.T, br *bufio.Reader) []string {
	t.Helper()
	var out []string
	for {
		l, err := br.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		l = strings.TrimRight(l, "\r\n")
		out = append(out, l)
		if len(l) < 4 || l[3] != '-' {
			return out
		}
	}
}

func cmd(t *testing.T, c net.Conn, br *bufio.Reader, line, want string) {
	t.Helper()
	io.WriteString(c, line+"\r\n")
	r := reply(t, br)
	if !strings.HasPrefix(r[len(r)-1], want) {
		t.Fatalf("%s: %q, want %s", line, r, want)
	}
}

func TestServerBURL(t *testing.T) {
	sess, c, br := burlServer(t, 0)
	io.WriteString(c, "EHLO x\r\n")
	if r := reply(t, br); r[len(r)-1] != "250 BURL imap" {
		t.Fatalf("EHLO: %q", r)
	}
	cmd(t, c, br, "BURL imap://a LAST", "503 5.5.0 ")
	cmd(t, c, br, "MAIL FROM:<a@x>", "250 ")
	cmd(t, c, br, "RCPT TO:<b@x>", "250 ")
	cmd(t, c, br, "BURL imap://a NOW", "501 5.5.4 bad BURL")
	// BURL, BDAT and BURL LAST make one message.
	cmd(t, c, br, "BURL imap://a", "250 2.5.0 ")
	io.WriteString(c, "BDAT 5\r\nbody ")
	if r := reply(t, br); r[0] != "250 2.0.0 Continue" {
		t.Fatalf("BDAT: %q", r)
	}
	cmd(t, c, br, "BURL imap://b LAST", "250 2.0.0 ")
	if got := string(<-sess.data); got != "Subject: a\r\n\r\nbody body\r\n" {
		t.Fatalf("message %q", got)
	}
	// DATA is refused in the middle of chunks; a failed URL resets the
	// transaction.
	cmd(t, c, br, "MAIL FROM:<a@x>", "250 ")
	cmd(t, c, br, "RCPT TO:<b@x>", "250 ")
	cmd(t, c, br, "BURL imap://a", "250 2.5.0 ")
	cmd(t, c, br, "DATA", "502 5.5.1 ")
	cmd(t, c, br, "BURL imap://missing LAST", "554 5.6.6 ")
	cmd(t, c, br, "BURL imap://a LAST", "503 5.5.0 ")
}

func TestServerBURLTooBig(t *testing.T) {
	sess, c, br := burlServer(t, 16)
	cmd(t, c, br, "EHLO x", "250 ")
	cmd(t, c, br, "MAIL FROM:<a@x>", "250 ")
	cmd(t, c, br, "RCPT TO:<b@x>", "250 ")
	cmd(t, c, br, "BURL imap://a", "250 2.5.0 ") // 14 bytes
	cmd(t, c, br, "BURL imap://b LAST", "554 5.3.4 ")
	if sess.fetch != 2 {
		t.Errorf("%d fetches", sess.fetch)
	}
}

// A server whose sessions lack BURLSession does not know the command.
func TestServerBURLUnknown(t *testing.T) {
	_, _, c, scanner := testServerGreeted(t)
	io.WriteString(c, "BURL imap://a LAST\r\n")
	scanner.Scan()
	if !strings.HasPrefix(scanner.Text(), "500 5.5.2 ") {
		t.Fatal(scanner.Text())
	}
}
