package sieve

import (
	"strings"
	"time"

	"barid/internal/mail/header"
)

// vacation (RFC 5230) with :seconds (RFC 6131).

// DefaultVacationPeriod is the period when neither :days nor :seconds is
// given (RFC 5230 §4.1 leaves it to the site; Pigeonhole uses 7 days).
const DefaultVacationPeriod = 7 * 24 * time.Hour

func (i *interp) vacation(n *node) {
	for _, a := range i.actions {
		if _, ok := a.(Vacation); ok {
			// RFC 5230 §4.7
			i.fail(n, ErrActionConflict, "duplicate vacation action not allowed")
		}
		if _, ok := a.(Reject); ok {
			i.fail(n, ErrActionConflict, "vacation action conflicts with reject/ereject")
		}
	}
	v := Vacation{Period: DefaultVacationPeriod, Reason: i.str(n.pos[0].strs[0])}
	if p := n.tags["days"]; p != nil {
		v.Period = time.Duration(p.num) * 24 * time.Hour
	}
	if p := n.tags["seconds"]; p != nil {
		v.Period = time.Duration(p.num) * time.Second
	}
	var hasSubject bool
	v.Subject, hasSubject = i.tagStr(n, "subject")
	if !hasSubject {
		// RFC 5230 §4.5 suggests "Auto: " and the original subject;
		// without one Pigeonhole says "Automated reply"
		if hs := i.msgHeader("Subject"); len(hs) > 0 {
			v.Subject = "Auto: " + header.DecodeWords(strings.TrimSpace(hs[0]))
		} else {
			v.Subject = "Automated reply"
		}
	}
	v.From, _ = i.tagStr(n, "from")
	if v.From != "" {
		if _, ok := parseMailbox(v.From); !ok {
			i.fail(n, nil, "vacation :from is not a valid address: %s", v.From)
		}
	}
	v.Addresses = i.strs(n.tags["addresses"])
	_, v.Mime = n.tags["mime"]
	if h, ok := i.tagStr(n, "handle"); ok {
		v.Handle = h
	} else {
		// RFC 5230 §4.2: without :handle, a handle derived from the
		// arguments, so that a changed text is a new reply; built as
		// Pigeonhole builds it
		subj, from, mime := "<default-subject>", "<default-from>", "<NO-MIME>"
		if hasSubject {
			subj = v.Subject
		}
		if v.From != "" {
			from = v.From
		}
		if v.Mime {
			mime = "<MIME>"
		}
		v.Handle = v.Reason + subj + from + mime
	}
	i.addAction(n, v)
}

// ShouldAutoReply applies RFC 5230 §4.5-4.6 and RFC 3834 §2 to the
// message: it says false, with a reason, for a null sender, a sender
// that is one of the user's addresses or a system address
// (MAILER-DAEMON, LISTSERV, majordomo, owner-*, *-request), mail with
// Auto-Submitted other than "no", Precedence bulk/list/junk, list
// headers (RFC 2369, RFC 2919), and mail whose To/Cc/Bcc/Resent-* do not
// name the user (the envelope recipient or UserAddresses). The caller
// still applies the per-sender period.
func ShouldAutoReply(env *Env) (bool, string) {
	return ShouldAutoReplyFor(env, nil)
}

// ShouldAutoReplyFor is ShouldAutoReply with the vacation's :addresses
// counted as the user's.
func ShouldAutoReplyFor(env *Env, v *Vacation) (bool, string) {
	sender := strings.Trim(strings.TrimSpace(env.Envelope.From), "<>")
	if sender == "" {
		return false, "null envelope sender"
	}
	own := ownAddresses(env, v)
	if isOwn(own, sender) {
		return false, "sender is one of the user's addresses"
	}
	local, _ := splitAddr(strings.ToLower(sender))
	switch {
	case local == "mailer-daemon", local == "listserv", local == "majordomo",
		strings.HasPrefix(local, "owner-"), strings.Contains(local, "-request"):
		// the system addresses Pigeonhole does not answer
		return false, "sender is a system address"
	}
	m := env.Msg
	for _, as := range m.Header("Auto-Submitted") {
		if v := strings.ToLower(strings.TrimSpace(strings.SplitN(as, ";", 2)[0])); v != "" && v != "no" {
			// RFC 3834 §2
			return false, "message is auto-submitted"
		}
	}
	for _, p := range m.Header("Precedence") {
		switch strings.ToLower(strings.TrimSpace(p)) {
		case "bulk", "list", "junk":
			return false, "message has Precedence: " + strings.TrimSpace(p)
		}
	}
	for _, v := range m.Header("X-Auto-Response-Suppress") {
		// Microsoft's header, honoured by Pigeonhole
		for _, f := range strings.Split(v, ",") {
			if f = strings.TrimSpace(f); strings.EqualFold(f, "All") || strings.EqualFold(f, "OOF") {
				return false, "X-Auto-Response-Suppress: " + f
			}
		}
	}
	for _, h := range []string{"List-Id", "List-Help", "List-Subscribe", "List-Unsubscribe", "List-Post", "List-Owner", "List-Archive"} {
		if len(m.Header(h)) > 0 {
			return false, "message is from a mailing list (" + h + ")"
		}
	}
	// RFC 5230 §4.5: reply only when the user is a visible recipient
	for _, h := range []string{"To", "Cc", "Bcc", "Resent-To", "Resent-Cc", "Resent-Bcc"} {
		for _, val := range m.Header(h) {
			for _, a := range header.ParseAddressList(val) {
				if a.GroupStart || a.GroupEnd || a.Invalid {
					continue
				}
				if isOwn(own, a.Addr()) {
					return true, ""
				}
			}
		}
	}
	return false, "the user is not among the message's recipients"
}

func ownAddresses(env *Env, v *Vacation) []string {
	own := append([]string{}, env.UserAddresses...)
	for _, a := range []string{env.Envelope.To, env.Envelope.OrigTo} {
		if a != "" {
			own = append(own, strings.Trim(a, "<>"))
		}
	}
	if v != nil {
		own = append(own, v.Addresses...)
	}
	return own
}

// isOwn compares addresses case-insensitively, also without a +detail.
func isOwn(own []string, addr string) bool {
	al, ad := splitAddr(strings.ToLower(addr))
	for _, o := range own {
		ol, od := splitAddr(strings.ToLower(strings.TrimSpace(o)))
		if od != ad {
			continue
		}
		if ol == al || stripDetail(ol) == stripDetail(al) {
			return true
		}
	}
	return false
}

func stripDetail(l string) string {
	if k := strings.Index(l, subaddressSep); k >= 0 {
		return l[:k]
	}
	return l
}
