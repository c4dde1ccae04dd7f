package sieve

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"testing"
	"time"
)

// RFC 5229 (variables) examples.
func TestVariables(t *testing.T) {
	listMsg := "List-ID: Acme <acme-users@lists.example.com>\r\nSubject: [acme-users] [fwd] version 1.0 is out\r\nFrom: a@b.c\r\n\r\nx\r\n"
	runCasesWith(t, listMsg, nil, []runCase{
		// RFC 5229 §3.2
		{"list-id", `require ["fileinto", "variables"];
if header :matches "List-ID" "*<*@*" { fileinto "INBOX.lists.${2}"; stop; }`, "fileinto:INBOX.lists.acme-users"},
		{"subject-shortest", `require ["fileinto", "variables"];
if header :matches "Subject" "[*] *" { fileinto "INBOX.lists.${1}"; stop; }`, "fileinto:INBOX.lists.acme-users"},
		// RFC 5229 §4.1 examples of set modifiers
		{"set-modifiers", `require ["variables", "fileinto"];
set "honorific" "Mr";
set "first_name" "Wile";
set "last_name" "Coyote";
set "vacation" "Dear ${HONORIFIC} ${last_name},";
set :length "len" "${vacation}";
set :upperfirst "b" "juMBlEd lETteRS";
set :lower "c" "juMBlEd lETteRS";
set :lowerfirst "d" "juMBlEd lETteRS";
set :upperfirst :lower "e" "juMBlEd lETteRS";
set :quotewildcard "f" "Rock*";
fileinto "${vacation}|${len}|${b}|${c}|${d}|${e}|${f}";`, "fileinto:Dear Mr Coyote,|15|JuMBlEd lETteRS|jumbled letters|juMBlEd lETteRS|Jumbled letters|Rock\\*"},
		// RFC 5229 §5 string test
		{"string-test", `require ["variables", "fileinto"];
set "x" "";
if string :is "${x}" "" { fileinto "empty"; }`, "fileinto:empty"},
		{"unknown-var-empty", `require ["variables", "fileinto"]; fileinto "a${nothere}b";`, "fileinto:ab"},
		{"not-a-reference", `require ["variables", "fileinto"]; fileinto "${a-b}${";`, "fileinto:${a-b}${"},
		{"no-expansion-without-require", `require "fileinto"; fileinto "${x}";`, "fileinto:${x}"},
		{"bad-var-name", `require "variables"; set "a-b" "x";`, "ERR:invalid variable name"},
		{"match-vars-kept-on-failure", `require ["variables", "fileinto"];
if header :matches "Subject" "[*]*" {}
if header :matches "Subject" "nomatch*" {}
fileinto "${1}";`, "fileinto:acme-users"},
	})
	// the size limit of variables
	s, err := Compile("v", []byte(`require ["variables","fileinto"]; set "a" "0123456789"; set "a" "${a}${a}"; set "a" "${a}${a}"; fileinto "${a}";`), Options{MaxVariableSize: 25}, nil)
	if err != nil {
		t.Fatal(err)
	}
	r, err := s.Execute(context.Background(), testEnv(testMsg))
	if err != nil || summary(r) != "fileinto:0123456789012345678901234" {
		t.Fatalf("MaxVariableSize: %v %s", err, summary(r))
	}
}

// RFC 5232 (imap4flags) examples.
func TestImap4Flags(t *testing.T) {
	runCases(t, []runCase{
		// §4.1: setflag then addflag
		{"setflag-addflag", `require ["imap4flags"]; setflag "\\Seen"; addflag ["\\Answered", "$MDNSent"]; keep;`, "keep[\\Seen \\Answered $MDNSent]"},
		{"removeflag", `require ["imap4flags"]; setflag "flagvar" ["\\Deleted", "\\Answered"]; removeflag "flagvar" "\\deleted"; keep :flags "${flagvar}";`, "keep"}, // "${flagvar}" is no valid flag
		{"removeflag-vars", `require ["imap4flags", "variables"]; setflag "flagvar" ["\\Deleted", "\\Answered"]; removeflag "flagvar" "\\deleted"; keep :flags "${flagvar}";`, "keep[\\Answered]"},
		// §4.4 hasflag examples
		{"hasflag-contains", `require ["imap4flags", "fileinto"]; setflag "A B C"; if hasflag :contains "B" { fileinto "b"; }`, "fileinto:b[A B C]"},
		{"hasflag-is", `require ["imap4flags", "fileinto"]; addflag "\\Flagged"; if hasflag :is "\\flagged" { fileinto "f"; }`, "fileinto:f[\\Flagged]"},
		// §5: implicit keep carries the internal flags
		{"implicit-flags", `require "imap4flags"; addflag "$Work"; addflag "$Work \\Seen";`, "implicit[$Work \\Seen]"},
		{"fileinto-flags-tag", `require ["imap4flags", "fileinto"]; addflag "a"; fileinto :flags "b" "X"; fileinto "Y";`, "fileinto:X[b] fileinto:Y[a]"},
		{"invalid-flag-ignored", `require "imap4flags"; addflag ["\\Bogus", "ok", "bad(flag"]; keep;`, "keep[ok]"},
		{"flags-need-require", `keep :flags "a";`, "ERR:requires the imap4flags extension"},
	})
}

// RFC 5228 §5.4 envelope and RFC 5233 subaddress examples.
func TestEnvelopeSubaddress(t *testing.T) {
	runCasesWith(t, "", func(e *Env) {
		e.Envelope.To = "ken+sieve@example.org"
		e.Envelope.From = "MAILER-DAEMON@example.com"
	}, []runCase{
		{"envelope-all", `require ["envelope","fileinto"]; if envelope :all :is "from" "mailer-daemon@example.com" { fileinto "d"; }`, "fileinto:d"},
		// RFC 5233 §4 examples
		{"detail", `require ["envelope","subaddress","fileinto"]; if envelope :detail "to" "sieve" { fileinto "inbox.sieve"; }`, "fileinto:inbox.sieve"},
		{"user", `require ["envelope","subaddress","fileinto"]; if envelope :user "to" "ken" { fileinto "ken"; }`, "fileinto:ken"},
		{"detail-matches", `require ["envelope","subaddress","fileinto","variables"]; if envelope :detail :matches "to" "*" { fileinto "inbox.${1}"; }`, "fileinto:inbox.sieve"},
		{"envelope-unknown-part", `require "envelope"; if envelope "x-foo" "a" { keep; }`, "ERR:unknown envelope part"},
		{"envelope-needs-require", `if envelope "to" "a" { keep; }`, "ERR:requires the envelope extension"},
		{"detail-needs-require", `if address :detail "to" "a" { keep; }`, "ERR:requires the subaddress extension"},
	})
	runCasesWith(t, "", func(e *Env) { e.Envelope.From = "" }, []runCase{
		// RFC 5228 §5.4: the null reverse-path is ""
		{"null-sender", `require ["envelope","fileinto"]; if envelope :domain :is "from" "" { fileinto "bounce"; }`, "fileinto:bounce"},
	})
	runCasesWith(t, "", func(e *Env) { e.Envelope.To = "ken@example.org" }, []runCase{
		// RFC 5233 §4: no separator: :detail does not match at all
		{"no-detail", `require ["envelope","subaddress","fileinto"]; if envelope :detail :matches "to" "*" { fileinto "x"; }`, "implicit"},
	})
}

func TestCopyMailboxSpecialUse(t *testing.T) {
	runCasesWith(t, "", func(e *Env) {
		e.SpecialUseExists = func(use string) bool { return strings.EqualFold(use, "\\Junk") }
	}, []runCase{
		// RFC 3894 §4
		{"copy", `require ["copy","fileinto"]; fileinto :copy "Archive"; redirect :copy "b@example.net";`, "fileinto:Archive:copy redirect:b@example.net:copy implicit"},
		{"copy-needs-require", `require "fileinto"; fileinto :copy "A";`, "ERR:requires the copy extension"},
		// RFC 5490 §3
		{"create", `require ["fileinto","mailbox"]; fileinto :create "New";`, "fileinto:New:create"},
		{"mailboxexists", `require ["fileinto","mailbox"]; if mailboxexists ["INBOX","Existing"] { fileinto "yes"; } if mailboxexists "Nope" { fileinto "no"; }`, "fileinto:yes"},
		// RFC 8579
		{"specialuse", `require ["fileinto","special-use"]; fileinto :specialuse "\\Junk" "Spam";`, "fileinto:Spam:specialuse=\\Junk"},
		{"specialuse-exists", `require ["fileinto","special-use"]; if specialuse_exists "\\Junk" { fileinto "j"; } if specialuse_exists "\\Trash" { fileinto "t"; }`, "fileinto:j"},
	})
}

// RFC 5231 (relational) examples.
func TestRelational(t *testing.T) {
	msg := "From: a@example.com\r\nTo: b@example.com, c@example.com\r\nCc: d@example.com\r\nX-Priority: 3\r\nSubject: x\r\n\r\nbody\r\n"
	runCasesWith(t, msg, nil, []runCase{
		// §6 examples
		{"count-ge-3", `require ["relational", "comparator-i;ascii-numeric", "fileinto"];
if address :count "ge" :comparator "i;ascii-numeric" ["to", "cc"] "3" { fileinto "many"; }`, "fileinto:many"},
		{"count-eq-2-to", `require ["relational", "comparator-i;ascii-numeric", "fileinto"];
if address :count "eq" :comparator "i;ascii-numeric" "to" "2" { fileinto "two"; }`, "fileinto:two"},
		{"value-gt", `require ["relational", "comparator-i;ascii-numeric", "fileinto"];
if header :value "gt" :comparator "i;ascii-numeric" "x-priority" "2" { fileinto "high"; }`, "fileinto:high"},
		{"value-lt-string", `require ["relational", "fileinto"]; if header :value "lt" "from" "b" { fileinto "lt"; }`, "fileinto:lt"},
		{"numeric-infinity", `require ["relational", "comparator-i;ascii-numeric", "fileinto"];
if header :value "gt" :comparator "i;ascii-numeric" "subject" "99999" { fileinto "inf"; }`, "fileinto:inf"},
		{"bad-op", `require "relational"; if header :value "xx" "a" "b" { keep; }`, "ERR:invalid relational operator"},
		{"numeric-contains", `require "comparator-i;ascii-numeric"; if header :contains :comparator "i;ascii-numeric" "a" "1" { keep; }`, "ERR:does not support :contains"},
	})
}

// RFC 5429 reject and ereject.
func TestReject(t *testing.T) {
	runCases(t, []runCase{
		{"reject", `require "reject"; reject "I don't want your mail";`, "reject:I don't want your mail"},
		{"ereject", `require "ereject"; ereject "no";`, "ereject:no"},
		{"reject-fileinto", `require ["reject","fileinto"]; fileinto "x"; reject "no";`, "RT:conflicts with fileinto"},
		{"reject-twice", `require "reject"; reject "a"; reject "b";`, "RT:duplicate reject"},
		{"reject-vacation", `require ["reject","vacation"]; reject "a"; vacation "b";`, "RT:conflicts with reject"},
		{"reject-discard", `require "reject"; discard; reject "a";`, "discard reject:a"},
	})
}

// RFC 5230 vacation and RFC 6131 vacation-seconds.
func TestVacation(t *testing.T) {
	runCases(t, []runCase{
		// §4 examples
		{"plain", `require "vacation"; vacation "I'm out -- send mail to cyrus-bugs";`, "vacation:168h0m0s|Auto: I have a present for you||I'm out -- send mail to cyrus-bugs implicit"},
		{"days-subject-from", `require "vacation";
vacation :days 23 :addresses ["tjs@example.edu", "ts4z@landru.example.edu"] :subject "Out of office" :from "tjs@example.edu" "I'm away until October 19.";`,
			"vacation:552h0m0s|Out of office|tjs@example.edu|I'm away until October 19. implicit"},
		{"seconds", `require "vacation-seconds"; vacation :seconds 1800 "brb";`, "vacation:30m0s|Auto: I have a present for you||brb implicit"},
		{"seconds-zero", `require "vacation-seconds"; vacation :seconds 0 "x";`, "vacation:0s|Auto: I have a present for you||x implicit"},
		{"seconds-needs-require", `require "vacation"; vacation :seconds 10 "x";`, "ERR:requires the vacation-seconds extension"},
		{"days-and-seconds", `require "vacation-seconds"; vacation :days 1 :seconds 10 "x";`, "ERR:can not be used together"},
		{"twice", `require "vacation"; vacation "a"; vacation "b";`, "RT:duplicate vacation"},
		{"bad-from", `require "vacation"; vacation :from "not an address" "x";`, "ERR:not a valid address"},
	})
	s, _ := Compile("v", []byte(`require "vacation"; vacation :handle "h" :mime "Content-Type: text/plain\r\n\r\nx";`), Options{}, nil)
	r, err := s.Execute(context.Background(), testEnv(testMsg))
	if err != nil || len(r.Actions) != 1 {
		t.Fatal(err, r)
	}
	if v := r.Actions[0].(Vacation); v.Handle != "h" || !v.Mime {
		t.Fatalf("%+v", v)
	}
	// the default handle and subject, as Pigeonhole makes them
	s, _ = Compile("v", []byte(`require "vacation"; vacation :subject "Away" "I am away";`), Options{}, nil)
	r, _ = s.Execute(context.Background(), testEnv(testMsg))
	if v := r.Actions[0].(Vacation); v.Handle != "I am awayAway<default-from><NO-MIME>" {
		t.Fatalf("handle %q", v.Handle)
	}
	s, _ = Compile("v", []byte(`require "vacation"; vacation "x";`), Options{}, nil)
	r, _ = s.Execute(context.Background(), testEnv("From: a@b.c\r\n\r\nbody\r\n"))
	if v := r.Actions[0].(Vacation); v.Subject != "Automated reply" || v.Handle != "x<default-subject><default-from><NO-MIME>" {
		t.Fatalf("no subject: %+v", v)
	}
}

func TestShouldAutoReply(t *testing.T) {
	base := "From: Friend <friend@example.net>\r\nTo: Me <me@example.com>\r\nSubject: hi\r\n"
	cases := []struct {
		name, hdr, from string
		want            bool
	}{
		{"normal", "", "friend@example.net", true},
		{"null-sender", "", "", false},
		{"null-sender-brackets", "", "<>", false},
		{"own-address", "", "me@example.com", false},
		{"own-address-detail", "", "me+x@example.com", false},
		{"mailer-daemon", "", "MAILER-DAEMON@example.net", false},
		{"owner", "", "owner-list@example.net", false},
		{"request", "", "list-request@example.net", false},
		{"auto-submitted", "Auto-Submitted: auto-replied\r\n", "friend@example.net", false},
		{"auto-submitted-no", "Auto-Submitted: no\r\n", "friend@example.net", true},
		{"precedence-bulk", "Precedence: bulk\r\n", "friend@example.net", false},
		{"precedence-list", "Precedence: list\r\n", "friend@example.net", false},
		{"list-id", "List-Id: <x.example.net>\r\n", "friend@example.net", false},
		{"list-unsubscribe", "List-Unsubscribe: <mailto:u@example.net>\r\n", "friend@example.net", false},
		{"request-infix", "", "list-request-bounces@example.net", false},
		{"auto-response-suppress", "X-Auto-Response-Suppress: DR, OOF\r\n", "friend@example.net", false},
		{"auto-response-suppress-other", "X-Auto-Response-Suppress: DR\r\n", "friend@example.net", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			env := &Env{Envelope: Envelope{From: c.from, To: "me@example.com"}, Msg: NewMessage([]byte(base + c.hdr + "\r\nbody\r\n"))}
			got, why := ShouldAutoReply(env)
			if got != c.want {
				t.Fatalf("got %v (%s), want %v", got, why, c.want)
			}
		})
	}
	// RFC 5230 §4.5: not a visible recipient, unless :addresses names
	// the address it came to
	env := &Env{Envelope: Envelope{From: "f@example.net", To: "me@example.com"}, Msg: NewMessage([]byte("From: f@example.net\r\nTo: alias@example.org\r\n\r\nx\r\n"))}
	if ok, _ := ShouldAutoReply(env); ok {
		t.Fatal("replied although the user is not a recipient")
	}
	if ok, _ := ShouldAutoReplyFor(env, &Vacation{Addresses: []string{"alias@example.org"}}); !ok {
		t.Fatal(":addresses not counted")
	}
}

// RFC 5173 (body) examples.
func TestBody(t *testing.T) {
	mp := "From: a@example.com\r\nSubject: x\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n" +
		"--b\r\nContent-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nDas ist gr=FCn. MAKE MONEY FAST\r\n" +
		"--b\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\nPGI+Ym9sZDwvYj4gaHRtbA==\r\n" +
		"--b\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\nc2VjcmV0\r\n--b--\r\n"
	runCasesWith(t, mp, nil, []runCase{
		// §7 example: spam check
		{"text-contains", `require ["body","fileinto"]; if body :text :contains "MAKE MONEY FAST" { fileinto "spam"; }`, "fileinto:spam"},
		{"default-text", `require ["body","fileinto"]; if body :contains "make money" { fileinto "spam"; }`, "fileinto:spam"},
		{"charset-decoded", `require ["body","fileinto"]; if body :contains "grün" { fileinto "de"; }`, "fileinto:de"},
		{"html-without-markup", `require ["body","fileinto"]; if body :text :contains "<b>" { fileinto "markup"; } if body :text :contains "bold" { fileinto "bold"; }`, "fileinto:bold"},
		{"content-type", `require ["body","fileinto"]; if body :content "application/octet-stream" :contains "secret" { fileinto "att"; }`, "fileinto:att"},
		{"content-maintype", `require ["body","fileinto"]; if body :content "text" :contains "<b>bold" { fileinto "html"; }`, "fileinto:html"},
		{"raw", `require ["body","fileinto"]; if body :raw :contains "gr=FCn" { fileinto "raw"; } if body :raw :contains "secret" { fileinto "no"; }`, "fileinto:raw"},
		{"needs-require", `if body :contains "x" { keep; }`, "ERR:requires the body extension"},
	})
}

// RFC 5260 (date, index) examples.
func TestDateIndex(t *testing.T) {
	msg := "Received: from a by b; Mon, 07 Dec 2026 09:30:00 +0000\r\nReceived: from c by d; Sun, 06 Dec 2026 22:00:00 +0000\r\n" +
		"Date: Sun, 06 Dec 2026 21:59:00 -0500\r\nFrom: a@example.com\r\nTo: x@example.com\r\nSubject: s\r\n\r\nbody\r\n"
	runCasesWith(t, msg, nil, []runCase{
		// §4 examples
		{"date-after", `require ["date","relational","fileinto"];
if date :value "ge" :originalzone "date" "hour" "09" { fileinto "late"; }`, "fileinto:late"},
		{"zone-utc", `require ["date","fileinto","variables"]; if date :zone "+0000" :matches "date" "date" "*" { fileinto "${1}"; }`, "fileinto:2026-12-07"},
		{"default-zone-is-env", `require ["date","fileinto","variables"]; if date :matches "date" "iso8601" "*" { fileinto "${1}"; }`, "fileinto:2026-12-07T02:59:00+00:00"},
		{"parts", `require ["date","fileinto","variables"];
if date :zone "+0100" :matches "date" "std11" "*" { set "a" "${1}"; }
if date :originalzone :matches "date" "weekday" "*" { set "b" "${1}"; }
if date :originalzone :matches "date" "julian" "*" { set "c" "${1}"; }
if date :originalzone :matches "date" "zone" "*" { set "d" "${1}"; }
fileinto "${a}|${b}|${c}|${d}";`, "fileinto:Mon, 07 Dec 2026 03:59:00 +0100|0|61380|-0500"},
		{"currentdate", `require ["date","fileinto","variables"]; if currentdate :matches "date" "*" { fileinto "${1}"; }`, "fileinto:2026-12-07"},
		{"received", `require ["date","fileinto"]; if date :originalzone :is "received" "hour" "09" { fileinto "r"; }`, "fileinto:r"},
		// §7 index examples
		{"index-last", `require ["date","index","fileinto"]; if date :index 1 :last :originalzone :is "received" "hour" "22" { fileinto "first-hop"; }`, "fileinto:first-hop"},
		{"index-first", `require ["index","fileinto"]; if header :index 2 :contains "received" "from c" { fileinto "two"; }`, "fileinto:two"},
		{"index-out-of-range", `require ["index","fileinto"]; if header :index 3 :contains "received" "" { fileinto "three"; }`, "implicit"},
		{"last-needs-index", `require "index"; if header :last :is "a" "b" { keep; }`, "ERR::last needs :index"},
		{"bad-date-part", `require "date"; if currentdate "fortnight" "1" { keep; }`, "ERR:unknown date part"},
	})
}

// RFC 6609 (include).
func TestInclude(t *testing.T) {
	scripts := map[string]string{
		"personal:spam":   `require ["fileinto"]; if header :contains "subject" "present" { fileinto "Spam"; stop; }`,
		"global:vars":     `require ["include", "variables"]; global "box"; set "box" "FromGlobal";`,
		"personal:loop":   `require "include"; include "loop";`,
		"personal:ret":    `require ["include","fileinto"]; fileinto "R1"; return; fileinto "R2";`,
		"personal:broken": `if true {`,
		"personal:once":   `require "fileinto"; fileinto "Once";`,
	}
	loader := func(name string, global bool) ([]byte, error) {
		key := "personal:" + name
		if global {
			key = "global:" + name
		}
		s, ok := scripts[key]
		if !ok {
			return nil, fmt.Errorf("no script %s: %w", key, fs.ErrNotExist)
		}
		return []byte(s), nil
	}
	cases := []runCase{
		{"stop-in-included", `require "include"; include "spam"; keep;`, "fileinto:Spam"},
		{"global-var", `require ["include","variables","fileinto"]; global "box"; include :global "vars"; fileinto "${box}";`, "fileinto:FromGlobal"},
		{"global-namespace", `require ["include","variables","fileinto"]; include :global "vars"; fileinto "${global.box}";`, "fileinto:FromGlobal"},
		{"not-global-local", `require ["include","variables","fileinto"]; include :global "vars"; fileinto "x${box}";`, "fileinto:x"},
		{"return", `require ["include","fileinto"]; include "ret"; fileinto "after";`, "fileinto:R1 fileinto:after"},
		{"once", `require "include"; include :once "once"; include :once "once";`, "fileinto:Once"},
		{"loop", `require "include"; include "loop";`, "ERR:loops"},
		{"missing", `require "include"; include "nothere";`, "ERR:include of 'nothere' failed"},
		{"optional", `require "include"; include :optional "nothere"; keep;`, "keep"},
		{"broken", `require "include"; include "broken";`, "ERR:included script 'broken'"},
		{"bad-name", `require "include"; include "a/b";`, "ERR:invalid script name"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, err := Compile("main", []byte(c.script), Options{}, loader)
			if strings.HasPrefix(c.want, "ERR:") {
				if err == nil || !strings.Contains(err.Error(), c.want[4:]) {
					t.Fatalf("got %v, want %q", err, c.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			r, err := s.Execute(context.Background(), testEnv(testMsg))
			if err != nil {
				t.Fatal(err)
			}
			if got := summary(r); got != c.want {
				t.Fatalf("got %q want %q", got, c.want)
			}
		})
	}
	// depth limit
	deep := func(name string, global bool) ([]byte, error) {
		return []byte(`require "include"; include "` + name + `x";`), nil
	}
	_, err := Compile("d", []byte(`require "include"; include "a";`), Options{MaxIncludeDepth: 3}, deep)
	if !errors.Is(err, ErrIncludeTooDeep) {
		t.Fatalf("include depth: %v", err)
	}
}

// RFC 5228 §2.4.2.4 encoded-character.
func TestEncodedCharacter(t *testing.T) {
	runCases(t, []runCase{
		// the RFC's examples: both are "$$$"
		{"hex", `require ["encoded-character","fileinto"]; fileinto "$${hex:24 24}";`, "fileinto:$$$"},
		{"unicode", `require ["encoded-character","fileinto"]; fileinto "$${unicode:24 24}";`, "fileinto:$$$"},
		{"case-and-blanks", `require ["encoded-character","fileinto"]; fileinto "${HEX: 41 4a }${Unicode:1F600}";`, "fileinto:AJ\U0001F600"},
		{"malformed-kept", `require ["encoded-character","fileinto"]; fileinto "${hex:4}${hex:zz}${other:41}";`, "fileinto:${hex:4}${hex:zz}${other:41}"},
		{"not-required", `require "fileinto"; fileinto "${hex:41}";`, "fileinto:${hex:41}"},
		{"surrogate", `require ["encoded-character","fileinto"]; fileinto "${unicode:D800}";`, "ERR:invalid unicode"},
	})
}

// RFC 5293 (editheader).
func TestEditHeader(t *testing.T) {
	s, err := Compile("e", []byte(`require ["editheader","fileinto"];
addheader "X-Sieve" "filtered";
addheader :last "X-Note" "Grüße";
deleteheader :index 1 "Cc";
deleteheader :contains "X-Caffeine" "C8";
deleteheader "Received";
if header :is "x-sieve" "filtered" { fileinto "Seen"; }`), Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	r, err := s.Execute(context.Background(), testEnv("Received: from x\r\n"+testMsg))
	if err != nil {
		t.Fatal(err)
	}
	if summary(r) != "fileinto:Seen" {
		t.Fatal(summary(r))
	}
	h := string(r.EditedHeader)
	for _, want := range []string{"X-Sieve: filtered\r\nReceived: from x\r\n", "X-Note: =?UTF-8?B?R3LDvMOfZQ==?=\r\n\r\n"} {
		if !strings.Contains(h, want) {
			t.Errorf("edited header lacks %q:\n%s", want, h)
		}
	}
	for _, gone := range []string{"Cc:", "X-Caffeine"} {
		if strings.Contains(h, gone) {
			t.Errorf("edited header still has %q", gone)
		}
	}
	runCases(t, []runCase{
		{"bad-name-runtime", `require ["editheader","variables"]; set "n" "Bad Name"; addheader "${n}" "x";`, "RT:invalid header field name"},
	})
}

// RFC 7352 (duplicate).
func TestDuplicate(t *testing.T) {
	seen := map[string]time.Duration{}
	set := func(e *Env) {
		e.Duplicate = func(id string, p time.Duration) bool { _, ok := seen[id]; return ok }
	}
	src := `require ["duplicate","fileinto"]; if duplicate { fileinto "Dup"; }`
	s, err := Compile("d", []byte(src), Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	msg := "Message-ID: <a@b>\r\n" + testMsg
	env := testEnv(msg)
	set(env)
	r, _ := s.Execute(context.Background(), env)
	if summary(r) != "implicit" || len(r.Duplicates) != 1 || r.Duplicates[0].Period != DefaultDuplicatePeriod {
		t.Fatalf("first: %s %+v", summary(r), r.Duplicates)
	}
	seen[r.Duplicates[0].ID] = r.Duplicates[0].Period
	r, _ = s.Execute(context.Background(), env)
	if summary(r) != "fileinto:Dup" {
		t.Fatalf("second: %s", summary(r))
	}
	runCasesWith(t, msg, set, []runCase{
		{"uniqueid-handle", `require ["duplicate","fileinto"]; if duplicate :handle "h" :uniqueid "x" :seconds 60 :last { fileinto "D"; }`, "implicit"},
		{"no-message-id", `require ["duplicate","fileinto"]; if duplicate :header "X-None" { fileinto "D"; }`, "implicit"},
	})
}

// RFC 5235 (spamtest, virustest).
func TestSpamVirusTest(t *testing.T) {
	pre := `require ["spamtestplus","virustest","relational","comparator-i;ascii-numeric","fileinto","variables"];
if spamtest :matches "*" { set "s" "${1}"; }
if spamtest :percent :matches "*" { set "p" "${1}"; }
if virustest :matches "*" { set "v" "${1}"; }
fileinto "${s}/${p}/${v}";`
	// Pigeonhole's scale: int(score/max*9 + 1.001), truncated
	runCasesWith(t, "X-Spam-Score: 5.0\r\nX-Virus-Score: 4\r\n"+testMsg, nil, []runCase{{"scores", pre, "fileinto:5/50/4"}})
	runCasesWith(t, "X-Spam-Score: 9.9\r\nX-Virus-Score: 5\r\n"+testMsg, nil, []runCase{{"truncated", pre, "fileinto:9/99/5"}})
	runCasesWith(t, "X-Spam-Score: -2\r\n"+testMsg, nil, []runCase{{"negative", pre, "fileinto:0/0/0"}})
	runCasesWith(t, "X-Spam-Score: 99\r\n"+testMsg, nil, []runCase{{"clamped", pre, "fileinto:10/100/0"}})
	runCasesWith(t, testMsg, nil, []runCase{{"untested", pre, "fileinto:0/0/0"}})
}

// RFC 5703 (mime, foreverypart, extracttext).
func TestMime(t *testing.T) {
	mp := "From: a@example.com\r\nSubject: x\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n" +
		"--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nHello there, this is text.\r\n" +
		"--b\r\nContent-Type: image/png; name=\"p.png\"\r\nContent-Disposition: attachment; filename=\"p.png\"\r\n\r\nxx\r\n--b--\r\n"
	runCasesWith(t, mp, nil, []runCase{
		{"anychild-type", `require ["mime","fileinto"]; if header :mime :anychild :type "content-type" "image" { fileinto "img"; }`, "fileinto:img"},
		{"top-contenttype", `require ["mime","fileinto"]; if header :mime :contenttype "content-type" "multipart/mixed" { fileinto "mm"; }`, "fileinto:mm"},
		{"param", `require ["mime","fileinto"]; if header :mime :anychild :param "filename" "content-disposition" "p.png" { fileinto "p"; }`, "fileinto:p"},
		{"foreverypart", `require ["mime","foreverypart","fileinto","variables"];
set "n" "";
foreverypart { if header :mime :subtype "content-type" "*" { set "n" "${n}x"; } if header :mime :matches :subtype "content-type" "*" { set "n" "${n}${1},"; } }
fileinto "${n}";`, "fileinto:mixed,plain,png,"}, // the top level too, as Pigeonhole
		{"break-name", `require ["foreverypart","fileinto"]; foreverypart :name "outer" { foreverypart { break :name "outer"; } fileinto "never"; } keep;`, "keep"},
		{"extracttext", `require ["mime","foreverypart","extracttext","variables","fileinto"];
foreverypart { if header :mime :type "content-type" "text" { extracttext :first 5 "t"; fileinto "${t}"; } }`, "fileinto:Hello"},
		{"extracttext-outside", `require ["extracttext","variables","foreverypart"]; extracttext "t";`, "ERR:not inside a foreverypart"},
		{"break-outside", `require "foreverypart"; break;`, "ERR:break outside foreverypart"},
		{"break-unknown-name", `require "foreverypart"; foreverypart :name "a" { break :name "b"; }`, "ERR:names no enclosing foreverypart"},
		{"anychild-needs-mime", `require "mime"; if header :anychild "a" "b" { keep; }`, "ERR::anychild needs :mime"},
	})
}

// Compile-time checks that Pigeonhole's own error tests expect.
func TestCompileChecks(t *testing.T) {
	runCases(t, []runCase{
		{"set-number-name", `require "variables"; set 1 "x";`, "ERR:must be a string"},
		{"unknown-namespace", `require ["variables","fileinto"]; fileinto "${namespace.frop}";`, "ERR:unknown namespace 'namespace'"},
		{"set-unknown-namespace", `require "variables"; set "complex.struct.frop" "v";`, "ERR:unknown namespace 'complex'"},
		{"global-namespace-needs-include", `require ["variables","fileinto"]; fileinto "${global.x}";`, "ERR:unknown namespace 'global'"},
		{"long-var-name", `require "variables"; set "v` + strings.Repeat("x", 64) + `" "x";`, "ERR:invalid variable name"},
		{"match-index", `require "variables"; if string "${33}" "v" { stop; }`, "ERR:beyond ${32}"},
		{"match-index-ok", `require "variables"; if string "${32}" "" { discard; }`, "discard"},
		{"many-variables", `require "variables";` + manySets(256), "ERR:more than 255 variables"},
		{"foreverypart-nesting", `require "foreverypart"; foreverypart { foreverypart { foreverypart { foreverypart { foreverypart { } } } } }`, "ERR:foreverypart nested deeper"},
		{"extracttext-needs-variables", `require ["extracttext","foreverypart"]; foreverypart { extracttext "x"; }`, "ERR:without the variables extension"},
		{"extracttext-needs-foreverypart", `require ["extracttext","variables"];`, "ERR:without the foreverypart extension"},
		{"global-needs-variables", `require "include"; global "x";`, "ERR:global needs the variables extension"},
		{"addheader-bad-name", `require "editheader"; addheader "X field" "v";`, "ERR:invalid header field name"},
		{"deleteheader-bad-name", `require "editheader"; deleteheader "X-field:";`, "ERR:invalid header field name"},
		{"address-non-address-header", `if address :is "subject" "x" { keep; }`, "ERR:not allowed for the address test"},
	})
}

func manySets(n int) string {
	var b strings.Builder
	for k := 0; k < n; k++ {
		fmt.Fprintf(&b, "set \"v%d\" \"x\";\n", k)
	}
	return b.String()
}

// draft-ietf-sieve-regex, as Pigeonhole implements it.
func TestRegex(t *testing.T) {
	runCases(t, []runCase{
		{"groups", `require ["regex","variables","fileinto"]; if header :regex "subject" "^I (have) a (.*)$" { fileinto "${1}-${2}-${0}"; }`, "fileinto:have-present for you-I have a present for you"},
		{"casemap", `require ["regex","fileinto"]; if header :regex "subject" "PRESENT" { fileinto "ci"; }`, "fileinto:ci"},
		{"octet", `require ["regex","fileinto"]; if header :regex :comparator "i;octet" "subject" "PRESENT" { fileinto "cs"; }`, "implicit"},
		{"posix-class", `require ["regex","fileinto"]; if header :regex "x-caffeine" "^C[[:digit:]]+H" { fileinto "class"; }`, "fileinto:class"},
		{"leftmost-longest", `require ["regex","variables","fileinto"]; if header :regex "subject" "(pre|present)" { fileinto "${1}"; }`, "fileinto:present"},
		{"invalid", `require "regex"; if header :regex "subject" "(" { keep; }`, "ERR:invalid regular expression"},
		{"needs-require", `if header :regex "subject" "x" { keep; }`, "ERR:requires the regex extension"},
		{"numeric", `require ["regex","comparator-i;ascii-numeric"]; if header :regex :comparator "i;ascii-numeric" "subject" "x" { keep; }`, "ERR:does not support :regex"},
	})
}

func TestEnvironment(t *testing.T) {
	runCases(t, []runCase{
		{"location", `require ["environment","fileinto"]; if environment :is "location" "MDA" { fileinto "mda"; }`, "fileinto:mda"},
		{"phase", `require ["environment","fileinto","variables"]; if environment :matches "domain" "*" { fileinto "${1}"; }`, "fileinto:acme.example.com"},
	})
}
