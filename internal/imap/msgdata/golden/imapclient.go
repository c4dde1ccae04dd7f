package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"
)

// client is a minimal raw IMAP client: exact response bytes, literals
// read inline.
type client struct {
	conn net.Conn
	r    *bufio.Reader
	tag  int
}

func dial(addr string) (*client, error) {
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return nil, err
	}
	c := &client{conn: conn, r: bufio.NewReader(conn)}
	if _, err := c.readResp(); err != nil {
		return nil, err
	}
	return c, nil
}

// readResp reads one response line with any literals it announces.
func (c *client) readResp() ([]byte, error) {
	_ = c.conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	var out []byte
	for {
		line, err := c.r.ReadBytes('\n')
		if err != nil {
			return nil, err
		}
		out = append(out, line...)
		t := bytes.TrimRight(line, "\r\n")
		if len(t) == 0 || t[len(t)-1] != '}' {
			return out, nil
		}
		i := bytes.LastIndexByte(t, '{')
		if i < 0 {
			return out, nil
		}
		n, err := strconv.Atoi(strings.TrimSuffix(string(t[i+1:len(t)-1]), "+"))
		if err != nil {
			return out, nil
		}
		buf := make([]byte, n)
		if _, err := io.ReadFull(c.r, buf); err != nil {
			return nil, err
		}
		out = append(out, buf...)
	}
}

// cmd sends a command (with optional literal data, sent as LITERAL+) and
// returns the untagged responses and the tagged status line.
func (c *client) cmd(format string, literal []byte, args ...any) (untagged [][]byte, status string, err error) {
	c.tag++
	tag := fmt.Sprintf("g%d", c.tag)
	line := tag + " " + fmt.Sprintf(format, args...)
	if literal != nil {
		line += fmt.Sprintf(" {%d+}\r\n", len(literal))
		if _, err := c.conn.Write([]byte(line)); err != nil {
			return nil, "", err
		}
		if _, err := c.conn.Write(literal); err != nil {
			return nil, "", err
		}
		if _, err := c.conn.Write([]byte("\r\n")); err != nil {
			return nil, "", err
		}
	} else if _, err := c.conn.Write([]byte(line + "\r\n")); err != nil {
		return nil, "", err
	}
	for {
		resp, err := c.readResp()
		if err != nil {
			return nil, "", err
		}
		if bytes.HasPrefix(resp, []byte(tag+" ")) {
			return untagged, strings.TrimRight(string(resp[len(tag)+1:]), "\r\n"), nil
		}
		untagged = append(untagged, resp)
	}
}

// value is a parsed IMAP value: its exact bytes, and for strings their
// content.
type value struct {
	raw   []byte
	kind  string // "list", "string", "nil", "atom"
	str   []byte
	items []value
}

type vparser struct {
	b []byte
	i int
}

func (p *vparser) value() (value, error) {
	start := p.i
	if p.i >= len(p.b) {
		return value{}, fmt.Errorf("unexpected end")
	}
	switch c := p.b[p.i]; {
	case c == '(':
		p.i++
		v := value{kind: "list"}
		for {
			if p.i >= len(p.b) {
				return value{}, fmt.Errorf("unterminated list")
			}
			if p.b[p.i] == ')' {
				p.i++
				break
			}
			if p.b[p.i] == ' ' {
				p.i++
				continue
			}
			e, err := p.value()
			if err != nil {
				return value{}, err
			}
			v.items = append(v.items, e)
		}
		v.raw = p.b[start:p.i]
		return v, nil
	case c == '"':
		p.i++
		var s []byte
		for p.i < len(p.b) && p.b[p.i] != '"' {
			if p.b[p.i] == '\\' {
				p.i++
			}
			s = append(s, p.b[p.i])
			p.i++
		}
		p.i++
		return value{raw: p.b[start:p.i], kind: "string", str: s}, nil
	case c == '{' || c == '~':
		if c == '~' {
			p.i++
		}
		end := bytes.IndexByte(p.b[p.i:], '}')
		if end < 0 {
			return value{}, fmt.Errorf("bad literal")
		}
		n, err := strconv.Atoi(string(p.b[p.i+1 : p.i+end]))
		if err != nil {
			return value{}, err
		}
		p.i += end + 1
		if !bytes.HasPrefix(p.b[p.i:], []byte("\r\n")) {
			return value{}, fmt.Errorf("bad literal start")
		}
		p.i += 2
		s := p.b[p.i : p.i+n]
		p.i += n
		return value{raw: p.b[start:p.i], kind: "string", str: s}, nil
	default:
		for p.i < len(p.b) && p.b[p.i] != ' ' && p.b[p.i] != ')' && p.b[p.i] != '(' && p.b[p.i] != '\r' {
			p.i++
		}
		a := p.b[start:p.i]
		if strings.EqualFold(string(a), "NIL") {
			return value{raw: a, kind: "nil"}, nil
		}
		return value{raw: a, kind: "atom", str: a}, nil
	}
}

// fetchItems parses "* N FETCH (name value ...)" into name -> value.
func fetchItems(resp []byte) (map[string]value, []string, error) {
	i := bytes.Index(resp, []byte(" FETCH ("))
	if i < 0 {
		return nil, nil, fmt.Errorf("not a FETCH response: %q", resp)
	}
	p := &vparser{b: resp, i: i + len(" FETCH (")}
	out := map[string]value{}
	var order []string
	for p.i < len(p.b) && p.b[p.i] != ')' {
		if p.b[p.i] == ' ' {
			p.i++
			continue
		}
		start := p.i
		depth := 0
		for p.i < len(p.b) {
			c := p.b[p.i]
			if c == '[' {
				depth++
			} else if c == ']' {
				depth--
			} else if c == ' ' && depth == 0 {
				break
			}
			p.i++
		}
		name := string(p.b[start:p.i])
		p.i++
		v, err := p.value()
		if err != nil {
			return nil, nil, fmt.Errorf("item %s: %v", name, err)
		}
		out[name] = v
		order = append(order, name)
	}
	return out, order, nil
}
