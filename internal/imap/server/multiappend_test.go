package server_test

import (
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"

	"barid/internal/config"
)

// A MULTIAPPEND holds its small messages in memory until its one commit;
// past storage.multiappend_inline_bytes the rest go to blob files. Every
// message comes back byte for byte either way.
func TestMultiAppendInlineBudget(t *testing.T) {
	ts := startServer(t, func(c *config.Config) { c.Storage.MultiAppendInlineBytes = 3000 })
	ts.addUser("multi", "pw")
	c := ts.dial()
	c.login("multi", "pw")
	var bodies []string
	var cmd strings.Builder
	cmd.WriteString("MULTIAPPEND INBOX")
	for i := range 6 {
		body := fmt.Sprintf("Subject: m%d\r\n\r\n%s\r\n", i, strings.Repeat(fmt.Sprintf("line %d ", i), 120))
		bodies = append(bodies, body)
		fmt.Fprintf(&cmd, " {%d+}\r\n%s", len(body), body)
	}
	lines := c.cmd("a", strings.Replace(cmd.String(), "MULTIAPPEND", "APPEND", 1))
	if last := lines[len(lines)-1]; !strings.HasPrefix(last, "a OK [APPENDUID") {
		t.Fatalf("MULTIAPPEND: %q", last)
	}
	files := 0
	blobs := filepath.Join(ts.dataDir, "blobs")
	filepath.WalkDir(blobs, func(p string, d fs.DirEntry, err error) error {
		rel, _ := filepath.Rel(blobs, p)
		if err == nil && !d.IsDir() && !strings.HasPrefix(rel, "tmp"+string(filepath.Separator)) {
			files++
		}
		return nil
	})
	// Messages stay in memory until the bytes held reach the budget;
	// every later one is a file.
	want, held := 0, 0
	for _, b := range bodies {
		if held >= 3000 {
			want++
		} else {
			held += len(b)
		}
	}
	if want == 0 || want == len(bodies) {
		t.Fatalf("test messages do not straddle the budget (%d of %d past it)", want, len(bodies))
	}
	if files != want {
		t.Errorf("%d blob files, want %d (the messages past the in-memory budget)", files, want)
	}
	c.expectOK("s", "SELECT INBOX")
	for i, want := range bodies {
		got := c.expectOK("f", fmt.Sprintf("FETCH %d BODY.PEEK[]", i+1))
		if !strings.Contains(strings.Join(got, "\n"), strings.TrimSuffix(want, "\r\n")) {
			t.Errorf("message %d differs after MULTIAPPEND", i+1)
		}
	}
}
