package pop3

import (
	"strings"
	"testing"
)

// Command lines from RFC 1939's examples (§§4-7) and RFC 2449/5034/2595,
// and malformed ones.
func TestParseCommand(t *testing.T) {
	tests := []struct {
		line, name, arg string
		err             error
	}{
		{"STAT\r\n", "STAT", "", nil},
		{"LIST 2\r\n", "LIST", "2", nil},
		{"RETR 1\r\n", "RETR", "1", nil},
		{"DELE 1\r\n", "DELE", "1", nil},
		{"TOP 1 10\r\n", "TOP", "1 10", nil},
		{"UIDL\r\n", "UIDL", "", nil},
		{"USER mrose\r\n", "USER", "mrose", nil},
		{"PASS secret pass with spaces\r\n", "PASS", "secret pass with spaces", nil},
		{"APOP mrose c4c9334bac560ecc979e58001b3e22fb\r\n", "APOP", "mrose c4c9334bac560ecc979e58001b3e22fb", nil},
		{"AUTH PLAIN dGVzdAB0ZXN0AHRlc3Q=\r\n", "AUTH", "PLAIN dGVzdAB0ZXN0AHRlc3Q=", nil},
		{"CAPA\r\n", "CAPA", "", nil},
		{"stls\r\n", "STLS", "", nil},
		{"quit\n", "QUIT", "", nil}, // bare LF accepted, as Dovecot does
		{"\r\n", "", "", ErrEmptyLine},
		{"", "", "", ErrEmptyLine},
		{" STAT\r\n", "", "", ErrBadKeyword},
		{"STATS\r\n", "", "", ErrBadKeyword},
		{"ST4T\r\n", "", "", ErrBadKeyword},
		{"GET / HTTP/1.1\r\n", "GET", "/ HTTP/1.1", nil}, // a keyword; unknown to the table
		{"\x00\x01\r\n", "", "", ErrBadKeyword},
	}
	for _, tt := range tests {
		c, err := ParseCommand([]byte(tt.line))
		if err != tt.err || c.Name != tt.name || c.Arg != tt.arg {
			t.Errorf("ParseCommand(%q) = %+v, %v; want %q %q %v", tt.line, c, err, tt.name, tt.arg, tt.err)
		}
	}
}

func TestParseMsgNum(t *testing.T) {
	tests := []struct {
		in   string
		n    int
		fail string
	}{
		{"1", 1, ""},
		{"0001", 1, ""},
		{"2147483647", 2147483647, ""},
		{"2147483648", 0, "too large"},
		{"99999999999999999999999", 0, "too large"},
		{"0", 0, "no message 0"},
		{"", 0, "Missing"},
		{"+1", 0, "Invalid"},
		{"-1", 0, "Invalid"},
		{"1 ", 0, "Invalid"},
		{"1a", 0, "Invalid"},
	}
	for _, tt := range tests {
		n, bad := parseMsgNum(tt.in)
		if n != tt.n || (tt.fail == "") != (bad == "") || !strings.Contains(bad, tt.fail) {
			t.Errorf("parseMsgNum(%q) = %d, %q; want %d, %q", tt.in, n, bad, tt.n, tt.fail)
		}
	}
}

// FuzzParseCommand: the parser never panics, a name it returns is an
// upper-case keyword of at most four letters, and parsing is stable.
func FuzzParseCommand(f *testing.F) {
	for _, s := range []string{"STAT\r\n", "TOP 1 10\r\n", "PASS a b c\r\n", "AUTH PLAIN =\r\n", "uidl 1\n", "\r\n", "LIST \x00\r\n", "RETR 99999999999999999999\r\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		c, err := ParseCommand(line)
		if err != nil {
			if c.Name != "" {
				t.Fatalf("error %v with a name %q", err, c.Name)
			}
			return
		}
		if len(c.Name) == 0 || len(c.Name) > maxKeyword || strings.ToUpper(c.Name) != c.Name {
			t.Fatalf("bad name %q", c.Name)
		}
		again, err := ParseCommand([]byte(c.Name + " " + c.Arg + "\r\n"))
		if err != nil || again.Name != c.Name || again.Arg != c.Arg {
			t.Fatalf("reparse of %+v: %+v %v", c, again, err)
		}
		for _, a := range c.Args() {
			parseMsgNum(a)
			parseCount(a)
		}
	})
}
