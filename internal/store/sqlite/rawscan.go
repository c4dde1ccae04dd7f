package sqlite

import (
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
)

// rawQuery runs a query on the reader's connection through the driver
// interface and calls fn with each row's values, bypassing database/sql's
// per-row locking and conversions. A FETCH of 100,000 records spent about
// a third of its store time there, most of it copying every BLOB a second
// time (database/sql clones []byte into a *[]byte destination because a
// driver may reuse its buffers).
//
// The values are int64, float64, string, []byte or nil. modernc.org/sqlite
// copies every BLOB out of SQLite into a new slice per row
// (conn.columnBlob), so fn may keep a []byte; TestRawQueryFreshBlobs
// fails if a driver upgrade starts reusing them. fn returning errStopRows
// ends the scan without error.
func (r *reader) rawQuery(q string, args []driver.NamedValue, fn func(vals []driver.Value) error) error {
	return r.c.conn.Raw(func(dc any) error {
		st, ok := r.c.raw[q]
		if !ok {
			pc, ok := dc.(driver.ConnPrepareContext)
			if !ok {
				return fmt.Errorf("sqlite: driver connection %T cannot prepare", dc)
			}
			var err error
			if st, err = pc.PrepareContext(r.ctx, q); err != nil {
				return err
			}
			if r.c.raw == nil {
				r.c.raw = map[string]driver.Stmt{}
			}
			r.c.raw[q] = st
		}
		sq, ok := st.(driver.StmtQueryContext)
		if !ok {
			return fmt.Errorf("sqlite: driver statement %T cannot query", st)
		}
		rows, err := sq.QueryContext(r.ctx, args)
		if err != nil {
			return err
		}
		defer rows.Close()
		vals := make([]driver.Value, len(rows.Columns()))
		for {
			if err := rows.Next(vals); err != nil {
				if err == io.EOF {
					return nil
				}
				return err
			}
			if err := fn(vals); err != nil {
				if errors.Is(err, errStopRows) {
					return nil
				}
				return err
			}
		}
	})
}

// errStopRows ends a rawQuery scan early without error.
var errStopRows = errors.New("stop rows")

// closeRaw closes the driver statements rawQuery prepared on c.
func (c *rconn) closeRaw() {
	if len(c.raw) == 0 {
		return
	}
	c.conn.Raw(func(any) error { //nolint:errcheck // closing anyway
		for _, st := range c.raw {
			st.Close()
		}
		return nil
	})
	c.raw = nil
}

func namedArgs(args ...any) []driver.NamedValue {
	nv := make([]driver.NamedValue, len(args))
	for i, a := range args {
		nv[i] = driver.NamedValue{Ordinal: i + 1, Value: a}
	}
	return nv
}

func rawInt(v driver.Value) int64 {
	switch x := v.(type) {
	case int64:
		return x
	case float64:
		return int64(x)
	}
	return 0
}

// rawNullInt is rawInt with NULL kept apart (as sql.NullInt64).
func rawNullInt(v driver.Value) (int64, bool) {
	if v == nil {
		return 0, false
	}
	return rawInt(v), true
}

func rawBytes(v driver.Value) []byte {
	switch x := v.(type) {
	case []byte:
		return x
	case string:
		return []byte(x)
	}
	return nil
}

func rawString(v driver.Value) string {
	switch x := v.(type) {
	case string:
		return x
	case []byte:
		return string(x)
	}
	return ""
}
