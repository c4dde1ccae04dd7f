package filter_test

import (
	"context"
	"io"
	"net/mail"
	"slices"
	"strings"
	"testing"
	"time"

	"barid/internal/store"
)

// raw reads the stored bytes of every message of a mailbox, in UID order.
func (s *server) raw(user, mailbox string) []string {
	t := s.T
	t.Helper()
	ctx := context.Background()
	st := s.Store()
	a, err := st.Account(ctx, user)
	if err != nil {
		t.Fatal(err)
	}
	mb, err := st.Mailbox(ctx, a.ID, mailbox)
	if err != nil {
		t.Fatalf("%s: %v", mailbox, err)
	}
	_, uids, err := st.MessageUIDs(ctx, mb.ID)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	err = st.FetchMessages(ctx, mb.ID, uids, store.FieldBasics, func(m *store.Message) error {
		r, err := s.App.Data().Blobs.Open(ctx, m.BlobID)
		if err != nil {
			return err
		}
		defer r.Close()
		b, err := io.ReadAll(io.NewSectionReader(r, 0, r.Size()))
		out = append(out, string(b))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

const notifyRules = `require ["enotify", "variables", "replace", "enclose", "foreverypart", "mime", "fileinto", "mailbox"];
if header :matches "subject" "*" { set "s" "${1}"; }
if header :contains "subject" "notify" {
  notify :importance "1" :message "Mail: ${s}" "mailto:pager@remote.example?x-note=from%20sieve";
}
if header :contains "subject" "attachment" {
  foreverypart {
    if header :mime :type "Content-Type" "application" {
      replace "Attachment removed by the filter.";
    }
  }
  fileinto :create "Cleaned";
}
if header :contains "subject" "wrap" {
  enclose :subject "Wrapped: ${s}" :headers ["message-id", "to"] "See the enclosed message.";
}
`

// TestDeliveryNotifyReplace: over LMTP, a notify (RFC 5435/5436) goes
// through the outbox to the SMTP sink with Auto-Submitted:
// auto-notified and the script owner as sender (none for an
// auto-submitted message; a null sender gets a null-sender
// notification); replace (RFC 5703 §5) inside foreverypart stores the
// message without its attachment; enclose (§6) stores the wrapper.
func TestDeliveryNotifyReplace(t *testing.T) {
	s := startSieve(t, t.TempDir(), nil)
	s.AddUser("alice@example.org", "pw")
	s.putScript("alice@example.org", "pw", "rules", notifyRules)
	to := []string{"alice@example.org"}

	// auto-submitted mail triggers no notification (RFC 5436 §2.7),
	// but is delivered
	if r := s.lmtpSend("carol@example.net", to, msg("carol@example.net", "alice@example.org", "notify auto", "Auto-Submitted: auto-replied")); !strings.HasPrefix(r[0], "250") {
		t.Fatalf("auto-submitted: %q", r)
	}
	if r := s.lmtpSend("carol@example.net", to, msg("carol@example.net", "alice@example.org", "please notify me")); !strings.HasPrefix(r[0], "250") {
		t.Fatalf("notify: %q", r)
	}
	m := s.sink.WaitMessages(t, 1)[0]
	pm, err := mail.ReadMessage(strings.NewReader(string(m.Data)))
	if err != nil {
		t.Fatal(err)
	}
	if m.From != "alice@example.org" || !slices.Equal(m.Rcpts, []string{"pager@remote.example"}) ||
		!strings.HasPrefix(string(m.Data), `Auto-Submitted: auto-notified; owner-email="alice@example.org"`+"\r\n") ||
		pm.Header.Get("Subject") != "Mail: please notify me" || pm.Header.Get("To") != "<pager@remote.example>" ||
		pm.Header.Get("From") != "<alice@example.org>" || pm.Header.Get("X-Priority") != "1 (Highest)" ||
		pm.Header.Get("X-note") != "from sieve" || pm.Header.Get("References") != "<please.notify.me@example.net>" {
		t.Fatalf("notification: from %q to %q\n%s", m.From, m.Rcpts, m.Data)
	}
	// notify keeps the implicit keep (RFC 5435 §7)
	if got := s.box("alice@example.org", "INBOX"); !slices.Equal(got, []string{"notify auto []", "please notify me []"}) {
		t.Fatalf("INBOX: %q", got)
	}
	// a bounce (null sender) notifies with a null sender (RFC 5436 §2.7)
	s.lmtpSend("", to, msg("mailer-daemon@example.net", "alice@example.org", "notify bounce"))
	ms := s.sink.WaitMessages(t, 2)
	if ms[1].From != "" || !strings.Contains(string(ms[1].Data), "Subject: Mail: notify bounce\r\n") {
		t.Fatalf("notification of a bounce: from %q\n%s", ms[1].From, ms[1].Data)
	}
	// our own notification coming back is auto-submitted: no loop
	s.lmtpSend("alice@example.org", to, "Return-Path: <alice@example.org>\n"+strings.ReplaceAll(string(m.Data), "\r\n", "\n"))
	time.Sleep(300 * time.Millisecond)
	if n := len(s.sink.Messages()); n != 2 {
		t.Fatalf("%d notifications; the auto-submitted ones made some", n)
	}

	// replace inside foreverypart: the attachment is gone from the copy
	// stored in Cleaned, the rest of the message is as it came
	att := "From: carol@example.net\nTo: alice@example.org\nSubject: attachment inside\nMessage-ID: <att@example.net>\n" +
		"MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"b1\"\n\n" +
		"--b1\nContent-Type: text/plain\n\nHere is the file.\n" +
		"--b1\nContent-Type: application/octet-stream; name=\"x.bin\"\nContent-Transfer-Encoding: base64\n\nAAECAwQFBgcICQ==\n" +
		"--b1--\n"
	if r := s.lmtpSend("carol@example.net", to, att); !strings.HasPrefix(r[0], "250") {
		t.Fatalf("attachment: %q", r)
	}
	got := s.raw("alice@example.org", "Cleaned")
	if len(got) != 1 || strings.Contains(got[0], "AAECAwQF") || strings.Contains(got[0], "application/octet-stream") ||
		!strings.Contains(got[0], "\r\n--b1\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\nAttachment removed by the filter.\r\n--b1--\r\n") ||
		!strings.Contains(got[0], "Here is the file.") || !strings.Contains(got[0], "Subject: attachment inside\r\n") {
		t.Fatalf("Cleaned: %q", got)
	}
	if got := s.box("alice@example.org", "Cleaned"); !slices.Equal(got, []string{"attachment inside []"}) {
		t.Fatalf("Cleaned (index): %q", got)
	}

	// enclose: INBOX gets the wrapper, with the original inside
	orig := msg("carol@example.net", "alice@example.org", "wrap this")
	s.lmtpSend("carol@example.net", to, orig)
	inbox := s.raw("alice@example.org", "INBOX")
	last := inbox[len(inbox)-1]
	wm, err := mail.ReadMessage(strings.NewReader(last))
	if err != nil {
		t.Fatal(err)
	}
	if wm.Header.Get("Subject") != "Wrapped: wrap this" || wm.Header.Get("Message-Id") != "<wrap.this@example.net>" ||
		!strings.HasPrefix(wm.Header.Get("Content-Type"), "multipart/mixed; boundary=") ||
		!strings.Contains(last, "See the enclosed message.") ||
		!strings.Contains(last, "Content-Type: message/rfc822\r\n\r\n") || !strings.Contains(last, "\r\nbody of wrap this\r\n") {
		t.Fatalf("enclosed message:\n%s", last)
	}
	// (the index keeps subjects in lower case)
	if got := s.box("alice@example.org", "INBOX"); got[len(got)-1] != "wrapped: wrap this []" {
		t.Fatalf("INBOX after enclose: %q", got)
	}
}
