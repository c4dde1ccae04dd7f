package admin

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// DateHelp defines the relative dates the CLI accepts (printed by
// --help of search and expunge).
const DateHelp = `Dates: after BEFORE, ON, SINCE, SENTBEFORE, SENTON and SENTSINCE the
date may be an IMAP date (30-Jan-2026), an ISO date (2026-01-30), or
relative to today (UTC): "today", "yesterday", or N-UNIT-ago where UNIT
is day(s), week(s), month(s) or year(s), e.g. 30-days-ago, 1-week-ago,
6-months-ago. As in IMAP, BEFORE 30-days-ago matches internal dates
earlier than that day, and SINCE on or after it.`

var relDate = regexp.MustCompile(`^(?i)(\d{1,5})-(day|days|week|weeks|month|months|year|years)-ago$`)

// dateKeys are the SEARCH keys followed by a date (RFC 9051 §6.4.4).
var dateKeys = map[string]bool{"BEFORE": true, "ON": true, "SINCE": true,
	"SENTBEFORE": true, "SENTON": true, "SENTSINCE": true}

// ExpandDates rewrites the relative and ISO dates that follow a date
// key in an IMAP SEARCH query into IMAP dates (date-day "-" date-month
// "-" date-year, RFC 9051 §9), resolved against now in UTC. Quoted
// strings and every other token are left as they are, so "SUBJECT
// 1-day-ago" still searches for that text.
func ExpandDates(query string, now time.Time) (string, error) {
	today := now.UTC().Truncate(24 * time.Hour)
	var b strings.Builder
	prev := ""
	i := 0
	for i < len(query) {
		ch := query[i]
		switch {
		case ch == ' ' || ch == '(' || ch == ')':
			b.WriteByte(ch)
			i++
			if ch != ' ' {
				prev = ""
			}
			continue
		case ch == '"':
			j := i + 1
			for j < len(query) && query[j] != '"' {
				if query[j] == '\\' && j+1 < len(query) {
					j++
				}
				j++
			}
			if j < len(query) {
				j++
			}
			b.WriteString(query[i:j])
			i, prev = j, ""
			continue
		}
		j := i
		for j < len(query) && query[j] != ' ' && query[j] != '(' && query[j] != ')' && query[j] != '"' {
			j++
		}
		tok := query[i:j]
		if dateKeys[prev] {
			d, ok, err := resolveDate(tok, today)
			if err != nil {
				return "", err
			}
			if ok {
				tok = d.Format("2-Jan-2006")
			}
		}
		b.WriteString(tok)
		prev = strings.ToUpper(tok)
		i = j
	}
	return b.String(), nil
}

// resolveDate reads a relative or ISO date; ok is false for anything
// else (an IMAP date, left to the IMAP parser).
func resolveDate(tok string, today time.Time) (time.Time, bool, error) {
	switch strings.ToLower(tok) {
	case "today":
		return today, true, nil
	case "yesterday":
		return today.AddDate(0, 0, -1), true, nil
	}
	if m := relDate.FindStringSubmatch(tok); m != nil {
		n, _ := strconv.Atoi(m[1])
		switch strings.TrimSuffix(strings.ToLower(m[2]), "s") {
		case "day":
			return today.AddDate(0, 0, -n), true, nil
		case "week":
			return today.AddDate(0, 0, -7*n), true, nil
		case "month":
			return today.AddDate(0, -n, 0), true, nil
		default:
			return today.AddDate(-n, 0, 0), true, nil
		}
	}
	if len(tok) == 10 && tok[4] == '-' && tok[7] == '-' {
		d, err := time.Parse("2006-01-02", tok)
		if err != nil {
			return time.Time{}, false, fmt.Errorf("invalid date %q: %v", tok, err)
		}
		return d, true, nil
	}
	if strings.HasSuffix(strings.ToLower(tok), "-ago") {
		return time.Time{}, false, fmt.Errorf("invalid relative date %q: use N-days-ago, N-weeks-ago, N-months-ago or N-years-ago", tok)
	}
	return time.Time{}, false, nil
}
