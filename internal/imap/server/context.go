package server

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"barid/internal/imap"
	"barid/internal/search"
	"barid/internal/store"
)

// RFC 5267 (CONTEXT=SEARCH, CONTEXT=SORT, ESORT) and RFC 9394 (PARTIAL):
// the RETURN options SEARCH and SORT share, the ESEARCH answer of SORT,
// and the results a client asked to keep up to date (RETURN (UPDATE)).

// partialRange is the argument of RETURN (PARTIAL lo:hi): positions in
// the result, 1-based, both positive (from the start) or both negative
// (from the end, RFC 9394 §3.1). It is kept as the response echoes it:
// lo <= hi for positive ranges, -1:-5 style (lo > hi) for negative ones.
type partialRange struct{ lo, hi int64 }

// parsePartial parses a partial-range (RFC 9394 §4: partial-range-first
// = nz-number ":" nz-number, partial-range-last = "-" nz-number ":" "-"
// nz-number). Reversed bounds are accepted and put in order, as Dovecot
// does ("4:2" is "2:4").
func parsePartial(s string) (partialRange, bool) {
	a, b, ok := strings.Cut(s, ":")
	if !ok {
		return partialRange{}, false
	}
	lo, ok1 := parsePartialNum(a)
	hi, ok2 := parsePartialNum(b)
	if !ok1 || !ok2 || (lo < 0) != (hi < 0) {
		return partialRange{}, false
	}
	if lo > 0 && lo > hi {
		lo, hi = hi, lo
	}
	if lo < 0 && lo < hi {
		lo, hi = hi, lo
	}
	return partialRange{lo, hi}, true
}

// parsePartialNum reads an optionally negative nz-number (up to 2^32-1).
func parsePartialNum(s string) (int64, bool) {
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	if s == "" || s[0] == '0' || len(s) > 10 {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n > 1<<32-1 {
		return 0, false
	}
	if neg {
		n = -n
	}
	return n, true
}

func (p partialRange) String() string { return fmt.Sprintf("%d:%d", p.lo, p.hi) }

// window returns the half-open index range [i, j) of an n-element result
// that the range selects (empty when it lies past the end).
func (p partialRange) window(n int) (i, j int) {
	if p.lo > 0 {
		i, j = int(min(p.lo-1, int64(n))), int(min(p.hi, int64(n)))
		return i, j
	}
	// -1 is the last element: -lo..-hi counted from the end.
	i, j = n-int(min(-p.hi, int64(n))), n-int(min(-p.lo-1, int64(n)))
	return i, j
}

// parseReturnOptions parses the list after RETURN (RFC 4731 §3.1,
// RFC 5267 §4.1, RFC 5182 §2, RFC 9394 §3.1) into ret.
func (c *Conn) parseReturnOptions(ret *searchReturn) error {
	ret.esearch = true
	var bad string
	if !c.dec.ExpectList(func() bool {
		var o string
		if !c.dec.ExpectAtom(&o) {
			return false
		}
		switch strings.ToUpper(o) {
		case "MIN":
			ret.min = true
		case "MAX":
			ret.max = true
		case "ALL":
			ret.all = true
		case "COUNT":
			ret.count = true
		case "SAVE":
			ret.save = true
		case "RELEVANCY":
			ret.relevancy = true // RFC 6203 §4
		case "CONTEXT":
			// RFC 5267 §4.1: a hint that the client may ask for
			// UPDATE or PARTIAL later; nothing to do.
		case "UPDATE":
			if ret.update {
				bad = "RETURN has UPDATE twice"
			}
			ret.update = true
		case "PARTIAL":
			var r string
			if !c.dec.ExpectSP() || !c.dec.ExpectAtom(&r) {
				return false
			}
			p, ok := parsePartial(r)
			switch {
			case ret.partial != nil:
				bad = "RETURN has PARTIAL twice"
			case !ok:
				bad = "Invalid PARTIAL range " + r
			default:
				ret.partial = &p
			}
		default:
			return c.dec.Expect(false, "MIN, MAX, ALL, COUNT, SAVE, CONTEXT, UPDATE, PARTIAL or RELEVANCY")
		}
		return true
	}) {
		return c.dec.Err()
	}
	if bad == "" && ret.partial != nil && ret.all {
		// RFC 9394 §3.1: PARTIAL and ALL are mutually exclusive.
		bad = "PARTIAL conflicts with ALL"
	}
	if bad != "" {
		return &imap.Error{Type: "BAD", Text: bad}
	}
	return nil
}

// defaultReturn: RETURN () means ALL (RFC 4731 §3.1); a list with only
// UPDATE, CONTEXT or PARTIAL asks for nothing else, as in Dovecot.
func (r *searchReturn) defaultReturn() {
	if !r.min && !r.max && !r.count && !r.save && !r.all && !r.update && r.partial == nil {
		r.all = true
	}
}

// orderedSet renders numbers in their given order as a sequence set,
// merging only ascending runs ("3:4,2,1"): the ALL and PARTIAL results of
// a SORT keep the sort order (RFC 5267 §3.1).
func orderedSet(nums []uint32) string {
	var b strings.Builder
	for i := 0; i < len(nums); {
		j := i
		for j+1 < len(nums) && nums[j+1] == nums[j]+1 {
			j++
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.FormatUint(uint64(nums[i]), 10))
		if j > i {
			b.WriteByte(':')
			b.WriteString(strconv.FormatUint(uint64(nums[j]), 10))
		}
		i = j + 1
	}
	return b.String()
}

// writePartialResult writes " PARTIAL (lo:hi set)" for the result nums (in
// result order; sorted tells whether that order is a SORT's), "NIL" when
// the range selects nothing (RFC 9394 §3.1).
func (c *Conn) writePartialResult(p *partialRange, nums []uint32, sorted bool) {
	i, j := p.window(len(nums))
	c.enc.RawString(" PARTIAL (").RawString(p.String()).SP()
	switch {
	case i >= j:
		c.enc.RawString("NIL")
	case sorted:
		c.enc.RawString(orderedSet(nums[i:j]))
	default:
		c.enc.RawString(imap.NewUIDSet(nums[i:j]).String())
	}
	c.enc.RawString(")")
}

// writeESort writes the ESEARCH answer of SORT RETURN (RFC 5267 §3.1):
// MIN and MAX are the first and last message in sort order, ALL keeps
// the sort order.
func (c *Conn) writeESort(tag string, uid bool, ret *searchReturn, nums []uint32, scores []int) {
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
			c.enc.RawString(" ALL ").RawString(orderedSet(nums))
		}
	}
	if ret.partial != nil {
		c.writePartialResult(ret.partial, nums, true)
	}
	if ret.count {
		c.enc.RawString(" COUNT ").Number(uint32(len(nums)))
	}
	if ret.relevancy {
		c.writeRelevancy(ret, scores)
	}
	c.enc.CRLF()
}

// searchUpdate is one result kept up to date (RFC 5267 §4.2).
type searchUpdate struct {
	tag  string
	uid  bool
	key  *search.Key
	sort []sortKey   // nil for SEARCH
	res  []store.UID // SEARCH: ascending; SORT: in sort order
	in   map[store.UID]bool
}

// ctxUpdates is the selected view's set of updating results and the
// messages whose membership must be checked again. The view feeds it
// from the change bus (note), including this session's own changes.
type ctxUpdates struct {
	list  []*searchUpdate
	dirty map[store.UID]struct{}
}

// note records a change that may alter a result.
func (u *ctxUpdates) note(ch *store.Change) {
	switch ch.Kind {
	case store.ChangeAdded, store.ChangeFlags, store.ChangePrivateSeen:
		u.dirty[ch.UID] = struct{}{}
	}
}

// startUpdate registers a SEARCH or SORT result for RETURN (UPDATE). Past
// the search_updates limit the client is told with NOUPDATE (RFC 5267
// §4.2) and the command still succeeds.
func (c *Conn) startUpdate(tag string, uid bool, key *search.Key, sk []sortKey, res []store.UID) {
	v := c.sel
	if v.ctx == nil {
		v.ctx = &ctxUpdates{dirty: make(map[store.UID]struct{})}
	}
	if len(v.ctx.list) >= c.srv.cfg.Limits.SearchUpdates {
		c.enc.RawString(`* NO [NOUPDATE "`).RawString(tag).RawString(`"] `).
			RawString(fmt.Sprintf("search_updates limit reached (max %d)", c.srv.cfg.Limits.SearchUpdates)).CRLF()
		return
	}
	su := &searchUpdate{tag: tag, uid: uid, key: key, sort: sk, res: slices.Clone(res), in: make(map[store.UID]bool, len(res))}
	for _, u := range res {
		su.in[u] = true
	}
	v.ctx.list = append(v.ctx.list, su)
}

// updateTagTaken reports whether tag already names an updating result
// (RFC 5267 §4.2: the tag identifies it, so it must be unique).
func (c *Conn) updateTagTaken(tag string) bool {
	if c.sel == nil || c.sel.ctx == nil {
		return false
	}
	for _, su := range c.sel.ctx.list {
		if su.tag == tag {
			return true
		}
	}
	return false
}

// RFC 5267 §4.2 CANCELUPDATE "tag" *(SP "tag").
func handleCancelUpdate(c *Conn, tag string) error {
	var tags []string
	for c.dec.SP() {
		var t string
		if !c.dec.ExpectString(&t) {
			return c.dec.Err()
		}
		tags = append(tags, t)
	}
	if !c.dec.ExpectCRLF() {
		return c.dec.Err()
	}
	if len(tags) == 0 {
		return &imap.Error{Type: "BAD", Text: "CANCELUPDATE needs at least one tag"}
	}
	u := c.sel.ctx
	for _, t := range tags {
		i := -1
		if u != nil {
			i = slices.IndexFunc(u.list, func(su *searchUpdate) bool { return su.tag == t })
		}
		if i < 0 {
			return &imap.Error{Type: "NO", Text: "Unknown update tag " + t}
		}
		u.list = slices.Delete(u.list, i, i+1)
	}
	if len(u.list) == 0 {
		c.sel.ctx = nil
	}
	return c.ok(tag, "", "Updates cancelled.")
}

// contextExpunged reports, before the EXPUNGE (or VANISHED) responses
// that remove them from the view, the expunged messages that were in an
// updating result (RFC 5267 §4.3: REMOVEFROM uses the numbers the
// client still knows).
func (c *Conn) contextExpunged(gone []store.UID) {
	u := c.sel.ctx
	if u == nil {
		return
	}
	for _, g := range gone {
		delete(u.dirty, g)
	}
	for _, su := range u.list {
		var rm []store.UID
		for _, g := range gone {
			if su.in[g] {
				rm = append(rm, g)
			}
		}
		c.writeContextChange(su, rm, nil)
	}
}

// contextUpdates checks the messages that changed since the last report
// against every updating result and sends ADDTO/REMOVEFROM (RFC 5267
// §4.3). Messages not yet in the view (no EXISTS sent) or whose expunge
// is not reported yet wait for a later call.
func (c *Conn) contextUpdates() {
	v := c.sel
	u := v.ctx
	if u == nil || len(u.dirty) == 0 {
		return
	}
	var uids []store.UID
	for uid := range u.dirty {
		if _, gone := v.expunged[uid]; gone || v.seqOf(uid) == 0 {
			continue
		}
		uids = append(uids, uid)
		delete(u.dirty, uid)
	}
	if len(uids) == 0 {
		return
	}
	slices.Sort(uids)
	for _, su := range u.list {
		hit, err := c.matchUIDs(su.key, uids)
		if err != nil {
			c.log.Warn("search update: messages could not be evaluated", "tag", su.tag, "err", err)
			continue
		}
		var add, rm []store.UID
		for i, uid := range uids {
			switch {
			case hit[i] && !su.in[uid]:
				add = append(add, uid)
			case !hit[i] && su.in[uid]:
				rm = append(rm, uid)
			}
		}
		c.writeContextChange(su, rm, add)
	}
}

// matchUIDs evaluates key on the listed messages of the view (ascending).
func (c *Conn) matchUIDs(key *search.Key, uids []store.UID) ([]bool, error) {
	v := c.sel
	c.freshPrivateSeen()
	msgs, err := c.loadMessages(c.ctx(), key.Fields()|store.FieldFlags)(uids, nil)
	if err != nil {
		return nil, err
	}
	if v.pvt != nil {
		for i := range msgs {
			v.pvt.overlay(&msgs[i]) // the user's own \Seen (privseen.go)
		}
	}
	maxSeq := uint32(len(v.uids))
	maxUID := v.lastUID()
	now := time.Now()
	sms := make([]search.Msg, len(msgs))
	for i := range msgs {
		m := &msgs[i]
		sms[i] = search.Msg{Message: m, Seq: v.seqOf(m.UID), Recent: v.isRecent(m.UID), MaxSeq: maxSeq, MaxUID: maxUID, Now: now}
	}
	got := make([]bool, len(msgs))
	c.matchAll(key, sms, got, nil, 1, false)
	// A message the store no longer has does not match.
	hit := make([]bool, len(uids))
	j := 0
	for i, uid := range uids {
		for j < len(msgs) && msgs[j].UID < uid {
			j++
		}
		hit[i] = j < len(msgs) && msgs[j].UID == uid && got[j]
	}
	return hit, nil
}

// writeContextChange applies removals and additions to su and reports
// them in one ESEARCH response. A SEARCH result is unordered for the
// client, so its positions are 0, as Dovecot sends them; a SORT result
// reports where each run of messages leaves or enters the sorted list
// (RFC 5267 §4.3), removals from the end first so that every position
// is valid when the client applies it.
func (c *Conn) writeContextChange(su *searchUpdate, rm, add []store.UID) {
	if len(rm) == 0 && len(add) == 0 {
		return
	}
	num := func(u store.UID) uint32 {
		if su.uid {
			return uint32(u)
		}
		return c.sel.seqOf(u)
	}
	c.enc.RawString(`* ESEARCH (TAG "`).RawString(su.tag).RawString(`")`)
	if su.uid {
		c.enc.RawString(" UID")
	}
	if su.sort == nil {
		if len(rm) > 0 {
			c.enc.RawString(" REMOVEFROM (0 ").RawString(numSet(rm, num)).RawString(")")
		}
		if len(add) > 0 {
			c.enc.RawString(" ADDTO (0 ").RawString(numSet(add, num)).RawString(")")
		}
		for _, u := range rm {
			delete(su.in, u)
		}
		for _, u := range add {
			su.in[u] = true
		}
		su.res = su.res[:0]
		for u := range su.in {
			su.res = append(su.res, u)
		}
		slices.Sort(su.res)
		c.enc.CRLF()
		return
	}
	// SORT: removals, as runs of adjacent positions, last run first.
	gone := make(map[store.UID]bool, len(rm))
	for _, u := range rm {
		gone[u] = true
		delete(su.in, u)
	}
	for i := len(su.res) - 1; i >= 0; {
		if !gone[su.res[i]] {
			i--
			continue
		}
		j := i
		for j > 0 && gone[su.res[j-1]] {
			j--
		}
		c.writeRun(" REMOVEFROM", j+1, su.res[j:i+1], num)
		i = j - 1
	}
	su.res = slices.DeleteFunc(su.res, func(u store.UID) bool { return gone[u] })
	if len(add) > 0 {
		for _, u := range add {
			su.in[u] = true
		}
		all := make([]store.UID, 0, len(su.in))
		for u := range su.in {
			all = append(all, u)
		}
		slices.Sort(all)
		sorted, err := c.sortUIDs(all, su.sort, nil) // no RELEVANCY with UPDATE
		if err != nil {
			c.log.Warn("sort update: messages could not be sorted", "tag", su.tag, "err", err)
			sorted = append(su.res, add...)
		}
		added := make(map[store.UID]bool, len(add))
		for _, u := range add {
			added[u] = true
		}
		// Runs of added messages, first run first: each position is
		// where its run starts in the final order.
		for i := 0; i < len(sorted); {
			if !added[sorted[i]] {
				i++
				continue
			}
			j := i
			for j+1 < len(sorted) && added[sorted[j+1]] {
				j++
			}
			c.writeRun(" ADDTO", i+1, sorted[i:j+1], num)
			i = j + 1
		}
		su.res = sorted
	}
	c.enc.CRLF()
}

func (c *Conn) writeRun(name string, pos int, uids []store.UID, num func(store.UID) uint32) {
	nums := make([]uint32, len(uids))
	for i, u := range uids {
		nums[i] = num(u)
	}
	c.enc.RawString(name).RawString(" (").Number(uint32(pos)).SP().RawString(orderedSet(nums)).RawString(")")
}

func numSet(uids []store.UID, num func(store.UID) uint32) string {
	nums := make([]uint32, len(uids))
	for i, u := range uids {
		nums[i] = num(u)
	}
	return imap.NewUIDSet(nums).String()
}
