package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/term"

	"barid/internal/imex"
)

const migrateUsage = `Usage: barid migrate [flags] USER imaps://LOGIN@HOST[:PORT]
       barid migrate [flags] USER imap://LOGIN@HOST[:PORT]

Copies every mailbox, message, flag, keyword, internal date and
subscription of LOGIN on a running IMAP server into the barid account
USER. The password is read from the first line of standard input (or
prompted for on a terminal); it never goes in the URL.

imaps:// speaks TLS from the start (port 993); imap:// (port 143) uses
STARTTLS when the server offers it and plain text only to a loopback
address.

A mailbox that is new in barid keeps the source's UIDVALIDITY and UIDs,
so clients re-download nothing after the switch. The migration is
resumable and incremental: run it again and it copies only the messages
that arrived since (by UID) and the flag changes (since the last run's
HIGHESTMODSEQ when the source has CONDSTORE, RFC 7162; else by comparing
all flags). The source wins over flags changed in barid meanwhile.
Messages expunged at the source stay in barid. Run it on a data folder
no server is using.

Flags:
`

func runMigrateStdin(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return runMigrate(ctx, args, os.Stdin, stdout, stderr)
}

func runMigrate(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	tf := newToolFlags("migrate", migrateUsage, stderr)
	tf.force = tf.fs.Bool("force", false, "migrate even though a server answers on the data folder's sockets")
	insecure := tf.fs.Bool("insecure-skip-verify", false, "accept any TLS certificate of the source (a self-signed test server)")
	rest, code, ok := tf.parse(args)
	if !ok {
		return code
	}
	if len(rest) != 2 {
		fmt.Fprintln(stderr, "barid migrate: expected USER and imaps://LOGIN@HOST[:PORT]")
		tf.fs.Usage()
		return 2
	}
	src, err := imex.ParseSource(rest[1])
	if err != nil {
		fmt.Fprintln(stderr, "barid migrate:", err)
		return 2
	}
	pw, err := readSourcePassword(stdin, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "barid migrate:", err)
		return 2
	}
	ctx, stop := interruptible(ctx)
	defer stop()
	env, err := tf.open(ctx, rest[0], stderr)
	if err != nil {
		fmt.Fprintln(stderr, "barid migrate:", err)
		return 1
	}
	defer env.Close()
	c, err := src.Dial(pw, &tls.Config{InsecureSkipVerify: *insecure}) //nolint:gosec // operator's explicit choice
	if err != nil {
		fmt.Fprintln(stderr, "barid migrate:", err)
		return 1
	}
	defer c.Close()
	im := env.importer("migrate", *tf.quiet, stderr)
	mg := &imex.Migrator{Importer: im, Client: c, Source: src, StateDir: env.cfg.Path("migrate")}
	res, err := mg.Run(ctx)
	im.Progress.Stop()
	failed := 0
	for _, r := range res {
		how := "new UIDs"
		if r.UIDsKept {
			how = "UIDs kept"
		}
		fmt.Fprintf(stdout, "%-30s UIDVALIDITY %d (%s): %d copied, %d already there, %d flag updates", r.Mailbox, r.UIDValidity, how, r.Imported, r.Skipped, r.FlagsUpdated)
		if r.CondStore {
			fmt.Fprint(stdout, " (CONDSTORE)")
		}
		if r.Failed > 0 {
			fmt.Fprintf(stdout, ", %d FAILED (see the warnings)", r.Failed)
		}
		fmt.Fprintln(stdout)
		failed += r.Failed
	}
	c.Logout().Wait() //nolint:errcheck // best effort
	if err != nil {
		fmt.Fprintln(stderr, "barid migrate:", err)
		if errors.Is(err, context.Canceled) {
			fmt.Fprintln(stderr, "barid migrate: interrupted; run the same command again to resume")
		}
		return 1
	}
	if failed > 0 {
		return 1
	}
	return 0
}

// readSourcePassword reads one line of stdin, or prompts once on a
// terminal.
func readSourcePassword(stdin io.Reader, stderr io.Writer) (string, error) {
	if f, ok := stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(stderr, "Source password: ")
		p, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(stderr)
		if err != nil {
			return "", err
		}
		return string(p), nil
	}
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && !(errors.Is(err, io.EOF) && line != "") {
		return "", errors.New("no password on standard input")
	}
	line = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
	if line == "" {
		return "", errors.New("empty password")
	}
	return line, nil
}
