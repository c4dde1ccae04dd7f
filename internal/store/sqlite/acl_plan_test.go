package sqlite

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
)

// TestSharedWithPlan: SharedWith's query starts from the acl_identifier
// index and reaches mailboxes and accounts by primary key, whatever the
// statistics say. These are the statistics a bench data folder had at
// 300 accounts (1 account, 6 mailboxes, no row for acl): with them, the
// planner's own join order walked every account's mailboxes.
func TestSharedWithPlan(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var plan []string
	err = s.write(ctx, func(w *wtx) error {
		for _, q := range []string{
			`ANALYZE`,
			`DELETE FROM sqlite_stat1 WHERE tbl IN ('accounts', 'mailboxes', 'acl')`,
			`INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES ('accounts', 'sqlite_autoindex_accounts_1', '1 1'),
				('mailboxes', 'sqlite_autoindex_mailboxes_1', '6 6 1')`,
			`ANALYZE sqlite_schema`,
		} {
			if _, err := w.exec(q); err != nil {
				return err
			}
		}
		set := `VALUES (?), (?) UNION ALL SELECT p.s || '$' || g.grp FROM groups g, (SELECT '' AS s UNION ALL SELECT '-') p WHERE g.account = ?`
		rows, err := w.query(`EXPLAIN QUERY PLAN `+sharedWithQuery(set), "u", "-u", "u", 1)
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
			plan = append(plan, detail)
		}
		return rows.Err()
	})
	if err != nil {
		t.Fatal(err)
	}
	all := strings.Join(plan, "\n")
	if !strings.Contains(all, "SEARCH l USING INDEX acl_identifier") {
		t.Errorf("plan does not start from acl_identifier:\n%s", all)
	}
	for _, bad := range []string{"SCAN a", "SCAN m"} {
		if strings.Contains(all, bad) {
			t.Errorf("plan has %q (a walk over every account or mailbox):\n%s", bad, all)
		}
	}
}
