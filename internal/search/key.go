package search

import (
	"io"
	"strings"
	"time"

	"barid/internal/imap"
	"barid/internal/imap/msgdata"
	"barid/internal/mail/mime"
	"barid/internal/search/fuzzy"
	"barid/internal/store"
)

// Op is a search key kind.
type Op uint8

const (
	OpAll Op = iota
	OpAnd
	OpOr
	OpNot
	OpSeqSet  // sequence set
	OpUIDSet  // UID set
	OpUIDList // explicit UIDs (SEARCHRES "$")
	OpFlag    // system flag or keyword set
	OpNoFlag  // system flag or keyword not set
	OpRecent
	OpNew // \Recent and not \Seen
	OpOld // not \Recent
	OpLarger
	OpSmaller
	OpBefore // internal date
	OpOn
	OpSince
	OpSentBefore
	OpSentOn
	OpSentSince
	OpSavedBefore // RFC 8514
	OpSavedOn
	OpSavedSince
	OpOlder   // RFC 5032 WITHIN: seconds
	OpYounger // RFC 5032
	OpFrom
	OpTo
	OpCc
	OpBcc
	OpSubject
	OpHeader
	OpBody
	OpText
	OpModSeq   // RFC 7162 §3.1.5
	OpEmailID  // RFC 8474 §6: Num is the EMAILID's value, 0 for one no message has
	OpThreadID // RFC 8474 §6: Num is the THREADID's value, 0 for one no message has
	OpFuzzy    // RFC 6203 §3: Sub[0] matched inexactly (package fuzzy)
)

// Key is one node of a search tree.
type Key struct {
	Op     Op
	Sub    []*Key // And, Or (two), Not (one)
	Seq    imap.SeqSet
	UID    imap.UIDSet
	UIDs   []store.UID
	Flag   string
	Num    int64
	Date   time.Time // a calendar date (year, month, day in UTC fields)
	Field  string    // HEADER field name
	Value  string    // needle, lower-cased UTF-8
	ModSeq store.ModSeq
	// Fuzzy is the prepared needle of an OpFuzzy node whose key is a
	// string key (FROM ... TEXT, HEADER); nil for other keys, which
	// FUZZY matches exactly (RFC 6203 §5 lets the server decide).
	Fuzzy *fuzzy.Query
}

// NewFuzzy wraps k in FUZZY (RFC 6203 §3), preparing its needle with m.
func NewFuzzy(k *Key, m *fuzzy.Matcher) *Key {
	f := &Key{Op: OpFuzzy, Sub: []*Key{k}}
	switch k.Op {
	case OpFrom, OpTo, OpCc, OpBcc, OpSubject, OpHeader, OpBody, OpText:
		if q := m.Query(k.Value); !q.Empty() {
			f.Fuzzy = q
		}
	}
	return f
}

// Fields returns what the key tree needs from the store.
func (k *Key) Fields() store.Fields {
	var f store.Fields
	switch k.Op {
	case OpFlag, OpNoFlag, OpNew, OpModSeq:
		f |= store.FieldFlags
	case OpLarger, OpSmaller, OpBefore, OpOn, OpSince, OpSavedBefore, OpSavedOn, OpSavedSince, OpOlder, OpYounger, OpEmailID, OpThreadID:
		f |= store.FieldBasics
	case OpSentBefore, OpSentOn, OpSentSince, OpFrom, OpTo, OpCc, OpBcc, OpSubject:
		f |= store.FieldSearch
	case OpHeader:
		f |= store.FieldHeader
	case OpBody, OpText:
		f |= store.FieldHeader | store.FieldStructure | store.FieldBasics
	}
	for _, s := range k.Sub {
		f |= s.Fields()
	}
	return f
}

// Msg is the per-message context Match needs.
type Msg struct {
	*store.Message
	Seq    uint32
	Recent bool
	// MaxSeq and MaxUID are what "*" stands for.
	MaxSeq uint32
	MaxUID store.UID
	Now    time.Time
	// Blob opens the message bytes for BODY/TEXT; nil if unavailable.
	Blob func() (io.ReaderAt, error)
	// Text, if not nil, answers a BODY or TEXT key from the full-text
	// index (known true) before the bytes are read; known false leaves
	// it to the scan.
	Text func(k *Key) (match, known bool)
	root *mime.Part
}

// Match evaluates k against m.
func (k *Key) Match(m *Msg) (bool, error) {
	switch k.Op {
	case OpAll:
		return true, nil
	case OpAnd:
		for _, s := range k.Sub {
			ok, err := s.Match(m)
			if err != nil || !ok {
				return false, err
			}
		}
		return true, nil
	case OpOr:
		for _, s := range k.Sub {
			ok, err := s.Match(m)
			if err != nil {
				return false, err
			}
			if ok {
				return true, nil
			}
		}
		return false, nil
	case OpNot:
		ok, err := k.Sub[0].Match(m)
		return !ok, err
	case OpEmailID:
		return k.Num != 0 && m.EmailID == k.Num, nil
	case OpThreadID:
		return k.Num != 0 && m.ThreadID == k.Num, nil
	case OpFuzzy:
		ok, _, err := k.fuzzyScore(m)
		return ok, err
	case OpSeqSet:
		return seqContains(k.Seq, m.Seq, m.MaxSeq), nil
	case OpUIDSet:
		return uidContains(k.UID, m.UID, m.MaxUID), nil
	case OpUIDList:
		for _, u := range k.UIDs {
			if u == m.UID {
				return true, nil
			}
		}
		return false, nil
	case OpFlag:
		if strings.EqualFold(k.Flag, `\Recent`) {
			return m.Recent, nil
		}
		return m.Flags.Has(k.Flag), nil
	case OpNoFlag:
		if strings.EqualFold(k.Flag, `\Recent`) {
			return !m.Recent, nil
		}
		return !m.Flags.Has(k.Flag), nil
	case OpRecent:
		return m.Recent, nil
	case OpNew:
		return m.Recent && m.Flags.System&store.FlagSeen == 0, nil
	case OpOld:
		return !m.Recent, nil
	case OpLarger:
		return m.Size > k.Num, nil
	case OpSmaller:
		return m.Size < k.Num, nil
	case OpBefore:
		return dayOf(m.InternalDate).Before(k.Date), nil
	case OpOn:
		return dayOf(m.InternalDate).Equal(k.Date), nil
	case OpSince:
		return !dayOf(m.InternalDate).Before(k.Date), nil
	case OpSavedBefore, OpSavedOn, OpSavedSince:
		d := m.SaveDate
		if d.IsZero() {
			d = m.InternalDate
		}
		switch k.Op {
		case OpSavedBefore:
			return dayOf(d).Before(k.Date), nil
		case OpSavedOn:
			return dayOf(d).Equal(k.Date), nil
		}
		return !dayOf(d).Before(k.Date), nil
	case OpOlder:
		return m.Now.Sub(m.InternalDate) >= time.Duration(k.Num)*time.Second, nil
	case OpYounger:
		return m.Now.Sub(m.InternalDate) <= time.Duration(k.Num)*time.Second, nil
	case OpSentBefore, OpSentOn, OpSentSince:
		// A message without a usable Date: header counts as sent on
		// 1970-01-01, as Dovecot does (checked by internal/oracle).
		d := m.SentDate
		if d.IsZero() {
			d = time.Unix(0, 0).UTC()
		}
		switch k.Op {
		case OpSentBefore:
			return dayOf(d).Before(k.Date), nil
		case OpSentOn:
			return dayOf(d).Equal(k.Date), nil
		}
		return !dayOf(d).Before(k.Date), nil
	case OpFrom:
		return strings.Contains(m.From, k.Value), nil
	case OpTo:
		return strings.Contains(m.To, k.Value), nil
	case OpCc:
		return strings.Contains(m.Cc, k.Value), nil
	case OpBcc:
		return strings.Contains(m.Bcc, k.Value), nil
	case OpSubject:
		return strings.Contains(m.Subject, k.Value), nil
	case OpHeader:
		return msgdata.MatchHeaderField(m.Header, k.Field, k.Value), nil
	case OpBody, OpText:
		if m.Text != nil {
			if ok, known := m.Text(k); known {
				return ok, nil
			}
		}
		root, err := m.structure()
		if err != nil {
			return false, err
		}
		if m.Blob == nil {
			return false, nil
		}
		ra, err := m.Blob()
		if err != nil {
			return false, err
		}
		if k.Op == OpBody {
			return msgdata.MatchBody(root, ra, k.Value)
		}
		return msgdata.MatchText(root, m.Header, ra, k.Value)
	case OpModSeq:
		return m.ModSeq >= k.ModSeq, nil
	}
	return false, nil
}

// Score evaluates k against m like Match and also returns the message's
// relevancy (RFC 6203 §4): 1 to 100 from the FUZZY keys that decided the
// match, -1 when none did (no FUZZY key, or only under NOT).
func (k *Key) Score(m *Msg) (bool, int, error) {
	switch k.Op {
	case OpFuzzy:
		return k.fuzzyScore(m)
	case OpAnd:
		sum, n := 0, 0
		for _, s := range k.Sub {
			ok, sc, err := s.Score(m)
			if err != nil || !ok {
				return false, -1, err
			}
			if sc >= 0 {
				sum += sc
				n++
			}
		}
		if n == 0 {
			return true, -1, nil
		}
		return true, (sum + n/2) / n, nil
	case OpOr:
		matched, best := false, -1
		for _, s := range k.Sub {
			ok, sc, err := s.Score(m)
			if err != nil {
				return false, -1, err
			}
			if ok {
				matched = true
				best = max(best, sc)
			}
		}
		return matched, best, nil
	}
	ok, err := k.Match(m)
	return ok, -1, err
}

// fuzzyScore matches an OpFuzzy node: its string key word by word
// (package fuzzy), any other key exactly, with the score 100.
func (k *Key) fuzzyScore(m *Msg) (bool, int, error) {
	sub := k.Sub[0]
	if k.Fuzzy == nil {
		ok, sc, err := sub.Score(m)
		if ok && sc < 0 {
			sc = 100
		}
		return ok, sc, err
	}
	scan := k.Fuzzy.NewScan()
	switch sub.Op {
	case OpFrom:
		scan.Add(m.From)
	case OpTo:
		scan.Add(m.To)
	case OpCc:
		scan.Add(m.Cc)
	case OpBcc:
		scan.Add(m.Bcc)
	case OpSubject:
		scan.Add(m.Subject)
	case OpHeader:
		msgdata.HeaderFieldValues(m.Header, sub.Field, scan.Add)
	case OpBody, OpText:
		root, err := m.structure()
		if err != nil || m.Blob == nil {
			return false, 0, err
		}
		ra, err := m.Blob()
		if err != nil {
			return false, 0, err
		}
		add := func(seg []byte) { scan.Add(string(seg)) }
		if sub.Op == OpBody {
			err = msgdata.BodySegments(root, ra, add)
		} else {
			err = msgdata.TextSegments(root, m.Header, ra, add)
		}
		if err != nil {
			return false, 0, err
		}
	}
	return scan.Matched(), scan.Score(), nil
}

func (m *Msg) structure() (*mime.Part, error) {
	if m.root == nil {
		p, err := mime.Unmarshal(m.Structure)
		if err != nil {
			return nil, err
		}
		m.root = p
	}
	return m.root, nil
}

// dayOf returns the calendar date of t in t's own zone, as a UTC
// midnight, "disregarding time and timezone" (RFC 9051 §6.4.4).
func dayOf(t time.Time) time.Time {
	y, mo, d := t.Date()
	return time.Date(y, mo, d, 0, 0, 0, 0, time.UTC)
}

func seqContains(s imap.SeqSet, n, star uint32) bool {
	if n == 0 {
		return false
	}
	return s.Contains(n, star)
}

func uidContains(s imap.UIDSet, u store.UID, star store.UID) bool {
	return s.Contains(uint32(u), uint32(star))
}

// HasModSeq reports whether the tree uses MODSEQ (the response then
// carries the highest modseq of the matches, RFC 7162 §3.1.5).
func (k *Key) HasModSeq() bool {
	if k.Op == OpModSeq {
		return true
	}
	for _, s := range k.Sub {
		if s.HasModSeq() {
			return true
		}
	}
	return false
}

// Uses reports whether the tree has a node of kind op: ESEARCH refuses
// sequence sets and "$" outside the selected mailbox (RFC 7377 §2).
func (k *Key) Uses(op Op) bool {
	if k.Op == op {
		return true
	}
	for _, s := range k.Sub {
		if s.Uses(op) {
			return true
		}
	}
	return false
}
