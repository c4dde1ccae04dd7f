package imex

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"barid/internal/store"
)

// Quoting says how an mbox escapes body lines that start with "From ".
type Quoting int

const (
	// MboxRD: ">From ", ">>From ", ... lose one ">" (mboxrd: every
	// level was added by the writer).
	MboxRD Quoting = iota
	// MboxO: only ">From " becomes "From " (mboxo: ">>From " was
	// never quoted).
	MboxO
)

// mboxHidden are the headers Dovecot's mbox storage keeps its state in
// and hides from IMAP clients (its index/mbox code), so they are removed
// on import: their content becomes flags.
var mboxHidden = []string{"status", "x-status", "x-keywords", "x-uid", "x-imap", "x-imapbase", "content-length"}

// MboxReader splits an mbox file into messages. Each message starts at
// a line that begins with "From " (the From_ line); the empty line
// before the next From_ line is the separator, not part of the message.
type MboxReader struct {
	r       *bufio.Reader
	Quoting Quoting
	// MaxSize bounds one message (ErrMboxTooBig); 0 is no bound.
	MaxSize int64
	line    int64  // line number of the pending From_ line
	pending []byte // the next From_ line, read ahead
	n       int64  // lines read
	err     error
}

// ErrMboxTooBig is returned for a message over MaxSize.
var ErrMboxTooBig = errors.New("mbox message exceeds the size limit (literal_size)")

// NewMboxReader reads an mbox from r.
func NewMboxReader(r io.Reader) *MboxReader {
	return &MboxReader{r: bufio.NewReaderSize(r, 64<<10)}
}

// MboxMessage is one message of an mbox.
type MboxMessage struct {
	Line  int64 // line number of its From_ line
	Date  time.Time
	Flags store.Flags
	Raw   []byte // without the From_ line, hidden headers and quoting
	// UID is the X-UID header's (0: none). UIDValidity and UIDNext are
	// an X-IMAPbase or X-IMAP header's (Dovecot, UW-IMAP; 0: none).
	UID         store.UID
	UIDValidity uint32
	UIDNext     store.UID
	// Pseudo marks the folder's internal-data message ("DON'T DELETE
	// THIS MESSAGE", with an X-IMAP header), which servers hide.
	Pseudo bool
}

func (m *MboxReader) readLine() ([]byte, error) {
	l, err := m.r.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		buf := append([]byte(nil), l...)
		for err == bufio.ErrBufferFull {
			l, err = m.r.ReadSlice('\n')
			buf = append(buf, l...)
			if m.MaxSize > 0 && int64(len(buf)) > m.MaxSize {
				return nil, ErrMboxTooBig
			}
		}
		l = buf
	}
	if len(l) > 0 {
		m.n++
	}
	if err == io.EOF && len(l) > 0 {
		err = nil
	}
	return l, err
}

func isFromLine(l []byte) bool { return bytes.HasPrefix(l, []byte("From ")) }

// Next returns the next message, or io.EOF.
func (m *MboxReader) Next() (*MboxMessage, error) {
	if m.err != nil {
		return nil, m.err
	}
	if m.pending == nil {
		// Skip anything before the first From_ line (empty lines).
		for {
			l, err := m.readLine()
			if err != nil {
				m.err = err
				return nil, err
			}
			if isFromLine(l) {
				m.pending, m.line = append([]byte(nil), l...), m.n
				break
			}
			if len(bytes.TrimSpace(l)) != 0 {
				m.err = fmt.Errorf("mbox: line %d: text before the first \"From \" line: not an mbox", m.n)
				return nil, m.err
			}
		}
	}
	msg := &MboxMessage{Line: m.line, Date: parseFromLineDate(m.pending)}
	m.pending = nil
	var body bytes.Buffer
	inHeader := true
	var hdr bytes.Buffer
	for {
		l, err := m.readLine()
		if err == io.EOF {
			m.err = io.EOF
			break
		}
		if err != nil {
			m.err = err
			return nil, err
		}
		if isFromLine(l) {
			m.pending, m.line = append([]byte(nil), l...), m.n
			break
		}
		if inHeader {
			hdr.Write(unquote(l, m.Quoting))
			if len(bytes.TrimRight(l, "\r\n")) == 0 {
				inHeader = false
			}
		} else {
			body.Write(unquote(l, m.Quoting))
		}
		if m.MaxSize > 0 && int64(hdr.Len()+body.Len()) > m.MaxSize {
			m.err = fmt.Errorf("line %d: %w", msg.Line, ErrMboxTooBig)
			return nil, m.err
		}
	}
	h, meta := filterMboxHeader(hdr.Bytes())
	msg.Flags, msg.UID, msg.UIDValidity, msg.UIDNext, msg.Pseudo = meta.flags, meta.uid, meta.uidValidity, meta.uidNext, meta.pseudo
	b := body.Bytes()
	raw := make([]byte, 0, len(h)+len(b))
	raw = append(raw, h...)
	// The empty line before the next From_ line (or at the end of the
	// file) separates; it is not the message's.
	msg.Raw = dropSeparator(append(raw, b...))
	return msg, nil
}

// dropSeparator removes the empty line that ends a message in an mbox.
func dropSeparator(b []byte) []byte {
	switch {
	case bytes.HasSuffix(b, []byte("\r\n\r\n")):
		return b[:len(b)-2]
	case bytes.HasSuffix(b, []byte("\n\n")):
		return b[:len(b)-1]
	}
	return b
}

// unquote undoes the writer's ">From " quoting of one body line.
func unquote(l []byte, q Quoting) []byte {
	if len(l) < 6 || l[0] != '>' {
		return l
	}
	i := 0
	for i < len(l) && l[i] == '>' {
		i++
	}
	if !bytes.HasPrefix(l[i:], []byte("From ")) {
		return l
	}
	if q == MboxO && i != 1 {
		return l
	}
	return l[1:]
}

// filterMboxHeader removes the hidden headers (with their continuation
// lines) and returns the flags they carried: Status R \Seen; X-Status A
// \Answered, F \Flagged, T \Draft, D \Deleted; X-Keywords the keywords
// (space or comma separated).
// mboxMeta is what the hidden headers say.
type mboxMeta struct {
	flags       store.Flags
	uid         store.UID
	uidValidity uint32
	uidNext     store.UID
	pseudo      bool
}

func filterMboxHeader(h []byte) ([]byte, mboxMeta) {
	var meta mboxMeta
	var out bytes.Buffer
	out.Grow(len(h))
	var names []string
	skip := false
	for len(h) > 0 {
		i := bytes.IndexByte(h, '\n')
		var l []byte
		if i < 0 {
			l, h = h, nil
		} else {
			l, h = h[:i+1], h[i+1:]
		}
		if len(l) > 0 && (l[0] == ' ' || l[0] == '\t') && len(bytes.TrimSpace(l)) > 0 {
			if !skip {
				out.Write(l)
			} else if len(names) > 0 && strings.HasPrefix(names[len(names)-1], "\x00kw") {
				names = append(names, "\x00kw"+string(bytes.TrimSpace(l)))
			}
			continue
		}
		skip = false
		name, val, ok := bytes.Cut(l, []byte(":"))
		if ok {
			n := strings.ToLower(string(bytes.TrimSpace(name)))
			for _, hn := range mboxHidden {
				if n == hn {
					skip = true
				}
			}
			v := string(bytes.TrimSpace(val))
			switch n {
			case "status":
				if strings.ContainsRune(v, 'R') {
					names = append(names, `\Seen`)
				}
			case "x-status":
				for _, c := range v {
					switch c {
					case 'A':
						names = append(names, `\Answered`)
					case 'F':
						names = append(names, `\Flagged`)
					case 'T':
						names = append(names, `\Draft`)
					case 'D':
						names = append(names, `\Deleted`)
					}
				}
			case "x-keywords":
				names = append(names, "\x00kw"+v)
			case "x-uid":
				if n, err := strconv.ParseUint(v, 10, 32); err == nil {
					meta.uid = store.UID(n)
				}
			case "x-imap", "x-imapbase":
				// "<uidvalidity> <uidnext> [keywords]".
				if f := strings.Fields(v); len(f) >= 2 {
					uv, err1 := strconv.ParseUint(f[0], 10, 32)
					un, err2 := strconv.ParseUint(f[1], 10, 32)
					if err1 == nil && err2 == nil {
						meta.uidValidity, meta.uidNext = uint32(uv), store.UID(un)
					}
				}
				meta.pseudo = meta.pseudo || n == "x-imap"
			}
		}
		if !skip {
			out.Write(l)
		}
	}
	var flags []string
	for _, n := range names {
		if kws, ok := strings.CutPrefix(n, "\x00kw"); ok {
			for _, k := range strings.FieldsFunc(kws, func(r rune) bool { return r == ' ' || r == ',' || r == '\t' }) {
				if validKeyword(k) {
					flags = append(flags, k)
				}
			}
			continue
		}
		flags = append(flags, n)
	}
	meta.flags = store.FlagsFromNames(flags)
	return out.Bytes(), meta
}

// validKeyword reports whether k is an IMAP flag-keyword (RFC 9051 §9:
// atom, no atom-specials, not starting with "\").
func validKeyword(k string) bool {
	if k == "" || len(k) > 250 {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`(){%*"\]`, c) >= 0 {
			return false
		}
	}
	return true
}

// parseFromLineDate reads the date of a From_ line: "From SENDER DATE"
// where DATE is asctime ("Mon Jan  2 15:04:05 2006"), perhaps with a
// zone before or after the year. Zero when unparseable.
func parseFromLineDate(l []byte) time.Time {
	f := strings.Fields(strings.TrimRight(string(l), "\r\n"))
	if len(f) < 3 {
		return time.Time{}
	}
	f = f[2:] // "From", sender
	layouts := []string{
		"Mon Jan 2 15:04:05 2006",
		"Mon Jan 2 15:04:05 2006 -0700",
		"Mon Jan 2 15:04:05 MST 2006",
		"Mon Jan 2 15:04:05 -0700 2006",
		"Mon Jan 2 15:04 2006",
	}
	// The sender may contain spaces (quoted local parts): try the date
	// at each offset, longest match first.
	for start := 0; start < len(f); start++ {
		s := strings.Join(f[start:], " ")
		for _, lay := range layouts {
			if t, err := time.Parse(lay, s); err == nil {
				return t
			}
		}
	}
	return time.Time{}
}

// ImportMbox imports one mbox file into mailbox (default INBOX). An
// mbox that Dovecot (or UW-IMAP) kept has its UIDVALIDITY and next UID in
// the first message's X-IMAPbase header (or in a hidden internal-data
// message with X-IMAP, which is not imported) and each message's UID in
// X-UID: the mailbox then keeps them, as with a Maildir's uidlist; a
// message without an X-UID, or with one not above the previous, gets the
// next free UID as Dovecot would give it. Other mboxes carry no UIDs:
// messages get new ones, and a second run skips those whose bytes the
// mailbox already holds.
func ImportMbox(ctx context.Context, im *Importer, path, mailbox string) (*Result, error) {
	if mailbox == "" {
		mailbox = "INBOX"
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil {
		im.Progress.AddTotal(0, fi.Size())
	}
	mr := NewMboxReader(f)
	mr.MaxSize = im.MaxSize
	first, err := mr.Next()
	if err == io.EOF {
		first = nil
	} else if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	folder := Folder{Name: mailbox}
	if first != nil && first.UIDValidity != 0 {
		folder.UIDValidity, folder.UIDNext = first.UIDValidity, first.UIDNext
	}
	folder.Messages = func(_ store.UID, yield func(*Message) error) error {
		last := store.UID(0)
		m := first
		for m != nil {
			if !m.Pseudo {
				uid := store.UID(0)
				if folder.UIDValidity != 0 {
					uid = m.UID
					if uid == 0 || uid <= last {
						uid = max(last+1, folder.UIDNext)
					}
					last = uid
				}
				raw := m.Raw
				if err := yield(&Message{UID: uid, Flags: m.Flags, Date: m.Date, Size: int64(len(raw)),
					Label: fmt.Sprintf("%s:%d", path, m.Line),
					Open: func() (io.ReadCloser, time.Time, error) {
						return io.NopCloser(bytes.NewReader(raw)), time.Time{}, nil
					}}); err != nil {
					return err
				}
			}
			var err error
			m, err = mr.Next()
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return fmt.Errorf("%s: %w", path, err)
			}
		}
		return nil
	}
	return im.ImportFolder(ctx, folder)
}
