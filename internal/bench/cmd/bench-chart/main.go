// Command bench-chart draws the benchmark charts (PNG) from a JSON-lines
// results file written by "barid bench ... -json FILE".
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"

	"barid/internal/bench"
	"barid/internal/bench/chart"
)

func main() {
	results := flag.String("results", "", "JSON-lines results file")
	out := flag.String("out", "docs", "folder for the PNG files")
	base := flag.String("base", "dovecot", "baseline server label")
	cand := flag.String("cand", "barid", "candidate server label")
	flag.Parse()
	if *results == "" {
		fmt.Fprintln(os.Stderr, "bench-chart: -results is required")
		os.Exit(2)
	}
	f, err := os.Open(*results)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench-chart:", err)
		os.Exit(1)
	}
	recs, err := bench.ReadRecords(f)
	f.Close()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench-chart:", err)
		os.Exit(1)
	}
	files, err := chart.Write(recs, *out, []string{*base, *cand})
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench-chart:", err)
		os.Exit(1)
	}
	fmt.Fprintln(os.Stderr, "bench-chart: wrote", strings.Join(files, ", "))
}
