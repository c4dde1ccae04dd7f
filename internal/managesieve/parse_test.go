package managesieve

import (
	"bufio"
	"errors"
	"io"
	"strings"
	"testing"
)

func read(t *testing.T, in string) ([]*Command, []error) {
	t.Helper()
	r := NewReader(bufio.NewReader(strings.NewReader(in)), 200, 50, "sieve.max_script_size", 100)
	var cmds []*Command
	var errs []error
	for {
		c, err := r.ReadCommand()
		if err == io.EOF {
			return cmds, errs
		}
		var se *SyntaxError
		var le *LimitError
		if err != nil && !errors.As(err, &se) && !(errors.As(err, &le) && !le.Fatal) {
			return cmds, append(errs, err)
		}
		cmds = append(cmds, c)
		errs = append(errs, err)
	}
}

// Commands from RFC 5804's examples and the edge cases of §4.
func TestReadCommand(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want string // name and args rendered, or "ERR:" + message
	}{
		{"Authenticate \"PLAIN\" \"QJIrweAPyo6Q1T9xu\"\r\n", `AUTHENTICATE "PLAIN" "QJIrweAPyo6Q1T9xu"`},
		{"Havespace \"myscript\" 999999\r\n", `HAVESPACE "myscript" 999999`},
		{"Putscript \"foo\" {31+}\r\n#comment\r\nInvalidSieveCommand\r\n\r\n", `PUTSCRIPT "foo" {31}\r\n#comment\r\nInvalidSieveCommand\r\n`},
		{"Putscript \"foo\" {4}\r\nkeep\r\n", `PUTSCRIPT "foo" "keep"`},
		{"Setactive \"\"\r\n", `SETACTIVE ""`},
		{"Listscripts\r\n", `LISTSCRIPTS`},
		{"NOOP \"a\\\\b\\\"c\"\r\n", `NOOP "a\\b\"c"`},
		{"LOGOUT\n", `LOGOUT`},
		{"noop   \"x\"  \r\n", `NOOP "x"`},
		{"\r\n\r\nNOOP\r\n", `NOOP`},
		{"PUTSCRIPT \"a\" {51+}\r\n" + strings.Repeat("x", 51) + "\r\n", `ERR:Literal of 51 octets exceeds sieve.max_script_size (50)`},
		{"NOOP \"" + strings.Repeat("y", 250) + "\"\r\n", `ERR:Command line exceeds limits.line_length`},
		{"NOOP \"a\\z\"\r\n", `ERR:Invalid escape in a quoted string`},
		{"NOOP {1a}\r\n", `ERR:Invalid literal`},
		{"HAVESPACE \"a\" 4294967296\r\n", `ERR:Invalid number: 4294967296`},
		{"NOOP (x)\r\n", `ERR:Unexpected character '('`},
	} {
		cmds, errs := read(t, tc.in+"NOOP\r\n")
		if len(cmds) != 2 || cmds[1] == nil || cmds[1].Name != "NOOP" {
			t.Errorf("%q: the reader lost step: %v %v", tc.in, cmds, errs)
			continue
		}
		got := ""
		if errs[0] != nil {
			got = "ERR:" + errs[0].Error()
		} else {
			got = render(cmds[0])
		}
		if got != tc.want {
			t.Errorf("%q:\n got %s\nwant %s", tc.in, got, tc.want)
		}
	}
}

func render(c *Command) string {
	s := c.Name
	for _, a := range c.Args {
		switch a.Kind {
		case ArgString:
			s += " " + strings.NewReplacer("\r", `\r`, "\n", `\n`).Replace(Quote(a.Str))
		default:
			s += " " + a.Str
		}
	}
	return s
}

// A literal past limits.literal_size is fatal: it cannot be skipped.
func TestReadCommandFatalLiteral(t *testing.T) {
	_, errs := read(t, "PUTSCRIPT \"a\" {101+}\r\n")
	var le *LimitError
	if len(errs) != 1 || !errors.As(errs[0], &le) || !le.Fatal || le.Limit != "limits.literal_size" {
		t.Fatalf("errs %v", errs)
	}
}

func TestQuote(t *testing.T) {
	for in, want := range map[string]string{
		"":                               `""`,
		`a"b\c`:                          `"a\"b\\c"`,
		"two\r\nlines":                   "{10}\r\ntwo\r\nlines",
		strings.Repeat("z", MaxQuoted+1): "{1025}\r\n" + strings.Repeat("z", MaxQuoted+1),
	} {
		if got := Quote(in); got != want {
			t.Errorf("Quote(%q) = %q, want %q", in, got, want)
		}
		// Round trip through the reader.
		cmds, errs := read(t, "NOOP "+want+"\r\n")
		if len(cmds) != 1 || errs[0] != nil || len(cmds[0].Args) != 1 || cmds[0].Args[0].Str != in {
			if len(in) <= 50 {
				t.Errorf("round trip of %q: %v %v", in, cmds, errs)
			}
		}
	}
}

// FuzzReadCommand: any input yields commands or errors, never a panic,
// and a recoverable error leaves the reader able to go on.
func FuzzReadCommand(f *testing.F) {
	for _, s := range []string{
		"AUTHENTICATE \"PLAIN\" \"AGFsaWNlAHNlY3JldA==\"\r\n",
		"PUTSCRIPT \"x\" {5+}\r\nkeep;\r\n",
		"PUTSCRIPT \"x\" {5}\r\nkeep;\r\n",
		"HAVESPACE \"x\" 100\r\n",
		"NOOP \"a\\\"b\"\r\n",
		"\r\n\n",
		"NOOP {99999999999999999999}\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r := NewReader(bufio.NewReaderSize(strings.NewReader(string(b)), 16), 300, 100, "sieve.max_script_size", 1000)
		for range 1000 {
			c, err := r.ReadCommand()
			var se *SyntaxError
			var le *LimitError
			switch {
			case err == nil:
				if c == nil || c.Name == "" {
					t.Fatalf("empty command from %q", b)
				}
				for _, a := range c.Args {
					if a.Kind == ArgString && len(a.Str) > 1000 {
						t.Fatalf("string of %d bytes past the limits", len(a.Str))
					}
				}
			case errors.As(err, &se), errors.As(err, &le) && !le.Fatal:
			default:
				return
			}
		}
	})
}
