package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"barid/internal/fts"
	"barid/internal/store"
)

const indexUsage = `Usage: barid index <rebuild|status> [--data DIR] [--config FILE] [--metadata URL] [--blobs URL] [--user NAME]

  rebuild  index every message the full-text index of SEARCH BODY/TEXT
           does not have yet (all of them after an upgrade), with
           progress; interrupted, it resumes where it stopped. A running
           server does the same in the background; SEARCH scans what is
           not indexed yet, so answers never depend on it.
  status   show the index's size and lag (contents waiting)

See docs/search.md.
`

// runIndex implements "barid index".
func runIndex(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprint(stdout, indexUsage)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	verb := args[0]
	if verb != "rebuild" && verb != "status" {
		fmt.Fprintf(stderr, "barid index: unknown verb %q\n\n%s", verb, indexUsage)
		return 2
	}
	fs, df := dataFlagSet("index "+verb, indexUsage, stderr)
	user := fs.String("user", "", "rebuild: only this account's messages")
	batch := fs.Int("batch", fts.DefaultBatch, "rebuild: messages per transaction")
	batchBytes := fs.Int("batch-bytes", fts.DefaultBatchBytes, "rebuild: text per transaction after which a batch takes no more messages (larger batches flush and merge fewer FTS5 segments; the text is held in memory)")
	if err := fs.Parse(args[1:]); err != nil {
		return flagErr(err)
	}
	if fs.NArg() != 0 {
		fmt.Fprintf(stderr, "barid index %s: unexpected argument %q\n", verb, fs.Arg(0))
		return 2
	}
	d, _, err := df.openData(ctx)
	if err != nil {
		fmt.Fprintln(stderr, "barid:", err)
		return 1
	}
	defer d.Close()
	st, ok := d.Store.(fts.Store)
	if !ok {
		fmt.Fprintln(stderr, "barid: this metadata store has no full-text index")
		return 1
	}
	status, err := st.TextIndexStatus(ctx)
	if err != nil {
		fmt.Fprintln(stderr, "barid:", err)
		return 1
	}
	if verb == "status" {
		printIndexStatus(stdout, status)
		return 0
	}
	var accountID int64
	if *user != "" {
		acct, err := d.Store.Account(ctx, store.NormalizeAccountName(*user))
		if errors.Is(err, store.ErrNoAccount) {
			fmt.Fprintf(stderr, "barid: no account %q\n", *user)
			return 1
		}
		if err != nil {
			fmt.Fprintln(stderr, "barid:", err)
			return 1
		}
		accountID = acct.ID
	}
	if *batch < 1 {
		fmt.Fprintln(stderr, "barid index rebuild: --batch must be at least 1")
		return 2
	}
	if *batchBytes < 1 {
		fmt.Fprintln(stderr, "barid index rebuild: --batch-bytes must be at least 1")
		return 2
	}
	ix := fts.New(st, d.Blobs, slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	ix.Batch = *batch
	ix.BatchBytes = *batchBytes
	start := time.Now()
	last := start
	total := status.Pending
	done, err := ix.CatchUp(store.WithBulk(ctx), accountID, func(n int) {
		if time.Since(last) < time.Second {
			return
		}
		last = time.Now()
		rate := float64(n) / time.Since(start).Seconds()
		if accountID == 0 && total > 0 {
			fmt.Fprintf(stderr, "\rindex: %d/%d contents (%.0f%%), %.0f/s ", n, total, 100*float64(n)/float64(total), rate)
		} else {
			fmt.Fprintf(stderr, "\rindex: %d contents, %.0f/s ", n, rate)
		}
	})
	if err != nil {
		fmt.Fprintf(stderr, "\nbarid: after %d contents: %v (run again to resume)\n", done, err)
		return 1
	}
	if _, err := st.PurgeTextIndex(ctx); err != nil {
		fmt.Fprintln(stderr, "barid:", err)
		return 1
	}
	fmt.Fprintf(stderr, "\rindex: %d contents indexed in %v\n", done, time.Since(start).Round(time.Millisecond))
	status, err = st.TextIndexStatus(ctx)
	if err != nil {
		fmt.Fprintln(stderr, "barid:", err)
		return 1
	}
	printIndexStatus(stdout, status)
	return 0
}

func printIndexStatus(w io.Writer, s store.TextIndexStatus) {
	fmt.Fprintf(w, "indexed contents: %d\npending contents (lag): %d\nexpunged, not yet purged: %d\n", s.Indexed, s.Pending, s.Orphans)
	if s.Bytes >= 0 {
		fmt.Fprintf(w, "index size: %d bytes (%.1f MB)\n", s.Bytes, float64(s.Bytes)/1e6)
	}
}
