package server

import (
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

	"barid/internal/imap"
	"barid/internal/store"
)

// IMAP METADATA (RFC 5464): server entries (mailbox "") and mailbox
// entries, each under /private (the user's own) or /shared. Where the
// RFC leaves room barid does what Dovecot 2.3 does: entry names are
// case-insensitive and answered lower-cased; with DEPTH 0 a requested
// entry that does not exist is answered NIL; server entries belong to
// the account. /private/specialuse is read-only and reflects the
// mailbox's SPECIAL-USE attribute (RFC 6154 §4).

// MetadataConfig is [metadata]: RFC 5464's limits, each named in the
// error it causes.
type MetadataConfig struct {
	// MaxSize is the largest entry value in bytes ([METADATA MAXSIZE n]).
	MaxSize int64
	// MaxEntries is the most entries one mailbox may have, as one user
	// sees it ([METADATA TOOMANY]).
	MaxEntries int
	// MaxServerEntries is the same for one account's server entries.
	MaxServerEntries int
	// MaxTotalSize bounds the sum of the values of one scope
	// ([METADATA TOOMANY]).
	MaxTotalSize int64
}

func (c *Conn) metadataStore() store.Metadata {
	m, _ := c.srv.cfg.Store.(store.Metadata)
	return m
}

// metadataCapabilities: RFC 5464 §1: METADATA (mailbox and server
// entries) and METADATA-SERVER (server entries).
func (c *Conn) metadataCapabilities() []string {
	if c.metadataStore() == nil {
		return nil
	}
	return []string{"METADATA", "METADATA-SERVER"}
}

// metadataMaxSize is [metadata] max_size, or its default.
func (c *Conn) metadataMaxSize() int64 {
	if n := c.srv.cfg.Metadata.MaxSize; n > 0 {
		return n
	}
	return 64 << 10
}

// specialUseEntry is the read-only entry RFC 6154 §4 defines.
const specialUseEntry = "/private/specialuse"

// checkEntryName validates an entry name (RFC 5464 §3.2) and returns it
// lower-cased, or why it is invalid (Dovecot's words) for a BAD.
func checkEntryName(name string) (entry, bad string) {
	l := strings.ToLower(name)
	switch {
	case l != "/private" && l != "/shared" && !strings.HasPrefix(l, "/private/") && !strings.HasPrefix(l, "/shared/"):
		return "", "Entry name must begin with /private or /shared"
	case strings.ContainsAny(l, "*%"):
		return "", fmt.Sprintf("Entry name can't contain '%c'", l[strings.IndexAny(l, "*%")])
	case strings.Contains(l, "//"):
		return "", "Entry name can't contain consecutive '/'"
	case strings.HasSuffix(l, "/"):
		return "", "Entry name can't end with '/'"
	}
	for _, r := range l {
		if r < 0x20 || r == 0x7f {
			return "", "Entry name can't contain control characters"
		}
	}
	return l, ""
}

// metadataScope resolves a GETMETADATA/SETMETADATA mailbox argument:
// "" is the server (0), else the mailbox.
func (c *Conn) metadataScope(name string) (int64, *store.Mailbox, error) {
	if name == "" {
		return 0, nil, nil
	}
	mb, err := c.srv.cfg.Store.Mailbox(c.ctx(), c.account.ID, name)
	if errors.Is(err, store.ErrNoMailbox) {
		return 0, nil, &imap.Error{Type: "NO", Code: imap.CodeNonExistent, Text: "Mailbox doesn't exist: " + name}
	}
	if err != nil {
		return 0, nil, err
	}
	return mb.ID, mb, nil
}

// readMetadataMailbox reads the mailbox argument, where "" (the server)
// is allowed.
func (c *Conn) readMetadataMailbox() (string, error) {
	var raw string
	if !c.dec.ExpectAString(&raw) {
		return "", c.dec.Err()
	}
	if raw == "" {
		return "", nil
	}
	return c.canonicalName(raw)
}

// getMetadataOptions are RFC 5464 §4.2.1 MAXSIZE and §4.2.2 DEPTH.
type getMetadataOptions struct {
	maxSize int64 // -1: none
	depth   int   // 0, 1, or -1 for infinity
}

// RFC 5464 §4.2 GETMETADATA [(options)] mailbox entries
func handleGetMetadata(c *Conn, tag string) error {
	if !c.dec.ExpectSP() {
		return c.dec.Err()
	}
	opts := getMetadataOptions{maxSize: -1}
	if b, ok := c.dec.Peek(); ok && b == '(' {
		var bad string
		if !c.dec.ExpectList(func() bool {
			var o string
			if !c.dec.ExpectAtom(&o) || !c.dec.ExpectSP() {
				return false
			}
			switch strings.ToUpper(o) {
			case "MAXSIZE":
				return c.dec.ExpectNumber64(&opts.maxSize)
			case "DEPTH":
				var d string
				if !c.dec.ExpectAtom(&d) {
					return false
				}
				switch strings.ToLower(d) {
				case "0":
					opts.depth = 0
				case "1":
					opts.depth = 1
				case "infinity":
					opts.depth = -1
				default:
					bad = "Invalid DEPTH " + d
				}
				return true
			default:
				bad = "Unknown GETMETADATA option " + o
				return false
			}
		}) || !c.dec.ExpectSP() {
			if bad != "" {
				return &imap.Error{Type: "BAD", Text: bad}
			}
			return c.dec.Err()
		}
		if bad != "" {
			return &imap.Error{Type: "BAD", Text: bad}
		}
	}
	name, err := c.readMetadataMailbox()
	if err != nil {
		return err
	}
	if !c.dec.ExpectSP() {
		return c.dec.Err()
	}
	var entries []string
	var bad string
	readEntry := func() bool {
		var e string
		if !c.dec.ExpectAString(&e) {
			return false
		}
		l, why := checkEntryName(e)
		if why != "" && bad == "" {
			bad = why
		}
		entries = append(entries, l)
		return true
	}
	if b, ok := c.dec.Peek(); ok && b == '(' {
		if !c.dec.ExpectList(readEntry) {
			return c.dec.Err()
		}
	} else if !readEntry() {
		return c.dec.Err()
	}
	if !c.dec.ExpectCRLF() {
		return c.dec.Err()
	}
	if bad != "" {
		return &imap.Error{Type: "BAD", Text: bad}
	}
	ms := c.metadataStore()
	if ms == nil {
		return &imap.Error{Type: "NO", Code: imap.CodeCannot, Text: "METADATA is not available"}
	}
	id, mb, err := c.metadataScope(name)
	if err != nil {
		return err
	}
	all, err := ms.MetadataEntries(c.ctx(), c.account.ID, id)
	if err != nil {
		return err
	}
	if mb != nil && mb.SpecialUse != "" {
		all = append(all, store.MetadataEntry{Name: specialUseEntry, Value: []byte(mb.SpecialUse)})
		sort.Slice(all, func(i, j int) bool { return all[i].Name < all[j].Name })
	}
	out, longest := selectMetadata(all, entries, opts)
	if len(out) > 0 {
		c.enc.RawString("* METADATA ")
		if name == "" {
			c.enc.Quoted("")
		} else {
			c.writeMailboxName(name)
		}
		c.enc.SP().BeginList()
		for i, e := range out {
			if i > 0 {
				c.enc.SP()
			}
			c.enc.AString(e.Name).SP()
			if e.Value == nil {
				c.enc.RawString("NIL")
			} else {
				c.enc.String(string(e.Value))
			}
		}
		c.enc.EndList().CRLF()
	}
	if longest >= 0 {
		// RFC 5464 §4.2.1: the size of the largest entry not returned.
		return c.ok(tag, "METADATA LONGENTRIES "+strconv.FormatInt(longest, 10), "Getmetadata completed.")
	}
	return c.ok(tag, "", "Getmetadata completed.")
}

// selectMetadata picks, from all (sorted by name), what the requested
// entries and options return, in request order: with DEPTH 0 each
// entry, NIL (a nil Value) when it does not exist; with DEPTH 1 or
// infinity the entry if it exists and its descendants that deep.
// Values over MAXSIZE are left out; longest is the largest of them, -1
// if none.
func selectMetadata(all []store.MetadataEntry, entries []string, o getMetadataOptions) (out []store.MetadataEntry, longest int64) {
	longest = -1
	seen := map[string]bool{}
	add := func(e store.MetadataEntry) {
		if seen[e.Name] {
			return
		}
		seen[e.Name] = true
		if e.Value != nil && o.maxSize >= 0 && int64(len(e.Value)) > o.maxSize {
			longest = max(longest, int64(len(e.Value)))
			return
		}
		out = append(out, e)
	}
	for _, want := range entries {
		found := false
		for _, e := range all {
			if e.Name == want {
				add(e)
				found = true
			}
		}
		if o.depth == 0 {
			if !found {
				add(store.MetadataEntry{Name: want})
			}
			continue
		}
		for _, e := range all {
			rest, ok := strings.CutPrefix(e.Name, want+"/")
			if !ok {
				continue
			}
			if o.depth == 1 && strings.Contains(rest, "/") {
				continue
			}
			add(e)
		}
	}
	return out, longest
}

// RFC 5464 §4.3 SETMETADATA mailbox (entry value ...), all or nothing.
func handleSetMetadata(c *Conn, tag string) error {
	if !c.dec.ExpectSP() {
		return c.dec.Err()
	}
	name, err := c.readMetadataMailbox()
	if err != nil {
		return err
	}
	if !c.dec.ExpectSP() {
		return c.dec.Err()
	}
	maxSize := c.metadataMaxSize()
	// A literal value over max_size is refused before its "+".
	var tooBig int64 = -1
	c.litCheck = func(size int64) error {
		if size > maxSize {
			return metadataMaxSizeError(maxSize)
		}
		return nil
	}
	defer func() { c.litCheck = nil }()
	var set []store.MetadataEntry
	var bad string
	var refuse error
	if !c.dec.ExpectList(func() bool {
		var e string
		if !c.dec.ExpectAString(&e) || !c.dec.ExpectSP() {
			return false
		}
		l, why := checkEntryName(e)
		if why != "" && bad == "" {
			bad = why
		}
		v, isNil, ok := c.readMetadataValue(maxSize)
		if !ok {
			return false
		}
		if !isNil && int64(len(v)) > maxSize {
			tooBig = int64(len(v))
		}
		if l == specialUseEntry && name != "" && refuse == nil {
			refuse = &imap.Error{Type: "NO", Code: imap.CodeCannot, Text: "The /private/specialuse attribute cannot be changed"}
		}
		if isNil {
			v = nil
		} else if v == nil {
			v = []byte{}
		}
		set = append(set, store.MetadataEntry{Name: l, Value: v})
		return true
	}) || !c.dec.ExpectCRLF() {
		return c.dec.Err()
	}
	if bad != "" {
		return &imap.Error{Type: "BAD", Text: bad}
	}
	if tooBig >= 0 {
		return metadataMaxSizeError(maxSize)
	}
	if refuse != nil {
		return refuse
	}
	ms := c.metadataStore()
	if ms == nil {
		return &imap.Error{Type: "NO", Code: imap.CodeCannot, Text: "METADATA is not available"}
	}
	id, _, err := c.metadataScope(name)
	if err != nil {
		return err
	}
	lim := store.MetadataLimits{MaxEntries: c.srv.cfg.Metadata.MaxEntries, MaxTotalSize: c.srv.cfg.Metadata.MaxTotalSize}
	if id == 0 {
		lim.MaxEntries = c.srv.cfg.Metadata.MaxServerEntries
	}
	err = ms.SetMetadata(c.ctx(), c.account.ID, id, set, lim)
	if errors.Is(err, store.ErrMetadataTooMany) {
		// RFC 5464 §4.3: [METADATA TOOMANY]; the text names the limit
		// and its config key.
		key := "max_entries"
		switch {
		case strings.Contains(err.Error(), "bytes"):
			key = "max_total_size"
		case id == 0:
			key = "max_server_entries"
		}
		return &imap.Error{Type: "NO", Code: "METADATA", CodeArg: "TOOMANY",
			Text: "Too many metadata entries or too much metadata: " + strings.TrimPrefix(err.Error(), store.ErrMetadataTooMany.Error()+": ") + " ([metadata] " + key + ")"}
	}
	if err != nil {
		return err
	}
	return c.ok(tag, "", "Setmetadata completed.")
}

// metadataMaxSizeError is RFC 5464 §4.3's [METADATA MAXSIZE n].
func metadataMaxSizeError(n int64) error {
	return &imap.Error{Type: "NO", Code: "METADATA", CodeArg: "MAXSIZE " + strconv.FormatInt(n, 10),
		Text: fmt.Sprintf("Metadata value too large (max_size %d bytes)", n)}
}

// readMetadataValue reads a value: NIL, a quoted string, a literal or a
// literal8 (RFC 5464 §5: value = nstring / literal8). A literal is
// streamed, keeping at most maxSize+1 bytes (the caller refuses more).
func (c *Conn) readMetadataValue(maxSize int64) (v []byte, isNil, ok bool) {
	b, ok := c.dec.Peek()
	if !ok {
		return nil, false, false
	}
	if b == '{' || b == '~' {
		r, _, _, ok := c.dec.Literal()
		if !ok {
			return nil, false, false
		}
		v, err := io.ReadAll(io.LimitReader(r, maxSize+1))
		io.Copy(io.Discard, r)
		if err != nil {
			return nil, false, false
		}
		return v, false, c.dec.Err() == nil
	}
	var s string
	if !c.dec.NString(&s, &isNil) {
		return nil, false, false
	}
	return []byte(s), isNil, true
}
