package oracle

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"
)

// This file holds what the comparison may ignore. There are two kinds:
//
//   - normalizer: rewrites applied to every answer of one server. Each
//     removes one thing the RFCs leave to the server (the text after a
//     status response, the value of UIDVALIDITY, the order of LIST
//     responses) and nothing else.
//   - allowance: a rewrite of one named difference, attached to one
//     command of one scenario (allowances.go). The rest of that
//     command's answer is still compared.
//
// Every rule is listed, with its reason and RFC, in DIFFERENCES.md, and
// proof_test.go shows for each that a difference it is not about still
// makes the comparison fail.

// side says whose answer a rewrite applies to.
type side int

const (
	dovecotSide side = 1 << iota
	baridSide
	bothSides = dovecotSide | baridSide
)

func (s side) String() string {
	switch s {
	case dovecotSide:
		return "dovecot"
	case baridSide:
		return "barid"
	}
	return "both"
}

// normalizer holds the per-session state of the normalisation of one
// server's answers: the UIDVALIDITY values seen so far, numbered in the
// order they first appeared.
type normalizer struct {
	side        side
	uidValidity map[string]string
}

func newNormalizer(s side) *normalizer {
	return &normalizer{side: s, uidValidity: map[string]string{}}
}

var (
	// RFC 9051 §7.1: the text after a status condition and its optional
	// response code is human-readable and up to the server.
	reStatusText = regexp.MustCompile(`^(\S+ (?:OK|NO|BAD|PREAUTH|BYE))(?: (\[[^\]]*\]))?.*$`)
	// RFC 9051 §2.3.1.1: UIDVALIDITY is chosen by the server. It appears
	// in the UIDVALIDITY response code, as the first argument of APPENDUID
	// and COPYUID (RFC 4315 §3), and as a STATUS item.
	reUIDValidity = regexp.MustCompile(`(\[(?:UIDVALIDITY|APPENDUID|COPYUID) |[( ]UIDVALIDITY )(\d+)`)
	// Dovecot's empty FETCH before a failed BINARY fetch.
	reBareUIDFetch = regexp.MustCompile(`^\* \d+ FETCH \(UID \d+\)$`)
	// The tagged answers after which Dovecot sends it.
	reBinaryFailure = regexp.MustCompile(`^\S+ NO \[(?:UNKNOWN-CTE|PARSE)\]`)
	// RFC 8474 §4, §5: barid's MAILBOXID after SELECT/EXAMINE and on
	// CREATE's OK. Dovecot 2.3 has no OBJECTID.
	reMailboxIDLine = regexp.MustCompile(`^\* OK \[MAILBOXID \([^)]*\)\]`)
	reMailboxIDCode = regexp.MustCompile(`^(\S+ OK) \[MAILBOXID \([^)]*\)\]$`)
)

// normalize maps one command's answer lines to what must be equal
// between the servers.
func (n *normalizer) normalize(ls []string) []string {
	// RFC 9051 §7.5.2 (a FETCH response may come unasked): before NO [UNKNOWN-CTE] or NO [PARSE] for
	// a BINARY fetch, Dovecot sends "* n FETCH (UID n)" with no data
	// item the client asked for. Only Dovecot's, only those lines, only
	// before those two answers.
	if k := len(ls); n.side == dovecotSide && k > 0 && reBinaryFailure.MatchString(ls[k-1]) {
		ls = slices.DeleteFunc(slices.Clone(ls), reBareUIDFetch.MatchString)
	}
	if n.side == baridSide {
		ls = slices.DeleteFunc(slices.Clone(ls), reMailboxIDLine.MatchString)
	}
	out := make([]string, 0, len(ls))
	for _, l := range ls {
		if m := reStatusText.FindStringSubmatch(l); m != nil {
			l = m[1]
			if m[2] != "" {
				l += " " + m[2]
			}
			if n.side == baridSide {
				l = reMailboxIDCode.ReplaceAllString(l, "$1")
			}
		}
		l = reUIDValidity.ReplaceAllStringFunc(l, func(s string) string {
			m := reUIDValidity.FindStringSubmatch(s)
			v, ok := n.uidValidity[m[2]]
			if !ok {
				v = fmt.Sprintf("V%d", len(n.uidValidity)+1)
				n.uidValidity[m[2]] = v
			}
			return m[1] + v
		})
		out = append(out, l)
	}
	return out
}

// isListLine reports whether l is a LIST or LSUB response, whose order
// among its neighbours RFC 9051 §6.3.9 leaves to the server.
func isListLine(l string) bool {
	return strings.HasPrefix(l, "* LIST ") || strings.HasPrefix(l, "* LSUB ")
}

// canonicalOrder sorts each run of adjacent LIST/LSUB responses. Every
// other line keeps its place: the order of EXPUNGE responses changes
// their meaning (RFC 9051 §7.5.1), FLAGS must come before a FETCH that
// uses a new keyword, and the tagged response comes last.
func canonicalOrder(ls []string) []string {
	out := slices.Clone(ls)
	for i := 0; i < len(out); {
		if !isListLine(out[i]) {
			i++
			continue
		}
		j := i
		for j < len(out) && isListLine(out[j]) {
			j++
		}
		sort.Strings(out[i:j])
		i = j
	}
	return out
}

// eq compares two normalised answers.
func eq(a, b []string) bool {
	return slices.Equal(canonicalOrder(a), canonicalOrder(b))
}

// rewrite replaces one token in the lines of the sides it is for.
type rewrite struct {
	on side
	re *regexp.Regexp
	to string              // replacement, with $1 expanded, unless fn is set
	fn func(string) string // rewrites one match
}

func (r rewrite) apply(ls []string, s side) (out []string, matched bool) {
	if r.on&s == 0 {
		return ls, false
	}
	out = make([]string, len(ls))
	for i, l := range ls {
		if r.re.MatchString(l) {
			matched = true
			if r.fn != nil {
				l = r.re.ReplaceAllStringFunc(l, r.fn)
			} else {
				l = r.re.ReplaceAllString(l, r.to)
			}
		}
		out[i] = l
	}
	return out, matched
}

// allowance is one named difference in the answer to one command: the
// rewrites that remove exactly that difference, and why it is allowed.
type allowance struct {
	id       string // its heading in DIFFERENCES.md
	why      string // the reason and the RFC that allows it
	rewrites []rewrite
	// dovecotCmd, if set, is what Dovecot is sent instead of the
	// command: the command uses something Dovecot 2.3 does not have.
	dovecotCmd string
}

// apply rewrites both answers. unused lists the rewrites that matched
// nothing on any of their sides: a rule that no longer applies must go.
func (a *allowance) apply(d, b []string) (nd, nb []string, unused []int) {
	nd, nb = d, b
	for i, r := range a.rewrites {
		var md, mb bool
		nd, md = r.apply(nd, dovecotSide)
		nb, mb = r.apply(nb, baridSide)
		if !md && !mb {
			unused = append(unused, i)
		}
	}
	return nd, nb, unused
}

// openBug is a difference that is barid's fault and not yet fixed. The
// comparison stays strict: both answers must be exactly the recorded
// ones, and once barid agrees with Dovecot the test fails until the
// entry is removed, so the list only shrinks.
type openBug struct {
	id      string // its heading in DIFFERENCES.md, under "Open bugs"
	dovecot []string
	barid   []string
}

// untag replaces the tag of the tagged response (the last line) with
// "TAG", so that a recorded answer does not depend on the command's
// place in its scenario.
func untag(ls []string) []string {
	out := slices.Clone(ls)
	if k := len(out); k > 0 && !strings.HasPrefix(out[k-1], "* ") {
		if _, rest, ok := strings.Cut(out[k-1], " "); ok {
			out[k-1] = "TAG " + rest
		}
	}
	return out
}

// internalDateLayout is the date-time of RFC 9051 §9 (formal syntax).
const internalDateLayout = "02-Jan-2006 15:04:05 -0700"

// inUTC rewrites `INTERNALDATE "…"` to the same instant in UTC; a date
// that does not parse is left alone, so the difference stays visible.
func inUTC(s string) string {
	m := reInternalDate.FindStringSubmatch(s)
	d, err := time.Parse(internalDateLayout, strings.TrimLeft(m[1], " "))
	if err != nil {
		return s
	}
	return `INTERNALDATE "` + d.UTC().Format(internalDateLayout) + `"`
}

var reInternalDate = regexp.MustCompile(`INTERNALDATE "([^"]+)"`)

// verdict is how one command's answers compared.
type verdict int

const (
	same        verdict = iota // equal after normalisation
	allowedDiff                // equal after the rewrites of the command's allowance
	recordedBug                // differ exactly as an open bug records
	differs                    // differ otherwise
)

type outcome struct {
	verdict verdict
	// problems are the reasons the test fails; empty for same,
	// allowedDiff and recordedBug unless the allowance or the bug
	// record is stale.
	problems []string
}

// compare judges one command's normalised answers. They must be equal;
// or equal after the rewrites of the command's allowance, which must
// still be needed (the answers differ without it) and each of whose
// rewrites must still match; or be exactly the answers recorded for an
// open bug, which is a failure once barid agrees with Dovecot.
func compare(a *allowance, bug *openBug, gd, gb []string) outcome {
	var o outcome
	if a != nil {
		if a.dovecotCmd == "" && eq(gd, gb) {
			o.problems = append(o.problems, fmt.Sprintf("the answers agree without allowance %s; remove it here and from DIFFERENCES.md", a.id))
		}
		var unused []int
		gd, gb, unused = a.apply(gd, gb)
		for _, k := range unused {
			o.problems = append(o.problems, fmt.Sprintf("rewrite %d (%s) of allowance %s matched nothing; remove it", k, a.rewrites[k].on, a.id))
		}
	}
	switch {
	case bug != nil && eq(gd, gb):
		o.verdict = same
		o.problems = append(o.problems, fmt.Sprintf("open bug %s is fixed: barid now answers as Dovecot does; remove its entry here and in DIFFERENCES.md", bug.id))
	case bug != nil && eq(untag(gd), bug.dovecot) && eq(untag(gb), bug.barid):
		o.verdict = recordedBug
	case bug != nil:
		o.verdict = differs
		o.problems = append(o.problems, fmt.Sprintf("open bug %s: the answers are no longer the recorded ones (if this is progress, update the record and DIFFERENCES.md)\n  dovecot: %#v\n  barid:   %#v", bug.id, untag(gd), untag(gb)))
	case eq(gd, gb) && a != nil:
		o.verdict = allowedDiff
	case eq(gd, gb):
		o.verdict = same
	default:
		o.verdict = differs
		o.problems = append(o.problems, fmt.Sprintf("\n  dovecot: %s\n  barid:   %s", strings.Join(gd, "\n           "), strings.Join(gb, "\n           ")))
	}
	return o
}
