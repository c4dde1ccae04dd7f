package header

import (
	"strings"
	"time"
)

// ParseDate parses an RFC 5322 §3.3 date-time, with the obsolete forms of
// §4.3: comments and folding white space anywhere, a missing day of week
// or seconds, two- and three-digit years, obsolete zone names (UT, GMT,
// EST/EDT, CST/CDT, MST/MDT, PST/PDT and the military letters), and
// trailing junk. What the grammar does not describe is refused, as
// Dovecot 2.3 refuses it: day or month names spelt out ("Thursday",
// "February"), the month before the day, "15-Feb-2007", one-digit time
// fields, out-of-range values. A missing or unknown zone is +0000, a
// missing time 00:00:00. ok is false if no date could be read.
//
// Years (RFC 5322 §4.3): 00-49 are 2000-2049, 50-99 and three-digit
// years add 1900. Dovecot 2.3 takes 50-69 as 2050-2069 and refuses
// three-digit years; the RFC is explicit here, so barid follows it.
// Military zones: RFC 5322 §4.3 says they SHOULD be taken as -0000
// because RFC 822 defined their signs backwards; where it leaves that
// room barid does what Dovecot does and keeps RFC 822's values (A = +1
// ... M = +12, N = -1 ... Y = -12, Z = 0), which only moves the instant
// (SORT DATE), never the day SENTON and friends compare.
func ParseDate(s string) (time.Time, bool) {
	f := strings.FieldsFunc(stripComments(s), func(r rune) bool {
		return r == ' ' || r == '\t' || r == ',' || r == '\r' || r == '\n'
	})
	if len(f) == 0 {
		return time.Time{}, false
	}
	if isAlpha(f[0]) {
		// day-of-week: three letters
		if _, ok := weekdays[strings.ToLower(f[0])]; !ok {
			return time.Time{}, false
		}
		f = f[1:]
	}
	if len(f) < 3 {
		return time.Time{}, false
	}
	day, ok := digits(f[0], 1, 2)
	if !ok || day < 1 || day > 31 {
		return time.Time{}, false
	}
	mon, ok := months[strings.ToLower(f[1])]
	if !ok {
		return time.Time{}, false
	}
	year, ok := digits(f[2], 2, 9)
	if !ok {
		return time.Time{}, false
	}
	switch n := len(f[2]); {
	case n == 2 && year < 50:
		year += 2000
	case n <= 3:
		year += 1900
	}
	hh, mm, ss := 0, 0, 0
	rest := f[3:]
	if len(rest) > 0 && (strings.ContainsAny(rest[0], ":.")) {
		parts := strings.FieldsFunc(rest[0], func(r rune) bool { return r == ':' || r == '.' })
		if len(parts) < 2 || len(parts) > 3 {
			return time.Time{}, false
		}
		var ok1, ok2, ok3 bool
		hh, ok1 = digits(parts[0], 2, 2)
		mm, ok2 = digits(parts[1], 2, 2)
		ok3 = true
		if len(parts) == 3 {
			ss, ok3 = digits(parts[2], 2, 2)
		}
		if !ok1 || !ok2 || !ok3 || hh > 23 || mm > 59 || ss > 60 {
			return time.Time{}, false
		}
		rest = rest[1:]
	}
	off := 0
	if len(rest) > 0 {
		off = zoneOffset(rest[0])
	}
	if day > daysIn(mon, year) {
		return time.Time{}, false
	}
	if ss == 60 {
		ss = 59 // a leap second is the last second of its minute
	}
	return time.Date(year, mon, day, hh, mm, ss, 0, time.FixedZone("", off)), true
}

// zoneOffset reads a zone (RFC 5322 §3.3 zone, §4.3 obs-zone); an unknown
// one is +0000.
func zoneOffset(z string) int {
	if (z[0] == '+' || z[0] == '-') && len(z) == 5 {
		if n, ok := digits(z[1:], 4, 4); ok {
			off := (n/100)*3600 + (n%100)*60
			if z[0] == '-' {
				off = -off
			}
			return off
		}
		return 0
	}
	if h, ok := zones[strings.ToLower(z)]; ok {
		return h * 3600
	}
	if len(z) == 1 {
		switch c := z[0] | 0x20; {
		case c >= 'a' && c <= 'i':
			return int(c-'a'+1) * 3600
		case c >= 'k' && c <= 'm':
			return int(c-'k'+10) * 3600
		case c >= 'n' && c <= 'y':
			return -int(c-'n'+1) * 3600
		}
	}
	return 0
}

// digits parses s as a decimal number of min to max digits.
func digits(s string, min, max int) (int, bool) {
	if len(s) < min || len(s) > max {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		n = n*10 + int(s[i]-'0')
	}
	return n, true
}

func isAlpha(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i] | 0x20; c < 'a' || c > 'z' {
			return false
		}
	}
	return s != ""
}

func daysIn(m time.Month, year int) int {
	return time.Date(year, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

func stripComments(s string) string {
	if !strings.Contains(s, "(") {
		return s
	}
	var b strings.Builder
	depth := 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\' && depth > 0:
			i++ // quoted-pair inside a comment
		case c == '(':
			depth++
		case c == ')' && depth > 0:
			depth--
		case depth == 0:
			b.WriteByte(c)
		}
	}
	return b.String()
}

var months = map[string]time.Month{
	"jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6,
	"jul": 7, "aug": 8, "sep": 9, "oct": 10, "nov": 11, "dec": 12,
}

var weekdays = map[string]bool{"mon": true, "tue": true, "wed": true, "thu": true, "fri": true, "sat": true, "sun": true}

// zones are the obsolete zone names of RFC 5322 §4.3 (military letters
// are handled by zoneOffset).
var zones = map[string]int{
	"ut": 0, "utc": 0, "gmt": 0,
	"est": -5, "edt": -4, "cst": -6, "cdt": -5, "mst": -7, "mdt": -6, "pst": -8, "pdt": -7,
}
