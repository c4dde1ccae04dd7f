package fts

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"barid/internal/bench"
	"barid/internal/imap/msgdata"
	"barid/internal/mail/mime"
	"barid/internal/store/postgres"
)

// BenchmarkMeasurePostgresSize measures what each relation of
// PostgreSQL's full-text index costs (heap, TOAST, primary key, GIN)
// for the layouts of docs/search.md "PostgreSQL's size": schema step 16
// as it was, and the text with each line stored once
// (postgres.TextLines) with the storage settings tried. Rows go in as
// the indexer writes them (DefaultBatch a transaction), keyed by a
// SHA-256 like blob ids. It runs only when BARID_FTS_EXP=N and
// BARID_TEST_POSTGRES are set.
func BenchmarkMeasurePostgresSize(t *testing.B) {
	n, ctx, db := expPostgres(t, "fts_size")
	g := bench.NewGenerator(1)
	type doc struct{ id, head, body, lhead, lbody string }
	var mailBytes, textBytes, lineBytes int64
	docs := make([]doc, 0, n)
	for i := range n {
		m := g.Message(i)
		root, err := mime.Parse(bytes.NewReader(m.Body), mime.Limits{})
		if err != nil {
			t.Fatal(err)
		}
		head, body, err := msgdata.TextSplit(root, m.Body[:root.HeaderSize], bytes.NewReader(m.Body))
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(m.Body)
		nul := func(s string) string { return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\n") }
		lh, lb := postgres.TextLines(nul(head), nul(body))
		mailBytes += int64(len(m.Body))
		textBytes += int64(len(head) + len(body))
		lineBytes += int64(len(lh) + len(lb))
		if os.Getenv("BARID_FTS_LINES_ONLY") != "" {
			head, body = "", "" // only the lines-once layouts are measured: save the memory
		}
		docs = append(docs, doc{hex.EncodeToString(sum[:]), nul(head), nul(body), lh, lb})
	}
	pct := func(b int64) float64 { return 100 * float64(b) / float64(mailBytes) }
	t.Logf("%d messages: mail %.1f MB, text %.1f MB (%.1f%%), lines once %.1f MB (%.1f%%)", n,
		float64(mailBytes)/1e6, float64(textBytes)/1e6, pct(textBytes), float64(lineBytes)/1e6, pct(lineBytes))
	variants := []struct {
		name, table, index string
		lines              bool
	}{
		{"step 16", "CREATE TABLE fts_docs (blob_id text PRIMARY KEY, head text NOT NULL, body text NOT NULL)",
			"CREATE INDEX fts_docs_text ON fts_docs USING gin ((head || body) gin_trgm_ops)", false},
		{"lines once", "CREATE TABLE fts_docs (blob_id text PRIMARY KEY, head text NOT NULL, body text NOT NULL)",
			"CREATE INDEX fts_docs_text ON fts_docs USING gin ((head || body) gin_trgm_ops)", true},
		{"lines once, toast_tuple_target 128", "CREATE TABLE fts_docs (blob_id text PRIMARY KEY, head text NOT NULL, body text NOT NULL) WITH (toast_tuple_target = 128)",
			"CREATE INDEX fts_docs_text ON fts_docs USING gin ((head || body) gin_trgm_ops)", true},
		{"lines once, ttt 128, gin_pending_list_limit 64kB", "CREATE TABLE fts_docs (blob_id text PRIMARY KEY, head text NOT NULL, body text NOT NULL) WITH (toast_tuple_target = 128)",
			"CREATE INDEX fts_docs_text ON fts_docs USING gin ((head || body) gin_trgm_ops) WITH (gin_pending_list_limit = 64)", true},
		{"lines once, ttt 128, lz4", "CREATE TABLE fts_docs (blob_id text PRIMARY KEY, head text COMPRESSION lz4 NOT NULL, body text COMPRESSION lz4 NOT NULL) WITH (toast_tuple_target = 128)",
			"CREATE INDEX fts_docs_text ON fts_docs USING gin ((head || body) gin_trgm_ops)", true},
	}
	if only := os.Getenv("BARID_FTS_VARIANTS"); only != "" {
		var keep []int
		for _, f := range strings.Split(only, ",") {
			i, _ := strconv.Atoi(f)
			keep = append(keep, i)
		}
		old := variants
		variants = variants[:0:0]
		for _, i := range keep {
			variants = append(variants, old[i])
		}
	}
	for _, v := range variants {
		for _, q := range []string{"DROP TABLE IF EXISTS fts_docs", v.table, v.index} {
			if _, err := db.Exec(ctx, q); err != nil {
				t.Fatal(err)
			}
		}
		t0 := time.Now()
		for i := 0; i < len(docs); i += DefaultBatch {
			tx, err := db.Begin(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range docs[i:min(i+DefaultBatch, len(docs))] {
				head, body := d.head, d.body
				if v.lines {
					head, body = d.lhead, d.lbody
				}
				if _, err := tx.Exec(ctx, "INSERT INTO fts_docs VALUES ($1, $2, $3)", d.id, head, body); err != nil {
					t.Fatal(err)
				}
			}
			if err := tx.Commit(ctx); err != nil {
				t.Fatal(err)
			}
		}
		ins := time.Since(t0)
		db.Exec(ctx, "VACUUM ANALYZE fts_docs")
		var heap, toast, pkey, gin, total int64
		if err := db.QueryRow(ctx, `SELECT pg_relation_size('fts_docs'),
			pg_total_relation_size((SELECT reltoastrelid FROM pg_class WHERE relname = 'fts_docs')),
			pg_relation_size('fts_docs_pkey'), pg_relation_size('fts_docs_text'), pg_total_relation_size('fts_docs')`).
			Scan(&heap, &toast, &pkey, &gin, &total); err != nil {
			t.Fatal(err)
		}
		line := fmt.Sprintf("%s: insert %.1fs; heap %.2f%%, toast %.2f%%, pkey %.2f%%, GIN %.2f%%, total %.2f%% (%.1f MB); text-only %.1f%%;",
			v.name, ins.Seconds(), pct(heap), pct(toast), pct(pkey), pct(gin), pct(total), float64(total)/1e6,
			100*float64(total)/float64(textBytes))
		for _, q := range []string{"zanzibarite", "regards"} {
			t2 := time.Now()
			var cnt int
			const reps = 3
			for range reps {
				if err := db.QueryRow(ctx, "SELECT count(*) FROM fts_docs WHERE (head || body) LIKE $1", "%"+q+"%").Scan(&cnt); err != nil {
					t.Fatal(err)
				}
			}
			line += fmt.Sprintf(" %s %d hits %.1fms", q, cnt, float64(time.Since(t2).Microseconds())/1000/reps)
		}
		// What the GIN index takes when built in one go over the same
		// rows: the floor that no insertion order reaches.
		if _, err := db.Exec(ctx, "REINDEX INDEX fts_docs_text"); err != nil {
			t.Fatal(err)
		}
		if err := db.QueryRow(ctx, `SELECT pg_relation_size('fts_docs_text')`).Scan(&gin); err != nil {
			t.Fatal(err)
		}
		line += fmt.Sprintf("; GIN rebuilt %.2f%%", pct(gin))
		t.Log(line)
	}
}
