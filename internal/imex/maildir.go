package imex

import (
	"bufio"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"barid/internal/imap"
	"barid/internal/store"
)

// MaildirFolder is one mailbox of a Maildir++ tree.
type MaildirFolder struct {
	Name string // barid name: "INBOX" or "A/B" for .A.B
	Dir  string // its maildir (with cur/, new/, tmp/)
}

// ScanMaildir lists the mailboxes of a Maildir++ tree: the root is
// INBOX, each ".A.B" folder beside cur/ is mailbox "A/B" (Dovecot's
// maildir++ layout, names in modified UTF-7, RFC 3501 §5.1.3). Folders
// without cur/ are skipped.
func ScanMaildir(root string) ([]MaildirFolder, error) {
	if !isMaildir(root) {
		return nil, fmt.Errorf("%s is not a maildir (no cur/ folder)", root)
	}
	out := []MaildirFolder{{Name: "INBOX", Dir: root}}
	ents, err := os.ReadDir(root)
	if err != nil {
		return nil, err
	}
	for _, e := range ents {
		n := e.Name()
		if len(n) < 2 || n[0] != '.' || n == ".." {
			continue
		}
		dir := filepath.Join(root, n)
		if !isMaildir(dir) {
			continue
		}
		name, err := MaildirName(n)
		if err != nil {
			return nil, fmt.Errorf("folder %s: %w", n, err)
		}
		out = append(out, MaildirFolder{Name: name, Dir: dir})
	}
	slices.SortFunc(out[1:], func(a, b MaildirFolder) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// MaildirName maps a Maildir++ folder name (".A.B") to a mailbox name
// ("A/B"), decoding modified UTF-7. ".INBOX.x" is "INBOX/x".
func MaildirName(dir string) (string, error) {
	parts := strings.Split(strings.TrimPrefix(dir, "."), ".")
	for i, p := range parts {
		if p == "" {
			return "", errors.New("empty hierarchy level")
		}
		d, err := imap.DecodeMUTF7(p)
		if err != nil {
			return "", err
		}
		if strings.ContainsAny(d, "/\x00\r\n") {
			return "", fmt.Errorf("level %q holds a character barid's names cannot", d)
		}
		parts[i] = d
	}
	name := strings.Join(parts, "/")
	if strings.EqualFold(parts[0], "INBOX") {
		name = "INBOX" + name[5:]
	}
	return name, nil
}

// MaildirDirName is MaildirName's inverse: "A/B" is ".A.B"; INBOX is "".
func MaildirDirName(name string) string {
	if name == "INBOX" {
		return ""
	}
	parts := strings.Split(name, "/")
	for i, p := range parts {
		parts[i] = imap.EncodeMUTF7(p)
	}
	return "." + strings.Join(parts, ".")
}

func isMaildir(dir string) bool {
	fi, err := os.Stat(filepath.Join(dir, "cur"))
	return err == nil && fi.IsDir()
}

// Uidlist is the header of a dovecot-uidlist file.
type Uidlist struct {
	Version     int
	UIDValidity uint32
	NextUID     store.UID
}

// readUidlistHeader parses a dovecot-uidlist header line: version 3 is
// "3 V<uidvalidity> N<nextuid> G<guid> ...", versions 1 and 2 are
// "1 <uidvalidity> <nextuid>".
func parseUidlistHeader(line string) (Uidlist, error) {
	f := strings.Fields(line)
	var u Uidlist
	if len(f) < 1 {
		return u, errors.New("empty dovecot-uidlist header")
	}
	v, err := strconv.Atoi(f[0])
	if err != nil {
		return u, fmt.Errorf("dovecot-uidlist: bad version %q", f[0])
	}
	u.Version = v
	switch v {
	case 1, 2:
		if len(f) < 3 {
			return u, fmt.Errorf("dovecot-uidlist: short v%d header", v)
		}
		uv, err1 := strconv.ParseUint(f[1], 10, 32)
		nu, err2 := strconv.ParseUint(f[2], 10, 32)
		if err1 != nil || err2 != nil {
			return u, fmt.Errorf("dovecot-uidlist: bad v%d header %q", v, line)
		}
		u.UIDValidity, u.NextUID = uint32(uv), store.UID(nu)
	case 3:
		for _, kv := range f[1:] {
			if len(kv) < 2 {
				continue
			}
			switch kv[0] {
			case 'V':
				n, err := strconv.ParseUint(kv[1:], 10, 32)
				if err != nil {
					return u, fmt.Errorf("dovecot-uidlist: bad UIDVALIDITY %q", kv)
				}
				u.UIDValidity = uint32(n)
			case 'N':
				n, err := strconv.ParseUint(kv[1:], 10, 32)
				if err != nil {
					return u, fmt.Errorf("dovecot-uidlist: bad next UID %q", kv)
				}
				u.NextUID = store.UID(n)
			}
		}
	default:
		return u, fmt.Errorf("dovecot-uidlist: unknown version %d", v)
	}
	return u, nil
}

// parseUidlistLine parses one record: "<uid> [<key><value> ...] :<name>"
// in version 3, "<uid> <name>" before. It returns the UID and the file
// name up to the info separator (the basename).
func parseUidlistLine(line string, version int) (store.UID, string, error) {
	sp := strings.IndexByte(line, ' ')
	if sp <= 0 {
		return 0, "", fmt.Errorf("dovecot-uidlist: bad record %q", line)
	}
	n, err := strconv.ParseUint(line[:sp], 10, 32)
	if err != nil || n == 0 {
		return 0, "", fmt.Errorf("dovecot-uidlist: bad UID in %q", line)
	}
	rest := line[sp+1:]
	var name string
	if version >= 3 {
		i := strings.Index(rest, ":")
		if i < 0 {
			return 0, "", fmt.Errorf("dovecot-uidlist: record without a file name: %q", line)
		}
		name = rest[i+1:]
	} else {
		name = strings.TrimSpace(rest)
	}
	name = maildirBase(name)
	if name == "" {
		return 0, "", fmt.Errorf("dovecot-uidlist: record without a file name: %q", line)
	}
	return store.UID(n), name, nil
}

// maildirBase cuts a maildir file name at its info (":2,FLAGS").
func maildirBase(name string) string {
	if i := strings.IndexByte(name, ':'); i >= 0 {
		return name[:i]
	}
	return name
}

// ReadKeywords reads dovecot-keywords: "<index> <name>" per line; the
// file-name letters a..z stand for indexes 0..25.
func ReadKeywords(dir string) ([26]string, error) {
	var kw [26]string
	b, err := os.ReadFile(filepath.Join(dir, "dovecot-keywords"))
	if errors.Is(err, os.ErrNotExist) {
		return kw, nil
	}
	if err != nil {
		return kw, err
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		i, name, ok := strings.Cut(strings.TrimRight(line, "\r"), " ")
		if !ok {
			continue
		}
		n, err := strconv.Atoi(i)
		if err != nil || n < 0 || n >= len(kw) || name == "" {
			continue
		}
		kw[n] = name
	}
	return kw, nil
}

// MaildirFlags maps a file name's info (the part after ":2,") to flags
// as Dovecot does: D \Draft, F \Flagged, R \Answered, S \Seen,
// T \Deleted, a..z the keywords of dovecot-keywords; other letters
// (P passed) are not IMAP flags.
func MaildirFlags(info string, kw *[26]string) store.Flags {
	var names []string
	for _, c := range []byte(info) {
		switch {
		case c == 'D':
			names = append(names, `\Draft`)
		case c == 'F':
			names = append(names, `\Flagged`)
		case c == 'R':
			names = append(names, `\Answered`)
		case c == 'S':
			names = append(names, `\Seen`)
		case c == 'T':
			names = append(names, `\Deleted`)
		case c >= 'a' && c <= 'z' && kw != nil && kw[c-'a'] != "":
			names = append(names, kw[c-'a'])
		}
	}
	return store.FlagsFromNames(names)
}

// sizeFromName returns the ,S=<size> of a maildir file name, or 0.
func sizeFromName(name string) int64 {
	base := maildirBase(name)
	i := strings.Index(base, ",S=")
	if i < 0 {
		return 0
	}
	s := base[i+3:]
	if j := strings.IndexByte(s, ','); j >= 0 {
		s = s[:j]
	}
	n, _ := strconv.ParseInt(s, 10, 64)
	return n
}

// mdEntry is one listed file: which folder (new/cur), its info, and
// whether the uidlist claimed it. The map holds only a hash of the
// basename and an index into the few distinct infos, so that a folder of
// a million messages costs tens of MiB, not its names.
type mdEntry struct {
	info uint32 // index into mdDir.infos
	new  bool
	used bool
}

type mdDir struct {
	dir   string
	seed  maphash.Seed
	ents  map[uint64]mdEntry
	infos []string
	infoI map[string]uint32
	bytes int64 // sum of ,S= sizes
}

func (d *mdDir) key(base string) uint64 { return maphash.String(d.seed, base) }

// list reads cur/ and new/ in chunks.
func listMaildir(dir string) (*mdDir, error) {
	d := &mdDir{dir: dir, seed: maphash.MakeSeed(), ents: map[uint64]mdEntry{}, infoI: map[string]uint32{}}
	for _, sub := range []string{"cur", "new"} {
		err := readDirNames(filepath.Join(dir, sub), func(name string) {
			// info is the raw text after ':' ("2,FS"), or noInfo.
			base, info := name, noInfo
			if i := strings.IndexByte(name, ':'); i >= 0 {
				base, info = name[:i], name[i+1:]
			}
			ii, ok := d.infoI[info]
			if !ok {
				ii = uint32(len(d.infos))
				d.infos = append(d.infos, info)
				d.infoI[info] = ii
			}
			d.ents[d.key(base)] = mdEntry{info: ii, new: sub == "new"}
			d.bytes += sizeFromName(base)
		})
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, err
		}
	}
	return d, nil
}

// readDirNames calls fn with each regular entry of dir, reading the
// directory in chunks (a folder of a million files is never held whole).
func readDirNames(dir string, fn func(name string)) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	for {
		names, err := f.Readdirnames(4096)
		for _, n := range names {
			if n == "" || n[0] == '.' {
				continue
			}
			fn(n)
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// path is the file of an entry.
func (d *mdDir) path(base string, e mdEntry) string {
	if e.new {
		return filepath.Join(d.dir, "new", base)
	}
	info := d.infos[e.info]
	if info == noInfo {
		return filepath.Join(d.dir, "cur", base)
	}
	return filepath.Join(d.dir, "cur", base+":"+info)
}

// noInfo marks a file name without ":" info.
const noInfo = "\x00"

// flags maps an entry's info to flags.
func (d *mdDir) flags(e mdEntry, kw *[26]string) store.Flags {
	info := d.infos[e.info]
	if e.new || !strings.HasPrefix(info, "2,") {
		return store.Flags{}
	}
	return MaildirFlags(info[2:], kw)
}

// MaildirSource reads one maildir as an import Folder.
type MaildirSource struct {
	Folder  MaildirFolder
	Uidlist *Uidlist // nil: no dovecot-uidlist (new UIDs, matched by content)
	dir     *mdDir
	kw      [26]string
}

// OpenMaildir lists one maildir and reads its uidlist header and
// keywords.
func OpenMaildir(f MaildirFolder) (*MaildirSource, error) {
	s := &MaildirSource{Folder: f}
	var err error
	if s.kw, err = ReadKeywords(f.Dir); err != nil {
		return nil, err
	}
	if s.dir, err = listMaildir(f.Dir); err != nil {
		return nil, err
	}
	fh, err := os.Open(filepath.Join(f.Dir, "dovecot-uidlist"))
	if err == nil {
		defer fh.Close()
		line, rerr := bufio.NewReader(fh).ReadString('\n')
		if rerr != nil && rerr != io.EOF {
			return nil, rerr
		}
		u, err := parseUidlistHeader(strings.TrimRight(line, "\r\n"))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f.Dir, err)
		}
		if u.UIDValidity != 0 {
			s.Uidlist = &u
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	return s, nil
}

// Count returns how many messages the maildir holds and the sum of their
// ,S= sizes (0 when the names carry none).
func (s *MaildirSource) Count() (int64, int64) { return int64(len(s.dir.ents)), s.dir.bytes }

// Import returns the Folder for the engine.
func (s *MaildirSource) Import() Folder {
	f := Folder{Name: s.Folder.Name, Messages: s.messages}
	if s.Uidlist != nil {
		f.UIDValidity, f.UIDNext = s.Uidlist.UIDValidity, s.Uidlist.NextUID
	}
	return f
}

func (s *MaildirSource) message(base string, e mdEntry, uid store.UID) *Message {
	p := s.dir.path(base, e)
	return &Message{
		UID:   uid,
		Flags: s.dir.flags(e, &s.kw),
		Size:  sizeFromName(base),
		Label: p,
		// Dovecot's maildir INTERNALDATE is the file's mtime (APPEND
		// sets it with utime).
		Open: func() (io.ReadCloser, time.Time, error) { return openMessage(p) },
	}
}

// messages yields the uidlist's messages in UID order, then the files
// it does not list (delivered after Dovecot last wrote it), in name
// order, with UIDs from the uidlist's next UID on (as Dovecot would give
// them). Without a uidlist every file comes in name order, without UIDs.
func (s *MaildirSource) messages(_ store.UID, yield func(*Message) error) error {
	last := store.UID(0)
	if s.Uidlist != nil {
		fh, err := os.Open(filepath.Join(s.Folder.Dir, "dovecot-uidlist"))
		if err != nil {
			return err
		}
		defer fh.Close()
		sc := bufio.NewScanner(fh)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		first := true
		for sc.Scan() {
			if first {
				first = false
				continue
			}
			line := strings.TrimRight(sc.Text(), "\r")
			if line == "" {
				continue
			}
			uid, base, err := parseUidlistLine(line, s.Uidlist.Version)
			if err != nil {
				return fmt.Errorf("%s: %w", s.Folder.Dir, err)
			}
			k := s.dir.key(base)
			e, ok := s.dir.ents[k]
			if !ok || e.used {
				continue // expunged since the uidlist was written
			}
			if uid <= last {
				return fmt.Errorf("%s: dovecot-uidlist: UID %d after %d", s.Folder.Dir, uid, last)
			}
			last = uid
			e.used = true
			s.dir.ents[k] = e
			if err := yield(s.message(base, e, uid)); err != nil {
				return err
			}
		}
		if err := sc.Err(); err != nil {
			return err
		}
	}
	// The files the uidlist does not list.
	var rest []string
	for _, sub := range []string{"cur", "new"} {
		err := readDirNames(filepath.Join(s.Folder.Dir, sub), func(name string) {
			base := maildirBase(name)
			if e, ok := s.dir.ents[s.dir.key(base)]; ok && !e.used {
				rest = append(rest, base)
			}
		})
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	slices.Sort(rest)
	rest = slices.Compact(rest)
	next := store.UID(0)
	if s.Uidlist != nil {
		next = max(s.Uidlist.NextUID, last+1)
	}
	for _, base := range rest {
		uid := store.UID(0)
		if next != 0 {
			uid = next
			next++
		}
		if err := yield(s.message(base, s.dir.ents[s.dir.key(base)], uid)); err != nil {
			return err
		}
	}
	return nil
}

// ReadSubscriptions reads Dovecot's subscriptions file at the root of a
// maildir: "V\t2" then an empty line then one name per line with the
// hierarchy levels separated by tabs (version 2), or one name per line
// with the namespace separator (version 1, no header).
func ReadSubscriptions(root string, sep string) ([]string, error) {
	b, err := os.ReadFile(filepath.Join(root, "subscriptions"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	lines := strings.Split(strings.ReplaceAll(string(b), "\r\n", "\n"), "\n")
	v2 := len(lines) > 0 && strings.HasPrefix(lines[0], "V\t")
	if v2 {
		lines = lines[1:]
	}
	var out []string
	for _, l := range lines {
		if l == "" {
			continue
		}
		if v2 {
			l = strings.ReplaceAll(l, "\t", "/")
		} else if sep != "/" {
			l = strings.ReplaceAll(l, sep, "/")
		}
		// Names are in modified UTF-7 (RFC 3501 §5.1.3), as on disk.
		if d, err := decodeLevels(l); err == nil {
			l = d
		}
		if strings.EqualFold(l, "INBOX") {
			l = "INBOX"
		}
		out = append(out, l)
	}
	return out, nil
}

// decodeLevels decodes each "/"-separated level from modified UTF-7.
func decodeLevels(name string) (string, error) {
	parts := strings.Split(name, "/")
	for i, p := range parts {
		d, err := imap.DecodeMUTF7(p)
		if err != nil {
			return "", err
		}
		parts[i] = d
	}
	return strings.Join(parts, "/"), nil
}
