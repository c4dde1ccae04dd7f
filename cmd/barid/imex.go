package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"golang.org/x/term"

	"barid/internal/app"
	"barid/internal/config"
	"barid/internal/deliver"
	"barid/internal/imex"
	"barid/internal/mail/mime"
	"barid/internal/notify"
	"barid/internal/store"
)

const importUsage = `Usage: barid import maildir [flags] USER PATH
       barid import mbox [flags] [--mailbox NAME] USER FILE

maildir imports a Maildir++ tree (the root is INBOX, .A.B is A/B), as
Dovecot, Courier and others write it. With Dovecot's dovecot-uidlist,
every mailbox keeps its UIDVALIDITY and its messages their UIDs, so IMAP
clients re-download nothing; keywords come from dovecot-keywords, flags
from the file names, internal dates from the files' modification times,
subscriptions from the subscriptions file.

mbox imports one mbox file (mboxo or mboxrd) into one mailbox (default
INBOX); flags come from the Status:, X-Status: and X-Keywords: headers,
which are removed as Dovecot hides them; the internal date is the From_
line's date. UIDs in X-IMAPbase and X-UID headers (an mbox Dovecot kept)
are kept.

Imports are batched in transactions, resumable and idempotent: run one
again (after an interruption, or on purpose) and it adds only what is
missing. When a server runs on the data folder, the import is handed to
it over its control socket and runs in the server's process (which
must be able to read PATH): its sessions see the mail arrive, as with
deliveries. Interrupting the command stops the import there.

Flags:
`

const exportUsage = `Usage: barid export maildir [flags] USER PATH
       barid export mbox [flags] [--mailbox NAME] USER PATH

maildir writes the account as a Maildir++ tree with dovecot-uidlist,
dovecot-keywords and subscriptions, so that barid or Dovecot keeps the
UIDs on import. mbox writes one mboxrd file per mailbox into the folder
PATH (NAME.mbox, "/" in names kept as sub-folders), or, with --mailbox,
that one mailbox to the file PATH.

Flags:
`

// toolEnv is an opened data folder with one account, for import, export
// and migrate.
type toolEnv struct {
	data    *app.Data
	cfg     config.Config
	acct    *store.Account
	log     *slog.Logger
	deliver *deliver.Deliverer
}

func (e *toolEnv) Close() { e.data.Close() }

// toolFlags are the flags of import, export, migrate and store copy:
// the data folder's (dataFlagSet: --data, --config, --metadata,
// --blobs) and --quiet and --log-level; --force is the command's own.
type toolFlags struct {
	fs       *flag.FlagSet
	data     *adminFlags
	quiet    *bool
	logLevel *string
	force    *bool // writers only: skip the running-server check
}

func newToolFlags(name, usage string, stderr io.Writer) *toolFlags {
	// The usage texts end in "Flags:" for their own help output;
	// dataFlagSet adds it.
	fs, f := dataFlagSet(name, strings.TrimSuffix(usage, "\nFlags:\n"), stderr)
	return &toolFlags{fs: fs, data: f,
		quiet:    fs.Bool("quiet", false, "no progress line"),
		logLevel: fs.String("log-level", "warn", "debug, info, warn or error (on standard error)"),
	}
}

// parse accepts positional arguments before, between and after flags
// ("--" ends the flags); on an error it returns the exit status.
func (t *toolFlags) parse(args []string) ([]string, int, bool) {
	rest, err := parseArgs(t.fs, args)
	if err != nil {
		return nil, flagErr(err), false
	}
	return rest, 0, true
}

// serverSockets are the data folder's sockets a running server answers
// on: the LMTP hand-off socket, and the control socket of the admin
// commands ("control.sock", [control] socket).
var serverSockets = []string{app.HandoffSocket, "control.sock"}

// serverRunning reports a socket of the data folder that a server
// answers on, or "".
func serverRunning(cfg *config.Config) string {
	for _, name := range serverSockets {
		p := cfg.Path(name)
		if _, err := os.Stat(p); err != nil {
			continue
		}
		if c, err := net.DialTimeout("unix", p, time.Second); err == nil {
			c.Close()
			return p
		}
	}
	return ""
}

// config loads the configuration with the flags applied.
func (t *toolFlags) config() (config.Config, error) {
	return t.data.load()
}

// open loads the configuration, opens the data folder and the account.
func (t *toolFlags) open(ctx context.Context, user string, stderr io.Writer) (*toolEnv, error) {
	cfg, err := t.config()
	if err != nil {
		return nil, err
	}
	if t.force != nil && !*t.force {
		// The running server's sessions would not be told of the
		// imported mail (its change bus is in its process), and
		// a mailbox's UIDVALIDITY may change under them.
		if sock := serverRunning(&cfg); sock != "" {
			return nil, fmt.Errorf("a barid server is running on this data folder (it answers on %s, but not on a control socket that could do this): stop it first, or pass --force", sock)
		}
	}
	logger := newLogger(stderr, *t.logLevel)
	d, err := app.OpenData(ctx, &cfg, logger)
	if err != nil {
		return nil, err
	}
	acct, err := d.Store.Account(ctx, store.NormalizeAccountName(user))
	if err != nil {
		d.Close()
		if errors.Is(err, store.ErrNoAccount) {
			return nil, fmt.Errorf("no account %q (create it first: barid user add)", store.NormalizeAccountName(user))
		}
		return nil, err
	}
	ml := mime.Limits{MaxDepth: cfg.Limits.MIMEDepth, MaxParts: cfg.Limits.MIMEParts, MaxHeaderBytes: cfg.Limits.HeaderSize}
	dl := &deliver.Deliverer{Store: d.Store, Blobs: d.Blobs, Bus: notify.New(), Limits: ml, Logger: logger,
		InlineMax: cfg.Storage.InlineMaxBytes}
	return &toolEnv{data: d, cfg: cfg, acct: acct, log: logger, deliver: dl}, nil
}

// importGCLimit is the Go heap size from which the garbage collector of
// an import works harder (runtime/debug.SetMemoryLimit, a soft limit):
// an import's live heap is a few batches, and without it the heap grows
// to twice the peak between collections. GOMEMLIMIT overrides it.
const importGCLimit = 64 << 20

// importer builds the engine with a progress line on stderr.
func (e *toolEnv) importer(label string, quiet bool, stderr io.Writer) *imex.Importer {
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(importGCLimit)
	}
	var pw io.Writer
	tty := false
	if !quiet {
		pw = stderr
		if f, ok := stderr.(*os.File); ok {
			tty = term.IsTerminal(int(f.Fd()))
		}
	}
	return &imex.Importer{Store: e.data.Store, Deliver: e.deliver, Account: e.acct, Logger: e.log,
		Progress: imex.NewProgress(pw, label, tty), MaxSize: e.cfg.Limits.LiteralSize}
}

// interruptible cancels ctx on SIGINT or SIGTERM: the batch being
// written is rolled back, the committed ones stay, and a second run
// resumes.
func interruptible(ctx context.Context) (context.Context, context.CancelFunc) {
	return signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
}

func printResults(w io.Writer, res []*imex.Result) (failed int) {
	for _, r := range res {
		how := "new UIDs"
		if r.UIDsKept {
			how = "UIDs kept"
		}
		fmt.Fprintf(w, "%-30s UIDVALIDITY %d (%s): %d imported, %d already there", r.Mailbox, r.UIDValidity, how, r.Imported, r.Skipped)
		if r.FlagsUpdated > 0 {
			fmt.Fprintf(w, " (%d with new flags)", r.FlagsUpdated)
		}
		if r.Failed > 0 {
			fmt.Fprintf(w, ", %d FAILED (see the warnings)", r.Failed)
		}
		fmt.Fprintln(w)
		failed += r.Failed
	}
	return failed
}

func runImport(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprint(stdout, importUsage)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	kind := args[0]
	tf := newToolFlags("import "+kind, importUsage, stderr)
	mailbox := ""
	if kind == "mbox" {
		tf.fs.StringVar(&mailbox, "mailbox", "INBOX", "destination mailbox (created if missing)")
	}
	tf.force = tf.fs.Bool("force", false, "write to the data folder directly even though a server runs on it, instead of through its control socket (its sessions will not see the new mail until they reselect)")
	rest, code, ok := tf.parse(args[1:])
	if !ok {
		return code
	}
	if kind != "maildir" && kind != "mbox" {
		fmt.Fprintf(stderr, "barid import: unknown format %q (maildir or mbox)\n", kind)
		return 2
	}
	if len(rest) != 2 {
		fmt.Fprintf(stderr, "barid import %s: expected USER and PATH\n", kind)
		return 2
	}
	ctx, stop := interruptible(ctx)
	defer stop()
	if !*tf.force {
		cfg, err := tf.config()
		if err != nil {
			fmt.Fprintln(stderr, "barid import:", err)
			return 1
		}
		if sock := cfg.ControlSocket(); sock != "" && serverAnswers(sock) {
			return importThroughServer(ctx, sock, kind, rest[0], rest[1], mailbox, *tf.quiet, stdout, stderr)
		}
	}
	env, err := tf.open(ctx, rest[0], stderr)
	if err != nil {
		fmt.Fprintln(stderr, "barid import:", err)
		return 1
	}
	defer env.Close()
	im := env.importer("import", *tf.quiet, stderr)
	var res []*imex.Result
	switch kind {
	case "maildir":
		res, err = imex.ImportMaildir(ctx, im, rest[1])
	case "mbox":
		var r *imex.Result
		r, err = imex.ImportMbox(ctx, im, rest[1], mailbox)
		if r != nil {
			res = append(res, r)
		}
	}
	im.Progress.Stop()
	failed := printResults(stdout, res)
	if err != nil {
		fmt.Fprintln(stderr, "barid import:", err)
		if errors.Is(err, context.Canceled) {
			fmt.Fprintln(stderr, "barid import: interrupted; what was committed stays, run the same command again to resume")
		}
		return 1
	}
	if failed > 0 {
		return 1
	}
	return 0
}

func runExport(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprint(stdout, exportUsage)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	kind := args[0]
	tf := newToolFlags("export "+kind, exportUsage, stderr)
	mailbox := tf.fs.String("mailbox", "", "export only this mailbox")
	rest, code, ok := tf.parse(args[1:])
	if !ok {
		return code
	}
	if kind != "maildir" && kind != "mbox" {
		fmt.Fprintf(stderr, "barid export: unknown format %q (maildir or mbox)\n", kind)
		return 2
	}
	if len(rest) != 2 {
		fmt.Fprintf(stderr, "barid export %s: expected USER and PATH\n", kind)
		return 2
	}
	ctx, stop := interruptible(ctx)
	defer stop()
	env, err := tf.open(ctx, rest[0], stderr)
	if err != nil {
		fmt.Fprintln(stderr, "barid export:", err)
		return 1
	}
	defer env.Close()
	prog := env.importer("export", *tf.quiet, stderr).Progress
	ex := &imex.Exporter{Store: env.data.Store, Blobs: env.data.Blobs, Account: env.acct, Logger: env.log,
		Progress: prog, Mailbox: *mailbox}
	if kind == "maildir" {
		err = ex.ExportMaildir(ctx, rest[1])
	} else {
		err = ex.ExportMbox(ctx, rest[1])
	}
	prog.Stop()
	if err != nil {
		fmt.Fprintln(stderr, "barid export:", err)
		return 1
	}
	return 0
}
