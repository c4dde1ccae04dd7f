package main

import (
	"database/sql"
	"fmt"
	"os"
	"time"

	_ "modernc.org/sqlite"
)

func main() {
	db, err := sql.Open("sqlite", "file:"+os.Args[1]+"?mode=ro")
	if err != nil {
		panic(err)
	}
	db.SetMaxOpenConns(1)
	for _, q := range os.Args[2:] {
		t0 := time.Now()
		rows, err := db.Query(q)
		if err != nil {
			fmt.Println(q, err)
			continue
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			v := make([]any, len(cols))
			p := make([]any, len(cols))
			for i := range v {
				p[i] = &v[i]
			}
			rows.Scan(p...)
			fmt.Println(v...)
		}
		fmt.Println("--", time.Since(t0))
	}
}
