package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// schemaObject is one row of sqlite_master that a migration created.
type schemaObject struct{ typ, name, sql string }

// schemaAt lists the tables, indexes and triggers and each table's
// columns that the first step migrations make, in a scratch database.
func schemaAt(t *testing.T, step int) (objs map[string]schemaObject, cols map[string][]string) {
	t.Helper()
	ctx := context.Background()
	db, err := sql.Open(driverName, "file:"+filepath.Join(t.TempDir(), "ref.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for i, m := range migrations[:step] {
		if _, err := db.ExecContext(ctx, m+";"); err != nil {
			t.Fatalf("migration %d: %v", i+1, err)
		}
	}
	return schemaOf(t, db)
}

func schemaOf(t *testing.T, db *sql.DB) (map[string]schemaObject, map[string][]string) {
	t.Helper()
	ctx := context.Background()
	rows, err := db.QueryContext(ctx, "SELECT type, name, coalesce(sql, '') FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'")
	if err != nil {
		t.Fatal(err)
	}
	objs := make(map[string]schemaObject)
	for rows.Next() {
		var o schemaObject
		if err := rows.Scan(&o.typ, &o.name, &o.sql); err != nil {
			t.Fatal(err)
		}
		objs[o.name] = o
	}
	rows.Close()
	cols := make(map[string][]string)
	for _, o := range objs {
		if o.typ != "table" {
			continue
		}
		rows, err := db.QueryContext(ctx, "SELECT name FROM pragma_table_info(?)", o.name)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var c string
			rows.Scan(&c)
			cols[o.name] = append(cols[o.name], c)
		}
		rows.Close()
	}
	return objs, cols
}

// rollBackTo turns the database at path, migrated to the end, back to
// the layout of migration step: it drops every trigger, index and table
// that later steps created and every column they added, found by
// comparing with a scratch database migrated to step (so a new step
// needs no change here), and sets user_version to step. The rows of
// the tables that remain are kept, which is what a store written by an
// older barid looks like.
func rollBackTo(t *testing.T, path string, step int) {
	t.Helper()
	ctx := context.Background()
	ref, refCols := schemaAt(t, step)
	db, err := sql.Open(driverName, "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	exec := func(q string) {
		t.Helper()
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	// Triggers and indexes first (they name the tables and columns to
	// go), then virtual tables (they drop their own shadow tables), then
	// the plain tables left.
	for _, typ := range []string{"trigger", "index", "virtual", "table"} {
		objs, _ := schemaOf(t, db)
		var names []string
		for _, o := range objs {
			if _, keep := ref[o.name]; keep {
				continue
			}
			virtual := o.typ == "table" && strings.HasPrefix(strings.ToUpper(o.sql), "CREATE VIRTUAL TABLE")
			switch {
			case typ == "virtual" && virtual, typ == o.typ && !virtual:
				names = append(names, o.name)
			}
		}
		slices.Sort(names)
		for _, n := range names {
			var still int
			db.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_master WHERE name = ?", n).Scan(&still)
			if still == 0 {
				continue // a shadow table its virtual table took along
			}
			kind := strings.ToUpper(typ)
			if typ == "virtual" {
				kind = "TABLE"
			}
			exec(fmt.Sprintf("DROP %s %q", kind, n))
		}
	}
	_, cols := schemaOf(t, db)
	for table, have := range cols {
		want, ok := refCols[table]
		if !ok {
			continue
		}
		for _, c := range have {
			if !slices.Contains(want, c) {
				exec(fmt.Sprintf("ALTER TABLE %q DROP COLUMN %q", table, c))
			}
		}
	}
	// Indexes that later steps dropped come back (step 30 dropped
	// messages_emailid).
	have, _ := schemaOf(t, db)
	var missing []string
	for n, o := range ref {
		if _, ok := have[n]; !ok && o.typ == "index" {
			missing = append(missing, o.sql)
		}
	}
	slices.Sort(missing)
	for _, q := range missing {
		exec(q)
	}
	exec(fmt.Sprintf("PRAGMA user_version = %d", step))
	got, gotCols := schemaOf(t, db)
	for n := range ref {
		if _, ok := got[n]; !ok {
			t.Fatalf("rolled back to step %d but %s is missing", step, n)
		}
	}
	for n := range got {
		if _, ok := ref[n]; !ok {
			t.Fatalf("rolled back to step %d but %s is still there", step, n)
		}
	}
	for table, want := range refCols {
		if !slices.Equal(gotCols[table], want) {
			t.Fatalf("rolled back to step %d: table %s has columns %v, want %v", step, table, gotCols[table], want)
		}
	}
}
