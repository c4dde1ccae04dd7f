package interop

import (
	"bytes"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
)

const curlUser, curlPass = "curl@example.org", "curl secret"

// TestCurl drives barid with curl's IMAP support (RFC 5092 URLs):
// fetch by UID (whole messages, HEADER/TEXT/part sections and partial
// ranges), list the mailboxes, SEARCH through a custom request, over
// plain IMAP on loopback, STARTTLS and IMAPS with the certificate pinned.
func TestCurl(t *testing.T) {
	bin := needBinary(t, "curl", "curl")
	t.Parallel()
	t.Logf("client: %s", clientVersion(t, bin, "curl", "--version"))
	s := startServer(t)
	s.addUser(curlUser, curlPass)
	msgs := genCorpus(4, "curl")
	c := s.dial(curlUser, curlPass)
	defer c.Close()
	seed(t, c, msgs)
	if err := c.Create("New Folder", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	spaced := msgs[len(msgs)-1].Data
	appendMsg(t, c, "New Folder", spaced, nil)
	// The account was empty, so corpus message k of a folder has UID k.
	byFolder := map[string][][]byte{"New Folder": {spaced}}
	flags := map[string][][]imap.Flag{"New Folder": {nil}}
	for _, m := range msgs {
		byFolder[m.Folder] = append(byFolder[m.Folder], m.Data)
		flags[m.Folder] = append(flags[m.Folder], m.Flags)
	}
	expectSame(t, "server", corpusEntries(byFolder, flags), canonical(t, c), false)

	dir := t.TempDir()
	auth := curlUser + ":" + curlPass
	plain := "imap://" + s.addr
	curl := func(args ...string) string {
		t.Helper()
		return run(t, time.Minute, dir, bin, append([]string{"-sS", "--user", auth}, args...)...)
	}
	mboxURL := func(base, mbox string) string {
		return base + "/" + strings.ReplaceAll(url.PathEscape(mbox), "%2F", "/")
	}

	// SEARCH through a custom request, before any fetch changes \Seen.
	searches := []struct {
		cmd  string
		want func(corpusMsg) bool
	}{
		{`UID SEARCH SUBJECT "[utf8 "`, func(m corpusMsg) bool { return m.Kind == "utf8" }},
		{`UID SEARCH FLAGGED`, func(m corpusMsg) bool { return slices.Contains(m.Flags, imap.FlagFlagged) }},
		{`UID SEARCH UNSEEN NOT ANSWERED`, func(m corpusMsg) bool {
			return !slices.Contains(m.Flags, imap.FlagSeen) && !slices.Contains(m.Flags, imap.FlagAnswered)
		}},
		{`UID SEARCH LARGER 1000000`, func(m corpusMsg) bool { return len(m.Data) > 1000000 }},
		// RFC 2047 encoded words (ISO-8859-1 Q) are decoded before matching.
		{`UID SEARCH CHARSET UTF-8 SUBJECT "Café"`, func(m corpusMsg) bool { return m.Kind == "encoded" }},
		// Raw UTF-8 header (RFC 6532), matched case-insensitively.
		{`UID SEARCH CHARSET UTF-8 SUBJECT "JÜRGEN"`, func(m corpusMsg) bool { return m.Kind == "utf8header" }},
		{`UID SEARCH HEADER Message-ID "curl.5."`, func(m corpusMsg) bool { return bytes.Contains(m.Data, []byte("<curl.5.")) }},
	}
	for _, sc := range searches {
		var want []string
		k := 0
		for _, m := range msgs {
			if m.Folder != "INBOX" {
				continue
			}
			k++
			if sc.want(m) {
				want = append(want, strconv.Itoa(k))
			}
		}
		if len(want) == 0 {
			t.Fatalf("test bug: %s matches nothing in the corpus", sc.cmd)
		}
		out := curl(plain+"/INBOX", "-X", sc.cmd)
		got := searchResult(t, out)
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("%s: got %v want %v (curl output %q)", sc.cmd, got, want, out)
		}
	}

	// LIST: curl prints the untagged LIST responses of LIST "" *.
	out := curl(plain + "/")
	var listed []string
	for _, m := range regexp.MustCompile(`(?m)^\* LIST \([^)]*\) "/" (.*?)\r?$`).FindAllStringSubmatch(out, -1) {
		name := m[1]
		if uq, err := strconv.Unquote(name); err == nil {
			name = uq
		}
		listed = append(listed, name)
	}
	sort.Strings(listed)
	if want := mailboxes(t, c); !slices.Equal(listed, want) {
		t.Errorf("curl LIST shows %v, go-imap LIST shows %v", listed, want)
	}
	for f := range byFolder {
		if !slices.Contains(listed, f) {
			t.Errorf("curl LIST misses %q", f)
		}
	}

	// Fetch every message of every folder by UID; one curl process per
	// folder fetches all its UIDs over one connection.
	start := time.Now()
	n := 0
	for f, datas := range byFolder {
		args := []string{}
		for k := range datas {
			args = append(args, mboxURL(plain, f)+fmt.Sprintf(";UID=%d", k+1), "-o", fmt.Sprintf("%x-%d.eml", f, k+1))
		}
		curl(args...)
		for k, want := range datas {
			got, err := os.ReadFile(filepath.Join(dir, fmt.Sprintf("%x-%d.eml", f, k+1)))
			if err != nil {
				t.Fatal(err)
			}
			n++
			if !bytes.Equal(got, want) {
				t.Errorf("%s UID %d: curl received %d bytes differing from the %d stored", f, k+1, len(got), len(want))
			}
		}
	}
	t.Logf("curl fetched %d messages byte-identical in %v", n, time.Since(start).Round(time.Millisecond))
	// QUIRK(curl 7.88.1): curl fetches with BODY[], not BODY.PEEK[], so
	// every message it downloads gets \Seen (RFC 3501 §6.4.5); barid
	// reports the change in the same FETCH response.
	for _, m := range fetchAll(t, c, "INBOX") {
		if !slices.Contains(m.Flags, `\Seen`) {
			t.Errorf("INBOX UID %d lacks \\Seen after curl fetched it with BODY[]", m.UID)
		}
	}

	// Sections and partial fetches (RFC 5092 ;SECTION= and ;PARTIAL=).
	inbox := byFolder["INBOX"]
	var multi, large int
	for k, m := range msgs[:len(inbox)] {
		if m.Kind == "attachment" && multi == 0 {
			multi = k + 1
		}
		if m.Kind == "large" {
			large = k + 1
		}
	}
	hdrEnd := bytes.Index(inbox[multi-1], []byte("\r\n\r\n")) + 4
	part1, err := c.Fetch(imap.UIDSetNum(imap.UID(multi)), &imap.FetchOptions{BodySection: []*imap.FetchItemBodySection{{Part: []int{1}, Peek: true}}}).Collect()
	if err != nil || len(part1) != 1 || len(part1[0].BodySection) != 1 {
		t.Fatalf("go-imap BODY[1]: %v", err)
	}
	sections := []struct {
		suffix string
		want   []byte
	}{
		{";SECTION=HEADER", inbox[multi-1][:hdrEnd]},
		{";SECTION=TEXT", inbox[multi-1][hdrEnd:]},
		{";SECTION=1", part1[0].BodySection[0].Bytes},
		{";PARTIAL=0.100", inbox[multi-1][:100]},
		{";PARTIAL=1000.2000", inbox[large-1][1000:3000]},
		{";PARTIAL=" + strconv.Itoa(len(inbox[large-1])-10) + ".100", inbox[large-1][len(inbox[large-1])-10:]},
	}
	for _, sec := range sections {
		uid := multi
		if strings.HasPrefix(sec.suffix, ";PARTIAL") && sec.suffix != ";PARTIAL=0.100" {
			uid = large
		}
		got := curl(mboxURL(plain, "INBOX") + fmt.Sprintf(";UID=%d", uid) + sec.suffix)
		if got != string(sec.want) {
			t.Errorf("UID %d%s: curl got %d bytes %.80q, want %d bytes %.80q", uid, sec.suffix, len(got), got, len(sec.want), sec.want)
		}
	}

	// Upload (APPEND) with -T: curl sends the file as one literal; barid
	// must store exactly those bytes. A UTF-8 message, one without a
	// final line break and a large one.
	for _, kind := range []string{"utf8header", "nofinalnewline", "large"} {
		var m []byte
		for _, cm := range msgs {
			if cm.Kind == kind {
				m = cm.Data
				break
			}
		}
		m = slices.Concat([]byte("X-Uploaded-By: curl\r\n"), m)
		p := filepath.Join(dir, "upload-"+kind+".eml")
		if err := os.WriteFile(p, m, 0o600); err != nil {
			t.Fatal(err)
		}
		curl("-T", p, mboxURL(plain, "New Folder"))
		got := fetchAll(t, c, "New Folder")
		if last := got[len(got)-1]; !bytes.Equal(last.Data, m) {
			t.Errorf("curl -T %s: barid stored %d bytes that differ from the %d uploaded", kind, len(last.Data), len(m))
		}
	}

	// TLS: IMAPS and STARTTLS with barid's certificate pinned.
	cert := s.certFile()
	if got := curl("--cacert", cert, mboxURL("imaps://"+s.tlsAddr, "Lists/golang")+";UID=4"); got != string(byFolder["Lists/golang"][3]) {
		t.Errorf("imaps:// fetch of the large message: %d bytes differ from the %d stored", len(got), len(byFolder["Lists/golang"][3]))
	}
	if got := curl("--ssl-reqd", "--cacert", cert, mboxURL(plain, "Archive/2024/Q1")+";UID=2"); got != string(byFolder["Archive/2024/Q1"][1]) {
		t.Errorf("STARTTLS fetch: bytes differ")
	}
	if out, err := runErr(time.Minute, dir, bin, "-sS", "--user", auth, "--ssl-reqd", "--cacert", "/dev/null", plain+"/"); err == nil {
		t.Errorf("STARTTLS with an empty CA file succeeded:\n%s", out)
	}
}

// searchResult parses "* SEARCH 1 2 3" from curl's output.
func searchResult(t *testing.T, out string) []string {
	t.Helper()
	for l := range strings.Lines(out) {
		l = strings.TrimRight(l, "\r\n")
		if l == "* SEARCH" {
			return nil
		}
		if rest, ok := strings.CutPrefix(l, "* SEARCH "); ok {
			return strings.Fields(rest)
		}
	}
	t.Fatalf("no SEARCH response in curl output %q", out)
	return nil
}

func corpusEntries(byFolder map[string][][]byte, flags map[string][][]imap.Flag) map[string][]entry {
	out := map[string][]entry{}
	for f, datas := range byFolder {
		for k, d := range datas {
			out[f] = append(out[f], entry{sha(d), entryFlags(flags[f][k])})
		}
	}
	for _, f := range corpusFolders {
		if _, ok := out[f.Name]; !ok {
			out[f.Name] = []entry{}
		}
	}
	return out
}
