package submission_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"barid/internal/config"
	"barid/internal/testkit"
)

// Transcript tests: testdata/transcripts/*.txt drive barid's submission
// listener (plain, from loopback) and IMAP over real sockets, with a
// testkit.Sink as the relay.
//
//	# comment
//	hostname H         the server's host name (before the first session line)
//	localdomain D      add D to [lmtp] local_domains (the account "harry"
//	                   may then send as harry@D)
//	user NAME PASS     create an account
//	I: a1 LOGIN x y    IMAP command (escapes \r \n \\), read to its tagged reply
//	IS: a1 OK {{.*}}   expected IMAP lines, all of them, in order
//	I2: / IS2:         the same on a second IMAP connection (any digit)
//	C: EHLO x          SMTP command line, read one reply
//	W: BDAT 3\r\nabc   send raw text (escapes), read nothing (pipelining)
//	R:                 read one SMTP reply
//	S: 250 2.0.0 {{.*}} expected reply lines of the last C or R, all of them
//	M: From: ...\r\n   the sink's newest message, byte for byte (escapes)
//	E: FROM RCPT,...   the sink's newest envelope
//
// Expected lines match literally except {{regexp}} segments; a named
// group, {{(?P<url>\S+)}}, keeps what it matched and ${url} stands for
// it in later lines.
func TestTranscripts(t *testing.T) {
	files, err := filepath.Glob("testdata/transcripts/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no transcripts: %v", err)
	}
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".txt"), func(t *testing.T) {
			t.Parallel()
			runTranscript(t, f)
		})
	}
}

var unescaper = strings.NewReplacer(`\r`, "\r", `\n`, "\n", `\\`, `\`)

func runTranscript(t *testing.T, path string) {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	type tline struct {
		kind, conn, text string
		no               int
	}
	var lines []tline
	hostname := "localhost"
	domains := []string{"localhost"}
	var users [][2]string
	for i, l := range strings.Split(string(b), "\n") {
		l = strings.TrimRight(l, "\r")
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		if f := strings.Fields(l); len(f) == 3 && f[0] == "user" {
			users = append(users, [2]string{f[1], f[2]})
			continue
		}
		if f := strings.Fields(l); len(f) == 2 && f[0] == "hostname" {
			hostname = f[1]
			continue
		}
		if f := strings.Fields(l); len(f) == 2 && f[0] == "localdomain" {
			domains = append(domains, f[1])
			continue
		}
		kind, text, ok := strings.Cut(l, ":")
		if !ok {
			t.Fatalf("%s:%d: no kind", path, i+1)
		}
		conn := strings.TrimLeft(kind, "ISCWRME")
		kind = strings.TrimSuffix(kind, conn)
		lines = append(lines, tline{kind, conn, strings.TrimPrefix(text, " "), i + 1})
	}
	sink := testkit.StartSink(t, nil)
	srv := testkit.Start(t, testkit.WithSubmission(sink.Addr), func(c *config.Config) {
		c.Hostname, c.LMTP.LocalDomains = hostname, domains
	})
	for _, u := range users {
		srv.AddUser(u[0], u[1])
	}
	vars := map[string]string{}
	subst := func(s string) string {
		return regexp.MustCompile(`\$\{(\w+)\}`).ReplaceAllStringFunc(s, func(m string) string {
			v, ok := vars[m[2:len(m)-1]]
			if !ok {
				t.Fatalf("%s: %s is not set", path, m)
			}
			return v
		})
	}
	imapcs := map[string]*testkit.Conn{}
	var smtpc *testkit.SMTPConn
	var got []string // lines the next S/IS lines are matched against
	gotKind := ""
	check := func() {
		if len(got) > 0 {
			t.Fatalf("%s: unexpected %s lines: %q", path, gotKind, got)
		}
	}
	for _, l := range lines {
		t.Logf("%s:%d %s: %.100s", filepath.Base(path), l.no, l.kind, l.text)
		switch l.kind {
		case "I":
			check()
			imapc := imapcs[l.conn]
			if imapc == nil {
				imapc = srv.Dial()
				imapcs[l.conn] = imapc
			}
			cmd := unescaper.Replace(subst(l.text))
			tag, _, _ := strings.Cut(cmd, " ")
			got, gotKind = imapc.Cmd(tag, strings.TrimPrefix(cmd, tag+" ")), "IS"
		case "C", "W", "R":
			check()
			if smtpc == nil {
				smtpc = testkit.DialSMTP(t, srv.SubmissionAddr, false)
			}
			switch l.kind {
			case "C":
				got, gotKind = smtpc.Cmd(subst(l.text)), "S"
			case "W":
				smtpc.Send(unescaper.Replace(subst(l.text)))
			case "R":
				got, gotKind = smtpc.Reply(), "S"
			}
		case "S", "IS":
			if gotKind != l.kind || len(got) == 0 {
				t.Fatalf("%s:%d: expected %q, but nothing more was received", path, l.no, l.text)
			}
			want := subst(l.text)
			if !match(want, got[0], vars) {
				t.Fatalf("%s:%d:\n got: %q\nwant: %q", path, l.no, got[0], want)
			}
			got = got[1:]
		case "M", "E":
			check()
			msgs := sink.Messages()
			if len(msgs) == 0 {
				t.Fatalf("%s:%d: the sink has no message", path, l.no)
			}
			m := msgs[len(msgs)-1]
			if l.kind == "M" {
				if want := unescaper.Replace(subst(l.text)); string(m.Data) != want {
					t.Fatalf("%s:%d: relayed message\n got: %q\nwant: %q", path, l.no, m.Data, want)
				}
			} else if g := m.From + " " + strings.Join(m.Rcpts, ","); g != subst(l.text) {
				t.Fatalf("%s:%d: envelope %q, want %q", path, l.no, g, l.text)
			}
		default:
			t.Fatalf("%s:%d: unknown kind %q", path, l.no, l.kind)
		}
	}
	check()
}

// match compares a received line with an expected one: literal text
// and {{regexp}} segments; named groups are stored in vars.
func match(want, got string, vars map[string]string) bool {
	var re strings.Builder
	re.WriteString("^")
	for {
		i := strings.Index(want, "{{")
		if i < 0 {
			re.WriteString(regexp.QuoteMeta(want))
			break
		}
		j := strings.Index(want[i:], "}}")
		if j < 0 {
			re.WriteString(regexp.QuoteMeta(want))
			break
		}
		re.WriteString(regexp.QuoteMeta(want[:i]))
		re.WriteString(want[i+2 : i+j])
		want = want[i+j+2:]
	}
	re.WriteString("$")
	rx := regexp.MustCompile(re.String())
	m := rx.FindStringSubmatch(got)
	if m == nil {
		return false
	}
	for i, n := range rx.SubexpNames() {
		if n != "" {
			vars[n] = m[i]
		}
	}
	return true
}
