package server

import (
	"context"
	"errors"
	"io"
	"strings"
	"time"

	"barid/internal/deliver"
	"barid/internal/imap"
	"barid/internal/imap/imapurl"
	"barid/internal/store"
	"barid/internal/urlauth"
)

// CATENATE (RFC 4469): an APPEND message built from TEXT literals and
// URLs of parts of stored messages, streamed into the one ingest path
// (deliver.Prepare) part by part, so it is parsed and stored like any
// APPEND. The parts are read from the command as the ingest pulls bytes:
// nothing is buffered beyond what Prepare buffers for any message.

// errCatenateTooBig refuses a part that would take the message past
// APPENDLIMIT (RFC 4469 §5: [TOOBIG]); as a literal hook error it is
// returned before the literal's "+" is sent.
var errCatenateTooBig = &imap.Error{Type: "NO", Code: imap.CodeTooBig,
	Text: "Composed message exceeds literal_size limit (APPENDLIMIT)"}

type prepareFunc func(ctx context.Context, r io.Reader, maxSize int64, flags store.Flags, date time.Time) (*deliver.Prepared, error)

// catenate parses "CATENATE" SP "(" cat-part *(SP cat-part) ")" (RFC
// 4469 §5) and prepares the message it builds. Any failure fails the
// whole APPEND (and MULTIAPPEND): [BADURL url] for a URL that cannot
// be read, [TOOBIG] past APPENDLIMIT.
func (c *Conn) catenate(prepare prepareFunc, flags store.Flags, date time.Time) (*deliver.Prepared, error) {
	var kw string
	if !c.dec.ExpectAtom(&kw) || !strings.EqualFold(kw, "CATENATE") || !c.dec.ExpectSP() || !c.dec.ExpectSpecial('(') {
		return nil, c.errOr("expected CATENATE (")
	}
	mailbox := ""
	if c.sel != nil {
		mailbox = c.sel.mbox.Name
	}
	r := &catReader{c: c, left: c.srv.cfg.Limits.LiteralSize,
		base: imapurl.BaseURL(c.account.Name, c.srv.cfg.Hostname, mailbox)}
	defer r.closePart()
	p, err := prepare(c.ctx(), r, c.srv.cfg.Limits.LiteralSize, flags, date)
	if r.err != nil {
		err = r.err
	}
	if err != nil {
		if isConnErr(err) {
			return nil, &ioError{err}
		}
		return nil, err
	}
	if r.total == 0 {
		return nil, &imap.Error{Type: "NO", Text: "Refusing to append an empty message"}
	}
	return p, nil
}

// catReader reads the parts of a CATENATE one after the other, parsing
// each from the command when the previous one is used up.
type catReader struct {
	c     *Conn
	base  string // base URL for relative URLs (RFC 4469 §5)
	left  int64  // bytes the message may still grow by (APPENDLIMIT)
	total int64
	cur   io.Reader
	part  *urlauth.Part
	parts int
	done  bool
	err   error
}

func (r *catReader) Read(p []byte) (int, error) {
	for {
		if r.err != nil {
			return 0, r.err
		}
		if r.cur != nil {
			n, err := r.cur.Read(p)
			if err == io.EOF {
				r.closePart()
				r.cur = nil
				err = nil
				if n == 0 {
					continue
				}
			}
			if err != nil {
				r.err = err
			}
			return n, err
		}
		if r.done {
			return 0, io.EOF
		}
		if err := r.next(); err != nil {
			r.err = err
			return 0, err
		}
	}
}

func (r *catReader) closePart() {
	if r.part != nil {
		r.part.Close()
		r.part = nil
	}
}

// next parses the next cat-part (RFC 4469 §5: "TEXT" SP literal /
// "URL" SP astring), or the closing ")".
func (r *catReader) next() error {
	c := r.c
	if r.parts > 0 {
		if c.dec.Special(')') {
			r.done = true
			return nil
		}
		if !c.dec.ExpectSP() {
			return c.dec.Err()
		}
	}
	r.parts++
	var kind string
	if !c.dec.ExpectAtom(&kind) || !c.dec.ExpectSP() {
		return c.errOr("expected TEXT or URL")
	}
	switch strings.ToUpper(kind) {
	case "TEXT":
		c.catOn, c.catLeft = true, r.left
		lit, size, _, ok := c.dec.Literal()
		c.catOn = false
		if !ok {
			return c.dec.Err()
		}
		r.left -= size
		r.total += size
		r.cur = lit
		return nil
	case "URL":
		var raw string
		if !c.dec.ExpectAString(&raw) {
			return c.dec.Err()
		}
		part, err := r.open(raw)
		if err != nil {
			return err
		}
		if part.Size > r.left {
			part.Close()
			return errCatenateTooBig
		}
		r.left -= part.Size
		r.total += part.Size
		r.part, r.cur = part, part.Body
		return nil
	}
	return &imap.Error{Type: "BAD", Text: "Unknown CATENATE part: " + kind}
}

// open resolves a URL part, relative to the selected mailbox, as the
// session's user.
func (r *catReader) open(raw string) (*urlauth.Part, error) {
	c := r.c
	badURL := func(text string) error {
		return &imap.Error{Type: "NO", Code: imap.CodeBadURL, CodeArg: urlRespText(raw), Text: text}
	}
	u, err := imapurl.Resolve(r.base, raw)
	if err != nil {
		return nil, badURL(err.Error())
	}
	part, err := c.srv.cfg.URLAuth.Open(c.ctx(), c.account, u, raw, urlauth.WantBody)
	var ue *urlauth.Error
	if errors.As(err, &ue) {
		return nil, badURL(ue.Msg)
	}
	return part, err
}

// urlRespText makes a URL fit the BADURL code (RFC 4469 §7
// url-resp-text: no "]", CR, LF or NUL).
func urlRespText(s string) string {
	return strings.Map(func(r rune) rune {
		if r == ']' || r < ' ' || r == 0x7f {
			return '?'
		}
		return r
	}, s)
}
