package imapurl

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// URL is a parsed absolute IMAP URL (RFC 5092 §11 "imapurl"). Every
// field is decoded (percent-escapes undone); an absent part is its zero
// value.
type URL struct {
	// Server (RFC 5092 §3, §4): iuserinfo "@" host ":" port.
	User string // enc-user; "" if absent
	Auth string // ";AUTH=" type, "*" for any; "" if absent
	Host string
	Port uint16 // 0: absent

	// Command (RFC 5092 §5, §6). HasCommand is false for a URL that
	// names only a server ("imap://host" or "imap://host/").
	HasCommand  bool
	Mailbox     string // UTF-8 mailbox name
	UIDValidity uint32 // 0: absent
	UID         uint32 // 0: absent (a mailbox or message-list URL)
	Section     string // section-text, e.g. "1.2", "HEADER", "1.MIME"; "" if absent
	Partial     *Partial
	HasSearch   bool
	Search      string // search program after "?"

	// URLAUTH (RFC 4467 §6, RFC 5092 §11 "iurlauth").
	Expire time.Time // ";EXPIRE="; zero if absent
	// Access is the access identifier after ";URLAUTH=" as written
	// ("authuser", "anonymous", "submit+fred", "user+fred"), with the
	// user part decoded; "" if the URL has no ;URLAUTH=.
	Access    string
	Mechanism string // authorization mechanism ("INTERNAL"); "" for a rump URL
	Token     []byte // decoded enc-urlauth; nil for a rump URL
	// Rump is the URL's text up to and including the access identifier
	// (RFC 4467 §6 "URLAUTH-authorized URL" minus ":mech:token"): what
	// the token authorizes, byte for byte as the client sent it.
	Rump string
}

// Partial is ";PARTIAL=offset[.length]" (RFC 5092 §5, RFC 5550).
// Length 0 means to the end.
type Partial struct {
	Offset uint32
	Length uint32
}

// AccessApp splits Access into the application and the user it names
// (RFC 4467 §3: "submit+fred" -> "submit", "fred"; "authuser" ->
// "authuser", "").
func (u *URL) AccessApp() (app, user string) {
	if i := strings.IndexByte(u.Access, '+'); i >= 0 {
		return strings.ToLower(u.Access[:i]), u.Access[i+1:]
	}
	return strings.ToLower(u.Access), ""
}

// Error is a URL syntax error.
type Error struct {
	URL string
	Msg string
}

func (e *Error) Error() string { return "invalid IMAP URL: " + e.Msg }

// ErrRelative is returned by Parse for a relative reference.
var ErrRelative = errors.New("relative IMAP URL")

// MaxLength bounds the URLs Parse accepts: longer input is refused
// before any work (a URL is a command argument, already bounded by the
// line_length limit; this keeps the fuzzed parser linear and small).
const MaxLength = 8192

type parser struct {
	s string
	i int
}

func (p *parser) fail(format string, a ...any) error {
	return &Error{URL: p.s, Msg: fmt.Sprintf(format, a...)}
}

func (p *parser) rest() string { return p.s[p.i:] }

func (p *parser) atEnd() bool { return p.i >= len(p.s) }

// eat consumes prefix, compared ASCII case-insensitively (RFC 5092 §11:
// the ";UID=" and other parameter names are case-insensitive).
func (p *parser) eat(prefix string) bool {
	if len(p.rest()) >= len(prefix) && strings.EqualFold(p.s[p.i:p.i+len(prefix)], prefix) {
		p.i += len(prefix)
		return true
	}
	return false
}

func (p *parser) peek(prefix string) bool {
	return len(p.rest()) >= len(prefix) && strings.EqualFold(p.s[p.i:p.i+len(prefix)], prefix)
}

// Parse parses an absolute IMAP URL ("imap://...").
func Parse(s string) (*URL, error) {
	if len(s) > MaxLength {
		return nil, &Error{URL: s[:64], Msg: fmt.Sprintf("longer than %d bytes", MaxLength)}
	}
	p := &parser{s: s}
	if !p.eat("imap://") {
		if len(s) > 0 && !strings.Contains(strings.SplitN(s, "/", 2)[0], ":") {
			return nil, ErrRelative
		}
		return nil, p.fail("not an imap:// URL")
	}
	u := &URL{}
	if err := p.server(u); err != nil {
		return nil, err
	}
	if p.atEnd() {
		return u, nil
	}
	if !p.eat("/") {
		return nil, p.fail("expected / after the server")
	}
	if p.atEnd() {
		return u, nil
	}
	if err := p.command(u); err != nil {
		return nil, err
	}
	return u, nil
}

// Resolve parses ref, an IMAP URL or a relative reference (RFC 5092 §7,
// "relative-imap-ref"), against base, an absolute IMAP URL, by the
// merge of RFC 3986 §5.2: "//host/..." replaces the server, "/..." the
// command, and a relative path (";UID=5", ";SECTION=1.2", "Drafts")
// replaces the last segment of base's path, so relative to
// "imap://h/INBOX/" ";UID=5" is "imap://h/INBOX/;UID=5". Dot segments
// have no meaning in IMAP URLs and are not removed.
func Resolve(base, ref string) (*URL, error) {
	if len(ref) > MaxLength || len(base) > MaxLength {
		return nil, &Error{URL: ref, Msg: fmt.Sprintf("longer than %d bytes", MaxLength)}
	}
	u, err := Parse(ref)
	if !errors.Is(err, ErrRelative) {
		return u, err
	}
	if strings.HasPrefix(ref, "//") {
		return Parse("imap:" + ref)
	}
	if _, err := Parse(base); err != nil {
		return nil, fmt.Errorf("base: %w", err)
	}
	// The authority ends at the first "/" after "imap://".
	rest := base[len("imap://"):]
	auth, path := rest, ""
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		auth, path = rest[:i], rest[i:]
	}
	prefix := base[:len("imap://")] + auth
	if strings.HasPrefix(ref, "/") {
		return Parse(prefix + ref)
	}
	if path == "" {
		path = "/"
	}
	return Parse(prefix + path[:strings.LastIndexByte(path, '/')+1] + ref)
}

// server parses [iuserinfo "@"] host [":" port] (RFC 5092 §3, RFC 3986 §3.2).
func (p *parser) server(u *URL) error {
	end := strings.IndexByte(p.rest(), '/')
	if end < 0 {
		end = len(p.rest())
	}
	authority := p.rest()[:end]
	p.i += end
	if at := strings.LastIndexByte(authority, '@'); at >= 0 {
		info := authority[:at]
		authority = authority[at+1:]
		user := info
		if i := indexFold(info, ";AUTH="); i >= 0 {
			user = info[:i]
			a := info[i+len(";AUTH="):]
			if a == "*" {
				u.Auth = "*"
			} else {
				d, err := decode(a, isAchar)
				if err != nil || d == "" {
					return p.fail("bad ;AUTH= type")
				}
				u.Auth = d
			}
		}
		if user != "" {
			d, err := decode(user, isAchar)
			if err != nil {
				return p.fail("bad user name: %v", err)
			}
			u.User = d
		}
		if u.User == "" && u.Auth == "" {
			return p.fail("empty user information")
		}
	}
	host := authority
	if strings.HasPrefix(host, "[") {
		j := strings.IndexByte(host, ']')
		if j < 0 {
			return p.fail("unterminated IPv6 address")
		}
		for _, c := range host[1:j] {
			if !(isHex(byte(c)) || c == ':' || c == '.') {
				return p.fail("bad IPv6 address")
			}
		}
		u.Host = host[:j+1]
		host = host[j+1:]
	} else {
		j := strings.IndexByte(host, ':')
		if j < 0 {
			j = len(host)
		}
		d, err := decode(host[:j], isRegName)
		if err != nil {
			return p.fail("bad host name: %v", err)
		}
		u.Host = d
		host = host[j:]
	}
	if u.Host == "" {
		return p.fail("missing host")
	}
	if host != "" {
		if host[0] != ':' {
			return p.fail("junk after the host")
		}
		if host != ":" {
			n, err := strconv.ParseUint(host[1:], 10, 16)
			if err != nil || !allDigits(host[1:]) {
				return p.fail("bad port")
			}
			u.Port = uint16(n)
		}
	}
	return nil
}

// command parses icommand (RFC 5092 §11): a mailbox with optional
// ;UIDVALIDITY=, then either "?" search or /;UID= [/;SECTION=]
// [/;PARTIAL=] [;EXPIRE=] [;URLAUTH= [":" mech ":" token]].
func (p *parser) command(u *URL) error {
	u.HasCommand = true
	// enc-mailbox = 1*bchar; ";" and "?" are not bchars. A "/" just
	// before ";" separates the next component.
	j := strings.IndexAny(p.rest(), ";?")
	if j < 0 {
		j = len(p.rest())
	}
	raw := p.rest()[:j]
	if j < len(p.rest()) && p.rest()[j] == ';' && strings.HasSuffix(raw, "/") && !p.isParam(j, ";UIDVALIDITY=") {
		raw = raw[:len(raw)-1]
	}
	if raw == "" {
		return p.fail("missing mailbox name")
	}
	mb, err := decode(raw, isBchar)
	if err != nil {
		return p.fail("bad mailbox name: %v", err)
	}
	if !utf8.ValidString(mb) {
		return p.fail("mailbox name is not UTF-8")
	}
	u.Mailbox = mb
	p.i += len(raw)
	if p.eat(";UIDVALIDITY=") {
		if u.UIDValidity, err = p.nzNumber(); err != nil {
			return err
		}
	}
	if p.eat("?") {
		s, err := decode(p.rest(), isBchar)
		if err != nil || s == "" {
			return p.fail("bad search program")
		}
		u.HasSearch, u.Search = true, s
		p.i = len(p.s)
		return nil
	}
	if p.atEnd() {
		return nil
	}
	if !p.eat("/;UID=") {
		if p.rest() == "/" {
			// "imap://h/INBOX/": a mailbox URL with a trailing slash.
			p.i++
			return nil
		}
		return p.fail("expected /;UID= after the mailbox")
	}
	if u.UID, err = p.nzNumber(); err != nil {
		return err
	}
	if p.eat("/;SECTION=") {
		end := strings.IndexByte(p.rest(), ';')
		if end < 0 {
			end = len(p.rest())
		}
		raw := p.rest()[:end]
		if end < len(p.rest()) && strings.HasSuffix(raw, "/") {
			raw = raw[:len(raw)-1]
		}
		sec, err := decode(raw, isBchar)
		if err != nil || sec == "" {
			return p.fail("bad section")
		}
		u.Section = sec
		p.i += len(raw)
	}
	if p.eat("/;PARTIAL=") {
		off, err := p.number()
		if err != nil {
			return err
		}
		u.Partial = &Partial{Offset: off}
		if p.eat(".") {
			if u.Partial.Length, err = p.nzNumber(); err != nil {
				return err
			}
		}
	}
	if p.eat(";EXPIRE=") {
		end := strings.IndexByte(p.rest(), ';')
		if end < 0 {
			return p.fail(";EXPIRE= without ;URLAUTH=")
		}
		t, err := time.Parse(time.RFC3339, p.rest()[:end])
		if err != nil {
			return p.fail("bad ;EXPIRE= date-time")
		}
		u.Expire = t
		p.i += end
		if !p.peek(";URLAUTH=") {
			return p.fail(";EXPIRE= without ;URLAUTH=")
		}
	}
	if p.eat(";URLAUTH=") {
		if err := p.urlauth(u); err != nil {
			return err
		}
	}
	if !p.atEnd() {
		return p.fail("unexpected %q", clip(p.rest()))
	}
	return nil
}

// urlauth parses access [":" mechanism ":" enc-urlauth] (RFC 4467 §6).
func (p *parser) urlauth(u *URL) error {
	end := strings.IndexByte(p.rest(), ':')
	if end < 0 {
		end = len(p.rest())
	}
	raw := p.rest()[:end]
	switch {
	case strings.EqualFold(raw, "authuser"), strings.EqualFold(raw, "anonymous"):
		u.Access = strings.ToLower(raw)
	default:
		i := strings.IndexByte(raw, '+')
		if i <= 0 {
			return p.fail("bad access identifier %q", clip(raw))
		}
		app := strings.ToLower(raw[:i])
		if app != "submit" && app != "user" {
			return p.fail("bad access identifier %q", clip(raw))
		}
		user, err := decode(raw[i+1:], isAchar)
		if err != nil || user == "" {
			return p.fail("bad user in access identifier")
		}
		u.Access = app + "+" + user
	}
	p.i += end
	u.Rump = p.s[:p.i]
	if p.atEnd() {
		return nil
	}
	p.i++ // ':'
	end = strings.IndexByte(p.rest(), ':')
	if end <= 0 {
		return p.fail("bad URLAUTH mechanism")
	}
	mech := p.rest()[:end]
	for i := 0; i < len(mech); i++ {
		c := mech[i]
		if !(isAlpha(c) || isDigit(c) || c == '-' || c == '.') {
			return p.fail("bad URLAUTH mechanism")
		}
	}
	u.Mechanism = strings.ToUpper(mech)
	p.i += end + 1
	tok := p.rest()
	// enc-urlauth = 32*HEXDIG; hex.DecodeString wants an even count.
	if len(tok) < 32 || len(tok)%2 != 0 {
		return p.fail("bad URLAUTH token")
	}
	b, err := hex.DecodeString(tok)
	if err != nil {
		return p.fail("bad URLAUTH token")
	}
	u.Token = b
	p.i = len(p.s)
	return nil
}

// isParam reports whether the text j bytes ahead starts with name.
func (p *parser) isParam(j int, name string) bool {
	s := p.rest()[j:]
	return len(s) >= len(name) && strings.EqualFold(s[:len(name)], name)
}

// nzNumber parses a nz-number (RFC 9051 §9): 1..4294967295, no leading 0.
func (p *parser) nzNumber() (uint32, error) {
	n, err := p.number()
	if err != nil {
		return 0, err
	}
	if n == 0 {
		return 0, p.fail("zero where a nonzero number is needed")
	}
	return n, nil
}

// number parses a number (RFC 9051 §9): 0..4294967295.
func (p *parser) number() (uint32, error) {
	j := p.i
	for j < len(p.s) && isDigit(p.s[j]) {
		j++
	}
	if j == p.i {
		return 0, p.fail("expected a number")
	}
	digits := p.s[p.i:j]
	if len(digits) > 1 && digits[0] == '0' {
		return 0, p.fail("number with a leading zero")
	}
	n, err := strconv.ParseUint(digits, 10, 32)
	if err != nil {
		return 0, p.fail("number out of range")
	}
	p.i = j
	return uint32(n), nil
}

func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}

func indexFold(s, sub string) int {
	for i := 0; i+len(sub) <= len(s); i++ {
		if strings.EqualFold(s[i:i+len(sub)], sub) {
			return i
		}
	}
	return -1
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return s != ""
}

// decode undoes percent-escapes (RFC 3986 §2.1) in s, whose unescaped
// characters must satisfy ok.
func decode(s string, ok func(byte) bool) (string, error) {
	if !strings.Contains(s, "%") {
		for i := 0; i < len(s); i++ {
			if !ok(s[i]) {
				return "", fmt.Errorf("character %q must be %%-escaped", s[i])
			}
		}
		return s, nil
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '%' {
			if i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]) {
				return "", errors.New("bad %-escape")
			}
			v, _ := strconv.ParseUint(s[i+1:i+3], 16, 8)
			b = append(b, byte(v))
			i += 2
			continue
		}
		if !ok(c) {
			return "", fmt.Errorf("character %q must be %%-escaped", c)
		}
		b = append(b, c)
	}
	return string(b), nil
}

func isAlpha(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isDigit(c byte) bool { return c >= '0' && c <= '9' }
func isHex(c byte) bool   { return isDigit(c) || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }

// isUnreserved: RFC 3986 §2.3.
func isUnreserved(c byte) bool {
	return isAlpha(c) || isDigit(c) || c == '-' || c == '.' || c == '_' || c == '~'
}

// isUchar: RFC 5092 §11 uchar minus pct-encoded (unreserved /
// sub-delims-sh).
func isUchar(c byte) bool {
	return isUnreserved(c) || strings.IndexByte("!$'()*+,", c) >= 0
}

// isAchar: achar = uchar / "&" / "=" / "~".
func isAchar(c byte) bool { return isUchar(c) || c == '&' || c == '=' }

// isBchar: bchar = achar / ":" / "@" / "/".
func isBchar(c byte) bool { return isAchar(c) || c == ':' || c == '@' || c == '/' }

// isRegName: RFC 3986 reg-name (unreserved / sub-delims).
func isRegName(c byte) bool { return isUnreserved(c) || strings.IndexByte("!$&'()*+,;=", c) >= 0 }

// BaseURL returns "imap://user@host/mailbox/" (or "imap://user@host/"
// when mailbox is ""), escaped, for Resolve: the base against which a
// session's relative URLs are read (RFC 4469 §5: the selected mailbox).
func BaseURL(user, host, mailbox string) string {
	var b strings.Builder
	b.WriteString("imap://")
	if user != "" {
		b.WriteString(escape(user, isAchar))
		b.WriteByte('@')
	}
	b.WriteString(escape(host, isRegName))
	b.WriteByte('/')
	if mailbox != "" {
		b.WriteString(escape(mailbox, isBchar))
		b.WriteByte('/')
	}
	return b.String()
}

// escape percent-encodes the bytes of s that ok refuses.
func escape(s string, ok func(byte) bool) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if c := s[i]; ok(c) && c != '%' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}
