package fts

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	_ "modernc.org/sqlite"

	"barid/internal/bench"
	"barid/internal/fts/trigram"
	"barid/internal/imap/msgdata"
	"barid/internal/mail/mime"
)

// BenchmarkMeasureSQLite is the tokenizer experiment of docs/search.md: it
// builds FTS5 tables over N generated messages' search text and prints
// sizes and query times. It is a one-shot measurement run as a
// benchmark, only when BARID_FTS_EXP=N is set.
func BenchmarkMeasureSQLite(t *testing.B) {
	n, _ := strconv.Atoi(os.Getenv("BARID_FTS_EXP"))
	if n == 0 {
		t.Skip("set BARID_FTS_EXP=N to run the measurement")
	}
	g := bench.NewGenerator(1)
	var texts []string
	var mailBytes, textBytes int64
	t0 := time.Now()
	for i := range n {
		m := g.Message(i)
		root, err := mime.Parse(bytes.NewReader(m.Body), mime.Limits{})
		if err != nil {
			t.Fatal(err)
		}
		txt, err := msgdata.Text(root, m.Body[:root.HeaderSize], bytes.NewReader(m.Body))
		if err != nil {
			t.Fatal(err)
		}
		texts = append(texts, txt)
		mailBytes += int64(len(m.Body))
		textBytes += int64(len(txt))
	}
	t.Logf("%d messages: mail %d bytes, search text %d bytes, extraction %v", n, mailBytes, textBytes, time.Since(t0))
	variants := []struct{ name, ddl string }{
		{"trigram-none", "CREATE VIRTUAL TABLE f USING fts5(t, content='', contentless_delete=1, detail=none, tokenize='trigram case_sensitive 1')"},
		{"trigram-full", "CREATE VIRTUAL TABLE f USING fts5(t, content='', contentless_delete=1, detail=full, tokenize='trigram case_sensitive 1')"},
		{"unicode61-none", "CREATE VIRTUAL TABLE f USING fts5(t, content='', contentless_delete=1, detail=none, tokenize='unicode61 remove_diacritics 0')"},
		{"unicode61-full", "CREATE VIRTUAL TABLE f USING fts5(t, content='', contentless_delete=1, detail=full, tokenize='unicode61 remove_diacritics 0')"},
	}
	for _, v := range variants {
		path := filepath.Join(t.TempDir(), v.name+".db")
		db, err := sql.Open("sqlite", path)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec(v.ddl); err != nil {
			t.Fatal(err)
		}
		t1 := time.Now()
		tx, _ := db.Begin()
		st, _ := tx.Prepare("INSERT INTO f(rowid, t) VALUES (?, ?)")
		for i, s := range texts {
			if _, err := st.Exec(i+1, s); err != nil {
				t.Fatal(err)
			}
			if i%5000 == 4999 {
				tx.Commit()
				tx, _ = db.Begin()
				st, _ = tx.Prepare("INSERT INTO f(rowid, t) VALUES (?, ?)")
			}
		}
		tx.Commit()
		ins := time.Since(t1)
		db.Exec("INSERT INTO f(f) VALUES('optimize')")
		db.Exec("VACUUM")
		var pages, psize int64
		db.QueryRow("PRAGMA page_count").Scan(&pages)
		db.QueryRow("PRAGMA page_size").Scan(&psize)
		size := pages * psize
		line := fmt.Sprintf("%-15s insert %6.1fs  size %5.1f MB = %4.1f%% of mail, %4.1f%% of text;", v.name, ins.Seconds(), float64(size)/1e6, 100*float64(size)/float64(mailBytes), 100*float64(size)/float64(textBytes))
		for _, q := range []string{"zanzibarite", "project", "kelmon", "regards", "мдмитрий"} {
			mq := matchQuery(q, v.name[:7] == "trigram")
			t2 := time.Now()
			var cnt int
			const reps = 5
			for range reps {
				cnt = 0
				rows, err := db.Query("SELECT rowid FROM f WHERE f MATCH ?", mq)
				if err != nil {
					t.Fatal(err)
				}
				for rows.Next() {
					cnt++
				}
				rows.Close()
			}
			line += fmt.Sprintf(" %s %d hits %.1fms", q, cnt, float64(time.Since(t2).Microseconds())/1000/reps)
		}
		t.Log(line)
		db.Close()
	}
}

func matchQuery(q string, useTrigram bool) string {
	if !useTrigram {
		return `"` + q + `"`
	}
	return trigram.Query(q)
}

// expPostgres is the set-up of the PostgreSQL measurements: N from
// BARID_FTS_EXP (skipped without it or BARID_TEST_POSTGRES) and a
// connection to a new database named after prefix, with pg_trgm, that
// is dropped when b ends.
func expPostgres(b *testing.B, prefix string) (int, context.Context, *pgx.Conn) {
	b.Helper()
	n, _ := strconv.Atoi(os.Getenv("BARID_FTS_EXP"))
	url := os.Getenv("BARID_TEST_POSTGRES")
	if n == 0 || url == "" {
		b.Skip("set BARID_FTS_EXP=N and BARID_TEST_POSTGRES to run the measurement")
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		b.Fatal(err)
	}
	dbname := fmt.Sprintf("%s_%d", prefix, time.Now().UnixNano())
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+dbname); err != nil {
		conn.Close(ctx)
		b.Fatal(err)
	}
	cfg, _ := pgx.ParseConfig(url)
	cfg.Database = dbname
	db, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		db.Close(ctx)
		conn.Exec(ctx, "DROP DATABASE "+dbname) //nolint:errcheck
		conn.Close(ctx)
	})
	if _, err := db.Exec(ctx, "CREATE EXTENSION pg_trgm"); err != nil {
		b.Fatal(err)
	}
	return n, ctx, db
}

// BenchmarkMeasurePostgres is the PostgreSQL half of the experiment: the same
// texts in a table with a pg_trgm GIN index, size and LIKE query times.
// It runs only when BARID_FTS_EXP=N and BARID_TEST_POSTGRES are set.
func BenchmarkMeasurePostgres(t *testing.B) {
	n, ctx, db := expPostgres(t, "fts_exp")
	g := bench.NewGenerator(1)
	var mailBytes, textBytes int64
	type doc struct{ head, body string }
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
		mailBytes += int64(len(m.Body))
		textBytes += int64(len(head) + len(body))
		nul := func(s string) string { return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\n") }
		docs = append(docs, doc{nul(head), nul(body)})
	}
	// The layouts compared: schema step 11 (one text column), step 16
	// (head and body, GIN over head || body), step 16 without GIN's
	// pending list (fastupdate off), and step 16 with lz4 instead of
	// pglz for the TOASTed text.
	variants := []struct{ name, table, index, text string }{
		{"step 11 (body, pglz, fastupdate on)", "CREATE TABLE d (id bigint PRIMARY KEY, head text NOT NULL, body text NOT NULL)",
			"CREATE INDEX d_text ON d USING gin (body gin_trgm_ops)", "body"},
		{"step 16 (head, body, pglz)", "CREATE TABLE d (id bigint PRIMARY KEY, head text NOT NULL, body text NOT NULL)",
			"CREATE INDEX d_text ON d USING gin ((head || body) gin_trgm_ops)", "(head || body)"},
		{"step 16, fastupdate off", "CREATE TABLE d (id bigint PRIMARY KEY, head text NOT NULL, body text NOT NULL)",
			"CREATE INDEX d_text ON d USING gin ((head || body) gin_trgm_ops) WITH (fastupdate = off)", "(head || body)"},
		{"step 16, lz4", "CREATE TABLE d (id bigint PRIMARY KEY, head text COMPRESSION lz4 NOT NULL, body text COMPRESSION lz4 NOT NULL)",
			"CREATE INDEX d_text ON d USING gin ((head || body) gin_trgm_ops)", "(head || body)"},
	}
	line := fmt.Sprintf("pg_trgm: %d messages, mail %d bytes, text %d bytes (%.1f%% of mail)", n, mailBytes, textBytes, 100*float64(textBytes)/float64(mailBytes))
	for _, v := range variants {
		for _, q := range []string{"DROP TABLE IF EXISTS d", v.table, v.index} {
			if _, err := db.Exec(ctx, q); err != nil {
				t.Fatal(err)
			}
		}
		t0 := time.Now()
		for i, d := range docs {
			head, body := d.head, d.body
			if v.text == "body" {
				head, body = "", d.head+d.body // step 11 stored the whole text in one column
			}
			if _, err := db.Exec(ctx, "INSERT INTO d VALUES ($1, $2, $3)", i, head, body); err != nil {
				t.Fatal(err)
			}
		}
		ins := time.Since(t0)
		db.Exec(ctx, "VACUUM ANALYZE d")
		var table, index int64
		db.QueryRow(ctx, "SELECT pg_table_size('d'), pg_indexes_size('d')").Scan(&table, &index)
		line += fmt.Sprintf("\n%s: insert %.1fs; table+toast %.1f MB (%.1f%% of mail), GIN %.1f MB (%.1f%% of mail), together %.1f%%;",
			v.name, ins.Seconds(), float64(table)/1e6, 100*float64(table)/float64(mailBytes), float64(index)/1e6, 100*float64(index)/float64(mailBytes),
			100*float64(table+index)/float64(mailBytes))
		for _, q := range []string{"zanzibarite", "regards"} {
			t2 := time.Now()
			var cnt int
			const reps = 3
			for range reps {
				if err := db.QueryRow(ctx, "SELECT count(*) FROM d WHERE "+v.text+" LIKE $1", "%"+q+"%").Scan(&cnt); err != nil {
					t.Fatal(err)
				}
			}
			line += fmt.Sprintf(" %s %d hits %.1fms", q, cnt, float64(time.Since(t2).Microseconds())/1000/reps)
		}
	}
	t.Log(line)
}
