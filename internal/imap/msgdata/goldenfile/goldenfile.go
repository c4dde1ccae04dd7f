// Package goldenfile reads and writes the golden files of testdata/mime
// (expected FETCH results recorded from Dovecot) and renders the same
// items with barid's msgdata, so that the test and the mime-golden tool
// compare them the same way.
//
// A golden file has one item per line:
//
//	ITEM<TAB>KIND<TAB>VALUE
//
// ITEM is the FETCH item as requested, without .PEEK (for example
// "BODY[1.2.MIME]" or "BODY[]<10.20>"). KIND is "raw" (the exact bytes
// of the value as sent, for BODYSTRUCTURE, BODY, ENVELOPE and numbers),
// "str" (the content of a string), "nil" (NIL), or "no" (the command
// failed; VALUE is the response code, such as "UNKNOWN-CTE"). VALUE is
// escaped: backslash, tab, CR, LF and bytes outside 0x20-0x7e are written
// as \\, \t, \r, \n and \xHH. Lines starting with '#' are comments.
package goldenfile

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Item is one recorded FETCH result.
type Item struct {
	Name  string
	Kind  string
	Value []byte
}

// Escape encodes v for a golden line.
func Escape(v []byte) string {
	var b strings.Builder
	for _, c := range v {
		switch {
		case c == '\\':
			b.WriteString(`\\`)
		case c == '\t':
			b.WriteString(`\t`)
		case c == '\r':
			b.WriteString(`\r`)
		case c == '\n':
			b.WriteString(`\n`)
		case c < 0x20 || c > 0x7e:
			fmt.Fprintf(&b, `\x%02x`, c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// Unescape reverses Escape.
func Unescape(s string) ([]byte, error) {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' {
			out = append(out, c)
			continue
		}
		i++
		if i >= len(s) {
			return nil, fmt.Errorf("trailing backslash")
		}
		switch s[i] {
		case '\\':
			out = append(out, '\\')
		case 't':
			out = append(out, '\t')
		case 'r':
			out = append(out, '\r')
		case 'n':
			out = append(out, '\n')
		case 'x':
			if i+2 >= len(s) {
				return nil, fmt.Errorf("short \\x escape")
			}
			v, err := strconv.ParseUint(s[i+1:i+3], 16, 8)
			if err != nil {
				return nil, err
			}
			out = append(out, byte(v))
			i += 2
		default:
			return nil, fmt.Errorf("bad escape \\%c", s[i])
		}
	}
	return out, nil
}

// Write writes items in golden format.
func Write(w io.Writer, header string, items []Item) error {
	bw := bufio.NewWriter(w)
	for _, l := range strings.Split(strings.TrimRight(header, "\n"), "\n") {
		if l != "" {
			fmt.Fprintf(bw, "# %s\n", l)
		}
	}
	for _, it := range items {
		fmt.Fprintf(bw, "%s\t%s\t%s\n", it.Name, it.Kind, Escape(it.Value))
	}
	return bw.Flush()
}

// Read parses a golden file.
func Read(r io.Reader) ([]Item, error) {
	var items []Item
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	n := 0
	for sc.Scan() {
		n++
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.SplitN(line, "\t", 3)
		if len(f) != 3 {
			return nil, fmt.Errorf("line %d: want 3 tab-separated fields", n)
		}
		v, err := Unescape(f[2])
		if err != nil {
			return nil, fmt.Errorf("line %d: %v", n, err)
		}
		items = append(items, Item{Name: f[0], Kind: f[1], Value: v})
	}
	return items, sc.Err()
}

// Equal reports whether two items have the same kind and value.
func Equal(a, b Item) bool {
	return a.Kind == b.Kind && bytes.Equal(a.Value, b.Value)
}
