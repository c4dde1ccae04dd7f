package sieve

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

const testMsg = "Return-Path: <coyote@desert.example.org>\r\n" +
	"Date: Tue, 1 Apr 1997 09:06:31 -0800 (PST)\r\n" +
	"From: coyote@desert.example.org\r\n" +
	"To: roadrunner@acme.example.com\r\n" +
	"Cc: \"Boss\" <boss@acme.example.com>, wile+e@acme.example.com\r\n" +
	"Subject: I have a present for you\r\n" +
	"X-Caffeine: C8H10N4O2\r\n" +
	"X-Spam: =?UTF-8?Q?caf=C3=A9?=\r\n" +
	"\r\n" +
	"Look, I'm sorry about the whole anvil thing, and I really\r\n" +
	"didn't mean to try and drop it on you from the top of the\r\n" +
	"cliff.  I want to try to make it up to you.  I've got some\r\n" +
	"great birdseed over here at my place--top of the line\r\n" +
	"stuff--and if you come by, I'll have it all wrapped\r\n" +
	"up for you.  I'm really sorry for all the problems I've\r\n" +
	"caused for you over the years, but I know we can work\r\n" +
	"this out.\r\n" +
	"--\r\n" +
	"Wile E. Coyote   \"Super Genius\"   coyote@desert.example.org\r\n"

func testEnv(msg string) *Env {
	return &Env{
		Envelope: Envelope{From: "coyote@desert.example.org", To: "roadrunner+birds@acme.example.com"},
		Msg:      NewMessage([]byte(msg)),
		Now:      time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC),
		MailboxExists: func(name string) bool {
			return name == "INBOX" || name == "Existing"
		},
		UserAddresses: []string{"roadrunner@acme.example.com"},
		Location:      "MDA",
	}
}

// summary renders a result compactly for table tests.
func summary(r *Result) string {
	var parts []string
	for _, a := range r.Actions {
		switch x := a.(type) {
		case Keep:
			parts = append(parts, "keep"+flagStr(x.Flags))
		case FileInto:
			s := "fileinto:" + x.Mailbox
			if x.Copy {
				s += ":copy"
			}
			if x.Create {
				s += ":create"
			}
			if x.SpecialUse != "" {
				s += ":specialuse=" + x.SpecialUse
			}
			parts = append(parts, s+flagStr(x.Flags))
		case Redirect:
			s := "redirect:" + x.Address
			if x.Copy {
				s += ":copy"
			}
			parts = append(parts, s)
		case Discard:
			parts = append(parts, "discard")
		case Reject:
			if x.Extended {
				parts = append(parts, "ereject:"+x.Reason)
			} else {
				parts = append(parts, "reject:"+x.Reason)
			}
		case Vacation:
			parts = append(parts, fmt.Sprintf("vacation:%s|%s|%s|%s", x.Period, x.Subject, x.From, x.Reason))
		}
	}
	if r.ImplicitKeep {
		parts = append(parts, "implicit"+flagStr(r.KeepFlags))
	}
	return strings.Join(parts, " ")
}

func flagStr(f []string) string {
	if len(f) == 0 {
		return ""
	}
	return "[" + strings.Join(f, " ") + "]"
}

type runCase struct {
	name   string
	script string
	want   string // summary; "ERR:..." for a compile error containing ...; "RT:..." runtime error
}

func runCases(t *testing.T, cases []runCase) { t.Helper(); runCasesWith(t, "", nil, cases) }

// runCasesWith runs cases against msg (testMsg when "") in an Env that
// setEnv may change.
func runCasesWith(t *testing.T, msg string, setEnv func(*Env), cases []runCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, err := Compile(c.name, []byte(c.script), Options{}, nil)
			if strings.HasPrefix(c.want, "ERR:") {
				if err == nil || !strings.Contains(err.Error(), c.want[4:]) {
					t.Fatalf("compile error = %v, want one containing %q", err, c.want[4:])
				}
				return
			}
			if err != nil {
				t.Fatalf("compile: %v", err)
			}
			m := msg
			if m == "" {
				m = testMsg
			}
			env := testEnv(m)
			if setEnv != nil {
				setEnv(env)
			}
			r, err := s.Execute(context.Background(), env)
			if strings.HasPrefix(c.want, "RT:") {
				if err == nil || !strings.Contains(err.Error(), c.want[3:]) {
					t.Fatalf("runtime error = %v, want one containing %q", err, c.want[3:])
				}
				if !r.ImplicitKeep || len(r.Actions) != 0 {
					t.Fatalf("after a runtime error the result must be the implicit keep, got %s", summary(r))
				}
				return
			}
			if err != nil {
				t.Fatalf("execute: %v", err)
			}
			if got := summary(r); got != c.want {
				t.Errorf("got  %q\nwant %q", got, c.want)
			}
		})
	}
}

func TestCore(t *testing.T) {
	runCases(t, []runCase{
		{"empty", ``, "implicit"},
		{"keep", `keep;`, "keep"},
		{"discard", `discard;`, "discard"},
		{"stop", `stop; discard;`, "implicit"},
		{"fileinto", `require "fileinto"; fileinto "Junk";`, "fileinto:Junk"},
		{"fileinto-needs-require", `fileinto "Junk";`, "ERR:requires the fileinto extension"},
		{"unknown-require", `require "x-nonsense";`, "ERR:unknown Sieve capability"},
		{"require-is-case-sensitive", `require "FileInto";`, "ERR:unknown Sieve capability"},
		{"identifiers-and-tags-are-not", `IF header :IS :COMPARATOR "I;OCTET" "Subject" "I have a present for you" { DISCARD; }`, "discard"},
		{"require-late", `keep; require "fileinto";`, "ERR:require must come before"},
		{"unknown-command", `frobnicate;`, "ERR:unknown command"},
		{"else-without-if", `else { keep; }`, "ERR:else without a preceding if"},
		{"missing-semicolon", "keep\ndiscard;", "ERR:line 2"},
		{"redirect", `redirect "bob@example.com"; redirect "bob@example.com";`, "redirect:bob@example.com"},
		{"redirect-bad", `redirect "not an address";`, "ERR:invalid address"},
		{"redirect-forms", `redirect "Bob <bob@example.com>"; redirect " ann@example.com "; redirect "\"quoted local\"@example.com";`, "redirect:bob@example.com redirect:ann@example.com redirect:\"quoted local\"@example.com"},
		{"redirect-two-addresses", `redirect "bob@example.com, ann@example.com";`, "ERR:invalid address"},
		// RFC 5228 §2.7.1 / §5.7 examples
		{"header-is-casemap", `if header :is "Subject" "i have a PRESENT for you" { discard; }`, "discard"},
		{"header-is-octet", `if header :is :comparator "i;octet" "Subject" "i have a PRESENT for you" { discard; }`, "implicit"},
		{"header-contains", `if header :contains ["From","To"] "desert" { discard; }`, "discard"},
		{"header-matches", `if header :matches "Subject" "I*a*for ?ou" { discard; }`, "discard"},
		{"header-matches-escape", `if header :matches "Subject" "I have a present for you\\?" { discard; }`, "implicit"},
		{"header-rfc2047", `if header :is "X-Spam" "café" { discard; }`, "discard"},
		{"header-missing", `if header :contains "X-None" "" { discard; }`, "implicit"},
		{"exists", `if exists ["From","Date"] { discard; }`, "discard"},
		{"exists-not", `if exists ["From","X-None"] { discard; }`, "implicit"},
		{"not", `if not exists "X-None" { discard; }`, "discard"},
		{"allof", `if allof (true, exists "From") { discard; }`, "discard"},
		{"anyof", `if anyof (false, false) { discard; }`, "implicit"},
		{"size-over", `if size :over 100 { discard; }`, "discard"},
		{"size-under", `if size :under 1K { discard; }`, "discard"},
		{"size-needs-tag", `if size 100 { discard; }`, "ERR:size needs :over or :under"},
		{"address-all", `if address :is "from" "coyote@desert.example.org" { discard; }`, "discard"},
		{"address-domain", `if address :domain :is "cc" "ACME.example.com" { discard; }`, "discard"},
		{"address-localpart", `if address :localpart :is "cc" "boss" { discard; }`, "discard"},
		{"elsif", `require "fileinto";
if header :contains "Subject" "nothing" { fileinto "A"; }
elsif header :contains "Subject" "present" { fileinto "B"; }
else { fileinto "C"; }`, "fileinto:B"},
		{"else", `require "fileinto";
if false { fileinto "A"; } elsif false { fileinto "B"; } else { fileinto "C"; }`, "fileinto:C"},
		{"two-ifs", `require "fileinto";
if true { fileinto "A"; } if true { fileinto "B"; } else { fileinto "C"; }`, "fileinto:A fileinto:B"},
		{"fileinto-bad-utf8", `require ["fileinto","variables","encoded-character"]; set "m" "${hex:ff}rop"; fileinto "${m}";`, "RT:invalid mailbox name"},
		{"dup-fileinto", `require "fileinto"; fileinto "A"; fileinto "A";`, "fileinto:A"},
		{"keep-and-inbox", `require "fileinto"; keep; fileinto "INBOX";`, "keep"},
		{"comments", "# hash\r\n/* bracket\r\n comment */ keep; # end", "keep"},
		{"multiline", "require \"reject\";\nreject text:\nline one\n..dot\n.\n;", "reject:line one\r\n.dot\r\n"},
		{"string-escape", `require "fileinto"; fileinto "a\"b\\c\d";`, "fileinto:a\"b\\cd"},
		{"unterminated-string", `keep "`, "ERR:unterminated string"},
		{"unterminated-comment", `keep; /* x`, "ERR:unterminated comment"},
		{"numeric-needs-require", `if header :is :comparator "i;ascii-numeric" "X" "1" { keep; }`, "ERR:comparator-i;ascii-numeric"},
		{"unknown-comparator", `if header :is :comparator "i;foo" "X" "1" { keep; }`, "ERR:unknown comparator"},
		{"tag-twice", `if header :is :is "X" "1" { keep; }`, "ERR:given twice"},
		{"match-types-exclusive", `if header :is :contains "X" "1" { keep; }`, "ERR:can not be used together"},
		{"test-as-command", `header "a" "b";`, "ERR:is a test, not a command"},
		{"command-as-test", `if keep { stop; }`, "ERR:is a command, not a test"},
	})
}

func TestLimits(t *testing.T) {
	big := strings.Repeat("keep;\n", 100)
	if _, err := Compile("big", []byte(big), Options{MaxScriptSize: 50}, nil); !errors.Is(err, ErrScriptTooLarge) {
		t.Fatalf("MaxScriptSize: got %v", err)
	}
	deep := strings.Repeat("if true {", 50) + strings.Repeat("}", 50)
	if _, err := Compile("deep", []byte(deep), Options{}, nil); !errors.Is(err, ErrNestingTooDeep) {
		t.Fatalf("nesting: got %v", err)
	}
	s, err := Compile("acts", []byte(`require "fileinto"; fileinto "a"; fileinto "b"; fileinto "c";`), Options{MaxActions: 2}, nil)
	if err != nil {
		t.Fatal(err)
	}
	r, err := s.Execute(context.Background(), testEnv(testMsg))
	var re *RuntimeError
	if !errors.Is(err, ErrTooManyActions) || !errors.As(err, &re) || re.Line != 1 {
		t.Fatalf("MaxActions: got %v", err)
	}
	if !r.ImplicitKeep || len(r.Actions) != 0 {
		t.Fatalf("runtime error must fall back to keep: %+v", r)
	}
	s, _ = Compile("redir", []byte("redirect \"a@x.org\";\nredirect \"b@x.org\";\n"), Options{MaxRedirects: 1}, nil)
	if _, err := s.Execute(context.Background(), testEnv(testMsg)); !errors.Is(err, ErrTooManyRedirects) || !strings.Contains(err.Error(), "line 2") {
		t.Fatalf("MaxRedirects: got %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	loop := `require "variables"; ` + strings.Repeat(`if header :matches "Subject" "*a*a*a*a*a*a*a*a*a*b" { keep; }`, 100)
	s, err = Compile("cpu", []byte(loop), Options{CPUTime: time.Nanosecond}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Execute(ctx, testEnv(testMsg)); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled context: got %v", err)
	}
	if _, err := s.Execute(context.Background(), testEnv(testMsg)); !errors.Is(err, ErrCPUTime) || !strings.Contains(err.Error(), "cpu_time") {
		t.Fatalf("CPUTime: got %v", err)
	}
	s, _ = Compile("cpu", []byte(loop), Options{}, nil)
	if _, err := s.Execute(context.Background(), testEnv(testMsg)); err != nil {
		t.Fatalf("default CPUTime: %v", err)
	}
	// one hostile :matches is cut off by its step budget
	s, _ = Compile("glob", []byte(`if header :matches "X-Long" "`+strings.Repeat("*a", 12)+`b" { keep; }`), Options{}, nil)
	if _, err := s.Execute(context.Background(), testEnv("X-Long: "+strings.Repeat("a", 200)+"\r\n\r\n")); !errors.Is(err, ErrCPUTime) {
		t.Fatalf(":matches budget: got %v", err)
	}
}

func TestCompileErrorLines(t *testing.T) {
	_, err := Compile("s", []byte("require \"fileinto\";\n\nif true {\n  fileinto;\n}\n"), Options{}, nil)
	var ce *CompileError
	if !errors.As(err, &ce) || len(ce.Errors) == 0 || ce.Errors[0].Line != 4 {
		t.Fatalf("got %#v", err)
	}
}

func TestCapabilities(t *testing.T) {
	caps := Capabilities()
	for _, want := range []string{"fileinto", "envelope", "variables"} {
		found := false
		for _, c := range caps {
			found = found || c == want
		}
		if !found {
			t.Errorf("capability %s missing from %v", want, caps)
		}
	}
	if !reflect.DeepEqual(caps, Capabilities()) {
		t.Error("Capabilities not stable")
	}
}

// A compiled Script is shared by concurrent deliveries.
func TestConcurrentExecute(t *testing.T) {
	s, err := Compile("c", []byte(`require ["fileinto","variables","imap4flags","regex","editheader","body","include"];
include "inc";
if header :regex "subject" "^I (have)" { set "x" "${1}"; }
addheader "X-A" "b";
if body :contains "anvil" { addflag "$Anvil"; }
fileinto "${x}";`), Options{}, func(string, bool) ([]byte, error) { return []byte(`require "imap4flags"; addflag "$Inc";`), nil })
	if err != nil {
		t.Fatal(err)
	}
	errs := make(chan string, 8)
	for g := 0; g < 8; g++ {
		go func() {
			for k := 0; k < 50; k++ {
				r, err := s.Execute(context.Background(), testEnv(testMsg))
				if err != nil || summary(r) != "fileinto:have[$Inc $Anvil]" {
					errs <- fmt.Sprint(err, summary(r))
					return
				}
			}
			errs <- ""
		}()
	}
	for g := 0; g < 8; g++ {
		if e := <-errs; e != "" {
			t.Fatal(e)
		}
	}
}
