package oracle

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"barid/internal/config"
	"barid/internal/store"
	"barid/internal/testkit"
)

// sieveScripts are the differential scripts: what Pigeonhole and barid
// must agree on for folder placement and flags. (Mail-sending actions
// are compared in internal/filter against an SMTP sink: this Dovecot has
// no MTA to send through.)
var sieveScripts = []string{
	// 0: fileinto by header, implicit keep for the rest
	`require "fileinto";
if header :contains "subject" "invoice" { fileinto "Work"; }`,
	// 1: :create with hierarchy, stop
	`require ["fileinto", "mailbox"];
if address :domain :is "from" "lists.example.org" { fileinto :create "Lists/go"; stop; }
if size :over 2K { fileinto :create "Big"; }`,
	// 2: imap4flags on keep and fileinto
	`require ["fileinto", "imap4flags"];
if header :contains "subject" "urgent" { addflag "\\Flagged"; }
if exists "x-spam" { fileinto :flags ["\\Seen", "$Junk"] "Junk"; stop; }
keep;`,
	// 3: discard, and a fileinto to a missing mailbox (INBOX instead)
	`require "fileinto";
if header :is "x-test-id" "m3" { discard; stop; }
if header :contains "subject" "invoice" { fileinto "NoSuchFolder"; }`,
	// 4: fileinto :copy and several folders, flags set and removed
	`require ["fileinto", "copy", "imap4flags"];
setflag ["\\Seen", "$A"];
if header :contains "subject" "report" { fileinto :copy "Archive"; removeflag "$A"; fileinto "Work"; }`,
	// 5: envelope, subaddress, variables
	`require ["envelope", "subaddress", "variables", "fileinto", "mailbox"];
if envelope :localpart :is "from" "boss" { fileinto "Work"; }
if header :matches "subject" "[*] *" { set "tag" "${1}"; fileinto :create "Tags/${tag}"; }`,
	// 6: relational and body
	`require ["relational", "comparator-i;ascii-numeric", "body", "fileinto", "imap4flags"];
if header :value "ge" :comparator "i;ascii-numeric" "x-priority" "3" { addflag "$Low"; }
if body :text :contains "unsubscribe" { fileinto "Archive"; }`,
	// 7: anyof/allof/not
	`require ["fileinto"];
if allof (not exists "x-spam", anyof (header :contains "from" "carol", header :contains "to" "team")) { fileinto "Work"; }
elsif exists "x-spam" { fileinto "Junk"; }`,
	// 8: the same mailbox twice (one copy, the later flags), keep and
	// fileinto "INBOX" together, hasflag
	`require ["fileinto", "imap4flags"];
if header :contains "subject" "report" { fileinto :flags "$One" "Archive"; fileinto :flags "$Two" "Archive"; }
addflag "$Seen1";
if hasflag :contains "$Seen1" { keep; fileinto "inbox"; }`,
	// 9: flags in a variable, mailboxexists, discard after fileinto
	`require ["fileinto", "imap4flags", "variables", "mailbox"];
set "f" "\\Answered $Tagged";
if mailboxexists "Junk" { if exists "x-spam" { fileinto :flags "${f}" "Junk"; discard; stop; } }
if not mailboxexists "Nowhere" { addflag "${f}"; }`,
}

// sieveMessages carry X-Test-Id so both servers' copies can be found.
var sieveMessages = []struct{ from, text string }{
	{"boss@example.com", "From: Boss <boss@example.com>\nTo: team@example.org\nSubject: invoice for March\nX-Test-Id: m0\n\nPlease pay.\n"},
	{"news@lists.example.org", "From: Go list <news@lists.example.org>\nTo: s@example.org\nSubject: [go] weekly digest\nX-Priority: 5\nX-Test-Id: m1\n\nTo unsubscribe, reply.\n"},
	{"carol@example.net", "From: carol@example.net\nTo: s@example.org\nSubject: urgent report\nX-Test-Id: m2\n\nNumbers attached.\n"},
	{"spam@example.biz", "From: spam@example.biz\nTo: s@example.org\nSubject: you won\nX-Spam: yes\nX-Test-Id: m3\n\nClaim now.\n"},
	{"dave@example.net", "From: dave@example.net\nTo: s@example.org\nSubject: [misc] a long one\nX-Priority: 1\nX-Test-Id: m4\n\n" + strings.Repeat("A long line of text to pass two kilobytes.\n", 60)},
	{"", "From: MAILER-DAEMON@example.net\nTo: s@example.org\nSubject: undeliverable report\nX-Test-Id: m5\n\nBounce.\n"},
}

// TestSieveDifferential delivers the same messages over LMTP, with the
// same active script, to barid and to Dovecot with Pigeonhole
// (dovecot-lmtpd, dovecot-sieve), and compares where each message ends
// up and with which flags.
func TestSieveDifferential(t *testing.T) {
	if _, err := os.Stat("/usr/lib/dovecot/modules/lib90_sieve_plugin.so"); err != nil {
		t.Skip("dovecot-sieve is not installed: Sieve oracle skipped")
	}
	if _, err := os.Stat("/usr/lib/dovecot/lmtp"); err != nil {
		t.Skip("dovecot-lmtpd is not installed: Sieve oracle skipped")
	}
	var users []string
	for i := range sieveScripts {
		users = append(users, fmt.Sprintf("s%d@example.org", i))
	}
	d := testkit.StartDovecot(t, testkit.DovecotOptions{Users: users, LMTP: true, Extra: `
protocol lmtp {
  mail_plugins = $mail_plugins sieve
}
plugin {
  sieve = file:~/sieve;active=~/.dovecot.sieve
  sieve_vacation_min_period = 0
}
`})
	b := testkit.Start(t, func(c *config.Config) { c.LMTP.Listen = "127.0.0.1:0" })
	lmtpAddr := b.App.Addrs()["lmtp"]
	uid, gid := ownerOf(t, filepath.Join(d.Dir, "mail"))
	for i, u := range users {
		acct := b.AddUser(u, "pw")
		ss := b.Store().(store.SieveScripts)
		if err := ss.PutSieveScript(t.Context(), acct.ID, "diff", []byte(sieveScripts[i]), 0); err != nil {
			t.Fatal(err)
		}
		if err := ss.SetActiveSieveScript(t.Context(), acct.ID, "diff"); err != nil {
			t.Fatal(err)
		}
		home := filepath.Join(d.Dir, "mail", strings.Split(u, "@")[0])
		os.MkdirAll(home, 0o755)
		os.WriteFile(filepath.Join(home, ".dovecot.sieve"), []byte(sieveScripts[i]), 0o644)
		os.Chown(home, uid, gid)
		os.Chown(filepath.Join(home, ".dovecot.sieve"), uid, gid)
	}
	for _, u := range users {
		for _, m := range sieveMessages {
			for _, addr := range []string{lmtpAddr, d.LMTPAddr} {
				if r := lmtpOne(t, addr, m.from, u, m.text); !strings.HasPrefix(r, "250") {
					t.Fatalf("%s to %s at %s: %q", m.text[:20], u, addr, r)
				}
			}
		}
	}
	for i, u := range users {
		got := placement(t, b.Addr, u)
		want := placement(t, d.Addr, u)
		if !slices.Equal(got, want) {
			t.Errorf("script %d:\n%s\nbarid:    %q\npigeonhole: %q", i, sieveScripts[i], got, want)
		}
	}
}

func ownerOf(t testing.TB, path string) (int, int) {
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	st := fi.Sys()
	v := reflectStat(st)
	return v[0], v[1]
}

// lmtpOne delivers one message to one recipient and returns the reply.
func lmtpOne(t *testing.T, addr, from, rcpt, text string) string {
	t.Helper()
	c := testkit.DialSMTP(t, addr, false)
	c.Expect("LHLO test", "250")
	c.Expect("MAIL FROM:<"+from+">", "250")
	c.Expect("RCPT TO:<"+rcpt+">", "250")
	c.Expect("DATA", "354")
	c.Send(strings.ReplaceAll(text, "\n", "\r\n") + ".\r\n")
	r := c.Reply()
	c.Cmd("QUIT")
	return r[len(r)-1]
}

var (
	listRe  = regexp.MustCompile(`^\* LIST \(([^)]*)\) (?:"/"|NIL) "?([^"]*)"?$`)
	flagsRe = regexp.MustCompile(`FLAGS \(([^)]*)\)`)
)

// placement lists "mailbox: mN [flags]" for every message of user,
// mailboxes and flags sorted, \Recent dropped.
func placement(t *testing.T, addr, user string) []string {
	t.Helper()
	c := testkit.DialAddr(t, addr)
	c.Login(user, "pw")
	var boxes []string
	for _, l := range c.ExpectOK("l", `LIST "" "*"`) {
		if m := listRe.FindStringSubmatch(l); m != nil && !strings.Contains(m[1], `\NonExistent`) && !strings.Contains(m[1], `\Noselect`) {
			boxes = append(boxes, m[2])
		}
	}
	slices.Sort(boxes)
	var out []string
	for _, mb := range boxes {
		c.ExpectOK("e", "EXAMINE "+testkit.Quote(mb))
		for k := range sieveMessages {
			id := "m" + strconv.Itoa(k)
			lines := c.ExpectOK("s", "UID SEARCH HEADER X-Test-Id "+id)
			for _, l := range lines {
				if !strings.HasPrefix(l, "* SEARCH") {
					continue
				}
				for _, u := range strings.Fields(strings.TrimPrefix(l, "* SEARCH")) {
					f := c.ExpectOK("f", "UID FETCH "+u+" (FLAGS)")
					fm := flagsRe.FindStringSubmatch(strings.Join(f, " "))
					var flags []string
					if fm != nil {
						for _, fl := range strings.Fields(fm[1]) {
							if fl != `\Recent` {
								flags = append(flags, fl)
							}
						}
					}
					slices.Sort(flags)
					out = append(out, fmt.Sprintf("%s: %s %v", mb, id, flags))
				}
			}
		}
	}
	return out
}

// TestSieveRepliesLikePigeonhole: the mail scripts make (reject's MDN,
// vacation replies) and the LMTP answers, from barid and from Dovecot
// with Pigeonhole sending through its own SMTP sink, compared field by
// field (a redirect too): envelope, From, To, Subject, Auto-Submitted, threading headers,
// the MDN's disposition fields; and which messages get no reply (a
// second one within the period, a list, a null sender).
func TestSieveRepliesLikePigeonhole(t *testing.T) {
	if _, err := os.Stat("/usr/lib/dovecot/modules/lib90_sieve_plugin.so"); err != nil {
		t.Skip("dovecot-sieve is not installed: Sieve oracle skipped")
	}
	script := `require ["reject", "vacation", "fileinto"];
if header :contains "subject" "rej" { reject "not wanted here"; stop; }
if header :contains "subject" "file" { fileinto "Archive"; }
if header :contains "subject" "fwd" { redirect "fw@remote.example"; stop; }
vacation :days 1 :addresses ["alias@example.org"] "I am away until Monday.";
`
	sinkD := testkit.StartSink(t, nil)
	d := testkit.StartDovecot(t, testkit.DovecotOptions{Users: []string{"r@example.org", "o@example.org"}, LMTP: true, Extra: `
protocol lmtp {
  mail_plugins = $mail_plugins sieve
}
submission_host = ` + sinkD.Addr + `
plugin {
  sieve = file:~/sieve;active=~/.dovecot.sieve
}
`})
	uid, gid := ownerOf(t, filepath.Join(d.Dir, "mail"))
	home := filepath.Join(d.Dir, "mail", "r")
	os.MkdirAll(home, 0o755)
	os.WriteFile(filepath.Join(home, ".dovecot.sieve"), []byte(script), 0o644)
	os.Chown(home, uid, gid)
	os.Chown(filepath.Join(home, ".dovecot.sieve"), uid, gid)

	sinkB := testkit.StartSink(t, nil)
	b := testkit.Start(t, func(c *config.Config) {
		c.LMTP.Listen = "127.0.0.1:0"
		c.Sieve.SMTP = sinkB.Addr
	})
	acct := b.AddUser("r@example.org", "pw")
	b.AddUser("o@example.org", "pw")
	ss := b.Store().(store.SieveScripts)
	if err := ss.PutSieveScript(t.Context(), acct.ID, "s", []byte(script), 0); err != nil {
		t.Fatal(err)
	}
	if err := ss.SetActiveSieveScript(t.Context(), acct.ID, "s"); err != nil {
		t.Fatal(err)
	}

	type delivery struct {
		from  string
		rcpts []string
		text  string
	}
	deliveries := []delivery{
		{"s@example.net", []string{"r@example.org", "o@example.org"}, "From: S <s@example.net>\nTo: r@example.org, o@example.org\nSubject: rej this\nMessage-ID: <d1@example.net>\n\nbody\n"},
		{"s@example.net", []string{"r@example.org"}, "From: S <s@example.net>\nTo: r@example.org\nSubject: hello\nMessage-ID: <d2@example.net>\nReferences: <d0@example.net>\n\nbody\n"},
		{"s@example.net", []string{"r@example.org"}, "From: S <s@example.net>\nTo: r@example.org\nSubject: hello again\nMessage-ID: <d3@example.net>\n\nbody\n"},
		{"t@example.net", []string{"r@example.org"}, "From: T <t@example.net>\nTo: alias@example.org\nSubject: file and answer\nMessage-ID: <d4@example.net>\n\nbody\n"},
		{"l@example.net", []string{"r@example.org"}, "From: L <l@example.net>\nTo: r@example.org\nSubject: list post\nList-Id: <x.example.net>\nMessage-ID: <d5@example.net>\n\nbody\n"},
		{"", []string{"r@example.org"}, "From: MAILER-DAEMON@example.net\nTo: r@example.org\nSubject: bounce\nMessage-ID: <d6@example.net>\n\nbody\n"},
		{"", []string{"r@example.org"}, "From: u@example.net\nTo: r@example.org\nSubject: rej from null\nMessage-ID: <d7@example.net>\n\nbody\n"},
		{"u@example.net", []string{"r@example.org"}, "From: u@example.net\nTo: someone@example.org\nSubject: not to me\nMessage-ID: <d8@example.net>\n\nbody\n"},
		{"v@example.net", []string{"r@example.org"}, "From: v@example.net\nTo: r@example.org\nSubject: fwd please\nMessage-ID: <d9@example.net>\n\nbody\n"},
	}
	for _, dl := range deliveries {
		var codes [2][]string
		for k, addr := range []string{b.App.Addrs()["lmtp"], d.LMTPAddr} {
			c := testkit.DialSMTP(t, addr, false)
			c.Expect("LHLO test", "250")
			c.Expect("MAIL FROM:<"+dl.from+">", "250")
			for _, r := range dl.rcpts {
				c.Expect("RCPT TO:<"+r+">", "250")
			}
			c.Expect("DATA", "354")
			c.Send(strings.ReplaceAll(dl.text, "\n", "\r\n") + ".\r\n")
			for range dl.rcpts {
				r := c.Reply()
				codes[k] = append(codes[k], r[len(r)-1][:3])
			}
			c.Cmd("QUIT")
		}
		if !slices.Equal(codes[0], codes[1]) {
			t.Errorf("%.30q: LMTP barid %v, Dovecot %v", dl.text, codes[0], codes[1])
		}
	}
	sinkD.WaitMessages(t, 1)
	sinkB.WaitMessages(t, 1)
	// Let late replies arrive at both.
	time.Sleep(time.Second)
	norm := func(ms []testkit.SinkMessage) []string {
		var out []string
		for _, m := range ms {
			out = append(out, replySummary(m))
		}
		slices.Sort(out)
		return out
	}
	want, got := sinkD.Messages(), sinkB.Messages()
	if g, w := norm(got), norm(want); !slices.Equal(g, w) {
		t.Errorf("replies differ:\nbarid:\n  %s\npigeonhole:\n  %s", strings.Join(g, "\n  "), strings.Join(w, "\n  "))
	}
	if placementB, placementD := placement(t, b.Addr, "r@example.org"), placement(t, d.Addr, "r@example.org"); len(placementB) != len(placementD) {
		t.Errorf("stored copies: barid %q, pigeonhole %q", placementB, placementD)
	}
}

// replySummary is the part of a Sieve-made message both servers must
// agree on.
func replySummary(m testkit.SinkMessage) string {
	data := strings.ReplaceAll(string(m.Data), "\r\n", "\n")
	hdr, body, _ := strings.Cut(data, "\n\n")
	hdr = strings.ReplaceAll(hdr, "\n\t", " ")
	fields := map[string]string{}
	for _, l := range strings.Split(hdr, "\n") {
		k, v, _ := strings.Cut(l, ":")
		if _, dup := fields[strings.ToLower(k)]; !dup {
			fields[strings.ToLower(k)] = strings.TrimSpace(v)
		}
	}
	ct, _, _ := strings.Cut(fields["content-type"], ";")
	s := fmt.Sprintf("MAIL FROM:<%s> RCPT %v | From: %s | To: %s | Subject: %s | Auto-Submitted: %s | In-Reply-To: %s | References: %s | Precedence: %s | Content-Type: %s",
		m.From, m.Rcpts, fields["from"], fields["to"], fields["subject"], fields["auto-submitted"],
		fields["in-reply-to"], fields["references"], fields["precedence"], ct)
	for _, k := range []string{"Final-Recipient:", "Original-Message-ID:", "\nDisposition:", "I am away", "not wanted here"} {
		if i := strings.Index(body, k); i >= 0 {
			line, _, _ := strings.Cut(body[i:], "\n")
			s += " | " + strings.TrimSpace(line)
		}
	}
	return s
}
