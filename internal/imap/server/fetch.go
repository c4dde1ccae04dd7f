package server

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"

	"barid/internal/blob"
	"barid/internal/imap"
	"barid/internal/imap/msgdata"
	"barid/internal/mail/mime"
	"barid/internal/mailbox"
	"barid/internal/store"
)

// fetchKind is one FETCH data item (RFC 9051 §6.4.5).
type fetchKind uint8

const (
	fUID fetchKind = iota
	fFlags
	fInternalDate
	fSize
	fEnvelope
	fBody          // BODY (non-extensible BODYSTRUCTURE)
	fBodyStructure // BODYSTRUCTURE
	fSection       // BODY[...] / BODY.PEEK[...] / RFC822 / RFC822.HEADER / RFC822.TEXT
	fBinary        // BINARY[...] / BINARY.PEEK[...] (RFC 3516)
	fBinarySize    // BINARY.SIZE[...]
	fModSeq        // MODSEQ (RFC 7162)
	fSaveDate      // SAVEDATE (RFC 8514)
	fEmailID       // EMAILID (RFC 8474 §5.1)
	fThreadID      // THREADID (RFC 8474 §5.2)
	fPreview       // PREVIEW (RFC 8970)
)

type fetchItem struct {
	kind    fetchKind
	peek    bool
	lazy    bool // PREVIEW (LAZY), RFC 8970 §3.1
	section imap.Section
	// name is how the item is echoed in the response, e.g.
	// "BODY[HEADER.FIELDS (FROM)]" or "RFC822.TEXT".
	name string
}

type fetchReq struct {
	items          []fetchItem
	fields         store.Fields
	setSeen        bool
	changedSince   store.ModSeq
	hasChangedSinc bool
	vanished       bool // RFC 7162 §3.2.6 VANISHED modifier
	// which items were asked for, computed once per command rather than
	// per message
	has [fPreview + 1]bool
	// vals is writeFetchResponse's per-message scratch, reused.
	vals []itemVal
	// blobCtx is the context message bytes are opened with: marked as a
	// scan (store.WithBulk) for a FETCH of many messages.
	blobCtx context.Context
	// short: every item is UID, FLAGS, MODSEQ or RFC822.SIZE, so a
	// response line is built in line and written at once (shortLine).
	short bool
	line  []byte
	// bytes: some item is a section or BINARY, so responses carry
	// message bytes (runFetch borrows a large write buffer).
	bytes bool
	// found lists the UIDs the store had, when fromView: the others
	// are answered from what the session knows (fetchGone).
	found []store.UID
}

// RFC 9051 §6.4.5 FETCH.
func handleFetch(c *Conn, tag string) error { return c.fetch(tag, false) }

// RFC 9051 §6.4.9 UID FETCH.
func handleUIDFetch(c *Conn, tag string) error { return c.fetch(tag, true) }

func (c *Conn) fetch(tag string, uid bool) error {
	if !c.dec.ExpectSP() {
		return c.dec.Err()
	}
	uids, terr := c.readTargets(uid)
	if terr != nil {
		if _, ok := terr.(*deferredErr); !ok {
			return terr
		}
	}
	if !c.dec.ExpectSP() {
		return c.dec.Err()
	}
	req, err := c.parseFetchItems(uid)
	if err != nil {
		return err
	}
	if !c.dec.ExpectCRLF() {
		return c.dec.Err()
	}
	if terr != nil {
		return terr.(*deferredErr).err
	}
	// RFC 4314 §4: FETCH needs "r"; on another owner's mailbox the owner
	// may have taken it away since SELECT.
	if err := c.needSel(mailbox.RightRead); err != nil {
		return err
	}
	if req.vanished {
		gone, err := c.srv.cfg.Store.ExpungedSince(c.ctx(), c.sel.mbox.ID, req.changedSince)
		if err != nil {
			return err
		}
		known := c.lastUIDSet
		if known == nil {
			known = imap.UIDSet{}
		}
		c.writeVanishedEarlier(gone, known)
	}
	missing, err := c.runFetch(uids, req, uid)
	if err != nil {
		return err
	}
	if missing {
		c.payBarrier()
	}
	if missing && req.fromView() {
		// RFC 2180 §4.1: UID, FLAGS and MODSEQ of a message another
		// session expunged are what this session still knows of it,
		// and Dovecot answers them (gone.go).
		missing, err = c.fetchGone(missingUIDs(uids, req.found), req)
		if err != nil {
			return err
		}
	}
	if missing && !uid {
		// RFC 2180 §4.1.3 (and RFC 9051 §7.1 EXPUNGEISSUED): the
		// messages still there were sent and the gone ones have no
		// data to send, so the FETCH succeeded with what exists; the
		// EXPUNGEs follow at the next command that may carry them.
		// Dovecot 2.3 answers the same OK [EXPUNGEISSUED] (a NO would
		// make clients such as Python's imaplib drop the data they did
		// get).
		c.updatesAfter(c.cur)
		c.writeStatus(tag, "OK", imap.CodeExpungeIssued, "Some messages were already expunged.")
		return nil
	}
	return c.ok(tag, "", "Fetch completed.")
}

func (c *Conn) parseFetchItems(uid bool) (*fetchReq, error) {
	req := &fetchReq{}
	if err := c.parseFetchAtts(req, true); err != nil {
		return nil, err
	}
	add := func(it fetchItem) {
		req.items = append(req.items, it)
	}
	// fetch-modifiers (RFC 4466): CHANGEDSINCE (RFC 7162 §3.1.4).
	if err := c.parseFetchModifiers(req, uid, add); err != nil {
		return nil, err
	}
	// RFC 9586 §3.3: a UIDFETCH response names the UID already; the
	// UID data item is there only when asked for.
	req.finish(uid && !c.uidonly)
	return req, nil
}

// parseFetchAtts reads a fetch-att list, or (when single is set) one
// fetch-att or macro, into req.items.
func (c *Conn) parseFetchAtts(req *fetchReq, single bool) error {
	add := func(it fetchItem) {
		req.items = append(req.items, it)
	}
	var itemErr error
	readItem := func() bool {
		var a string
		if !c.dec.ExpectAtom(&a) {
			return false
		}
		up := strings.ToUpper(a)
		switch up {
		case "ALL":
			add(fetchItem{kind: fFlags})
			add(fetchItem{kind: fInternalDate})
			add(fetchItem{kind: fSize})
			add(fetchItem{kind: fEnvelope})
			return true
		case "FAST":
			add(fetchItem{kind: fFlags})
			add(fetchItem{kind: fInternalDate})
			add(fetchItem{kind: fSize})
			return true
		case "FULL":
			add(fetchItem{kind: fFlags})
			add(fetchItem{kind: fInternalDate})
			add(fetchItem{kind: fSize})
			add(fetchItem{kind: fEnvelope})
			add(fetchItem{kind: fBody})
			return true
		case "UID":
			add(fetchItem{kind: fUID})
		case "FLAGS":
			add(fetchItem{kind: fFlags})
		case "INTERNALDATE":
			add(fetchItem{kind: fInternalDate})
		case "RFC822.SIZE":
			add(fetchItem{kind: fSize})
		case "ENVELOPE":
			add(fetchItem{kind: fEnvelope})
		case "BODYSTRUCTURE":
			add(fetchItem{kind: fBodyStructure})
		case "MODSEQ":
			add(fetchItem{kind: fModSeq})
			c.enableCondstore()
		case "SAVEDATE":
			add(fetchItem{kind: fSaveDate})
		case "EMAILID":
			add(fetchItem{kind: fEmailID})
		case "THREADID":
			add(fetchItem{kind: fThreadID})
		case "PREVIEW":
			it, err := c.parsePreviewItem()
			if err != nil {
				itemErr = err
				return false
			}
			add(it)
		case "RFC822":
			add(fetchItem{kind: fSection, name: "RFC822"})
		case "RFC822.HEADER":
			add(fetchItem{kind: fSection, peek: true, name: "RFC822.HEADER", section: imap.Section{Specifier: imap.SectionHeader}})
		case "RFC822.TEXT":
			add(fetchItem{kind: fSection, name: "RFC822.TEXT", section: imap.Section{Specifier: imap.SectionText}})
		case "BODY":
			if b, ok := c.dec.Peek(); !ok || b != '[' {
				add(fetchItem{kind: fBody})
				return true
			}
			fallthrough
		default:
			it, err := c.parseSectionItem(a)
			if err != nil {
				itemErr = err
				return false
			}
			add(it)
		}
		return true
	}
	if b, ok := c.dec.Peek(); ok && b == '(' {
		if !c.dec.ExpectList(readItem) {
			if itemErr != nil {
				return itemErr
			}
			return c.dec.Err()
		}
	} else if !single {
		return c.errOr("expected a parenthesized list of FETCH data items")
	} else if !readItem() {
		if itemErr != nil {
			return itemErr
		}
		return c.dec.Err()
	}
	if len(req.items) == 0 {
		return &imap.Error{Type: "BAD", Text: "FETCH needs at least one data item"}
	}
	return nil
}

func (c *Conn) parseFetchModifiers(req *fetchReq, uid bool, add func(fetchItem)) error {
	if c.dec.SP() {
		var bad string
		if !c.dec.ExpectList(func() bool {
			var a string
			if !c.dec.ExpectAtom(&a) {
				return false
			}
			if strings.EqualFold(a, "VANISHED") {
				req.vanished = true
				return true
			}
			if strings.EqualFold(a, "CHANGEDSINCE") {
				var n int64
				if !c.dec.ExpectSP() || !c.dec.ExpectNumber64(&n) {
					return false
				}
				req.changedSince = store.ModSeq(n)
				req.hasChangedSinc = true
				c.enableCondstore()
				return true
			}
			bad = a
			return true
		}) {
			return c.dec.Err()
		}
		if bad != "" {
			return &imap.Error{Type: "BAD", Text: "Unknown FETCH modifier " + bad}
		}
		if req.hasChangedSinc {
			add(fetchItem{kind: fModSeq})
		}
		if req.vanished && (!uid || !req.hasChangedSinc || !c.qresync) {
			return &imap.Error{Type: "BAD", Text: "VANISHED needs UID FETCH, CHANGEDSINCE and ENABLE QRESYNC (RFC 7162 §3.2.6)"}
		}
	}
	return nil
}

// finish completes a parsed request: the implicit UID of UID FETCH,
// the store fields to load and the rendering shortcuts.
func (req *fetchReq) finish(uid bool) {
	if uid {
		req.items = append([]fetchItem{{kind: fUID}}, req.items...)
	}
	// Deduplicate UID (it may be both implicit and explicit).
	seenUID := false
	out := req.items[:0]
	for _, it := range req.items {
		if it.kind == fUID {
			if seenUID {
				continue
			}
			seenUID = true
		}
		out = append(out, it)
	}
	req.items = out
	for _, it := range req.items {
		req.has[it.kind] = true
		switch it.kind {
		case fFlags, fModSeq:
			req.fields |= store.FieldFlags
		case fSize:
			req.fields |= store.FieldSize
		case fInternalDate, fSaveDate, fEmailID, fThreadID:
			req.fields |= store.FieldBasics
		case fPreview:
			req.fields |= previewFields
		case fEnvelope:
			req.fields |= store.FieldEnvelope
		case fBody, fBodyStructure:
			req.fields |= store.FieldStructure
		case fBinarySize:
			// the size is counted over the message's headers and
			// boundary lines (msgdata.BinarySize): the blob id is
			// among the basics
			req.fields |= store.FieldStructure | store.FieldBasics
		case fSection, fBinary:
			req.fields |= store.FieldStructure | store.FieldHeader | store.FieldBasics
			if !it.peek {
				req.setSeen = true
			}
		}
	}
	if req.hasChangedSinc {
		req.fields |= store.FieldFlags
	}
	req.short = len(req.items) > 0
	for _, it := range req.items {
		switch it.kind {
		case fUID, fFlags, fModSeq, fSize:
		case fSection, fBinary:
			req.short, req.bytes = false, true
		default:
			req.short = false
		}
	}
}

// parseSectionItem parses BODY[...], BODY.PEEK[...], BINARY[...],
// BINARY.PEEK[...] and BINARY.SIZE[...]. The atom reader stops at "]"
// (a resp-special), so a has the form "BODY[1.2.HEADER.FIELDS" etc.
func (c *Conn) parseSectionItem(a string) (fetchItem, error) {
	var it fetchItem
	i := strings.IndexByte(a, '[')
	if i < 0 {
		if b, ok := c.dec.Peek(); ok && b == '[' {
			c.dec.ExpectSpecial('[')
			var rest string
			c.dec.Atom(&rest)
			a = a + "[" + rest
			i = strings.IndexByte(a, '[')
		} else {
			return it, &imap.Error{Type: "BAD", Text: "Unknown FETCH data item " + a}
		}
	}
	head := strings.ToUpper(a[:i])
	spec := a[i+1:]
	switch head {
	case "BODY":
		it.kind = fSection
	case "BODY.PEEK":
		it.kind, it.peek = fSection, true
	case "BINARY":
		it.kind = fBinary
	case "BINARY.PEEK":
		it.kind, it.peek = fBinary, true
	case "BINARY.SIZE":
		it.kind, it.peek = fBinarySize, true
	default:
		return it, &imap.Error{Type: "BAD", Text: "Unknown FETCH data item " + a}
	}
	sec, err := parseSectionSpec(spec)
	if err != nil {
		return it, err
	}
	if it.kind != fSection && (sec.Specifier != imap.SectionAll) {
		return it, &imap.Error{Type: "BAD", Text: "BINARY takes only a part number"}
	}
	if sec.Specifier == imap.SectionHeaderFields || sec.Specifier == imap.SectionHeaderFieldsNot {
		if !c.dec.ExpectSP() || !c.dec.ExpectList(func() bool {
			var f string
			if !c.dec.ExpectAString(&f) {
				return false
			}
			sec.Fields = append(sec.Fields, f)
			return true
		}) {
			return it, c.dec.Err()
		}
		if len(sec.Fields) == 0 {
			return it, &imap.Error{Type: "BAD", Text: "HEADER.FIELDS needs at least one field name"}
		}
	}
	if !c.dec.ExpectSpecial(']') {
		return it, c.dec.Err()
	}
	if it.kind != fBinarySize {
		if b, ok := c.dec.Peek(); ok && b == '<' {
			c.dec.ExpectSpecial('<')
			var off, cnt int64
			if !c.dec.ExpectNumber64(&off) || !c.dec.ExpectSpecial('.') || !c.dec.ExpectNumber64(&cnt) || !c.dec.ExpectSpecial('>') {
				return it, c.errOr("invalid <offset.count> partial range")
			}
			if cnt == 0 {
				// RFC 9051 §6.4.5: nz-number
				return it, &imap.Error{Type: "BAD", Text: "Partial count must be non-zero"}
			}
			sec.Partial, sec.Offset, sec.Count = true, off, cnt
		}
	}
	it.section = sec
	// Echo name (without the partial count; RFC 9051 §7.5.2).
	var b strings.Builder
	switch it.kind {
	case fSection:
		b.WriteString("BODY[")
	case fBinary:
		b.WriteString("BINARY[")
	case fBinarySize:
		b.WriteString("BINARY.SIZE[")
	}
	b.WriteString(sectionString(sec))
	b.WriteString("]")
	it.name = b.String()
	return it, nil
}

// parseSectionSpec parses "1.2.HEADER", "TEXT", "" and friends.
func parseSectionSpec(s string) (imap.Section, error) {
	var sec imap.Section
	bad := &imap.Error{Type: "BAD", Text: "Invalid section specifier [" + s + "]"}
	for s != "" {
		j := 0
		for j < len(s) && s[j] >= '0' && s[j] <= '9' {
			j++
		}
		if j == 0 {
			break
		}
		n, err := strconv.Atoi(s[:j])
		if err != nil || n == 0 || len(sec.Part) >= 100 {
			return sec, bad
		}
		sec.Part = append(sec.Part, n)
		s = s[j:]
		if s == "" {
			return sec, nil
		}
		if s[0] != '.' {
			return sec, bad
		}
		s = s[1:]
		if s == "" {
			return sec, bad
		}
	}
	spec, ok := imap.ParseSectionSpecifier(s, len(sec.Part) > 0)
	if !ok {
		return sec, bad
	}
	sec.Specifier = spec
	return sec, nil
}

func sectionString(sec imap.Section) string {
	var b strings.Builder
	for i, p := range sec.Part {
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(strconv.Itoa(p))
	}
	spec := ""
	switch sec.Specifier {
	case imap.SectionHeader:
		spec = "HEADER"
	case imap.SectionHeaderFields:
		spec = "HEADER.FIELDS"
	case imap.SectionHeaderFieldsNot:
		spec = "HEADER.FIELDS.NOT"
	case imap.SectionText:
		spec = "TEXT"
	case imap.SectionMIME:
		spec = "MIME"
	}
	if spec != "" {
		if len(sec.Part) > 0 {
			b.WriteByte('.')
		}
		b.WriteString(spec)
	}
	if len(sec.Fields) > 0 {
		b.WriteString(" (")
		for i, f := range sec.Fields {
			if i > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(strings.ToUpper(f))
		}
		b.WriteString(")")
	}
	return b.String()
}

// fetchChunk is how many records one store call loads: small when
// records carry headers and structures, large when they are only flags
// (a FETCH 1:* (FLAGS) of 100k messages then takes 25 store calls).
// Records without headers or bytes (ENVELOPE, BODYSTRUCTURE, sizes and
// dates: about a KiB each) come fetchChunkRecs at a time: each store
// call begins its own read transactions, and at 256 a FETCH 1:*
// ENVELOPE of 100,000 messages made 391 calls, a seventh of its CPU.
const (
	fetchChunk      = 256
	fetchChunkRecs  = 1024
	fetchChunkFlags = 4096
)

// recordFields are the fields of a chunk of fetchChunkRecs.
const recordFields = store.FieldFlags | store.FieldSize | store.FieldBasics | store.FieldEnvelope | store.FieldStructure

// runFetch loads records chunk by chunk (never writing to the socket
// inside a store call) and writes one FETCH response per message. It
// reports whether some requested messages no longer exist.
// bigFetch is the number of messages from which a FETCH reads message
// bytes as a scan (store.WithBulk).
const bigFetch = 512

func (c *Conn) runFetch(uids []store.UID, req *fetchReq, uid bool) (missing bool, err error) {
	c.freshPrivateSeen()
	v := c.sel
	st := c.srv.cfg.Store
	seenSet := map[store.UID]bool{}
	if req.setSeen && !v.readOnly && v.rights.Has(mailbox.RightSeen) && len(uids) > 0 && v.pvt != nil {
		// the user's own \Seen (privseen.go)
		res, err := c.setPrivateSeen(uids, true)
		if err != nil {
			return false, err
		}
		for _, r := range res {
			seenSet[r.UID] = true
		}
		if len(seenSet) > 0 {
			req.fields |= store.FieldFlags
		}
	} else if req.setSeen && !v.readOnly && v.rights.Has(mailbox.RightSeen) && len(uids) > 0 { // RFC 4314 §4: \Seen only with "s"
		results, _, changes, err := st.StoreFlags(c.ctx(), v.mbox.ID, uids, store.FlagsAdd, store.Flags{System: store.FlagSeen}, 0)
		if err != nil {
			return false, err
		}
		for _, r := range results {
			v.own[r.UID] = r.ModSeq
			seenSet[r.UID] = true
		}
		c.publish(changes)
		if len(seenSet) > 0 {
			req.fields |= store.FieldFlags
		}
	}
	unavailable, goneMeanwhile, gone := false, false, false
	fromView := req.fromView()
	write := func(m *store.Message) error {
		if err := req.blobCtx.Err(); err != nil {
			return err // the client hung up (hangup.go)
		}
		if fromView {
			if req.found == nil {
				req.found = make([]store.UID, 0, len(uids)) // once, not by doubling
			}
			req.found = append(req.found, m.UID)
		}
		if v.pvt != nil && req.fields&store.FieldFlags != 0 {
			v.pvt.overlay(m)
		}
		if req.hasChangedSinc && m.ModSeq <= req.changedSince {
			return nil
		}
		err := c.writeFetchResponse(m, req, seenSet[m.UID])
		if errors.Is(err, errGoneMeanwhile) {
			gone = true
			return nil
		}
		if errors.Is(err, errUnavailable) {
			if errors.Is(err, blob.ErrNotFound) && c.expungedNow(m.UID) {
				// expunged (and its bytes deleted) by another
				// session between loading the record and reading
				// the bytes: a message gone, not a broken one
				goneMeanwhile = true
				return nil
			}
			unavailable = true
			return nil
		}
		return err
	}
	// A FETCH of one chunk is answered with its tagged OK in one write
	// (finish flushes); a longer one sends each chunk while the next
	// loads.
	flagsOnly := req.fields&^(store.FieldFlags|store.FieldSize) == 0
	step := fetchChunk
	if flagsOnly {
		step = fetchChunkFlags
	} else if !req.bytes && req.fields&^recordFields == 0 {
		step = fetchChunkRecs
	}
	flush := func() error {
		if len(uids) > step && c.bw.Buffered() > 0 {
			if err := c.flushKeep(); err != nil {
				return &ioError{err}
			}
		}
		return nil
	}
	// Reads stop when the client hangs up (hangup.go); the \Seen
	// update above used ctx() and is done. A FETCH of a few records
	// without message bytes is over before a watch would look.
	req.blobCtx = c.ctx()
	if req.bytes || len(uids) > 32 {
		req.blobCtx = c.readCtx()
	}
	if len(uids) <= inlineFetchMax && req.needsBody() {
		req.fields |= store.FieldInline
	}
	if len(uids) >= bigFetch {
		req.blobCtx = store.WithBulk(req.blobCtx)
	}
	// Borrow 64 KiB unless the answer surely fits the connection's
	// 2 KiB (a few short lines, or a message or two without bytes).
	if req.bytes || len(uids) > 32 || (!req.short && len(uids) > 2) {
		if err := c.bigWrites(); err != nil {
			return false, &ioError{err}
		}
	}
	if flagsOnly {
		// Flags and sizes only: a compact record per message rather
		// than a copy of the whole store.Message (a tenth of the size).
		var m store.Message
		missing, err = pipelined(uids, step, &flagBufs,
			func(chunk []store.UID, buf []flagRec) ([]flagRec, error) {
				err := st.FetchMessages(req.blobCtx, v.mbox.ID, chunk, req.fields, func(m *store.Message) error {
					buf = append(buf, flagRec{m.UID, m.ModSeq, m.Size, m.Flags})
					return nil
				})
				return buf, err
			},
			func(recs []flagRec) error {
				for i := range recs {
					r := &recs[i]
					m.MailboxID, m.UID, m.ModSeq, m.Size, m.Flags = v.mbox.ID, r.uid, r.modseq, r.size, r.flags
					if err := write(&m); err != nil {
						return err
					}
				}
				return flush()
			})
	} else {
		missing, err = pipelined(uids, step, &messageBufs, c.loadMessages(req.blobCtx, req.fields),
			func(msgs []store.Message) error {
				for i := range msgs {
					if err := write(&msgs[i]); err != nil {
						return err
					}
				}
				return flush()
			})
	}
	if err != nil {
		return false, err
	}
	missing = missing || goneMeanwhile
	if unavailable {
		return missing, &imap.Error{Type: "NO", Code: imap.CodeServerBug, Text: "Some messages could not be read; refer to the server log"}
	}
	return missing || gone, nil
}

// bufPool lends record buffers to pipelined across commands, so a busy
// server does not allocate (and collect) a chunk of records per FETCH.
// Buffers are cleared before reuse: records point into row data.
// Buffers above maxCap records (fetchChunkRecs if 0) are not kept.
type bufPool[T any] struct {
	p      sync.Pool
	maxCap int
}

func (bp *bufPool[T]) get() []T {
	if bp == nil {
		return nil
	}
	if b, ok := bp.p.Get().(*[]T); ok {
		return (*b)[:0]
	}
	return nil
}

func (bp *bufPool[T]) put(b []T) {
	if bp == nil || cap(b) == 0 {
		return
	}
	limit := bp.maxCap
	if limit == 0 {
		limit = fetchChunkRecs
	}
	if cap(b) > limit {
		return
	}
	clear(b[:cap(b)])
	bp.p.Put(&b)
}

var messageBufs bufPool[store.Message]

// flagRec is what FETCH of flags and sizes only keeps of a message.
type flagRec struct {
	uid    store.UID
	modseq store.ModSeq
	size   int64
	flags  store.Flags
}

// flagBufs lends FETCH (FLAGS)'s record chunks (fetchChunkFlags records,
// 160 KiB each): a FETCH 1:* (FLAGS) of 3,000 messages otherwise
// allocated 120 KiB of fresh heap per command, half of what it
// allocated in all, and the first commands after the heap was returned
// to the OS paid for faulting it in (issue #21).
var flagBufs = bufPool[flagRec]{maxCap: fetchChunkFlags}

// loadMessages is a pipelined loader of whole records of the selected
// mailbox: it copies each one, with fields, into buf. ctx is marked a
// scan (store.WithBulk) for a command over many messages, whose chunks
// the store then reads on its bulk readers and keeps out of its record
// cache.
func (c *Conn) loadMessages(ctx context.Context, fields store.Fields) func([]store.UID, []store.Message) ([]store.Message, error) {
	return c.loadMessagesIn(ctx, c.sel.mbox.ID, fields)
}

// loadMessagesIn is loadMessages for any mailbox of the account.
func (c *Conn) loadMessagesIn(ctx context.Context, mb int64, fields store.Fields) func([]store.UID, []store.Message) ([]store.Message, error) {
	return func(chunk []store.UID, buf []store.Message) ([]store.Message, error) {
		err := c.srv.cfg.Store.FetchMessages(ctx, mb, chunk, fields, func(m *store.Message) error {
			buf = append(buf, *m)
			return nil
		})
		return buf, err
	}
}

// pipelined runs load over uids in chunks of step and write over each
// loaded chunk, with two chunks in flight: while write sends one to the
// client, load fills the next on another goroutine (and store read
// connection), so a long FETCH keeps the store and the encoder busy at
// once. Memory stays two chunks whatever the mailbox size. It reports
// whether some chunk came back with fewer records than UIDs asked.
//
// pool, if not nil, lends the two record buffers (write must not keep
// records past its return); without it they are allocated per call.
func pipelined[T any](uids []store.UID, step int, pool *bufPool[T], load func(chunk []store.UID, buf []T) ([]T, error), write func([]T) error) (missing bool, err error) {
	type loaded struct {
		recs    []T
		missing bool
		err     error
	}
	do := func(chunk []store.UID, buf []T) loaded {
		if cap(buf) < len(chunk) {
			buf = make([]T, 0, len(chunk)) // once, not by doubling
		}
		recs, err := load(chunk, buf[:0])
		return loaded{recs, len(recs) < len(chunk), err}
	}
	chunkAt := func(k int) []store.UID { return uids[k*step : min((k+1)*step, len(uids))] }
	n := (len(uids) + step - 1) / step
	bufs := [2][]T{pool.get(), pool.get()}
	next := make(chan loaded, 1)
	inflight := false
	defer func() {
		if inflight {
			<-next
		}
		pool.put(bufs[0])
		pool.put(bufs[1])
	}()
	for k := 0; k < n; k++ {
		var cur loaded
		if inflight {
			cur = <-next
			inflight = false
		} else {
			cur = do(chunkAt(k), bufs[k%2])
		}
		bufs[k%2] = cur.recs
		if k+1 < n {
			inflight = true
			go func(chunk []store.UID, buf []T) { next <- do(chunk, buf) }(chunkAt(k+1), bufs[(k+1)%2])
		}
		if cur.err != nil {
			return missing, cur.err
		}
		missing = missing || cur.missing
		if err := write(cur.recs); err != nil {
			return missing, err
		}
	}
	return missing, nil
}

// expungedNow reports whether uid is no longer in the selected mailbox's
// store (expunged by another session since this FETCH loaded it).
func (c *Conn) expungedNow(uid store.UID) bool {
	found := false
	err := c.srv.cfg.Store.FetchMessages(c.ctx(), c.sel.mbox.ID, []store.UID{uid}, store.FieldFlags, func(*store.Message) error {
		found = true
		return nil
	})
	return err == nil && !found
}

// errUnavailable marks a message whose metadata or bytes could not be
// read; its FETCH response is skipped and the command ends in NO.
var errUnavailable = errors.New("message unavailable")

// errGoneMeanwhile marks a message whose record was read but which
// another session (on any node sharing the store) expunged before its
// bytes were: its bytes went with its last record. The FETCH skips it
// and ends in OK [EXPUNGEISSUED] (RFC 5530, RFC 2180 §4.1), as when the
// record itself is gone; nothing is wrong with the server.
var errGoneMeanwhile = errors.New("message expunged during the fetch")

// goneMeanwhile reports whether err, from reading m's bytes, is that
// race: the blob is missing and no message names it any more.
func (c *Conn) goneMeanwhile(ctx context.Context, m *store.Message, err error) bool {
	if !errors.Is(err, blob.ErrNotFound) || m.BlobID == "" {
		return false
	}
	ref, rerr := c.srv.cfg.Store.BlobReferenced(ctx, m.BlobID)
	return rerr == nil && !ref
}

// itemVal is one prepared FETCH item: everything that can fail is done
// before the first byte of the response is written, so an unreadable
// message never leaves a half-written response on the wire.
type itemVal struct {
	raw    []byte    // pre-rendered (BODYSTRUCTURE, BODY)
	r      io.Reader // section or binary content
	size   int64
	isNil  bool
	number int64  // BINARY.SIZE
	text   string // PREVIEW
}

func (c *Conn) writeFetchResponse(m *store.Message, req *fetchReq, seenChanged bool) error {
	seq := c.sel.seqOf(m.UID)
	if seq == 0 {
		return nil
	}
	if req.short && !seenChanged {
		return c.shortLine(seq, m, req)
	}
	var root *mime.Part
	var br blob.Reader
	defer func() {
		if br != nil {
			br.Close()
		}
	}()
	unavailable := func(err error) error {
		if c.goneMeanwhile(req.blobCtx, m, err) {
			return errGoneMeanwhile
		}
		c.log.Error("fetch: message unavailable", "uid", m.UID, "blob", m.BlobID, "err", err)
		return fmt.Errorf("%w: uid %d: %w", errUnavailable, m.UID, err)
	}
	if cap(req.vals) < len(req.items) {
		req.vals = make([]itemVal, len(req.items))
	}
	vals := req.vals[:len(req.items)]
	clear(vals)
	for i, it := range req.items {
		switch it.kind {
		case fPreview:
			pv, isNil, err := c.preview(req.blobCtx, m, it.lazy)
			if err != nil {
				return unavailable(err)
			}
			vals[i].text, vals[i].isNil = pv, isNil
		case fBody, fBodyStructure:
			bs, err := msgdata.BodyStructure(m.Structure, it.kind == fBodyStructure)
			if err != nil {
				return unavailable(err)
			}
			vals[i].raw = bs
		case fSection, fBinary, fBinarySize:
			if root == nil {
				p, err := mime.Unmarshal(m.Structure)
				if err != nil {
					return unavailable(fmt.Errorf("corrupt structure: %w", err))
				}
				root = p
			}
			needBlob := it.kind == fBinary || it.kind == fBinarySize || (it.kind == fSection && msgdata.NeedsBlob(root, it.section))
			if needBlob && br == nil && m.Inline != nil {
				// read with the record (store.FieldInline): the bytes
				// of the blob named by m.BlobID
				br = inlineReader{bytes.NewReader(m.Inline)}
			}
			if needBlob && br == nil {
				r, err := c.srv.cfg.Blobs.Open(req.blobCtx, m.BlobID)
				if err != nil {
					return unavailable(err)
				}
				br = r
			}
			var ra io.ReaderAt
			if br != nil {
				ra = br
			}
			var err error
			switch it.kind {
			case fSection:
				vals[i].r, vals[i].size, err = msgdata.Section(root, m.Header, ra, it.section)
			case fBinary:
				vals[i].r, vals[i].size, err = msgdata.Binary(root, ra, it.section.Part)
			case fBinarySize:
				vals[i].number, err = msgdata.BinarySize(root, ra, it.section.Part)
			}
			switch {
			case errors.Is(err, msgdata.ErrNoSuchPart):
				vals[i].isNil = true
			case errors.Is(err, msgdata.ErrUnknownCTE):
				return &imap.Error{Type: "NO", Code: imap.CodeUnknownCTE, Text: "Unknown Content-Transfer-Encoding"}
			case errors.Is(err, msgdata.ErrBadEncoding):
				// Dovecot answers NO [PARSE] for undecodable content
				// (and BYE when base64 is cut off; NO is kinder).
				return &imap.Error{Type: "NO", Code: imap.CodeParse, Text: "Invalid data in MIME part: " + err.Error()}
			case err != nil:
				return unavailable(err)
			}
		}
	}
	if req.fields&store.FieldFlags != 0 {
		c.announceKeywords(m.Flags.Keywords)
	}
	c.writeFetchHead(seq, m.UID)
	if seenChanged && !req.has[fFlags] {
		// The \Seen set by this FETCH goes first, as Dovecot sends it.
		c.enc.RawString("FLAGS ")
		c.writeFlagList(m.UID, m.Flags)
		c.enc.SP()
		if c.condstore {
			// RFC 7162 §3.2: a FETCH that reports changed flags carries
			// MODSEQ (and UID, so the client can file it) once CONDSTORE
			// is on.
			if !req.has[fUID] && !c.uidonly {
				c.enc.RawString("UID ").Number(uint32(m.UID)).SP()
			}
			if !req.has[fModSeq] {
				c.enc.RawString("MODSEQ (").Number64(int64(m.ModSeq)).RawString(") ")
			}
		}
	}
	for i, it := range req.items {
		if i > 0 {
			c.enc.SP()
		}
		v := &vals[i]
		switch it.kind {
		case fUID:
			c.enc.RawString("UID ").Number(uint32(m.UID))
		case fFlags:
			c.enc.RawString("FLAGS ")
			c.writeFlagList(m.UID, m.Flags)
		case fInternalDate:
			c.enc.RawString("INTERNALDATE ").DateTime(m.InternalDate)
		case fSize:
			c.enc.RawString("RFC822.SIZE ").Number64(m.Size)
		case fSaveDate:
			c.enc.RawString("SAVEDATE ")
			if m.SaveDate.IsZero() {
				c.enc.RawString("NIL")
			} else {
				c.enc.DateTime(m.SaveDate)
			}
		case fModSeq:
			c.enc.RawString("MODSEQ (").Number64(int64(m.ModSeq)).RawString(")")
		case fEmailID:
			c.enc.RawString("EMAILID (").RawString(store.EmailObjectID(m.EmailID)).RawString(")")
		case fThreadID:
			// RFC 8474 §5.2 (store/thread.go); NIL for a message
			// that has none (stored before threads were computed and
			// not yet backfilled).
			if id := store.ThreadObjectID(m.ThreadID); id != "" {
				c.enc.RawString("THREADID (").RawString(id).RawString(")")
			} else {
				c.enc.RawString("THREADID NIL")
			}
		case fPreview:
			c.enc.RawString("PREVIEW ").NString(v.text, v.isNil)
		case fEnvelope:
			c.enc.RawString("ENVELOPE ").Raw(m.Envelope)
		case fBody:
			c.enc.RawString("BODY ").Raw(v.raw)
		case fBodyStructure:
			c.enc.RawString("BODYSTRUCTURE ").Raw(v.raw)
		case fSection, fBinary:
			c.enc.RawString(it.name)
			if v.isNil {
				c.enc.RawString(" NIL")
				continue
			}
			c.writePartial(v.r, v.size, it.section, it.kind == fBinary && msgdata.BinaryLiteral8(root, it.section.Part))
		case fBinarySize:
			c.enc.RawString(it.name).SP()
			if v.isNil {
				c.enc.RawString("NIL")
				continue
			}
			c.enc.Number64(v.number)
		}
	}
	c.enc.RawString(")").CRLF()
	if err := c.enc.Err(); err != nil {
		return &ioError{err}
	}
	return nil
}

// shortLine writes the FETCH response of a message whose items are only
// UID, FLAGS, MODSEQ and RFC822.SIZE, built in one buffer and written in
// one call: the same bytes writeFetchResponse's general path writes
// (TestShortFetchLine), at a fraction of the cost per line, which on
// FETCH 1:* (FLAGS) of 100,000 messages is most of the answer.
func (c *Conn) shortLine(seq uint32, m *store.Message, req *fetchReq) error {
	if req.fields&store.FieldFlags != 0 {
		c.announceKeywords(m.Flags.Keywords)
	}
	b := c.appendFetchHead(req.line[:0], seq, m.UID)
	for i, it := range req.items {
		if i > 0 {
			b = append(b, ' ')
		}
		switch it.kind {
		case fUID:
			b = append(b, "UID "...)
			b = strconv.AppendUint(b, uint64(m.UID), 10)
		case fFlags:
			b = c.appendFlagList(append(b, "FLAGS "...), m.UID, m.Flags)
		case fModSeq:
			b = append(b, "MODSEQ ("...)
			b = strconv.AppendInt(b, int64(m.ModSeq), 10)
			b = append(b, ')')
		case fSize:
			b = append(b, "RFC822.SIZE "...)
			b = strconv.AppendInt(b, m.Size, 10)
		}
	}
	b = append(b, ")\r\n"...)
	req.line = b
	c.enc.Raw(b)
	if err := c.enc.Err(); err != nil {
		return &ioError{err}
	}
	return nil
}

// writePartial writes " <data>" for a section, applying <offset.count>
// and echoing "<offset>" (RFC 9051 §6.4.5). Sections always go out as
// literals, "{0}" included, as Dovecot sends them; BINARY content goes
// out as literal8 (RFC 3516 §4.2) when lit8 is set.
func (c *Conn) writePartial(r io.Reader, size int64, sec imap.Section, lit8 bool) {
	if sec.Partial {
		c.enc.RawString("<").Number64(sec.Offset).RawString(">")
		if sec.Offset >= size {
			size = 0
			r = eofReader{}
		} else {
			if _, err := io.CopyN(io.Discard, r, sec.Offset); err != nil {
				size = 0
				r = eofReader{}
			} else {
				size -= sec.Offset
			}
			if size > sec.Count {
				size = sec.Count
			}
			r = io.LimitReader(r, size)
		}
	}
	c.enc.SP()
	if lit8 && size > 0 {
		c.enc.Literal8(size, r)
		return
	}
	c.enc.Literal(size, r)
}

type eofReader struct{}

func (eofReader) Read([]byte) (int, error) { return 0, io.EOF }

// inlineFetchMax is the most messages a FETCH reads their bytes for
// together with their records (store.FieldInline): one query instead
// of a record query and then one blob read per message, which on
// PostgreSQL is a round trip each. Bounded because a chunk of records
// is held in memory with its bytes (up to [storage] inline_max_bytes
// each): beyond it the bytes are opened one message at a time as
// before.
const inlineFetchMax = 16

// needsBody reports whether the FETCH reads message bytes beyond the
// top-level header the store keeps with the record: BODY[], TEXT, a
// part, BINARY.
func (req *fetchReq) needsBody() bool {
	for _, it := range req.items {
		switch it.kind {
		case fBinary, fBinarySize:
			return true
		case fSection:
			sec := it.section
			if len(sec.Part) > 0 {
				return true
			}
			switch sec.Specifier {
			case imap.SectionHeader, imap.SectionHeaderFields, imap.SectionHeaderFieldsNot:
			default:
				return true
			}
		}
	}
	return false
}

// inlineReader is a blob.Reader over bytes read with the record.
type inlineReader struct{ *bytes.Reader }

func (inlineReader) Close() error { return nil }
