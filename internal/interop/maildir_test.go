package interop

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
)

// Maildir info flags (https://cr.yp.to/proto/maildir.html) and the IMAP
// flags mbsync and offlineimap map them to.
var maildirFlags = []struct {
	Letter byte
	Flag   string
}{
	{'D', `\Draft`},
	{'F', `\Flagged`},
	{'P', `$Forwarded`},
	{'R', `\Answered`},
	{'S', `\Seen`},
	{'T', `\Deleted`},
}

func maildirInfo(flags []imap.Flag) string {
	var b strings.Builder
	for _, mf := range maildirFlags {
		for _, f := range flags {
			if strings.EqualFold(string(f), mf.Flag) {
				b.WriteByte(mf.Letter)
			}
		}
	}
	return b.String()
}

// mdMsg is one message file in a Maildir.
type mdMsg struct {
	Path  string
	Flags []string // IMAP names, sorted
	MTime time.Time
	Data  []byte
}

// writeMaildir creates root/<folder>/{cur,new,tmp} for every corpus
// folder and stores each message in cur/ with its flags in the name,
// with LF line endings as Unix Maildirs hold them.
func writeMaildir(t testing.TB, root string, msgs []corpusMsg) {
	t.Helper()
	for _, f := range corpusFolders {
		mkMaildir(t, filepath.Join(root, filepath.FromSlash(f.Name)))
	}
	for i, m := range msgs {
		name := fmt.Sprintf("1700000000.M%dP1.interop:2,%s", i, maildirInfo(m.Flags))
		p := filepath.Join(root, filepath.FromSlash(m.Folder), "cur", name)
		if err := os.WriteFile(p, toLF(m.Data), 0o600); err != nil {
			t.Fatal(err)
		}
		mt := arrival(i)
		if err := os.Chtimes(p, mt, mt); err != nil {
			t.Fatal(err)
		}
	}
}

// arrival is the modification time writeMaildir gives message i (a
// Maildir's arrival date), distinct for every message.
func arrival(i int) time.Time {
	return time.Date(2023, 3, 1, 10, 0, 0, 0, time.UTC).Add(time.Duration(i)*97*time.Minute + time.Duration(i%60)*time.Second)
}

func mkMaildir(t testing.TB, dir string) {
	t.Helper()
	for _, sub := range []string{"cur", "new", "tmp"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o700); err != nil {
			t.Fatal(err)
		}
	}
}

// readMaildir reads every Maildir under root (a directory with a cur
// subdirectory), keyed by its path relative to root with "/" separators.
func readMaildir(t testing.TB, root string) map[string][]mdMsg {
	t.Helper()
	out := map[string][]mdMsg{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			return nil
		}
		if b := d.Name(); b == "cur" || b == "new" || b == "tmp" {
			return filepath.SkipDir
		}
		if _, err := os.Stat(filepath.Join(p, "cur")); err != nil {
			return nil
		}
		rel, _ := filepath.Rel(root, p)
		folder := filepath.ToSlash(rel)
		out[folder] = nil
		for _, sub := range []string{"cur", "new"} {
			ents, err := os.ReadDir(filepath.Join(p, sub))
			if err != nil {
				return err
			}
			for _, e := range ents {
				if e.IsDir() || strings.HasPrefix(e.Name(), ".") {
					continue
				}
				fp := filepath.Join(p, sub, e.Name())
				data, err := os.ReadFile(fp)
				if err != nil {
					return err
				}
				info, err := e.Info()
				if err != nil {
					return err
				}
				out[folder] = append(out[folder], mdMsg{Path: fp, Flags: parseInfo(e.Name()), MTime: info.ModTime(), Data: data})
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// parseInfo returns the IMAP flags in a Maildir file name's ":2,"
// info.
func parseInfo(name string) []string {
	i := strings.LastIndex(name, ":2,")
	if i < 0 {
		return nil
	}
	var out []string
	for _, c := range []byte(name[i+3:]) {
		for _, mf := range maildirFlags {
			if mf.Letter == c {
				out = append(out, mf.Flag)
			}
		}
	}
	sort.Strings(out)
	return out
}

// setMaildirFlags renames a message file so its info carries flags.
func setMaildirFlags(t testing.TB, m mdMsg, flags []imap.Flag) string {
	t.Helper()
	dir, name := filepath.Split(m.Path)
	if i := strings.LastIndex(name, ":2,"); i >= 0 {
		name = name[:i]
	}
	// A message with info belongs in cur/.
	np := filepath.Join(filepath.Dir(filepath.Clean(dir)), "cur", name+":2,"+maildirInfo(flags))
	if err := os.Rename(m.Path, np); err != nil {
		t.Fatal(err)
	}
	return np
}
