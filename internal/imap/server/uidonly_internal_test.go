package server

import (
	"context"
	"sort"
	"strings"
	"testing"
	"time"

	"barid/internal/store"
)

// Every command of the table that takes sequence numbers is refused
// with BAD [UIDREQUIRED] once UIDONLY is on (RFC 9586 §3), and its UID
// variant is not; the walk over the table keeps the rule true for
// commands added later.
func TestUIDOnlyCommandTable(t *testing.T) {
	f := newStoreFixture(t, "uma")
	ctx := context.Background()
	if _, err := f.deliv.Deliver(ctx, f.inbox.ID, strings.NewReader("Subject: a\r\n\r\nx\r\n"), 0, store.Flags{}, time.Now()); err != nil {
		t.Fatal(err)
	}
	addr := f.serve(t, Config{Deliver: f.deliv}, nil)
	c := dialLines(t, addr)
	c.cmd("a1", "LOGIN uma pw")
	c.cmd("a2", "ENABLE UIDONLY")
	c.cmd("a3", "SELECT INBOX")
	// Arguments that would be valid without UIDONLY.
	args := map[string]string{
		"FETCH":   "1 (FLAGS)",
		"STORE":   `1 +FLAGS (\Seen)`,
		"COPY":    "1 INBOX",
		"MOVE":    "1 INBOX",
		"SEARCH":  "ALL",
		"SORT":    "(ARRIVAL) UTF-8 ALL",
		"THREAD":  "REFERENCES UTF-8 ALL",
		"REPLACE": "1 INBOX {12+}\r\nSubject: b\r\n",
	}
	var names []string
	for name, cmd := range commands {
		if cmd.flags&usesSeq != 0 {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	if len(names) < len(args) {
		t.Fatalf("usesSeq commands %v: fewer than the %d this test knows", names, len(args))
	}
	for i, name := range names {
		a, ok := args[name]
		if !ok {
			t.Fatalf("%s uses sequence numbers: give it arguments in this test", name)
		}
		tag := "s" + itoa(i)
		got := c.cmd(tag, name+" "+a)
		if len(got) != 1 || !strings.HasPrefix(got[0], tag+" BAD [UIDREQUIRED] ") {
			t.Errorf("%s under UIDONLY: %q, want one tagged BAD [UIDREQUIRED]", name, got)
		}
		uname := "UID " + name
		if commands[uname] == nil {
			continue
		}
		// MOVE and REPLACE give the message a new UID: use the
		// current one.
		if strings.HasPrefix(a, "1 ") {
			max := c.cmd("m"+itoa(i), "UID SEARCH RETURN (MAX) ALL")
			_, uid, _ := strings.Cut(max[0], " MAX ")
			if uid == "" {
				t.Fatalf("UID SEARCH RETURN (MAX): %q", max)
			}
			a = uid + a[1:]
		}
		utag := "u" + itoa(i)
		got = c.cmd(utag, uname+" "+a)
		if last := got[len(got)-1]; !strings.HasPrefix(last, utag+" OK") {
			t.Errorf("%s under UIDONLY: %q, want OK", uname, got)
		}
		for _, l := range got {
			if strings.Contains(l, " FETCH ") || strings.HasSuffix(l, " EXPUNGE") {
				t.Errorf("%s under UIDONLY sent a sequence number: %q", uname, l)
			}
		}
	}
}
