package imap

import (
	"errors"
	"strconv"
	"time"
)

var monthNames = [12]string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"}

// ErrBadDate is wrapped by the errors of ParseDateTime and ParseDate.
var ErrBadDate = errors.New("invalid date")

type dateError string

func (e dateError) Error() string { return "invalid date " + strconv.Quote(string(e)) }
func (e dateError) Unwrap() error { return ErrBadDate }

// ParseDateTime parses the content of an IMAP date-time, without the
// quotes (RFC 9051 §9):
//
//	date-time = DQUOTE date-day-fixed "-" date-month "-" date-year
//	            SP time SP zone DQUOTE
//
// for example "17-Jul-1996 02:44:25 -0700" or " 7-Jul-1996 02:44:25 +0000".
// The day is space-padded or two digits; the month name is matched
// case-insensitively (ABNF strings are case-insensitive). The result
// carries the given zone as a fixed offset.
//
// QUIRK(various clients): a one-digit day without the leading space is
// accepted too.
func ParseDateTime(s string) (time.Time, error) {
	bad := func() (time.Time, error) { return time.Time{}, dateError(s) }
	p, maxD := s, 2
	if len(p) > 0 && p[0] == ' ' {
		p, maxD = p[1:], 1
	}
	day, mon, year, rest, ok := parseDMY(p, 1, maxD)
	if !ok {
		return bad()
	}
	// rest = " hh:mm:ss +zzzz"
	if len(rest) != 15 || rest[0] != ' ' || rest[3] != ':' || rest[6] != ':' || rest[9] != ' ' {
		return bad()
	}
	hh, ok1 := digits(rest[1:3])
	mm, ok2 := digits(rest[4:6])
	ss, ok3 := digits(rest[7:9])
	sign := rest[10]
	zh, ok4 := digits(rest[11:13])
	zm, ok5 := digits(rest[13:15])
	if !ok1 || !ok2 || !ok3 || !ok4 || !ok5 || (sign != '+' && sign != '-') {
		return bad()
	}
	if hh > 23 || mm > 59 || ss > 60 || zh > 23 || zm > 59 {
		return bad()
	}
	if ss == 60 { // a leap second; time.Time cannot hold it
		ss = 59
	}
	off := zh*3600 + zm*60
	if sign == '-' {
		off = -off
	}
	loc := time.FixedZone("", off)
	if off == 0 {
		loc = time.UTC
	}
	return time.Date(year, mon, day, hh, mm, ss, 0, loc), nil
}

// FormatDateTime formats t as the content of an IMAP date-time without
// the quotes (RFC 9051 §9), with a zero-padded day:
// "02-Jan-2006 15:04:05 -0700".
func FormatDateTime(t time.Time) string {
	return t.Format("02-Jan-2006 15:04:05 -0700")
}

// ParseDate parses a SEARCH date-text (RFC 9051 §9):
//
//	date-text = date-day "-" date-month "-" date-year
//	date-day  = 1*2DIGIT
//
// for example "1-Feb-1994". The caller strips the quotes of the quoted
// form. The result is midnight UTC of that day; RFC 9051 §6.4.4 says the
// time and zone are disregarded when comparing dates.
func ParseDate(s string) (time.Time, error) {
	day, mon, year, rest, ok := parseDMY(s, 1, 2)
	if !ok || rest != "" {
		return time.Time{}, dateError(s)
	}
	return time.Date(year, mon, day, 0, 0, 0, 0, time.UTC), nil
}

// parseDMY parses d-Mon-yyyy with minD..maxD day digits and validates the
// day against the month.
func parseDMY(s string, minD, maxD int) (day int, mon time.Month, year int, rest string, ok bool) {
	n := 0
	for n < len(s) && n < maxD && s[n] >= '0' && s[n] <= '9' {
		n++
	}
	if n < minD {
		return
	}
	day, _ = digits(s[:n])
	s = s[n:]
	if len(s) < 9 || s[0] != '-' || s[4] != '-' {
		return
	}
	m := s[1:4]
	for i, name := range monthNames {
		if equalFoldASCII(m, name) {
			mon = time.Month(i + 1)
			break
		}
	}
	if mon == 0 {
		return
	}
	year, okY := digits(s[5:9])
	if !okY || day < 1 || day > daysIn(mon, year) {
		return
	}
	return day, mon, year, s[9:], true
}

func daysIn(m time.Month, year int) int {
	return time.Date(year, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

func digits(s string) (int, bool) {
	if s == "" {
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

func equalFoldASCII(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}
