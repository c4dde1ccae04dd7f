package sieve

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
)

// enotify (RFC 5435) with the mailto method (RFC 5436), and ihave
// (RFC 5463).

// Notify is a notification request (RFC 5435 §3). Only the mailto method
// (RFC 5436) exists; Mailto is its parsed URI, with the recipients
// already notified by an earlier notify of the same run removed (as
// Pigeonhole). It does not cancel the implicit keep (RFC 5435 §7). The
// caller decides whether to send it (ShouldNotify, RFC 5436 §2.7).
type Notify struct {
	Method     string // the URI as given
	From       string // :from, "" when absent or not a valid address
	Importance int    // :importance, 1 (high) to 3 (low); 2 by default
	Options    []string
	Message    string // :message, "" when absent
	Mailto     *MailtoURI
}

func (Notify) isAction() {}

// MailtoURI is a mailto URI (RFC 6068) as RFC 5436 §2.7 uses it.
type MailtoURI struct {
	// Recipients in URI order: the path and the "to" and "cc" fields.
	Recipients []MailtoRecipient
	Subject    string // the "subject" field ("" if none)
	Body       string // the "body" field
	HasBody    bool
	// Headers are the other fields, names as written. The fields RFC
	// 5436 §2.7 calls unsafe or reserved are dropped (mailtoIgnored).
	Headers [][2]string
}

// MailtoRecipient is one recipient and the field that names it ("to" or
// "cc").
type MailtoRecipient struct {
	Field   string
	Address string
}

// NotifyMethods are the notification URI schemes supported (RFC 5804
// §1.7 NOTIFY capability).
func NotifyMethods() []string { return []string{"mailto"} }

// MaxMailtoHeaders bounds the header fields one mailto URI may carry
// (Pigeonhole's limit).
const MaxMailtoHeaders = 16

// mailtoIgnored are the URI header fields that RFC 5436 §2.7 says must be
// ignored ("from", "auto-submitted", "received", and those of the
// message itself such as Message-ID and Date), and others that would let
// a script change the notification's envelope or structure.
var mailtoIgnored = map[string]bool{
	"from": true, "sender": true, "auto-submitted": true, "received": true,
	"message-id": true, "date": true, "return-path": true, "bcc": true,
	"mime-version": true, "content-type": true, "content-transfer-encoding": true,
	"in-reply-to": true, "references": true, "delivered-to": true,
	"resent-date": true, "resent-from": true, "resent-sender": true,
	"resent-to": true, "resent-cc": true, "resent-bcc": true, "resent-message-id": true,
}

// ParseMailto parses a mailto URI (RFC 6068 §2): addresses in the path,
// separated by commas (percent-encoded or not), then "?" and
// "name=value" fields separated by "&". It checks that every address is
// valid and that field names are valid header names. A URI without
// recipients is valid (RFC 6068 §2 allows "mailto:?to=..."); the caller
// decides what no recipient means.
func ParseMailto(uri string) (*MailtoURI, error) {
	scheme, rest, ok := strings.Cut(uri, ":")
	if !ok || !strings.EqualFold(scheme, "mailto") {
		return nil, fmt.Errorf("unsupported notification method %q", scheme)
	}
	path, query, _ := strings.Cut(rest, "?")
	if strings.Contains(query, "#") || strings.Contains(path, "#") {
		return nil, fmt.Errorf("mailto URI: fragments are not allowed")
	}
	m := &MailtoURI{}
	addAddrs := func(field, enc string) error {
		dec, err := url.PathUnescape(enc)
		if err != nil {
			return fmt.Errorf("mailto URI: invalid %%-encoding in '%s'", enc)
		}
		for _, a := range strings.Split(dec, ",") {
			a = strings.TrimSpace(a)
			if a == "" {
				continue
			}
			addr, ok := parseMailbox(a)
			if !ok || strings.ContainsAny(a, "<>") {
				// RFC 6068 §2: addr-spec only
				return fmt.Errorf("mailto URI: invalid recipient address '%s'", a)
			}
			m.Recipients = append(m.Recipients, MailtoRecipient{Field: field, Address: addr})
		}
		return nil
	}
	if err := addAddrs("to", path); err != nil {
		return nil, err
	}
	if query == "" {
		return m, nil
	}
	nh := 0
	for _, hf := range strings.Split(query, "&") {
		if hf == "" {
			continue
		}
		name, val, ok := strings.Cut(hf, "=")
		if !ok {
			return nil, fmt.Errorf("mailto URI: header field '%s' has no value", hf)
		}
		dn, err := url.PathUnescape(name)
		if err != nil || !validFieldName(dn) {
			return nil, fmt.Errorf("mailto URI: invalid header field name '%s'", name)
		}
		dv, err := url.PathUnescape(val)
		if err != nil {
			return nil, fmt.Errorf("mailto URI: invalid %%-encoding in the value of '%s'", dn)
		}
		nh++
		if nh > MaxMailtoHeaders {
			return nil, fmt.Errorf("mailto URI: more than %d header fields", MaxMailtoHeaders)
		}
		switch ln := strings.ToLower(dn); {
		case ln == "to" || ln == "cc":
			if err := addAddrs(ln, val); err != nil {
				return nil, err
			}
		case ln == "subject":
			m.Subject = dv
		case ln == "body":
			m.Body, m.HasBody = dv, true
		case mailtoIgnored[ln]:
		default:
			if strings.ContainsAny(dv, "\r\n\x00") {
				return nil, fmt.Errorf("mailto URI: the value of '%s' holds a line break", dn)
			}
			m.Headers = append(m.Headers, [2]string{dn, dv})
		}
	}
	return m, nil
}

// validNotifyMethod checks a notification URI as notify does (RFC 5435
// §4: the same validation).
func validNotifyMethod(uri string) error {
	_, err := ParseMailto(uri)
	return err
}

// validOption: RFC 5435 §3.5: "<optionname>=<value>", optionname =
// l-d *l-d-p.
func validOption(o string) bool {
	name, _, ok := strings.Cut(o, "=")
	if !ok || name == "" {
		return false
	}
	for k := 0; k < len(name); k++ {
		c := name[k]
		alnum := isAlpha(c) && c != '_' || isDigit(c)
		if !alnum && (k == 0 || c != '.' && c != '-' && c != '_') {
			return false
		}
	}
	return true
}

// checkNotify is the compile-time check of notify's literal arguments
// (RFC 5435 §3.2-3.5).
func (c *compiler) checkNotify(n *node) {
	lit := func(s string) bool { return !strings.Contains(s, "${") || !c.exts["variables"] }
	if m := n.pos[0].strs[0]; lit(m) {
		if err := validNotifyMethod(m); err != nil {
			c.errf(n.line, n.col, "notify: %v", err)
		}
	}
	if p := n.tags["importance"]; p != nil && lit(p.strs[0]) {
		if v := p.strs[0]; v != "1" && v != "2" && v != "3" {
			c.errf(p.line, p.col, "notify: :importance must be \"1\", \"2\" or \"3\", not \"%s\"", v)
		}
	}
	if p := n.tags["from"]; p != nil && lit(p.strs[0]) {
		if _, ok := parseMailbox(p.strs[0]); !ok {
			c.errf(p.line, p.col, "notify: :from is not a valid address: %s", p.strs[0])
		}
	}
	if p := n.tags["options"]; p != nil {
		for _, o := range p.strs {
			if lit(o) && !validOption(o) {
				c.errf(p.line, p.col, "notify: invalid option '%s' (RFC 5435 §3.5: name=value)", o)
			}
		}
	}
}

// notify runs the notify action.
func (i *interp) notify(n *node) {
	method := i.str(n.pos[0].strs[0])
	m, err := ParseMailto(method)
	if err != nil {
		// RFC 5435 §3.2: an unsupported or invalid method is an error
		i.fail(n, nil, "notify: %v", err)
	}
	a := Notify{Method: method, Importance: 2, Mailto: m}
	if v, ok := i.tagStr(n, "importance"); ok {
		switch v {
		case "1", "2", "3":
			a.Importance = int(v[0] - '0')
		default:
			i.fail(n, nil, "notify: :importance must be 1, 2 or 3, not \"%s\"", v)
		}
	}
	if v, ok := i.tagStr(n, "from"); ok {
		// RFC 5435 §3.3: an unusable :from is ignored, not an error
		if _, ok := parseMailbox(v); ok {
			a.From = v
		}
	}
	a.Message, _ = i.tagStr(n, "message")
	a.Options = i.strs(n.tags["options"])
	// A recipient already notified by this run is not notified again;
	// a notify left without recipients does nothing (Pigeonhole).
	var keep []MailtoRecipient
	for _, r := range m.Recipients {
		dup := slices.ContainsFunc(keep, func(k MailtoRecipient) bool { return sameAddress(k.Address, r.Address) })
		for _, x := range i.actions {
			if o, ok := x.(Notify); ok && slices.ContainsFunc(o.Mailto.Recipients, func(k MailtoRecipient) bool { return sameAddress(k.Address, r.Address) }) {
				dup = true
			}
		}
		if !dup {
			keep = append(keep, r)
		}
	}
	if len(keep) == 0 {
		return
	}
	cp := *m
	cp.Recipients = keep
	a.Mailto = &cp
	i.notified += len(keep)
	if i.notified > i.opts.MaxNotifications {
		i.fail(n, ErrTooManyNotifications, "more than max_notifications (%d) notification recipients", i.opts.MaxNotifications)
	}
	i.addAction(n, a)
}

// notifyMethodCapability: RFC 5435 §5; for mailto, "online" is "maybe"
// (RFC 5436 §2.2). An invalid URI or an unknown capability is false,
// not an error.
func (i *interp) notifyMethodCapability(n *node) bool {
	uri := i.str(n.pos[0].strs[0])
	if validNotifyMethod(uri) != nil {
		return false
	}
	if !strings.EqualFold(i.str(n.pos[1].strs[0]), "online") {
		return false
	}
	return i.match(n, []string{"maybe"}, i.strs(n.pos[2]))
}

// ShouldNotify applies RFC 5436 §2.7: no notification for a message
// whose Auto-Submitted field has a value other than "no" (which also
// covers the notifications this method sends, "auto-notified").
func ShouldNotify(env *Env) (bool, string) {
	for _, v := range env.Msg.Header("Auto-Submitted") {
		tok, _, _ := strings.Cut(strings.TrimSpace(v), ";")
		if !strings.EqualFold(strings.TrimSpace(tok), "no") {
			return false, "the message is auto-submitted (" + strings.TrimSpace(v) + ")"
		}
	}
	return true, ""
}

// encodeURL: RFC 5435 §6: percent-encode every octet outside RFC 3986's
// "unreserved" set.
func encodeURL(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for k := 0; k < len(s); k++ {
		c := s[k]
		if isAlpha(c) || isDigit(c) || c == '-' || c == '.' || c == '~' { // isAlpha includes '_'
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}

// ihave (RFC 5463).

// notIhaveable are capabilities ihave says false for even though they
// are supported: they change how every string of the script is read,
// so they can not be switched on in the middle of one (Pigeonhole
// refuses the same two).
var notIhaveable = map[string]bool{"variables": true, "encoded-character": true}

// ihaveAvailable reports whether a capability can be used through ihave
// (RFC 5463 §4).
func ihaveAvailable(enabled map[string]bool, ext string) bool {
	if notIhaveable[ext] {
		return false
	}
	return enabled[ext] || ext == "comparator-i;octet" || ext == "comparator-i;ascii-casemap"
}

// ihaveUnavailable reports whether the test of an if/elsif is an ihave
// (alone, or inside allof, as Pigeonhole reads it) naming a capability
// that is not available: the block is then not checked (RFC 5463 §4: it
// may use commands this implementation does not know) and never runs.
func (c *compiler) ihaveUnavailable(t *node) bool {
	switch t.name {
	case "ihave":
		if !c.exts["ihave"] || len(t.args) != 1 || t.args[0].kind == aTag || t.args[0].kind == aNum {
			return false
		}
		for _, e := range t.args[0].strs {
			if !ihaveAvailable(c.enabled, e) {
				return true
			}
		}
	case "allof":
		for _, s := range t.tests {
			if c.ihaveUnavailable(s) {
				return true
			}
		}
	}
	return false
}

// ihaveEnable: the capabilities a true ihave names can be used by the
// rest of the script (RFC 5463 §4; Pigeonhole loads them for the whole
// script).
func (c *compiler) ihaveEnable(n *node) {
	for _, e := range n.pos[0].strs {
		if ihaveAvailable(c.enabled, e) {
			c.exts[e] = true
			switch e {
			case "vacation-seconds":
				c.exts["vacation"] = true
			case "spamtestplus":
				c.exts["spamtest"] = true
			}
		}
	}
}

func (i *interp) ihave(n *node) bool {
	for _, e := range n.pos[0].strs {
		if !ihaveAvailable(i.fr.s.enabled, e) {
			return false
		}
	}
	return true
}
