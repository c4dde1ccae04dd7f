package lmtp

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/emersion/go-smtp"
)

// HandoffDomain is the reserved domain (RFC 2606 ".invalid") of the
// recipients that only the private socket accepts. The local part
// carries the account and mailbox, URL-query encoded, so any account or
// mailbox name fits in an RFC 5321 dot-string.
const HandoffDomain = "handoff.barid.invalid"

// HandoffRecipient encodes "deliver to this account's mailbox" as an
// envelope recipient for the private socket. mailbox "" means INBOX.
func HandoffRecipient(account, mailbox string) string {
	v := url.Values{}
	v.Set("user", account)
	if mailbox != "" {
		v.Set("mailbox", mailbox)
	}
	return v.Encode() + "@" + HandoffDomain
}

func parseHandoff(addr string) (user, mailbox string, ok bool) {
	local, domain, found := cutLast(addr, '@')
	if !found || !strings.EqualFold(domain, HandoffDomain) {
		return "", "", false
	}
	v, err := url.ParseQuery(local)
	if err != nil || v.Get("user") == "" {
		return "", "", false
	}
	return v.Get("user"), v.Get("mailbox"), true
}

// ErrNoServer means no server accepted the hand-off: nothing listens on
// the socket, or it did not greet. No byte of the message has been read,
// so the caller may deliver directly instead.
var ErrNoServer = errors.New("no barid server answers on the hand-off socket")

// HandoffTimeout bounds the wait for the greeting and for each reply
// before DATA; the final reply waits as long as delivery takes.
const HandoffTimeout = 30 * time.Second

// Handoff gives one message to the server on the unix socket at path,
// over LMTP, for account's mailbox (as "barid deliver" does). It returns
// nil once the server answered 250 (the message is durable and the
// server's idling clients have been told), an *smtp.SMTPError if the
// server refused it, an error wrapping ErrNoServer if no server took
// it (the message was not read), or another error if the connection
// broke during the transfer (treat as temporary).
func Handoff(ctx context.Context, path, from, account, mailbox string, msg io.Reader) error {
	d := net.Dialer{Timeout: 5 * time.Second}
	conn, err := d.DialContext(ctx, "unix", path)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrNoServer, err)
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	c := smtp.NewClientLMTP(conn)
	defer c.Close()
	c.CommandTimeout = HandoffTimeout
	// RFC 2033 §4.1 LHLO (sent by Hello), then MAIL.
	if err := c.Hello("localhost"); err != nil {
		return fmt.Errorf("%w: %v", ErrNoServer, err)
	}
	if err := c.Mail(from, nil); err != nil {
		return fmt.Errorf("%w: MAIL: %v", ErrNoServer, err)
	}
	if err := c.Rcpt(HandoffRecipient(account, mailbox), nil); err != nil {
		return err
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := io.Copy(w, msg); err != nil {
		return fmt.Errorf("hand-off transfer: %w", err)
	}
	_, err = w.CloseWithLMTPResponse()
	var le smtp.LMTPDataError
	if errors.As(err, &le) {
		for _, se := range le {
			return se
		}
	}
	if err != nil {
		return err
	}
	c.Quit()
	return nil
}

// SkipMboxFrom consumes a leading mbox envelope line ("From sender
// date", as Postfix's local(8) and pipe(8) with flag F prepend it) and
// returns the sender it names. ok is false, and nothing is consumed, if
// the input does not start with "From ".
func SkipMboxFrom(br *bufio.Reader) (sender string, ok bool, err error) {
	head, err := br.Peek(5)
	if err != nil && !errors.Is(err, io.EOF) {
		return "", false, err
	}
	if string(head) != "From " {
		return "", false, nil
	}
	line, err := br.ReadSlice('\n')
	// ReadSlice's result is only valid until the next read.
	line = bytes.Clone(line)
	for errors.Is(err, bufio.ErrBufferFull) {
		// An absurdly long envelope line: drop the rest of it.
		_, err = br.ReadSlice('\n')
	}
	if err != nil && !errors.Is(err, io.EOF) {
		return "", false, err
	}
	f := strings.Fields(string(line))
	if len(f) >= 2 {
		sender = f[1]
		if sender == "MAILER-DAEMON" {
			sender = ""
		}
	}
	return sender, true, nil
}

// CRLF returns a reader that turns bare LF line ends into CRLF, as the
// LMTP client's dot-encoder does, so a message piped in with Unix line
// ends is stored the same way whichever path delivers it (RFC 5322
// §2.1: lines end in CRLF).
func CRLF(r io.Reader) io.Reader { return &crlfReader{r: r} }

type crlfReader struct {
	r      io.Reader
	buf    []byte
	obuf   []byte
	out    []byte
	prevCR bool
	err    error
}

func (c *crlfReader) Read(p []byte) (int, error) {
	for len(c.out) == 0 {
		if c.err != nil {
			return 0, c.err
		}
		if c.buf == nil {
			c.buf = make([]byte, 16<<10)
		}
		n, err := c.r.Read(c.buf)
		c.err = err
		in := c.buf[:n]
		if bytes.IndexByte(in, '\n') < 0 {
			c.out = in
			if n > 0 {
				c.prevCR = in[n-1] == '\r'
			}
			continue
		}
		out := c.obuf[:0]
		for _, b := range in {
			if b == '\n' && !c.prevCR {
				out = append(out, '\r')
			}
			out = append(out, b)
			c.prevCR = b == '\r'
		}
		c.obuf, c.out = out, out
	}
	n := copy(p, c.out)
	c.out = c.out[n:]
	return n, nil
}
