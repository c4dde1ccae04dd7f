// Command barid is the barid mail server: one binary with subcommands.
//
//	barid quickstart            start a demo server in ./barid-data
//	barid serve [flags]         run the server
//	barid user add|passwd|del|list --data DIR [NAME]
//	barid sieve put|get|list|activate|deactivate|del|check --data DIR USER [NAME]
//	barid deliver --data DIR [--mailbox NAME] USER   (message on stdin)
//	barid mailbox list|status|create|delete|rename|subscribe --data DIR USER ...
//	barid search|expunge --data DIR USER MAILBOX QUERY
//	barid fetch --data DIR USER MAILBOX UID
//	barid who | kick USER
//	barid backup --data DIR OUT | restore OUT --data DIR | check --data DIR
//	barid import maildir|mbox --data DIR USER PATH
//	barid export maildir|mbox --data DIR USER PATH
//	barid migrate --data DIR USER imaps://LOGIN@HOST[:PORT]   (password on stdin)
//	barid bench <scenario>      load-test any IMAP server
//	barid version
package main

import (
	"context"
	"fmt"
	"io"
	"os"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "0.1.0-dev"

type subcommand struct {
	name  string
	usage string
	run   func(ctx context.Context, args []string, stdout, stderr io.Writer) int
}

func subcommands() []subcommand {
	return []subcommand{
		{"quickstart", "start a demo server with a demo account (data in ./barid-data)", runQuickstart},
		{"serve", "run the server", runServe},
		{"user", "manage accounts: add, passwd, del, list", runUser},
		{"alias", "manage address aliases and catch-alls: add, del, list", runAlias},
		{"sieve", "manage Sieve scripts: put, get, list, activate, deactivate, del, check", runSieve},
		{"group", "manage ACL groups: add, del, list", runGroup},
		{"deliver", "deliver one message from standard input (for an MTA)", runDeliverStdin},
		{"mailbox", "manage a user's mailboxes and their ACLs: list, status, create [--shared], delete, rename, subscribe, setacl, getacl", runMailbox},
		{"search", "print the UIDs of messages matching an IMAP SEARCH query", runSearch},
		{"expunge", "remove the messages matching an IMAP SEARCH query", runExpunge},
		{"fetch", "write one message's raw bytes to standard output", runFetch},
		{"who", "list the running server's sessions", runWho},
		{"kick", "end a user's sessions on the running server", runKick},
		{"backup", "write an online, consistent backup of the data folder", runBackup},
		{"restore", "restore a backup into an empty data folder", runRestore},
		{"check", "verify the data folder: blob hashes, sizes, UIDs, modseqs, counts", runCheck},
		{"import", "import a Maildir++ tree or an mbox file into an account", runImport},
		{"export", "export an account as a Maildir++ tree or mbox files", runExport},
		{"migrate", "copy an account from a running IMAP server (resumable, incremental)", runMigrateStdin},
		{"bench", "load-test an IMAP or POP3 server (barid or another)", runBench},
		{"index", "full-text index of SEARCH: rebuild, status", runIndex},
		{"store", "copy the whole store to another backend (PostgreSQL + S3): copy", runStore},
		{"version", "print the version", runVersion},
	}
}

func usage(w io.Writer) {
	fmt.Fprintf(w, "barid %s: an IMAP mail server\n\nUsage: barid <command> [flags]\n\nCommands:\n", version)
	for _, s := range subcommands() {
		fmt.Fprintf(w, "  %-11s %s\n", s.name, s.usage)
	}
	fmt.Fprintf(w, "\nRun 'barid <command> --help' for a command's flags.\n")
}

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	switch args[0] {
	case "-h", "--help", "help":
		usage(stdout)
		return 0
	}
	for _, s := range subcommands() {
		if s.name == args[0] {
			if s.name == "user" {
				return runUserWithInput(ctx, args[1:], stdin, stdout, stderr)
			}
			if s.name == "sieve" {
				return runSieveWithInput(ctx, args[1:], stdin, stdout, stderr)
			}
			if s.name == "deliver" {
				return runDeliver(ctx, args[1:], stdin, stdout, stderr)
			}
			if s.name == "migrate" {
				return runMigrate(ctx, args[1:], stdin, stdout, stderr)
			}
			return s.run(ctx, args[1:], stdout, stderr)
		}
	}
	fmt.Fprintf(stderr, "barid: unknown command %q\n\n", args[0])
	usage(stderr)
	return 2
}

func runVersion(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
		fmt.Fprintln(stdout, "Usage: barid version\n\nPrints the barid version.")
		return 0
	}
	fmt.Fprintf(stdout, "barid %s\n", version)
	return 0
}
