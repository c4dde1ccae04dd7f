package sqlite

import (
	"context"
	"fmt"
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

// critSQL turns c into a WHERE expression over msgflags f and messages m.
// uidCol is the UID column of the table the query reads ("f.uid" or,
// when no msgflags column is needed, "m.uid").
func critSQL(c *store.Criteria, uidCol string, b *strings.Builder, args *[]any) error {
	switch c.Op {
	case store.CritAll:
		b.WriteString("1")
	case store.CritAnd, store.CritOr:
		if len(c.Sub) == 0 {
			if c.Op == store.CritAnd {
				b.WriteString("1")
			} else {
				b.WriteString("0")
			}
			return nil
		}
		sep := " AND "
		if c.Op == store.CritOr {
			sep = " OR "
		}
		b.WriteByte('(')
		for i, s := range c.Sub {
			if i > 0 {
				b.WriteString(sep)
			}
			if err := critSQL(s, uidCol, b, args); err != nil {
				return err
			}
		}
		b.WriteByte(')')
	case store.CritNot:
		if len(c.Sub) != 1 {
			return fmt.Errorf("sqlite: NOT needs one operand")
		}
		b.WriteString("NOT (")
		if err := critSQL(c.Sub[0], uidCol, b, args); err != nil {
			return err
		}
		b.WriteByte(')')
	case store.CritSysSet:
		b.WriteString("(f.sysflags & ?) = ?")
		*args = append(*args, int(c.Sys), int(c.Sys))
	case store.CritSysClear:
		b.WriteString("(f.sysflags & ?) = 0")
		*args = append(*args, int(c.Sys))
	case store.CritKeyword, store.CritNoKeyword:
		if c.Op == store.CritNoKeyword {
			b.WriteString("NOT ")
		}
		b.WriteString("(instr(' ' || lower(f.keywords) || ' ', ' ' || lower(?) || ' ') > 0)")
		*args = append(*args, c.Value)
	case store.CritContains:
		col, ok := critFields[c.Field]
		if !ok {
			return fmt.Errorf("sqlite: no search field %q", c.Field)
		}
		b.WriteString("(instr(" + col + ", ?) > 0)")
		*args = append(*args, c.Value)
	case store.CritLarger:
		b.WriteString("f.size > ?")
		*args = append(*args, c.Num)
	case store.CritSmaller:
		b.WriteString("f.size < ?")
		*args = append(*args, c.Num)
	case store.CritDate:
		var col string
		switch c.Field {
		case "internal":
			col = "m.internaldate"
		case "sent":
			// No usable Date: counts as 1970-01-01, as Dovecot does
			// (encodeTime of the Unix epoch in UTC is 32768).
			col = "coalesce(m.sentdate, 32768)"
		case "save":
			col = "coalesce(m.savedate, m.internaldate)"
		default:
			return fmt.Errorf("sqlite: no date field %q", c.Field)
		}
		op := map[int]string{-1: "<", 0: "=", 1: ">="}[c.Cmp]
		if op == "" {
			return fmt.Errorf("sqlite: bad date comparison %d", c.Cmp)
		}
		b.WriteString("(" + localDay(col) + " " + op + " ?)")
		*args = append(*args, c.Num)
	case store.CritUIDRange:
		b.WriteString(uidCol + " BETWEEN ? AND ?")
		*args = append(*args, int64(c.Lo), int64(c.Hi))
	default:
		return fmt.Errorf("sqlite: unknown criteria op %d", c.Op)
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

// SearchCriteria evaluates c (store.CriteriaSearcher), returning matching
// UIDs ascending. Criteria on flags, keywords, sizes and UIDs alone are
// answered from the flag index of a large mailbox; the rest is one pass
// over the mailbox's rows in SQLite, reading msgflags, messages' search
// index, or their join, whichever the criteria need.
func (s *Store) SearchCriteria(ctx context.Context, mailboxID int64, c *store.Criteria) ([]store.UID, error) {
	// Settled first (durable.go); the session keeps only UIDs its
	// settled view knows.
	if err := s.settle(ctx, mailboxID); err != nil {
		return nil, err
	}
	needF, needM := critTables(c)
	uidCol := "f.uid"
	if needM && !needF {
		uidCol = "m.uid"
	}
	var where strings.Builder
	args := []any{mailboxID}
	if err := critSQL(c, uidCol, &where, &args); err != nil {
		return nil, err
	}
	if !needM {
		b, err := s.box(ctx, mailboxID)
		if err != nil {
			return nil, err
		}
		if b != nil {
			if out, ok := s.searchIndexed(b, c); ok {
				return out, nil
			}
		}
	}
	var from string
	switch {
	case needM && needF:
		from = "msgflags f JOIN messages m ON m.mailbox = f.mailbox AND m.uid = f.uid WHERE f.mailbox = ?"
	case needM:
		from = "messages m WHERE m.mailbox = ?"
	default:
		from = "msgflags f WHERE f.mailbox = ?"
	}
	q := `SELECT group_concat(uid) FROM (SELECT ` + uidCol + ` AS uid FROM ` + from +
		` AND ` + where.String() + ` ORDER BY ` + uidCol + `)`
	var out []store.UID
	err := s.bulkTx(ctx, func(r *reader) error {
		// Not through the prepared-statement cache: the query text
		// depends on the client's search, and the cache must not grow
		// with every shape a client can send.
		rows, err := r.c.conn.QueryContext(r.ctx, q, args...)
		if err != nil {
			return err
		}
		out, err = scanUIDList(rows, out, true)
		return err
	})
	return out, err
}
