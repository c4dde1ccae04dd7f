package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"sort"
	"strings"
	"time"

	"golang.org/x/term"

	"barid/internal/app"
	"barid/internal/blob/tiered"
	"barid/internal/imex"
)

var storeCopyUsage = `Usage: barid store copy [--data DIR] --to-metadata URL --to-blobs URL [flags] [ACCOUNT...]

Copies the store of a data folder (by default its embedded SQLite
database and blob folder; --metadata and --blobs name another source)
into the store the --to- URLs name, such as PostgreSQL and S3, so that
IMAP clients keep their caches and download nothing again:

  every account with its password hash; every mailbox with its
  UIDVALIDITY, UIDNEXT and HIGHESTMODSEQ (never below the source's);
  every message with its UID, MODSEQ, flags, keywords, internal date and
  bytes (blob by blob, small inline messages inline); subscriptions and
  special-use attributes; per-account quota overrides, METADATA
  entries, ACL entries and groups, aliases, app passwords (their
  hashes) and Sieve scripts; expunge tombstones, so that QRESYNC
  clients still hear of earlier expunges.

Not copied:
  - ` + strings.Join(imex.CopyNotCopied, "\n  - ") + `

It is resumable and idempotent: run it again after an interruption (or
to pick up mail that arrived since) and it skips the mailboxes already
complete, continues a half-copied one from its UIDNEXT, and brings the
flags of copied messages in line with the source. It refuses to run
while a server answers on the source data folder (--force overrides),
and refuses a target whose account or mailbox of the same name holds
other data (another password hash, another UIDVALIDITY with messages):
it never merges two histories. ACCOUNT arguments limit the copy to
those accounts.

Flags:
`

func runStore(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] != "copy" {
		fmt.Fprint(stdout, storeCopyUsage)
		if len(args) == 0 || args[0] != "-h" && args[0] != "--help" {
			return 2
		}
		return 0
	}
	tf := newToolFlags("store copy", storeCopyUsage, stderr)
	toMeta := tf.fs.String("to-metadata", "", "target metadata store: postgres://USER:PASS@HOST:PORT/DB?sslmode=... (empty: SQLite in --to-data)")
	toBlobs := tf.fs.String("to-blobs", "", "target blob store: s3://BUCKET?endpoint=URL&region=R or file:///PATH (empty: blobs/ in --to-data)")
	toData := tf.fs.String("to-data", "", "target data folder, for an embedded (SQLite) target")
	tf.force = tf.fs.Bool("force", false, "copy even though a server answers on the source data folder's sockets (mail it takes meanwhile is picked up by a second run)")
	rest, code, ok := tf.parse(args[1:])
	if !ok {
		return code
	}
	fail := func(err error) int {
		fmt.Fprintln(stderr, "barid store copy:", err)
		return 1
	}
	cfg, err := tf.data.load()
	if err != nil {
		return fail(err)
	}
	dcfg := cfg
	dcfg.Storage.Metadata, dcfg.Storage.Blobs = *toMeta, *toBlobs
	switch {
	case *toData != "":
		dcfg.DataDir = *toData
	case *toMeta == "" || *toBlobs == "":
		fmt.Fprintln(stderr, "barid store copy: give --to-metadata and --to-blobs (or --to-data for an embedded target)")
		return 2
	}
	if dcfg.Storage.Metadata == cfg.Storage.Metadata && dcfg.DataDir == cfg.DataDir {
		return fail(errors.New("the target is the source"))
	}
	if err := dcfg.Validate(); err != nil {
		return fail(fmt.Errorf("target: %w", err))
	}
	if !*tf.force {
		if sock := serverRunning(&cfg); sock != "" {
			return fail(fmt.Errorf("a barid server is running on the source data folder (it answers on %s): stop it first, or pass --force", sock))
		}
	}
	ctx, stop := interruptible(ctx)
	defer stop()
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(importGCLimit)
	}
	logger := newLogger(stderr, *tf.logLevel)
	src, err := app.OpenData(ctx, &cfg, logger)
	if err != nil {
		return fail(fmt.Errorf("source: %w", err))
	}
	defer src.Close()
	dst, err := app.OpenData(ctx, &dcfg, logger)
	if err != nil {
		return fail(fmt.Errorf("target: %w", err))
	}
	defer dst.Close()
	var pw io.Writer
	tty := false
	if !*tf.quiet {
		pw = stderr
		if f, ok := stderr.(*os.File); ok {
			tty = term.IsTerminal(int(f.Fd()))
		}
	}
	sc := &imex.StoreCopier{Src: src.Store, SrcBlobs: src.Blobs, Dst: dst.Store, DstFiles: dst.Blobs,
		DstInlineMax: dcfg.Storage.InlineMaxBytes, Logger: logger, Progress: imex.NewProgress(pw, "copy", tty)}
	if t, ok := dst.Blobs.(*tiered.Store); ok {
		sc.DstFiles = t.Files()
	}
	if in, ok := src.Store.(interface {
		OpenInline(ctx context.Context, id string) ([]byte, bool, error)
	}); ok {
		sc.SrcInline = in
	}
	start := time.Now()
	st, err := sc.Run(ctx, rest)
	sc.Progress.Stop()
	el := time.Since(start)
	fmt.Fprintf(stdout, "accounts: %d copied, %d already there\n", st.Accounts, st.AccountsSkipped)
	fmt.Fprintf(stdout, "mailboxes: %d copied or continued, %d already complete\n", st.Mailboxes, st.MailboxesSkipped)
	fmt.Fprintf(stdout, "messages: %d copied (%d bytes, %d inline), %d already there", st.Messages, st.Bytes, st.Inline, st.MessagesSkipped)
	if st.Tombstones > 0 {
		fmt.Fprintf(stdout, "; %d expunged UIDs recorded for QRESYNC", st.Tombstones)
	}
	if st.FlagsFixed > 0 || st.Expunged > 0 {
		fmt.Fprintf(stdout, "; %d given the source's flags or MODSEQ again, %d expunged as in the source", st.FlagsFixed, st.Expunged)
	}
	fmt.Fprintln(stdout)
	var extras []string
	for k, v := range st.Extras {
		extras = append(extras, fmt.Sprintf("%s %d", k, v))
	}
	sort.Strings(extras)
	if len(extras) > 0 {
		fmt.Fprintf(stdout, "also: %s\n", strings.Join(extras, ", "))
	}
	fmt.Fprintf(stdout, "took %s\n", el.Round(time.Millisecond))
	if err != nil {
		if errors.Is(err, context.Canceled) {
			fmt.Fprintln(stderr, "barid store copy: interrupted; what was committed stays, run the same command again to resume")
		}
		return fail(err)
	}
	return 0
}
