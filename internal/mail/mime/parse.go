package mime

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strings"
	"sync"
)

// readBufSize is the bufio buffer size. Lines longer than this are handled
// in pieces; only boundary detection needs the start of a line, and
// boundaries are at most ~80 bytes.
const readBufSize = 32 << 10

// readers recycles Parse's read buffers: one is needed per message
// delivered, and allocating 32 KiB each time was a tenth of the CPU of
// filling a mailbox (pprof of BenchmarkBigbox*'s set-up).
var readers = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, readBufSize) }}

// boundary is one active multipart boundary (RFC 2046 §5.1.1).
type boundary struct {
	part  *Part
	delim []byte // the boundary parameter value, without "--"
}

// parser holds the state of one streaming pass. The model follows
// Dovecot's lib-mail message-parser so that offsets, sizes and line counts
// match what Dovecot reports for the same bytes:
//
//   - a header ends with its blank line, which belongs to the header; with
//     no blank line the header runs to the end of the part;
//   - the line end before a boundary line belongs to the boundary (to the
//     multipart's body), not to the part that precedes it;
//   - a line starting with "--" followed by any active boundary (the
//     longest that matches) is a boundary line, whatever follows;
//   - the rest of a boundary line (transport padding) belongs to the
//     multipart;
//   - a boundary of an outer multipart ends every inner part.
type parser struct {
	lim    Limits
	r      *bufio.Reader
	off    int64 // offset of the next unread byte
	root   *Part
	cur    *Part   // innermost open part
	stack  []*Part // open parts, root first; cur is the last
	bounds []boundary
	nparts int
	hit    string // first limit reached (ParseReport)

	inHeader bool
	hdr      headerState

	// body state of cur
	lineStart bool // at the start of a line
	firstLine bool // no line end seen since the header or boundary line
	pendingNL int  // bytes of the last line end, not yet given to a part
	lastByte  byte
	lastByte2 byte
	dec       decoder

	// skipBoundaryLine: we are inside a boundary line (its rest
	// belongs to the multipart); afterChildStart says whether a new
	// part starts after it.
	inBoundaryLine bool
	startChild     bool

	// eohNL is the length of the blank line that just ended eohPart's
	// header. If the next line is a boundary line, that line end
	// belongs to the boundary (Dovecot 2.3 behaviour): the header
	// loses it to its parent's body.
	eohNL   int
	eohPart *Part

	crlf    int64 // CRLF pairs before off
	rawLast byte

	// cteWatch: parts whose header a boundary cut short. Dovecot's
	// BINARY reads such a header on to the next blank line, so a
	// Content-Transfer-Encoding field in the lines that follow (the
	// next part's header) decides their encoding too.
	cteWatch   []watched
	watchInCTE bool
}

// Parse reads one message and returns its MIME structure. It makes a single
// streaming pass and never holds the whole message. It fails only on read
// errors: any byte sequence yields a structure.
func Parse(r io.Reader, lim Limits) (*Part, error) {
	root, _, err := ParseReport(r, lim)
	return root, err
}

// ParseReport is Parse that also names the first limit the message
// reached, by its config key ("mime_depth", "mime_parts", "header_size"),
// or "" if none: past a limit the structure is still complete (the rest
// is one part, as in Dovecot), so the name is what tells the operator.
func ParseReport(r io.Reader, lim Limits) (*Part, string, error) {
	br := readers.Get().(*bufio.Reader)
	br.Reset(r)
	defer func() {
		br.Reset(nil)
		readers.Put(br)
	}()
	p := &parser{lim: lim.withDefaults(), r: br}
	p.root = &Part{}
	p.root.Env = &Envelope{}
	p.nparts = 1
	p.push(p.root)
	p.startHeader()
	for {
		line, err := p.r.ReadSlice('\n')
		if len(line) > 0 {
			p.feed(line, err == nil)
		}
		if err == nil || errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if err == io.EOF {
			break
		}
		return nil, "", err
	}
	p.finishAll()
	return p.root, p.hit, nil
}

// reached records the first limit the message reached (ParseReport).
func (p *parser) reached(limit string) {
	if p.hit == "" {
		p.hit = limit
	}
}

func (p *parser) push(part *Part) {
	p.stack = append(p.stack, part)
	p.cur = part
}

func (p *parser) depth() int { return len(p.stack) }

// startHeader begins the header of cur at the current offset.
func (p *parser) startHeader() {
	p.cur.Offset = p.off
	p.cur.LFOffset = p.off - p.crlf
	p.inHeader = true
	p.hdr.reset(p.cur, p.isMessageRoot(p.cur), p.lim.MessageGlobal, p.lim.MaxHeaderBytes)
	p.lineStart = true
}

func (p *parser) isMessageRoot(part *Part) bool {
	if part == p.root {
		return true
	}
	parent := p.parentOf(part)
	return parent != nil && parent.Flags&FlagMessage != 0
}

func (p *parser) parentOf(part *Part) *Part {
	for i := len(p.stack) - 1; i > 0; i-- {
		if p.stack[i] == part {
			return p.stack[i-1]
		}
	}
	return nil
}

var crlfBytes = []byte("\r\n")

// advance moves past b, counting CRLF pairs for Part.LFOffset.
func (p *parser) advance(b []byte) {
	if len(b) == 0 {
		return
	}
	p.off += int64(len(b))
	if b[0] == '\n' && p.rawLast == '\r' {
		p.crlf++
	}
	p.crlf += int64(bytes.Count(b, crlfBytes))
	p.rawLast = b[len(b)-1]
}

// feed handles one piece of input: a whole line (complete=true, ending in
// LF) or a piece of a long line, or the unterminated last line.
func (p *parser) feed(b []byte, complete bool) {
	atStart := p.lineStart
	p.lineStart = complete
	if len(p.cteWatch) > 0 {
		p.watchCTE(b, atStart, complete)
	}
	if p.inHeader {
		p.feedHeader(b, atStart, complete)
		return
	}
	if p.inBoundaryLine {
		p.addBody(b)
		p.advance(b)
		if complete {
			p.inBoundaryLine = false
			p.afterBoundaryLine()
		}
		return
	}
	if atStart && len(b) >= 2 && b[0] == '-' && b[1] == '-' && len(p.bounds) > 0 {
		if bi, end := p.findBoundary(b[2:]); bi >= 0 {
			p.boundaryLine(bi, end, b, complete)
			return
		}
	}
	p.eohNL = 0
	p.commitPending()
	p.bodyBytes(b, complete)
}

// bodyBytes adds b to cur's body, holding back a final line end, which
// may turn out to belong to a following boundary line.
func (p *parser) bodyBytes(b []byte, complete bool) {
	nl := 0
	if complete && (len(p.bounds) > 0) {
		nl = nlLen(b)
	}
	body := b[:len(b)-nl]
	if len(body) > 0 {
		p.addBody(body)
	}
	p.advance(body)
	if nl > 0 {
		p.pendingNL = nl
		p.advance(b[len(b)-nl:])
	}
	if complete {
		p.firstLine = false
	}
}

// commitPending gives a held-back line end to cur's body.
func (p *parser) commitPending() {
	if p.pendingNL == 0 {
		return
	}
	nl := p.pendingNL
	p.pendingNL = 0
	p.addBody([]byte("\r\r\n")[3-nl:])
}

// lfLen is the length of a line end of nlLen n in Dovecot's LF-only
// storage (CR CR LF is stored as CR LF).
func lfLen(n int) int64 {
	switch n {
	case 0:
		return 0
	case 3:
		return 2
	}
	return 1
}

// nlLen returns the length of the line end of a complete line: 1 for LF,
// 2 for CRLF, 3 for CR CR LF. Dovecot stores messages with LF line ends
// and sends them with CRLF, so "\r\r\n" reaches the client as "\r\n":
// barid treats it as one line end too.
func nlLen(b []byte) int {
	n := len(b)
	switch {
	case n >= 3 && b[n-2] == '\r' && b[n-3] == '\r':
		return 3
	case n >= 2 && b[n-2] == '\r':
		return 2
	}
	return 1
}

// addBody accounts b as body bytes of cur.
func (p *parser) addBody(b []byte) {
	part := p.cur
	part.BodySize += int64(len(b))
	part.BodyVSize += int64(len(b))
	l1, l2 := p.lastByte, p.lastByte2
	if bytes.IndexByte(b, 0) >= 0 {
		part.Flags |= FlagHasNULs
	}
	for i := 0; ; {
		j := bytes.IndexByte(b[i:], '\n')
		if j < 0 {
			break
		}
		i += j
		part.BodyLines++
		prev, prev2 := l1, l2
		if i > 0 {
			prev = b[i-1]
			prev2 = l1
			if i > 1 {
				prev2 = b[i-2]
			}
		}
		switch {
		case prev != '\r':
			part.BodyVSize++
			part.Flags |= FlagBareLF
		case prev2 == '\r':
			part.BodyVSize--
			part.Flags |= FlagBareLF
		}
		i++
	}
	p.lastByte = b[len(b)-1]
	p.lastByte2 = l1
	if len(b) > 1 {
		p.lastByte2 = b[len(b)-2]
	}
	if p.dec.active {
		p.dec.write(b)
	}
}

// findBoundary looks for an active boundary at the start of s (the line
// after its leading "--"). As Dovecot does, the longest matching boundary
// wins and only a prefix needs to match. It returns the index in p.bounds
// and whether the line is a close delimiter ("--boundary--").
func (p *parser) findBoundary(s []byte) (int, bool) {
	// The part of the line that must contain the boundary: up to the
	// line end, without CR and without a trailing "--".
	find := s
	if i := bytes.IndexByte(s, '\n'); i >= 0 {
		find = s[:i]
		if len(find) > 0 && find[len(find)-1] == '\r' {
			find = find[:len(find)-1]
		}
		if len(find) > 2 && find[len(find)-1] == '-' && find[len(find)-2] == '-' {
			find = find[:len(find)-2]
		}
	} else if len(find) > boundaryEndMax {
		find = find[:boundaryEndMax]
	}
	best := -1
	for i := len(p.bounds) - 1; i >= 0; i-- {
		d := p.bounds[i].delim
		if len(d) <= len(find) && bytes.Equal(find[:len(d)], d) &&
			(best < 0 || len(p.bounds[best].delim) < len(d)) {
			best = i
			if len(d) == len(find) {
				break
			}
		}
	}
	if best < 0 {
		return -1, false
	}
	d := p.bounds[best].delim
	end := len(s) >= len(d)+2 && s[len(d)] == '-' && s[len(d)+1] == '-'
	if p.nparts >= p.lim.MaxParts {
		// Past the part limit no boundary counts: the rest of the
		// message stays in the current part (as in Dovecot).
		p.reached("mime_parts")
		return -1, false
	}
	return best, end
}

// boundaryEndMax mirrors Dovecot's BOUNDARY_END_MAX_LEN.
const boundaryEndMax = 70 + 10 + 2 + 2

// boundaryMax is the longest boundary kept (Dovecot truncates longer ones).
const boundaryMax = 70 + 10

// boundaryLine handles a line that starts with the boundary p.bounds[bi].
func (p *parser) boundaryLine(bi int, end bool, line []byte, complete bool) {
	b := p.bounds[bi]
	p.stealEOH(b.part)
	// Close every part inside the boundary's multipart. The pending line
	// end is not theirs: it belongs to the boundary.
	for p.cur != b.part {
		p.finishPart()
	}
	if end {
		p.bounds = p.bounds[:bi]
	} else {
		p.bounds = p.bounds[:bi+1]
	}
	p.commitPending()
	p.addBody(line)
	p.advance(line)
	p.startChild = !end
	if complete {
		p.afterBoundaryLine()
	} else {
		p.inBoundaryLine = true
	}
}

// watched is a part whose header was cut short by a boundary; base is
// the CRLF size of its own header lines other than
// Content-Transfer-Encoding fields, extra that of the lines read on.
type watched struct {
	part        *Part
	base, extra int64
}

// watchCTE looks at a line following a cut header (see cteWatch):
// Dovecot's BINARY reads the header on to the next blank line, so the
// lines up to there count for the part's encoding and its rewritten
// header.
func (p *parser) watchCTE(b []byte, atStart, complete bool) {
	vs := int64(len(b))
	if complete {
		vs += int64(2 - nlLen(b))
	}
	if atStart && complete && len(b) == nlLen(b) {
		// the blank line: the rewritten header gets
		// "Content-Transfer-Encoding: binary" and the blank line
		p.endWatch(35 + 2)
		return
	}
	switch {
	case !atStart:
	case b[0] == ' ' || b[0] == '\t':
		if p.watchInCTE {
			p.setWatchedCTE(encUnknown)
		}
	default:
		p.watchInCTE = false
		if c := bytes.IndexByte(b, ':'); c >= 0 {
			name := bytes.TrimRight(b[:c], " \t")
			if strings.EqualFold(string(name), "content-transfer-encoding") {
				p.watchInCTE = true
				p.setWatchedCTE(encodingKind(string(trimNL(b[c+1:]))))
			}
		}
	}
	if !p.watchInCTE {
		for i := range p.cteWatch {
			p.cteWatch[i].extra += vs
		}
	}
}

// endWatch finishes the watched parts; tail is added to a rewritten
// header (0 when the message ended before a blank line).
func (p *parser) endWatch(tail int64) {
	for _, w := range p.cteWatch {
		if w.part.Flags&(FlagBinBase64|FlagBinQP) != 0 {
			w.part.BinHeaderSize = w.base + w.extra + tail
		} else {
			w.part.BinHeaderSize = 0
		}
	}
	p.cteWatch, p.watchInCTE = p.cteWatch[:0], false
}

func (p *parser) setWatchedCTE(kind int) {
	for _, w := range p.cteWatch {
		w.part.Flags &^= FlagBinBase64 | FlagBinQP | FlagUnknownCTE
		w.part.Flags |= binFlags(kind)
	}
}

// stealEOH moves the blank line that just ended a header to the parent's
// body when a boundary line (not the part's own) follows it directly.
func (p *parser) stealEOH(owner *Part) {
	nl, part := p.eohNL, p.eohPart
	p.eohNL, p.eohPart = 0, nil
	if nl == 0 || part == owner {
		return
	}
	parent := p.parentOf(part)
	if parent == nil {
		return
	}
	part.HeaderSize -= int64(nl)
	part.HeaderVSize -= 2
	part.HeaderLines--
	parent.BodySize += int64(nl)
	parent.BodyVSize += 2
	parent.BodyLines++
	// An embedded message opened after that blank line starts where
	// the blank line did (Dovecot decides this at the end of the header).
	for _, c := range part.Children {
		if c.HeaderSize == 0 {
			c.Offset -= int64(nl)
			c.LFOffset -= lfLen(nl)
		}
	}
}

// afterBoundaryLine runs once a boundary line has been consumed.
func (p *parser) afterBoundaryLine() {
	p.firstLine = true
	p.lineStart = true
	top := len(p.bounds) - 1
	if !p.startChild || top < 0 || p.bounds[top].part != p.cur {
		// epilogue: the rest belongs to the multipart until an outer
		// boundary, or the end.
		return
	}
	child := &Part{Flags: FlagMIME}
	p.nparts++
	p.cur.Children = append(p.cur.Children, child)
	p.push(child)
	p.startHeader()
}

// feedHeader handles header input of cur.
func (p *parser) feedHeader(b []byte, atStart, complete bool) {
	part := p.cur
	if atStart && len(b) >= 2 && b[0] == '-' && b[1] == '-' && len(p.bounds) > 0 {
		if bi, end := p.findBoundary(b[2:]); bi >= 0 {
			// A boundary inside the header: the header ends; its
			// last line end belongs to the boundary.
			// (Dovecot gives it to the parent's body: for a part
			// embedded in message/rfc822 that is the message part.)
			prevNL := p.hdr.prevNL
			if part.HeaderSize == 0 {
				p.stealEOH(p.bounds[bi].part)
			} else if nl := prevNL; nl > 0 {
				part.HeaderSize -= int64(nl)
				part.HeaderVSize -= 2
				part.HeaderLines--
				parent := p.parentOf(part)
				parent.BodySize += int64(nl)
				parent.BodyVSize += 2
				parent.BodyLines++
			}
			p.hdr.finish()
			cteVSize, lastWasCTE := p.hdr.cteVSize, p.hdr.lastWasCTE
			p.endHeader(false)
			// its last line end, given to the boundary above, is
			// still part of the header Dovecot's BINARY reads
			base := part.HeaderVSize - cteVSize
			if prevNL > 0 {
				base += 2
			}
			part.Flags |= FlagHeaderCut
			// the boundary line itself is the first line read on
			extra := int64(len(b))
			if complete {
				extra += int64(2 - nlLen(b))
			}
			p.cteWatch = append(p.cteWatch, watched{part: part, base: base, extra: extra})
			if p.cur != part && p.inHeader && prevNL == 0 {
				// an embedded message opened with an empty header:
				// its header is read on from the same place (unless
				// it starts at the line end given to the boundary,
				// which reads as a blank line)
				p.cur.Flags |= FlagHeaderCut
				p.cteWatch = append(p.cteWatch, watched{part: p.cur, extra: extra})
			}
			p.watchInCTE = lastWasCTE
			p.boundaryLine(bi, end, b, complete)
			return
		}
	}
	p.eohNL = 0
	if atStart && complete && len(b) == nlLen(b) {
		// blank line: end of header
		part.HeaderSize += int64(len(b))
		part.HeaderVSize += 2
		part.HeaderLines++
		if len(b) != 2 {
			part.Flags |= FlagBareLF
		}
		p.advance(b)
		p.lastByte, p.lastByte2 = '\n', 0
		p.eohNL, p.eohPart = len(b), part
		p.endHeader(true)
		return
	}
	part.HeaderSize += int64(len(b))
	part.HeaderVSize += int64(len(b))
	if bytes.IndexByte(b, 0) >= 0 {
		part.Flags |= FlagHasNULs
	}
	p.hdr.prevNL = 0
	if complete {
		part.HeaderLines++
		p.hdr.prevNL = nlLen(b)
		part.HeaderVSize += int64(2 - p.hdr.prevNL)
		if p.hdr.prevNL != 2 {
			part.Flags |= FlagBareLF
		}
	}
	p.advance(b)
	p.lastByte, p.lastByte2 = b[len(b)-1], 0
	p.hdr.line(b, atStart, complete)
}

// endHeader finishes cur's header and decides how its body is parsed.
func (p *parser) endHeader(sawBlank bool) {
	part := p.cur
	p.hdr.finish()
	if p.hdr.budget < 0 {
		p.reached("header_size")
	}
	p.inHeader = false
	p.firstLine = true
	p.lineStart = true
	p.lastByte, p.lastByte2 = '\n', 0
	parent := p.parentOf(part)

	part.Flags |= binFlags(p.hdr.binKind)
	if k := p.hdr.binKind; (k == encBase64 || k == encQP) && sawBlank {
		// BINARY rewrites this header: without its
		// Content-Transfer-Encoding lines, plus
		// "Content-Transfer-Encoding: binary\r\n" (35 bytes).
		part.BinHeaderSize = part.HeaderVSize - p.hdr.cteVSize + 35
	} else if k == encBase64 || k == encQP {
		part.BinHeaderSize = part.HeaderVSize - p.hdr.cteVSize
	}
	if part.Flags&FlagMIME == 0 {
		// Not MIME: the Content-* fields do not count (RFC 2045 §4;
		// Dovecot accepts Content-Type without Mime-Version, which
		// sets FlagMIME).
		keep := part.Flags & (FlagHasNULs | FlagBareLF | FlagBinBase64 | FlagBinQP | FlagUnknownCTE)
		env := part.Env
		*part = Part{Offset: part.Offset, LFOffset: part.LFOffset, HeaderSize: part.HeaderSize, HeaderVSize: part.HeaderVSize,
			HeaderLines: part.HeaderLines, Flags: keep, Env: env, BinHeaderSize: part.BinHeaderSize}
		p.hdr.boundary = nil
	}
	if part.Flags&FlagContentType == 0 {
		if parent != nil && parent.Flags&FlagDigest != 0 {
			part.Flags |= FlagMessage
		} else {
			part.Flags |= FlagText
		}
	}
	part.DecodedSize = 0
	switch {
	case part.Flags&FlagMultipart != 0:
		if p.depth() >= p.lim.MaxDepth {
			// Too deep: not split. Dovecot shows such a part as
			// application/octet-stream.
			part.Flags &^= FlagMultipart | FlagDigest
			part.Flags |= FlagLimit
			p.reached("mime_depth")
		} else if p.hdr.boundary != nil && sawBlank {
			p.bounds = append(p.bounds, boundary{part: part, delim: p.hdr.boundary})
			// if no part ever starts, BINARY decodes this body
			p.startLeafBody()
			return
		}
		// Without a usable boundary the part stays a multipart with
		// no children; its body is not split.
		p.startLeafBody()
	case part.Flags&FlagMessage != 0:
		if p.depth() >= p.lim.MaxDepth || p.nparts >= p.lim.MaxParts {
			if p.depth() >= p.lim.MaxDepth {
				p.reached("mime_depth")
			} else {
				p.reached("mime_parts")
			}
			part.Flags &^= FlagMessage
			part.Flags |= FlagLimit
			p.startLeafBody()
			return
		}
		child := &Part{Env: &Envelope{}}
		p.nparts++
		part.Children = append(part.Children, child)
		p.push(child)
		p.startHeader()
		// The embedded message starts where the header ended, even if
		// the header's last line end went to a boundary (Dovecot).
		if off := part.HeaderEnd() + part.BodySize; off < child.Offset {
			child.LFOffset -= lfLen(int(child.Offset - off))
			child.Offset = off
		}
	default:
		p.startLeafBody()
	}
}

func (p *parser) startLeafBody() {
	p.dec.reset(p.cur)
}

// finishPart closes cur and adds its sizes to its parent's body.
func (p *parser) finishPart() {
	part := p.cur
	if p.inHeader {
		p.hdr.finish()
		p.inHeader = false
	}
	p.dec.finish(part)
	p.stack = p.stack[:len(p.stack)-1]
	parent := p.stack[len(p.stack)-1]
	parent.BodySize += part.HeaderSize + part.BodySize
	parent.BodyVSize += part.HeaderVSize + part.BodyVSize
	parent.BodyLines += part.HeaderLines + part.BodyLines
	parent.Flags |= part.Flags & (FlagHasNULs | FlagBareLF)
	p.cur = parent
	// bounds owned by closed parts are gone
	for len(p.bounds) > 0 && p.bounds[len(p.bounds)-1].part == part {
		p.bounds = p.bounds[:len(p.bounds)-1]
	}
}

// finishAll runs at end of input.
func (p *parser) finishAll() {
	if len(p.cteWatch) > 0 {
		p.endWatch(0)
	}
	p.commitPending()
	if p.inHeader {
		p.endHeaderAtEOF()
	}
	for len(p.stack) > 1 {
		p.finishPart()
	}
	p.dec.finish(p.root)
	p.bounds = nil
}

// endHeaderAtEOF finishes a header that was cut off by the end of input.
func (p *parser) endHeaderAtEOF() {
	p.endHeader(false)
	// endHeader may have opened an embedded message; it is empty.
	if p.inHeader {
		p.hdr.finish()
		p.inHeader = false
		p.cur.Flags |= FlagText
	}
}
