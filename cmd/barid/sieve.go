package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"barid/internal/app"
	"barid/internal/filter"
	"barid/internal/sieve"
	"barid/internal/store"
)

const sieveUsage = `Usage: barid sieve <verb> [--data DIR] [--config FILE] [--metadata URL] USER [NAME]

  put USER NAME       store the script read from standard input (checked first)
  get USER NAME       print a script
  list USER           list the scripts; the active one is marked "ACTIVE"
  activate USER NAME  make NAME the active script
  deactivate USER     leave no script active
  del USER NAME       delete a script (not the active one)
  check USER          check the script on standard input; errors name their lines
  capabilities        the Sieve extensions and notification methods supported
                      (what ManageSieve announces as SIEVE and NOTIFY)

The limits are [sieve] max_script_size, max_scripts and max_name_length
(docs/sieve.md). Exit status: 0 done, 1 refused or failed, 2 usage.
`

func runSieve(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return runSieveWithInput(ctx, args, os.Stdin, stdout, stderr)
}

func runSieveWithInput(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprint(stdout, sieveUsage)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	verb := args[0]
	if verb == "capabilities" {
		if len(args) > 1 {
			fmt.Fprintf(stderr, "barid sieve capabilities: takes no arguments\n")
			return 2
		}
		fmt.Fprintf(stdout, "SIEVE %s\nNOTIFY %s\n", strings.Join(sieve.Capabilities(), " "), strings.Join(sieve.NotifyMethods(), " "))
		return 0
	}
	fs, df := dataFlagSet("sieve "+verb, sieveUsage, stderr)
	rest, err := parseArgs(fs, args[1:])
	if err != nil {
		return flagErr(err)
	}
	want := map[string]int{"put": 2, "get": 2, "list": 1, "activate": 2, "deactivate": 1, "del": 2, "check": 1}
	n, ok := want[verb]
	if !ok {
		fmt.Fprintf(stderr, "barid sieve: unknown verb %q\n\n%s", verb, sieveUsage)
		return 2
	}
	if len(rest) != n {
		if n == 2 {
			fmt.Fprintf(stderr, "barid sieve %s: expected USER and NAME\n", verb)
		} else {
			fmt.Fprintf(stderr, "barid sieve %s: expected USER\n", verb)
		}
		return 2
	}
	d, cfg, err := df.openData(ctx)
	if err != nil {
		fmt.Fprintln(stderr, "barid:", err)
		return 1
	}
	defer d.Close()
	scripts, err := app.SieveScripts(&cfg, d.Store)
	if err != nil {
		fmt.Fprintln(stderr, "barid:", err)
		return 1
	}
	acct, err := d.Store.Account(ctx, store.NormalizeAccountName(rest[0]))
	if err != nil {
		fmt.Fprintln(stderr, "barid:", describe(err, rest[0]))
		return 1
	}
	readScript := func() ([]byte, error) {
		// One byte past the limit is enough to know it is too big.
		return io.ReadAll(io.LimitReader(stdin, int64(cfg.Sieve.MaxScriptSize)+1))
	}
	fail := func(err error) int {
		fmt.Fprintln(stderr, "barid sieve "+verb+":", sieveErr(err))
		return 1
	}
	switch verb {
	case "put":
		src, err := readScript()
		if err != nil {
			return fail(err)
		}
		if _, err := scripts.Put(ctx, acct.ID, rest[1], src); err != nil {
			return fail(err)
		}
		fmt.Fprintf(stdout, "stored script %q for %s\n", rest[1], acct.Name)
	case "check":
		src, err := readScript()
		if err != nil {
			return fail(err)
		}
		if err := scripts.CheckSize(int64(len(src))); err != nil {
			return fail(err)
		}
		if _, err := scripts.Check(ctx, acct.ID, src); err != nil {
			return fail(err)
		}
		fmt.Fprintln(stdout, "script is valid")
	case "get":
		sc, err := scripts.Get(ctx, acct.ID, rest[1])
		if err != nil {
			return fail(err)
		}
		stdout.Write(sc.Script)
	case "list":
		list, err := scripts.List(ctx, acct.ID)
		if err != nil {
			return fail(err)
		}
		for _, sc := range list {
			if sc.Active {
				fmt.Fprintf(stdout, "%s ACTIVE\n", sc.Name)
			} else {
				fmt.Fprintln(stdout, sc.Name)
			}
		}
	case "activate":
		if err := scripts.SetActive(ctx, acct.ID, rest[1]); err != nil {
			return fail(err)
		}
		fmt.Fprintf(stdout, "activated %q for %s\n", rest[1], acct.Name)
	case "deactivate":
		if err := scripts.SetActive(ctx, acct.ID, ""); err != nil {
			return fail(err)
		}
		fmt.Fprintf(stdout, "no active script for %s\n", acct.Name)
	case "del":
		if err := scripts.Delete(ctx, acct.ID, rest[1]); err != nil {
			return fail(err)
		}
		fmt.Fprintf(stdout, "deleted script %q of %s\n", rest[1], acct.Name)
	}
	return 0
}

// sieveErr words a script service error for the command line.
func sieveErr(err error) string {
	var se *filter.ScriptError
	var qe *filter.QuotaError
	switch {
	case errors.As(err, &se):
		return "script refused:\n" + se.Msg
	case errors.As(err, &qe):
		return qe.Msg
	case errors.Is(err, store.ErrNoScript):
		return "no such script"
	case errors.Is(err, store.ErrScriptActive):
		return "the script is active: deactivate it or activate another first"
	case errors.Is(err, store.ErrScriptExists):
		return "a script by that name exists"
	}
	return err.Error()
}
