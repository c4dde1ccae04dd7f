package filter

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"barid/internal/sieve"
	"barid/internal/store"
)

// notify builds the message of a mailto notification (RFC 5435, RFC
// 5436 §2.7). It goes through the outbox like redirect and vacation.
// None is sent for a message with Auto-Submitted other than "no" (which
// includes our own notifications, "auto-notified"), so two scripts that
// notify each other do not loop.
func (f *Filter) notify(rc Recipient, env *sieve.Env, msg *message, n sieve.Notify, log *slog.Logger) *store.OutgoingMail {
	if ok, why := sieve.ShouldNotify(env); !ok {
		log.Info("sieve: notification not sent", "method", n.Method, "reason", why)
		return nil
	}
	if n.Mailto == nil || len(n.Mailto.Recipients) == 0 {
		return nil
	}
	owner := strings.Trim(rc.Rcpt, "<> ")
	// RFC 5436 §2.7: From (and the envelope sender) is :from when it is
	// valid, else the envelope recipient. RFC 5435 §3.3 asks for a
	// restriction against forgery: :from must be one of the user's own
	// addresses, or it is ignored.
	from := owner
	if n.From != "" {
		if a, ok := ownAddress(n.From, env.UserAddresses); ok {
			from = a
		} else {
			log.Info("sieve: notify :from is not one of the user's addresses; ignored", "from", n.From)
		}
	}
	envFrom := from
	if strings.Trim(rc.From, "<> ") == "" {
		// RFC 5436 §2.7: a triggering message with an empty envelope
		// sender makes a notification with an empty one
		envFrom = ""
	}
	u := n.Mailto
	subject := n.Message
	switch {
	case subject != "":
	case u.Subject != "":
		subject = u.Subject
	default:
		// RFC 5436 §2.7: the subject of the triggering message
		subject = decodeHeader(firstHeader(msg, "Subject"))
	}
	now := f.now()
	var b bytes.Buffer
	hdr := func(k, v string) { fmt.Fprintf(&b, "%s: %s\r\n", k, v) }
	// RFC 5436 §2.7.1: first, with the owner's address
	hdr("Auto-Submitted", `auto-notified; owner-email="`+owner+`"`)
	hdr("From", angle(from))
	var to, cc, rcpts []string
	for _, r := range u.Recipients {
		if r.Field == "cc" {
			cc = append(cc, "<"+r.Address+">")
		} else {
			to = append(to, "<"+r.Address+">")
		}
		rcpts = append(rcpts, r.Address)
	}
	if len(to) > 0 {
		hdr("To", strings.Join(to, ", "))
	}
	if len(cc) > 0 {
		hdr("Cc", strings.Join(cc, ", "))
	}
	hdr("Subject", encodeSubject(subject))
	hdr("Date", now.Format(time.RFC1123Z))
	hdr("Message-ID", f.messageID())
	if id := firstHeader(msg, "Message-ID"); id != "" {
		hdr("References", id) // RFC 5436 §2.7: MAY
	}
	// RFC 5436 §2.4: :importance may set a priority field; the values
	// Pigeonhole writes
	switch n.Importance {
	case 1:
		hdr("X-Priority", "1 (Highest)")
		hdr("Importance", "High")
	case 3:
		hdr("X-Priority", "5 (Lowest)")
		hdr("Importance", "Low")
	default:
		hdr("X-Priority", "3 (Normal)")
		hdr("Importance", "Normal")
	}
	for _, h := range u.Headers {
		// RFC 5436 §2.7: other URI header fields, first letter upper case
		name := strings.ToUpper(h[0][:1]) + h[0][1:]
		hdr(name, encodeSubject(h[1]))
	}
	hdr("MIME-Version", "1.0")
	hdr("Content-Type", "text/plain; charset=utf-8")
	hdr("Content-Transfer-Encoding", "8bit")
	b.WriteString("\r\n")
	if u.HasBody {
		b.WriteString(crlf(u.Body))
		if !bytes.HasSuffix(b.Bytes(), []byte("\r\n")) {
			b.WriteString("\r\n")
		}
	}
	// RFC 5435 §8: every notification is logged.
	log.Info("sieve: notification queued", "method", "mailto", "to", rcpts, "importance", n.Importance)
	return &store.OutgoingMail{AccountID: rc.Account.ID, Kind: "notify", From: envFrom, To: rcpts,
		Data: b.Bytes(), NextTry: now}
}

// ownAddress gives the address of a when it is one of own (compared
// without case and without a +detail), else false.
func ownAddress(a string, own []string) (string, bool) {
	addr := strings.Trim(strings.TrimSpace(a), "<>")
	if k := strings.LastIndex(addr, "<"); k >= 0 {
		addr = strings.TrimSuffix(addr[k+1:], ">")
	}
	for _, o := range own {
		if sameUser(addr, strings.Trim(o, "<> ")) {
			return addr, true
		}
	}
	return "", false
}

func sameUser(a, b string) bool {
	al, ad, ok1 := strings.Cut(a, "@")
	bl, bd, ok2 := strings.Cut(b, "@")
	if !ok1 || !ok2 || !strings.EqualFold(ad, bd) {
		return false
	}
	al, _, _ = strings.Cut(al, "+")
	bl, _, _ = strings.Cut(bl, "+")
	return strings.EqualFold(al, bl)
}
