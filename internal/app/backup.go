package app

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"time"

	"barid/internal/blob"
	"barid/internal/blob/fs"
	"barid/internal/config"
	"barid/internal/store"
	"barid/internal/store/sqlite"
)

// Backups of the embedded default (SQLite metadata): a folder with
//
//	barid.db       a consistent snapshot of the database (VACUUM INTO)
//	blobs/         the message files it references (blob/fs layout)
//	manifest.json  what was copied (BackupManifest)
//
// Small messages live inside the database (inline) and come with it.
// The snapshot is taken first; the files it references were all written
// and synced before the metadata that names them was committed, so they
// are there to copy while deliveries continue. A file removed between
// the snapshot and its copy (its messages were expunged since, and the
// sweep took it) makes the backup take a new snapshot, which no longer
// references it.

// ErrPostgresBackup is what backup and restore say for the PostgreSQL
// backend, whose backups are PostgreSQL's and the object store's.
var ErrPostgresBackup = errors.New("the metadata store is PostgreSQL: back it up with pg_dump (or continuous archiving) " +
	"and the blob store with S3 bucket versioning or replication; see docs/operations.md, \"Backup and restore\"")

// BackupManifest describes a backup (manifest.json).
type BackupManifest struct {
	Format      int       `json:"format"` // 1
	Created     time.Time `json:"created"`
	Source      string    `json:"source"` // the data folder
	Snapshots   int       `json:"snapshots"`
	Accounts    int       `json:"accounts"`
	Mailboxes   int       `json:"mailboxes"`
	Messages    int       `json:"messages"`
	BlobFiles   int       `json:"blob_files"`
	BlobBytes   int64     `json:"blob_bytes"`
	InlineBlobs int       `json:"inline_blobs"`
	// Missing are referenced blobs the live store did not have (a
	// damaged data folder: "barid check" says more).
	Missing []string `json:"missing,omitempty"`
}

// maxSnapshots bounds the retries when blobs vanish under a backup.
const maxSnapshots = 3

func refuseSQLiteOnly(cfg *config.Config) error {
	if config.IsPostgresURL(cfg.Storage.Metadata) {
		return ErrPostgresBackup
	}
	return nil
}

// Backup writes a backup of cfg's data folder into out, a new or empty
// folder. It may run while the server serves.
func Backup(ctx context.Context, cfg *config.Config, out string, logger *slog.Logger) (*BackupManifest, error) {
	if err := refuseSQLiteOnly(cfg); err != nil {
		return nil, err
	}
	dbPath := cfg.Path("barid.db")
	if _, err := os.Stat(dbPath); err != nil {
		return nil, fmt.Errorf("no database to back up: %w", err)
	}
	if err := os.MkdirAll(out, 0o700); err != nil {
		return nil, err
	}
	if ents, err := os.ReadDir(out); err != nil {
		return nil, err
	} else if len(ents) > 0 {
		return nil, fmt.Errorf("%s is not empty: back up into a new folder", out)
	}
	live, err := openBlobs(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open blob store: %w", err)
	}
	dst, err := fs.Open(filepath.Join(out, "blobs"))
	if err != nil {
		return nil, err
	}
	m := &BackupManifest{Format: 1, Created: time.Now().UTC(), Source: cfg.DataDir}
	copied := map[string]bool{}
	snapPath := filepath.Join(out, "barid.db")
	for m.Snapshots < maxSnapshots {
		m.Snapshots++
		for _, suffix := range []string{"", "-wal", "-shm"} {
			os.Remove(snapPath + suffix)
		}
		if err := sqlite.Snapshot(ctx, dbPath, snapPath); err != nil {
			return nil, err
		}
		missing, err := copyReferenced(ctx, snapPath, live, dst, copied, m, logger)
		if err != nil {
			return nil, err
		}
		m.Missing = missing
		if len(missing) == 0 {
			break
		}
		logger.Warn("backup: blobs referenced by the snapshot are gone; taking a new snapshot", "missing", len(missing))
	}
	if err := syncFile(snapPath); err != nil {
		return nil, err
	}
	b, _ := json.MarshalIndent(m, "", "  ")
	if err := writeFileSync(filepath.Join(out, "manifest.json"), append(b, '\n')); err != nil {
		return nil, err
	}
	if len(m.Missing) > 0 {
		return m, fmt.Errorf("%d referenced blobs are missing from the data folder (listed in manifest.json; run barid check)", len(m.Missing))
	}
	return m, nil
}

// copyReferenced copies into dst every blob the snapshot at snapPath
// references that is neither inline nor copied yet, and counts what the
// snapshot holds into m. It returns the blobs live does not have.
func copyReferenced(ctx context.Context, snapPath string, live, dst blob.Store, copied map[string]bool, m *BackupManifest, logger *slog.Logger) ([]string, error) {
	snap, err := sqlite.Open(ctx, snapPath, sqlite.Options{Logger: logger})
	if err != nil {
		return nil, fmt.Errorf("open snapshot: %w", err)
	}
	defer snap.Close()
	var refs []string
	if err := snap.BlobRefs(ctx, func(id string) error { refs = append(refs, id); return nil }); err != nil {
		return nil, err
	}
	var missing []string
	m.InlineBlobs = 0
	for _, id := range refs {
		if copied[id] {
			continue
		}
		if _, ok, err := snap.OpenInline(ctx, id); err != nil {
			return nil, err
		} else if ok {
			m.InlineBlobs++
			continue
		}
		n, err := copyBlob(ctx, live, dst, id)
		if errors.Is(err, blob.ErrNotFound) {
			missing = append(missing, id)
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("copy blob %s: %w", id, err)
		}
		copied[id] = true
		m.BlobFiles++
		m.BlobBytes += n
	}
	accts, err := snap.Accounts(ctx)
	if err != nil {
		return nil, err
	}
	m.Accounts, m.Mailboxes, m.Messages = len(accts), 0, 0
	for _, a := range accts {
		mbs, err := snap.Mailboxes(ctx, a.ID)
		if err != nil {
			return nil, err
		}
		m.Mailboxes += len(mbs)
		for _, mb := range mbs {
			st, err := snap.MailboxStatus(ctx, mb.ID)
			if err != nil {
				return nil, err
			}
			m.Messages += int(st.Messages)
		}
	}
	return missing, nil
}

// copyBlob copies blob id from src to dst and checks that its content
// still hashes to its name.
func copyBlob(ctx context.Context, src, dst blob.Store, id string) (int64, error) {
	r, err := src.Open(ctx, id)
	if err != nil {
		return 0, err
	}
	defer r.Close()
	w, err := dst.Create(ctx)
	if err != nil {
		return 0, err
	}
	if _, err := io.Copy(w, io.NewSectionReader(r, 0, r.Size())); err != nil {
		w.Abort()
		return 0, err
	}
	got, n, err := w.Commit(ctx)
	if err != nil {
		return 0, err
	}
	if got != id {
		return 0, fmt.Errorf("content hashes to %s: the source file is damaged", got)
	}
	return n, nil
}

func syncFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}

func writeFileSync(path string, b []byte) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// serverRunning reports whether a server answers on the data folder's
// control or hand-off socket.
func serverRunning(cfg *config.Config) bool {
	for _, p := range []string{cfg.ControlSocket(), cfg.Path(HandoffSocket)} {
		if p == "" {
			continue
		}
		if c, err := net.DialTimeout("unix", p, time.Second); err == nil {
			c.Close()
			return true
		}
	}
	return false
}

// Restore puts the backup in folder from into cfg's data folder, which
// must hold no database, with no server running on it. Message files
// go to the configured blob store.
func Restore(ctx context.Context, from string, cfg *config.Config, logger *slog.Logger) (*BackupManifest, error) {
	if err := refuseSQLiteOnly(cfg); err != nil {
		return nil, err
	}
	var m BackupManifest
	b, err := os.ReadFile(filepath.Join(from, "manifest.json"))
	if err != nil {
		return nil, fmt.Errorf("%s is not a barid backup: %w", from, err)
	}
	if err := json.Unmarshal(b, &m); err != nil || m.Format != 1 {
		return nil, fmt.Errorf("%s/manifest.json: unknown backup format", from)
	}
	if serverRunning(cfg) {
		return nil, fmt.Errorf("a server is running on %s: stop it first", cfg.DataDir)
	}
	dbPath := cfg.Path("barid.db")
	if _, err := os.Stat(dbPath); err == nil {
		return nil, fmt.Errorf("%s exists: restore into an empty data folder (move the old one aside)", dbPath)
	}
	if err := cfg.EnsureDataDir(); err != nil {
		return nil, err
	}
	if err := copyFileSync(filepath.Join(from, "barid.db"), dbPath); err != nil {
		return nil, err
	}
	src, err := fs.Open(filepath.Join(from, "blobs"))
	if err != nil {
		return nil, err
	}
	d, err := OpenData(ctx, cfg, logger)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	var refs []string
	if err := d.Store.BlobRefs(ctx, func(id string) error { refs = append(refs, id); return nil }); err != nil {
		return nil, err
	}
	var missing []string
	for _, id := range refs {
		if r, err := d.Blobs.Open(ctx, id); err == nil { // inline, or already there
			r.Close()
			continue
		}
		if _, err := copyBlob(ctx, src, d.Blobs, id); err != nil {
			if errors.Is(err, blob.ErrNotFound) {
				missing = append(missing, id)
				continue
			}
			return nil, fmt.Errorf("restore blob %s: %w", id, err)
		}
	}
	if len(missing) > 0 {
		return &m, fmt.Errorf("%d referenced blobs are not in the backup (run barid check)", len(missing))
	}
	return &m, nil
}

func copyFileSync(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	tmp := to + ".restore"
	out, err := os.OpenFile(tmp, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		os.Remove(tmp)
		return err
	}
	if err := out.Sync(); err != nil {
		out.Close()
		os.Remove(tmp)
		return err
	}
	out.Close()
	return os.Rename(tmp, to)
}

// CheckReport is what "barid check" found.
type CheckReport struct {
	Accounts     int      `json:"accounts"`
	Mailboxes    int      `json:"mailboxes"`
	Messages     int      `json:"messages"`
	BlobFiles    int      `json:"blob_files"`
	InlineBlobs  int      `json:"inline_blobs"`
	BlobBytes    int64    `json:"blob_bytes"`
	Unreferenced int      `json:"unreferenced_blobs"` // removed by the server's sweep; not damage
	Problems     []string `json:"problems"`
}

// Check verifies a data folder: every blob's content hashes to its name
// (SHA-256), every message's blob is present and has the message's
// size, every mailbox's UIDs are below UIDNEXT and its message modseqs
// at most its HIGHESTMODSEQ, and STATUS counts agree with the messages
// listed. It reads only, and may run while the server serves.
func Check(ctx context.Context, cfg *config.Config, logger *slog.Logger) (*CheckReport, error) {
	d, err := OpenData(ctx, cfg, logger)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	rep := &CheckReport{Problems: []string{}}
	bad := func(f string, a ...any) { rep.Problems = append(rep.Problems, fmt.Sprintf(f, a...)) }
	// sizes holds each blob's size as RFC822.SIZE counts it: every
	// bare LF as CRLF (an imported Maildir keeps Dovecot's LF line ends
	// in its blobs; the message's size is what IMAP sends).
	sizes := map[string]int64{}
	hashOK := func(id string, r io.Reader) (n, crlfSize int64, ok bool, err error) {
		h := sha256.New()
		var lf bareLFs
		n, err = io.Copy(io.MultiWriter(h, &lf), r)
		if err != nil {
			return n, n, false, err
		}
		return n, n + lf.n, hex.EncodeToString(h.Sum(nil)) == id, nil
	}
	files := d.Blobs
	if t, ok := files.(interface{ Files() blob.Store }); ok {
		files = t.Files()
	}
	ctx = store.WithBulk(ctx)
	if err := files.List(ctx, func(id string, _ int64) error {
		r, err := files.Open(ctx, id)
		if err != nil {
			bad("blob %s: listed but cannot be opened: %v", id, err)
			return nil
		}
		defer r.Close()
		n, size, ok, err := hashOK(id, io.NewSectionReader(r, 0, r.Size()))
		switch {
		case err != nil:
			bad("blob %s: read error: %v", id, err)
		case !ok:
			bad("blob %s: content does not hash to its name (damaged)", id)
		}
		sizes[id] = size
		rep.BlobFiles++
		rep.BlobBytes += n
		return nil
	}); err != nil {
		return nil, err
	}
	if in, ok := d.Store.(interface {
		InlineIDs(ctx context.Context, fn func(id string) error) error
		OpenInline(ctx context.Context, id string) ([]byte, bool, error)
	}); ok {
		var ids []string
		if err := in.InlineIDs(ctx, func(id string) error { ids = append(ids, id); return nil }); err != nil {
			return nil, err
		}
		for _, id := range ids {
			b, ok, err := in.OpenInline(ctx, id)
			if err != nil || !ok {
				bad("inline blob %s: cannot be read: %v", id, err)
				continue
			}
			_, size, ok, _ := hashOK(id, bytesReader(b))
			if !ok {
				bad("inline blob %s: content does not hash to its name (damaged)", id)
			}
			sizes[id] = size
			rep.InlineBlobs++
		}
	}
	refs := map[string]bool{}
	if err := d.Store.BlobRefs(ctx, func(id string) error { refs[id] = true; return nil }); err != nil {
		return nil, err
	}
	for id := range sizes {
		if !refs[id] {
			rep.Unreferenced++
		}
	}
	accts, err := d.Store.Accounts(ctx)
	if err != nil {
		return nil, err
	}
	rep.Accounts = len(accts)
	// Messages whose blob was not listed: delivered since the listing
	// (the server runs), or missing. Looked up again at the end.
	type lateRef struct {
		where string
		uid   store.UID
		id    string
		size  int64
	}
	var late []lateRef
	for _, a := range accts {
		mbs, err := d.Store.Mailboxes(ctx, a.ID)
		if err != nil {
			return nil, err
		}
		for _, mb := range mbs {
			rep.Mailboxes++
			where := a.Name + "/" + mb.Name
			cur, uids, err := d.Store.MessageUIDs(ctx, mb.ID)
			if err != nil {
				return nil, err
			}
			st, err := d.Store.MailboxStatus(ctx, mb.ID)
			if err != nil {
				return nil, err
			}
			// A delivery between the two reads may add one: only a
			// count below the listed UIDs is damage.
			if int(st.Messages) < len(uids) {
				bad("%s: STATUS counts %d messages, %d are listed", where, st.Messages, len(uids))
			}
			if len(uids) > 0 && uids[len(uids)-1] >= cur.UIDNext {
				bad("%s: UID %d is not below UIDNEXT %d", where, uids[len(uids)-1], cur.UIDNext)
			}
			rep.Messages += len(uids)
			err = d.Store.FetchMessages(ctx, mb.ID, uids, store.FieldFlags|store.FieldBasics, func(m *store.Message) error {
				if m.ModSeq == 0 || m.ModSeq > cur.HighestModSeq {
					bad("%s: UID %d has modseq %d, HIGHESTMODSEQ is %d", where, m.UID, m.ModSeq, cur.HighestModSeq)
				}
				n, ok := sizes[m.BlobID]
				if !ok {
					late = append(late, lateRef{where, m.UID, m.BlobID, m.Size})
					return nil
				}
				switch {
				case n != m.Size:
					bad("%s: UID %d: blob %s has %d bytes (line ends counted as CRLF), the message %d", where, m.UID, m.BlobID, n, m.Size)
				}
				return nil
			})
			if err != nil {
				return nil, err
			}
		}
	}
	for _, l := range late {
		r, err := d.Blobs.Open(ctx, l.id)
		if err != nil {
			bad("%s: UID %d: message bytes missing (blob %s): %v", l.where, l.uid, l.id, err)
			continue
		}
		_, n, ok, err := hashOK(l.id, io.NewSectionReader(r, 0, r.Size()))
		r.Close()
		switch {
		case err != nil:
			bad("blob %s: read error: %v", l.id, err)
		case !ok:
			bad("blob %s: content does not hash to its name (damaged)", l.id)
		case n != l.size:
			bad("%s: UID %d: blob %s has %d bytes (line ends counted as CRLF), the message %d", l.where, l.uid, l.id, n, l.size)
		}
	}
	return rep, nil
}

func bytesReader(b []byte) io.Reader { return bytes.NewReader(b) }

// bareLFs counts the LFs written to it that do not follow a CR.
type bareLFs struct {
	n      int64
	prevCR bool
}

func (c *bareLFs) Write(p []byte) (int, error) {
	for i := 0; i < len(p); {
		j := bytes.IndexByte(p[i:], '\n')
		if j < 0 {
			break
		}
		j += i
		prevCR := c.prevCR
		if j > 0 {
			prevCR = p[j-1] == '\r'
		}
		if !prevCR {
			c.n++
		}
		i = j + 1
	}
	if len(p) > 0 {
		c.prevCR = p[len(p)-1] == '\r'
	}
	return len(p), nil
}
