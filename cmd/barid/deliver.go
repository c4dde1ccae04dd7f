package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"

	"barid/internal/app"
	"barid/internal/config"
	"barid/internal/lmtp"
)

// sysexits.h statuses used by "barid deliver" besides those
// lmtp.ExitCode returns.
const (
	exUsage    = 64 // EX_USAGE
	exTempFail = 75 // EX_TEMPFAIL
)

const deliverUsage = `Usage: barid deliver [--data DIR] [--config FILE] [--metadata URL] [--blobs URL] [--mailbox NAME] [--from ADDR] USER

Delivers one message, read from standard input, to USER (an account name
or an address, matched like an LMTP recipient). For Postfix's
mailbox_command, an Exim pipe transport, or scripts.

If a barid server runs on the data folder, the message is handed to it
over <data>/lmtp.sock, so its idling IMAP clients see it at once;
otherwise it is written into the data folder directly.

A leading mbox "From " line is dropped. --from adds "Return-Path: <ADDR>";
leave it out when the MTA adds Return-Path itself (Postfix's local(8) does).
A --mailbox that does not exist means INBOX.

Exit status (sysexits.h): 0 delivered, 64 usage, 65 message refused
(too big), 67 unknown user, 69 refused otherwise, 73 mailbox full,
75 temporary failure (the MTA keeps the message and retries).

Flags:
`

func runDeliverStdin(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return runDeliver(ctx, args, os.Stdin, stdout, stderr)
}

func runDeliver(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("deliver", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dataDir := fs.String("data", "", "data folder (default ./barid-data or the config's data_dir)")
	cfgFile := fs.String("config", "", "TOML config file")
	metadata := fs.String("metadata", "", metadataFlagUsage)
	blobs := fs.String("blobs", "", blobsFlagUsage)
	mailbox := fs.String("mailbox", "", "destination mailbox (default INBOX)")
	from := fs.String("from", "", "envelope sender; adds a Return-Path header")
	logLevel := fs.String("log-level", "warn", "debug, info, warn or error (on standard error)")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), deliverUsage)
		fs.PrintDefaults()
	}
	// Accept USER before or after the flags.
	var rest []string
	a := args
	for len(a) > 0 {
		if err := fs.Parse(a); err != nil {
			if err == flag.ErrHelp {
				return 0
			}
			return exUsage
		}
		a = fs.Args()
		if len(a) > 0 {
			rest = append(rest, a[0])
			a = a[1:]
		}
	}
	if len(rest) != 1 {
		fmt.Fprintln(stderr, "barid deliver: expected one USER")
		fs.Usage()
		return exUsage
	}
	cfg, err := config.Load(*cfgFile)
	if err != nil {
		// The MTA keeps the message while the configuration is fixed.
		fmt.Fprintln(stderr, "barid deliver:", err)
		return exTempFail
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
			fmt.Fprintln(stderr, "barid deliver:", err)
			return exTempFail
		}
	}
	logger := newLogger(stderr, *logLevel)
	via, err := app.Deliver(ctx, &cfg, logger, app.DeliverRequest{
		User:    rest[0],
		Mailbox: *mailbox,
		From:    *from,
		Message: stdin,
	})
	if err != nil {
		st := lmtp.Status(err, cfg.LMTP.QuotaTempFail)
		// Postfix's local(8) uses output that starts with an enhanced
		// status code as the delivery status.
		fmt.Fprintf(stderr, "%d.%d.%d barid deliver: %s (%v)\n", st.EnhancedCode[0], st.EnhancedCode[1], st.EnhancedCode[2], st.Message, err)
		return lmtp.ExitCode(st)
	}
	logger.Debug("delivered", "user", rest[0], "via", via)
	return 0
}
