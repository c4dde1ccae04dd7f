package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"

	"barid/internal/app"
)

const backupUsage = `Usage: barid backup [flags] OUT

Writes a consistent backup of the data folder into OUT (a new or empty
folder): barid.db, a snapshot of the database taken with SQLite's VACUUM
INTO (small messages are inside it), blobs/, the message files that
snapshot references, and manifest.json. It may run while the server
serves and deliveries continue: the backup holds every message whose
delivery was acknowledged before it started, and nothing half-written.
Configuration files and TLS keys are not included.

With the PostgreSQL backend, use pg_dump and the object store's
versioning instead (docs/operations.md, "Backup and restore").
`

const restoreUsage = `Usage: barid restore [flags] BACKUP

Restores a folder written by "barid backup" into the data folder, which
must have no database (move the old one aside) and no server running.
Message files go to the configured blob store ([storage] blobs). Run
"barid check" afterwards.
`

const checkUsage = `Usage: barid check [flags]

Verifies the data folder: every message file and inline message hashes
to its name (SHA-256); every message's bytes are present with its size;
UIDs are below UIDNEXT; message modseqs are at most the mailbox's
HIGHESTMODSEQ; STATUS counts agree with the messages. Prints a report
(--json for scripts) and exits 1 if it found damage. It only reads, and
may run while the server serves.
`

func runBackup(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c, code, done := newAdminCmd("backup", backupUsage, args, stdout, stderr, nil)
	if done {
		return code
	}
	if len(c.args) != 1 {
		return c.usageErr("expected OUT")
	}
	m, err := app.Backup(ctx, &c.cfg, c.args[0], newLogger(stderr, "warn"))
	if m != nil && c.flags.json {
		c.printJSON(m)
	}
	if err != nil {
		return c.fail(err)
	}
	if !c.flags.json {
		fmt.Fprintf(stdout, "backup in %s: %d accounts, %d mailboxes, %d messages, %d message files (%d bytes), %d inline\n",
			c.args[0], m.Accounts, m.Mailboxes, m.Messages, m.BlobFiles, m.BlobBytes, m.InlineBlobs)
	}
	return 0
}

func runRestore(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c, code, done := newAdminCmd("restore", restoreUsage, args, stdout, stderr, nil)
	if done {
		return code
	}
	if len(c.args) != 1 {
		return c.usageErr("expected BACKUP")
	}
	m, err := app.Restore(ctx, c.args[0], &c.cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		return c.fail(err)
	}
	if c.flags.json {
		c.printJSON(map[string]any{"ok": true, "backup": m})
		return 0
	}
	fmt.Fprintf(stdout, "restored the backup of %s (%s) into %s: %d accounts, %d messages\n",
		m.Source, m.Created.Format("2006-01-02 15:04:05 UTC"), c.cfg.DataDir, m.Accounts, m.Messages)
	return 0
}

func runCheck(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c, code, done := newAdminCmd("check", checkUsage, args, stdout, stderr, nil)
	if done {
		return code
	}
	if len(c.args) != 0 {
		return c.usageErr("takes no arguments")
	}
	rep, err := app.Check(ctx, &c.cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		return c.fail(err)
	}
	if c.flags.json {
		c.printJSON(rep)
	} else {
		fmt.Fprintf(stdout, "%d accounts, %d mailboxes, %d messages; %d message files (%d bytes), %d inline, %d unreferenced\n",
			rep.Accounts, rep.Mailboxes, rep.Messages, rep.BlobFiles, rep.BlobBytes, rep.InlineBlobs, rep.Unreferenced)
		for _, p := range rep.Problems {
			fmt.Fprintln(stdout, "DAMAGE:", p)
		}
	}
	if len(rep.Problems) > 0 {
		return c.fail(errors.New(plural(len(rep.Problems), "problem") + " found"))
	}
	if !c.flags.json {
		fmt.Fprintln(stdout, "no damage found")
	}
	return 0
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}
