package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"golang.org/x/term"

	"barid/internal/app"
	"barid/internal/config"
	"barid/internal/store"
)

func runUser(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return runUserWithInput(ctx, args, os.Stdin, stdout, stderr)
}

const userUsage = `Usage: barid user <add|passwd|del|list|quota> [--data DIR] [--config FILE] [--metadata URL] [--blobs URL] [NAME]

  add NAME     create an account (with Sent, Drafts, Trash, Junk, Archive)
  passwd NAME  set a new password
  add|passwd --hash NAME
               take a password hash from another server instead, as
               "{SCHEME}hash" (a Dovecot passwd-file's second field:
               {SHA512-CRYPT}$6$..., {BLF-CRYPT}..., {CRYPT}, {SSHA}, ...);
               re-hashed to argon2id at the first login
  del NAME     delete an account and all its mail
  list         list accounts
  quota NAME   show or set an account's quota (barid user quota --help)
  app-password add|list|revoke USER [LABEL] [--protocols imap,pop3,smtp]
               per-device passwords (barid user app-password --help)

add and passwd read the password (or hash) from the first line of standard input
when it is not a terminal, and prompt without echo when it is.
Account names are login names, may be addresses (alice@example.org)
and are case-insensitive.
`

func runUserWithInput(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprint(stdout, userUsage)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	verb := args[0]
	if verb == "quota" {
		return runUserQuota(ctx, args[1:], stdout, stderr) // quota.go
	}
	if verb == "app-password" {
		return runAppPassword(ctx, args[1:], stdout, stderr)
	}
	fs := flag.NewFlagSet("user "+verb, flag.ContinueOnError)
	fs.SetOutput(stderr)
	dataDir := fs.String("data", "", "data folder (default ./barid-data)")
	cfgFile := fs.String("config", "", "TOML config file")
	metadata := fs.String("metadata", "", metadataFlagUsage)
	blobs := fs.String("blobs", "", blobsFlagUsage)
	hashed := fs.Bool("hash", false, `add, passwd: read a "{SCHEME}hash" imported from another server instead of a password`)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), userUsage, "\nFlags:\n")
		fs.PrintDefaults()
	}
	// Accept NAME before or after the flags.
	var rest []string
	a := args[1:]
	for len(a) > 0 {
		if err := fs.Parse(a); err != nil {
			return flagErr(err)
		}
		a = fs.Args()
		if len(a) > 0 {
			rest = append(rest, a[0])
			a = a[1:]
		}
	}
	cfg, err := config.Load(*cfgFile)
	if err != nil {
		fmt.Fprintln(stderr, "barid:", err)
		return 1
	}
	if *dataDir != "" {
		cfg.DataDir = *dataDir
	}
	if *blobs != "" {
		cfg.Storage.Blobs = *blobs
	}
	if *metadata != "" || *blobs != "" {
		if *metadata != "" {
			cfg.Storage.Metadata = *metadata
		}
		if err := cfg.Validate(); err != nil {
			fmt.Fprintln(stderr, "barid:", err)
			return 1
		}
	}
	needName := verb != "list"
	if needName && len(rest) != 1 {
		fmt.Fprintf(stderr, "barid user %s: expected one account NAME\n", verb)
		return 2
	}
	if !needName && len(rest) != 0 {
		fmt.Fprintln(stderr, "barid user list: takes no arguments")
		return 2
	}
	d, err := app.OpenData(ctx, &cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		fmt.Fprintln(stderr, "barid:", err)
		return 1
	}
	defer d.Close()
	if *hashed && verb != "add" && verb != "passwd" {
		fmt.Fprintf(stderr, "barid user %s: --hash is for add and passwd\n", verb)
		return 2
	}
	switch verb {
	case "add":
		pw, err := readSecretLine(stdin, stderr, *hashed)
		if err != nil {
			fmt.Fprintln(stderr, "barid:", err)
			return 1
		}
		var acct *store.Account
		if *hashed {
			acct, err = app.CreateAccountHashed(ctx, d.Store, rest[0], pw, app.SchemeLimits(&cfg))
		} else {
			acct, err = app.CreateAccount(ctx, d.Store, rest[0], pw)
		}
		if errors.Is(err, store.ErrAccountExists) {
			fmt.Fprintf(stderr, "barid: account %q already exists\n", store.NormalizeAccountName(rest[0]))
			return 1
		}
		if err != nil {
			fmt.Fprintln(stderr, "barid:", err)
			return 1
		}
		fmt.Fprintf(stdout, "created account %s\n", acct.Name)
	case "passwd":
		pw, err := readSecretLine(stdin, stderr, *hashed)
		if err != nil {
			fmt.Fprintln(stderr, "barid:", err)
			return 1
		}
		if *hashed {
			err = app.SetPasswordHash(ctx, d.Store, rest[0], pw, app.SchemeLimits(&cfg))
		} else {
			err = app.SetPassword(ctx, d.Store, rest[0], pw)
		}
		if err != nil {
			fmt.Fprintln(stderr, "barid:", describe(err, rest[0]))
			return 1
		}
		fmt.Fprintf(stdout, "password changed for %s\n", store.NormalizeAccountName(rest[0]))
	case "del":
		acct, err := d.Store.Account(ctx, store.NormalizeAccountName(rest[0]))
		if err != nil {
			fmt.Fprintln(stderr, "barid:", describe(err, rest[0]))
			return 1
		}
		if err := d.Store.DeleteAccount(ctx, acct.ID); err != nil {
			fmt.Fprintln(stderr, "barid:", err)
			return 1
		}
		fmt.Fprintf(stdout, "deleted account %s\n", acct.Name)
	case "list":
		accts, err := d.Store.Accounts(ctx)
		if err != nil {
			fmt.Fprintln(stderr, "barid:", err)
			return 1
		}
		for _, a := range accts {
			fmt.Fprintln(stdout, a.Name)
		}
	default:
		fmt.Fprintf(stderr, "barid user: unknown action %q\n\n%s", verb, userUsage)
		return 2
	}
	return 0
}

func describe(err error, name string) string {
	if errors.Is(err, store.ErrNoAccount) {
		return fmt.Sprintf("no account %q", store.NormalizeAccountName(name))
	}
	return err.Error()
}

// readSecretLine reads a password (readPassword) or, with hashed, one
// line holding an imported "{SCHEME}hash" (never prompted: it is pasted
// or piped, and a hash is not a secret to hide from the screen the way
// a password is, though it should not be left in shell history).
func readSecretLine(stdin io.Reader, stderr io.Writer, hashed bool) (string, error) {
	if !hashed {
		return readPassword(stdin, stderr)
	}
	if f, ok := stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(stderr, "Hash ({SCHEME}data): ")
	}
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && line == "" {
		return "", errors.New("no hash on standard input")
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", errors.New("empty hash")
	}
	return line, nil
}

// readPassword reads the first line of stdin, or prompts twice without
// echo when stdin is a terminal.
func readPassword(stdin io.Reader, stderr io.Writer) (string, error) {
	if f, ok := stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(stderr, "Password: ")
		p1, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(stderr)
		if err != nil {
			return "", err
		}
		fmt.Fprint(stderr, "Again: ")
		p2, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(stderr)
		if err != nil {
			return "", err
		}
		if string(p1) != string(p2) {
			return "", errors.New("passwords do not match")
		}
		if len(p1) == 0 {
			return "", errors.New("empty password")
		}
		return string(p1), nil
	}
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && !(errors.Is(err, io.EOF) && line != "") {
		if errors.Is(err, io.EOF) {
			return "", errors.New("no password on standard input")
		}
		return "", err
	}
	line = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
	if line == "" {
		return "", errors.New("empty password")
	}
	return line, nil
}
