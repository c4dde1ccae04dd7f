package filter

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"mime"
	"strings"
	"time"

	"barid/internal/deliver"
	"barid/internal/mail/header"
	"barid/internal/sieve"
	"barid/internal/store"
)

// redirect builds the outgoing copy of a redirect (RFC 5228 §4.2): the
// message as received, with "Delivered-To: <recipient>" on top, sent
// with the original envelope sender. Loops are cut two ways: a message
// that already carries our Delivered-To line for this recipient has
// been here before and is not redirected again, and one message
// (Message-ID) is redirected to one address once per RedirectPeriod.
func (f *Filter) redirect(ctx context.Context, rc Recipient, msg *message, p *deliver.Prepared, a sieve.Redirect, log *slog.Logger) (*store.OutgoingMail, error) {
	to := strings.Trim(a.Address, "<> ")
	me := strings.Trim(rc.Rcpt, "<> ")
	// LMTP's own trace (Return-Path, then Delivered-To for a single
	// recipient, as Dovecot writes it) names this recipient once; any
	// other Delivered-To for it, or one for the target, is a loop.
	allowed := 0
	first, rest, _ := strings.Cut(string(p.Header), "\r\n")
	if strings.HasPrefix(strings.ToLower(first), "return-path:") {
		first, _, _ = strings.Cut(rest, "\r\n")
	}
	if strings.EqualFold(first, "Delivered-To: "+me) {
		allowed = 1
	}
	mine := 0
	for _, dt := range msg.Header("Delivered-To") {
		v := strings.Trim(strings.TrimSpace(dt), "<>")
		if strings.EqualFold(v, me) {
			mine++
		}
		if strings.EqualFold(v, to) || mine > allowed {
			log.Warn("sieve: redirect loop (Delivered-To already names this address); not redirected", "to", to)
			return nil, nil
		}
	}
	if strings.EqualFold(to, me) || strings.EqualFold(to, rc.Account.Name) {
		log.Warn("sieve: redirect to the recipient itself; not redirected", "to", to)
		return nil, nil
	}
	if id := firstHeader(msg, "Message-ID"); id != "" {
		period := f.RedirectPeriod
		if period <= 0 {
			period = 12 * time.Hour
		}
		now := f.now()
		done, err := f.Scripts.Store.MarkVacation(ctx, rc.Account.ID, "redirect\n"+strings.ToLower(to)+"\n"+id, now, now.Add(period))
		if err != nil {
			return nil, err
		}
		if done {
			log.Info("sieve: message already redirected to this address; not again", "to", to, "message-id", id)
			return nil, nil
		}
	}
	raw := a.Message // as replace left it (RFC 5703 §5)
	if raw == nil {
		var err error
		if raw, err = msg.Raw(); err != nil {
			return nil, err
		}
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "Delivered-To: %s\r\n", me)
	b.Write(raw)
	return &store.OutgoingMail{AccountID: rc.Account.ID, Kind: "redirect", From: strings.Trim(rc.From, "<>"),
		To: []string{to}, Data: b.Bytes(), NextTry: f.now()}, nil
}

// vacation decides and builds an RFC 5230 reply: never to lists, bulk
// or auto-submitted mail, a null sender or the user's own addresses
// (sieve.ShouldAutoReplyFor), and once per sender and handle within the
// period, clamped to [VacationMin, VacationMax] (RFC 6131 §2).
func (f *Filter) vacation(ctx context.Context, rc Recipient, env *sieve.Env, msg *message, v sieve.Vacation, log *slog.Logger) *store.OutgoingMail {
	if ok, why := sieve.ShouldAutoReplyFor(env, &v); !ok {
		log.Info("sieve: vacation not sent", "reason", why)
		return nil
	}
	sender := strings.ToLower(strings.Trim(rc.From, "<> "))
	period := v.Period
	if period < f.VacationMin {
		period = f.VacationMin
	}
	if f.VacationMax > 0 && period > f.VacationMax {
		period = f.VacationMax
	}
	now := f.now()
	answered, err := f.Scripts.Store.MarkVacation(ctx, rc.Account.ID, "vacation\n"+v.Handle+"\n"+sender, now, now.Add(period))
	if err != nil {
		log.Error("sieve: vacation memory failed; reply not sent", "err", err)
		return nil
	}
	if answered {
		log.Info("sieve: vacation already sent to this sender within the period", "to", sender)
		return nil
	}
	from := v.From
	if from == "" {
		from = replyFrom(msg, append(env.UserAddresses, v.Addresses...), strings.Trim(rc.Rcpt, "<> "))
	}
	subject := v.Subject
	if subject == "" {
		// RFC 5230 §4.7: "Auto: " and the original subject.
		subject = "Auto: " + decodeHeader(firstHeader(msg, "Subject"))
	}
	var b bytes.Buffer
	hdr := func(k, v string) { fmt.Fprintf(&b, "%s: %s\r\n", k, v) }
	hdr("From", angle(from))
	hdr("To", replyTo(msg, sender))
	hdr("Subject", encodeSubject(subject))
	hdr("Date", now.Format(time.RFC1123Z))
	hdr("Message-ID", f.messageID())
	if id := firstHeader(msg, "Message-ID"); id != "" {
		// RFC 5230 §5.8
		hdr("In-Reply-To", id)
		refs := strings.TrimSpace(firstHeader(msg, "References"))
		if refs != "" {
			refs += " "
		}
		hdr("References", refs+id)
	}
	hdr("Auto-Submitted", "auto-replied (vacation)") // RFC 3834 §5, RFC 5230 §5.4
	hdr("Precedence", "bulk")
	// As Pigeonhole: Exchange's clients do not answer this reply.
	hdr("X-Auto-Response-Suppress", "All")
	hdr("MIME-Version", "1.0")
	if v.Mime {
		// RFC 5230 §4.8: the reason is a MIME part, headers included.
		b.WriteString(crlf(v.Reason))
	} else {
		hdr("Content-Type", "text/plain; charset=utf-8")
		hdr("Content-Transfer-Encoding", "8bit")
		b.WriteString("\r\n")
		b.WriteString(crlf(v.Reason))
	}
	if !bytes.HasSuffix(b.Bytes(), []byte("\r\n")) {
		b.WriteString("\r\n")
	}
	// RFC 5230 §5.1: the reply goes out with the null sender.
	return &store.OutgoingMail{AccountID: rc.Account.ID, Kind: "vacation", From: "", To: []string{sender},
		Data: b.Bytes(), NextTry: now}
}

// rejectMDN builds the refusal that reject sends to the envelope sender
// (RFC 5429 §2.2, §6: an MDN, RFC 8098, with the human reason, the
// disposition "deleted" and the original header), with the null
// sender. No MDN answers a null sender.
func (f *Filter) rejectMDN(rc Recipient, msg *message, reason string) *store.OutgoingMail {
	sender := strings.Trim(rc.From, "<> ")
	if sender == "" {
		return nil
	}
	rcpt := strings.Trim(rc.Rcpt, "<> ")
	boundary := "barid-mdn-" + randHex(8)
	now := f.now()
	var b bytes.Buffer
	hdr := func(k, v string) { fmt.Fprintf(&b, "%s: %s\r\n", k, v) }
	// As Dovecot's postmaster_address default, postmaster@ the
	// recipient's domain.
	domain := f.hostname()
	if _, d, ok := strings.Cut(rcpt, "@"); ok && d != "" {
		domain = d
	}
	hdr("From", "Postmaster <postmaster@"+domain+">")
	hdr("To", "<"+sender+">")
	// Dovecot's rejection_subject default, "Rejected: %s".
	subject := "Rejected: " + decodeHeader(firstHeader(msg, "Subject"))
	if firstHeader(msg, "Subject") == "" {
		subject = "Automatically rejected mail"
	}
	hdr("Subject", encodeSubject(subject))
	hdr("Date", now.Format(time.RFC1123Z))
	hdr("Message-ID", f.messageID())
	hdr("Auto-Submitted", "auto-replied (rejected)")
	hdr("Precedence", "bulk")
	hdr("MIME-Version", "1.0")
	hdr("Content-Type", `multipart/report; report-type=disposition-notification; boundary="`+boundary+`"`)
	b.WriteString("\r\nThis is a MIME-encapsulated message.\r\n\r\n--" + boundary + "\r\n")
	b.WriteString("Content-Type: text/plain; charset=utf-8\r\nContent-Disposition: inline\r\nContent-Transfer-Encoding: 8bit\r\n\r\n")
	fmt.Fprintf(&b, "Your message to <%s> was automatically rejected:\r\n%s\r\n", rcpt, crlf(reason))
	b.WriteString("\r\n--" + boundary + "\r\nContent-Type: message/disposition-notification\r\n\r\n")
	fmt.Fprintf(&b, "Reporting-UA: %s; barid\r\nFinal-Recipient: rfc822; %s\r\n", f.hostname(), rcpt)
	if id := firstHeader(msg, "Message-ID"); id != "" {
		fmt.Fprintf(&b, "Original-Message-ID: %s\r\n", id)
	}
	b.WriteString("Disposition: automatic-action/MDN-sent-automatically; deleted\r\n")
	// The original header as a message/rfc822 part without its body,
	// as Dovecot's rejection carries it.
	b.WriteString("\r\n--" + boundary + "\r\nContent-Type: message/rfc822\r\n\r\n")
	if raw, err := msg.Raw(); err == nil {
		b.Write(raw[:headerLen(raw)])
	}
	b.WriteString("\r\n--" + boundary + "--\r\n")
	return &store.OutgoingMail{AccountID: rc.Account.ID, Kind: "reject", From: "", To: []string{sender},
		Data: b.Bytes(), NextTry: now}
}

func (f *Filter) hostname() string {
	if f.Hostname == "" {
		return "localhost"
	}
	return f.Hostname
}

func (f *Filter) messageID() string {
	return "<" + randHex(12) + "@" + f.hostname() + ">"
}

func randHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func firstHeader(m sieve.Message, name string) string {
	if v := m.Header(name); len(v) > 0 {
		return strings.TrimSpace(v[0])
	}
	return ""
}

func decodeHeader(s string) string {
	d, err := new(mime.WordDecoder).DecodeHeader(s)
	if err != nil {
		return s
	}
	return d
}

// crlf makes every line end CRLF.
func crlf(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	return strings.ReplaceAll(s, "\n", "\r\n")
}

// headerLen is the length of the header block, blank line included.
func headerLen(raw []byte) int {
	if i := bytes.Index(raw, []byte("\r\n\r\n")); i >= 0 {
		return i + 4
	}
	if i := bytes.Index(raw, []byte("\n\n")); i >= 0 {
		return i + 2
	}
	return len(raw)
}

// encodeSubject leaves ASCII as it is and encodes anything else as an
// RFC 2047 word.
func encodeSubject(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 || (s[i] < 0x20 && s[i] != '\t') {
			return mime.QEncoding.Encode("utf-8", s)
		}
	}
	return s
}

// angle puts a bare address in angle brackets; a name-addr stays.
func angle(a string) string {
	if strings.ContainsAny(a, "<>") {
		return a
	}
	return "<" + a + ">"
}

// replyFrom is the vacation reply's From without :from, as Pigeonhole
// picks it: the first of the user's addresses (the account, the
// recipient, :addresses) that the message names in To, Cc, Bcc or
// Resent-*, else the envelope recipient.
func replyFrom(m sieve.Message, own []string, rcpt string) string {
	for _, h := range []string{"To", "Cc", "Bcc", "Resent-To", "Resent-Cc", "Resent-Bcc"} {
		for _, val := range m.Header(h) {
			for _, a := range header.ParseAddressList(val) {
				if a.GroupStart || a.GroupEnd || a.Invalid {
					continue
				}
				for _, o := range own {
					if strings.EqualFold(a.Addr(), strings.Trim(o, "<> ")) {
						return "<" + a.Addr() + ">"
					}
				}
			}
		}
	}
	return "<" + rcpt + ">"
}

// replyTo is the vacation reply's To: the message's From when it names
// the envelope sender (with its display name, as Pigeonhole writes it),
// else the envelope sender.
func replyTo(m sieve.Message, sender string) string {
	if f := firstHeader(m, "From"); f != "" {
		as := header.ParseAddressList(f)
		if len(as) == 1 && !as[0].Invalid && strings.EqualFold(as[0].Addr(), sender) {
			return f
		}
	}
	return "<" + sender + ">"
}
