// Command golden (the mime-golden script) records the expected FETCH
// results of the messages in testdata/mime from a running Dovecot, and
// compares barid's rendering with them.
//
// Record (needs Dovecot on -addr; see testdata/mime/README.md):
//
//	go run ./internal/imap/msgdata/golden -addr 127.0.0.1:14300 -dir testdata/mime
//
// Compare the committed goldens with barid (no Dovecot needed):
//
//	go run ./internal/imap/msgdata/golden -diff -dir testdata/mime
//
// Each NNN.eml is appended to a scratch mailbox as sent; then every item
// is fetched with its own UID FETCH (BODY.PEEK / BINARY.PEEK) and written
// to NNN.golden (format: package goldenfile).
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"barid/internal/imap/msgdata/goldenfile"
	"barid/internal/mail/mime"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:14300", "Dovecot IMAP address")
	user := flag.String("user", "test", "login")
	pass := flag.String("pass", "pass", "password")
	dir := flag.String("dir", "testdata/mime", "corpus directory")
	diff := flag.Bool("diff", false, "compare committed goldens with barid instead of recording")
	only := flag.String("only", "", "only messages whose name matches this regexp")
	verbose := flag.Bool("v", false, "with -diff, print matching items too")
	flag.Parse()

	files, err := filepath.Glob(filepath.Join(*dir, "*.eml"))
	if err != nil || len(files) == 0 {
		fatal("no .eml files in %s", *dir)
	}
	sort.Strings(files)
	var re *regexp.Regexp
	if *only != "" {
		re = regexp.MustCompile(*only)
	}
	if *diff {
		os.Exit(runDiff(files, re, *verbose))
	}
	c, err := dial(*addr)
	if err != nil {
		fatal("connect: %v", err)
	}
	if _, st, err := c.cmd("LOGIN %s %s", nil, *user, *pass); err != nil || !strings.HasPrefix(st, "OK") {
		fatal("login: %v %s", err, st)
	}
	_, _, _ = c.cmd("DELETE golden", nil)
	if _, st, err := c.cmd("CREATE golden", nil); err != nil || !strings.HasPrefix(st, "OK") {
		fatal("create: %v %s", err, st)
	}
	if _, st, err := c.cmd("SELECT golden", nil); err != nil || !strings.HasPrefix(st, "OK") {
		fatal("select: %v %s", err, st)
	}
	s := &session{addr: *addr, user: *user, pass: *pass, c: c}
	for _, f := range files {
		if re != nil && !re.MatchString(filepath.Base(f)) {
			continue
		}
		if err := s.record(f); err != nil {
			fatal("%s: %v", f, err)
		}
	}
	_, _, _ = s.c.cmd("LOGOUT", nil)
}

// session keeps a logged-in connection with the scratch mailbox
// selected, reconnecting when Dovecot drops it (it does so when a FETCH
// fails while streaming, for example BINARY of broken base64).
type session struct {
	addr, user, pass string
	c                *client
}

func (s *session) reconnect() error {
	s.c.conn.Close()
	c, err := dial(s.addr)
	if err != nil {
		return err
	}
	if _, st, err := c.cmd("LOGIN %s %s", nil, s.user, s.pass); err != nil || !strings.HasPrefix(st, "OK") {
		return fmt.Errorf("login: %v %s", err, st)
	}
	if _, st, err := c.cmd("SELECT golden", nil); err != nil || !strings.HasPrefix(st, "OK") {
		return fmt.Errorf("select: %v %s", err, st)
	}
	s.c = c
	return nil
}

func fatal(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "golden: "+format+"\n", args...)
	os.Exit(1)
}

var appendUID = regexp.MustCompile(`APPENDUID \d+ (\d+)`)

func (s *session) record(path string) error {
	c := s.c
	raw, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	_, st, err := c.cmd("APPEND golden", raw)
	if err != nil {
		return err
	}
	m := appendUID.FindStringSubmatch(st)
	if m == nil {
		return fmt.Errorf("APPEND: %s", st)
	}
	uid := m[1]
	if _, _, err := c.cmd("NOOP", nil); err != nil {
		return err
	}
	// the structure decides which sections exist
	bs, err := fetchOne(c, uid, "BODYSTRUCTURE", "BODYSTRUCTURE")
	if err != nil {
		return err
	}
	names := itemNames(bs)
	var items []goldenfile.Item
	for _, n := range names {
		it, err := fetchItem(s.c, uid, n)
		if err != nil {
			// connection dropped: Dovecot answered with BYE
			it = goldenfile.Item{Name: n, Kind: "bye"}
			if err := s.reconnect(); err != nil {
				return err
			}
		}
		items = append(items, it)
	}
	out := strings.TrimSuffix(path, ".eml") + ".golden"
	var buf bytes.Buffer
	hdr := fmt.Sprintf("recorded from Dovecot 2.3 by internal/imap/msgdata/golden\nmessage: %s (%d bytes)", filepath.Base(path), len(raw))
	if err := goldenfile.Write(&buf, hdr, items); err != nil {
		return err
	}
	fmt.Printf("%s: %d items\n", filepath.Base(out), len(items))
	return os.WriteFile(out, buf.Bytes(), 0o644)
}

// fetchOne fetches one item and returns its value.
func fetchOne(c *client, uid, req, want string) (value, error) {
	untagged, st, err := c.cmd("UID FETCH %s (%s)", nil, uid, req)
	if err != nil {
		return value{}, err
	}
	if !strings.HasPrefix(st, "OK") {
		return value{}, fmt.Errorf("%s: %s", req, st)
	}
	for _, u := range untagged {
		items, _, err := fetchItems(u)
		if err != nil {
			continue
		}
		if v, ok := items[want]; ok {
			return v, nil
		}
	}
	return value{}, fmt.Errorf("%s: no %s in response", req, want)
}

// fetchItem fetches one item (name as in golden files) with PEEK.
func fetchItem(c *client, uid, name string) (goldenfile.Item, error) {
	req := name
	switch {
	case strings.HasPrefix(name, "BODY["):
		req = "BODY.PEEK[" + name[len("BODY["):]
	case strings.HasPrefix(name, "BINARY["):
		req = "BINARY.PEEK[" + name[len("BINARY["):]
	}
	untagged, st, err := c.cmd("UID FETCH %s (%s)", nil, uid, req)
	if err != nil {
		return goldenfile.Item{}, err
	}
	if !strings.HasPrefix(st, "OK") {
		code := st
		if i := strings.IndexByte(st, '['); i >= 0 {
			if j := strings.IndexByte(st[i:], ']'); j > 0 {
				code = st[i+1 : i+j]
			}
		}
		return goldenfile.Item{Name: name, Kind: "no", Value: []byte(code)}, nil
	}
	for _, u := range untagged {
		items, order, err := fetchItems(u)
		if err != nil {
			continue
		}
		for _, k := range order {
			if k == "UID" || k == "FLAGS" {
				continue
			}
			v := items[k]
			switch {
			case v.kind == "nil":
				return goldenfile.Item{Name: name, Kind: "nil"}, nil
			case v.kind == "string" && (strings.Contains(k, "[") || strings.HasPrefix(k, "RFC822") && k != "RFC822.SIZE"):
				return goldenfile.Item{Name: name, Kind: "str", Value: v.str}, nil
			default:
				return goldenfile.Item{Name: name, Kind: "raw", Value: v.raw}, nil
			}
		}
	}
	return goldenfile.Item{Name: name, Kind: "missing"}, nil
}

// itemNames lists the items recorded for a message with the given
// BODYSTRUCTURE.
func itemNames(bs value) []string {
	names := []string{"BODYSTRUCTURE", "BODY", "ENVELOPE", "RFC822.SIZE",
		"BODY[]", "BODY[HEADER]", "BODY[TEXT]",
		"BODY[HEADER.FIELDS (FROM SUBJECT)]", "BODY[HEADER.FIELDS.NOT (FROM SUBJECT)]",
		"BODY[]<10.20>", "BODY[TEXT]<5.10>", "BINARY.SIZE[]"}
	var paths [][]int
	var kinds []string
	walkParts(bs, nil, true, &paths, &kinds)
	if len(paths) > 60 {
		// keep golden files small: the first 40 and the last 10 parts
		paths = append(paths[:40:40], paths[len(paths)-10:]...)
		kinds = append(kinds[:40:40], kinds[len(kinds)-10:]...)
	}
	for i, p := range paths {
		s := pathString(p)
		names = append(names, "BODY["+s+"]", "BODY["+s+".MIME]", "BINARY["+s+"]", "BINARY.SIZE["+s+"]")
		if kinds[i] == "message" {
			names = append(names, "BODY["+s+".HEADER]", "BODY["+s+".TEXT]",
				"BODY["+s+".HEADER.FIELDS (FROM SUBJECT)]")
		}
	}
	// partial on the last part, and parts that do not exist
	if len(paths) > 0 {
		names = append(names, "BODY["+pathString(paths[len(paths)-1])+"]<2.7>")
	}
	top := 0
	for _, p := range paths {
		if len(p) == 1 && p[0] > top {
			top = p[0]
		}
	}
	names = append(names, fmt.Sprintf("BODY[%d]", top+1), fmt.Sprintf("BINARY.SIZE[%d]", top+1), "BODY[1.HEADER]", "BODY[1.9]")
	return dedup(names)
}

func dedup(names []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, n := range names {
		if !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	return out
}

func pathString(p []int) string {
	s := make([]string, len(p))
	for i, n := range p {
		s[i] = fmt.Sprint(n)
	}
	return strings.Join(s, ".")
}

// walkParts collects part numbers (RFC 9051 §6.4.5) from a BODYSTRUCTURE
// value. top is true for the message itself (or an embedded message).
func walkParts(body value, prefix []int, top bool, paths *[][]int, kinds *[]string) {
	if body.kind != "list" || len(body.items) == 0 {
		return
	}
	if body.items[0].kind == "list" {
		// multipart: children numbered from 1
		n := 0
		for _, c := range body.items {
			if c.kind != "list" {
				break
			}
			n++
			p := append(append([]int(nil), prefix...), n)
			addPart(c, p, paths, kinds)
		}
		return
	}
	if top {
		addPart(body, append(append([]int(nil), prefix...), 1), paths, kinds)
	}
}

func addPart(c value, p []int, paths *[][]int, kinds *[]string) {
	kind := "leaf"
	if len(c.items) > 0 && c.items[0].kind == "list" {
		kind = "multipart"
	} else if len(c.items) >= 10 && strings.EqualFold(string(c.items[0].str), "message") &&
		(strings.EqualFold(string(c.items[1].str), "rfc822") || strings.EqualFold(string(c.items[1].str), "global")) {
		kind = "message"
	}
	*paths = append(*paths, p)
	*kinds = append(*kinds, kind)
	switch kind {
	case "multipart":
		walkParts(c, p, false, paths, kinds)
	case "message":
		walkParts(c.items[8], p, true, paths, kinds)
	}
}

func runDiff(files []string, re *regexp.Regexp, verbose bool) int {
	total, same := 0, 0
	for _, f := range files {
		if re != nil && !re.MatchString(filepath.Base(f)) {
			continue
		}
		raw, err := os.ReadFile(f)
		if err != nil {
			fatal("%v", err)
		}
		gf, err := os.Open(strings.TrimSuffix(f, ".eml") + ".golden")
		if err != nil {
			fmt.Printf("%s: no golden\n", filepath.Base(f))
			continue
		}
		want, err := goldenfile.Read(gf)
		gf.Close()
		if err != nil {
			fatal("%s: %v", f, err)
		}
		m, err := goldenfile.Load(raw, mime.Limits{})
		if err != nil {
			fatal("%s: %v", f, err)
		}
		for _, w := range want {
			total++
			got := m.Render(w.Name)
			if goldenfile.Equal(w, got) {
				same++
				if verbose {
					fmt.Printf("%s %s: ok\n", filepath.Base(f), w.Name)
				}
				continue
			}
			fmt.Printf("%s %s:\n  dovecot %s %s\n  barid   %s %s\n", filepath.Base(f), w.Name,
				w.Kind, goldenfile.Escape(w.Value), got.Kind, goldenfile.Escape(got.Value))
		}
	}
	fmt.Printf("%d/%d items match (%.1f%%)\n", same, total, 100*float64(same)/float64(max(total, 1)))
	if same != total {
		return 1
	}
	return 0
}
