package sieve

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"mime"
	"net/mail"
	"slices"
	"strings"
	"testing"

	mimetree "barid/internal/mail/mime"
)

// RFC 5463 (ihave): Pigeonhole's behaviour is compared in the
// differential corpus (118-120); these are the cases it cannot show.
func TestIhave(t *testing.T) {
	runCases(t, []runCase{
		{"known", `require ["ihave", "fileinto"]; if ihave "fileinto" { fileinto "A"; }`, "fileinto:A"},
		// RFC 5463 §4: an unknown capability: the block is not checked
		{"unknown-block-unchecked", `require ["ihave", "fileinto"];
if ihave "x-future" { xfuture :tag "arg" { nested; } } else { fileinto "B"; }`, "fileinto:B"},
		{"all-must-be-there", `require ["ihave", "fileinto"]; if ihave ["fileinto", "x-none"] { fileinto "A"; } else { fileinto "B"; }`, "fileinto:B"},
		{"unchecked-vars", `require ["ihave", "fileinto", "variables"]; if ihave "x-ns" { set "x" "${xns.name}"; } fileinto "E";`, "fileinto:E"},
		{"allof-guard", `require ["ihave", "fileinto"]; if allof(true, ihave "x-none") { frob; } fileinto "C";`, "fileinto:C"},
		// the capabilities a true ihave names are usable from there on
		{"enables", `require ["ihave", "fileinto"];
if ihave "imap4flags" { addflag "\\Seen"; }
if ihave "copy" { fileinto :copy "D"; }`, "fileinto:D:copy[\\Seen] implicit[\\Seen]"},
		// as Pigeonhole: variables and encoded-character change how
		// every string is read and can not be had through ihave
		{"variables-not-ihaveable", `require ["ihave", "fileinto", "variables"]; if ihave "variables" { fileinto "V"; } else { fileinto "N"; }`, "fileinto:N"},
		// a disabled extension is not there for ihave either (below)
		{"not-a-guard", `require ["ihave"]; if not ihave "x-none" { frob; }`, "ERR:unknown command 'frob'"},
		{"needs-require", `if ihave "fileinto" { keep; }`, "ERR:requires the ihave extension"},
		// RFC 5463 §5: error
		{"error", `require ["ihave", "fileinto"]; fileinto "A"; error "stop here"; fileinto "B";`, "RT:stop here"},
	})
	s, err := Compile("t", []byte(`require ["ihave", "fileinto"]; if ihave "enotify" { notify "mailto:a@example.net"; } else { fileinto "off"; }`),
		Options{Extensions: []string{"ihave", "fileinto"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	r, err := s.Execute(context.Background(), testEnv(testMsg))
	if err != nil || summary(r) != "fileinto:off" {
		t.Fatalf("ihave of a disabled extension: %v %s", err, summary(r))
	}
}

func notifySummary(r *Result) string {
	var out []string
	for _, a := range r.Actions {
		if n, ok := a.(Notify); ok {
			var rc []string
			for _, x := range n.Mailto.Recipients {
				rc = append(rc, x.Field+"="+x.Address)
			}
			out = append(out, fmt.Sprintf("%d|%s|%s|%s", n.Importance, n.From, n.Message, strings.Join(rc, ",")))
		}
	}
	return strings.Join(out, " ; ")
}

// RFC 5435 (enotify) and RFC 5436 (mailto).
func TestNotify(t *testing.T) {
	run := func(src string, opts Options) (*Result, error) {
		t.Helper()
		s, err := Compile("n", []byte(src), opts, nil)
		if err != nil {
			return nil, err
		}
		return s.Execute(context.Background(), testEnv(testMsg))
	}
	cases := []struct{ name, src, want string }{
		// RFC 5435 §3.7 example 1 (the boss's mail)
		{"example-1", `require ["enotify", "fileinto", "variables"];
if header :contains "from" "example" {
  notify :importance "1" :message "This is probably very important" "mailto:alm@example.com";
  stop;
}`, "1||This is probably very important|to=alm@example.com"},
		// RFC 5435 §6 example 6: :encodeurl keeps the body one field
		{"encodeurl", `require ["enotify", "variables"];
set :encodeurl "body_param" "Safe body&evil=evilbody";
notify "mailto:tim@example.com?body=${body_param}";`, "2|||to=tim@example.com"},
		{"recipients", `require "enotify"; notify :from "me@example.com" "mailto:a@example.net%2Cb@example.net?cc=c@example.net&to=d@example.net";`,
			"2|me@example.com||to=a@example.net,to=b@example.net,cc=c@example.net,to=d@example.net"},
		// a recipient already notified is dropped; nothing left, no action
		{"duplicates", `require "enotify"; notify "mailto:a@example.net"; notify "mailto:a@EXAMPLE.NET?cc=b@example.net"; notify "mailto:b@example.net";`,
			"2|||to=a@example.net ; 2|||cc=b@example.net"},
		{"no-recipients", `require ["enotify", "variables"]; set "m" "mailto:"; notify "${m}";`, ""},
		// RFC 5435 §3.3: an unusable :from (from a variable) is ignored
		{"bad-from-ignored", `require ["enotify", "variables"]; set "f" "not an address"; notify :from "${f}" "mailto:a@example.net";`, "2|||to=a@example.net"},
	}
	for _, c := range cases {
		r, err := run(c.src, Options{})
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if got := notifySummary(r); got != c.want {
			t.Errorf("%s: got %q, want %q", c.name, got, c.want)
		}
		if !r.ImplicitKeep && c.name != "example-1" {
			t.Errorf("%s: notify cancelled the implicit keep (RFC 5435 §7)", c.name)
		}
	}
	r, _ := run(`require ["enotify", "variables"]; set :encodeurl "x" "a b&c=d/é~_.-"; notify :message "${x}" "mailto:a@example.net";`, Options{})
	if n := r.Actions[0].(Notify); n.Message != "a%20b%26c%3Dd%2F%C3%A9~_.-" {
		t.Errorf(":encodeurl gave %q", n.Message)
	}
	// compile errors (RFC 5435 §3.2, §3.4, §3.5)
	for _, src := range []string{
		`require "enotify"; notify "xmpp:tim@example.com";`,
		`require "enotify"; notify "mailto:not an address";`,
		`require "enotify"; notify :importance "0" "mailto:a@example.net";`,
		`require "enotify"; notify :options "=x" "mailto:a@example.net";`,
		`require "enotify"; notify :from "nobody" "mailto:a@example.net";`,
		`notify "mailto:a@example.net";`,
		`require "variables"; set :encodeurl "a" "b";`,
	} {
		if _, err := Compile("bad", []byte(src), Options{}, nil); err == nil {
			t.Errorf("compiled: %s", src)
		}
	}
	// a method from a variable is checked when it runs: an error
	if _, err := run(`require ["enotify", "variables"]; set "m" "tel:+1555"; notify "${m}";`, Options{}); err == nil {
		t.Error("an unsupported method at run time is no error")
	}
	// max_notifications counts recipients
	r, err := run(`require "enotify"; notify "mailto:a@example.net%2Cb@example.net"; notify "mailto:c@example.net";`, Options{MaxNotifications: 2})
	if !errors.Is(err, ErrTooManyNotifications) || !r.ImplicitKeep || len(r.Actions) != 0 {
		t.Errorf("max_notifications: %v %s", err, summary(r))
	}
	// valid_notify_method and notify_method_capability (RFC 5435 §4-5,
	// RFC 5436 §2.2)
	runCases(t, []runCase{
		{"valid", `require ["enotify", "fileinto"]; if valid_notify_method "mailto:a@example.net" { fileinto "V"; }`, "fileinto:V"},
		{"valid-all", `require ["enotify", "fileinto"]; if valid_notify_method ["mailto:a@example.net", "tel:+1"] { fileinto "V"; }`, "implicit"},
		{"capability-online", `require ["enotify", "fileinto"]; if notify_method_capability "mailto:a@example.net" "ONLINE" "maybe" { fileinto "M"; }`, "fileinto:M"},
		{"capability-count", `require ["enotify", "fileinto", "relational", "comparator-i;ascii-numeric"]; if notify_method_capability :count "eq" :comparator "i;ascii-numeric" "mailto:a@example.net" "online" "1" { fileinto "C"; }`, "fileinto:C"},
		{"capability-unknown", `require ["enotify", "fileinto"]; if notify_method_capability "mailto:a@example.net" "x-what" "maybe" { fileinto "M"; }`, "implicit"},
		{"capability-bad-uri", `require ["enotify", "fileinto"]; if notify_method_capability "xmpp:a@example.net" "online" "maybe" { fileinto "M"; }`, "implicit"},
	})
}

// RFC 6068 §6.1-6.2 examples, as RFC 5436 reads them.
func TestParseMailto(t *testing.T) {
	cases := []struct{ uri, want string }{
		{"mailto:chris@example.com", "to=chris@example.com"},
		{"mailto:infobot@example.com?subject=current-issue", "to=infobot@example.com subject=current-issue"},
		{"mailto:infobot@example.com?body=send%20current-issue", "to=infobot@example.com body=send current-issue"},
		{"mailto:joe@example.com?cc=bob@example.com&body=hello", "to=joe@example.com cc=bob@example.com body=hello"},
		{"mailto:gorby%25kremvax@example.com", "to=gorby%kremvax@example.com"},
		{"mailto:?to=addr1@an.example,addr2@an.example", "to=addr1@an.example to=addr2@an.example"},
		{"mailto:addr1@an.example,addr2@an.example", "to=addr1@an.example to=addr2@an.example"},
		{"mailto:addr1@an.example?to=addr2@an.example", "to=addr1@an.example to=addr2@an.example"},
		// RFC 5436 §2.7: these URI fields are ignored
		{"mailto:list@example.org?In-Reply-To=%3C3469A91.D10AF4C@example.com%3E&from=x@y.z&Auto-Submitted=no&X-Tag=1", "to=list@example.org X-Tag:1"},
		{"MAILTO:a@example.net", "to=a@example.net"},
	}
	for _, c := range cases {
		m, err := ParseMailto(c.uri)
		if err != nil {
			t.Errorf("%s: %v", c.uri, err)
			continue
		}
		var got []string
		for _, r := range m.Recipients {
			got = append(got, r.Field+"="+r.Address)
		}
		if m.Subject != "" {
			got = append(got, "subject="+m.Subject)
		}
		if m.HasBody {
			got = append(got, "body="+m.Body)
		}
		for _, h := range m.Headers {
			got = append(got, h[0]+":"+h[1])
		}
		if strings.Join(got, " ") != c.want {
			t.Errorf("%s: got %q, want %q", c.uri, strings.Join(got, " "), c.want)
		}
	}
	for _, bad := range []string{"http://example.com", "mailto:a@", "mailto:a@example.net?subject", "mailto:a@example.net?x%0Ay=1",
		"mailto:a@example.net?X-A=b%0D%0AEvil:%20yes", "mailto:<a@example.net>", "mailto:a@example.net?" + strings.Repeat("x=1&", MaxMailtoHeaders+1)} {
		if _, err := ParseMailto(bad); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
}

// RFC 5436 §2.7: no notification for auto-submitted mail, ours included.
func TestShouldNotify(t *testing.T) {
	for hdr, want := range map[string]bool{
		"":                                 true,
		"Auto-Submitted: no\r\n":           true,
		"Auto-Submitted: No; x=y\r\n":      true,
		"Auto-Submitted: auto-replied\r\n": false,
		"Auto-Submitted: auto-notified; owner-email=\"a@b.c\"\r\n": false,
		"Auto-Submitted: auto-generated\r\n":                       false,
	} {
		env := testEnv(hdr + "From: a@example.org\r\nSubject: x\r\n\r\nbody\r\n")
		if got, _ := ShouldNotify(env); got != want {
			t.Errorf("%q: %v", hdr, got)
		}
	}
}

const multipartMsg = "From: Alice <alice@example.org>\r\nTo: me@example.com\r\nSubject: Report\r\nMessage-ID: <r1@example.org>\r\n" +
	"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"B\"\r\n\r\npreamble\r\n" +
	"--B\r\nContent-Type: text/plain\r\n\r\nSee the attachment.\r\n" +
	"--B\r\nContent-Type: application/x-msdownload; name=\"run.exe\"\r\nContent-Transfer-Encoding: base64\r\n\r\nTVqQAAMAAAAEAAAA\r\n" +
	"--B--\r\n"

func execOn(t *testing.T, msg, src string) *Result {
	t.Helper()
	s, err := Compile("r", []byte(src), Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	r, err := s.Execute(context.Background(), testEnv(msg))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// structure lists the media types of a message, depth first.
func structure(t *testing.T, raw []byte) string {
	t.Helper()
	root, err := mimetree.Parse(bytes.NewReader(raw), mimetree.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	walk(root, func(p *mimetree.Part) {
		typ, sub := p.MediaType()
		out = append(out, typ+"/"+sub)
	})
	return strings.Join(out, " ")
}

// RFC 5703 §5-6 (replace, enclose). Pigeonhole 0.5.19 has neither, so
// they are not in the differential corpus.
func TestReplaceEnclose(t *testing.T) {
	// §5 inside foreverypart: the executable part alone is replaced;
	// the loop does not go into the new part, and later tests see the
	// new structure
	r := execOn(t, multipartMsg, `require ["foreverypart", "mime", "replace", "fileinto", "variables", "body"];
foreverypart {
  if header :mime :contenttype "Content-Type" "application/x-msdownload" {
    replace "Executable attachment removed by user filter";
  }
}
set "n" "";
foreverypart { if header :mime :type "Content-Type" "text" { set "n" "${n}t"; } }
if body :text :contains "removed by user filter" { fileinto "cleaned-${n}"; }`)
	if summary(r) != "fileinto:cleaned-tt" || r.Message == nil {
		t.Fatalf("replace in foreverypart: %s", summary(r))
	}
	if got := structure(t, r.Message); got != "multipart/mixed text/plain text/plain" {
		t.Errorf("structure after replace: %s", got)
	}
	if !bytes.HasPrefix(r.Message, []byte("From: Alice")) || !bytes.Contains(r.Message, []byte("preamble\r\n--B\r\nContent-Type: text/plain\r\n\r\nSee the attachment.\r\n--B\r\n")) ||
		bytes.Contains(r.Message, []byte("TVqQ")) || !bytes.HasSuffix(r.Message, []byte("--B--\r\n")) {
		t.Errorf("replaced message:\n%s", r.Message)
	}

	// §5 the whole message, with :subject and :from: the old ones stay
	// as Original-Subject and Original-From, the MIME fields go
	r = execOn(t, multipartMsg, `require ["replace", "fileinto"];
replace :subject "Ersetzt: Bericht" :from "Filter <me@example.com>" "Nothing to see.";
if header :is "subject" "Ersetzt: Bericht" { fileinto "new-subject"; }`)
	if summary(r) != "fileinto:new-subject" {
		t.Fatalf("replace: %s", summary(r))
	}
	m, err := mail.ReadMessage(bytes.NewReader(r.Message))
	if err != nil {
		t.Fatal(err)
	}
	body := new(strings.Builder)
	fmt.Fprint(body, m.Body)
	for k, want := range map[string]string{
		"Subject": "Ersetzt: Bericht", "Original-Subject": "Report", "From": "Filter <me@example.com>",
		"Original-From": "Alice <alice@example.org>", "Message-Id": "<r1@example.org>",
		"Content-Type": "text/plain; charset=utf-8", "Mime-Version": "1.0",
	} {
		if got := m.Header.Get(k); got != want {
			t.Errorf("replace: %s = %q, want %q", k, got, want)
		}
	}
	if len(m.Header["Content-Type"]) != 1 {
		t.Errorf("replace left the old Content-Type: %q", m.Header["Content-Type"])
	}
	// a non-ASCII subject is an RFC 2047 word (RFC 5703 §5)
	r = execOn(t, testMsg, `require "replace"; replace :subject "Grüße" "x";`)
	m, _ = mail.ReadMessage(bytes.NewReader(r.Message))
	if d, err := new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject")); err != nil || d != "Grüße" || !strings.HasPrefix(m.Header.Get("Subject"), "=?") {
		t.Errorf("non-ASCII subject: %q", m.Header.Get("Subject"))
	}
	// :mime: the replacement is an entity of its own
	r = execOn(t, testMsg, `require "replace"; replace :mime text:
Content-Type: text/html; charset=us-ascii

<p>gone</p>
.
;`)
	if got := structure(t, r.Message); got != "text/html" || !bytes.HasSuffix(r.Message, []byte("\r\n\r\n<p>gone</p>\r\n")) {
		t.Errorf("replace :mime: %s\n%s", got, r.Message)
	}
	// editheader may not touch what replace preserved (RFC 5703 §5)
	r = execOn(t, testMsg, `require ["replace", "editheader"]; replace :subject "new" "x"; deleteheader "Original-Subject"; addheader "X-A" "1";`)
	if !bytes.Contains(r.Message, []byte("Original-Subject:")) || !bytes.HasPrefix(r.Message, []byte("X-A: 1\r\n")) {
		t.Errorf("editheader after replace:\n%s", r.Message)
	}
	// an invalid literal :from is a compile error
	if _, err := Compile("f", []byte(`require "replace"; replace :from "nobody" "x";`), Options{}, nil); err == nil {
		t.Error("replace :from \"nobody\" compiled")
	}

	// §6 enclose: multipart/mixed with the text and the old message;
	// tests after it see the new message; :headers copies fields
	r = execOn(t, multipartMsg, `require ["enclose", "fileinto", "mime", "foreverypart", "variables"];
enclose :subject "Quarantined" :headers ["to", "message-id"] "This message was put aside.";
set "n" "";
foreverypart { set "n" "${n}x"; }
if header :mime :anychild :contenttype "Content-Type" "message/rfc822" { fileinto "enclosed-${n}"; }`)
	if summary(r) != "fileinto:enclosed-xxxxxx" {
		t.Fatalf("enclose: %s", summary(r))
	}
	if got := structure(t, r.Message); got != "multipart/mixed text/plain message/rfc822 multipart/mixed text/plain application/x-msdownload" {
		t.Errorf("structure after enclose: %s", got)
	}
	m, err = mail.ReadMessage(bytes.NewReader(r.Message))
	if err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{"Subject": "Quarantined", "To": "me@example.com", "Message-Id": "<r1@example.org>", "From": "<roadrunner@acme.example.com>"} {
		if got := m.Header.Get(k); got != want {
			t.Errorf("enclose: %s = %q, want %q", k, got, want)
		}
	}
	if m.Header.Get("Date") == "" || !bytes.Contains(r.Message, []byte("Content-Type: message/rfc822\r\n\r\n"+multipartMsg)) {
		t.Errorf("enclose lost the date or the original:\n%s", r.Message)
	}
	// without :subject, the enclosed message's
	r = execOn(t, multipartMsg, `require "enclose"; enclose "x";`)
	if m, _ := mail.ReadMessage(bytes.NewReader(r.Message)); m.Header.Get("Subject") != "Report" {
		t.Errorf("enclose without :subject: %q", m.Header.Get("Subject"))
	}

	// redirect: replace applies to what is redirected after it, enclose
	// does not (RFC 5703 §6)
	r = execOn(t, testMsg, `require ["replace", "enclose"]; redirect "a@example.net"; replace "short"; redirect "b@example.net"; enclose "wrapped"; redirect "c@example.net";`)
	var redirected []string
	for _, a := range r.Actions {
		if x, ok := a.(Redirect); ok {
			switch {
			case x.Message == nil:
				redirected = append(redirected, "original")
			case bytes.HasSuffix(x.Message, []byte("\r\n\r\nshort")):
				redirected = append(redirected, "replaced")
			default:
				redirected = append(redirected, string(x.Message))
			}
		}
	}
	if !slices.Equal(redirected, []string{"original", "replaced", "replaced"}) {
		t.Errorf("redirected: %q", redirected)
	}
}
