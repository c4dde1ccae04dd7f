package server_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// Transcript tests: testdata/transcripts/*.txt drive real sockets.
//
//	# comment
//	user alice secret          create an account before the session
//	quota alice 2048 3         set alice's quota: storage bytes, messages
//	C1: a1 LOGIN alice secret  send a command on connection 1, read to its tagged reply
//	S1: a1 OK {{.*}}           expected reply lines, in order, all of them
//	W1: a2 APPEND INBOX {5}    send raw text (escapes \r \n \\ honoured), read nothing
//	+1:                        read one continuation line ("+ ...")
//	R1: a2                     read to the tagged reply of a2; S lines follow
//	U1: * 3 EXISTS             read one line that arrives with no command in
//	                           progress (IDLE, NOTIFY) and match it
//
// Expected lines match literally except {{regexp}} segments. Received
// literal payloads appear as {N} followed by the bytes, with CR and LF
// shown as \r and \n. A named group in a segment, {{(?P<url>[^"]+)}},
// keeps what it matched, and ${url} in a later line stands for it (for
// values the server makes up, such as URLAUTH tokens).
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

type tline struct {
	kind string // C W S R + U
	conn string
	text string
	no   int
}

func runTranscript(t *testing.T, path string) {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	ts := startServer(t)
	conns := map[string]*rawConn{}
	get := func(id string) *rawConn {
		if c := conns[id]; c != nil {
			return c
		}
		c := ts.dial()
		conns[id] = c
		return c
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
	var lines []tline
	for i, l := range strings.Split(string(b), "\n") {
		l = strings.TrimRight(l, "\r")
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		if strings.HasPrefix(l, "user ") {
			f := strings.Fields(l)
			ts.addUser(f[1], f[2])
			continue
		}
		if strings.HasPrefix(l, "quota ") {
			transcriptQuota(t, ts, strings.Fields(l)) // quota_test.go
			continue
		}
		m := regexp.MustCompile(`^([CWSRU+])(\d*):\s?(.*)$`).FindStringSubmatch(l)
		if m == nil {
			t.Fatalf("%s:%d: bad transcript line %q", path, i+1, l)
		}
		conn := m[2]
		if conn == "" {
			conn = "1"
		}
		lines = append(lines, tline{kind: m[1], conn: conn, text: m[3], no: i + 1})
	}
	for i := 0; i < len(lines); i++ {
		l := lines[i]
		c := get(l.conn)
		var got []string
		switch l.kind {
		case "W":
			c.send(unescape(subst(l.text)))
			continue
		case "U":
			g := c.readLine()
			captured, ok := matchVars(subst(l.text), escape(g))
			for k, v := range captured {
				vars[k] = unescape(v)
			}
			if !ok {
				t.Fatalf("%s:%d: unsolicited line\nwant %s\n got %s", path, l.no, l.text, escape(g))
			}
			continue
		case "+":
			g := c.readLine()
			if !strings.HasPrefix(g, "+") {
				t.Fatalf("%s:%d: expected a continuation, got %q", path, l.no, g)
			}
			continue
		case "C":
			tag := strings.Fields(l.text)[0]
			c.send(unescape(subst(l.text)) + "\r\n")
			got = c.until(tag)
		case "R":
			got = c.until(strings.TrimSpace(l.text))
		case "S":
			t.Fatalf("%s:%d: S line without a command", path, l.no)
		}
		var want []tline
		for i+1 < len(lines) && lines[i+1].kind == "S" {
			i++
			want = append(want, lines[i])
		}
		for j, w := range want {
			if j >= len(got) {
				t.Fatalf("%s:%d: missing line, want %q; got:\n%s", path, w.no, w.text, strings.Join(escapeAll(got), "\n"))
			}
			captured, ok := matchVars(subst(w.text), escape(got[j]))
			for k, v := range captured {
				vars[k] = unescape(v)
			}
			if !ok {
				t.Fatalf("%s:%d: line %d\nwant %s\n got %s\nall:\n%s", path, w.no, j+1, w.text, escape(got[j]), strings.Join(escapeAll(got), "\n"))
			}
		}
		if len(got) > len(want) {
			t.Fatalf("%s:%d: unexpected extra lines after %q:\n%s", path, l.no, l.text, strings.Join(escapeAll(got[len(want):]), "\n"))
		}
	}
}

func escape(s string) string {
	return strings.NewReplacer("\r", `\r`, "\n", `\n`).Replace(s)
}

func escapeAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = escape(s)
	}
	return out
}

func unescape(s string) string {
	return strings.NewReplacer(`\r`, "\r", `\n`, "\n").Replace(s)
}

// matchVars matches got against want, where {{re}} segments are
// regexps, and returns what their named groups matched.
func matchVars(want, got string) (map[string]string, bool) {
	var b strings.Builder
	b.WriteString("^")
	rest := want
	for {
		i := strings.Index(rest, "{{")
		if i < 0 {
			b.WriteString(regexp.QuoteMeta(rest))
			break
		}
		j := strings.Index(rest[i:], "}}")
		if j < 0 {
			b.WriteString(regexp.QuoteMeta(rest))
			break
		}
		b.WriteString(regexp.QuoteMeta(rest[:i]))
		b.WriteString("(?:" + rest[i+2:i+j] + ")")
		rest = rest[i+j+2:]
	}
	b.WriteString("$")
	re, err := regexp.Compile(b.String())
	if err != nil {
		return nil, false
	}
	m := re.FindStringSubmatch(got)
	if m == nil {
		return nil, false
	}
	vars := map[string]string{}
	for i, name := range re.SubexpNames() {
		if name != "" {
			vars[name] = m[i]
		}
	}
	return vars, true
}
