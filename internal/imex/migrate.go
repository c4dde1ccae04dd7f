package imex

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"barid/internal/store"
)

// Source is a parsed imaps:// or imap:// migration source.
type Source struct {
	Login    string
	Addr     string // host:port
	Host     string
	Implicit bool // imaps: TLS from the first byte
}

// String is the source without a password, the key of the state file.
func (s Source) String() string {
	scheme := "imap"
	if s.Implicit {
		scheme = "imaps"
	}
	return scheme + "://" + url.User(s.Login).String() + "@" + s.Addr
}

// ParseSource parses imaps://LOGIN@HOST[:PORT] (port 993) or
// imap://LOGIN@HOST[:PORT] (port 143). The URL carries no password.
func ParseSource(raw string) (Source, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return Source{}, err
	}
	var s Source
	switch u.Scheme {
	case "imaps":
		s.Implicit = true
	case "imap":
	default:
		return s, fmt.Errorf("source %q: the scheme must be imaps:// or imap://", raw)
	}
	if u.User == nil || u.User.Username() == "" {
		return s, fmt.Errorf("source %q: no LOGIN (imaps://LOGIN@HOST)", raw)
	}
	if _, has := u.User.Password(); has {
		return s, errors.New("the source URL must not carry the password: give it on standard input")
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
		return s, fmt.Errorf("source %q: a path or query is not allowed", raw)
	}
	s.Login, s.Host = u.User.Username(), u.Hostname()
	if s.Host == "" {
		return s, fmt.Errorf("source %q: no HOST", raw)
	}
	port := u.Port()
	if port == "" {
		port = "143"
		if s.Implicit {
			port = "993"
		}
	}
	s.Addr = net.JoinHostPort(s.Host, port)
	return s, nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Dial connects and logs in: imaps with TLS; imap with STARTTLS when the
// server offers it, and in plain text only to a loopback address (a
// password never crosses a network in clear).
func (s Source) Dial(password string, tlsConfig *tls.Config) (*imapclient.Client, error) {
	if tlsConfig == nil {
		tlsConfig = &tls.Config{}
	}
	if tlsConfig.ServerName == "" {
		tlsConfig = tlsConfig.Clone()
		tlsConfig.ServerName = s.Host
	}
	opts := &imapclient.Options{TLSConfig: tlsConfig, Dialer: &net.Dialer{Timeout: 30 * time.Second}}
	var c *imapclient.Client
	var err error
	if s.Implicit {
		c, err = imapclient.DialTLS(s.Addr, opts)
	} else {
		c, err = imapclient.DialInsecure(s.Addr, opts)
		if err == nil && !c.Caps().Has(imap.CapStartTLS) && !c.Caps().Has(imap.CapIMAP4rev2) {
			if !isLoopback(s.Host) {
				c.Close()
				return nil, fmt.Errorf("%s offers no STARTTLS: the password would cross the network in clear; use imaps:// or a loopback address", s.Addr)
			}
		} else if err == nil {
			c.Close()
			c, err = imapclient.DialStartTLS(s.Addr, opts)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", s.Addr, err)
	}
	if err := c.Login(s.Login, password).Wait(); err != nil {
		c.Close()
		return nil, fmt.Errorf("login as %s at %s: %w", s.Login, s.Addr, err)
	}
	return c, nil
}

// migrateState is what a migration remembers between runs: per source
// mailbox, the UIDVALIDITY and HIGHESTMODSEQ (RFC 7162) it synced
// flags up to.
type migrateState struct {
	Source    string                  `json:"source"`
	Mailboxes map[string]mailboxState `json:"mailboxes"`
}

type mailboxState struct {
	UIDValidity   uint32 `json:"uidvalidity"`
	HighestModSeq uint64 `json:"highestmodseq"`
}

// Migrator copies an account from a running IMAP server.
type Migrator struct {
	Importer *Importer
	Client   *imapclient.Client
	Source   Source
	// StateDir keeps one state file per account and source (the
	// CONDSTORE modseqs); "" keeps none (every run compares all flags).
	StateDir string
	// ChunkBytes bounds the message bytes one FETCH brings (default 8 MiB).
	ChunkBytes int64
}

// MigrateResult is an import Result with how the flags were compared.
type MigrateResult struct {
	Result
	CondStore bool // flags compared since the last run's modseq only
}

func (mg *Migrator) statePath() string {
	sum := sha256.Sum256([]byte(mg.Importer.Account.Name + "\x00" + mg.Source.String()))
	return filepath.Join(mg.StateDir, "migrate-"+hex.EncodeToString(sum[:8])+".json")
}

func (mg *Migrator) loadState() *migrateState {
	st := &migrateState{Source: mg.Source.String(), Mailboxes: map[string]mailboxState{}}
	if mg.StateDir == "" {
		return st
	}
	b, err := os.ReadFile(mg.statePath())
	if err != nil {
		return st
	}
	var old migrateState
	if json.Unmarshal(b, &old) == nil && old.Source == st.Source && old.Mailboxes != nil {
		st.Mailboxes = old.Mailboxes
	}
	return st
}

func (mg *Migrator) saveState(st *migrateState) error {
	if mg.StateDir == "" {
		return nil
	}
	if err := os.MkdirAll(mg.StateDir, 0o700); err != nil {
		return err
	}
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(mg.statePath(), b)
}

// Run copies every selectable mailbox and the subscriptions.
func (mg *Migrator) Run(ctx context.Context) ([]*MigrateResult, error) {
	c := mg.Client
	list, err := c.List("", "*", nil).Collect()
	if err != nil {
		return nil, fmt.Errorf("LIST: %w", err)
	}
	prefix := ""
	if c.Caps().Has(imap.CapNamespace) {
		if ns, err := c.Namespace().Wait(); err == nil && len(ns.Personal) > 0 {
			prefix = ns.Personal[0].Prefix
		}
	}
	condstore := c.Caps().Has(imap.CapCondStore) || c.Caps().Has(imap.CapIMAP4rev2) && c.Caps().Has(imap.CapQResync)
	st := mg.loadState()
	var out []*MigrateResult
	for _, l := range list {
		if slices.Contains(l.Attrs, imap.MailboxAttrNoSelect) || slices.Contains(l.Attrs, imap.MailboxAttrNonExistent) {
			continue
		}
		name := localName(l.Mailbox, prefix, l.Delim)
		if name == "" {
			continue
		}
		res, err := mg.mailbox(ctx, l.Mailbox, name, condstore, st)
		if res != nil {
			out = append(out, res)
		}
		if err != nil {
			return out, fmt.Errorf("%s: %w", l.Mailbox, err)
		}
		if err := mg.saveState(st); err != nil {
			return out, err
		}
	}
	subs, err := c.List("", "*", &imap.ListOptions{SelectSubscribed: true}).Collect()
	if err != nil {
		return out, fmt.Errorf("LIST (SUBSCRIBED): %w", err)
	}
	for _, l := range subs {
		if name := localName(l.Mailbox, prefix, l.Delim); name != "" {
			if _, err := mg.Importer.Store.SetSubscribed(ctx, mg.Importer.Account.ID, name, true); err != nil {
				return out, err
			}
		}
	}
	return out, nil
}

// localName maps a source name to barid's: the personal namespace's
// prefix (INBOX. on Courier and Cyrus) is dropped and the hierarchy
// delimiter becomes "/".
func localName(name, prefix string, delim rune) string {
	if strings.EqualFold(name, "INBOX") {
		return "INBOX"
	}
	if prefix != "" && strings.HasPrefix(name, prefix) && len(name) > len(prefix) {
		name = name[len(prefix):]
	}
	if delim != 0 && delim != '/' {
		name = strings.ReplaceAll(name, string(delim), "/")
	}
	if strings.HasPrefix(strings.ToUpper(name), "INBOX/") {
		name = "INBOX" + name[5:]
	}
	return name
}

func (mg *Migrator) mailbox(ctx context.Context, remote, name string, condstore bool, st *migrateState) (*MigrateResult, error) {
	c := mg.Client
	sel, err := c.Select(remote, &imap.SelectOptions{ReadOnly: true, CondStore: condstore}).Wait()
	if err != nil {
		return nil, fmt.Errorf("SELECT: %w", err)
	}
	f := Folder{Name: name, UIDValidity: sel.UIDValidity, UIDNext: store.UID(sel.UIDNext)}
	if sel.NumMessages == 0 {
		f.Messages = func(store.UID, func(*Message) error) error { return nil }
	} else {
		f.Messages = func(floor store.UID, yield func(*Message) error) error {
			return mg.messages(max(floor, 1), yield)
		}
	}
	mg.Importer.Progress.AddTotal(int64(sel.NumMessages), 0)
	res, err := mg.Importer.ImportFolder(ctx, f)
	if res == nil {
		return nil, err
	}
	out := &MigrateResult{Result: *res}
	if err != nil || !res.UIDsKept || sel.NumMessages == 0 {
		return out, err
	}
	// Flags of the messages an earlier run copied.
	prev, ok := st.Mailboxes[remote]
	since := uint64(0)
	if condstore && sel.HighestModSeq > 0 && ok && prev.UIDValidity == sel.UIDValidity {
		since = prev.HighestModSeq
		out.CondStore = true
	}
	if since == 0 || since < sel.HighestModSeq {
		n, err := mg.syncFlags(ctx, name, since)
		out.FlagsUpdated += n
		if err != nil {
			return out, err
		}
	}
	if condstore && sel.HighestModSeq > 0 {
		st.Mailboxes[remote] = mailboxState{UIDValidity: sel.UIDValidity, HighestModSeq: sel.HighestModSeq}
	}
	return out, nil
}

// messages fetches UIDs from floor on, in chunks whose bytes are
// bounded by ChunkBytes, and yields them in UID order.
func (mg *Migrator) messages(floor store.UID, yield func(*Message) error) error {
	c := mg.Client
	var all imap.UIDSet
	all.AddRange(imap.UID(floor), 0)
	sd, err := c.UIDSearch(&imap.SearchCriteria{UID: []imap.UIDSet{all}}, nil).Wait()
	if err != nil {
		return fmt.Errorf("UID SEARCH: %w", err)
	}
	uids := slices.DeleteFunc(sd.AllUIDs(), func(u imap.UID) bool { return u < imap.UID(floor) })
	slices.Sort(uids)
	limit := mg.ChunkBytes
	if limit <= 0 {
		limit = 8 << 20
	}
	const metaChunk = 1000
	for i := 0; i < len(uids); i += metaChunk {
		chunk := uids[i:min(i+metaChunk, len(uids))]
		sizes, err := c.Fetch(imap.UIDSetNum(chunk...), &imap.FetchOptions{UID: true, RFC822Size: true}).Collect()
		if err != nil {
			return fmt.Errorf("UID FETCH RFC822.SIZE: %w", err)
		}
		slices.SortFunc(sizes, func(a, b *imapclient.FetchMessageBuffer) int { return int(a.UID) - int(b.UID) })
		for j := 0; j < len(sizes); {
			var group []imap.UID
			var bytes int64
			for j < len(sizes) && (len(group) == 0 || bytes+sizes[j].RFC822Size <= limit) && len(group) < 500 {
				group = append(group, sizes[j].UID)
				bytes += sizes[j].RFC822Size
				j++
			}
			if err := mg.fetchGroup(group, yield); err != nil {
				return err
			}
		}
	}
	return nil
}

func (mg *Migrator) fetchGroup(group []imap.UID, yield func(*Message) error) error {
	msgs, err := mg.Client.Fetch(imap.UIDSetNum(group...), &imap.FetchOptions{UID: true, Flags: true, InternalDate: true,
		RFC822Size: true, BodySection: []*imap.FetchItemBodySection{{Peek: true}}}).Collect()
	if err != nil {
		return fmt.Errorf("UID FETCH BODY.PEEK[]: %w", err)
	}
	slices.SortFunc(msgs, func(a, b *imapclient.FetchMessageBuffer) int { return int(a.UID) - int(b.UID) })
	for _, m := range msgs {
		var body []byte
		if len(m.BodySection) > 0 {
			body = m.BodySection[0].Bytes
		}
		date := m.InternalDate
		if err := yield(&Message{UID: store.UID(m.UID), Flags: flagsOf(m.Flags), Date: date, Size: int64(len(body)),
			Label: fmt.Sprintf("UID %d", m.UID),
			Open: func() (io.ReadCloser, time.Time, error) {
				return io.NopCloser(bytes.NewReader(body)), time.Time{}, nil
			}}); err != nil {
			return err
		}
	}
	return nil
}

func flagsOf(fs []imap.Flag) store.Flags {
	names := make([]string, len(fs))
	for i, f := range fs {
		names[i] = string(f)
	}
	return store.FlagsFromNames(names)
}

// syncFlags gives the local copies the source's flags: of every message
// (since 0), or of those whose modseq is above since (RFC 7162 §3.1.4
// CHANGEDSINCE). The source wins over local changes.
func (mg *Migrator) syncFlags(ctx context.Context, name string, since uint64) (int, error) {
	im := mg.Importer
	mb, err := im.Store.Mailbox(ctx, im.Account.ID, name)
	if err != nil {
		return 0, err
	}
	var set imap.UIDSet
	set.AddRange(1, 0)
	remote, err := mg.Client.Fetch(set, &imap.FetchOptions{UID: true, Flags: true, ChangedSince: since}).Collect()
	if err != nil {
		return 0, fmt.Errorf("UID FETCH FLAGS: %w", err)
	}
	want := make(map[store.UID]store.Flags, len(remote))
	uids := make([]store.UID, 0, len(remote))
	for _, m := range remote {
		want[store.UID(m.UID)] = flagsOf(m.Flags)
		uids = append(uids, store.UID(m.UID))
	}
	slices.Sort(uids)
	var changed []store.UID
	err = im.Store.FetchMessages(ctx, mb.ID, uids, store.FieldFlags, func(m *store.Message) error {
		if !m.Flags.Equal(want[m.UID]) {
			changed = append(changed, m.UID)
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	for _, u := range changed {
		if _, _, _, err := im.Store.StoreFlags(ctx, mb.ID, []store.UID{u}, store.FlagsReplace, want[u], 0); err != nil {
			return 0, err
		}
	}
	return len(changed), nil
}
