package imex

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"barid/internal/blob"
	"barid/internal/imap"
	"barid/internal/store"
)

// Exporter writes one account's mail out.
type Exporter struct {
	Store    store.Store
	Blobs    blob.Store
	Account  *store.Account
	Logger   *slog.Logger
	Progress *Progress
	// Mailbox, when set, limits the export to that mailbox.
	Mailbox string
}

func (ex *Exporter) log() *slog.Logger {
	if ex.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return ex.Logger
}

// exportChunk is how many messages' metadata one read holds.
const exportChunk = 1000

// mailboxes returns the mailboxes to export, with their UIDs counted
// into the progress totals.
func (ex *Exporter) mailboxes(ctx context.Context) ([]store.Mailbox, error) {
	mbs, err := ex.Store.Mailboxes(ctx, ex.Account.ID)
	if err != nil {
		return nil, err
	}
	if ex.Mailbox != "" {
		mbs = slices.DeleteFunc(mbs, func(m store.Mailbox) bool { return m.Name != ex.Mailbox })
		if len(mbs) == 0 {
			return nil, fmt.Errorf("%w: %s", store.ErrNoMailbox, ex.Mailbox)
		}
	}
	for _, m := range mbs {
		st, err := ex.Store.MailboxStatus(ctx, m.ID)
		if err != nil {
			return nil, err
		}
		ex.Progress.AddTotal(int64(st.Messages), st.Size)
	}
	return mbs, nil
}

// each calls fn for every message of the mailbox in UID order, reading
// metadata exportChunk messages at a time.
func (ex *Exporter) each(ctx context.Context, mb *store.Mailbox, fn func(m *store.Message) error) (*store.Mailbox, error) {
	cur, uids, err := ex.Store.MessageUIDs(ctx, mb.ID)
	if err != nil {
		return nil, err
	}
	for i := 0; i < len(uids); i += exportChunk {
		chunk := uids[i:min(i+exportChunk, len(uids))]
		var msgs []store.Message
		err := ex.Store.FetchMessages(store.WithBulk(ctx), mb.ID, chunk, store.FieldFlags|store.FieldBasics, func(m *store.Message) error {
			c := *m
			c.Flags.Keywords = slices.Clone(m.Flags.Keywords)
			msgs = append(msgs, c)
			return nil
		})
		if err != nil {
			return nil, err
		}
		for i := range msgs {
			if err := fn(&msgs[i]); err != nil {
				return nil, err
			}
		}
	}
	return cur, nil
}

func (ex *Exporter) open(ctx context.Context, m *store.Message) (io.Reader, func(), error) {
	r, err := ex.Blobs.Open(ctx, m.BlobID)
	if err != nil {
		return nil, nil, fmt.Errorf("message UID %d: blob %s: %w", m.UID, m.BlobID, err)
	}
	return io.NewSectionReader(r, 0, r.Size()), func() { r.Close() }, nil
}

// ExportMaildir writes the account as a Maildir++ tree under root (INBOX
// is root, mailbox A/B is root/.A.B) with Dovecot's control files:
// dovecot-uidlist (each mailbox's UIDVALIDITY, UIDNEXT and UIDs),
// dovecot-keywords and subscriptions, so that barid or Dovecot keeps the
// UIDs when it reads the tree. File names are <date>.U<uidvalidity>_<uid>.barid
// with ,S= (file size) and ,W= (RFC822.SIZE), flags after ":2,", and
// each file's mtime is the internal date. Exporting again into the
// same tree rewrites no message, only renames files whose flags
// changed and adds new ones.
func (ex *Exporter) ExportMaildir(ctx context.Context, root string) error {
	mbs, err := ex.mailboxes(ctx)
	if err != nil {
		return err
	}
	for i := range mbs {
		if strings.Contains(mbs[i].Name, ".") {
			// Maildir++ separates levels with ".": "v1.2" would come
			// back as "v1/2".
			ex.log().Warn("export: a mailbox name with \".\" cannot be a Maildir++ folder; left out", "mailbox", mbs[i].Name)
			continue
		}
		if err := ex.exportMaildirBox(ctx, root, &mbs[i]); err != nil {
			return fmt.Errorf("%s: %w", mbs[i].Name, err)
		}
	}
	if ex.Mailbox != "" {
		return nil
	}
	subs, err := ex.Store.Subscriptions(ctx, ex.Account.ID)
	if err != nil {
		return err
	}
	var b strings.Builder
	b.WriteString("V\t2\n\n")
	for _, s := range subs {
		parts := strings.Split(s, "/")
		for i, p := range parts {
			parts[i] = imap.EncodeMUTF7(p)
		}
		b.WriteString(strings.Join(parts, "\t"))
		b.WriteByte('\n')
	}
	return writeFileAtomic(filepath.Join(root, "subscriptions"), []byte(b.String()))
}

func (ex *Exporter) exportMaildirBox(ctx context.Context, root string, mb *store.Mailbox) error {
	dir := filepath.Join(root, MaildirDirName(mb.Name))
	for _, sub := range []string{"cur", "new", "tmp"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o700); err != nil {
			return err
		}
	}
	if mb.Name != "INBOX" {
		// Maildir++ marks a folder with an empty maildirfolder file.
		if err := writeFileAtomic(filepath.Join(dir, "maildirfolder"), nil); err != nil {
			return err
		}
	}
	// What an earlier export left: basename -> file name in cur/.
	existing := map[string]string{}
	if err := readDirNames(filepath.Join(dir, "cur"), func(name string) { existing[maildirBase(name)] = name }); err != nil {
		return err
	}
	kw := keywordIndex{}
	if old, err := ReadKeywords(dir); err == nil {
		for i, k := range old {
			if k != "" {
				kw.set(i, k)
			}
		}
	}
	var list bytes.Buffer
	cur, err := ex.each(ctx, mb, func(m *store.Message) error {
		base := fmt.Sprintf("%d.U%d_%d.barid", m.InternalDate.Unix(), mb.UIDValidity, m.UID)
		// ,S= is the file's size, ,W= the CRLF size (RFC822.SIZE).
		var size int64
		if r, err := ex.Blobs.Open(ctx, m.BlobID); err == nil {
			size = r.Size()
			r.Close()
		}
		base += fmt.Sprintf(",S=%d,W=%d", size, m.Size)
		name := base + ":2," + kw.letters(m.Flags, ex.log(), mb.Name)
		fmt.Fprintf(&list, "%d :%s\n", m.UID, base)
		if old, ok := existing[base]; ok {
			ex.Progress.Done(m.Size, true)
			if old == name {
				return nil
			}
			return os.Rename(filepath.Join(dir, "cur", old), filepath.Join(dir, "cur", name))
		}
		r, done, err := ex.open(ctx, m)
		if err != nil {
			return err
		}
		defer done()
		tmp := filepath.Join(dir, "tmp", base)
		f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
		if err != nil {
			return err
		}
		if _, err := io.Copy(f, r); err != nil {
			f.Close()
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
		// Dovecot's maildir INTERNALDATE is the mtime.
		if err := os.Chtimes(tmp, m.InternalDate, m.InternalDate); err != nil {
			return err
		}
		ex.Progress.Done(m.Size, false)
		return os.Rename(tmp, filepath.Join(dir, "cur", name))
	})
	if err != nil {
		return err
	}
	sum := sha256.Sum256(fmt.Appendf(nil, "%d/%d/%s", ex.Account.ID, cur.UIDValidity, cur.Name))
	head := fmt.Sprintf("3 V%d N%d G%s\n", cur.UIDValidity, cur.UIDNext, hex.EncodeToString(sum[:16]))
	if err := writeFileAtomic(filepath.Join(dir, "dovecot-uidlist"), append([]byte(head), list.Bytes()...)); err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(dir, "dovecot-keywords"), kw.file())
}

// keywordIndex assigns keywords the letters a..z of dovecot-keywords.
type keywordIndex struct {
	names  [26]string
	warned bool
}

func (k *keywordIndex) set(i int, name string) { k.names[i] = name }

func (k *keywordIndex) letter(name string) (byte, bool) {
	free := -1
	for i, n := range k.names {
		if strings.EqualFold(n, name) {
			return 'a' + byte(i), true
		}
		if n == "" && free < 0 {
			free = i
		}
	}
	if free < 0 {
		return 0, false
	}
	k.names[free] = name
	return 'a' + byte(free), true
}

// letters renders the info flags in ASCII order (the Maildir rule):
// D F R S T, then the keywords' letters.
func (k *keywordIndex) letters(f store.Flags, log *slog.Logger, mailbox string) string {
	var b []byte
	for _, p := range []struct {
		c    byte
		flag store.SysFlags
	}{{'D', store.FlagDraft}, {'F', store.FlagFlagged}, {'R', store.FlagAnswered}, {'S', store.FlagSeen}, {'T', store.FlagDeleted}} {
		if f.System&p.flag != 0 {
			b = append(b, p.c)
		}
	}
	for _, kw := range f.Keywords {
		c, ok := k.letter(kw)
		if !ok {
			if !k.warned {
				log.Warn("export: more than 26 keywords in a mailbox; Maildir file names hold 26, the others are left out", "mailbox", mailbox, "keyword", kw)
				k.warned = true
			}
			continue
		}
		b = append(b, c)
	}
	slices.Sort(b)
	return string(slices.Compact(b))
}

func (k *keywordIndex) file() []byte {
	var b bytes.Buffer
	for i, n := range k.names {
		if n != "" {
			fmt.Fprintf(&b, "%d %s\n", i, n)
		}
	}
	return b.Bytes()
}

func writeFileAtomic(path string, data []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// ExportMbox writes each mailbox as an mboxrd file: root/NAME.mbox
// (levels of NAME become folders). With ex.Mailbox set, that one mailbox
// goes to the file path instead. Flags go into Status:, X-Status: and
// X-Keywords: headers (as Dovecot and mutt read them), UIDs into
// X-IMAPbase and X-UID (as Dovecot keeps them); the From_ line carries
// the internal date; line ends are LF.
func (ex *Exporter) ExportMbox(ctx context.Context, path string) error {
	mbs, err := ex.mailboxes(ctx)
	if err != nil {
		return err
	}
	for i := range mbs {
		file := path
		if ex.Mailbox == "" {
			file = filepath.Join(path, mboxPath(mbs[i].Name)+".mbox")
		}
		if err := ex.exportMboxFile(ctx, file, &mbs[i]); err != nil {
			return fmt.Errorf("%s: %w", mbs[i].Name, err)
		}
	}
	return nil
}

func (ex *Exporter) exportMboxFile(ctx context.Context, file string, mb *store.Mailbox) error {
	if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
		return err
	}
	tmp := file + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	defer os.Remove(tmp)
	w := bufio.NewWriterSize(f, 256<<10)
	cur, err := ex.Store.MailboxByID(ctx, mb.ID)
	if err != nil {
		return err
	}
	first := true
	_, err = ex.each(ctx, mb, func(m *store.Message) error {
		r, done, err := ex.open(ctx, m)
		if err != nil {
			return err
		}
		defer done()
		fmt.Fprintf(w, "From MAILER-DAEMON %s\n", m.InternalDate.UTC().Format("Mon Jan _2 15:04:05 2006"))
		// Dovecot's mbox headers for UIDs: X-IMAPbase (UIDVALIDITY,
		// UIDNEXT) in the first message, X-UID in each, so that an
		// import (barid's or Dovecot's) keeps them.
		uids := fmt.Sprintf("X-UID: %d\n", m.UID)
		if first {
			uids = fmt.Sprintf("X-IMAPbase: %d %d\n", cur.UIDValidity, cur.UIDNext) + uids
			first = false
		}
		if err := writeMboxMessage(w, r, m.Flags, uids); err != nil {
			return err
		}
		ex.Progress.Done(m.Size, false)
		return nil
	})
	if err == nil && first {
		// An empty mailbox: its UIDVALIDITY and UIDNEXT go into the
		// folder's internal-data message, as UW-IMAP and Dovecot write
		// it (an X-IMAP header); importers skip it.
		date := time.Now().UTC().Format("Mon Jan _2 15:04:05 2006")
		fmt.Fprintf(w, "From MAILER-DAEMON %s\nDate: %s\nFrom: Mail System Internal Data <MAILER-DAEMON@localhost>\n"+
			"Subject: DON'T DELETE THIS MESSAGE -- FOLDER INTERNAL DATA\nX-IMAP: %d %d\nStatus: RO\n\n"+
			"This text is part of the internal format of your mail folder, and is not\na real message.\n\n",
			date, time.Now().UTC().Format(time.RFC1123Z), cur.UIDValidity, cur.UIDNext)
	}
	if err == nil {
		err = w.Flush()
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return os.Rename(tmp, file)
}

// writeMboxMessage writes one message after its From_ line: the header
// with extra and the flag headers added before the empty line, the body with
// mboxrd quoting, LF line ends, and the empty separator line.
func writeMboxMessage(w *bufio.Writer, r io.Reader, f store.Flags, extra string) error {
	br := bufio.NewReaderSize(r, 64<<10)
	inHeader := true
	writeFlags := func() {
		status := "O"
		if f.System&store.FlagSeen != 0 {
			status = "RO"
		}
		w.WriteString(extra)
		fmt.Fprintf(w, "Status: %s\n", status)
		var xs []byte
		for _, p := range []struct {
			c    byte
			flag store.SysFlags
		}{{'A', store.FlagAnswered}, {'F', store.FlagFlagged}, {'T', store.FlagDraft}, {'D', store.FlagDeleted}} {
			if f.System&p.flag != 0 {
				xs = append(xs, p.c)
			}
		}
		if len(xs) > 0 {
			fmt.Fprintf(w, "X-Status: %s\n", xs)
		}
		if len(f.Keywords) > 0 {
			fmt.Fprintf(w, "X-Keywords: %s\n", strings.Join(f.Keywords, " "))
		}
	}
	ended := true
	for {
		line, err := br.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			// A very long line: write it through unchanged.
			w.Write(line)
			ended = false
			continue
		}
		if err != nil && err != io.EOF {
			return err
		}
		if len(line) == 0 && err == io.EOF {
			break
		}
		text := bytes.TrimRight(line, "\r\n")
		hadEOL := len(text) != len(line)
		if !ended {
			// The tail of a long line.
			w.Write(text)
		} else if inHeader && len(text) == 0 {
			writeFlags()
			inHeader = false
		} else if isQuotable(text) {
			w.WriteByte('>')
			w.Write(text)
		} else {
			w.Write(text)
		}
		ended = true
		if hadEOL || err == io.EOF {
			w.WriteByte('\n')
		}
		if err == io.EOF {
			break
		}
	}
	if inHeader {
		// A message without a body (and without the empty line that
		// would end its header).
		writeFlags()
	}
	return w.WriteByte('\n')
}

// isQuotable: mboxrd quotes every line matching ^>*From .
func isQuotable(l []byte) bool {
	i := 0
	for i < len(l) && l[i] == '>' {
		i++
	}
	return bytes.HasPrefix(l[i:], []byte("From "))
}

// mboxPath maps a mailbox name to a relative file path: its levels
// become folders; a level of dots ("." or "..", which would leave the
// export folder) is written with its dots as "%2E", an empty one as "%".
func mboxPath(name string) string {
	parts := strings.Split(name, "/")
	for i, p := range parts {
		switch {
		case p == "":
			parts[i] = "%"
		case strings.Trim(p, ".") == "":
			parts[i] = strings.ReplaceAll(p, ".", "%2E")
		}
	}
	return filepath.Join(parts...)
}
