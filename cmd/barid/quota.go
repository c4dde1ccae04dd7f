package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"barid/internal/store"
)

const userQuotaUsage = `Usage: barid user quota [--data DIR] [--config FILE] [--metadata URL] [--blobs URL]
                        [--storage BYTES] [--messages N] [--recalc] [NAME]

Shows NAME's quota usage and limits (RFC 9208). --storage and --messages
set the account's own limits: 0 is unlimited, -1 goes back to the
[quota] default of the config. --recalc recounts the usage of NAME (of
every account without NAME) from the stored messages, corrects it, and
reports any drift; it exits 1 when it found some.
`

func runUserQuota(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs, df := dataFlagSet("user quota", userQuotaUsage, stderr)
	storage := fs.Int64("storage", store.QuotaKeep, "storage limit in bytes (0 = unlimited, -1 = the [quota] default)")
	messages := fs.Int64("messages", store.QuotaKeep, "message count limit (0 = unlimited, -1 = the [quota] default)")
	recalc := fs.Bool("recalc", false, "recount usage from the stored messages and report drift")
	rest, err := parseArgs(fs, args)
	if err != nil {
		return flagErr(err)
	}
	setting := *storage != store.QuotaKeep || *messages != store.QuotaKeep
	if len(rest) > 1 || (len(rest) == 0 && (!*recalc || setting)) {
		fmt.Fprintln(stderr, "barid user quota: expected one account NAME")
		return 2
	}
	for _, v := range []struct {
		name string
		v    int64
	}{{"--storage", *storage}, {"--messages", *messages}} {
		if v.v < store.QuotaInherit && v.v != store.QuotaKeep {
			fmt.Fprintf(stderr, "barid user quota: %s must be -1, 0 or a positive number\n", v.name)
			return 2
		}
	}
	d, _, err := df.openData(ctx)
	if err != nil {
		fmt.Fprintln(stderr, "barid:", err)
		return 1
	}
	defer d.Close()
	qs, ok := d.Store.(store.Quotas)
	if !ok {
		fmt.Fprintln(stderr, "barid: this metadata store keeps no quotas")
		return 1
	}
	var accts []store.Account
	if len(rest) == 1 {
		a, err := d.Store.Account(ctx, store.NormalizeAccountName(rest[0]))
		if err != nil {
			fmt.Fprintln(stderr, "barid:", describe(err, rest[0]))
			return 1
		}
		accts = []store.Account{*a}
	} else if accts, err = d.Store.Accounts(ctx); err != nil {
		fmt.Fprintln(stderr, "barid:", err)
		return 1
	}
	if setting {
		if err := qs.SetQuotaLimits(ctx, accts[0].ID, store.QuotaLimits{Storage: *storage, Messages: *messages}); err != nil {
			fmt.Fprintln(stderr, "barid:", err)
			return 1
		}
	}
	drift := false
	for _, a := range accts {
		if *recalc {
			before, after, err := qs.RecalcQuota(ctx, a.ID)
			if errors.Is(err, store.ErrNoAccount) {
				continue // deleted meanwhile
			}
			if err != nil {
				fmt.Fprintln(stderr, "barid:", err)
				return 1
			}
			if before != after {
				drift = true
				fmt.Fprintf(stdout, "%s: drift corrected: storage %d -> %d bytes, messages %d -> %d\n",
					a.Name, before.Storage, after.Storage, before.Messages, after.Messages)
			} else {
				fmt.Fprintf(stdout, "%s: no drift\n", a.Name)
			}
		}
		q, err := qs.Quota(ctx, a.ID)
		if err != nil {
			fmt.Fprintln(stderr, "barid:", err)
			return 1
		}
		fmt.Fprintf(stdout, "%s: storage %d of %s, messages %d of %s\n", a.Name,
			q.Usage.Storage, limitText(q.Limits.Storage, q.Override.Storage, " bytes"),
			q.Usage.Messages, limitText(q.Limits.Messages, q.Override.Messages, ""))
	}
	if drift {
		return 1
	}
	return 0
}

func limitText(limit, override int64, unit string) string {
	s := "unlimited"
	if limit > 0 {
		s = fmt.Sprint(limit, unit)
	}
	if override == store.QuotaInherit {
		s += " (default)"
	}
	return s
}
