package managesieve_test

import (
	"bufio"
	"crypto/tls"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// Transcript tests: testdata/transcripts/*.txt drive a real socket.
//
//	# comment
//	user alice secret     create an account before the session
//	C: PUTSCRIPT "a" {4+}\r\nkeep  send a line (escapes \r \n \\; CRLF added)
//	W: text               send text as it is (escapes honoured), read nothing
//	S: OK {{.*}}          expected lines of the response, in order, all of them
//	+: "base64"           read one line (a SASL challenge) and match it
//	T:                    STARTTLS handshake now (after the OK to STARTTLS)
//
// Lines before the first C are the greeting. After a C or W, the S
// lines that follow are the response: every line up to OK, NO or BYE. A
// literal-s2c shows as {N} followed by its bytes, CR and LF escaped.
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

func runTranscript(t *testing.T, path string) {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	f := startServer(t, withTLS(t))
	var c *client
	var want []string
	wantNo := 0
	check := func() {
		t.Helper()
		if c == nil || len(want) == 0 {
			return
		}
		got := c.response()
		if len(got) != len(want) {
			t.Fatalf("line %d: got %d lines, want %d:\n got %q\nwant %q", wantNo, len(got), len(want), got, want)
		}
		for i := range got {
			if !match(want[i], got[i]) {
				t.Fatalf("line %d: response line %d\n got %q\nwant %q", wantNo+i, i, got[i], want[i])
			}
		}
		want = nil
	}
	connect := func() {
		if c == nil {
			c = f.dial()
			want = []string{}
		}
	}
	for i, l := range strings.Split(string(b), "\n") {
		no := i + 1
		l = strings.TrimRight(l, "\r")
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		kind, text, _ := strings.Cut(l, ":")
		text = strings.TrimPrefix(text, " ")
		switch kind {
		case "user":
			continue
		case "S":
			connect()
			if len(want) == 0 {
				wantNo = no
			}
			want = append(want, text)
		case "C", "W":
			connect()
			check()
			if kind == "C" {
				text += "\r\n"
			}
			c.send(repeat(unescape(text)))
			want = []string{}
		case "+":
			connect()
			if got := c.readLine(); !match(text, got) {
				t.Fatalf("line %d: got %q, want %q", no, got, text)
			}
			want = []string{}
		case "T":
			check()
			tc := tls.Client(c.nc, &tls.Config{InsecureSkipVerify: true})
			if err := tc.Handshake(); err != nil {
				t.Fatalf("line %d: handshake: %v", no, err)
			}
			c.nc, c.br = tc, bufio.NewReader(tc)
			want = []string{}
		default:
			if strings.HasPrefix(l, "user ") {
				p := strings.Fields(l)
				f.addUser(p[1], p[2])
				continue
			}
			t.Fatalf("line %d: unknown line %q", no, l)
		}
	}
	check()
}

// repeat expands {{REPEATn}} in a sent line to n bytes of "x".
func repeat(s string) string {
	for {
		i := strings.Index(s, "{{REPEAT")
		if i < 0 {
			return s
		}
		j := strings.Index(s[i:], "}}")
		n, _ := strconv.Atoi(s[i+8 : i+j])
		s = s[:i] + strings.Repeat("x", n) + s[i+j+2:]
	}
}
