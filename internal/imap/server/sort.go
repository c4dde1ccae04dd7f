package server

import (
	"slices"
	"strings"
	"time"

	"barid/internal/imap"
	"barid/internal/mail/casemap"
	"barid/internal/mail/header"
	"barid/internal/search"
	"barid/internal/store"
)

// sortKey is one SORT criterion (RFC 5256 §3, RFC 5957 §3).
type sortKey struct {
	field   string // ARRIVAL CC DATE FROM SIZE SUBJECT TO DISPLAYFROM DISPLAYTO RELEVANCY
	reverse bool
}

// RFC 5256 SORT; RFC 5267 §3 ESORT (SORT RETURN (...)).
func handleSort(c *Conn, tag string) error { return c.sortCmd(tag, false) }

// RFC 5256 UID SORT.
func handleUIDSort(c *Conn, tag string) error { return c.sortCmd(tag, true) }

// parseSortProgram parses the parenthesized sort criteria. As in Dovecot,
// a criterion given twice counts once (the first time) and REVERSE
// REVERSE cancels out; a list that ends in REVERSE is an error.
func (c *Conn) parseSortProgram() ([]sortKey, error) {
	var keys []sortKey
	rev, last := false, false
	var bad string
	if !c.dec.ExpectList(func() bool {
		var a string
		if !c.dec.ExpectAtom(&a) {
			return false
		}
		a = strings.ToUpper(a)
		last = a == "REVERSE"
		switch a {
		case "REVERSE":
			rev = !rev
			return true
		case "ARRIVAL", "CC", "DATE", "FROM", "SIZE", "SUBJECT", "TO",
			"DISPLAYFROM", "DISPLAYTO", // RFC 5957
			"RELEVANCY": // RFC 6203 §6
			if !slices.ContainsFunc(keys, func(k sortKey) bool { return k.field == a }) {
				keys = append(keys, sortKey{field: a, reverse: rev})
			}
		default:
			if bad == "" {
				bad = a
			}
		}
		rev = false
		return true
	}) {
		return nil, c.dec.Err()
	}
	if bad != "" {
		return nil, &imap.Error{Type: "BAD", Text: "Unknown SORT criterion " + bad}
	}
	if len(keys) == 0 || last {
		return nil, &imap.Error{Type: "BAD", Text: "SORT needs at least one criterion, and REVERSE must precede one"}
	}
	return keys, nil
}

func (c *Conn) sortCmd(tag string, uid bool) error {
	if !c.dec.ExpectSP() {
		return c.dec.Err()
	}
	var ret searchReturn
	if b, ok := c.dec.Peek(); ok && (b == 'R' || b == 'r') {
		var a string
		if !c.dec.ExpectAtom(&a) {
			return c.dec.Err()
		}
		if !strings.EqualFold(a, "RETURN") {
			return &imap.Error{Type: "BAD", Text: "Expected RETURN or a sort program"}
		}
		if !c.dec.ExpectSP() {
			return c.dec.Err()
		}
		if err := c.parseReturnOptions(&ret); err != nil {
			return err
		}
		if !c.dec.ExpectSP() {
			return c.dec.Err()
		}
		ret.defaultReturn()
	}
	keys, err := c.parseSortProgram()
	if err != nil {
		return err
	}
	if !c.dec.ExpectSP() {
		return c.dec.Err()
	}
	var charset string
	if !c.dec.ExpectAString(&charset) || !c.dec.ExpectSP() {
		return c.dec.Err()
	}
	if _, err := lookupCharset(charset); err != nil {
		return &imap.Error{Type: "NO", Code: imap.CodeBadCharset, CodeArg: "(UTF-8 US-ASCII)", Text: "Unsupported charset " + charset}
	}
	var sk []*search.Key
	for {
		k, err := c.parseSearchKey(0, charset)
		if err != nil {
			return err
		}
		sk = append(sk, k)
		if !c.dec.SP() {
			break
		}
	}
	if !c.dec.ExpectCRLF() {
		return c.dec.Err()
	}
	key := sk[0]
	if len(sk) > 1 {
		key = &search.Key{Op: search.OpAnd, Sub: sk}
	}
	byRelevancy := slices.ContainsFunc(keys, func(k sortKey) bool { return k.field == "RELEVANCY" })
	if byRelevancy && !key.Uses(search.OpFuzzy) {
		// RFC 6203 §6: "MUST NOT be used unless a FUZZY search key is
		// also given".
		return &imap.Error{Type: "BAD", Text: "SORT by RELEVANCY needs a FUZZY search key (RFC 6203)"}
	}
	if byRelevancy && ret.update {
		return &imap.Error{Type: "BAD", Text: "SORT by RELEVANCY cannot be combined with UPDATE"}
	}
	if err := checkRelevancy(&ret, key); err != nil {
		return err
	}
	if ret.update && c.updateTagTaken(tag) {
		return &imap.Error{Type: "BAD", Text: "Duplicate search update tag " + tag}
	}
	v := c.sel
	matches, _, scores, err := c.searchScored(v.mbox.ID, v.uids, v.seqOf, v.isRecent, key, nil, byRelevancy || ret.relevancy)
	if err != nil {
		return err
	}
	var scoreOf map[store.UID]int
	if scores != nil {
		scoreOf = make(map[store.UID]int, len(scores))
		for i, u := range matches {
			scoreOf[u] = scores[i]
		}
	}
	sorted, err := c.sortUIDs(matches, keys, scoreOf)
	if err != nil {
		return err
	}
	if ret.save {
		c.searchRes = slices.Clone(matches) // RFC 5182 §2.1: UID order
	}
	if ret.update {
		c.startUpdate(tag, uid, key, keys, sorted)
	}
	var seqs *uidTable
	if !uid {
		seqs = newUIDTable(c.sel.uids)
	}
	num := func(u store.UID) uint32 {
		if uid {
			return uint32(u)
		}
		return seqs.find(u)
	}
	if ret.esearch {
		nums := make([]uint32, len(sorted))
		for i, u := range sorted {
			nums[i] = num(u)
		}
		if !(ret.save && !ret.min && !ret.max && !ret.count && !ret.all && ret.partial == nil && !ret.relevancy) {
			var sortedScores []int
			if ret.relevancy {
				sortedScores = make([]int, len(sorted))
				for i, u := range sorted {
					sortedScores[i] = scoreOf[u]
				}
			}
			c.writeESort(tag, uid, &ret, nums, sortedScores)
		}
		return c.ok(tag, "", "Sort completed.")
	}
	c.enc.RawString("* SORT")
	for _, u := range sorted {
		c.enc.SP().Number(num(u))
	}
	c.enc.CRLF()
	return c.ok(tag, "", "Sort completed.")
}

// sortRec holds the sort fields of one message. The string fields hold
// i;unicode-casemap keys (casemap.Key), compared octet by octet
// (RFC 5256 §2.1, RFC 5051 §2).
type sortRec struct {
	uid     store.UID
	arrival time.Time
	date    time.Time
	size    int64
	subject string
	from    string
	to      string
	cc      string
	dfrom   string
	dto     string
	score   int // RFC 6203 relevancy
}

// firstAddress returns the first address of the first field called name
// in hdr, as Dovecot's SORT reads it: only the first occurrence of the
// field counts, and a group's first element is its start, whose Mailbox
// is the group's name.
func firstAddress(hdr []byte, name string) (header.Address, bool) {
	v, ok := header.Get(hdr, name)
	if !ok {
		return header.Address{}, false
	}
	as := header.ParseAddressList(v)
	if len(as) == 0 {
		return header.Address{}, false
	}
	return as[0], true
}

// sortMailbox is the SORT FROM/TO/CC key: the addr-mailbox of the first
// address, "" if there is none (RFC 5256 §3).
func sortMailbox(hdr []byte, name string) string {
	a, _ := firstAddress(hdr, name)
	return casemap.Key(a.Mailbox)
}

// sortDisplay is the SORT=DISPLAY key (RFC 5957 §3): the decoded display
// name of the first address, or, if it has none (or it decodes to
// nothing), its addr-spec; "" without an address.
func sortDisplay(hdr []byte, name string) string {
	a, ok := firstAddress(hdr, name)
	if !ok {
		return ""
	}
	if a.Name != "" {
		if d := header.DecodeWords(a.Name); d != "" {
			return casemap.Key(d)
		}
	}
	return casemap.Key(a.Addr())
}

// sortSubject is the SORT SUBJECT key: the base subject (RFC 5256 §2.1)
// of the stored Subject, which is already RFC 2047-decoded (step 1). The
// casemap key is taken first, as Dovecot does, so that compatibility
// forms of "Re:" are removed too.
func sortSubject(decoded string) string {
	b, _ := header.SubjectBase(casemap.Key(decoded))
	return b
}

// sortFields returns what FetchMessages must load for the keys.
func sortFields(keys []sortKey) store.Fields {
	f := store.FieldBasics | store.FieldSearch
	for _, k := range keys {
		switch k.field {
		case "FROM", "TO", "CC", "DISPLAYFROM", "DISPLAYTO":
			f |= store.FieldHeader
		}
	}
	return f
}

// scoreOf holds each message's relevancy when keys sort by RELEVANCY.
func (c *Conn) sortUIDs(uids []store.UID, keys []sortKey, scoreOf map[store.UID]int) ([]store.UID, error) {
	// Fast path: one criterion the database can order by.
	if so, ok := c.srv.cfg.Store.(store.Sorter); ok && len(keys) == 1 {
		switch keys[0].field {
		case "ARRIVAL", "DATE", "SIZE":
			all, err := so.SortUIDs(c.ctx(), c.sel.mbox.ID, keys[0].field, keys[0].reverse)
			if err != nil {
				return nil, err
			}
			out := make([]store.UID, 0, len(uids))
			in := newUIDTable(uids)
			for _, u := range all {
				if in.find(u) != 0 {
					out = append(out, u)
				}
			}
			return out, nil
		}
	}
	recs, err := c.sortRecs(uids, keys, scoreOf)
	if err != nil {
		return nil, err
	}
	out := make([]store.UID, len(recs))
	for i, r := range recs {
		out[i] = r.uid
	}
	return out, nil
}

// sortRecs reads the sort fields of uids and returns them in sort order.
func (c *Conn) sortRecs(uids []store.UID, keys []sortKey, scoreOf map[store.UID]int) ([]sortRec, error) {
	recs := make([]sortRec, 0, len(uids))
	need := sortFields(keys)
	const chunk = 4096
	for start := 0; start < len(uids); start += chunk {
		part := uids[start:min(start+chunk, len(uids))]
		err := c.srv.cfg.Store.FetchMessages(c.readCtx(), c.sel.mbox.ID, part, need, func(m *store.Message) error {
			r := sortRec{uid: m.UID, arrival: m.InternalDate, date: m.SentDate, size: m.Size, score: scoreOf[m.UID]}
			if r.date.IsZero() {
				// RFC 5256 §3: no usable Date: sorts by internal date.
				r.date = m.InternalDate
			}
			for _, k := range keys {
				switch k.field {
				case "SUBJECT":
					r.subject = sortSubject(m.Subject)
				case "FROM":
					r.from = sortMailbox(m.Header, "From")
				case "TO":
					r.to = sortMailbox(m.Header, "To")
				case "CC":
					r.cc = sortMailbox(m.Header, "Cc")
				case "DISPLAYFROM":
					r.dfrom = sortDisplay(m.Header, "From")
				case "DISPLAYTO":
					r.dto = sortDisplay(m.Header, "To")
				}
			}
			recs = append(recs, r)
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	slices.SortStableFunc(recs, func(a, b sortRec) int { return compareRecs(&a, &b, keys) })
	return recs, nil
}

// compareRecs orders two messages by the sort program; ties keep
// mailbox (UID) order (RFC 5256 §3, "the tie is broken by sequence
// number"); REVERSE does not reverse that final order.
func compareRecs(a, b *sortRec, keys []sortKey) int {
	for _, k := range keys {
		var d int
		switch k.field {
		case "ARRIVAL":
			d = a.arrival.Compare(b.arrival)
		case "DATE":
			d = a.date.Compare(b.date)
		case "SIZE":
			d = cmpInt(a.size, b.size)
		case "SUBJECT":
			d = strings.Compare(a.subject, b.subject)
		case "FROM":
			d = strings.Compare(a.from, b.from)
		case "TO":
			d = strings.Compare(a.to, b.to)
		case "CC":
			d = strings.Compare(a.cc, b.cc)
		case "DISPLAYFROM":
			d = strings.Compare(a.dfrom, b.dfrom)
		case "DISPLAYTO":
			d = strings.Compare(a.dto, b.dto)
		case "RELEVANCY":
			// RFC 6203 §6: "The message with the highest score is
			// returned first."
			d = cmpInt(int64(b.score), int64(a.score))
		}
		if k.reverse {
			d = -d
		}
		if d != 0 {
			return d
		}
	}
	return cmpInt(int64(a.uid), int64(b.uid))
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// uidTable maps UIDs to their 1-based position in an ascending UID list
// (a sequence number, when the list is the view's). The store's sort
// order is not UID order, so each lookup would be a binary search over
// the mailbox; when the UIDs are close together (the usual case) a dense
// table answers in one step.
type uidTable struct {
	uids []store.UID
	base store.UID
	pos  []uint32 // pos[u-base] = position, 0 = absent; nil: binary search
}

func newUIDTable(uids []store.UID) *uidTable {
	t := &uidTable{uids: uids}
	if n := len(uids); n > 64 {
		span := int(uids[n-1]-uids[0]) + 1
		if span <= 4*n+1024 {
			t.base = uids[0]
			t.pos = make([]uint32, span)
			for i, u := range uids {
				t.pos[u-t.base] = uint32(i + 1)
			}
		}
	}
	return t
}

func (t *uidTable) find(u store.UID) uint32 {
	if t.pos != nil {
		if u < t.base || int(u-t.base) >= len(t.pos) {
			return 0
		}
		return t.pos[u-t.base]
	}
	i, ok := slices.BinarySearch(t.uids, u)
	if !ok {
		return 0
	}
	return uint32(i + 1)
}
