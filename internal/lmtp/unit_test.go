package lmtp

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/emersion/go-smtp"

	"barid/internal/deliver"
	"barid/internal/store"
)

func TestHandoffRecipientRoundTrip(t *testing.T) {
	for _, tc := range []struct{ user, mailbox string }{
		{"alice", ""},
		{"alice@example.org", "Sent"},
		{"bob", "Lists/golang nuts"},
		{"bob", "Entwürfe & Co=+%"},
		{"carol+tag@example.org", "a@b"},
	} {
		rcpt := HandoffRecipient(tc.user, tc.mailbox)
		// The go-smtp server parses RCPT TO:<rcpt> as a dot-string local
		// part: none of its specials may appear.
		local, _, _ := strings.Cut(rcpt, "@")
		if strings.ContainsAny(local, "()<>[]:;\\,\" \t@") {
			t.Errorf("%q: local part %q is not a dot-string", tc, local)
		}
		u, m, ok := parseHandoff(rcpt)
		if !ok || u != tc.user || m != tc.mailbox {
			t.Errorf("%q -> %q -> %q %q %v", tc, rcpt, u, m, ok)
		}
	}
	for _, bad := range []string{"alice@localhost", "user=@" + HandoffDomain, "mailbox=x@" + HandoffDomain, "%zz@" + HandoffDomain} {
		if _, _, ok := parseHandoff(bad); ok {
			t.Errorf("parseHandoff(%q) accepted", bad)
		}
	}
}

func TestTraceHeaders(t *testing.T) {
	now := time.Date(2024, 3, 5, 9, 7, 2, 0, time.FixedZone("", 3600))
	tcp := &net.TCPAddr{IP: net.ParseIP("192.0.2.7"), Port: 4444}
	unix := &net.UnixAddr{Name: "@", Net: "unix"}
	tests := []struct {
		from  string
		rcpts []string
		helo  string
		addr  net.Addr
		want  string
	}{
		{"a@example.net", []string{"b@example.com"}, "mx.example.net", tcp,
			"Return-Path: <a@example.net>\r\nDelivered-To: b@example.com\r\n" +
				"Received: from mx.example.net ([192.0.2.7])\r\n\tby host with LMTP id X1\r\n\t(envelope-from <a@example.net>)\r\n\tfor <b@example.com>; Tue, 05 Mar 2024 09:07:02 +0100\r\n"},
		{"", []string{"b@example.com", "c@example.com"}, "", unix,
			"Return-Path: <>\r\n" +
				"Received: from unknown (local)\r\n\tby host with LMTP id X1\r\n\t(envelope-from <>)\r\n\tTue, 05 Mar 2024 09:07:02 +0100\r\n"},
		// Nothing from the client can break a header line.
		{"a>\r\nX-Evil: 1", []string{"b@x"}, "h(e)lo\r\n", tcp,
			"Return-Path: <a___X-Evil: 1>\r\nDelivered-To: b@x\r\n" +
				"Received: from h_e_lo__ ([192.0.2.7])\r\n\tby host with LMTP id X1\r\n\t(envelope-from <a___X-Evil: 1>)\r\n\tfor <b@x>; Tue, 05 Mar 2024 09:07:02 +0100\r\n"},
	}
	for _, tc := range tests {
		if got := traceHeaders(tc.from, tc.rcpts, tc.helo, tc.addr, "host", "X1", now); got != tc.want {
			t.Errorf("traceHeaders(%q, %q):\n got %q\nwant %q", tc.from, tc.rcpts, got, tc.want)
		}
	}
}

func TestResolverCandidates(t *testing.T) {
	r := &Resolver{LocalDomains: []string{"localhost", "Example.COM"}}
	tests := []struct {
		addr    string
		names   []string
		details []string
	}{
		{"alice@localhost", []string{"alice@localhost", "alice"}, []string{"", ""}},
		{"Alice@EXAMPLE.com", []string{"alice@example.com", "alice"}, []string{"", ""}},
		{"bob@example.org", []string{"bob@example.org"}, []string{""}},
		{"bob+tag@example.org", []string{"bob+tag@example.org", "bob@example.org"}, []string{"", "tag"}},
		{"carol+Lists@localhost", []string{"carol+lists@localhost", "carol+lists", "carol@localhost", "carol"}, []string{"", "", "lists", "lists"}},
		{"dave", []string{"dave"}, []string{""}},
		{"dave+x", []string{"dave+x", "dave"}, []string{"", "x"}},
		{"+x@localhost", []string{"+x@localhost", "+x"}, []string{"", ""}},
		{"a@b@localhost", []string{"a@b@localhost", "a@b"}, []string{"", ""}},
	}
	for _, tc := range tests {
		names, details := r.candidates(tc.addr)
		if fmt.Sprint(names) != fmt.Sprint(tc.names) || fmt.Sprint(details) != fmt.Sprint(tc.details) {
			t.Errorf("candidates(%q) = %q %q, want %q %q", tc.addr, names, details, tc.names, tc.details)
		}
	}
}

func TestStatusAndExitCode(t *testing.T) {
	tests := []struct {
		err      error
		tempfail bool
		code     int
		enh      smtp.EnhancedCode
		exit     int
	}{
		{store.ErrNoAccount, false, 550, smtp.EnhancedCode{5, 1, 1}, 67},
		{fmt.Errorf("x: %w", store.ErrOverQuota), false, 552, smtp.EnhancedCode{5, 2, 2}, 73},
		{store.ErrOverQuota, true, 452, smtp.EnhancedCode{4, 2, 2}, 75},
		{deliver.ErrTooBig, false, 552, smtp.EnhancedCode{5, 3, 4}, 65},
		{smtp.ErrDataTooLarge, false, 552, smtp.EnhancedCode{5, 3, 4}, 65},
		{fmt.Errorf("spool: %w", smtp.ErrTooLongLine), false, 552, smtp.EnhancedCode{5, 3, 4}, 65},
		{errors.New("database is locked"), false, 451, smtp.EnhancedCode{4, 3, 0}, 75},
		{io.ErrUnexpectedEOF, false, 451, smtp.EnhancedCode{4, 3, 0}, 75},
		{&smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 7, 1}}, false, 554, smtp.EnhancedCode{5, 7, 1}, 69},
	}
	for _, tc := range tests {
		st := Status(tc.err, tc.tempfail)
		if st.Code != tc.code || st.EnhancedCode != tc.enh {
			t.Errorf("Status(%v) = %d %v, want %d %v", tc.err, st.Code, st.EnhancedCode, tc.code, tc.enh)
		}
		if got := ExitCode(st); got != tc.exit {
			t.Errorf("ExitCode(%v) = %d, want %d", st, got, tc.exit)
		}
	}
	if Status(nil, false) != nil || ExitCode(nil) != 0 {
		t.Error("nil is success")
	}
}

func TestSkipMboxFrom(t *testing.T) {
	tests := []struct {
		in, sender, rest string
		ok               bool
	}{
		{"From alice@example.org  Thu Nov 26 11:00:00 2026\nSubject: x\n\nb\n", "alice@example.org", "Subject: x\n\nb\n", true},
		{"From MAILER-DAEMON Thu Nov 26 11:00:00 2026\r\nSubject: x\r\n", "", "Subject: x\r\n", true},
		{"From: alice@example.org\nSubject: x\n", "", "From: alice@example.org\nSubject: x\n", false},
		{"Subject: x\n", "", "Subject: x\n", false},
		{"Fro", "", "Fro", false},
		{"", "", "", false},
		{"From " + strings.Repeat("x", 100000) + "\nSubject: y\n", strings.Repeat("x", 4091), "Subject: y\n", true},
	}
	for _, tc := range tests {
		br := bufio.NewReaderSize(iotest.OneByteReader(strings.NewReader(tc.in)), 4096)
		sender, ok, err := SkipMboxFrom(br)
		rest, _ := io.ReadAll(br)
		if err != nil || ok != tc.ok || string(rest) != tc.rest || (ok && sender != tc.sender) {
			t.Errorf("SkipMboxFrom(%.40q) = %.40q %v %v, rest %.40q", tc.in, sender, ok, err, rest)
		}
	}
}

func TestCRLF(t *testing.T) {
	tests := []struct{ in, want string }{
		{"a\nb\n", "a\r\nb\r\n"},
		{"a\r\nb\r\n", "a\r\nb\r\n"},
		{"a\r\n\nb", "a\r\n\r\nb"},
		{"no newline", "no newline"},
		{"\n\n", "\r\n\r\n"},
		{"bare\rcr\n", "bare\rcr\r\n"},
		{"", ""},
	}
	for _, tc := range tests {
		for name, wrap := range map[string]func(io.Reader) io.Reader{
			"plain": func(r io.Reader) io.Reader { return r },
			"1byte": iotest.OneByteReader,
			"half":  iotest.HalfReader,
		} {
			got, err := io.ReadAll(CRLF(wrap(strings.NewReader(tc.in))))
			if err != nil || string(got) != tc.want {
				t.Errorf("%s CRLF(%q) = %q, %v; want %q", name, tc.in, got, err, tc.want)
			}
		}
	}
	// A CR at the end of one read and LF at the start of the next is one
	// line end.
	if err := iotest.TestReader(CRLF(strings.NewReader("x\ny\r\nz")), []byte("x\r\ny\r\nz")); err != nil {
		t.Error(err)
	}
}
