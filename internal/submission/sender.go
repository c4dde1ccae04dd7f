package submission

import (
	"strings"

	"barid/internal/mail/header"
	"barid/internal/store"
)

// Sender decides which addresses an account may send as (RFC 6409
// §6.1: the MSA checks that the sender is authorized). An account may
// use:
//   - its name, when the name is an address (alice@example.org);
//   - name@d for each local domain d, when the name is a bare local part
//     (the addresses LMTP delivers to it);
//   - the addresses and "@domain" wildcards listed for it in
//     submission.addresses;
//
// each with any "+detail" in the local part (alice+lists@example.org is
// alice's as LMTP delivers it to her). Comparison is case-insensitive.
type Sender struct {
	LocalDomains []string
	Addresses    map[string][]string
}

// Owns reports whether account (a normalized account name) may send as
// addr ("local@domain").
func (s *Sender) Owns(account, addr string) bool {
	addr = strings.ToLower(strings.TrimSpace(addr))
	local, domain, ok := cutLast(addr, '@')
	if !ok || local == "" || domain == "" {
		return false
	}
	candidates := []string{addr}
	if base, _, ok := strings.Cut(local, "+"); ok && base != "" {
		candidates = append(candidates, base+"@"+domain)
	}
	name := strings.ToLower(account)
	for _, c := range candidates {
		cl, cd, _ := cutLast(c, '@')
		if c == name {
			return true
		}
		if !strings.Contains(name, "@") && cl == name {
			for _, d := range s.LocalDomains {
				if strings.EqualFold(d, cd) {
					return true
				}
			}
		}
		for acct, list := range s.Addresses {
			if store.NormalizeAccountName(acct) != name {
				continue
			}
			for _, a := range list {
				a = strings.ToLower(strings.TrimSpace(a))
				if a == c || (strings.HasPrefix(a, "@") && a[1:] == cd) {
					return true
				}
			}
		}
	}
	return false
}

// checkHeader checks the From and Sender fields of a message header
// block for account: each must be present at most once (RFC 5322 §3.6),
// From must be there, and every mailbox in them must be the account's
// (RFC 6409 §6.1). It returns "" or the reason for a 550 5.7.1.
func (s *Sender) checkHeader(account string, hdr []byte) string {
	// A control character in the header block (a bare CR, NUL: RFC 5322
	// §2.2 and §3.2 allow none) is refused: the header parser drops a bare
	// CR, which could turn someone else's address into the account's.
	if hasControl(headerBlock(hdr)) {
		return "Message header has a control character (RFC 5322 §2.2)"
	}
	var from, sender []string
	header.ForEach(hdr, func(f header.Field) bool {
		switch strings.ToLower(strings.TrimSpace(f.Name)) {
		case "from":
			from = append(from, f.Value)
		case "sender":
			sender = append(sender, f.Value)
		}
		return true
	})
	if len(from) == 0 {
		return "Message has no From header"
	}
	if len(from) > 1 || len(sender) > 1 {
		return "Message has more than one From or Sender header"
	}
	for _, v := range append(from, sender...) {
		// A control character inside the field (a bare CR, NUL: RFC 5322
		// §3.2.3 allows none) would be dropped by the address parser and
		// could turn someone else's address into the account's.
		addrs := header.ParseAddressList(v)
		n := 0
		for _, a := range addrs {
			if a.GroupStart || a.GroupEnd {
				continue
			}
			n++
			if a.Invalid || !s.Owns(account, a.Addr()) {
				return "From/Sender address <" + a.Addr() + "> is not yours (authenticated as " + account + ")"
			}
		}
		if n == 0 {
			return "From/Sender header has no address"
		}
	}
	return ""
}

// headerBlock is hdr up to the blank line that ends the header.
func headerBlock(hdr []byte) string {
	h := string(hdr)
	if i := strings.Index(h, "\r\n\r\n"); i >= 0 {
		h = h[:i]
	}
	if i := strings.Index(h, "\n\n"); i >= 0 {
		h = h[:i]
	}
	return h
}

// hasControl reports a control character in a raw field value other than
// the line ends of folding (CRLF, or a bare LF of an LF-only message) and
// HTAB.
func hasControl(v string) bool {
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case c == '\r':
			if i+1 >= len(v) || v[i+1] != '\n' {
				return true
			}
		case c == '\n', c == '\t':
		case c < ' ', c == 0x7f:
			return true
		}
	}
	return false
}

func cutLast(s string, sep byte) (before, after string, found bool) {
	if i := strings.LastIndexByte(s, sep); i >= 0 {
		return s[:i], s[i+1:], true
	}
	return s, "", false
}
