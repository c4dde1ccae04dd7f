package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"barid/internal/app"
	"barid/internal/auth"
	"barid/internal/store"
)

const appPasswordUsage = `Usage: barid user app-password <add|list|revoke> [--data DIR] [--config FILE] [--metadata URL] USER [LABEL]

  add USER LABEL [--protocols imap,pop3,smtp,sieve]
                     make a random password for one device or program and
                     print it (once: only its hash is kept); it logs in as
                     USER to the protocols named (default: all)
  list USER          list USER's app passwords: LABEL PROTOCOLS CREATED
  revoke USER LABEL  delete one; the others keep working

App passwords are the answer for users whose main login has a second
factor, or whose directory password must not be stored in a mail client.
`

// runAppPassword is "barid user app-password …".
func runAppPassword(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprint(stdout, appPasswordUsage)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	verb := args[0]
	fs, df := dataFlagSet("user app-password "+verb, appPasswordUsage, stderr)
	protocols := fs.String("protocols", "", "comma-separated protocols the password may log in to: imap, pop3, smtp, sieve (default all)")
	rest, err := parseArgs(fs, args[1:])
	if err != nil {
		return flagErr(err)
	}
	want := map[string]int{"add": 2, "list": 1, "revoke": 2}
	n, ok := want[verb]
	if !ok {
		fmt.Fprintf(stderr, "barid user app-password: unknown verb %q\n", verb)
		return 2
	}
	if len(rest) != n {
		fmt.Fprintf(stderr, "barid user app-password %s: expected %d argument(s)\n", verb, n)
		return 2
	}
	protos, err := auth.ParseProtocols(*protocols)
	if err != nil {
		fmt.Fprintln(stderr, "barid:", err)
		return 2
	}
	d, cfg, err := df.openData(ctx)
	if err != nil {
		fmt.Fprintln(stderr, "barid:", err)
		return 1
	}
	defer d.Close()
	switch verb {
	case "add":
		pw, err := app.AddAppPassword(ctx, &cfg, d.Store, rest[0], rest[1], protos)
		switch {
		case errors.Is(err, store.ErrAppPasswordExists):
			fmt.Fprintf(stderr, "barid: %s already has an app password labelled %q\n", rest[0], rest[1])
			return 1
		case err != nil:
			fmt.Fprintln(stderr, "barid:", describe(err, rest[0]))
			return 1
		}
		fmt.Fprintln(stdout, pw)
	case "list":
		list, err := app.ListAppPasswords(ctx, d.Store, rest[0])
		if err != nil {
			fmt.Fprintln(stderr, "barid:", describe(err, rest[0]))
			return 1
		}
		for _, p := range list {
			ps := "all"
			if len(p.Protocols) > 0 {
				ps = strings.Join(p.Protocols, ",")
			}
			fmt.Fprintf(stdout, "%s %s %s\n", p.Label, ps, p.Created.UTC().Format("2006-01-02T15:04:05Z"))
		}
	case "revoke":
		if err := app.RevokeAppPassword(ctx, d.Store, rest[0], rest[1]); err != nil {
			if errors.Is(err, store.ErrNoAppPassword) {
				fmt.Fprintf(stderr, "barid: %s has no app password labelled %q\n", rest[0], rest[1])
			} else {
				fmt.Fprintln(stderr, "barid:", describe(err, rest[0]))
			}
			return 1
		}
		fmt.Fprintf(stdout, "app password %q of %s revoked\n", rest[1], store.NormalizeAccountName(rest[0]))
	}
	return 0
}
