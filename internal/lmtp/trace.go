package lmtp

import (
	"net"
	"strings"
	"time"
)

// traceHeaders returns the header lines prepended to a delivered
// message, as Dovecot's LMTP adds them (lmtp_local_add_headers and the
// Received trace record):
//
//	Return-Path: <sender>                 always (RFC 5321 §4.4)
//	Delivered-To: <rcpt>                  only with exactly one recipient
//	Received: from HELO ([IP])            RFC 5321 §4.4 trace record;
//		by HOST with LMTP id ID           "LMTP" is the registered WITH
//		(envelope-from <sender>)          keyword (RFC 3848)
//		[for <rcpt>;] DATE                "for" only with one recipient
//
// With several recipients the headers are identical for all of them,
// which is what lets them share one blob.
func traceHeaders(from string, rcpts []string, helo string, remote net.Addr, host, id string, now time.Time) string {
	var b strings.Builder
	b.WriteString("Return-Path: <")
	b.WriteString(clean(from))
	b.WriteString(">\r\n")
	if len(rcpts) == 1 {
		b.WriteString("Delivered-To: ")
		b.WriteString(clean(rcpts[0]))
		b.WriteString("\r\n")
	}
	b.WriteString("Received: from ")
	if helo = clean(helo); helo == "" {
		helo = "unknown"
	}
	b.WriteString(helo)
	if ta, ok := remote.(*net.TCPAddr); ok {
		b.WriteString(" ([")
		b.WriteString(ta.IP.String())
		b.WriteString("])")
	} else {
		b.WriteString(" (local)")
	}
	b.WriteString("\r\n\tby ")
	b.WriteString(clean(host))
	b.WriteString(" with LMTP id ")
	b.WriteString(id)
	b.WriteString("\r\n\t(envelope-from <")
	b.WriteString(clean(from))
	b.WriteString(">)\r\n\t")
	if len(rcpts) == 1 {
		b.WriteString("for <")
		b.WriteString(clean(rcpts[0]))
		b.WriteString(">; ")
	}
	// RFC 5322 §3.3 date-time.
	b.WriteString(now.Format("Mon, 02 Jan 2006 15:04:05 -0700"))
	b.WriteString("\r\n")
	return b.String()
}

// clean keeps a protocol-supplied string from breaking the header: no
// control characters (so no CR/LF), no angle brackets or parentheses.
func clean(s string) string {
	ok := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == 0x7f || c == '<' || c == '>' || c == '(' || c == ')' {
			ok = false
			break
		}
	}
	if ok {
		return s
	}
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r == '<' || r == '>' || r == '(' || r == ')' {
			return '_'
		}
		return r
	}, s)
}
