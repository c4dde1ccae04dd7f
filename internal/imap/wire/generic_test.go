package wire

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// generic drives the Decoder over a generic IMAP command grammar, close
// enough to the real one to parse every command of RFC 9051 and its
// extensions, and renders what it read as tokens separated by "|":
//
//	command = tag SP name *(SP arg) CRLF
//	arg     = list / string / literal8 / flag / "$" / word / name [section]
//	list    = "(" [arg *(SP arg)] ")"          ; ExpectList, depth-limited
//	section = "[" [arg *(SP arg)] "]" ["<" number ["." number] ">"]
//	word    = list-mailbox chars (digits, "*", "%", ...)
//
// It is used by the table tests, the round-trip tests and FuzzDecoder.
type generic struct {
	d         *Decoder
	out       []string
	append    bool // the command is APPEND: "~" starts a literal8
	inSection bool
}

func (g *generic) emit(s string) { g.out = append(g.out, s) }

func (g *generic) command() bool {
	d := g.d
	g.out = g.out[:0]
	d.ResetLine()
	var tag, name string
	if !d.Expect(d.Tag(&tag), "tag") {
		return false
	}
	g.emit("tag:" + tag)
	if !d.Expect(d.SP(), "SP after tag") || !d.Expect(d.Name(&name), "command name") {
		return false
	}
	g.emit(name)
	g.append = strings.EqualFold(name, "APPEND")
	for d.SP() {
		if !g.arg() {
			return false
		}
	}
	return d.ExpectCRLF()
}

func (g *generic) arg() bool {
	d := g.d
	c, ok := d.Peek()
	if !ok {
		return false
	}
	switch {
	case c == '(':
		g.emit("(")
		if !d.ExpectList(g.arg) {
			return false
		}
		g.emit(")")
		return true
	case c == '"' || c == '{':
		var s string
		if !d.ExpectString(&s) {
			return false
		}
		g.emit("str:" + strconv.Quote(s))
		return true
	case c == '~' && g.append:
		r, size, bin, ok := d.Literal()
		if !ok {
			return false
		}
		// Read only part of it: the decoder must discard the rest.
		n, _ := io.CopyN(io.Discard, r, 3)
		g.emit(fmt.Sprintf("lit:%d:%v:%d", size, bin, n))
		return true
	case c == '\\':
		var f string
		if !d.ExpectFlag(&f) {
			return false
		}
		g.emit("flag:" + f)
		return true
	case c == '$':
		d.SearchRes()
		g.emit("$")
		var name string
		if d.Name(&name) { // a keyword such as $Junk
			g.out[len(g.out)-1] = "$" + name
		}
		return true
	case !g.inSection && c >= '0' && c <= '9' || c == '*' || c == '%':
		var w string
		if !d.ExpectListMailbox(&w) {
			return false
		}
		g.emit("word:" + w)
		return true
	}
	var name string
	if !d.Name(&name) {
		var w string
		if !d.ExpectListMailbox(&w) {
			return false
		}
		g.emit("word:" + w)
		return true
	}
	g.emit(name)
	if !d.Special('[') {
		return true
	}
	g.emit("[")
	if !d.Special(']') {
		g.inSection = true
		defer func() { g.inSection = false }()
		for {
			if !g.arg() {
				return false
			}
			if d.Special(']') {
				break
			}
			if !d.ExpectSP() {
				return false
			}
		}
	}
	g.emit("]")
	if d.Special('<') {
		var off, n uint32
		if !d.ExpectNumber(&off) {
			return false
		}
		p := fmt.Sprintf("<%d", off)
		if d.Special('.') {
			if !d.ExpectNumber(&n) {
				return false
			}
			p += fmt.Sprintf(".%d", n)
		}
		if !d.ExpectSpecial('>') {
			return false
		}
		g.emit(p + ">")
	}
	return true
}

// parseAll parses every command in input, discarding failed ones, and
// returns one rendered line per command ("ERR: ..." for failures).
func parseAll(input string, opts Options) []string {
	d := NewDecoder(bufio.NewReader(strings.NewReader(input)), opts)
	g := &generic{d: d}
	var lines []string
	for range 1000 {
		if g.command() {
			lines = append(lines, strings.Join(g.out, "|"))
			continue
		}
		err := d.Err()
		if err == io.EOF {
			break
		}
		lines = append(lines, "ERR: "+err.Error())
		if derr := d.DiscardLine(); derr != nil {
			lines = append(lines, "FATAL: "+derr.Error())
			break
		}
	}
	return lines
}

// reencode writes the tokens rendered by generic back as a command with
// the Encoder (strings through Encoder.String, flags through
// Encoder.Flag), for decode -> encode -> decode round trips. It returns
// false for commands it cannot rebuild (streamed literals).
func reencode(tokens []string) (string, bool) {
	var b strings.Builder
	w := bufio.NewWriter(&b)
	e := NewEncoder(w)
	e.SetUTF8(true)
	prev := ""
	// A partial (<0.100>) follows its section's "]" with no space. Any
	// other token may start with "<", an ATOM-CHAR (RFC 9051 §9).
	for i, tok := range tokens {
		sp := i > 0 && prev != "(" && prev != "[" && tok != ")" && tok != "]" && tok != "[" && !(prev == "]" && strings.HasPrefix(tok, "<"))
		if sp {
			e.SP()
		}
		switch {
		case strings.HasPrefix(tok, "tag:"):
			e.Atom(tok[4:])
		case strings.HasPrefix(tok, "str:"):
			s, err := strconv.Unquote(tok[4:])
			if err != nil {
				panic(err)
			}
			e.String(s)
		case strings.HasPrefix(tok, "flag:"):
			e.Flag(tok[5:])
		case strings.HasPrefix(tok, "word:"):
			e.Atom(tok[5:])
		case strings.HasPrefix(tok, "lit:"):
			return "", false
		default:
			e.Atom(tok)
		}
		prev = tok
	}
	e.CRLF()
	if err := e.Flush(); err != nil {
		panic(err)
	}
	return b.String(), true
}
