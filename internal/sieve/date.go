package sieve

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"barid/internal/mail/header"
)

// date and currentdate (RFC 5260 §4-5).

var dateParts = map[string]func(t time.Time) string{
	"year":  func(t time.Time) string { return fmt.Sprintf("%04d", t.Year()) },
	"month": func(t time.Time) string { return fmt.Sprintf("%02d", int(t.Month())) },
	"day":   func(t time.Time) string { return fmt.Sprintf("%02d", t.Day()) },
	"date":  func(t time.Time) string { return t.Format("2006-01-02") },
	// RFC 5260 §4.2: the Modified Julian Day
	"julian": func(t time.Time) string {
		d := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
		mjd := d.Sub(time.Date(1858, 11, 17, 0, 0, 0, 0, time.UTC)).Hours() / 24
		return strconv.Itoa(int(mjd))
	},
	"hour":    func(t time.Time) string { return fmt.Sprintf("%02d", t.Hour()) },
	"minute":  func(t time.Time) string { return fmt.Sprintf("%02d", t.Minute()) },
	"second":  func(t time.Time) string { return fmt.Sprintf("%02d", t.Second()) },
	"time":    func(t time.Time) string { return t.Format("15:04:05") },
	"iso8601": func(t time.Time) string { return t.Format("2006-01-02T15:04:05-07:00") },
	"std11":   func(t time.Time) string { return t.Format("Mon, 02 Jan 2006 15:04:05 -0700") },
	"zone":    func(t time.Time) string { return t.Format("-0700") },
	"weekday": func(t time.Time) string { return strconv.Itoa(int(t.Weekday())) },
}

// parseZone reads a :zone argument, "+hhmm" or "-hhmm" (RFC 5260 §4.1).
func parseZone(z string) (*time.Location, bool) {
	if len(z) != 5 || (z[0] != '+' && z[0] != '-') {
		return nil, false
	}
	h, err1 := strconv.Atoi(z[1:3])
	m, err2 := strconv.Atoi(z[3:5])
	if err1 != nil || err2 != nil || m > 59 {
		return nil, false
	}
	off := h*3600 + m*60
	if z[0] == '-' {
		off = -off
	}
	return time.FixedZone(z, off), true
}

func (i *interp) date(n *node) bool {
	var times []time.Time
	_, orig := n.tags["originalzone"]
	loc := i.now.Location()
	if z, ok := i.tagStr(n, "zone"); ok {
		l, ok := parseZone(z)
		if !ok {
			// an invalid zone gives UTC, as in Pigeonhole (which warns
			// at compile time)
			l = time.UTC
		}
		loc = l
	}
	if n.name == "currentdate" {
		times = []time.Time{i.now.In(loc)}
	} else {
		name := i.str(n.pos[0].strs[0])
		for _, v := range i.headerValues(n, name) {
			if strings.EqualFold(name, "received") {
				// RFC 5260 §4: the date of a Received field follows the
				// last ";"
				if k := strings.LastIndexByte(v, ';'); k >= 0 {
					v = v[k+1:]
				}
			}
			t, ok := header.ParseDate(strings.TrimSpace(v))
			if !ok {
				continue
			}
			if !orig {
				t = t.In(loc)
			}
			times = append(times, t)
		}
	}
	part := strings.ToLower(i.str(n.pos[len(n.pos)-2].strs[0]))
	f := dateParts[part]
	if f == nil {
		i.fail(n, nil, "unknown date part '%s'", part)
	}
	vals := make([]string, 0, len(times))
	for _, t := range times {
		vals = append(vals, f(t))
	}
	return i.match(n, vals, i.strs(n.pos[len(n.pos)-1]))
}
