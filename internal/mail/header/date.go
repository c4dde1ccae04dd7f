package header

import (
	"net/mail"
	"strconv"
	"strings"
	"time"
)

// ParseDate parses an RFC 5322 §3.3 date-time, tolerating the common
// broken forms: missing day of week or seconds, obsolete and unknown zone
// names (RFC 5322 §4.3), two-digit years, extra white space and comments,
// and a missing zone (taken as UTC). ok is false if no date could be
// found.
func ParseDate(s string) (time.Time, bool) {
	s = strings.TrimSpace(stripComments(s))
	if s == "" {
		return time.Time{}, false
	}
	if t, err := mail.ParseDate(s); err == nil {
		// net/mail keeps obsolete zone names (RFC 5322 §4.3) at +0000
		if name, off := t.Zone(); off == 0 {
			if h, ok := zones[strings.ToLower(name)]; ok && h != 0 {
				y, mo, d := t.Date()
				hh, mm, ss := t.Clock()
				t = time.Date(y, mo, d, hh, mm, ss, 0, time.FixedZone(name, h*3600))
			}
		}
		return t, true
	}
	return parseDateLoose(s)
}

func stripComments(s string) string {
	if !strings.Contains(s, "(") {
		return s
	}
	var b strings.Builder
	depth := 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
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

var zones = map[string]int{
	"ut": 0, "utc": 0, "gmt": 0, "z": 0,
	"est": -5, "edt": -4, "cst": -6, "cdt": -5, "mst": -7, "mdt": -6, "pst": -8, "pdt": -7,
}

// parseDateLoose scans tokens: [dow,] day month year time [zone].
func parseDateLoose(s string) (time.Time, bool) {
	f := strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == '\t' || r == ',' || r == '\r' || r == '\n' })
	if len(f) > 0 {
		if _, err := strconv.Atoi(f[0]); err != nil {
			if _, ok := months[strings.ToLower(prefix3(f[0]))]; !ok || len(f[0]) > 3 && !isMonthWord(f[0]) {
				f = f[1:] // day of week
			}
		}
	}
	if len(f) < 3 {
		return time.Time{}, false
	}
	day, err1 := strconv.Atoi(f[0])
	mon, ok := months[strings.ToLower(prefix3(f[1]))]
	if err1 != nil || !ok {
		// "Month day year" form
		mon, ok = months[strings.ToLower(prefix3(f[0]))]
		d, err := strconv.Atoi(f[1])
		if !ok || err != nil {
			return time.Time{}, false
		}
		day = d
	}
	year, err := strconv.Atoi(f[2])
	if err != nil {
		return time.Time{}, false
	}
	switch {
	case year < 50 && len(f[2]) <= 2:
		year += 2000
	case year < 1000:
		year += 1900
	}
	hh, mm, ss := 0, 0, 0
	rest := f[3:]
	if len(rest) > 0 && strings.Contains(rest[0], ":") {
		parts := strings.Split(rest[0], ":")
		hh, _ = strconv.Atoi(parts[0])
		if len(parts) > 1 {
			mm, _ = strconv.Atoi(parts[1])
		}
		if len(parts) > 2 {
			ss, _ = strconv.Atoi(parts[2])
		}
		rest = rest[1:]
	}
	off := 0
	if len(rest) > 0 {
		z := rest[0]
		if (z[0] == '+' || z[0] == '-') && len(z) >= 5 {
			if n, err := strconv.Atoi(z[1:5]); err == nil {
				off = (n/100)*3600 + (n%100)*60
				if z[0] == '-' {
					off = -off
				}
			}
		} else if h, ok := zones[strings.ToLower(z)]; ok {
			off = h * 3600
		}
	}
	if day < 1 || day > 31 || hh > 23 || mm > 59 || ss > 60 {
		return time.Time{}, false
	}
	return time.Date(year, mon, day, hh, mm, ss, 0, time.FixedZone("", off)), true
}

func prefix3(s string) string {
	if len(s) > 3 {
		return s[:3]
	}
	return s
}

func isMonthWord(s string) bool {
	_, ok := months[strings.ToLower(prefix3(s))]
	return ok && len(s) <= 9
}
