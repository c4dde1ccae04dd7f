package server

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/ianaindex"

	"barid/internal/blob"
	"barid/internal/imap"
	"barid/internal/mail/casemap"
	"barid/internal/mailbox"
	"barid/internal/search"
	"barid/internal/store"
)

// searchReturn holds ESEARCH return options (RFC 4731, RFC 9051 §6.4.4).
type searchReturn struct {
	esearch bool // answer with ESEARCH
	min     bool
	max     bool
	all     bool
	count   bool
	save    bool // RFC 5182
	// RFC 5267 §4.1, RFC 9394 §3.1 (context.go)
	partial *partialRange
	update  bool
	// RFC 6203 §4: the relevancy score of each message returned.
	relevancy bool
}

// RFC 9051 §6.4.4 SEARCH.
func handleSearch(c *Conn, tag string) error { return c.search(tag, false) }

// RFC 9051 §6.4.9 UID SEARCH.
func handleUIDSearch(c *Conn, tag string) error { return c.search(tag, true) }

func (c *Conn) search(tag string, uid bool) error {
	var ret searchReturn
	if !c.dec.ExpectSP() {
		return c.dec.Err()
	}
	key, err := c.parseSearchProgram(&ret)
	if err != nil {
		return err
	}
	if c.rev2 {
		ret.esearch = true
	}
	if ret.esearch {
		ret.defaultReturn()
	}
	if err := checkRelevancy(&ret, key); err != nil {
		return err
	}
	if ret.update && c.updateTagTaken(tag) {
		return &imap.Error{Type: "BAD", Text: "Duplicate search update tag " + tag}
	}
	v := c.sel
	matches, mods, scores, err := c.searchScored(v.mbox.ID, v.uids, v.seqOf, v.isRecent, key, nil, ret.relevancy)
	if err != nil {
		return err
	}
	if ret.update {
		c.startUpdate(tag, uid, key, nil, matches)
	}
	highest := highestModSeq(ret, mods)
	if ret.save {
		c.searchRes = slices.Clone(matches)
	}
	if !ret.esearch {
		c.enc.RawString("* SEARCH")
		for _, u := range matches {
			c.enc.SP()
			if uid {
				c.enc.Number(uint32(u))
			} else {
				c.enc.Number(c.sel.seqOf(u))
			}
		}
		if highest > 0 && key.HasModSeq() {
			c.enc.RawString(" (MODSEQ ").Number64(int64(highest)).RawString(")")
		}
		c.enc.CRLF()
		return c.ok(tag, "", "Search completed.")
	}
	// RFC 4731 ESEARCH; with SAVE alone and no other option, no
	// ESEARCH response is sent (RFC 5182 §2.4).
	if ret.save && !ret.min && !ret.max && !ret.count && !ret.all && ret.partial == nil && !ret.update && !ret.relevancy {
		return c.ok(tag, "", "Search completed.")
	}
	nums := make([]uint32, len(matches))
	for i, u := range matches {
		if uid {
			nums[i] = uint32(u)
		} else {
			nums[i] = c.sel.seqOf(u)
		}
	}
	c.enc.RawString(`* ESEARCH (TAG "`).RawString(tag).RawString(`")`)
	if uid {
		c.enc.RawString(" UID")
	}
	if len(nums) > 0 {
		if ret.min {
			c.enc.RawString(" MIN ").Number(nums[0])
		}
		if ret.max {
			c.enc.RawString(" MAX ").Number(nums[len(nums)-1])
		}
		if ret.all {
			c.enc.RawString(" ALL ").RawString(imap.NewUIDSet(nums).String())
		}
	}
	if ret.partial != nil {
		c.writePartialResult(ret.partial, nums, false)
	}
	if ret.count {
		c.enc.RawString(" COUNT ").Number(uint32(len(nums)))
	}
	if ret.relevancy {
		c.writeRelevancy(&ret, scores)
	}
	if highest > 0 && key.HasModSeq() && len(nums) > 0 {
		c.enc.RawString(" MODSEQ ").Number64(int64(highest))
	}
	c.enc.CRLF()
	return c.ok(tag, "", "Search completed.")
}

// highestModSeq is the MODSEQ a SEARCH with a MODSEQ criterion reports:
// the highest mod-sequence of the messages returned (RFC 7162 §3.1.5).
// With ESEARCH RETURN (MIN), (MAX) or (MIN MAX), with or without SAVE
// (which returns nothing), only those messages are returned, so only
// theirs count; ALL, COUNT and plain SEARCH stand for every match. This
// is what Dovecot 2.3 answers. mods is in the order of the matches
// (ascending UID, so MIN is the first and MAX the last).
func highestModSeq(ret searchReturn, mods []store.ModSeq) store.ModSeq {
	if len(mods) == 0 {
		return 0
	}
	if ret.esearch && !ret.all && !ret.count && (ret.min || ret.max) {
		var h store.ModSeq
		if ret.min {
			h = mods[0]
		}
		if ret.max {
			h = max(h, mods[len(mods)-1])
		}
		return h
	}
	return slices.Max(mods)
}

// parseSearchProgram reads [RETURN (...)] [CHARSET x] search-key
// *(SP search-key) CRLF (RFC 9051 §6.4.4, RFC 4731 §3.1); several keys
// are ANDed.
func (c *Conn) parseSearchProgram(ret *searchReturn) (*search.Key, error) {
	var charset string
	var keys []*search.Key
	for {
		var k *search.Key
		if len(keys) == 0 {
			// RETURN (...) and CHARSET x may only come before the keys.
			if b, ok := c.dec.Peek(); ok && (b == 'R' || b == 'r' || b == 'C' || b == 'c') {
				pk, prefix, err := c.parseSearchPrefix(ret, &charset)
				if err != nil {
					return nil, err
				}
				if prefix {
					if !c.dec.ExpectSP() {
						return nil, c.dec.Err()
					}
					continue
				}
				k = pk
			}
		}
		if k == nil {
			var err error
			if k, err = c.parseSearchKey(0, charset); err != nil {
				return nil, err
			}
		}
		keys = append(keys, k)
		if !c.dec.SP() {
			break
		}
	}
	if !c.dec.ExpectCRLF() {
		return nil, c.dec.Err()
	}
	if len(keys) == 0 {
		return nil, &imap.Error{Type: "BAD", Text: "SEARCH needs at least one search key"}
	}
	if len(keys) == 1 {
		return keys[0], nil
	}
	return &search.Key{Op: search.OpAnd, Sub: keys}, nil
}

// parseSearchPrefix handles "RETURN (...)" and "CHARSET x". If the atom
// is neither, it is parsed as an ordinary key (CC, CHARSET-less...).
func (c *Conn) parseSearchPrefix(ret *searchReturn, charset *string) (*search.Key, bool, error) {
	var a string
	if !c.dec.ExpectAtom(&a) {
		return nil, false, c.dec.Err()
	}
	switch strings.ToUpper(a) {
	case "RETURN":
		if !c.dec.ExpectSP() {
			return nil, false, c.dec.Err()
		}
		if err := c.parseReturnOptions(ret); err != nil {
			return nil, false, err
		}
		return nil, true, nil
	case "CHARSET":
		var cs string
		if !c.dec.ExpectSP() || !c.dec.ExpectAString(&cs) {
			return nil, false, c.dec.Err()
		}
		if _, err := lookupCharset(cs); err != nil {
			return nil, false, &imap.Error{Type: "NO", Code: imap.CodeBadCharset, CodeArg: "(UTF-8 US-ASCII)", Text: "Unsupported charset " + cs}
		}
		*charset = cs
		return nil, true, nil
	}
	k, err := c.searchKeyFromAtom(a, 0, *charset)
	return k, false, err
}

func lookupCharset(name string) (encoding.Encoding, error) {
	switch strings.ToUpper(name) {
	case "UTF-8", "US-ASCII", "UTF8", "ASCII":
		return nil, nil
	}
	e, err := ianaindex.IANA.Encoding(name)
	if err != nil || e == nil {
		return nil, fmt.Errorf("unsupported charset %q", name)
	}
	return e, nil
}

func (c *Conn) searchString(charset string) (string, error) {
	var s string
	if !c.dec.ExpectAString(&s) {
		return "", c.dec.Err()
	}
	if enc, _ := lookupCharset(charset); enc != nil {
		dec, err := enc.NewDecoder().String(s)
		if err == nil {
			s = dec
		}
	}
	// RFC 9051 §6.4.4: strings match under i;unicode-casemap; the
	// stored fields and the message text are folded the same way.
	return casemap.Fold(s), nil
}

const maxSearchDepth = 64

// parseSearchKey parses one search-key (RFC 9051 §9 search-key). Depth
// is bounded, so "NOT NOT NOT ..." cannot exhaust the stack.
func (c *Conn) parseSearchKey(depth int, charset string) (*search.Key, error) {
	if depth > maxSearchDepth {
		return nil, &imap.Error{Type: "BAD", Code: imap.CodeLimit, Text: fmt.Sprintf("nesting_depth limit exceeded in SEARCH (max %d)", maxSearchDepth)}
	}
	b, ok := c.dec.Peek()
	if !ok {
		return nil, c.errOr("expected a search key")
	}
	if b == '(' {
		var subs []*search.Key
		var ierr error
		if !c.dec.ExpectList(func() bool {
			k, err := c.parseSearchKey(depth+1, charset)
			if err != nil {
				ierr = err
				return false
			}
			subs = append(subs, k)
			return true
		}) {
			if ierr != nil {
				return nil, ierr
			}
			return nil, c.dec.Err()
		}
		if len(subs) == 0 {
			return nil, c.errOr("empty search key list")
		}
		return &search.Key{Op: search.OpAnd, Sub: subs}, nil
	}
	if b == '$' {
		c.dec.ExpectSpecial('$')
		return &search.Key{Op: search.OpUIDList, UIDs: slices.Clone(c.searchRes)}, nil
	}
	if b == '*' || (b >= '0' && b <= '9') {
		var set imap.SeqSet
		if !c.dec.ExpectSeqSet(&set) {
			return nil, c.dec.Err()
		}
		if c.uidonly {
			return nil, errUIDRequired("sequence set search key")
		}
		return &search.Key{Op: search.OpSeqSet, Seq: set}, nil
	}
	var a string
	if !c.dec.ExpectAtom(&a) {
		return nil, c.dec.Err()
	}
	return c.searchKeyFromAtom(a, depth, charset)
}

func (c *Conn) searchKeyFromAtom(a string, depth int, charset string) (*search.Key, error) {
	up := strings.ToUpper(a)
	flagKey := func(op search.Op, f string) (*search.Key, error) { return &search.Key{Op: op, Flag: f}, nil }
	strKey := func(op search.Op) (*search.Key, error) {
		if !c.dec.ExpectSP() {
			return nil, c.dec.Err()
		}
		s, err := c.searchString(charset)
		if err != nil {
			return nil, err
		}
		return &search.Key{Op: op, Value: s}, nil
	}
	dateKey := func(op search.Op) (*search.Key, error) {
		var d time.Time
		if !c.dec.ExpectSP() || !c.dec.Date(&d) {
			return nil, c.errOr("invalid date in " + up)
		}
		y, m, dd := d.Date()
		return &search.Key{Op: op, Date: time.Date(y, m, dd, 0, 0, 0, 0, time.UTC)}, nil
	}
	numKey := func(op search.Op) (*search.Key, error) {
		var n int64
		if !c.dec.ExpectSP() || !c.dec.ExpectNumber64(&n) {
			return nil, c.dec.Err()
		}
		return &search.Key{Op: op, Num: n}, nil
	}
	switch up {
	case "ALL":
		return &search.Key{Op: search.OpAll}, nil
	case "ANSWERED":
		return flagKey(search.OpFlag, `\Answered`)
	case "DELETED":
		return flagKey(search.OpFlag, `\Deleted`)
	case "DRAFT":
		return flagKey(search.OpFlag, `\Draft`)
	case "FLAGGED":
		return flagKey(search.OpFlag, `\Flagged`)
	case "SEEN":
		return flagKey(search.OpFlag, `\Seen`)
	case "RECENT":
		return &search.Key{Op: search.OpRecent}, nil
	case "NEW":
		return &search.Key{Op: search.OpNew}, nil
	case "OLD":
		return &search.Key{Op: search.OpOld}, nil
	case "UNANSWERED":
		return flagKey(search.OpNoFlag, `\Answered`)
	case "UNDELETED":
		return flagKey(search.OpNoFlag, `\Deleted`)
	case "UNDRAFT":
		return flagKey(search.OpNoFlag, `\Draft`)
	case "UNFLAGGED":
		return flagKey(search.OpNoFlag, `\Flagged`)
	case "UNSEEN":
		return flagKey(search.OpNoFlag, `\Seen`)
	case "KEYWORD", "UNKEYWORD":
		var f string
		if !c.dec.ExpectSP() || !c.dec.ExpectFlag(&f) {
			return nil, c.dec.Err()
		}
		if up == "KEYWORD" {
			return flagKey(search.OpFlag, f)
		}
		return flagKey(search.OpNoFlag, f)
	case "BCC":
		return strKey(search.OpBcc)
	case "CC":
		return strKey(search.OpCc)
	case "FROM":
		return strKey(search.OpFrom)
	case "TO":
		return strKey(search.OpTo)
	case "SUBJECT":
		return strKey(search.OpSubject)
	case "FUZZY":
		// RFC 6203 §3: search-key =/ "FUZZY" SP search-key.
		if !c.dec.ExpectSP() {
			return nil, c.dec.Err()
		}
		k, err := c.parseSearchKey(depth+1, charset)
		if err != nil {
			return nil, err
		}
		return search.NewFuzzy(k, c.srv.fuzzy), nil
	case "BODY":
		return strKey(search.OpBody)
	case "TEXT":
		return strKey(search.OpText)
	case "HEADER":
		var field string
		if !c.dec.ExpectSP() || !c.dec.ExpectAString(&field) {
			return nil, c.dec.Err()
		}
		k, err := strKey(search.OpHeader)
		if err != nil {
			return nil, err
		}
		k.Field = field
		return k, nil
	case "BEFORE":
		return dateKey(search.OpBefore)
	case "ON":
		return dateKey(search.OpOn)
	case "SINCE":
		return dateKey(search.OpSince)
	case "SENTBEFORE":
		return dateKey(search.OpSentBefore)
	case "SENTON":
		return dateKey(search.OpSentOn)
	case "SENTSINCE":
		return dateKey(search.OpSentSince)
	case "SAVEDBEFORE":
		return dateKey(search.OpSavedBefore)
	case "SAVEDON":
		return dateKey(search.OpSavedOn)
	case "SAVEDSINCE":
		return dateKey(search.OpSavedSince)
	case "EMAILID", "THREADID":
		return c.parseObjectIDKey(up)
	case "SAVEDATESUPPORTED":
		return &search.Key{Op: search.OpAll}, nil
	case "LARGER":
		return numKey(search.OpLarger)
	case "SMALLER":
		return numKey(search.OpSmaller)
	case "OLDER":
		return numKey(search.OpOlder)
	case "YOUNGER":
		return numKey(search.OpYounger)
	case "UID":
		if !c.dec.ExpectSP() {
			return nil, c.dec.Err()
		}
		if b, ok := c.dec.Peek(); ok && b == '$' {
			c.dec.ExpectSpecial('$')
			return &search.Key{Op: search.OpUIDList, UIDs: slices.Clone(c.searchRes)}, nil
		}
		var set imap.UIDSet
		if !c.dec.ExpectUIDSet(&set) {
			return nil, c.dec.Err()
		}
		return &search.Key{Op: search.OpUIDSet, UID: set}, nil
	case "NOT":
		if !c.dec.ExpectSP() {
			return nil, c.dec.Err()
		}
		k, err := c.parseSearchKey(depth+1, charset)
		if err != nil {
			return nil, err
		}
		return &search.Key{Op: search.OpNot, Sub: []*search.Key{k}}, nil
	case "OR":
		if !c.dec.ExpectSP() {
			return nil, c.dec.Err()
		}
		k1, err := c.parseSearchKey(depth+1, charset)
		if err != nil {
			return nil, err
		}
		if !c.dec.ExpectSP() {
			return nil, c.dec.Err()
		}
		k2, err := c.parseSearchKey(depth+1, charset)
		if err != nil {
			return nil, err
		}
		return &search.Key{Op: search.OpOr, Sub: []*search.Key{k1, k2}}, nil
	case "MODSEQ":
		// RFC 7162 §3.1.5: MODSEQ [entry-name entry-type] mod-sequence
		if !c.dec.ExpectSP() {
			return nil, c.dec.Err()
		}
		if b, ok := c.dec.Peek(); ok && b == '"' {
			var name, typ string
			if !c.dec.ExpectString(&name) || !c.dec.ExpectSP() || !c.dec.ExpectAtom(&typ) || !c.dec.ExpectSP() {
				return nil, c.dec.Err()
			}
		}
		var n int64
		if !c.dec.ExpectNumber64(&n) {
			return nil, c.dec.Err()
		}
		c.enableCondstore()
		return &search.Key{Op: search.OpModSeq, ModSeq: store.ModSeq(n)}, nil
	}
	// A sequence set that begins with a digit was handled by the caller;
	// anything else is unknown.
	if set, err := imap.ParseSeqSet(a); err == nil {
		if c.uidonly {
			return nil, errUIDRequired("sequence set search key")
		}
		return &search.Key{Op: search.OpSeqSet, Seq: set}, nil
	}
	return nil, &imap.Error{Type: "BAD", Text: "Unknown search key " + a}
}

// verifyBatch is how many messages a search worker takes at a time;
// with a blob store that reads inline bytes in batches (blob/tiered over
// store/sqlite), their bytes come in one query instead of one per
// message (docs/search.md, "The verify step").
const verifyBatch = 32

// verifyBatchBytes bounds the bytes one worker holds read ahead.
const verifyBatchBytes = 1 << 20

// inlineBatch is the blob store's batch read of inline message bytes
// (blob/tiered.Store.OpenInlineMany: one query for several messages; the
// bytes fn gets are valid only until it returns).
type inlineBatch interface {
	OpenInlineMany(ctx context.Context, ids []string, fn func(id string, data []byte) error) error
}

// matchAll sets hit[i] to whether sms[i] matches key, spreading the
// messages over workers goroutines. search.Key is read-only while
// matching and each search.Msg belongs to one worker; a message whose
// bytes cannot be read is logged and counts as no match. With readAhead
// (the key reads message text) each worker reads the inline bytes of its
// next verifyBatch messages in one store call.
func (c *Conn) matchAll(key *search.Key, sms []search.Msg, hit []bool, score []int, workers int, readAhead bool) {
	ctx := store.WithBulk(c.readCtx())
	batch, _ := c.srv.cfg.Blobs.(inlineBatch)
	if !readAhead {
		batch = nil
	}
	one := func(i int, ahead map[string][]byte) {
		sm := &sms[i]
		if ctx.Err() != nil {
			return // the client hung up (hangup.go): no match, and the load fails too
		}
		var br blob.Reader
		sm.Blob = func() (io.ReaderAt, error) {
			if br == nil {
				if data, ok := ahead[sm.BlobID]; ok {
					return bytes.NewReader(data), nil
				}
				r, err := c.srv.cfg.Blobs.Open(ctx, sm.BlobID)
				if err != nil {
					return nil, err
				}
				br = r
			}
			return br, nil
		}
		var ok bool
		var err error
		if score != nil {
			// RFC 6203 §4: a message matched by no FUZZY key (an OR
			// branch) gets the top score.
			var sc int
			ok, sc, err = key.Score(sm)
			if sc < 0 {
				sc = 100
			}
			score[i] = sc
		} else {
			ok, err = key.Match(sm)
		}
		if br != nil {
			br.Close()
		}
		if err != nil && ctx.Err() == nil {
			c.log.Warn("search: message could not be evaluated", "uid", sm.UID, "err", err)
		}
		hit[i] = ok && err == nil
	}
	// run matches sms[from:to], reading their inline bytes first when
	// the store can in one call. A failed batch read is not an error:
	// each message is then opened on its own.
	var noBatch atomic.Bool
	run := func(from, to int, arena []byte) []byte {
		var ahead map[string][]byte
		if batch != nil && !noBatch.Load() && to-from > 1 && ctx.Err() == nil {
			ids := make([]string, 0, to-from)
			for i := from; i < to; i++ {
				if !slices.Contains(ids, sms[i].BlobID) {
					ids = append(ids, sms[i].BlobID)
				}
			}
			ahead = make(map[string][]byte, len(ids))
			arena = arena[:0]
			err := batch.OpenInlineMany(ctx, ids, func(id string, data []byte) error {
				// id and data are the store's until we return: copy
				// the bytes, and key them by our own copy of the id. A
				// message that does not fit is opened when needed.
				k := slices.Index(ids, id)
				if k >= 0 && len(arena)+len(data) <= cap(arena) {
					n := len(arena)
					arena = append(arena, data...)
					ahead[ids[k]] = arena[n:len(arena):len(arena)]
				}
				return nil
			})
			if errors.Is(err, errors.ErrUnsupported) {
				noBatch.Store(true)
			}
			if err != nil {
				ahead = nil
			}
		}
		for i := from; i < to; i++ {
			one(i, ahead)
		}
		return arena
	}
	step := 1
	if batch != nil {
		step = verifyBatch
	}
	if workers <= 1 || len(sms) < 2 {
		var arena []byte
		if batch != nil {
			arena = make([]byte, 0, verifyBatchBytes)
		}
		for i := 0; i < len(sms); i += step {
			arena = run(i, min(i+step, len(sms)), arena)
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(workers, (len(sms)+step-1)/step) {
		wg.Go(func() {
			var arena []byte
			if batch != nil {
				arena = make([]byte, 0, verifyBatchBytes)
			}
			for i := int(next.Add(int64(step)) - int64(step)); i < len(sms); i = int(next.Add(int64(step)) - int64(step)) {
				arena = run(i, min(i+step, len(sms)), arena)
			}
		})
	}
	wg.Wait()
}

// runSearch evaluates key over the view and returns matching UIDs and
// the highest modseq among them.
func (c *Conn) runSearch(key *search.Key) ([]store.UID, store.ModSeq, error) {
	uids, mods, err := c.searchMatches(key)
	var highest store.ModSeq
	for _, m := range mods {
		highest = max(highest, m)
	}
	return uids, highest, err
}

// searchMatches evaluates key over the view and returns the matching UIDs
// and, when key has a MODSEQ criterion, each one's modseq (nil otherwise).
func (c *Conn) searchMatches(key *search.Key) ([]store.UID, []store.ModSeq, error) {
	// RFC 4314 §4: SEARCH (and SORT, THREAD, ESEARCH) needs "r"; on a
	// shared mailbox the rights are read again, so a revocation since
	// the SELECT applies at once.
	if err := c.needSel(mailbox.RightRead); err != nil {
		return nil, nil, err
	}
	v := c.sel
	return c.searchIn(v.mbox.ID, v.uids, v.seqOf, v.isRecent, key)
}

// searchIn evaluates key over the messages uids (ascending) of a
// mailbox: the selected one as the session sees it (searchMatches), or
// any other (ESEARCH, RFC 7377). seqOf gives a UID's sequence number (0:
// not among uids) and recent whether it is \Recent. It returns the
// matches and, when key has a MODSEQ criterion, each one's modseq.
func (c *Conn) searchIn(mboxID int64, uids []store.UID, seqOf func(store.UID) uint32, recent func(store.UID) bool, key *search.Key) ([]store.UID, []store.ModSeq, error) {
	out, mods, _, err := c.searchScored(mboxID, uids, seqOf, recent, key, nil, false)
	return out, mods, err
}

// searchInPvt is searchIn with the user's private \Seen of a mailbox
// that is not selected (ESEARCH over a shared mailbox, RFC 7377); the
// selected mailbox's is found by searchIn itself.
func (c *Conn) searchInPvt(mboxID int64, uids []store.UID, seqOf func(store.UID) uint32, recent func(store.UID) bool, key *search.Key, other *pvtSeen) ([]store.UID, []store.ModSeq, error) {
	out, mods, _, err := c.searchScored(mboxID, uids, seqOf, recent, key, other, false)
	return out, mods, err
}

// searchScored is searchInPvt that also returns, with wantScores, each
// match's relevancy (RFC 6203 §4, Key.Score) in the order of the matches.
func (c *Conn) searchScored(mboxID int64, uids []store.UID, seqOf func(store.UID) uint32, recent func(store.UID) bool, key *search.Key, other *pvtSeen, wantScores bool) ([]store.UID, []store.ModSeq, []int, error) {
	if len(uids) == 0 {
		return nil, nil, nil, nil
	}
	// Fast path: the store evaluates what depends only on stored fields
	// (flags, keywords, sizes, dates, address and subject text).
	// A private \Seen (privseen.go) is not in the store's flags: the
	// selected mailbox's is searched here, with the user's \Seen laid over.
	pvt := other
	if c.sel != nil && mboxID == c.sel.mbox.ID && c.sel.pvt != nil {
		c.freshPrivateSeen()
		pvt = c.sel.pvt
	}
	if cs, ok := c.srv.cfg.Store.(store.CriteriaSearcher); ok && pvt == nil && !key.HasModSeq() && !wantScores && !c.srv.cfg.NoSearchPushdown {
		if crit, ok := c.toCriteria(key, uids); ok {
			found, err := cs.SearchCriteria(c.readCtx(), mboxID, crit)
			if err != nil {
				return nil, nil, nil, err
			}
			out := found[:0]
			for _, u := range found {
				if seqOf(u) != 0 {
					out = append(out, u)
				}
			}
			return out, nil, nil, nil
		}
	}
	fields := key.Fields() | store.FieldFlags
	now := time.Now()
	var out []store.UID
	var mods []store.ModSeq
	withMods := key.HasModSeq()
	maxSeq := uint32(len(uids))
	maxUID := uids[len(uids)-1]
	// Keys that read message text (BODY, TEXT) are matched by one worker
	// per CPU; the store loads the next chunk meanwhile (pipelined).
	// Records are fetched in chunks so that they are not all held at once.
	workers := 1
	if fields&store.FieldStructure != 0 {
		workers = max(1, runtime.GOMAXPROCS(0))
	}
	const chunk = 4096
	var sms []search.Msg
	var hit []bool
	var score, scores []int
	// BODY and TEXT: the full-text index narrows the messages to scan
	// and decides those it can without reading them (searchfts.go); "*"
	// and sequence numbers still refer to all uids.
	scan := uids
	ix, cand, narrowed, err := c.textIndexFor(mboxID, uids, key)
	if err != nil {
		return nil, nil, nil, err
	}
	if narrowed {
		scan = cand
	}
	var decided []store.UID
	if ix != nil && !withMods && !wantScores {
		rest := make([]store.UID, 0, len(scan))
		cur := textCursor{}
		for _, u := range scan {
			if m, known := ix.eval(key, u, cur); !known {
				rest = append(rest, u)
			} else if m {
				decided = append(decided, u)
			}
		}
		scan = rest
	}
	if ix != nil && ix.decidesText(key, scan) {
		// The records are read for the other keys only (flags, dates…).
		fields = fieldsBesidesText(key) | store.FieldFlags
	}
	_, err = pipelined(scan, chunk, nil, c.loadMessagesIn(store.WithBulk(c.readCtx()), mboxID, fields),
		func(msgs []store.Message) error {
			// The view is the session's: read it here, not in workers.
			sms = slices.Grow(sms[:0], len(msgs))[:len(msgs)]
			hit = slices.Grow(hit[:0], len(msgs))[:len(msgs)]
			if wantScores {
				score = slices.Grow(score[:0], len(msgs))[:len(msgs)]
			}
			for i := range msgs {
				m := &msgs[i]
				if pvt != nil {
					pvt.overlay(m)
				}
				sms[i] = search.Msg{Message: m, Seq: seqOf(m.UID), Recent: recent(m.UID),
					MaxSeq: maxSeq, MaxUID: maxUID, Now: now}
				if ix != nil {
					u := m.UID
					sms[i].Text = func(k *search.Key) (bool, bool) { return ix.answer(k, u) }
				}
			}
			c.matchAll(key, sms, hit, score, workers, fields&store.FieldStructure != 0)
			for i := range msgs {
				if hit[i] {
					out = append(out, msgs[i].UID)
					if wantScores {
						scores = append(scores, score[i])
					}
					if withMods {
						mods = append(mods, msgs[i].ModSeq)
					}
				}
			}
			return nil
		})
	if err != nil {
		return nil, nil, nil, err
	}
	return mergeUIDs(out, decided), mods, scores, nil
}
