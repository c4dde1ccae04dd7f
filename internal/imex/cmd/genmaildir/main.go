// Command genmaildir writes a Dovecot-style Maildir++ tree of generated
// messages (internal/bench's realistic generator) for measuring
// "barid import maildir": dovecot-uidlist, dovecot-keywords, flags in
// the file names, LF line ends as Dovecot stores them, mtimes as
// internal dates.
//
//	go run ./internal/imex/cmd/genmaildir -n 100000 -out /tmp/maildir
//
// With -inbox-only every message goes to INBOX: the bigbox mailbox of
// docs/benchmarks.md (the messages of "barid bench populate -seed 1"),
// for "barid import maildir" and for Dovecot to serve as it is.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"barid/internal/bench"
)

func main() {
	n := flag.Int("n", 100000, "messages")
	out := flag.String("out", "", "maildir root to create")
	seed := flag.Uint64("seed", 1, "generator seed")
	inboxOnly := flag.Bool("inbox-only", false, "put every message in INBOX (the bigbox mailbox of docs/benchmarks.md)")
	fill := flag.Bool("fill", false, "keep the files that exist (a tree made with the same -n and -seed that lost some): write only the missing ones")
	flag.Parse()
	if *out == "" {
		log.Fatal("-out is required")
	}
	// INBOX 60 %, Archive 30 %, Sent 10 %.
	folders := []struct {
		dir   string
		share int
	}{{"", 6}, {".Archive", 3}, {".Sent", 1}}
	g := bench.NewGenerator(*seed)
	type box struct {
		dir  string
		list bytes.Buffer
		kw   []string
		next int
	}
	boxes := make([]*box, len(folders))
	for i, f := range folders {
		d := filepath.Join(*out, f.dir)
		for _, s := range []string{"cur", "new", "tmp"} {
			if err := os.MkdirAll(filepath.Join(d, s), 0o755); err != nil {
				log.Fatal(err)
			}
		}
		boxes[i] = &box{dir: d, next: 1}
	}
	filled := 0
	for i := range *n {
		b := boxes[0]
		switch k := i % 10; {
		case *inboxOnly:
		case k >= 6 && k < 9:
			b = boxes[1]
		case k == 9:
			b = boxes[2]
		}
		m := g.Message(i)
		body := bytes.ReplaceAll(m.Body, []byte("\r\n"), []byte("\n"))
		var info []byte
		for _, f := range m.Flags {
			switch strings.ToLower(f) {
			case `\seen`:
				info = append(info, 'S')
			case `\answered`:
				info = append(info, 'R')
			case `\flagged`:
				info = append(info, 'F')
			case `\draft`:
				info = append(info, 'D')
			case `\deleted`:
				info = append(info, 'T')
			default:
				if strings.HasPrefix(f, `\`) {
					continue
				}
				k := slices.Index(b.kw, f)
				if k < 0 {
					if len(b.kw) == 26 {
						continue
					}
					b.kw = append(b.kw, f)
					k = len(b.kw) - 1
				}
				info = append(info, 'a'+byte(k))
			}
		}
		slices.Sort(info)
		base := fmt.Sprintf("%d.M%dP1.gen,S=%d,W=%d", m.Date.Unix(), i, len(body), len(m.Body))
		p := filepath.Join(b.dir, "cur", base+":2,"+string(info))
		fmt.Fprintf(&b.list, "%d :%s\n", b.next, base)
		b.next++
		if *fill {
			if _, err := os.Stat(p); err == nil {
				continue
			}
			filled++
		}
		if err := os.WriteFile(p, body, 0o644); err != nil {
			log.Fatal(err)
		}
		if err := os.Chtimes(p, m.Date, m.Date); err != nil {
			log.Fatal(err)
		}
	}
	if *fill {
		log.Printf("%d missing files written", filled)
	}
	for i, b := range boxes {
		// The mailbox GUID must not be all zeros: Dovecot 2.3.19 takes that
		// for "none" and its mailbox list index panics on it
		// (mailbox_get_metadata: guid_128_is_empty), and its FTS plugins
		// (fts-xapian) assert on an empty GUID.
		head := fmt.Sprintf("3 V%d N%d G%016x%016x\n", 1600000000+i, b.next, 0xba51d, i+1)
		if err := os.WriteFile(filepath.Join(b.dir, "dovecot-uidlist"), append([]byte(head), b.list.Bytes()...), 0o644); err != nil {
			log.Fatal(err)
		}
		var kw strings.Builder
		for k, name := range b.kw {
			fmt.Fprintf(&kw, "%d %s\n", k, name)
		}
		if err := os.WriteFile(filepath.Join(b.dir, "dovecot-keywords"), []byte(kw.String()), 0o644); err != nil {
			log.Fatal(err)
		}
	}
}
