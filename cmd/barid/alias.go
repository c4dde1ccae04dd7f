package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"barid/internal/app"
	"barid/internal/store"
)

const aliasUsage = `Usage: barid alias <add|del|list> [--data DIR] [--config FILE] [--metadata URL] [ADDRESS [ACCOUNT]]

  add ADDRESS ACCOUNT  deliver mail for ADDRESS to ACCOUNT; ADDRESS "@domain"
                       is the domain's catch-all (used when nothing else matches)
  del ADDRESS          remove the alias
  list                 list aliases: ADDRESS ACCOUNT

LMTP and "barid deliver" look a recipient up as: the address itself, its
local part in a local domain, both without "+detail"; at each step the
alias table first, then the accounts of [auth] sources; then the catch-all.
A running server sees changes within [auth] negative_cache_ttl.
`

func runAlias(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprint(stdout, aliasUsage)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	verb := args[0]
	fs, df := dataFlagSet("alias "+verb, aliasUsage, stderr)
	rest, err := parseArgs(fs, args[1:])
	if err != nil {
		return flagErr(err)
	}
	want := map[string]int{"add": 2, "del": 1, "list": 0}
	n, ok := want[verb]
	if !ok {
		fmt.Fprintf(stderr, "barid alias: unknown verb %q\n", verb)
		return 2
	}
	if len(rest) != n {
		fmt.Fprintf(stderr, "barid alias %s: expected %d argument(s)\n", verb, n)
		return 2
	}
	d, _, err := df.openData(ctx)
	if err != nil {
		fmt.Fprintln(stderr, "barid:", err)
		return 1
	}
	defer d.Close()
	switch verb {
	case "add":
		err := app.AddAlias(ctx, d.Store, rest[0], rest[1])
		switch {
		case errors.Is(err, store.ErrAliasExists):
			fmt.Fprintf(stderr, "barid: alias %s already exists\n", store.NormalizeAlias(rest[0]))
			return 1
		case err != nil:
			fmt.Fprintln(stderr, "barid:", err)
			return 1
		}
		fmt.Fprintf(stdout, "alias %s -> %s\n", store.NormalizeAlias(rest[0]), store.NormalizeAccountName(rest[1]))
	case "del":
		if err := app.DeleteAlias(ctx, d.Store, rest[0]); err != nil {
			if errors.Is(err, store.ErrNoAlias) {
				fmt.Fprintf(stderr, "barid: no alias %s\n", store.NormalizeAlias(rest[0]))
			} else {
				fmt.Fprintln(stderr, "barid:", err)
			}
			return 1
		}
		fmt.Fprintf(stdout, "alias %s removed\n", store.NormalizeAlias(rest[0]))
	case "list":
		list, err := app.ListAliases(ctx, d.Store)
		if err != nil {
			fmt.Fprintln(stderr, "barid:", err)
			return 1
		}
		for _, al := range list {
			fmt.Fprintf(stdout, "%s %s\n", al.Address, al.Account)
		}
	}
	return 0
}
