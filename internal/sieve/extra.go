package sieve

import (
	"strconv"
	"strings"
	"time"

	"barid/internal/mail/header"
)

// DuplicateMark is an id the duplicate test (RFC 7352) looked up. The
// caller records it once the message is delivered (RFC 7352 §3: only a
// successful delivery counts): if it was not seen, with the time of
// delivery; if it was seen and Last is set, the time is refreshed.
type DuplicateMark struct {
	ID     string
	Period time.Duration
	Last   bool
}

// DefaultDuplicatePeriod is Pigeonhole's duplicate default_period.
const DefaultDuplicatePeriod = 14 * 24 * time.Hour

// duplicate: RFC 7352 §3.
func (i *interp) duplicate(n *node) bool {
	var id string
	switch {
	case hasTag(n, "uniqueid"):
		id, _ = i.tagStr(n, "uniqueid")
	case hasTag(n, "header"):
		h, _ := i.tagStr(n, "header")
		vs := i.msgHeader(h)
		if len(vs) == 0 {
			return false
		}
		id = strings.TrimSpace(vs[0])
	default:
		vs := i.msgHeader("Message-ID")
		if len(vs) == 0 {
			return false
		}
		id = strings.TrimSpace(vs[0])
	}
	period := DefaultDuplicatePeriod
	if p := n.tags["days"]; p != nil {
		period = time.Duration(p.num) * 24 * time.Hour
	}
	if p := n.tags["seconds"]; p != nil {
		period = time.Duration(p.num) * time.Second
	}
	handle, _ := i.tagStr(n, "handle")
	key := handle + "\x00" + id
	// within one execution the same id is seen once (RFC 7352 §3)
	for _, d := range i.dups {
		if d.ID == key {
			return false
		}
	}
	seen := i.env.Duplicate != nil && i.env.Duplicate(key, period)
	i.dups = append(i.dups, DuplicateMark{ID: key, Period: period, Last: hasTag(n, "last")})
	return seen
}

// spamTest: spamtest and virustest (RFC 5235) read a score from the
// configured header: spamtest gives "0" (not tested) or 1..10 (or 0..100
// with :percent), virustest "0" or 1..5.
func (i *interp) spamTest(n *node) bool {
	hdr, max := i.opts.SpamHeader, i.opts.SpamMax
	if n.name == "virustest" {
		hdr, max = i.opts.VirusHeader, i.opts.VirusMax
	}
	val := "0" // not tested
	if score, ok := firstNumber(i.msgHeader(hdr)); ok {
		val = scaleScore(float32(score/max), n.name == "virustest", hasTag(n, "percent"))
	}
	return i.match(n, []string{val}, i.strs(n.pos[0]))
}

// scaleScore maps score/max to the RFC 5235 scale as Pigeonhole does
// (in float32, truncating): spamtest 1..10, virustest 1..5, :percent
// 0..100; a negative score is "0".
func scaleScore(ratio float32, virus, percent bool) string {
	if ratio < 0 {
		return "0"
	}
	ratio = min(ratio, 1)
	switch {
	case percent:
		return strconv.Itoa(int(ratio*100 + 0.001))
	case virus:
		return strconv.Itoa(int(ratio*4 + 1.001))
	}
	return strconv.Itoa(int(ratio*9 + 1.001))
}

// firstNumber reads the leading number of the first value
// ("5.3", "5.3 / 10", "Yes, score=5.3" are all 5.3).
func firstNumber(vs []string) (float64, bool) {
	if len(vs) == 0 {
		return 0, false
	}
	v := vs[0]
	if k := strings.Index(strings.ToLower(v), "score="); k >= 0 {
		v = v[k+6:]
	}
	v = strings.TrimSpace(v)
	end := 0
	for end < len(v) && (isDigit(v[end]) || v[end] == '.' || v[end] == '-' && end == 0) {
		end++
	}
	f, err := strconv.ParseFloat(v[:end], 64)
	return f, err == nil
}

// envItem: RFC 5183 §4 environment items.
func (i *interp) envItem(name string) (string, bool) {
	switch strings.ToLower(name) {
	case "domain":
		_, d := splitAddr(i.env.Envelope.To)
		return d, true
	case "host":
		_, d := splitAddr(i.env.Envelope.To)
		return d, true
	case "location":
		if i.env.Location == "" {
			return "MDA", true
		}
		return i.env.Location, true
	case "name":
		return "barid", true
	case "phase":
		return "during", true
	case "version":
		return "1", true
	}
	return "", false
}

func (i *interp) environment(n *node) bool {
	v, ok := i.envItem(i.str(n.pos[0].strs[0]))
	if !ok {
		return false
	}
	return i.match(n, []string{v}, i.strs(n.pos[1]))
}

// specialUseExists: RFC 8579 §4. Env.SpecialUseExists answers whether a
// mailbox with the flag exists; with a mailbox name the mailbox must also
// exist (barid can not ask which mailbox carries which flag here).
func (i *interp) specialUseExists(n *node) bool {
	if len(n.pos) == 2 {
		mb := i.str(n.pos[0].strs[0])
		if i.env.MailboxExists == nil || !i.env.MailboxExists(mb) {
			return false
		}
	}
	if i.env.SpecialUseExists == nil {
		return false
	}
	for _, u := range i.strs(n.pos[len(n.pos)-1]) {
		if !i.env.SpecialUseExists(u) {
			return false
		}
	}
	return true
}

var _ = header.DecodeWords
