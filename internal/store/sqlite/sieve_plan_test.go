package sqlite

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
)

// TestActiveDigestPlan: the check every delivery makes for its
// recipient's active Sieve script reads the covering index alone, with
// and without statistics, never the row (whose digest sits after the
// script, in overflow pages once the script passes about 4 KB).
func TestActiveDigestPlan(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	a, err := s.CreateAccount(ctx, "u", nil)
	if err != nil {
		t.Fatal(err)
	}
	big := []byte("# " + strings.Repeat("x", 6000) + "\nkeep;\n")
	for _, name := range []string{"a", "b"} {
		if err := s.PutSieveScript(ctx, a.ID, name, big, 0); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.SetActiveSieveScript(ctx, a.ID, "b"); err != nil {
		t.Fatal(err)
	}
	plan := func() string {
		var out []string
		err := s.write(ctx, func(w *wtx) error {
			rows, err := w.query(`EXPLAIN QUERY PLAN `+activeDigestQuery, a.ID)
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				var id, parent, notused int
				var detail string
				if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
					return err
				}
				out = append(out, detail)
			}
			return rows.Err()
		})
		if err != nil {
			t.Fatal(err)
		}
		return strings.Join(out, "\n")
	}
	for _, stats := range []bool{false, true} {
		if stats {
			if err := s.write(ctx, func(w *wtx) error { _, err := w.exec(`ANALYZE`); return err }); err != nil {
				t.Fatal(err)
			}
		}
		if p := plan(); !strings.Contains(p, "USING COVERING INDEX sieve_scripts_active_digest") {
			t.Errorf("statistics %v: the active-script check reads the row:\n%s", stats, p)
		}
		name, digest, err := s.ActiveSieveScriptDigest(ctx, a.ID)
		if err != nil || name != "b" || len(digest) != 32 {
			t.Errorf("statistics %v: ActiveSieveScriptDigest = %q, %x, %v; want b and a 32-byte digest", stats, name, digest, err)
		}
	}
}
