package postgres

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"barid/internal/store"
)

// localDay is the SQL for the calendar day (days since 1970-01-01) of a
// stored time in its own zone: seconds<<16 | offset minutes+0x8000, see
// encodeTime. The floor division also holds before 1970.
func localDay(col string) string {
	local := fmt.Sprintf("((%s >> 16) + ((%s & 65535) - 32768) * 60)", col, col)
	return fmt.Sprintf("((%s - (((%s %% 86400) + 86400) %% 86400)) / 86400)", local, local)
}

var critFields = map[string]string{
	"subject": "m.subject", "from": "m.from_addr", "to": "m.to_addr", "cc": "m.cc_addr", "bcc": "m.bcc_addr",
}

// critBuilder turns a store.Criteria into a WHERE expression over
// msgflags f and messages m, with numbered parameters.
type critBuilder struct {
	b      strings.Builder
	args   []any
	uidCol string
}

func (c *critBuilder) arg(v any) string {
	c.args = append(c.args, v)
	return "$" + strconv.Itoa(len(c.args))
}

func (c *critBuilder) build(cr *store.Criteria) error {
	b := &c.b
	switch cr.Op {
	case store.CritAll:
		b.WriteString("true")
	case store.CritAnd, store.CritOr:
		if len(cr.Sub) == 0 {
			b.WriteString(strconv.FormatBool(cr.Op == store.CritAnd))
			return nil
		}
		sep := " AND "
		if cr.Op == store.CritOr {
			sep = " OR "
		}
		b.WriteByte('(')
		for i, s := range cr.Sub {
			if i > 0 {
				b.WriteString(sep)
			}
			if err := c.build(s); err != nil {
				return err
			}
		}
		b.WriteByte(')')
	case store.CritNot:
		if len(cr.Sub) != 1 {
			return fmt.Errorf("postgres: NOT needs one operand")
		}
		b.WriteString("NOT (")
		if err := c.build(cr.Sub[0]); err != nil {
			return err
		}
		b.WriteByte(')')
	case store.CritSysSet:
		p := c.arg(int32(cr.Sys))
		b.WriteString("(f.sysflags & " + p + ") = " + p)
	case store.CritSysClear:
		b.WriteString("(f.sysflags & " + c.arg(int32(cr.Sys)) + ") = 0")
	case store.CritKeyword, store.CritNoKeyword:
		if cr.Op == store.CritNoKeyword {
			b.WriteString("NOT ")
		}
		// Keywords are atoms (ASCII, no spaces), so lower() and a
		// space-delimited search over the stored list are exact.
		b.WriteString("(strpos(' ' || lower(f.keywords) || ' ', ' ' || " + c.arg(strings.ToLower(cr.Value)) + " || ' ') > 0)")
	case store.CritContains:
		col, ok := critFields[cr.Field]
		if !ok {
			return fmt.Errorf("postgres: no search field %q", cr.Field)
		}
		// bytea: byte for byte, as store.Criteria specifies.
		b.WriteString("(position(" + c.arg([]byte(cr.Value)) + "::bytea in " + col + ") > 0)")
	case store.CritLarger:
		b.WriteString("f.size > " + c.arg(cr.Num))
	case store.CritSmaller:
		b.WriteString("f.size < " + c.arg(cr.Num))
	case store.CritDate:
		var col string
		switch cr.Field {
		case "internal":
			col = "m.internaldate"
		case "sent":
			// No usable Date: counts as 1970-01-01, as Dovecot does
			// (encodeTime of the Unix epoch in UTC is 32768).
			col = "coalesce(m.sentdate, 32768)"
		case "save":
			col = "coalesce(m.savedate, m.internaldate)"
		default:
			return fmt.Errorf("postgres: no date field %q", cr.Field)
		}
		op := map[int]string{-1: "<", 0: "=", 1: ">="}[cr.Cmp]
		if op == "" {
			return fmt.Errorf("postgres: bad date comparison %d", cr.Cmp)
		}
		b.WriteString("(" + localDay(col) + " " + op + " " + c.arg(cr.Num) + ")")
	case store.CritUIDRange:
		b.WriteString(c.uidCol + " BETWEEN " + c.arg(int64(cr.Lo)) + " AND " + c.arg(int64(cr.Hi)))
	default:
		return fmt.Errorf("postgres: unknown criteria op %d", cr.Op)
	}
	return nil
}

// critTables reports which tables c reads: msgflags (flags, keywords,
// sizes) and messages (header fields, dates).
func critTables(c *store.Criteria) (flags, wide bool) {
	switch c.Op {
	case store.CritSysSet, store.CritSysClear, store.CritKeyword, store.CritNoKeyword, store.CritLarger, store.CritSmaller:
		flags = true
	case store.CritContains, store.CritDate:
		wide = true
	}
	for _, sc := range c.Sub {
		f, w := critTables(sc)
		flags, wide = flags || f, wide || w
	}
	return flags, wide
}

// SearchCriteria evaluates c in the database (store.CriteriaSearcher),
// returning matching UIDs ascending: one statement over msgflags,
// messages or their join, whichever the criteria need.
func (s *Store) SearchCriteria(ctx context.Context, mailboxID int64, c *store.Criteria) ([]store.UID, error) {
	needF, needM := critTables(c)
	cb := &critBuilder{uidCol: "f.uid"}
	if needM && !needF {
		cb.uidCol = "m.uid"
	}
	mb := cb.arg(mailboxID)
	if err := cb.build(c); err != nil {
		return nil, err
	}
	var from string
	switch {
	case needM && needF:
		from = "msgflags f JOIN messages m ON m.mailbox = f.mailbox AND m.uid = f.uid WHERE f.mailbox = " + mb
	case needM:
		from = "messages m WHERE m.mailbox = " + mb
	default:
		from = "msgflags f WHERE f.mailbox = " + mb
	}
	q := `SELECT coalesce(array_agg(` + cb.uidCol + ` ORDER BY ` + cb.uidCol + `), '{}') FROM ` + from + ` AND ` + cb.b.String()
	var list []int64
	if err := s.queryRow(ctx, q, cb.args...).Scan(&list); err != nil {
		return nil, err
	}
	return toUIDs(list), nil
}

// SortUIDs returns every UID of the mailbox ordered by one criterion
// ("ARRIVAL", "DATE" or "SIZE", RFC 5256 §3), ties in ascending UID
// (mailbox) order even when reversed (REVERSE does not apply to the
// tie-break); DATE falls back to the internal date when the message has
// no Date:. The expressions are those of the sort indexes (schema.go).
func (s *Store) SortUIDs(ctx context.Context, mailboxID int64, by string, reverse bool) ([]store.UID, error) {
	var expr string
	switch by {
	case "ARRIVAL":
		expr = "(internaldate >> 16)"
	case "DATE":
		expr = "(coalesce(sentdate, internaldate) >> 16)"
	case "SIZE":
		expr = "size"
	default:
		return nil, store.ErrCannot
	}
	dir := "ASC"
	if reverse {
		dir = "DESC"
	}
	var list []int64
	err := s.queryRow(ctx, `SELECT coalesce(array_agg(uid ORDER BY `+expr+` `+dir+`, uid), '{}') FROM messages WHERE mailbox = $1`,
		mailboxID).Scan(&list)
	if err != nil {
		return nil, err
	}
	return toUIDs(list), nil
}
