package msgdata

import (
	"bytes"
	"io"
	"time"

	"barid/internal/mail/mime"
	"barid/internal/mail/searchtext"
)

// Analysis is everything computed once at delivery (it maps onto the
// fields of store.NewMessage).
type Analysis struct {
	// LimitReached names the first MIME limit the message reached
	// (mime.ParseReport), "" if none.
	LimitReached string
	// Header is the raw top-level header including its blank line,
	// capped at Limits.MaxHeaderBytes.
	Header []byte
	// Structure is the serialized MIME tree (mime.Part.Marshal), with
	// the envelopes of embedded messages pre-rendered.
	Structure []byte
	// Envelope is the rendered IMAP ENVELOPE with its parentheses.
	Envelope []byte
	// Subject, From, To, Cc, Bcc: the text SEARCH matches, decoded and
	// folded (internal/mail/searchtext).
	Subject, From, To, Cc, Bcc string
	// SentDate is the parsed Date field (zero if absent or unparsable).
	SentDate time.Time
	// Size is RFC822.SIZE (RFC 9051 §7.5.2): the length with every
	// line end counted as CRLF, which is what BODY[] sends. As in
	// Dovecot, a message appended with bare LFs is larger than its
	// bytes.
	Size int64
	// RawSize is the message's length in bytes as stored.
	RawSize int64
	// Root is the parsed structure (the same as Unmarshal(Structure)).
	Root *mime.Part
}

// Analyze reads a message once and computes its Analysis.
func Analyze(r io.Reader, lim mime.Limits) (*Analysis, error) {
	if lim.MaxHeaderBytes <= 0 {
		lim.MaxHeaderBytes = mime.DefaultMaxHeaderBytes
	}
	cap := &capture{r: r, max: lim.MaxHeaderBytes}
	root, hit, err := mime.ParseReport(cap, lim)
	if err != nil {
		return nil, err
	}
	return analysed(root, hit, cap.buf), nil
}

// AnalyzeBytes is Analyze for a message held in memory: its Header is a
// slice of msg (which the caller must not change afterwards) instead of
// a copy of the first bytes read, which was as large as the parser's
// first read, body included.
func AnalyzeBytes(msg []byte, lim mime.Limits) (*Analysis, error) {
	if lim.MaxHeaderBytes <= 0 {
		lim.MaxHeaderBytes = mime.DefaultMaxHeaderBytes
	}
	root, hit, err := mime.ParseReport(bytes.NewReader(msg), lim)
	if err != nil {
		return nil, err
	}
	// What capture would have kept: at most MaxHeaderBytes.
	return analysed(root, hit, msg[:min(len(msg), lim.MaxHeaderBytes)]), nil
}

// analysed completes an Analysis from the parsed tree and the message's
// first bytes (at least its header, or the header's first
// MaxHeaderBytes).
func analysed(root *mime.Part, hit string, head []byte) *Analysis {
	a := &Analysis{Root: root, RawSize: root.HeaderSize + root.BodySize,
		Size: root.HeaderVSize + root.BodyVSize, LimitReached: hit}
	hl := root.HeaderSize
	if hl > int64(len(head)) {
		hl = int64(len(head))
	}
	a.Header = head[:hl:hl]
	a.Envelope = Envelope(root.Env)
	prerender(root)
	// The rendered BODYSTRUCTURE travels with the tree (annex 0, tagged
	// with bodyStructureVersion), so FETCH BODYSTRUCTURE copies it
	// instead of decoding the tree for every message: that decoding was
	// three quarters of the encoder's time in FETCH 1:* (... BODYSTRUCTURE)
	// on 100,000 messages.
	bs := append([]byte{bodyStructureVersion}, appendRoot(make([]byte, 0, 512), root, true)...)
	a.Structure = root.MarshalAnnex(bs)
	f := searchtext.FromEnvelope(root.Env)
	a.Subject, a.From, a.To, a.Cc, a.Bcc, a.SentDate = f.Subject, f.From, f.To, f.Cc, f.Bcc, f.SentDate
	return a
}

// prerender stores the rendered ENVELOPE of every embedded message in the
// structure, so BODYSTRUCTURE does no address parsing.
func prerender(p *mime.Part) {
	if p.Flags&mime.FlagMessage != 0 && len(p.Children) > 0 {
		c := p.Children[0]
		c.EnvelopeIMAP = string(Envelope(c.Env))
		c.Env = nil
	}
	for _, c := range p.Children {
		prerender(c)
	}
}

// capture keeps the bytes read through it up to the first blank line
// (the end of the top-level header), at most max.
type capture struct {
	r    io.Reader
	max  int
	buf  []byte
	done bool
}

func (c *capture) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if c.done || n == 0 {
		return n, err
	}
	k := n
	if room := c.max - len(c.buf); k > room {
		k = room
		c.done = true
	}
	from := len(c.buf) - 2
	if from < 0 {
		from = 0
	}
	c.buf = append(c.buf, p[:k]...)
	if len(c.buf) > 0 && (c.buf[0] == '\n' || bytes.HasPrefix(c.buf, []byte("\r\n"))) {
		c.done = true
	}
	if i := bytes.Index(c.buf[from:], []byte("\n\n")); i >= 0 {
		c.done = true
	}
	if i := bytes.Index(c.buf[from:], []byte("\n\r\n")); i >= 0 {
		c.done = true
	}
	return n, err
}
