package interop

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
)

const imfUser, imfPass = "filter@example.org", "imapfilter secret"

// imapfilterScript is the Lua configuration imapfilter runs. It prints
// "result <name> <uids...>" for each search, writes every INBOX message
// (fetch_message) to dir/<uid>.eml, then copies, moves, flags, deletes
// and appends. %[1]s is the port, %[2]s the user, %[3]s the password,
// %[4]s the output directory.
const imapfilterScript = `
options.timeout = 60
options.info = false
options.create = false
acc = IMAP {
  server = '127.0.0.1', port = %[1]s,
  username = '%[2]s', password = '%[3]s',
}
local function show(name, set)
  local uids = {}
  for _, m in ipairs(set) do
    local mbox, uid = table.unpack(m)
    table.insert(uids, uid)
  end
  table.sort(uids)
  print('result ' .. name .. ' ' .. table.concat(uids, ' '))
end
local mbs = acc:list_all('')
table.sort(mbs)
print('mailboxes ' .. table.concat(mbs, '|'))
local inbox = acc.INBOX
show('all', inbox:select_all())
show('subject', inbox:contain_subject('[utf8 '))
show('larger', inbox:is_larger(1000000))
show('smaller', inbox:is_smaller(100))
show('flagged', inbox:is_flagged())
show('unseen', inbox:is_unseen())
show('body', inbox:contain_body('needle'))
show('utf8field', inbox:contain_field('Subject', 'Jürgen'))
show('and', inbox:is_seen() * inbox:is_flagged())
show('or', inbox:is_flagged() + inbox:is_draft())
show('not', inbox:select_all() - inbox:is_seen())
show('from', inbox:contain_from('mallory@example.org'))
-- Download every message.
for _, m in ipairs(inbox:select_all()) do
  local mbox, uid = table.unpack(m)
  local f = assert(io.open('%[4]s/' .. uid .. '.eml', 'wb'))
  f:write(mbox[uid]:fetch_message())
  f:close()
  local hf = assert(io.open('%[4]s/' .. uid .. '.hdr', 'wb'))
  hf:write(mbox[uid]:fetch_header())
  hf:close()
  print('size ' .. uid .. ' ' .. mbox[uid]:fetch_size())
end
-- Act on the results.
acc:create_mailbox('Filtered/Work')
inbox:contain_subject('[utf8 '):copy_messages(acc['Filtered/Work'])
inbox:is_larger(1000000):move_messages(acc['Filtered/Work'])
inbox:contain_from('mallory@example.org'):add_flags({'$Label1', 'Project-X'})
inbox:is_draft():delete_messages()
acc['Filtered/Work']:append_message('From: filter@example.org\r\nSubject: appended by imapfilter\r\n\r\nhello\r\n', {'\\Flagged'})
print('done')
`

// TestImapfilter drives barid with imapfilter, whose IMAP code is its
// own (C and OpenSSL): STARTTLS with the certificate as trust store,
// SEARCH keys combined with set operations, FETCH of whole messages and
// headers, CREATE, COPY, MOVE, keywords, delete and APPEND. Results are
// compared with answers computed from the corpus and with barid's state.
func TestImapfilter(t *testing.T) {
	bin := needBinary(t, "imapfilter", "imapfilter")
	t.Parallel()
	t.Logf("client: %s", clientVersion(t, bin, "imapfilter", "-V"))
	s := startServer(t)
	s.addUser(imfUser, imfPass)
	msgs := genCorpus(10, "imapfilter")
	c := s.dial(imfUser, imfPass)
	defer c.Close()
	seed(t, c, msgs)
	var inbox []corpusMsg // UID k is inbox[k-1]
	for _, m := range msgs {
		if m.Folder == "INBOX" {
			inbox = append(inbox, m)
		}
	}
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	if err := os.Mkdir(out, 0o700); err != nil {
		t.Fatal(err)
	}
	_, port := hostPort(t, s.addr)
	cfg := filepath.Join(dir, "config.lua")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf(imapfilterScript, port, imfUser, imfPass, out)), 0o600); err != nil {
		t.Fatal(err)
	}
	// QUIRK(imapfilter 2.8.1): it sends non-ASCII search strings without
	// CHARSET (UID SEARCH ALL HEADER Subject "Jürgen"); barid takes them
	// as UTF-8, and the "utf8field" result below checks that.
	// Without an ssl setting imapfilter uses STARTTLS when offered and
	// verifies the certificate (host name included) against the -t trust
	// store: barid's certificate.
	start := time.Now()
	log := run(t, 2*time.Minute, dir, bin, "-c", cfg, "-t", s.certFile())
	t.Logf("imapfilter run: %v", time.Since(start).Round(time.Millisecond))
	results := map[string][]string{}
	sizes := map[string]string{}
	var listed string
	sc := bufio.NewScanner(strings.NewReader(log))
	done := false
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		switch {
		case len(f) >= 2 && f[0] == "result":
			results[f[1]] = f[2:]
		case len(f) == 3 && f[0] == "size":
			sizes[f[1]] = f[2]
		case len(f) >= 1 && f[0] == "mailboxes":
			listed = strings.TrimPrefix(sc.Text(), "mailboxes ")
		case sc.Text() == "done":
			done = true
		}
	}
	if !done {
		t.Fatalf("imapfilter did not finish its script:\n%s", tail(log, 3000))
	}

	// LIST: list_all('') lists the top level (LIST "" "%").
	top, err := c.List("", "%", nil).Collect()
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, l := range top {
		if l.Mailbox != "Filtered" { // created by the script after listing
			want = append(want, l.Mailbox)
		}
	}
	slices.Sort(want)
	if listed != strings.Join(want, "|") {
		t.Errorf("imapfilter list_all(''): %s, want %s", listed, strings.Join(want, "|"))
	}

	// SEARCH results against the corpus.
	has := func(m corpusMsg, f imap.Flag) bool { return slices.Contains(m.Flags, f) }
	fromMallory := func(m corpusMsg) bool {
		hdr, _, _ := bytes.Cut(m.Data, []byte("\r\n\r\n"))
		return bytes.Contains(hdr, []byte("From: Mallory <mallory@example.org>"))
	}
	body := func(m corpusMsg) []byte {
		if i := bytes.Index(m.Data, []byte("\r\n\r\n")); i >= 0 {
			return m.Data[i+4:]
		}
		return nil
	}
	checks := []struct {
		name string
		want func(corpusMsg) bool
	}{
		{"all", func(corpusMsg) bool { return true }},
		{"subject", func(m corpusMsg) bool { return m.Kind == "utf8" }},
		{"larger", func(m corpusMsg) bool { return len(m.Data) > 1000000 }},
		{"smaller", func(m corpusMsg) bool { return len(m.Data) < 100 }},
		{"flagged", func(m corpusMsg) bool { return has(m, imap.FlagFlagged) }},
		{"unseen", func(m corpusMsg) bool { return !has(m, imap.FlagSeen) }},
		{"body", func(m corpusMsg) bool { return bytes.Contains(bytes.ToLower(body(m)), []byte("needle")) }},
		{"utf8field", func(m corpusMsg) bool { return m.Kind == "utf8header" }},
		{"and", func(m corpusMsg) bool { return has(m, imap.FlagSeen) && has(m, imap.FlagFlagged) }},
		{"or", func(m corpusMsg) bool { return has(m, imap.FlagFlagged) || has(m, imap.FlagDraft) }},
		{"not", func(m corpusMsg) bool { return !has(m, imap.FlagSeen) }},
		{"from", fromMallory},
	}
	for _, ch := range checks {
		var want []string
		for k, m := range inbox {
			if ch.want(m) {
				want = append(want, strconv.Itoa(k+1))
			}
		}
		if len(want) == 0 || len(want) == len(inbox) && ch.name != "all" {
			t.Fatalf("test bug: search %q selects nothing or everything", ch.name)
		}
		if got, ok := results[ch.name]; !ok || !slices.Equal(got, want) {
			t.Errorf("imapfilter search %q: got %v want %v", ch.name, got, want)
		}
	}

	// Downloads are byte-identical; headers are the bytes up to and
	// including the empty line.
	for k, m := range inbox {
		uid := strconv.Itoa(k + 1)
		got, err := os.ReadFile(filepath.Join(out, uid+".eml"))
		if err != nil {
			t.Errorf("UID %s not downloaded: %v", uid, err)
			continue
		}
		if !bytes.Equal(got, m.Data) {
			t.Errorf("UID %s: imapfilter received %d bytes differing from the %d stored; %s", uid, len(got), len(m.Data), firstDiff(m.Data, got))
		}
		hdr, _ := os.ReadFile(filepath.Join(out, uid+".hdr"))
		wantHdr := m.Data
		if i := bytes.Index(m.Data, []byte("\r\n\r\n")); i >= 0 {
			wantHdr = m.Data[:i+4]
		}
		if !bytes.Equal(hdr, wantHdr) {
			t.Errorf("UID %s: header %q, want %q", uid, hdr, wantHdr)
		}
		if sizes[uid] != strconv.Itoa(len(m.Data)) {
			t.Errorf("UID %s: fetch_size %s, want %d", uid, sizes[uid], len(m.Data))
		}
	}

	// The actions, as barid sees them now.
	var wantWork, wantInbox []entry
	for _, m := range inbox {
		e := entry{sha(m.Data), entryFlags(m.Flags)}
		if m.Kind == "utf8" {
			wantWork = append(wantWork, e) // copied
		}
		if len(m.Data) > 1000000 {
			wantWork = append(wantWork, e) // moved
			continue
		}
		if fromMallory(m) {
			e.Flags = entryFlags(append(slices.Clone(m.Flags), "$Label1", "Project-X"))
		}
		if !has(m, imap.FlagDraft) { // drafts were deleted
			wantInbox = append(wantInbox, e)
		}
	}
	appended := []byte("From: filter@example.org\r\nSubject: appended by imapfilter\r\n\r\nhello\r\n")
	wantWork = append(wantWork, entry{sha(appended), `\Flagged`})
	got := canonical(t, c)
	expectSame(t, "barid after imapfilter's actions",
		map[string][]entry{"INBOX": wantInbox, "Filtered/Work": wantWork},
		map[string][]entry{"INBOX": got["INBOX"], "Filtered/Work": got["Filtered/Work"]}, true)
}
